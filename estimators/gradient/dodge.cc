#include "estimators/gradient/dodge.h"

#include "absl/strings/str_cat.h"

namespace es {

absl::Status DodgeOptions::Validate() const {
  if (truncation < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "dodge: truncation length K must be >= 1, got ", truncation));
  }
  if (num_directions < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "dodge: number of directions D must be >= 1, got ", num_directions));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Dodge>> Dodge::Create(
    const DifferentiableProblem* problem, const DodgeOptions& options) {
  if (auto s = options.Validate(); !s.ok()) return s;
  if (auto s = ValidateTrajectorySetup("dodge", problem, options.truncation);
      !s.ok()) {
    return s;
  }
  return std::unique_ptr<Dodge>(new Dodge(problem, options));
}

Dodge::Dodge(const DifferentiableProblem* problem, const DodgeOptions& options)
    : TrajectoryEstimator(problem, options.truncation, options.seed),
      options_(options) {
  const int D = options_.num_directions;
  directions_ = Eigen::MatrixXd::Zero(theta_dim(), D);
  carry_ = Eigen::MatrixXd::Zero(state_dim(), D);
  scratch_.resize(state_dim(), D);
  directional_ = Eigen::VectorXd::Zero(D);
}

void Dodge::StartEpisode() {
  const int P = theta_dim();
  for (int k = 0; k < options_.num_directions; ++k) {
    if (options_.direction_provider) {
      options_.direction_provider(episode(), k, directions_.col(k));
    } else {
      StandardNormals(RandomKey{seed(), options_.direction_stream},
                      static_cast<uint64_t>(episode()),
                      static_cast<uint32_t>(k), P, directions_.col(k).data());
    }
  }
  carry_.setZero();
}

void Dodge::ObserveStep(const StepDerivatives& d, int64_t /*step*/) {
  scratch_.noalias() = d.dstate_dstate * carry_;
  scratch_.noalias() += d.dstate_dtheta * directions_;
  carry_.swap(scratch_);
  directional_.noalias() += carry_.transpose() * d.dloss_dstate;
  directional_.noalias() += directions_.transpose() * d.dloss_dtheta;
}

void Dodge::FinishUnroll(Eigen::VectorXd* gradient) {
  gradient->noalias() = directions_ * directional_;
  *gradient /= static_cast<double>(options_.num_directions);
}

}  // namespace es
