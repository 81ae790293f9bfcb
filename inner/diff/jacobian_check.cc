#include "inner/diff/jacobian_check.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace es {
namespace test {
namespace {

void ExpectClose(const Eigen::MatrixXd& analytic, const Eigen::MatrixXd& fd,
                 double rtol, const std::string& what) {
  ASSERT_EQ(analytic.rows(), fd.rows()) << what;
  ASSERT_EQ(analytic.cols(), fd.cols()) << what;
  for (int i = 0; i < analytic.rows(); ++i) {
    for (int j = 0; j < analytic.cols(); ++j) {
      const double tol = rtol * std::max(1.0, std::abs(fd(i, j)));
      EXPECT_NEAR(analytic(i, j), fd(i, j), tol)
          << what << "(" << i << ", " << j << ")";
    }
  }
}

}  // namespace

void ExpectStepMatchesFiniteDifferences(const DifferentiableProblem& problem,
                                        const Eigen::VectorXd& state,
                                        const Eigen::VectorXd& theta,
                                        int64_t step,
                                        const LossOfState& loss_of_state,
                                        double h, double rtol) {
  const int S = problem.state_dim(), P = problem.theta_dim();
  const std::string where = "step " + std::to_string(step) + ": ";
  StepDerivatives d;
  d.Resize(S, P);
  problem.Step(state, theta, step, /*episode_key=*/0, &d);
  ASSERT_TRUE(d.AllFinite()) << where << "non-finite derivatives";

  // Value path agrees with the derivative path.
  Eigen::VectorXd next(S);
  const double loss = problem.Advance(state, theta, step, 0, next);
  EXPECT_DOUBLE_EQ(loss, d.loss) << where;
  for (int i = 0; i < S; ++i) EXPECT_DOUBLE_EQ(next[i], d.state[i]) << where;
  EXPECT_NEAR(loss_of_state(d.state, theta), d.loss,
              1e-12 * std::max(1.0, std::abs(d.loss)))
      << where << "loss_of_state disagrees with Step's loss";

  Eigen::VectorXd plus(S), minus(S);
  Eigen::MatrixXd fd_ss(S, S), fd_st(S, P);
  for (int j = 0; j < S; ++j) {
    Eigen::VectorXd sp = state, sm = state;
    sp[j] += h;
    sm[j] -= h;
    problem.Advance(sp, theta, step, 0, plus);
    problem.Advance(sm, theta, step, 0, minus);
    fd_ss.col(j) = (plus - minus) / (2 * h);
  }
  for (int j = 0; j < P; ++j) {
    Eigen::VectorXd tp = theta, tm = theta;
    tp[j] += h;
    tm[j] -= h;
    problem.Advance(state, tp, step, 0, plus);
    problem.Advance(state, tm, step, 0, minus);
    fd_st.col(j) = (plus - minus) / (2 * h);
  }
  ExpectClose(d.dstate_dstate, fd_ss, rtol, where + "ds_t/ds_{t-1}");
  ExpectClose(d.dstate_dtheta, fd_st, rtol, where + "ds_t/dtheta");

  Eigen::VectorXd fd_ls(S), fd_lt(P);
  for (int j = 0; j < S; ++j) {
    Eigen::VectorXd sp = d.state, sm = d.state;
    sp[j] += h;
    sm[j] -= h;
    fd_ls[j] = (loss_of_state(sp, theta) - loss_of_state(sm, theta)) / (2 * h);
  }
  for (int j = 0; j < P; ++j) {
    Eigen::VectorXd tp = theta, tm = theta;
    tp[j] += h;
    tm[j] -= h;
    fd_lt[j] =
        (loss_of_state(d.state, tp) - loss_of_state(d.state, tm)) / (2 * h);
  }
  ExpectClose(d.dloss_dstate, fd_ls, rtol, where + "dL_t/ds_t");
  ExpectClose(d.dloss_dtheta, fd_lt, rtol, where + "dL_t/dtheta");
}

}  // namespace test
}  // namespace es
