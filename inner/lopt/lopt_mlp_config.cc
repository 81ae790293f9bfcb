// lopt_mlp_config.cc - see lopt_mlp_config.h.
#include "inner/lopt/lopt_mlp_config.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/types/span.h"
#include "estimators/philox.h"
#include "inner/lopt/truncated_normal.h"

namespace es {

absl::Status LoptMlpConfig::Validate() const {
  constexpr int64_t kMax = int64_t{1} << 24;
  if (num_particles < 1 || num_particles > kMax) {
    return absl::InvalidArgumentError(absl::StrCat(
        "lopt_mlp: num_particles N must be in [1, 2^24], got ", num_particles));
  }
  if (rows < 1 || rows > kMax) {
    return absl::InvalidArgumentError(
        absl::StrCat("lopt_mlp: rows M must be in [1, 2^24], got ", rows));
  }
  if (row_features < 1 || row_features > 4096) {
    return absl::InvalidArgumentError(absl::StrCat(
        "lopt_mlp: row_features must be in [1, 4096], got ", row_features));
  }
  if (particle_features < 0 || particle_features > 4096) {
    return absl::InvalidArgumentError(
        absl::StrCat("lopt_mlp: particle_features must be in [0, 4096], got ",
                     particle_features));
  }
  if (hidden_sizes.empty() || hidden_sizes.size() > 8) {
    return absl::InvalidArgumentError(absl::StrCat(
        "lopt_mlp: hidden_sizes must have 1 to 8 layers, got ",
        hidden_sizes.size(), " (", absl::StrJoin(hidden_sizes, ","), ")"));
  }
  int64_t widest = input_stride();
  for (int64_t h : hidden_sizes) {
    if (h < 1 || h > 4096) {
      return absl::InvalidArgumentError(
          absl::StrCat("lopt_mlp: every hidden size must be in [1, 4096], got ",
                       absl::StrJoin(hidden_sizes, ",")));
    }
    widest = std::max(widest, h);
  }
  if (num_outputs < 1 || num_outputs > 64) {
    return absl::InvalidArgumentError(absl::StrCat(
        "lopt_mlp: num_outputs must be in [1, 64], got ", num_outputs));
  }
  if (num_particles * rows > (int64_t{1} << 36) / widest) {
    return absl::InvalidArgumentError(
        absl::StrCat("lopt_mlp: N * M * width = ", num_particles, " * ", rows,
                     " * ", widest, " floats exceeds 2^36"));
  }
  return absl::OkStatus();
}

std::string LoptMlpConfig::DebugString() const {
  return absl::StrCat(num_inputs(), "(", row_features, "+", particle_features,
                      ")-", absl::StrJoin(hidden_sizes, "-"), "-", num_outputs,
                      " N=", num_particles, " M=", rows);
}

std::vector<int64_t> LoptMlpConfig::layer_sizes() const {
  std::vector<int64_t> d = {num_inputs()};
  d.insert(d.end(), hidden_sizes.begin(), hidden_sizes.end());
  d.push_back(num_outputs);
  return d;
}

int64_t LoptMlpConfig::layer_size(int l) const {
  const int H = static_cast<int>(hidden_sizes.size());
  if (l == 0) return num_inputs();
  if (l <= H) return hidden_sizes[l - 1];
  return num_outputs;
}

int64_t LoptMlpConfig::theta_weight_offset(int layer) const {
  int64_t offset = 0;
  for (int l = 0; l < layer; ++l) {
    offset += (layer_size(l) + 1) * layer_size(l + 1);
  }
  return offset;
}

int64_t LoptMlpConfig::theta_bias_offset(int layer) const {
  return theta_weight_offset(layer) + layer_size(layer) * layer_size(layer + 1);
}

int64_t LoptMlpConfig::theta_dim() const {
  return theta_weight_offset(static_cast<int>(hidden_sizes.size()) + 1);
}

double LoptMlpConfig::FlopsPerRow() const {
  const std::vector<int64_t> d = layer_sizes();
  double flops = 2.0 * static_cast<double>(input_stride() * d[1]);
  for (size_t l = 1; l + 1 < d.size(); ++l) {
    flops += 2.0 * static_cast<double>(d[l] * d[l + 1]);
  }
  return flops;
}

double LoptMlpConfig::LogicalFlopsPerRow() const {
  const std::vector<int64_t> d = layer_sizes();
  double flops = 0.0;
  for (size_t l = 0; l + 1 < d.size(); ++l) {
    flops += 2.0 * static_cast<double>(d[l] * d[l + 1]);
  }
  return flops;
}

void ApplyLoptUpdate(const float* outputs, int64_t n, float* params) {
  for (int64_t j = 0; j < n; ++j) {
    const float d = outputs[2 * j];
    const float m = outputs[2 * j + 1];
    params[j] -= d * std::exp(m * kExpMult) * kStepMult;
  }
}

std::vector<double> LoptMlpInitialTheta(const LoptMlpConfig& config,
                                        uint64_t seed, uint64_t index) {
  const std::vector<int64_t> d = config.layer_sizes();
  std::vector<double> theta(config.theta_dim(), 0.0);
  const RandomKey key{
      seed, static_cast<Stream>(static_cast<uint32_t>(Stream::kUser) + 1)};
  for (size_t l = 0; l + 1 < d.size(); ++l) {
    const int64_t offset = config.theta_weight_offset(static_cast<int>(l));
    FillTruncatedNormal(key, index * 16 + l,
                        1.0 / std::sqrt(static_cast<double>(d[l])),
                        absl::MakeSpan(theta.data() + offset, d[l] * d[l + 1]));
  }
  return theta;
}

}  // namespace es
