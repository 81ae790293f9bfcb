// toy2d_diff.h - the toy 2D regression task (Vicol et al. 2021; paper App. C
// eq. 9, Fig. 15, and the JAX reference in App. H, Listing 1) as a
// DifferentiableProblem (estimators/gradient/differentiable_problem.h), for
// the gradient-based baselines of Fig. 15 and the DODGE comparison of
// Fig. 25.
//
// Inner problem: gradient descent on
//
//   f(x0, x1) = sqrt(x0^2 + 5) - sqrt(5) + sin^2(x1) exp(-5 x0^2)
//               + 0.25 |x1 - 100|
//
// with a linearly interpolated learning-rate schedule (theta = (log initial
// LR, log final LR), P = 2):
//
//   x_0 = (1, 1),   T = 100 (default)
//   alpha_t = (1 - t/T) e^theta0 + (t/T) e^theta1   (t = steps taken so far)
//   x_{t+1} = x_t - alpha_t grad f(x_t)
//   L_{t+1} = f(x_{t+1})                             (loss after the update)
//
// exactly as Listing 1's `update` (t_curr is the counter before the update).
// The many local minima of sin^2 make the meta-loss sum_t L_t chaotic in
// theta.
//
// Derivatives (by hand; checked against central differences in the test):
//   grad f = ( x0 / sqrt(x0^2+5) - 10 x0 sin^2(x1) e,
//              sin(2 x1) e + 0.25 sign(x1 - 100) ),     e = exp(-5 x0^2)
//   H f    = [ 5 (x0^2+5)^(-3/2) + (100 x0^2 - 10) sin^2(x1) e,  -10 x0 sin(2 x1) e ]
//            [ -10 x0 sin(2 x1) e,                              2 cos(2 x1) e     ]
//   (the |x1 - 100| kink contributes sign(0) = 0 and no curvature, as JAX's
//   derivative of abs does)
//   d x_{t+1} / d x_t   = I - alpha_t H f(x_t)
//   d x_{t+1} / d theta = -grad f(x_t) [ (1 - t/T) e^theta0,  (t/T) e^theta1 ]
//   d L / d x_{t+1}     = grad f(x_{t+1}),   d L / d theta = 0.
//
// An independent implementation of the same maths as the batched ES problem
// in inner/toy2d.h.
//
// Usage:
//   Toy2dDiff problem;                           // T = 100
//   double meta_loss = problem.MetaLoss(theta);
#ifndef ES_SINGLE_INNER_DIFF_TOY2D_DIFF_H_
#define ES_SINGLE_INNER_DIFF_TOY2D_DIFF_H_

#include <cstdint>
#include <memory>
#include <string>

#include <Eigen/Dense>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "estimators/gradient/differentiable_problem.h"

namespace es {

// f, its gradient and Hessian (exposed for tests and for the ES adapter).
double Toy2dLoss(double x0, double x1);
Eigen::Vector2d Toy2dGradient(double x0, double x1);
Eigen::Matrix2d Toy2dHessian(double x0, double x1);

struct Toy2dOptions {
  int64_t horizon = 100;  // T
  double x0_init = 1.0;   // x_0 = (x0_init, x1_init)
  double x1_init = 1.0;

  absl::Status Validate() const;
};

class Toy2dDiff : public DifferentiableProblem {
 public:
  Toy2dDiff();  // paper defaults: T = 100, x_0 = (1, 1)
  static absl::StatusOr<std::unique_ptr<Toy2dDiff>> Create(
      const Toy2dOptions& options);

  std::string name() const override { return "toy2d"; }
  int state_dim() const override { return 2; }
  int theta_dim() const override { return 2; }
  int64_t horizon() const override { return options_.horizon; }

  void InitialState(uint64_t episode_key, Eigen::VectorXd* s0) const override;
  void Step(const Eigen::Ref<const Eigen::VectorXd>& state,
            const Eigen::Ref<const Eigen::VectorXd>& theta, int64_t step,
            uint64_t episode_key, StepDerivatives* out) const override;
  double Advance(const Eigen::Ref<const Eigen::VectorXd>& state,
                 const Eigen::Ref<const Eigen::VectorXd>& theta, int64_t step,
                 uint64_t episode_key,
                 Eigen::Ref<Eigen::VectorXd> next) const override;

  // The full-unroll meta-loss sum_{t=1..T} L_t at theta (value only).
  double MetaLoss(const Eigen::Vector2d& theta) const;

 private:
  explicit Toy2dDiff(const Toy2dOptions& options);
  Toy2dOptions options_;
};

}  // namespace es

#endif  // ES_SINGLE_INNER_DIFF_TOY2D_DIFF_H_
