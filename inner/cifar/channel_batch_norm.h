// channel_batch_norm.h - batch normalisation + ReLU over the channels of a
// [B, C, H, W] activation stored in a oneDNN memory format (plain or
// channel-blocked, e.g. nChw16c), forward (training and inference) and
// backward, with results that do not depend on the thread count.
//
// Why not oneDNN's batch_normalization primitive: its jit kernel splits the
// statistics' reduction over (B, H, W) between threads, so its mean,
// variance and gradients change in the last bits with the thread count
// (measured with oneDNN 2.6.3: 630 of 640 channel means differ between 1
// and 2 threads at N = 10, B = 100, C = 64, 16x16; docs/cifar_notes.md).
// Here every channel block is reduced by one thread in a fixed order (b,
// then h, then w), in double, so the bits are the same for any thread
// count. The convolutions themselves were measured to be thread-count
// invariant, so the whole training step is (batched_resnet_threads_test).
//
// Maths per channel c (M = B*H*W, biased variance, eps from the caller):
//   mean_c = (1/M) sum z,   var_c = (1/M) sum (z - mean_c)^2
//   xhat = (z - mean_c) / sqrt(var_c + eps)
//   y = max(0, gamma_c xhat + beta_c)
// backward, with dpre = dy [y > 0]:
//   dbeta_c = sum dpre,  dgamma_c = sum dpre xhat
//   dz = gamma_c / sqrt(var_c + eps) (dpre - dbeta_c / M - xhat dgamma_c / M)
// A channel with gamma = beta = 0 (a masked channel) outputs exactly 0 and
// gets exactly 0 gradients.
//
// Usage:
//   absl::StatusOr<ChannelLayout> layout = ChannelLayoutOf(z_memory_desc);
//   BatchNormReluForward(*layout, z, gamma, beta, 1e-5f, mean, var, y);
//   BatchNormReluBackward(*layout, z, y, dy, gamma, mean, var, 1e-5f, dz,
//                         dgamma, dbeta);
#ifndef ES_SINGLE_INNER_CIFAR_CHANNEL_BATCH_NORM_H_
#define ES_SINGLE_INNER_CIFAR_CHANNEL_BATCH_NORM_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "oneapi/dnnl/dnnl.hpp"

namespace es {

// Element (b, c, h, w) of a [B, C, H, W] tensor is at float offset
//   b * sb + (c / blk) * scb + h * sh + w * sw + c % blk.
struct ChannelLayout {
  int64_t b = 0, c = 0, h = 0, w = 0;
  int64_t blk = 1;  // channels per innermost block (1: plain format)
  int64_t sb = 0, scb = 0, sh = 0, sw = 0;
};

// The layout of a 4-D f32 memory desc with at most one inner block, on the
// channel dimension; Unimplemented for anything else.
absl::StatusOr<ChannelLayout> ChannelLayoutOf(const dnnl::memory::desc& md);

// Training mode: writes mean and var (C each) and y. Padding lanes of a
// blocked y are left untouched.
void BatchNormReluForward(const ChannelLayout& layout, const float* z,
                          const float* gamma, const float* beta, float eps,
                          float* mean, float* var, float* y);

// Inference mode with given statistics.
void BatchNormReluInference(const ChannelLayout& layout, const float* z,
                            const float* gamma, const float* beta,
                            const float* mean, const float* var, float eps,
                            float* y);

// Backward of BatchNormReluForward (y is its output): writes dz (padding
// lanes of a blocked dz are set to 0), dgamma and dbeta (C each).
void BatchNormReluBackward(const ChannelLayout& layout, const float* z,
                           const float* y, const float* dy, const float* gamma,
                           const float* mean, const float* var, float eps,
                           float* dz, float* dgamma, float* dbeta);

}  // namespace es

#endif  // ES_SINGLE_INNER_CIFAR_CHANNEL_BATCH_NORM_H_
