// jacobian_check.h - central finite-difference checks of every derivative a
// DifferentiableProblem::Step returns (testonly helper for the inner/diff
// tests).
//
// For one (state, theta, step) it compares
//   dstate_dstate, dstate_dtheta  with  (s_t(x + h e_j) - s_t(x - h e_j)) / 2h
//   dloss_dstate                  with  (L(s_t + h e_j) - L(s_t - h e_j)) / 2h
//   dloss_dtheta                  with  the same in theta, s_t held fixed
// and checks that Advance reproduces Step's state and loss.
// The loss of a fixed state is not part of the interface, so dL/ds_t and
// dL/dtheta are checked through a caller-provided `loss_of_state(s, theta)`.
#ifndef ES_SINGLE_INNER_DIFF_JACOBIAN_CHECK_H_
#define ES_SINGLE_INNER_DIFF_JACOBIAN_CHECK_H_

#include <functional>

#include <Eigen/Dense>

#include "estimators/gradient/differentiable_problem.h"
#include "gtest/gtest.h"

namespace es {
namespace test {

using LossOfState = std::function<double(const Eigen::VectorXd& state,
                                         const Eigen::VectorXd& theta)>;

// Runs the checks with ADD_FAILURE on mismatch; tolerance is
// rtol * max(1, |entry|) per entry.
void ExpectStepMatchesFiniteDifferences(const DifferentiableProblem& problem,
                                        const Eigen::VectorXd& state,
                                        const Eigen::VectorXd& theta,
                                        int64_t step,
                                        const LossOfState& loss_of_state,
                                        double h, double rtol);

}  // namespace test
}  // namespace es

#endif  // ES_SINGLE_INNER_DIFF_JACOBIAN_CHECK_H_
