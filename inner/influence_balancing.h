// influence_balancing.h - the synthetic influence-balancing task (Tallec &
// Ollivier 2017; Vicol et al. 2021; ES-Single paper Sec. 4.1, eq. 5, and
// App. C "Influence Balancing", eqs. 7-8), batched over particles.
//
// A linear dynamical system with a scalar outer parameter theta (P = 1):
//
//   s_{t+1} = A s_t + theta * b,      s_0 = (1, ..., 1)  (n = 23 entries)
//   A[i][i] = 0.5,  A[i][i+1] = 0.5,  0 elsewhere
//   b = (+1 x p, -1 x (n - p)),  p = 10 positive and 13 negative copies
//   L_t = 0.5 * (s_t[0] - 1)^2       (loss of the state after step t)
//
// The inner problem never ends (horizon() == kNeverEnding); the state is
// never reset by the estimators except when they restart it on purpose.
//
// Why truncation fails here: one step changes s[0] by +theta (b[0] = +1),
// so a short unroll says "raise theta" whenever s[0] < 1. The fixed point,
// however, is s*[n-1] = 2 b[n-1] theta, s*[i] = s*[i+1] + 2 b[i] theta, i.e.
//
//   s*[0] = 2 theta * sum_i b[i] = 2 theta (p - (n - p)) = -6 theta,
//
// so the long-run per-step loss 0.5 (6 theta + 1)^2 is minimised at
// theta* = -1/6 (kLongRunOptimum). From theta_0 = 0.5 (kPaperTheta0, the
// experiment's initialisation) unbiased estimators move theta down towards
// -1/6, while truncated ones with K = 1 move it up, away from the optimum.
//
// Layout: structure of arrays. The batch keeps coordinate j of particle i at
// s[j * capacity + i], so one step is 23 contiguous, vectorisable passes over
// the particle range. Unroll allocates nothing. The episode key is ignored
// (the task is deterministic: every episode starts at s_0 = ones).
//
// Thread safety: Unroll/Reset on disjoint particle ranges may run
// concurrently; the problem object itself is immutable.
//
// Usage:
//   es::InfluenceBalancing problem;
//   auto est = es::MakeEstimator(&problem, spec);         // any ES method
//   double l = *problem.Evaluate(Eigen::VectorXd::Constant(1, 0.5), 1000, 0);
//
// Single-state math for derivative-based baselines (RTRL, UORO, TBPTT):
//   double s[kStateDim], next[kStateDim];
//   InfluenceBalancing::InitialState(s);
//   InfluenceBalancing::StepState(s, theta, next);         // s_{t+1}
//   double l = InfluenceBalancing::StepLoss(next);         // L_{t+1}
//   // d s_{t+1} / d s_t = TransitionMatrix(), d s_{t+1} / d theta = b
//   // (InputVector()), d L / d s = (s[0] - 1) e_0 (LossStateGradient).
#ifndef ES_SINGLE_INNER_INFLUENCE_BALANCING_H_
#define ES_SINGLE_INNER_INFLUENCE_BALANCING_H_

#include <cstdint>
#include <memory>
#include <string>

#include <Eigen/Dense>

#include "estimators/unrolled_problem.h"

namespace es {

class InfluenceBalancing : public UnrolledProblem {
 public:
  // n, the state dimension (App. C).
  static constexpr int kStateDim = 23;
  // p, the number of positive copies of theta in b (the rest are negative).
  static constexpr int kNumPositive = 10;
  // A's diagonal and superdiagonal value.
  static constexpr double kDecay = 0.5;
  // Initial state entries: s_0 = ones.
  static constexpr double kInitialValue = 1.0;
  // Target of s[0] in the loss.
  static constexpr double kTarget = 1.0;
  // theta_0 used in the paper's experiment (App. C).
  static constexpr double kPaperTheta0 = 0.5;
  // Minimiser of the long-run per-step loss: s*[0] = -6 theta = 1.
  static constexpr double kLongRunOptimum = -1.0 / 6.0;

  // b[j]: +1 for j < kNumPositive, -1 otherwise.
  static constexpr double InputSign(int j) {
    return j < kNumPositive ? 1.0 : -1.0;
  }
  // s_0 (kStateDim entries).
  static void InitialState(double* s);
  // next = A s + theta * b. `s` and `next` may alias (the update runs in
  // increasing j, reading s[j + 1] before it is overwritten).
  static void StepState(const double* s, double theta, double* next);
  // L(s) = 0.5 * (s[0] - 1)^2.
  static double StepLoss(const double* s) {
    const double d = s[0] - kTarget;
    return 0.5 * d * d;
  }
  // dL/ds = (s[0] - 1) e_0 (written to grad, kStateDim entries).
  static void LossStateGradient(const double* s, double* grad);
  // A (kStateDim x kStateDim) = d s_{t+1} / d s_t.
  static Eigen::MatrixXd TransitionMatrix();
  // b (kStateDim) = d s_{t+1} / d theta.
  static Eigen::VectorXd InputVector();
  // Long-run (fixed-point) per-step loss 0.5 (s*[0] - 1)^2 at theta, with
  // s*[0] = 2 theta sum_j b[j].
  static double LongRunStepLoss(double theta);

  InfluenceBalancing() = default;

  std::string name() const override { return "influence_balancing"; }
  int theta_dim() const override { return 1; }
  int64_t horizon() const override { return kNeverEnding; }

  double BytesPerParticle() const override { return 8.0 * kStateDim; }
  absl::StatusOr<std::unique_ptr<ParticleStates>> NewStates(
      int num_particles) const override;
  void Reset(ParticleStates* states, absl::Span<const int> particles,
             absl::Span<const uint64_t> episode_keys) const override;
  absl::Status Unroll(ParticleStates* states, int begin, int end,
                      const RowMatrixXd& thetas, const int64_t* t0,
                      int num_steps, double* losses) const override;
  absl::Status MeasureLoss(ParticleStates* states, int begin, int end,
                           const RowMatrixXd& thetas,
                           double* losses) const override;
};

}  // namespace es

#endif  // ES_SINGLE_INNER_INFLUENCE_BALANCING_H_
