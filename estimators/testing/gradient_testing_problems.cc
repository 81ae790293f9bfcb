#include "estimators/testing/gradient_testing_problems.h"

#include <cmath>

namespace es {
namespace test {

TanhRnn::TanhRnn(int64_t horizon) : horizon_(horizon) {
  w_.resize(3, 3);
  w_ << 0.5, -0.3, 0.2,  //
      0.1, 0.4, -0.5,    //
      -0.2, 0.3, 0.6;
  b_.resize(3, 4);
  b_ << 1.0, 0.0, 0.5, -0.3,  //
      0.0, 1.0, -0.4, 0.2,    //
      0.3, -0.2, 1.0, 0.7;
  y_.resize(3);
  y_ << 0.5, -0.5, 0.25;
}

void TanhRnn::InitialState(uint64_t, Eigen::VectorXd* s0) const {
  s0->resize(3);
  (*s0) << 0.1, -0.2, 0.3;
}

void TanhRnn::Step(const Eigen::Ref<const Eigen::VectorXd>& state,
                   const Eigen::Ref<const Eigen::VectorXd>& theta,
                   int64_t step, uint64_t, StepDerivatives* out) const {
  constexpr double kLambda = 0.01;
  Eigen::Vector3d z = w_ * state + b_ * theta;
  for (int i = 0; i < 3; ++i) z[i] += 0.5 * std::sin(0.7 * step + i);
  out->state = z.array().tanh().matrix();
  const Eigen::Vector3d d = (1.0 - out->state.array().square()).matrix();
  out->dstate_dstate = d.asDiagonal() * w_;
  out->dstate_dtheta = d.asDiagonal() * b_;
  out->dloss_dstate = out->state - y_;
  out->dloss_dtheta = kLambda * theta;
  out->loss = 0.5 * out->dloss_dstate.squaredNorm() +
              0.5 * kLambda * theta.squaredNorm();
}

double FullUnrollLoss(const DifferentiableProblem& problem,
                      const Eigen::VectorXd& theta, int64_t length,
                      uint64_t key) {
  Eigen::VectorXd s, next(problem.state_dim());
  problem.InitialState(key, &s);
  double total = 0.0;
  for (int64_t t = 0; t < length; ++t) {
    total += problem.Advance(s, theta, t, key, next);
    s.swap(next);
  }
  return total;
}

Eigen::VectorXd FiniteDifferenceGradient(const DifferentiableProblem& problem,
                                         const Eigen::VectorXd& theta,
                                         int64_t length, double h,
                                         uint64_t key) {
  Eigen::VectorXd g(theta.size());
  for (int i = 0; i < theta.size(); ++i) {
    Eigen::VectorXd plus = theta, minus = theta;
    plus[i] += h;
    minus[i] -= h;
    g[i] = (FullUnrollLoss(problem, plus, length, key) -
            FullUnrollLoss(problem, minus, length, key)) /
           (2.0 * h);
  }
  return g;
}

}  // namespace test
}  // namespace es
