#include "estimators/gradient/rtrl.h"

#include "absl/strings/str_cat.h"

namespace es {

absl::Status RtrlOptions::Validate() const {
  if (truncation < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "rtrl: truncation length K must be >= 1, got ", truncation));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Rtrl>> Rtrl::Create(
    const DifferentiableProblem* problem, const RtrlOptions& options) {
  if (auto s = options.Validate(); !s.ok()) return s;
  if (auto s = ValidateTrajectorySetup("rtrl", problem, options.truncation);
      !s.ok()) {
    return s;
  }
  return std::unique_ptr<Rtrl>(new Rtrl(problem, options));
}

Rtrl::Rtrl(const DifferentiableProblem* problem, const RtrlOptions& options)
    : TrajectoryEstimator(problem, options.truncation, /*seed=*/0) {
  jacobian_ = Eigen::MatrixXd::Zero(state_dim(), theta_dim());
  scratch_.resize(state_dim(), theta_dim());
  gradient_.resize(theta_dim());
}

void Rtrl::StartEpisode() { jacobian_.setZero(); }

void Rtrl::BeginUnroll() { gradient_.setZero(); }

void Rtrl::ObserveStep(const StepDerivatives& d, int64_t /*step*/) {
  scratch_.noalias() = d.dstate_dstate * jacobian_;
  jacobian_ = scratch_ + d.dstate_dtheta;
  gradient_.noalias() += jacobian_.transpose() * d.dloss_dstate;
  gradient_ += d.dloss_dtheta;
}

void Rtrl::FinishUnroll(Eigen::VectorXd* gradient) { *gradient = gradient_; }

}  // namespace es
