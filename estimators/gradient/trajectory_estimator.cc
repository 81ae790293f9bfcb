#include "estimators/gradient/trajectory_estimator.h"

#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "estimators/philox.h"

namespace es {

absl::Status ValidateTrajectorySetup(const std::string& method,
                                     const DifferentiableProblem* problem,
                                     int truncation) {
  if (problem == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(method, ": problem is null"));
  }
  if (problem->state_dim() < 1 || problem->theta_dim() < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        method, ": problem '", problem->name(), "' has state dimension S = ",
        problem->state_dim(), " and theta dimension P = ",
        problem->theta_dim(), "; both must be >= 1"));
  }
  if (truncation < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        method, ": truncation length K must be >= 1, got ", truncation));
  }
  const int64_t T = problem->horizon();
  if (T != kNeverEnding && (T < 1 || T % truncation != 0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        method, ": truncation length K = ", truncation,
        " must divide the horizon T = ", T, " of problem '", problem->name(),
        "'"));
  }
  return absl::OkStatus();
}

TrajectoryEstimator::TrajectoryEstimator(const DifferentiableProblem* problem,
                                         int truncation, uint64_t seed)
    : problem_(problem),
      truncation_(truncation),
      seed_(seed),
      state_dim_(problem->state_dim()),
      theta_dim_(problem->theta_dim()),
      horizon_(problem->horizon()) {
  derivatives_.Resize(state_dim_, theta_dim_);
}

void TrajectoryEstimator::ResetTrajectory() {
  ++episode_;
  episode_key_ = MixKey(seed_, static_cast<uint64_t>(episode_));
  problem_->InitialState(episode_key_, &state_);
  t_ = 0;
  needs_reset_ = false;
  StartEpisode();
}

absl::StatusOr<Estimate> TrajectoryEstimator::Step(
    const Eigen::VectorXd& theta) {
  if (auto s = ValidateTheta(theta, theta_dim_); !s.ok()) return s;
  Estimate est;
  if (needs_reset_ || (horizon_ != kNeverEnding && t_ >= horizon_)) {
    ResetTrajectory();
    est.episodes_started = 1;
  }
  BeginUnroll();
  bool finite = true;
  double loss = 0.0;
  for (int k = 0; k < truncation_; ++k) {
    problem_->Step(state_, theta, t_, episode_key_, &derivatives_);
    ++est.particle_steps;
    if (!derivatives_.AllFinite()) {
      finite = false;
      break;
    }
    ObserveStep(derivatives_, t_);
    state_.swap(derivatives_.state);
    loss += derivatives_.loss;
    ++t_;
  }
  if (finite) {
    FinishUnroll(&est.gradient);
    finite = est.gradient.size() == theta_dim_ && est.gradient.allFinite() &&
             std::isfinite(loss);
  }
  if (finite) {
    est.mean_loss = loss;
  } else {
    est.gradient = Eigen::VectorXd::Zero(theta_dim_);
    est.mean_loss = std::numeric_limits<double>::quiet_NaN();
    est.dropped_pairs = 1;
    ++total_dropped_;
    needs_reset_ = true;
  }
  return est;
}

absl::Status TrajectoryEstimator::Save(StateWriter* out) const {
  out->Tag("trajectory");
  out->Tag(name());
  out->Matrix(state_);
  out->Pod(t_);
  out->Pod(episode_);
  out->Pod(episode_key_);
  out->Pod(needs_reset_);
  out->Pod(total_dropped_);
  SaveCarry(out);
  return absl::OkStatus();
}

absl::Status TrajectoryEstimator::Load(StateReader* in) {
  if (auto s = in->Tag("trajectory"); !s.ok()) return s;
  if (auto s = in->Tag(name()); !s.ok()) return s;
  state_.resize(state_dim_);
  if (auto s = in->Matrix(&state_); !s.ok()) return s;
  if (auto s = in->Pod(&t_); !s.ok()) return s;
  if (auto s = in->Pod(&episode_); !s.ok()) return s;
  if (auto s = in->Pod(&episode_key_); !s.ok()) return s;
  if (auto s = in->Pod(&needs_reset_); !s.ok()) return s;
  if (auto s = in->Pod(&total_dropped_); !s.ok()) return s;
  return LoadCarry(in);
}

}  // namespace es
