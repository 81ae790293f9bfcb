// resnet_layout.cc - see resnet_layout.h.
#include "inner/cifar/resnet_layout.h"

#include <cassert>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace es {
namespace {

constexpr int64_t kMaxDim = int64_t{1} << 20;
constexpr double kMaxTensor = 1e11;  // floats in any one tensor

// Stage of each conv: which width it outputs, and its input's spatial
// divisor.
constexpr int kOutStage[kResNetConvLayers] = {0, 1, 1, 1, 2, 3, 3, 3};
constexpr int kInStage[kResNetConvLayers] = {-1, 0, 1, 1, 1, 2, 3, 3};
constexpr int kSizeDivisor[kResNetConvLayers] = {1, 1, 2, 2, 2, 4, 8, 8};
const char* const kNames[kResNetConvLayers] = {
    "prep", "layer1", "res1a", "res1b", "layer2", "layer3", "res3a", "res3b"};

}  // namespace

absl::Status ResNetConfig::Validate() const {
  for (int s = 0; s < 4; ++s) {
    if (widths[s] < 1 || widths[s] > 4096) {
      return absl::InvalidArgumentError(
          absl::StrCat("ResNetConfig.widths[", s, "] = ", widths[s],
                       "; allowed: 1..4096"));
    }
  }
  if (image_size < 8 || image_size % 8 != 0 || image_size > 1024) {
    return absl::InvalidArgumentError(
        absl::StrCat("ResNetConfig.image_size = ", image_size,
                     "; must be a multiple of 8 in [8, 1024] (three 2x2 "
                     "pools, then a global pool)"));
  }
  if (in_channels < 1 || in_channels > 64) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ResNetConfig.in_channels = ", in_channels, "; allowed: 1..64"));
  }
  if (num_classes < 2 || num_classes > 4096) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ResNetConfig.num_classes = ", num_classes, "; allowed: 2..4096"));
  }
  if (num_particles < 1 || num_particles > kMaxDim) {
    return absl::InvalidArgumentError(
        absl::StrCat("ResNetConfig.num_particles = ", num_particles,
                     "; allowed: 1..", kMaxDim));
  }
  if (batch_size < 1 || batch_size > kMaxDim) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ResNetConfig.batch_size = ", batch_size, "; allowed: 1..", kMaxDim));
  }
  if (!(bn_epsilon > 0.0f) || !(logit_scale > 0.0f)) {
    return absl::InvalidArgumentError(
        absl::StrCat("ResNetConfig: bn_epsilon = ", bn_epsilon,
                     " and logit_scale = ", logit_scale, " must be > 0"));
  }
  for (int l = 0; l < kResNetConvLayers; ++l) {
    const double act = static_cast<double>(num_particles) * batch_size *
                       conv_out(l) * conv_size(l) * conv_size(l);
    if (act > kMaxTensor) {
      return absl::InvalidArgumentError(
          absl::StrCat("ResNetConfig ", DebugString(), ": conv ", l,
                       " needs an activation tensor of ", act,
                       " floats; at most 1e11 allowed"));
    }
  }
  return absl::OkStatus();
}

std::string ResNetConfig::DebugString() const {
  return absl::StrCat("myrtle ", absl::StrJoin(widths, "-"), " S=", image_size,
                      " N=", num_particles, " B=", batch_size,
                      input_mode == InputMode::kShared ? " shared"
                                                       : " per-particle",
                      batch_norm == BatchNormImpl::kOneDnn ? " onednn-bn" : "");
}

int64_t ResNetConfig::conv_in(int l) const {
  assert(l >= 0 && l < kResNetConvLayers);
  return kInStage[l] < 0 ? in_channels : widths[kInStage[l]];
}

int64_t ResNetConfig::conv_out(int l) const {
  assert(l >= 0 && l < kResNetConvLayers);
  return widths[kOutStage[l]];
}

int64_t ResNetConfig::conv_size(int l) const {
  assert(l >= 0 && l < kResNetConvLayers);
  return image_size / kSizeDivisor[l];
}

const char* ResNetConfig::ConvName(int l) {
  assert(l >= 0 && l < kResNetConvLayers);
  return kNames[l];
}

int64_t ResNetConfig::conv_weight_size_per_particle(int l) const {
  return conv_out(l) * conv_in(l) * 9;
}

int64_t ResNetConfig::conv_weight_offset(int l) const {
  assert(l >= 0 && l <= kResNetConvLayers);
  int64_t offset = 0;
  for (int k = 0; k < l; ++k) {
    offset += num_particles * (conv_weight_size_per_particle(k) + 2 * conv_out(k));
  }
  return offset;
}

int64_t ResNetConfig::bn_scale_offset(int l) const {
  return conv_weight_offset(l) + num_particles * conv_weight_size_per_particle(l);
}

int64_t ResNetConfig::bn_shift_offset(int l) const {
  return bn_scale_offset(l) + num_particles * conv_out(l);
}

int64_t ResNetConfig::fc_weight_size_per_particle() const {
  return fc_in() * num_classes;
}

int64_t ResNetConfig::fc_offset() const {
  return conv_weight_offset(kResNetConvLayers);
}

int64_t ResNetConfig::num_params() const {
  return fc_offset() + num_particles * fc_weight_size_per_particle();
}

int64_t ResNetConfig::params_per_particle() const {
  return particle_block_offset(kResNetParamBlocks - 1) +
         fc_weight_size_per_particle();
}

int64_t ResNetConfig::particle_block_offset(int block) const {
  assert(block >= 0 && block < kResNetParamBlocks);
  int64_t offset = 0;
  for (int k = 0; k < block; ++k) offset += particle_block_size(k);
  return offset;
}

int64_t ResNetConfig::particle_block_size(int block) const {
  assert(block >= 0 && block < kResNetParamBlocks);
  if (block == kResNetConvLayers) return fc_weight_size_per_particle();
  return conv_weight_size_per_particle(block) + 2 * conv_out(block);
}

int64_t ResNetConfig::stats_offset(int l) const {
  assert(l >= 0 && l <= kResNetConvLayers);
  int64_t offset = 0;
  for (int k = 0; k < l; ++k) offset += num_particles * conv_out(k);
  return offset;
}

int64_t ResNetConfig::stats_size() const {
  return stats_offset(kResNetConvLayers);
}

int64_t ResNetConfig::inputs_size() const {
  return batch_size * image_floats() *
         (input_mode == InputMode::kShared ? 1 : num_particles);
}

int64_t ResNetConfig::labels_size() const {
  return input_mode == InputMode::kShared ? batch_size
                                          : num_particles * batch_size;
}

int64_t ResNetConfig::logits_size() const {
  return num_particles * batch_size * num_classes;
}

double ResNetConfig::ForwardFlops() const {
  double macs = 0.0;
  for (int l = 0; l < kResNetConvLayers; ++l) {
    const double hw = static_cast<double>(conv_size(l)) * conv_size(l);
    macs += hw * conv_out(l) * conv_in(l) * 9.0;
  }
  macs += static_cast<double>(fc_in()) * num_classes;
  return 2.0 * macs * batch_size * num_particles;
}

double ResNetConfig::BackwardFlops() const {
  const double conv0 = 2.0 * batch_size * num_particles *
                       static_cast<double>(conv_size(0)) * conv_size(0) *
                       conv_out(0) * conv_in(0) * 9.0;
  return 2.0 * ForwardFlops() - conv0;
}

void ExtractParticle(const ResNetConfig& config, absl::Span<const float> params,
                     int64_t particle, absl::Span<float> out) {
  assert(static_cast<int64_t>(params.size()) == config.num_params());
  assert(static_cast<int64_t>(out.size()) == config.params_per_particle());
  float* dst = out.data();
  auto copy = [&](int64_t offset, int64_t size) {
    std::memcpy(dst, params.data() + offset + particle * size,
                size * sizeof(float));
    dst += size;
  };
  for (int l = 0; l < kResNetConvLayers; ++l) {
    copy(config.conv_weight_offset(l), config.conv_weight_size_per_particle(l));
    copy(config.bn_scale_offset(l), config.conv_out(l));
    copy(config.bn_shift_offset(l), config.conv_out(l));
  }
  copy(config.fc_offset(), config.fc_weight_size_per_particle());
}

void InsertParticle(const ResNetConfig& config, absl::Span<const float> in,
                    int64_t particle, absl::Span<float> params) {
  assert(static_cast<int64_t>(params.size()) == config.num_params());
  assert(static_cast<int64_t>(in.size()) == config.params_per_particle());
  const float* src = in.data();
  auto copy = [&](int64_t offset, int64_t size) {
    std::memcpy(params.data() + offset + particle * size, src,
                size * sizeof(float));
    src += size;
  };
  for (int l = 0; l < kResNetConvLayers; ++l) {
    copy(config.conv_weight_offset(l), config.conv_weight_size_per_particle(l));
    copy(config.bn_scale_offset(l), config.conv_out(l));
    copy(config.bn_shift_offset(l), config.conv_out(l));
  }
  copy(config.fc_offset(), config.fc_weight_size_per_particle());
}

absl::Status ValidateResNetBatch(const ResNetConfig& config,
                                 int64_t params_size, int64_t inputs_size,
                                 absl::Span<const int32_t> labels) {
  if (params_size != config.num_params()) {
    return absl::InvalidArgumentError(
        absl::StrCat("params has ", params_size, " floats; ",
                     config.DebugString(), " needs ", config.num_params()));
  }
  if (inputs_size != config.inputs_size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("inputs has ", inputs_size, " floats; ",
                     config.DebugString(), " needs ", config.inputs_size()));
  }
  if (static_cast<int64_t>(labels.size()) != config.labels_size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("labels has ", labels.size(), " entries; ",
                     config.DebugString(), " needs ", config.labels_size()));
  }
  for (size_t j = 0; j < labels.size(); ++j) {
    if (labels[j] < 0 || labels[j] >= config.num_classes) {
      return absl::InvalidArgumentError(
          absl::StrCat("labels[", j, "] = ", labels[j], "; allowed: 0..",
                       config.num_classes - 1));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateActiveChannels(const ResNetConfig& config,
                                    absl::Span<const int32_t> active) {
  if (static_cast<int64_t>(active.size()) != config.active_channels_size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "active_channels has ", active.size(), " entries; ",
        config.DebugString(), " needs N * 8 = ", config.active_channels_size()));
  }
  for (size_t j = 0; j < active.size(); ++j) {
    const int l = static_cast<int>(j % kResNetConvLayers);
    if (active[j] < 0 || active[j] > config.conv_out(l)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "active_channels[", j, "] (particle ", j / kResNetConvLayers,
          ", conv ", l, ") = ", active[j], "; allowed: 0..",
          config.conv_out(l)));
    }
  }
  return absl::OkStatus();
}

}  // namespace es
