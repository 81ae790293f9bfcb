// batched_mlp.h - N independent MLPs (one per particle) trained in lock-step:
// forward pass, softmax cross-entropy loss and backward pass in float32 on
// oneDNN's batched matmul (oneDNN 2.6, v2 API).
//
// Paper: Vicol, Kolter, Swersky, "Low-Variance Gradient Estimation in Unrolled
// Computation Graphs with ES-Single", ICML 2023, Sec. 6 (hyperparameter
// optimisation of MLPs on MNIST / FashionMNIST). Each ES particle carries its
// own hyperparameters and so its own network weights; this kernel computes the
// inner-problem loss and gradient for all particles in one call.
//
// Maths (per particle i; see batched_mlp_layout.h for the full layout):
//   z_{l+1} = h_l W_l[i] + b_l[i],   h_{l+1} = m_{l+1}[i] * relu(z_{l+1})
//   loss[i] = (1/B) sum_b [ logsumexp(z_L[b]) - z_L[b][y_b] ]
//   dz_L    = (softmax(z_L) - onehot(y)) / B
//   dW_l    = h_l^T dz_{l+1},  db_l = sum_b dz_{l+1}[b]
//   dz_l    = (dz_{l+1} W_l^T) * [h_l > 0]          (l >= 1)
// The nested-dropout mask m (first k units active) zeroes h, so inactive
// units output 0 and, because [h > 0] is 0 there, get zero gradient: their
// incoming weights, bias and outgoing weights all get exactly 0.
//
// Implementation: one oneDNN matmul primitive per layer and direction, each a
// 3-D batched product whose batch dimension is the particle:
//   forward   src {N or 1, B, d_l} x W_l {N, d_l, d_{l+1}} -> {N, B, d_{l+1}}
//             (+ per-particle bias and ReLU fused as post-ops)
//   dW        h_l^T {N or 1, d_l, B} x dz {N, B, d_{l+1}} -> {N, d_l, d_{l+1}}
//   dX        dz {N, B, d_{l+1}} x W_l^T {N, d_{l+1}, d_l} -> {N, B, d_l}
// A shared minibatch (InputMode::kShared) is passed with batch dimension 1 and
// broadcast by oneDNN; it is never copied. Primitives, activations, gradient
// buffers and the oneDNN scratchpad are created once by Create(); Forward()
// and Backward() only rebind the caller's pointers (set_data_handle) and run
// the primitives through the C API with prebuilt argument arrays. They
// allocate nothing themselves; oneDNN 2.6's dnnl_primitive_execute still
// makes about 7 small heap allocations per primitive for its execution
// context (batched_mlp_alloc_test checks that nothing else allocates).
// Softmax, the ReLU derivative, masks and bias gradients are plain loops,
// parallel over particles with OpenMP (the runtime oneDNN itself uses).
//
// Usage:
//   BatchedMlpConfig config;
//   config.layer_sizes = {784, 100, 100, 10};
//   config.num_particles = 100;
//   config.batch_size = 100;
//   config.input_mode = InputMode::kShared;      // one minibatch for all
//   absl::StatusOr<std::unique_ptr<BatchedMlp>> mlp =
//   BatchedMlp::Create(config); if (!mlp.ok()) return mlp.status();
//   std::vector<float> params(config.num_params()), grads(config.num_params());
//   std::vector<double> loss(config.num_particles);
//   // images: [B, 784] floats, labels: [B] int32 (row = example).
//   absl::Status s = (*mlp)->ForwardBackward(params, images, labels,
//                                            absl::MakeSpan(loss),
//                                            absl::MakeSpan(grads));
//   // Row = particle: particle i's W_1 gradient starts at
//   //   grads[config.weight_offset(1) + i *
//   config.weight_size_per_particle(1)]
//
// Ownership: the caller owns params, inputs, labels, loss and grads; the
// object owns only its internal buffers. Thread safety: thread-compatible (one
// object must not be used from two threads at once; different objects may).
#ifndef ES_SINGLE_INNER_KERNELS_BATCHED_MLP_H_
#define ES_SINGLE_INNER_KERNELS_BATCHED_MLP_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "inner/kernels/batched_mlp_layout.h"

namespace es {

class BatchedMlp {
 public:
  // Validates `config` and creates every oneDNN primitive and buffer.
  // oneDNN failures come back as absl::Status (see dnnl_status.h).
  static absl::StatusOr<std::unique_ptr<BatchedMlp>> Create(
      const BatchedMlpConfig& config);

  ~BatchedMlp();
  BatchedMlp(const BatchedMlp&) = delete;
  BatchedMlp& operator=(const BatchedMlp&) = delete;

  const BatchedMlpConfig& config() const;

  // Nested-dropout masks, [N, L-1] row = particle (see batched_mlp_layout.h).
  // Values are copied; they stay in force until changed or cleared.
  absl::Status SetActiveUnits(absl::Span<const int32_t> active_units);
  void ClearActiveUnits();  // all units active (the default)

  // Loss per particle for one minibatch; keeps the activations for
  // Backward(). Sizes are checked and every label must be in [0, d_L).
  absl::Status Forward(absl::Span<const float> params,
                       absl::Span<const float> inputs,
                       absl::Span<const int32_t> labels,
                       absl::Span<double> loss);

  // Gradient of loss[i] with respect to particle i's weights and biases, for
  // the minibatch of the last Forward(). `params` and `inputs` must be the
  // same arrays, unchanged, as in that call (checked by address).
  absl::Status Backward(absl::Span<const float> params,
                        absl::Span<const float> inputs,
                        absl::Span<float> grads);

  // Forward() then Backward().
  absl::Status ForwardBackward(absl::Span<const float> params,
                               absl::Span<const float> inputs,
                               absl::Span<const int32_t> labels,
                               absl::Span<double> loss,
                               absl::Span<float> grads);

  // Logits z_L of the last Forward(), [N, B, d_L].
  absl::Span<const float> logits() const;

  // oneDNN implementation chosen for each primitive, e.g.
  // "fwd0=brg:avx512_core fwd1=... dW0=... dX1=...". "ref" means a slow path.
  std::string ImplementationInfo() const;

 private:
  struct Impl;
  explicit BatchedMlp(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace es

#endif  // ES_SINGLE_INNER_KERNELS_BATCHED_MLP_H_
