// cifar_hpo_config.cc - see cifar_hpo_config.h.
#include "inner/cifar/cifar_hpo_config.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "estimators/check.h"
#include "estimators/philox.h"

namespace es {
namespace {

using Parametrization = CifarHpoConfig::Parametrization;

double Sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
double Logit(double p) { return std::log(p / (1.0 - p)); }

const char* const kBlockNames[kResNetParamBlocks] = {
    "prep", "layer1", "res1a", "res1b", "layer2",
    "layer3", "res3a", "res3b", "fc"};
const char* const kGroupNames[kCifarWidthGroups] = {
    "prep", "layer1", "res1a", "layer2", "layer3", "res3a"};

}  // namespace

absl::Status CifarHpoConfig::Validate() const {
  if (horizon < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("cifar_hpo: horizon T must be >= 1, got ", horizon));
  }
  if (!(bn_momentum >= 0.0 && bn_momentum < 1.0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cifar_hpo: bn_momentum must be in [0, 1), got ", bn_momentum));
  }
  if (!(min_channel_fraction >= 0.0 && min_channel_fraction <= 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("cifar_hpo: min_channel_fraction must be in [0, 1], got ",
                     min_channel_fraction));
  }
  if (max_state_bytes < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cifar_hpo: max_state_bytes must be >= 0 (0: the machine's physical "
        "memory), got ", max_state_bytes));
  }
  return KernelConfig(1, InputMode::kShared).Validate();
}

ResNetConfig CifarHpoConfig::KernelConfig(int64_t n, InputMode mode) const {
  ResNetConfig c;
  c.widths = widths;
  c.image_size = image_size;
  c.num_classes = num_classes;
  c.num_particles = n;
  c.batch_size = batch_size;
  c.input_mode = mode;
  c.batch_norm = batch_norm;
  return c;
}

CifarHpoConfig CifarHpoConfig::Fig23() { return CifarHpoConfig(); }

CifarHpoConfig CifarHpoConfig::Fig24() {
  CifarHpoConfig c;
  c.horizon = 2000;
  c.parametrization = Parametrization::kPerBlock;
  return c;
}

int CifarThetaDim(const CifarHpoConfig& config) {
  return config.parametrization == Parametrization::kGlobal
             ? 2
             : 2 * kResNetParamBlocks + kCifarWidthGroups;
}

std::vector<std::string> CifarThetaNames(const CifarHpoConfig& config) {
  if (config.parametrization == Parametrization::kGlobal) {
    return {"log_lr", "logit_mom"};
  }
  std::vector<std::string> names;
  for (const char* kind : {"log_lr_", "logit_mom_"}) {
    for (const char* b : kBlockNames) names.push_back(absl::StrCat(kind, b));
  }
  for (const char* g : kGroupNames) {
    names.push_back(absl::StrCat("logit_width_", g));
  }
  return names;
}

CifarHyperparameters DecodeCifarTheta(const CifarHpoConfig& config,
                                      const double* theta) {
  CifarHyperparameters h;
  const ResNetConfig k = config.KernelConfig(1, InputMode::kShared);
  for (int l = 0; l < kResNetConvLayers; ++l) {
    h.active_channels[l] = static_cast<int32_t>(k.conv_out(l));
  }
  if (config.parametrization == Parametrization::kGlobal) {
    h.learning_rate.fill(std::exp(theta[0]));
    h.momentum.fill(Sigmoid(theta[1]));
    return h;
  }
  for (int b = 0; b < kResNetParamBlocks; ++b) {
    h.learning_rate[b] = std::exp(theta[b]);
    h.momentum[b] = Sigmoid(theta[kResNetParamBlocks + b]);
  }
  for (int l = 0; l < kResNetConvLayers; ++l) {
    const double f =
        Sigmoid(theta[2 * kResNetParamBlocks + kCifarWidthGroupOf[l]]);
    const int64_t max = k.conv_out(l);
    if (!std::isfinite(f)) continue;  // all channels
    const int64_t lo = std::max<int64_t>(
        1, std::llround(config.min_channel_fraction * static_cast<double>(max)));
    h.active_channels[l] = static_cast<int32_t>(std::clamp<int64_t>(
        std::llround(f * static_cast<double>(max)), std::min(lo, max), max));
  }
  return h;
}

Eigen::VectorXd SampleCifarTheta(const CifarHpoConfig& config, uint64_t seed,
                                 uint64_t index) {
  const RandomKey rk{seed, Stream::kUser};
  auto uniform = [&](int coord, double lo, double hi) {
    return lo + (hi - lo) * UniformOpen(rk, index, 0, coord);
  };
  const int P = CifarThetaDim(config);
  Eigen::VectorXd theta(P);
  const double lr_lo = std::log(1e-4), lr_hi = std::log(1e-2);
  if (config.parametrization == Parametrization::kGlobal) {
    theta[0] = uniform(0, lr_lo, lr_hi);
    theta[1] = uniform(1, Logit(0.01), Logit(0.9));
    return theta;
  }
  for (int b = 0; b < kResNetParamBlocks; ++b) {
    theta[b] = uniform(b, lr_lo, lr_hi);
    theta[kResNetParamBlocks + b] =
        uniform(kResNetParamBlocks + b, Logit(0.01), Logit(0.9));
  }
  for (int g = 0; g < kCifarWidthGroups; ++g) {
    const int c = 2 * kResNetParamBlocks + g;
    theta[c] = uniform(c, Logit(0.2), Logit(0.8));
  }
  return theta;
}

}  // namespace es
