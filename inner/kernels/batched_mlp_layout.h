// batched_mlp_layout.h - shape and memory layout shared by the batched MLP
// kernel (batched_mlp.h, oneDNN) and its reference (batched_mlp_reference.h).
//
// Context: hyperparameter optimisation in ES-Single (Vicol, Kolter, Swersky,
// "Low-Variance Gradient Estimation in Unrolled Computation Graphs with
// ES-Single", ICML 2023, Sec. 6, MNIST/FashionMNIST MLP experiments) trains N
// MLPs at once, one per particle (perturbed hyperparameter), each with its own
// weights. This header fixes how those N networks are laid out in memory.
//
// Network, for particle i (0 <= i < N) and layer l (0 <= l < L):
//   h_0     = x                                  (d_0 inputs)
//   z_{l+1} = h_l W_l[i] + b_l[i]                (W_l[i]: d_l x d_{l+1})
//   h_{l+1} = m_{l+1}[i] * relu(z_{l+1})         (hidden layers, l+1 < L)
//   loss[i] = (1/B) sum_b [ logsumexp(z_L[b]) - z_L[b][y_b] ]
// where m_{l+1}[i] is the nested-dropout unit mask of hidden layer l+1: only
// the first k units are active (k = active_units[i, l]), the rest output 0.
//
// Memory layout (all row-major, "row = particle": the particle index is the
// outermost dimension of every batched tensor):
//   params / grads (one flat float array, num_params() entries), layer-major:
//     [W_0 | b_0 | W_1 | b_1 | ... | W_{L-1} | b_{L-1}]
//     W_l: [N, d_l, d_{l+1}] at weight_offset(l); W_l[i][r][c] is
//          params[weight_offset(l) + (i * d_l + r) * d_{l+1} + c]
//     b_l: [N, d_{l+1}]      at bias_offset(l);   b_l[i][c] is
//          params[bias_offset(l) + i * d_{l+1} + c]
//   inputs:
//     InputMode::kShared      [B, d_0]     one minibatch for all particles
//                                          (broadcast, never copied)
//     InputMode::kPerParticle [N, B, d_0]  one minibatch per particle
//   labels (int32 in [0, d_L)):
//     kShared [B]; kPerParticle [N, B]
//   active_units (int32 in [0, d_{l+1}]): [N, L-1]; entry (i, l) is the
//     number of active units of hidden layer l+1 for particle i.
//   loss: [N] (double).
//
// Usage:
//   BatchedMlpConfig config;
//   config.layer_sizes = {784, 100, 100, 10};
//   config.num_particles = 64;
//   config.batch_size = 100;
//   config.input_mode = InputMode::kShared;
//   if (absl::Status s = config.Validate(); !s.ok()) return s;
//   std::vector<float> params(config.num_params());
//   float* w1_of_particle_3 = params.data() + config.weight_offset(1) +
//                             3 * config.weight_size_per_particle(1);
#ifndef ES_SINGLE_INNER_KERNELS_BATCHED_MLP_LAYOUT_H_
#define ES_SINGLE_INNER_KERNELS_BATCHED_MLP_LAYOUT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"

namespace es {

enum class InputMode {
  kShared,       // inputs [B, d_0], labels [B], broadcast over particles
  kPerParticle,  // inputs [N, B, d_0], labels [N, B]
};

// Shape of N batched MLPs. Plain value type; thread-compatible.
struct BatchedMlpConfig {
  // {d_0, d_1, ..., d_L}: input size, hidden sizes, number of classes.
  std::vector<int64_t> layer_sizes;
  int64_t num_particles = 1;  // N
  int64_t batch_size = 1;     // B
  InputMode input_mode = InputMode::kShared;

  // Says which value is wrong and what is allowed: at least two layer sizes,
  // every size in [1, 2^24], at least 2 classes, N and B in [1, 2^24], and at
  // most 2^40 floats in any one tensor.
  absl::Status Validate() const;

  // Shape as text, e.g. "784-100-10 N=3 B=8 shared"; used in test failures
  // and benchmark labels.
  std::string DebugString() const;

  int num_layers() const { return static_cast<int>(layer_sizes.size()) - 1; }
  int num_hidden_layers() const { return num_layers() - 1; }
  int64_t num_classes() const { return layer_sizes.back(); }

  // d_l * d_{l+1} and d_{l+1}.
  int64_t weight_size_per_particle(int layer) const;
  int64_t bias_size_per_particle(int layer) const;
  // Offsets of W_l and b_l in the flat params/grads array.
  int64_t weight_offset(int layer) const;
  int64_t bias_offset(int layer) const;
  int64_t num_params() const;  // total floats for all N particles

  int64_t inputs_size() const;        // B*d_0 or N*B*d_0
  int64_t labels_size() const;        // B or N*B
  int64_t active_units_size() const;  // N*(L-1)
  int64_t logits_size() const;        // N*B*d_L

  // 2*M*N*K summed over the matmuls of one forward pass (N*L products) and
  // of one backward pass (dW for every layer, dX for layers 1..L-1).
  double ForwardFlops() const;
  double BackwardFlops() const;
};

// Checks that `active_units` has N*(L-1) entries, each in [0, d_{l+1}].
absl::Status ValidateActiveUnits(const BatchedMlpConfig& config,
                                 absl::Span<const int32_t> active_units);

// Checks sizes of params/inputs/labels against `config` and that every label
// is in [0, d_L).
absl::Status ValidateBatch(const BatchedMlpConfig& config, int64_t params_size,
                           int64_t inputs_size,
                           absl::Span<const int32_t> labels);

}  // namespace es

#endif  // ES_SINGLE_INNER_KERNELS_BATCHED_MLP_LAYOUT_H_
