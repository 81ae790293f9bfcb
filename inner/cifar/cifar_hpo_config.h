// cifar_hpo_config.h - configuration and hyperparameter decoding of the
// CIFAR-10 ResNet hyperparameter-optimisation problem (cifar_hpo_problem.h).
//
// Paper: Vicol, Kolter, Swersky, ICML 2023, App. C.5:
//   Fig. 23: "the global learning rate and momentum coefficient for SGDm",
//            T = 5000, K = 20.
//   Fig. 24: "24 continuous and discrete hyperparameters ... per-parameter-
//            block learning rates and momentum coefficients, as well as the
//            number of channels per convolutional layer", T = 2000, K = 10.
//   Both: "a 1.6M parameter Myrtle.ai ResNet", "the meta-objective is the
//   sum of validation losses over the inner problem".
// The paper does not list the 24. Our reading (docs/cifar_notes.md): the
// network has 9 parameter blocks (each of the 8 conv layers with its batch
// norm, and the final linear layer), each with a learning rate and a
// momentum (18), plus 6 channel counts: one per conv layer, except that the
// two layers whose outputs the residual connections add (layer1 and res1b;
// layer3 and res3b) must share one, leaving 8 - 2 = 6. 18 + 6 = 24.
//
// Transforms (App. C, as for the MLP problems, and the PES code's
// hparam_utils.py): learning rate = exp(theta), momentum = sigmoid(theta),
// channel fraction = sigmoid(theta); channels k = round(fraction * max)
// clamped to [max(1, round(min_channel_fraction * max)), max], realised by
// nested dropout over channels (channels >= k output 0).
//
// theta layout:
//   kGlobal (Fig. 23)   P = 2: [log_lr, logit_mom]
//   kPerBlock (Fig. 24) P = 24: [log_lr_<block> x 9, logit_mom_<block> x 9,
//                                logit_width_<group> x 6]
//     blocks: prep, layer1, res1a, res1b, layer2, layer3, res3a, res3b, fc
//     width groups: prep, layer1 (+ res1b), res1a, layer2, layer3 (+ res3b),
//                   res3a
//
// Usage:
//   CifarHpoConfig config = CifarHpoConfig::Fig24();
//   config.widths = kMyrtleSmall;             // a narrower network
//   if (auto s = config.Validate(); !s.ok()) return s;
//   CifarHyperparameters h = DecodeCifarTheta(config, theta);
#ifndef ES_SINGLE_INNER_CIFAR_CIFAR_HPO_CONFIG_H_
#define ES_SINGLE_INNER_CIFAR_CIFAR_HPO_CONFIG_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <Eigen/Dense>

#include "absl/status/status.h"
#include "inner/cifar/resnet_layout.h"

namespace es {

inline constexpr int kCifarWidthGroups = 6;
// Width group of each conv layer (see above).
inline constexpr std::array<int, kResNetConvLayers> kCifarWidthGroupOf = {
    0, 1, 2, 1, 3, 4, 5, 4};

struct CifarHpoConfig {
  enum class Parametrization { kGlobal, kPerBlock };
  enum class Objective {
    // L_t = CE(w_{t+1}; validation minibatch t) after the update, batch
    // norm in inference mode with the running statistics (the paper's
    // "sum of validation losses"; what the PES code's hyperopt.py computes
    // for objective val_sum_loss). One extra forward pass per step.
    kSumValidationLoss,
    // L_t = CE(w_t; training minibatch t), the training-mode loss of the
    // step's own minibatch before its update (free: no extra pass).
    kSumTrainLoss,
  };

  std::array<int64_t, 4> widths = kMyrtleMed;  // the paper's 1.6M network
  int64_t image_size = 32;
  int64_t num_classes = 10;
  // B. The paper does not give it; the PES code's default (batch_size and
  // objective_batch_size) is 100. Training and validation minibatches both
  // have B examples, drawn with replacement.
  int64_t batch_size = 100;
  int64_t horizon = 5000;  // T
  Parametrization parametrization = Parametrization::kGlobal;
  Objective objective = Objective::kSumValidationLoss;
  // Running statistics: EMA with this decay and zero-debiasing (Haiku's
  // BatchNorm with decay_rate 0.9, as in the PES code).
  double bn_momentum = 0.9;
  double min_channel_fraction = 0.1;  // kPerBlock: at least 10% of channels
  BatchNormImpl batch_norm = BatchNormImpl::kDeterministic;
  // Memory limit of one ParticleStates (its kernels and buffers, as
  // CifarHpoProblem::EstimateStateBytes estimates them before allocating):
  // NewStates and Unroll fail with ResourceExhausted instead of exceeding
  // it. 0 = the machine's physical memory.
  int64_t max_state_bytes = 0;

  // Says which value is wrong and what is allowed.
  absl::Status Validate() const;
  // The shape of the kernel for n particles.
  ResNetConfig KernelConfig(int64_t n, InputMode mode) const;

  // Fig. 23: global LR and momentum, T = 5000 (K = 20 is the estimator's).
  static CifarHpoConfig Fig23();
  // Fig. 24: 24 hyperparameters, T = 2000 (K = 10).
  static CifarHpoConfig Fig24();
};

// The hyperparameters one theta row stands for.
struct CifarHyperparameters {
  std::array<double, kResNetParamBlocks> learning_rate{};
  std::array<double, kResNetParamBlocks> momentum{};
  std::array<int32_t, kResNetConvLayers> active_channels{};
};

int CifarThetaDim(const CifarHpoConfig& config);
// "log_lr", "logit_mom" (kGlobal) or "log_lr_prep", ..., "logit_mom_fc",
// "logit_width_prep", ..., "logit_width_res3a" (kPerBlock).
std::vector<std::string> CifarThetaNames(const CifarHpoConfig& config);
// theta.size() must be CifarThetaDim(config) (checked). Non-finite width
// logits use all channels; non-finite rates stay non-finite (the particle
// diverges and reports a non-finite loss).
CifarHyperparameters DecodeCifarTheta(const CifarHpoConfig& config,
                                      const double* theta);
// Random initial theta (App. C / the PES code's meta_opt_init_range): log
// LR uniform in (log 1e-4, log 1e-2), momentum logit uniform in (logit 0.01,
// logit 0.9), width logit uniform in (logit 0.2, logit 0.8); keyed by
// (seed, index) on Stream::kUser.
Eigen::VectorXd SampleCifarTheta(const CifarHpoConfig& config, uint64_t seed,
                                 uint64_t index);

}  // namespace es

#endif  // ES_SINGLE_INNER_CIFAR_CIFAR_HPO_CONFIG_H_
