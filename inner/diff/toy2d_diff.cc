#include "inner/diff/toy2d_diff.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace es {
namespace {

const double kSqrt5 = std::sqrt(5.0);

double Sign(double v) { return (v > 0.0) - (v < 0.0); }

}  // namespace

double Toy2dLoss(double x0, double x1) {
  const double s = std::sin(x1);
  return std::sqrt(x0 * x0 + 5.0) - kSqrt5 + s * s * std::exp(-5.0 * x0 * x0) +
         0.25 * std::abs(x1 - 100.0);
}

Eigen::Vector2d Toy2dGradient(double x0, double x1) {
  const double e = std::exp(-5.0 * x0 * x0);
  const double s = std::sin(x1);
  return {x0 / std::sqrt(x0 * x0 + 5.0) - 10.0 * x0 * s * s * e,
          std::sin(2.0 * x1) * e + 0.25 * Sign(x1 - 100.0)};
}

Eigen::Matrix2d Toy2dHessian(double x0, double x1) {
  const double e = std::exp(-5.0 * x0 * x0);
  const double s = std::sin(x1);
  const double r = x0 * x0 + 5.0;
  Eigen::Matrix2d h;
  h(0, 0) = 5.0 / (r * std::sqrt(r)) + (100.0 * x0 * x0 - 10.0) * s * s * e;
  h(0, 1) = h(1, 0) = -10.0 * x0 * std::sin(2.0 * x1) * e;
  h(1, 1) = 2.0 * std::cos(2.0 * x1) * e;
  return h;
}

absl::Status Toy2dOptions::Validate() const {
  if (horizon < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "toy2d: horizon T must be >= 1 (the task is finite), got ", horizon));
  }
  if (!std::isfinite(x0_init) || !std::isfinite(x1_init)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "toy2d: initial point must be finite, got (", x0_init, ", ", x1_init,
        ")"));
  }
  return absl::OkStatus();
}

Toy2dDiff::Toy2dDiff() : Toy2dDiff(Toy2dOptions{}) {}

Toy2dDiff::Toy2dDiff(const Toy2dOptions& options) : options_(options) {}

absl::StatusOr<std::unique_ptr<Toy2dDiff>> Toy2dDiff::Create(
    const Toy2dOptions& options) {
  if (auto s = options.Validate(); !s.ok()) return s;
  return std::unique_ptr<Toy2dDiff>(new Toy2dDiff(options));
}

void Toy2dDiff::InitialState(uint64_t /*episode_key*/,
                             Eigen::VectorXd* s0) const {
  s0->resize(2);
  (*s0) << options_.x0_init, options_.x1_init;
}

double Toy2dDiff::Advance(const Eigen::Ref<const Eigen::VectorXd>& state,
                          const Eigen::Ref<const Eigen::VectorXd>& theta,
                          int64_t step, uint64_t /*episode_key*/,
                          Eigen::Ref<Eigen::VectorXd> next) const {
  const double frac = static_cast<double>(step) / options_.horizon;
  const double lr =
      (1.0 - frac) * std::exp(theta[0]) + frac * std::exp(theta[1]);
  const Eigen::Vector2d g = Toy2dGradient(state[0], state[1]);
  next[0] = state[0] - lr * g[0];
  next[1] = state[1] - lr * g[1];
  return Toy2dLoss(next[0], next[1]);
}

void Toy2dDiff::Step(const Eigen::Ref<const Eigen::VectorXd>& state,
                     const Eigen::Ref<const Eigen::VectorXd>& theta,
                     int64_t step, uint64_t /*episode_key*/,
                     StepDerivatives* out) const {
  const double frac = static_cast<double>(step) / options_.horizon;
  const double w0 = (1.0 - frac) * std::exp(theta[0]);  // d lr / d theta0
  const double w1 = frac * std::exp(theta[1]);          // d lr / d theta1
  const double lr = w0 + w1;
  const Eigen::Vector2d g = Toy2dGradient(state[0], state[1]);
  out->state[0] = state[0] - lr * g[0];
  out->state[1] = state[1] - lr * g[1];
  out->loss = Toy2dLoss(out->state[0], out->state[1]);
  // Element-wise writes: tiny fixed-size into dynamic-size assignments make
  // gcc 12 warn (-Warray-bounds) about Eigen's unreachable 8-wide path.
  const Eigen::Matrix2d h = Toy2dHessian(state[0], state[1]);
  const Eigen::Vector2d g_next = Toy2dGradient(out->state[0], out->state[1]);
  for (int i = 0; i < 2; ++i) {
    for (int j = 0; j < 2; ++j) {
      out->dstate_dstate(i, j) = (i == j ? 1.0 : 0.0) - lr * h(i, j);
    }
    out->dstate_dtheta(i, 0) = -w0 * g[i];
    out->dstate_dtheta(i, 1) = -w1 * g[i];
    out->dloss_dstate[i] = g_next[i];
  }
  out->dloss_dtheta.setZero();
}

double Toy2dDiff::MetaLoss(const Eigen::Vector2d& theta) const {
  Eigen::VectorXd s, next(2);
  InitialState(0, &s);
  double total = 0.0;
  for (int64_t t = 0; t < options_.horizon; ++t) {
    total += Advance(s, theta, t, 0, next);
    s.swap(next);
  }
  return total;
}

}  // namespace es
