// mlp_hpo_codec.cc - see mlp_hpo_codec.h.
#include "inner/mlp/mlp_hpo_codec.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "estimators/check.h"
#include "estimators/philox.h"

namespace es::mlp {
namespace {

using Parametrization = MlpHpoConfig::Parametrization;

int NumLayers(const std::vector<int64_t>& layer_sizes) {
  return static_cast<int>(layer_sizes.size()) - 1;
}

// Base learning rate and decay exponent of the single-LR parametrisations
// (kLrSchedule, kGlobalLr).
void DecodeSchedule(const MlpHpoConfig& config, const double* theta,
                    double* base_lr, double* decay) {
  *base_lr = std::exp(theta[0]);
  *decay = config.parametrization == Parametrization::kLrSchedule
               ? std::exp(theta[1])
               : 0.0;
}

}  // namespace

double Sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
double Logit(double p) { return std::log(p / (1.0 - p)); }

int32_t WidthFromLogit(double logit, int64_t max_units, int64_t min_units) {
  const double f = Sigmoid(logit);
  if (!std::isfinite(f)) return static_cast<int32_t>(max_units);
  const int64_t k = std::llround(f * static_cast<double>(max_units));
  return static_cast<int32_t>(
      std::clamp<int64_t>(k, std::min(min_units, max_units), max_units));
}

int ThetaDim(const MlpHpoConfig& config,
             const std::vector<int64_t>& layer_sizes) {
  const int L = NumLayers(layer_sizes);
  switch (config.parametrization) {
    case Parametrization::kLrSchedule:
      return 2;
    case Parametrization::kGlobalLr:
      return 1;
    case Parametrization::kPerBlock:
      return 4 * L + (L - 1);
  }
  return 0;
}

std::vector<std::string> ThetaNames(const MlpHpoConfig& config,
                                    const std::vector<int64_t>& layer_sizes) {
  switch (config.parametrization) {
    case Parametrization::kLrSchedule:
      return {"log_init_lr", "log_lr_decay"};
    case Parametrization::kGlobalLr:
      return {"log_lr"};
    case Parametrization::kPerBlock:
      break;
  }
  const int L = NumLayers(layer_sizes);
  std::vector<std::string> names;
  for (const char* kind : {"log_lr", "logit_mom"}) {
    for (int l = 0; l < L; ++l) {
      names.push_back(absl::StrCat(kind, "_W", l));
      names.push_back(absl::StrCat(kind, "_b", l));
    }
  }
  for (int h = 1; h < L; ++h) names.push_back(absl::StrCat("logit_width_h", h));
  return names;
}

void DecodeRow(const MlpHpoConfig& config,
               const std::vector<int64_t>& layer_sizes, const double* theta,
               double* base_lr, double* momentum, double* decay,
               int32_t* active_units) {
  const int L = NumLayers(layer_sizes);
  const int H = L - 1;
  *decay = 0.0;
  for (int h = 0; h < H; ++h) {
    active_units[h] = static_cast<int32_t>(layer_sizes[h + 1]);
  }
  switch (config.parametrization) {
    case Parametrization::kLrSchedule:
    case Parametrization::kGlobalLr: {
      double base = 0.0;
      DecodeSchedule(config, theta, &base, decay);
      std::fill(base_lr, base_lr + 2 * L, base);
      std::fill(momentum, momentum + 2 * L, config.fixed_momentum);
      break;
    }
    case Parametrization::kPerBlock:
      for (int b = 0; b < 2 * L; ++b) {
        base_lr[b] = std::exp(theta[b]);
        momentum[b] = Sigmoid(theta[2 * L + b]);
      }
      for (int h = 0; h < H; ++h) {
        active_units[h] = WidthFromLogit(theta[4 * L + h], layer_sizes[h + 1],
                                         config.min_units);
      }
      break;
  }
}

double ScheduleFactor(double decay, double t, double q) {
  return decay == 0.0 ? 1.0 : std::pow(1.0 + t / q, -decay);
}

MlpHyperparameters Decode(const MlpHpoConfig& config,
                          const std::vector<int64_t>& layer_sizes,
                          const Eigen::VectorXd& theta, int64_t t) {
  ES_CHECK(theta.size() == ThetaDim(config, layer_sizes));
  const int L = NumLayers(layer_sizes);
  MlpHyperparameters h;
  h.learning_rate.assign(2 * L, 0.0);
  h.momentum.assign(2 * L, 0.0);
  h.active_units.assign(L - 1, 0);
  double decay = 0.0;
  DecodeRow(config, layer_sizes, theta.data(), h.learning_rate.data(),
            h.momentum.data(), &decay, h.active_units.data());
  const double factor =
      ScheduleFactor(decay, static_cast<double>(t), config.schedule_q);
  for (double& lr : h.learning_rate) lr *= factor;
  return h;
}

double LearningRate(const MlpHpoConfig& config, const Eigen::VectorXd& theta,
                    int64_t t) {
  ES_CHECK(config.parametrization != Parametrization::kPerBlock);
  double base = 0.0, decay = 0.0;
  DecodeSchedule(config, theta.data(), &base, &decay);
  return base *
         ScheduleFactor(decay, static_cast<double>(t), config.schedule_q);
}

Eigen::VectorXd LearningRateGradient(const MlpHpoConfig& config,
                                     const Eigen::VectorXd& theta, int64_t t) {
  const double alpha = LearningRate(config, theta, t);
  Eigen::VectorXd d = Eigen::VectorXd::Zero(theta.size());
  d[0] = alpha;
  if (config.parametrization == Parametrization::kLrSchedule) {
    d[1] = -alpha * std::exp(theta[1]) *
           std::log1p(static_cast<double>(t) / config.schedule_q);
  }
  return d;
}

Eigen::VectorXd SampleInitialTheta(const MlpHpoConfig& config,
                                   const std::vector<int64_t>& layer_sizes,
                                   uint64_t seed, uint64_t index) {
  const RandomKey rk{seed, Stream::kUser};
  auto uniform = [&](int coord, double lo, double hi) {
    return lo + (hi - lo) * UniformOpen(rk, index, 0, coord);
  };
  const int P = ThetaDim(config, layer_sizes);
  Eigen::VectorXd theta(P);
  const double lr_lo = std::log(1e-4), lr_hi = std::log(1e-2);
  switch (config.parametrization) {
    case Parametrization::kLrSchedule:
      theta[0] = uniform(0, lr_lo, lr_hi);
      theta[1] = uniform(1, std::log(0.1), std::log(10.0));
      break;
    case Parametrization::kGlobalLr:
      theta[0] = uniform(0, lr_lo, lr_hi);
      break;
    case Parametrization::kPerBlock: {
      const int L = NumLayers(layer_sizes);
      for (int b = 0; b < 2 * L; ++b) {
        theta[b] = uniform(b, lr_lo, lr_hi);
        theta[2 * L + b] = uniform(2 * L + b, Logit(0.01), Logit(0.9));
      }
      for (int h = 0; h + 1 < L; ++h) {
        theta[4 * L + h] = uniform(4 * L + h, Logit(0.2), Logit(0.8));
      }
      break;
    }
  }
  return theta;
}

}  // namespace es::mlp
