// influence_balancing_diff.h - the influence balancing task (Tallec & Ollivier
// 2017a; paper Sec. 4.1 eq. 5, App. C eqs. 7-8) as a DifferentiableProblem
// (estimators/gradient/differentiable_problem.h), for the gradient-based
// baselines of Fig. 5a (TBPTT, RTRL, UORO).
//
// A linear dynamical system with a scalar outer parameter theta (P = 1):
//
//   s_t = A s_{t-1} + theta * b,     b = (+1 x p, -1 x (n - p))
//   A[i][i] = 0.5,  A[i][i+1] = 0.5,  0 elsewhere            (n x n)
//   L_t = 0.5 (s_t[0] - 1)^2        (loss of the state AFTER the update)
//   s_0 = (1, ..., 1),   never-ending (T = kNeverEnding) by default.
//
// The p positive copies (indices 0..p-1) reach s[0] within p steps, the
// n - p negative copies only later, so the short-term and the long-term
// effect of theta on s[0] have opposite signs and truncated methods (TBPTT
// with small K) move theta the wrong way (Fig. 5a). In the steady state
// s[0] = 2 (2p - n) theta, so for the paper's n = 23, p = 10 (theta_0 = 0.5)
// the long-run optimum is theta = -1/6.
//
// Derivatives (all exact; the system is linear):
//   d s_t / d s_{t-1} = A,  d s_t / d theta = b,
//   d L_t / d s_t = (s_t[0] - 1) e_0,  d L_t / d theta = 0.
//
// An independent implementation of the same maths as the batched ES problem
// in inner/influence_balancing.h (written separately on purpose, so a
// consistency test between the two checks both).
//
// Usage:
//   InfluenceBalancingDiff problem;               // n = 23, p = 10
//   auto est = MakeGradientEstimator(&problem, {.method = "rtrl"});
#ifndef ES_SINGLE_INNER_DIFF_INFLUENCE_BALANCING_DIFF_H_
#define ES_SINGLE_INNER_DIFF_INFLUENCE_BALANCING_DIFF_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "estimators/gradient/differentiable_problem.h"

namespace es {

struct InfluenceBalancingOptions {
  int state_dim = 23;             // n
  int num_positive = 10;          // p, copies of +theta (indices 0..p-1)
  int64_t horizon = kNeverEnding; // T; a finite value makes episodes reset

  absl::Status Validate() const;
};

class InfluenceBalancingDiff : public DifferentiableProblem {
 public:
  // Paper defaults (n = 23, p = 10, never-ending).
  InfluenceBalancingDiff();
  static absl::StatusOr<std::unique_ptr<InfluenceBalancingDiff>> Create(
      const InfluenceBalancingOptions& options);

  std::string name() const override { return "influence_balancing"; }
  int state_dim() const override { return options_.state_dim; }
  int theta_dim() const override { return 1; }
  int64_t horizon() const override { return options_.horizon; }

  void InitialState(uint64_t episode_key, Eigen::VectorXd* s0) const override;
  void Step(const Eigen::Ref<const Eigen::VectorXd>& state,
            const Eigen::Ref<const Eigen::VectorXd>& theta, int64_t step,
            uint64_t episode_key, StepDerivatives* out) const override;
  double Advance(const Eigen::Ref<const Eigen::VectorXd>& state,
                 const Eigen::Ref<const Eigen::VectorXd>& theta, int64_t step,
                 uint64_t episode_key,
                 Eigen::Ref<Eigen::VectorXd> next) const override;

 private:
  explicit InfluenceBalancingDiff(const InfluenceBalancingOptions& options);

  InfluenceBalancingOptions options_;
  Eigen::MatrixXd a_;  // A (n x n)
  Eigen::VectorXd b_;  // sign pattern (n)
};

}  // namespace es

#endif  // ES_SINGLE_INNER_DIFF_INFLUENCE_BALANCING_DIFF_H_
