// testing_problems.h - small DifferentiableProblems for the estimator tests
// (testonly). Unlike influence balancing and toy 2D, the tanh RNN has a loss
// that depends on theta directly (dL_t/dtheta != 0) and a time-dependent
// input, so the tests exercise every term of the estimators' recursions.
//
// TanhRnn (S = 3, P = 4, T = 20 by default):
//   s_0 = (0.1, -0.2, 0.3)
//   s_t = tanh(W s_{t-1} + B theta + c_t),   c_t[i] = 0.5 sin(0.7 (t-1) + i)
//   L_t = 0.5 |s_t - y|^2 + 0.5 lambda |theta|^2,   y = (0.5, -0.5, 0.25),
//   lambda = 0.01
// with fixed W (S x S, spectral radius < 1) and B (S x P).
//   F_s = D W,  F_th = D B,  D = diag(1 - s_t^2);
//   dL/ds_t = s_t - y,  dL/dtheta = lambda theta.
#ifndef ES_SINGLE_ESTIMATORS_TESTING_GRADIENT_TESTING_PROBLEMS_H_
#define ES_SINGLE_ESTIMATORS_TESTING_GRADIENT_TESTING_PROBLEMS_H_

#include <string>

#include "estimators/gradient/differentiable_problem.h"

namespace es {
namespace test {

class TanhRnn : public DifferentiableProblem {
 public:
  explicit TanhRnn(int64_t horizon = 20);

  std::string name() const override { return "tanh_rnn"; }
  int state_dim() const override { return 3; }
  int theta_dim() const override { return 4; }
  int64_t horizon() const override { return horizon_; }

  void InitialState(uint64_t episode_key, Eigen::VectorXd* s0) const override;
  void Step(const Eigen::Ref<const Eigen::VectorXd>& state,
            const Eigen::Ref<const Eigen::VectorXd>& theta, int64_t step,
            uint64_t episode_key, StepDerivatives* out) const override;

 private:
  int64_t horizon_;
  Eigen::MatrixXd w_, b_;
  Eigen::VectorXd y_;
};

// The full-unroll meta-loss sum_{t=1..length} L_t at theta (value only,
// Advance), from InitialState(key).
double FullUnrollLoss(const DifferentiableProblem& problem,
                      const Eigen::VectorXd& theta, int64_t length,
                      uint64_t key = 0);

// Central finite-difference gradient of FullUnrollLoss, step h per
// coordinate.
Eigen::VectorXd FiniteDifferenceGradient(const DifferentiableProblem& problem,
                                         const Eigen::VectorXd& theta,
                                         int64_t length, double h,
                                         uint64_t key = 0);

}  // namespace test
}  // namespace es

#endif  // ES_SINGLE_ESTIMATORS_TESTING_GRADIENT_TESTING_PROBLEMS_H_
