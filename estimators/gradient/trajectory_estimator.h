// trajectory_estimator.h - the shared driver of the gradient-based online
// estimators in this package (TBPTT, RTRL, UORO, DODGE): one trajectory of a
// DifferentiableProblem, advanced K steps per Step(theta), with episode
// resets, episode keys and the non-finite policy in one place.
//
// Each Step(theta):
//   1. if the trajectory is flagged for a reset, or t = T (finite horizon):
//      s <- s_0 of the next episode (key MixKey(seed, episode), episode
//      counted from 0 like the ES estimators), t <- 0, StartEpisode();
//   2. BeginUnroll(); for k = 1..K: (s_t, L_t, Jacobians) = problem.Step(
//      s_{t-1}, theta, t-1); ObserveStep(derivatives); t += 1;
//   3. FinishUnroll(&gradient).
// The K-step loss sum_k L_t is reported as Estimate::mean_loss.
//
// Non-finite policy (docs/design.md, Reliability): if a step produces any
// non-finite value (state, loss or Jacobian), or the finished gradient is
// non-finite, the unroll stops, the returned gradient is exactly zero,
// Estimate::dropped_pairs = 1 (here: one dropped unroll), mean_loss = NaN,
// and the trajectory restarts a fresh inner problem at the next Step. So a
// diverging inner problem never puts a NaN into theta.
//
// Subclasses own their carry (J, its rank-one approximation, directional
// carries, or a tape of Jacobians) and implement the four hooks.
//
// Thread safety: not thread-safe; one estimator per thread.
#ifndef ES_SINGLE_ESTIMATORS_GRADIENT_TRAJECTORY_ESTIMATOR_H_
#define ES_SINGLE_ESTIMATORS_GRADIENT_TRAJECTORY_ESTIMATOR_H_

#include <cstdint>
#include <string>

#include <Eigen/Dense>

#include "absl/status/status.h"
#include "estimators/estimator.h"
#include "estimators/gradient/differentiable_problem.h"

namespace es {

// Checks what every trajectory estimator needs of (problem, K): a non-null
// problem with S, P >= 1, K >= 1, and K dividing T for a finite horizon.
// `method` names the estimator in the message.
absl::Status ValidateTrajectorySetup(const std::string& method,
                                     const DifferentiableProblem* problem,
                                     int truncation);

class TrajectoryEstimator : public GradientEstimator {
 public:
  absl::StatusOr<Estimate> Step(const Eigen::VectorXd& theta) final;
  void RestartInnerProblems() override { needs_reset_ = true; }
  int64_t total_dropped_pairs() const override { return total_dropped_; }
  // The trajectory (state, step, episode) and the subclass's carry.
  absl::Status Save(StateWriter* out) const final;
  absl::Status Load(StateReader* in) final;

  // Inspection (tests, logging).
  int64_t step_counter() const { return t_; }
  // Index of the current inner problem (0 for the first; -1 before any Step).
  int64_t episode() const { return episode_; }
  const Eigen::VectorXd& state() const { return state_; }
  int truncation() const { return truncation_; }

 protected:
  // The problem must outlive the estimator; (problem, truncation) must have
  // passed ValidateTrajectorySetup.
  TrajectoryEstimator(const DifferentiableProblem* problem, int truncation,
                      uint64_t seed);

  // A new inner problem starts (s = s_0, t = 0, J_0 = 0): reset the carry.
  virtual void StartEpisode() = 0;
  // A K-step unroll starts: reset per-unroll accumulators.
  virtual void BeginUnroll() = 0;
  // Step t of the unroll: d holds s_t, L_t and the step's Jacobians (all
  // finite). `step` = t - 1.
  virtual void ObserveStep(const StepDerivatives& d, int64_t step) = 0;
  // Writes the unroll's gradient estimate (size P).
  virtual void FinishUnroll(Eigen::VectorXd* gradient) = 0;
  // Checkpointing of what survives between Steps (the carry: J, its
  // rank-one approximation, random-draw counters); nothing by default.
  virtual void SaveCarry(StateWriter* out) const { (void)out; }
  virtual absl::Status LoadCarry(StateReader* in) {
    (void)in;
    return absl::OkStatus();
  }

  const DifferentiableProblem* problem() const { return problem_; }
  int state_dim() const { return state_dim_; }
  int theta_dim() const { return theta_dim_; }
  uint64_t seed() const { return seed_; }

 private:
  void ResetTrajectory();

  const DifferentiableProblem* problem_;
  const int truncation_;
  const uint64_t seed_;
  const int state_dim_;
  const int theta_dim_;
  const int64_t horizon_;

  Eigen::VectorXd state_;
  StepDerivatives derivatives_;
  int64_t t_ = 0;
  int64_t episode_ = -1;
  uint64_t episode_key_ = 0;
  bool needs_reset_ = true;
  int64_t total_dropped_ = 0;
};

}  // namespace es

#endif  // ES_SINGLE_ESTIMATORS_GRADIENT_TRAJECTORY_ESTIMATOR_H_
