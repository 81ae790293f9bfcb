// resnet_test_util.cc - see resnet_test_util.h.
#include "inner/cifar/resnet_test_util.h"

#include <cmath>

#include "estimators/philox.h"

namespace es {
namespace {

float Normal(uint64_t seed, uint64_t j) {
  const RandomKey key{seed, Stream::kUser};
  return static_cast<float>(
      StandardNormal(key, j >> 20, static_cast<uint32_t>(j & 0xFFFFF), 0));
}

}  // namespace

std::vector<float> RandomResNetParams(const ResNetConfig& config,
                                      uint64_t seed) {
  std::vector<float> p(config.num_params());
  const int64_t N = config.num_particles;
  uint64_t j = 0;
  for (int l = 0; l < kResNetConvLayers; ++l) {
    const float scale = 1.0f / std::sqrt(9.0f * config.conv_in(l));
    const int64_t w = config.conv_weight_offset(l);
    for (int64_t k = 0; k < N * config.conv_weight_size_per_particle(l); ++k) {
      p[w + k] = scale * Normal(seed, j++);
    }
    for (int64_t k = 0; k < N * config.conv_out(l); ++k) {
      p[config.bn_scale_offset(l) + k] = 1.0f + 0.2f * Normal(seed, j++);
      p[config.bn_shift_offset(l) + k] = 0.2f * Normal(seed, j++);
    }
  }
  const float scale = 1.0f / std::sqrt(static_cast<float>(config.fc_in()));
  for (int64_t k = 0; k < N * config.fc_weight_size_per_particle(); ++k) {
    p[config.fc_offset() + k] = scale * Normal(seed, j++);
  }
  return p;
}

std::vector<float> RandomResNetInputs(const ResNetConfig& config,
                                      uint64_t seed) {
  std::vector<float> x(config.inputs_size());
  for (size_t k = 0; k < x.size(); ++k) x[k] = Normal(seed, k);
  return x;
}

std::vector<int32_t> ResNetLabels(const ResNetConfig& config) {
  std::vector<int32_t> y(config.labels_size());
  for (size_t j = 0; j < y.size(); ++j) {
    y[j] = static_cast<int32_t>((7 * j + 3) % config.num_classes);
  }
  return y;
}

std::vector<float> RandomResNetStats(const ResNetConfig& config, uint64_t seed,
                                     bool variance) {
  std::vector<float> s(config.stats_size());
  for (size_t k = 0; k < s.size(); ++k) {
    const float z = Normal(seed, k);
    s[k] = variance ? 0.2f + z * z : 0.3f * z;
  }
  return s;
}

std::vector<double> ParticleImages(const ResNetConfig& config,
                                   const std::vector<float>& inputs,
                                   int64_t particle) {
  const int64_t B = config.batch_size, D = config.image_floats();
  std::vector<double> out(B * D);
  const bool shared = config.input_mode == InputMode::kShared;
  for (int64_t b = 0; b < B; ++b) {
    const float* src = inputs.data() +
                       (shared ? b * D
                               : (b * config.num_particles + particle) * D);
    for (int64_t k = 0; k < D; ++k) out[b * D + k] = src[k];
  }
  return out;
}

std::vector<int32_t> ParticleLabels(const ResNetConfig& config,
                                    const std::vector<int32_t>& labels,
                                    int64_t particle) {
  const int64_t B = config.batch_size;
  if (config.input_mode == InputMode::kShared) return labels;
  return std::vector<int32_t>(labels.begin() + particle * B,
                              labels.begin() + (particle + 1) * B);
}

}  // namespace es
