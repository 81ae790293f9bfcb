// resnet_layout.h - shape and memory layout of N Myrtle.ai ResNets (one per
// ES particle), shared by the oneDNN kernel (batched_resnet.h), its naive
// reference (resnet_reference.h) and the CIFAR-10 problem
// (cifar_hpo_problem.h).
//
// Paper: Vicol, Kolter, Swersky, "Low-Variance Gradient Estimation in
// Unrolled Computation Graphs with ES-Single", ICML 2023, App. C.5 (Figs. 23,
// 24): "a 1.6M parameter Myrtle.ai ResNet" on CIFAR-10. The PES code of the
// same authors (google-research/persistent_es, models.py, class Net) defines
// it; widths {32, 64, 128, 256} ("med" there) give 1.6M parameters, hence
// the default below.
//
// Network, for particle i (w = widths, S = image size, all convolutions 3x3,
// stride 1, zero padding 1, no bias; CBR = conv -> batch norm -> ReLU; pools
// are max pools):
//   conv 0 "prep"    CBR 3    -> w0   at S x S
//   conv 1 "layer1"  CBR w0   -> w1   at S x S,   then 2x2 pool -> S/2   (P1)
//   conv 2 "res1a"   CBR w1   -> w1   at S/2
//   conv 3 "res1b"   CBR w1   -> w1   at S/2,     R1 = P1 + its output
//   conv 4 "layer2"  CBR w1   -> w2   at S/2,     then 2x2 pool -> S/4
//   conv 5 "layer3"  CBR w2   -> w3   at S/4,     then 2x2 pool -> S/8   (P3)
//   conv 6 "res3a"   CBR w3   -> w3   at S/8
//   conv 7 "res3b"   CBR w3   -> w3   at S/8,     R3 = P3 + its output
//   global max pool (S/8 x S/8) -> g [w3];  logits = 0.125 * g W_fc (no bias)
//   loss[i] = (1/B) sum_b [ logsumexp(logits_b) - logits_b[y_b] ]
// Batch norm: y = gamma * (z - mean) / sqrt(var + eps) + beta per channel,
// (mean, var) the biased batch statistics over (B, H, W) in training mode
// (Haiku's BatchNorm, eps = 1e-5), or given running statistics in inference
// mode. Channel masks (nested dropout over channels, App. C.5's "number of
// channels per convolutional layer"): channels c >= k of conv l of particle
// i output 0 (k = active_channels[i, l]).
//
// Memory layout ("row = particle": the particle index is the outermost
// dimension of every per-tensor block):
//   params / grads, one flat float array of num_params() entries, tensor by
//   tensor, each tensor holding all N particles:
//     [W_0 | gamma_0 | beta_0 | W_1 | gamma_1 | beta_1 | ... | W_7 | ... | W_fc]
//     W_l     [N, Co_l, Ci_l, 3, 3] at conv_weight_offset(l)  (oneDNN goihw)
//     gamma_l [N, Co_l]             at bn_scale_offset(l)
//     beta_l  [N, Co_l]             at bn_shift_offset(l)
//     W_fc    [N, w3, C]            at fc_offset() (row-major, in x out)
//   One particle's parameters in this order (without the N dimension) form
//   its "particle vector" (ExtractParticle / InsertParticle), the layout the
//   reference implementation takes.
//   inputs (float, NCHW images, already normalised):
//     InputMode::kShared      [B, 3, S, S]      one minibatch for all particles
//     InputMode::kPerParticle [B, N, 3, S, S]   example-major: the oneDNN
//                                               grouped-convolution input
//                                               [B, N*3, S, S]
//   labels (int32 in [0, C)): kShared [B]; kPerParticle [N, B]
//   BN statistics (running or batch mean / variance): one float array of
//     stats_size() entries, [N, Co_l] per conv l at stats_offset(l).
//   active_channels: int32 [N, 8], entry (i, l) in [0, Co_l].
//   loss: double [N]; logits: float [N, B, C] (scaled by 0.125).
//
// Usage:
//   ResNetConfig config;                 // the paper's widths, B = 100
//   config.num_particles = 10;
//   if (absl::Status s = config.Validate(); !s.ok()) return s;
//   std::vector<float> params(config.num_params());
//   float* w3_of_particle_2 = params.data() + config.conv_weight_offset(3) +
//                             2 * config.conv_weight_size_per_particle(3);
#ifndef ES_SINGLE_INNER_CIFAR_RESNET_LAYOUT_H_
#define ES_SINGLE_INNER_CIFAR_RESNET_LAYOUT_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "inner/kernels/batched_mlp_layout.h"  // InputMode

namespace es {

inline constexpr int kResNetConvLayers = 8;
// Parameter blocks (conv l with its batch norm, l = 0..7, then the final
// linear layer): the unit of per-block learning rates and momenta.
inline constexpr int kResNetParamBlocks = kResNetConvLayers + 1;

// Myrtle ResNet-9 stage widths {prep, layer1, layer2, layer3} of the PES
// code (models.py): "med" is the paper's 1.6M-parameter network.
inline constexpr std::array<int64_t, 4> kMyrtleMed = {32, 64, 128, 256};
inline constexpr std::array<int64_t, 4> kMyrtleSmall = {16, 32, 64, 128};
inline constexpr std::array<int64_t, 4> kMyrtleTiny = {8, 16, 32, 64};

// Which batch normalisation the kernel runs (batched_resnet.h).
enum class BatchNormImpl {
  // channel_batch_norm.h: same bits for any thread count (the default).
  kDeterministic,
  // oneDNN's batch_normalization primitive: its statistics change in the
  // last bits with the thread count.
  kOneDnn,
};

// Shape of N batched ResNets. Plain value type; thread-compatible.
struct ResNetConfig {
  std::array<int64_t, 4> widths = kMyrtleMed;
  int64_t image_size = 32;   // S, a multiple of 8
  int64_t in_channels = 3;
  int64_t num_classes = 10;  // C
  int64_t num_particles = 1;  // N
  int64_t batch_size = 100;   // B
  InputMode input_mode = InputMode::kShared;
  float bn_epsilon = 1e-5f;
  float logit_scale = 0.125f;  // the PES code's logit_weight
  BatchNormImpl batch_norm = BatchNormImpl::kDeterministic;

  // Says which value is wrong and what is allowed.
  absl::Status Validate() const;
  // e.g. "myrtle 32-64-128-256 S=32 N=10 B=100 shared".
  std::string DebugString() const;

  // Conv layer l (0..7): input channels, output channels, spatial size of
  // its input and output (stride 1, "same" padding).
  int64_t conv_in(int l) const;
  int64_t conv_out(int l) const;
  int64_t conv_size(int l) const;
  static const char* ConvName(int l);

  int64_t conv_weight_size_per_particle(int l) const;  // Co * Ci * 9
  int64_t conv_weight_offset(int l) const;
  int64_t bn_scale_offset(int l) const;
  int64_t bn_shift_offset(int l) const;
  int64_t fc_in() const { return widths[3]; }
  int64_t fc_weight_size_per_particle() const;  // w3 * C
  int64_t fc_offset() const;
  int64_t num_params() const;  // all N particles
  int64_t params_per_particle() const;
  // Offset of block b's first tensor, and its size, inside one particle
  // vector (block b < 8: W_b, gamma_b, beta_b; block 8: W_fc).
  int64_t particle_block_offset(int block) const;
  int64_t particle_block_size(int block) const;

  int64_t stats_offset(int l) const;  // N * sum_{k<l} Co_k
  int64_t stats_size() const;         // N * sum_l Co_l
  int64_t image_floats() const { return in_channels * image_size * image_size; }
  int64_t inputs_size() const;  // B*3*S*S or B*N*3*S*S
  int64_t labels_size() const;  // B or N*B
  int64_t logits_size() const;  // N*B*C
  int64_t active_channels_size() const { return num_particles * kResNetConvLayers; }

  // Flops of one pass for all N particles, counting 2*MACs of every
  // convolution and matmul: forward; backward = backward-data (not for conv
  // 0, whose input needs no gradient) + backward-weights. Batch norm,
  // pooling, additions and the loss are not counted (well under 1%).
  double ForwardFlops() const;
  double BackwardFlops() const;
};

// Particle i's parameters (or gradients) from the batched array, in the
// particle-vector order, and back.
void ExtractParticle(const ResNetConfig& config, absl::Span<const float> params,
                     int64_t particle, absl::Span<float> out);
void InsertParticle(const ResNetConfig& config, absl::Span<const float> in,
                    int64_t particle, absl::Span<float> params);

// Sizes of params / inputs against `config`, and every label in [0, C).
absl::Status ValidateResNetBatch(const ResNetConfig& config,
                                 int64_t params_size, int64_t inputs_size,
                                 absl::Span<const int32_t> labels);
// N*8 entries, entry (i, l) in [0, Co_l].
absl::Status ValidateActiveChannels(const ResNetConfig& config,
                                    absl::Span<const int32_t> active);

}  // namespace es

#endif  // ES_SINGLE_INNER_CIFAR_RESNET_LAYOUT_H_
