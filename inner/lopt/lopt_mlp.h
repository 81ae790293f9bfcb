// lopt_mlp.h - the LOLv2 learned optimiser's per-parameter MLP, batched over
// particles (each with its own optimiser weights = one theta row) and over
// rows (one row = one inner-network parameter), float32 on oneDNN 2.6 (v2
// API). The shape (LoptMlpConfig), the update rule that turns the two
// outputs into a step and the initial theta are in lopt_mlp_config.h.
//
// Paper: ES-Single (Vicol, Kolter, Swersky, ICML 2023) Sec. 4.4 / App. C.3
// meta-train LOLv2 (Metz et al. 2019): an MLP with two hidden layers of 32
// ReLU units applied independently to every inner parameter; its inputs are
// the 19 features of features.h, its outputs a direction d and a magnitude m:
//   step = d * exp(m * kExpMult) * kStepMult,   p <- p - step
// with kExpMult = kStepMult = 1e-3 (google/learned_optimization
// mlp_lopt.py; docs/lopt_notes.md).
//
// Maths, per particle i with theta row theta_i (layout below), row r:
//   x_r = (row features r [F_r], particle features of i [F_p])
//   h_1 = relu(x_r W_0 + b_0), h_{l+1} = relu(h_l W_l + b_l), l = 1..H-1
//   out_r = h_H W_H + b_H                         (num_outputs values)
//
// theta row layout (P = theta_dim() doubles per particle), like a Haiku MLP
// flattened layer by layer: [W_0 | b_0 | W_1 | b_1 | ... | W_H | b_H], W_l
// row-major [d_l x d_{l+1}] (input index major), d_0 = F_r + F_p (rows
// 0..F_r-1 of W_0 take the row features, rows F_r.. the particle features),
// d_{H+1} = num_outputs. With F_r = 8, F_p = 11, hidden {32, 32} and 2
// outputs: P = 19*32 + 32 + 32*32 + 32 + 32*2 + 2 = 1762.
//
// Implementation (docs/lopt_notes.md has the measurements behind it):
//   * The particle features are constant over a particle's rows, so they
//     are folded into the first bias once per call:
//       b0_eff[i] = b_0[i] + pf[i] W_0[i][F_r:, :]        (double, then float)
//     and b0_eff is carried as an extra input column of 1s, so layer 0 is one
//     batched matmul {N, M, F_r+1} x {N, F_r+1, h_1} with a fused ReLU
//     post-op and no bias operand.
//   * Hidden layers l >= 1: batched matmul {N, M, h_l} x {N, h_l, h_{l+1}}
//     without post-ops. oneDNN 2.6's per-particle bias as a binary_add post-op
//     (the pattern of inner/kernels/batched_mlp.cc) made this 32x32 layer
//     about 1.6x slower here, so bias + ReLU is a plain vectorised loop; for
//     the last hidden layer it is fused with the output layer.
//   * Output layer (32 -> 2): a plain loop per row (two dot products of
//     length 32): oneDNN's matmul with 2 output columns ran at a few GFLOP/s
//     and cost as much as the 32x32 layer.
//   * Primitives, weight buffers (layer-major, [N, d_l, d_{l+1}] dense, so
//     oneDNN selects its brgemm kernel), activations, the row input buffer
//     and the scratchpad are created once by Create(); Run() allocates
//     nothing itself (oneDNN's execute makes a few small allocations).
//
// Row input layout: input() is [N, M, F_r + 1] row-major (row = particle i,
// parameter r); the caller writes columns 0..F_r-1, Run() writes the 1s of
// column F_r. Outputs: [N, M, num_outputs] row-major.
//
// Usage:
//   LoptMlpConfig config;                 // F_r = 8, F_p = 11, {32, 32}, 2
//   config.num_particles = N; config.rows = 4096;
//   auto mlp = LoptMlp::Create(config);   // StatusOr
//   (*mlp)->SetWeights(thetas_flat);      // N * P doubles, row = particle
//   (*mlp)->SetParticleFeatures(time);    // N * F_p floats
//   write features into (*mlp)->input(); (*mlp)->Run(outputs);
//   ApplyLoptUpdate(outputs_of_particle_i, rows, params_of_particle_i);
//
// Thread safety: thread-compatible (one object per thread). Results do not
// depend on the OpenMP thread count (tested).
#ifndef ES_SINGLE_INNER_LOPT_LOPT_MLP_H_
#define ES_SINGLE_INNER_LOPT_LOPT_MLP_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "inner/lopt/features.h"
#include "inner/lopt/lopt_mlp_config.h"

namespace es {

class LoptMlp {
 public:
  static absl::StatusOr<std::unique_ptr<LoptMlp>> Create(
      const LoptMlpConfig& config);
  ~LoptMlp();
  LoptMlp(const LoptMlp&) = delete;
  LoptMlp& operator=(const LoptMlp&) = delete;

  const LoptMlpConfig& config() const;

  // thetas: N * P doubles, particle i's row at [i * P, (i + 1) * P). Rounded
  // to float; the particle-feature block of W_0 and b_0 are kept in double
  // for the folding. Resets the particle features to 0.
  absl::Status SetWeights(absl::Span<const double> thetas);

  // N * F_p floats, row = particle. Refolds the first-layer bias.
  absl::Status SetParticleFeatures(absl::Span<const float> features);

  // Row input [N, M, F_r + 1] (columns 0..F_r-1 are the caller's).
  absl::Span<float> input();

  // outputs: N * M * num_outputs floats. FailedPrecondition before
  // SetWeights().
  absl::Status Run(absl::Span<float> outputs);

  // Copies row_features [N, M, F_r] into input(), then Run().
  absl::Status Apply(absl::Span<const float> row_features,
                     absl::Span<float> outputs);

  // oneDNN implementation per primitive, e.g. "L0=brg:avx512_core L1=...".
  std::string ImplementationInfo() const;

 private:
  struct Impl;
  explicit LoptMlp(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace es

#endif  // ES_SINGLE_INNER_LOPT_LOPT_MLP_H_
