#include "estimators/gradient/tbptt.h"

#include "absl/strings/str_cat.h"

namespace es {

absl::Status TbpttOptions::Validate() const {
  if (truncation < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tbptt: truncation length K must be >= 1, got ", truncation));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Tbptt>> Tbptt::Create(
    const DifferentiableProblem* problem, const TbpttOptions& options) {
  if (auto s = options.Validate(); !s.ok()) return s;
  if (auto s = ValidateTrajectorySetup("tbptt", problem, options.truncation);
      !s.ok()) {
    return s;
  }
  return std::unique_ptr<Tbptt>(new Tbptt(problem, options));
}

Tbptt::Tbptt(const DifferentiableProblem* problem, const TbpttOptions& options)
    : TrajectoryEstimator(problem, options.truncation, /*seed=*/0) {
  const int S = state_dim(), P = theta_dim(), K = options.truncation;
  dstate_dstate_.assign(K, Eigen::MatrixXd(S, S));
  dstate_dtheta_.assign(K, Eigen::MatrixXd(S, P));
  dloss_dstate_.assign(K, Eigen::VectorXd(S));
  dloss_dtheta_.assign(K, Eigen::VectorXd(P));
  lambda_.resize(S);
  scratch_.resize(S);
}

std::string Tbptt::name() const { return absl::StrCat("tbptt_k", truncation()); }

void Tbptt::ObserveStep(const StepDerivatives& d, int64_t /*step*/) {
  dstate_dstate_[taped_] = d.dstate_dstate;
  dstate_dtheta_[taped_] = d.dstate_dtheta;
  dloss_dstate_[taped_] = d.dloss_dstate;
  dloss_dtheta_[taped_] = d.dloss_dtheta;
  ++taped_;
}

void Tbptt::FinishUnroll(Eigen::VectorXd* gradient) {
  gradient->setZero(theta_dim());
  lambda_.setZero();
  for (int k = taped_ - 1; k >= 0; --k) {
    lambda_ += dloss_dstate_[k];
    *gradient += dloss_dtheta_[k];
    gradient->noalias() += dstate_dtheta_[k].transpose() * lambda_;
    scratch_.noalias() = dstate_dstate_[k].transpose() * lambda_;
    lambda_.swap(scratch_);
  }
}

}  // namespace es
