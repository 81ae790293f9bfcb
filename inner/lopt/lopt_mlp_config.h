// lopt_mlp_config.h - shape of the LOLv2 optimiser MLP (LoptMlpConfig:
// validation, theta layout, flop counts), its update rule and its initial
// theta. The kernel that runs it is lopt_mlp.h; the maths and the theta
// layout are documented there and in docs/lopt_notes.md.
//
// Paper: ES-Single (Vicol et al., ICML 2023) Sec. 4.4 / App. C.3; LOLv2 of
// Metz et al. (2019) as in google/learned_optimization mlp_lopt.py.
//
// Usage:
//   LoptMlpConfig config;                       // 19(8+11)-32-32-2
//   absl::Status s = config.Validate();
//   int64_t P = config.theta_dim();             // 1762
//   std::vector<double> theta0 = LoptMlpInitialTheta(config, seed, 0);
//   ApplyLoptUpdate(outputs, n, params);        // p -= d exp(1e-3 m) 1e-3
#ifndef ES_SINGLE_INNER_LOPT_LOPT_MLP_CONFIG_H_
#define ES_SINGLE_INNER_LOPT_LOPT_MLP_CONFIG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "inner/lopt/features.h"

namespace es {

// Update-rule constants (mlp_lopt.py: exp_mult, step_mult).
inline constexpr float kExpMult = 1e-3f;
inline constexpr float kStepMult = 1e-3f;

struct LoptMlpConfig {
  int64_t num_particles = 1;                     // N
  int64_t rows = 1;                              // M rows per particle
  int64_t row_features = kNumRowFeatures;        // F_r
  int64_t particle_features = kNumTimeFeatures;  // F_p
  std::vector<int64_t> hidden_sizes = {32, 32};  // h_1..h_H
  int64_t num_outputs = 2;

  // Says which value is wrong and what is allowed: N, M in [1, 2^24],
  // F_r in [1, 4096], F_p in [0, 4096], 1 to 8 hidden layers each in
  // [1, 4096], num_outputs in [1, 64], N * M * max width <= 2^36.
  absl::Status Validate() const;
  // e.g. "19(8+11)-32-32-2 N=3 M=17".
  std::string DebugString() const;

  int64_t num_inputs() const { return row_features + particle_features; }
  int64_t input_stride() const { return row_features + 1; }
  // {d_0, h_1, ..., h_H, num_outputs}.
  std::vector<int64_t> layer_sizes() const;
  // Entry l of layer_sizes(), l in [0, H + 1], without building the vector.
  int64_t layer_size(int l) const;
  // P: weights and biases of one MLP. This and the offsets allocate nothing
  // (LoptMlp::SetWeights runs in every Unroll).
  int64_t theta_dim() const;
  // Offsets of W_l and b_l inside a theta row.
  int64_t theta_weight_offset(int layer) const;
  int64_t theta_bias_offset(int layer) const;
  // Flops per row actually executed: 2 * sum_l K_l * d_{l+1}, with
  // K_0 = F_r + 1 (bias column) and K_l = h_l.
  double FlopsPerRow() const;
  // Flops per row of the logical 19-input MLP (2 * sum_l d_l d_{l+1}), the
  // count a direct implementation would execute.
  double LogicalFlopsPerRow() const;
};

// The LOLv2 update of n parameters from interleaved outputs (d, m):
//   params[j] -= outputs[2j] * exp(outputs[2j + 1] * kExpMult) * kStepMult
// (float32; non-finite outputs give non-finite parameters, never a trap).
void ApplyLoptUpdate(const float* outputs, int64_t n, float* params);

// Haiku's default initialisation of the optimiser MLP (the starting point of
// meta-training in the reference code): W_l ~ TruncatedNormal(-2, 2) /
// sqrt(d_l), b_l = 0. Keyed by (seed, Stream::kUser + 1, draw = index).
std::vector<double> LoptMlpInitialTheta(const LoptMlpConfig& config,
                                        uint64_t seed, uint64_t index);

}  // namespace es

#endif  // ES_SINGLE_INNER_LOPT_LOPT_MLP_CONFIG_H_
