#include "inner/diff/influence_balancing_diff.h"

#include "absl/strings/str_cat.h"

namespace es {

absl::Status InfluenceBalancingOptions::Validate() const {
  if (state_dim < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "influence balancing: state dimension n must be >= 1, got ",
        state_dim));
  }
  if (num_positive < 0 || num_positive > state_dim) {
    return absl::InvalidArgumentError(absl::StrCat(
        "influence balancing: number of positive copies p must be in [0, n = ",
        state_dim, "], got ", num_positive));
  }
  if (horizon != kNeverEnding && horizon < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "influence balancing: horizon T must be >= 1 or kNeverEnding (",
        kNeverEnding, "), got ", horizon));
  }
  return absl::OkStatus();
}

InfluenceBalancingDiff::InfluenceBalancingDiff()
    : InfluenceBalancingDiff(InfluenceBalancingOptions{}) {}

absl::StatusOr<std::unique_ptr<InfluenceBalancingDiff>>
InfluenceBalancingDiff::Create(const InfluenceBalancingOptions& options) {
  if (auto s = options.Validate(); !s.ok()) return s;
  return std::unique_ptr<InfluenceBalancingDiff>(
      new InfluenceBalancingDiff(options));
}

InfluenceBalancingDiff::InfluenceBalancingDiff(
    const InfluenceBalancingOptions& options)
    : options_(options) {
  const int n = options_.state_dim;
  a_ = Eigen::MatrixXd::Zero(n, n);
  for (int i = 0; i < n; ++i) {
    a_(i, i) = 0.5;
    if (i + 1 < n) a_(i, i + 1) = 0.5;
  }
  b_.resize(n);
  for (int i = 0; i < n; ++i) b_[i] = i < options_.num_positive ? 1.0 : -1.0;
}

void InfluenceBalancingDiff::InitialState(uint64_t /*episode_key*/,
                                          Eigen::VectorXd* s0) const {
  *s0 = Eigen::VectorXd::Ones(options_.state_dim);
}

double InfluenceBalancingDiff::Advance(
    const Eigen::Ref<const Eigen::VectorXd>& state,
    const Eigen::Ref<const Eigen::VectorXd>& theta, int64_t /*step*/,
    uint64_t /*episode_key*/, Eigen::Ref<Eigen::VectorXd> next) const {
  // A is bidiagonal: s'[i] = 0.5 s[i] + 0.5 s[i+1] + theta b[i].
  const int n = options_.state_dim;
  const double th = theta[0];
  for (int i = 0; i + 1 < n; ++i) {
    next[i] = 0.5 * state[i] + 0.5 * state[i + 1] + th * b_[i];
  }
  next[n - 1] = 0.5 * state[n - 1] + th * b_[n - 1];
  const double r = next[0] - 1.0;
  return 0.5 * r * r;
}

void InfluenceBalancingDiff::Step(
    const Eigen::Ref<const Eigen::VectorXd>& state,
    const Eigen::Ref<const Eigen::VectorXd>& theta, int64_t step,
    uint64_t episode_key, StepDerivatives* out) const {
  out->loss = Advance(state, theta, step, episode_key, out->state);
  out->dstate_dstate = a_;
  out->dstate_dtheta.col(0) = b_;
  out->dloss_dstate.setZero();
  out->dloss_dstate[0] = out->state[0] - 1.0;
  out->dloss_dtheta.setZero();
}

}  // namespace es
