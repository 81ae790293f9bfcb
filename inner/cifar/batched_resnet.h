// batched_resnet.h - N independent Myrtle.ai ResNets (one per ES particle)
// trained in lock-step: forward pass (training mode with batch statistics,
// or inference mode with given running statistics), softmax cross-entropy
// and backward pass in float32 on oneDNN 2.6 (v2 API) primitives.
//
// Paper: Vicol, Kolter, Swersky, "Low-Variance Gradient Estimation in
// Unrolled Computation Graphs with ES-Single", ICML 2023, App. C.5 (Figs. 23
// and 24: hyperparameters of a ResNet trained on CIFAR-10). The network, the
// parameter layout and the maths are in resnet_layout.h.
//
// Implementation: particles are convolution groups. Every activation is one
// tensor [B, N*C, H, W] (particle i owns channels [i*C, (i+1)*C)), so each
// layer is ONE primitive for all particles:
//   conv l      grouped convolution, groups = N, weights [N, Co, Ci, 3, 3]
//               (conv 0 with a shared minibatch: an ordinary convolution
//               3 -> N*w0, the same weights array read as [N*w0, 3, 3, 3])
//   batch norm  per channel over (B, H, W), i.e. per particle and channel:
//               exactly each particle's own batch norm; scale/shift = that
//               particle's gamma/beta (times its channel mask), ReLU fused
//               (fuse_norm_relu); training mode returns the batch mean and
//               variance
//   pools       max pooling, per channel (no mixing of particles)
//   residual    binary add
//   fc          3-D batched matmul {N, B, w3} x {N, w3, C}, output scale
//               0.125, after a reorder of the pooled [B, N*w3] to [N, B, w3]
// Formats are oneDNN's choice (format_tag::any, typically nChw16c); weights
// are reordered from the caller's plain layout into the convolution's format
// on every call (they change every step) and gradients back. Channel masks
// zero gamma and beta of masked channels, so masked channels output exactly
// 0 and get exactly 0 gradient (their ReLU is inactive). docs/cifar_notes.md
// says why groups rather than N separate convolutions (measured).
//
// Primitives, activations, workspaces, gradient buffers (a small pool reused
// along the backward pass) and the scratchpad are created by Create();
// Forward/Backward only rebind the caller's arrays and run the primitives
// through oneDNN's C API. They allocate nothing themselves (oneDNN 2.6's
// execute makes a few small allocations of its own, as in batched_mlp.h).
// Loops between primitives (loss, masks) are OpenMP over particles.
//
// Usage:
//   ResNetConfig config;                          // paper widths 32-64-128-256
//   config.num_particles = 4;
//   config.batch_size = 100;
//   auto net = BatchedResNet::Create(config);
//   if (!net.ok()) return net.status();
//   std::vector<float> params(config.num_params()), grads(config.num_params());
//   std::vector<double> loss(config.num_particles);
//   // images [B, 3, 32, 32] normalised floats, labels [B] int32
//   absl::Status s = (*net)->ForwardBackward(params, images, labels,
//                                            absl::MakeSpan(loss),
//                                            absl::MakeSpan(grads));
//   absl::Span<const float> mean = (*net)->batch_mean();  // for running stats
//
// Ownership: the caller owns params, inputs, labels, statistics, loss and
// grads. Thread safety: thread-compatible (one object, one thread at a time).
#ifndef ES_SINGLE_INNER_CIFAR_BATCHED_RESNET_H_
#define ES_SINGLE_INNER_CIFAR_BATCHED_RESNET_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "inner/cifar/resnet_layout.h"

namespace es {

class BatchedResNet {
 public:
  // Validates `config` and creates every primitive and buffer; oneDNN
  // failures come back as a status (inner/kernels/dnnl_status.h).
  static absl::StatusOr<std::unique_ptr<BatchedResNet>> Create(
      const ResNetConfig& config);

  ~BatchedResNet();
  BatchedResNet(const BatchedResNet&) = delete;
  BatchedResNet& operator=(const BatchedResNet&) = delete;

  const ResNetConfig& config() const;

  // Channel masks [N, 8] (resnet_layout.h); copied, in force until changed.
  absl::Status SetActiveChannels(absl::Span<const int32_t> active);
  void ClearActiveChannels();  // all channels (the default)

  // Training-mode forward (batch statistics): loss per particle; keeps the
  // activations for Backward().
  absl::Status Forward(absl::Span<const float> params,
                       absl::Span<const float> inputs,
                       absl::Span<const int32_t> labels,
                       absl::Span<double> loss);

  // Gradient of loss[i] with respect to particle i's parameters for the
  // minibatch of the last Forward(); `params` and `inputs` must be the same
  // arrays, unchanged (checked by address), and no ForwardInference() may
  // have run in between.
  absl::Status Backward(absl::Span<const float> params,
                        absl::Span<const float> inputs,
                        absl::Span<float> grads);

  absl::Status ForwardBackward(absl::Span<const float> params,
                               absl::Span<const float> inputs,
                               absl::Span<const int32_t> labels,
                               absl::Span<double> loss,
                               absl::Span<float> grads);

  // Inference-mode forward: batch norm uses `mean` and `variance`
  // (stats_size() floats each, resnet_layout.h). Overwrites the training
  // activations.
  absl::Status ForwardInference(absl::Span<const float> params,
                                absl::Span<const float> inputs,
                                absl::Span<const int32_t> labels,
                                absl::Span<const float> mean,
                                absl::Span<const float> variance,
                                absl::Span<double> loss);

  // Batch mean and (biased) variance of every batch norm of the last
  // training-mode Forward(), stats_size() floats each.
  absl::Span<const float> batch_mean() const;
  absl::Span<const float> batch_variance() const;
  // Logits [N, B, C] of the last forward pass.
  absl::Span<const float> logits() const;

  // Bytes of the buffers Create() allocated (activations, reordered
  // weights, gradient buffers, scratchpad); oneDNN's own small allocations
  // (primitives, jit code) are not counted.
  int64_t allocated_bytes() const;
  // An upper bound of allocated_bytes() from the shape alone, computed
  // without allocating (for memory limits before Create; tested against
  // allocated_bytes() in batched_resnet_properties_test).
  static int64_t EstimateBytes(const ResNetConfig& config);

  // The oneDNN implementation of every primitive, e.g.
  // "conv0=jit:avx512_core bn0=bnorm_jit:avx512_core ...".
  std::string ImplementationInfo() const;

 private:
  struct Impl;
  explicit BatchedResNet(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace es

#endif  // ES_SINGLE_INNER_CIFAR_BATCHED_RESNET_H_
