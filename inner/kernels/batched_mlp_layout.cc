// batched_mlp_layout.cc - see batched_mlp_layout.h.
#include "inner/kernels/batched_mlp_layout.h"

#include <cassert>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace es {
namespace {

constexpr int64_t kMaxDim = int64_t{1} << 24;
constexpr int64_t kMaxTensor = int64_t{1} << 40;

}  // namespace

absl::Status BatchedMlpConfig::Validate() const {
  if (layer_sizes.size() < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("BatchedMlpConfig.layer_sizes has ", layer_sizes.size(),
                     " entries; need at least 2 ({inputs, ..., classes})"));
  }
  for (size_t l = 0; l < layer_sizes.size(); ++l) {
    if (layer_sizes[l] < 1 || layer_sizes[l] > kMaxDim) {
      return absl::InvalidArgumentError(
          absl::StrCat("BatchedMlpConfig.layer_sizes[", l,
                       "] = ", layer_sizes[l], "; allowed: 1..", kMaxDim));
    }
  }
  if (layer_sizes.back() < 2) {
    return absl::InvalidArgumentError(absl::StrCat(
        "BatchedMlpConfig.layer_sizes.back() (number of classes) = ",
        layer_sizes.back(), "; softmax cross-entropy needs at least 2"));
  }
  if (num_particles < 1 || num_particles > kMaxDim) {
    return absl::InvalidArgumentError(
        absl::StrCat("BatchedMlpConfig.num_particles = ", num_particles,
                     "; allowed: 1..", kMaxDim));
  }
  if (batch_size < 1 || batch_size > kMaxDim) {
    return absl::InvalidArgumentError(
        absl::StrCat("BatchedMlpConfig.batch_size = ", batch_size,
                     "; allowed: 1..", kMaxDim));
  }
  for (size_t l = 0; l < layer_sizes.size(); ++l) {
    // Largest tensors: activations N*B*d and weights N*d*d'.
    const double act = static_cast<double>(num_particles) * batch_size *
                       static_cast<double>(layer_sizes[l]);
    const double wei = l + 1 < layer_sizes.size()
                           ? static_cast<double>(num_particles) *
                                 layer_sizes[l] *
                                 static_cast<double>(layer_sizes[l + 1])
                           : 0.0;
    if (act > kMaxTensor || wei > kMaxTensor) {
      return absl::InvalidArgumentError(
          absl::StrCat("BatchedMlpConfig ", DebugString(), ": layer ", l,
                       " needs a tensor of more than 2^40 floats"));
    }
  }
  return absl::OkStatus();
}

std::string BatchedMlpConfig::DebugString() const {
  return absl::StrCat(
      absl::StrJoin(layer_sizes, "-"), " N=", num_particles, " B=", batch_size,
      input_mode == InputMode::kShared ? " shared" : " per-particle");
}

int64_t BatchedMlpConfig::weight_size_per_particle(int layer) const {
  assert(layer >= 0 && layer < num_layers());
  return layer_sizes[layer] * layer_sizes[layer + 1];
}

int64_t BatchedMlpConfig::bias_size_per_particle(int layer) const {
  assert(layer >= 0 && layer < num_layers());
  return layer_sizes[layer + 1];
}

int64_t BatchedMlpConfig::weight_offset(int layer) const {
  assert(layer >= 0 && layer <= num_layers());
  int64_t offset = 0;
  for (int l = 0; l < layer; ++l) {
    offset += num_particles *
              (weight_size_per_particle(l) + bias_size_per_particle(l));
  }
  return offset;
}

int64_t BatchedMlpConfig::bias_offset(int layer) const {
  return weight_offset(layer) + num_particles * weight_size_per_particle(layer);
}

int64_t BatchedMlpConfig::num_params() const {
  return weight_offset(num_layers());
}

int64_t BatchedMlpConfig::inputs_size() const {
  const int64_t per = batch_size * layer_sizes[0];
  return input_mode == InputMode::kShared ? per : num_particles * per;
}

int64_t BatchedMlpConfig::labels_size() const {
  return input_mode == InputMode::kShared ? batch_size
                                          : num_particles * batch_size;
}

int64_t BatchedMlpConfig::active_units_size() const {
  return num_particles * num_hidden_layers();
}

int64_t BatchedMlpConfig::logits_size() const {
  return num_particles * batch_size * num_classes();
}

double BatchedMlpConfig::ForwardFlops() const {
  double flops = 0;
  for (int l = 0; l < num_layers(); ++l) {
    flops += 2.0 * num_particles * batch_size *
             static_cast<double>(weight_size_per_particle(l));
  }
  return flops;
}

double BatchedMlpConfig::BackwardFlops() const {
  // dW for every layer costs as much as the forward product; dX is skipped
  // for layer 0 (the gradient with respect to the data is never needed).
  return 2.0 * ForwardFlops() -
         2.0 * num_particles * batch_size *
             static_cast<double>(weight_size_per_particle(0));
}

absl::Status ValidateActiveUnits(const BatchedMlpConfig& config,
                                 absl::Span<const int32_t> active_units) {
  if (static_cast<int64_t>(active_units.size()) != config.active_units_size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "active_units has ", active_units.size(), " entries; ",
        config.DebugString(), " needs N*(L-1) = ", config.active_units_size(),
        " (row = particle, one column per hidden layer)"));
  }
  const int hidden = config.num_hidden_layers();
  for (int64_t i = 0; i < config.num_particles; ++i) {
    for (int l = 0; l < hidden; ++l) {
      const int32_t k = active_units[i * hidden + l];
      if (k < 0 || k > config.layer_sizes[l + 1]) {
        return absl::InvalidArgumentError(absl::StrCat(
            "active_units[particle ", i, ", hidden layer ", l, "] = ", k,
            "; allowed: 0..", config.layer_sizes[l + 1]));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateBatch(const BatchedMlpConfig& config, int64_t params_size,
                           int64_t inputs_size,
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
  const int64_t classes = config.num_classes();
  for (size_t j = 0; j < labels.size(); ++j) {
    if (labels[j] < 0 || labels[j] >= classes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "labels[", j, "] = ", labels[j], "; allowed: 0..", classes - 1));
    }
  }
  return absl::OkStatus();
}

}  // namespace es
