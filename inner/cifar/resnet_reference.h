// resnet_reference.h - naive double-precision reference of every layer of
// the Myrtle ResNet (resnet_layout.h) and of the whole network for ONE
// particle, forward and backward: the ground truth that the oneDNN kernel
// (batched_resnet.h) is tested against (test helper, testonly).
//
// Paper: ES-Single (Vicol et al., ICML 2023), App. C.5; network from the PES
// code (google-research/persistent_es, models.py, class Net).
//
// Every function is a direct transcription of the maths with plain loops;
// nothing is optimised. Tensors are row-major std::vector<double>, images
// NCHW ([B, C, H, W]); conv weights [Co, Ci, 3, 3]; fc weights [w3, C].
// Gradients of a layer are checked against central finite differences in
// resnet_reference_test.cc.
//
// Usage:
//   ResNetConfig config;  config.widths = {3, 5, 7, 9};  config.image_size = 8;
//   std::vector<double> params(config.params_per_particle()), images, ...;
//   ReferenceOutput out = ReferenceResNet(config, params, images, labels,
//                                         /*active=*/{}, ReferenceMode::kTrain,
//                                         /*backward=*/true);
//   // out.loss, out.logits [B, C], out.grads (particle-vector order)
#ifndef ES_SINGLE_INNER_CIFAR_RESNET_REFERENCE_H_
#define ES_SINGLE_INNER_CIFAR_RESNET_REFERENCE_H_

#include <cstdint>
#include <vector>

#include "inner/cifar/resnet_layout.h"

namespace es {

using DVec = std::vector<double>;

// A [b, c, h, w] shape.
struct Shape4 {
  int64_t b = 0, c = 0, h = 0, w = 0;
  int64_t size() const { return b * c * h * w; }
};

// 3x3 convolution, stride 1, zero padding 1: y [B, Co, H, W] from x with
// shape `xs` and weights w [Co, Ci, 3, 3].
DVec RefConv3x3(const DVec& x, Shape4 xs, const DVec& w, int64_t co);
// dL/dx given dL/dy.
DVec RefConv3x3BackwardData(const DVec& dy, Shape4 xs, const DVec& w,
                            int64_t co);
// dL/dw given x and dL/dy.
DVec RefConv3x3BackwardWeights(const DVec& x, Shape4 xs, const DVec& dy,
                               int64_t co);

// Batch norm + ReLU + channel mask, training mode (biased batch statistics
// over b, h, w) when mean/var are outputs, or with given statistics. Channels
// c >= active output 0.
struct RefBnOutput {
  DVec y;
  DVec mean, var;  // [C]
};
RefBnOutput RefBatchNormRelu(const DVec& z, Shape4 s, const DVec& gamma,
                             const DVec& beta, double eps, int64_t active);
DVec RefBatchNormReluInference(const DVec& z, Shape4 s, const DVec& gamma,
                               const DVec& beta, const DVec& mean,
                               const DVec& var, double eps, int64_t active);
// Training-mode backward: dz, dgamma, dbeta from z and dL/dy.
struct RefBnGrads {
  DVec dz, dgamma, dbeta;
};
RefBnGrads RefBatchNormReluBackward(const DVec& z, Shape4 s, const DVec& gamma,
                                    const DVec& beta, double eps,
                                    int64_t active, const DVec& dy);

// k x k max pool, stride k (h and w divisible by k); argmax[j] is the index
// into x of output j's maximum (first in scan order).
struct RefPoolOutput {
  DVec y;
  std::vector<int64_t> argmax;
};
RefPoolOutput RefMaxPool(const DVec& x, Shape4 s, int64_t k);
DVec RefMaxPoolBackward(const DVec& dy, const std::vector<int64_t>& argmax,
                        int64_t x_size);

enum class ReferenceMode {
  kTrain,      // batch statistics (and they are returned)
  kInference,  // the given running statistics
};

struct ReferenceOutput {
  double loss = 0.0;
  DVec logits;      // [B, C], scaled by config.logit_scale
  DVec grads;       // particle-vector order (empty unless backward)
  DVec mean, var;   // batch statistics, [sum_l Co_l] (conv l at sum_{k<l})
};

// The network of resnet_layout.h for one particle. `params` is a particle
// vector; `images` [B, 3, S, S]; `labels` [B]; `active` empty (all channels)
// or 8 entries; `run_mean`/`run_var` (kInference only) in the layout of
// ReferenceOutput::mean. config.num_particles is ignored.
ReferenceOutput ReferenceResNet(const ResNetConfig& config, const DVec& params,
                                const DVec& images,
                                const std::vector<int32_t>& labels,
                                const std::vector<int32_t>& active,
                                ReferenceMode mode, bool backward,
                                const DVec& run_mean = {},
                                const DVec& run_var = {});

}  // namespace es

#endif  // ES_SINGLE_INNER_CIFAR_RESNET_REFERENCE_H_
