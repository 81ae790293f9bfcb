#include "estimators/gradient/uoro.h"

#include <array>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "estimators/philox.h"

namespace es {

absl::Status UoroOptions::Validate() const {
  if (truncation < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "uoro: truncation length K must be >= 1, got ", truncation));
  }
  if (!(epsilon > 0.0) || !std::isfinite(epsilon)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "uoro: epsilon must be finite and > 0, got ", epsilon));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Uoro>> Uoro::Create(
    const DifferentiableProblem* problem, const UoroOptions& options) {
  if (auto s = options.Validate(); !s.ok()) return s;
  if (auto s = ValidateTrajectorySetup("uoro", problem, options.truncation);
      !s.ok()) {
    return s;
  }
  return std::unique_ptr<Uoro>(new Uoro(problem, options));
}

Uoro::Uoro(const DifferentiableProblem* problem, const UoroOptions& options)
    : TrajectoryEstimator(problem, options.truncation, options.seed),
      epsilon_(options.epsilon) {
  s_tilde_ = Eigen::VectorXd::Zero(state_dim());
  theta_tilde_ = Eigen::VectorXd::Zero(theta_dim());
  gradient_ = Eigen::VectorXd::Zero(theta_dim());
  nu_.resize(state_dim());
  a_.resize(state_dim());
  b_.resize(theta_dim());
}

void Uoro::StartEpisode() {
  s_tilde_.setZero();
  theta_tilde_.setZero();
}

void Uoro::ObserveStep(const StepDerivatives& d, int64_t /*step*/) {
  const RandomKey key{seed(), Stream::kDirection};
  const int S = state_dim();
  std::array<uint32_t, 4> block{};
  for (int i = 0; i < S; ++i) {
    if (i % 128 == 0) block = RandomBlock(key, draws_, 0, i / 128);
    const int bit = i % 128;
    nu_[i] = ((block[bit / 32] >> (bit % 32)) & 1u) ? 1.0 : -1.0;
  }
  ++draws_;
  a_.noalias() = d.dstate_dstate * s_tilde_;
  b_.noalias() = d.dstate_dtheta.transpose() * nu_;
  const double rho0 =
      std::sqrt((theta_tilde_.norm() + epsilon_) / (a_.norm() + epsilon_));
  const double rho1 =
      std::sqrt((b_.norm() + epsilon_) / (nu_.norm() + epsilon_));
  s_tilde_ = rho0 * a_ + rho1 * nu_;
  theta_tilde_ = theta_tilde_ / rho0 + b_ / rho1;
  gradient_ += d.dloss_dstate.dot(s_tilde_) * theta_tilde_;
  gradient_ += d.dloss_dtheta;
}

}  // namespace es
