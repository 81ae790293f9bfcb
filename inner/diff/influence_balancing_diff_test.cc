// Tests of the differentiable influence balancing task (Sec. 4.1 eq. 5,
// App. C eqs. 7-8): Jacobians against central differences, the update
// written out by hand, and the closed-form steady state s[0] = 2 (2p - n)
// theta.
#include "inner/diff/influence_balancing_diff.h"

#include <cmath>

#include "gtest/gtest.h"
#include "inner/diff/jacobian_check.h"

namespace es {
namespace {

double LossOfState(const Eigen::VectorXd& s, const Eigen::VectorXd&) {
  return 0.5 * (s[0] - 1.0) * (s[0] - 1.0);
}

TEST(InfluenceBalancingDiff, PaperShape) {
  InfluenceBalancingDiff problem;
  EXPECT_EQ(problem.state_dim(), 23);
  EXPECT_EQ(problem.theta_dim(), 1);
  EXPECT_EQ(problem.horizon(), kNeverEnding);
  Eigen::VectorXd s0;
  problem.InitialState(0, &s0);
  EXPECT_EQ(s0, Eigen::VectorXd::Ones(23));
}

TEST(InfluenceBalancingDiff, StepJacobiansMatchCentralDifferences) {
  InfluenceBalancingDiff problem;
  Eigen::VectorXd theta(1);
  for (double th : {0.5, -0.2, 3.0}) {
    theta[0] = th;
    Eigen::VectorXd s(23);
    for (int i = 0; i < 23; ++i) s[i] = std::sin(0.9 * i + th);
    SCOPED_TRACE(::testing::Message() << "theta = " << th);
    test::ExpectStepMatchesFiniteDifferences(problem, s, theta, 5,
                                                LossOfState, 1e-5, 1e-8);
  }
}

TEST(InfluenceBalancingDiff, UpdateWrittenOut) {
  // eq. 7 with n = 23, p = 10: s'[i] = 0.5 s[i] + 0.5 s[i+1] +/- theta.
  InfluenceBalancingDiff problem;
  Eigen::VectorXd s(23), next(23), theta(1);
  for (int i = 0; i < 23; ++i) s[i] = 0.1 * i - 1.0;
  theta[0] = 0.7;
  const double loss = problem.Advance(s, theta, 0, 0, next);
  for (int i = 0; i < 23; ++i) {
    const double expect = 0.5 * s[i] + (i + 1 < 23 ? 0.5 * s[i + 1] : 0.0) +
                          (i < 10 ? 0.7 : -0.7);
    EXPECT_DOUBLE_EQ(next[i], expect) << "i = " << i;
  }
  EXPECT_DOUBLE_EQ(loss, 0.5 * (next[0] - 1.0) * (next[0] - 1.0));
}

TEST(InfluenceBalancingDiff, SteadyStateIsClosedForm) {
  // (I - A) s = b theta  =>  s[i] = 2 b[i] theta + s[i+1], s[0] = 2 (2p - n) theta.
  InfluenceBalancingDiff problem;
  Eigen::VectorXd s, next(23), theta(1);
  theta[0] = 0.5;
  problem.InitialState(0, &s);
  for (int t = 0; t < 2000; ++t) {
    problem.Advance(s, theta, t, 0, next);
    s.swap(next);
  }
  EXPECT_NEAR(s[0], 2.0 * (2 * 10 - 23) * 0.5, 1e-9);
}

TEST(InfluenceBalancingDiff, BadOptionsRejected) {
  InfluenceBalancingOptions o;
  o.num_positive = 24;
  auto p = InfluenceBalancingDiff::Create(o);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("p must be in [0, n = 23], got 24"),
            std::string::npos)
      << p.status();
  o = InfluenceBalancingOptions{};
  o.state_dim = 0;
  EXPECT_FALSE(InfluenceBalancingDiff::Create(o).ok());
  o = InfluenceBalancingOptions{};
  o.horizon = 0;
  EXPECT_FALSE(InfluenceBalancingDiff::Create(o).ok());
  o.horizon = 50;
  auto finite = InfluenceBalancingDiff::Create(o);
  ASSERT_TRUE(finite.ok());
  EXPECT_EQ((*finite)->horizon(), 50);
}

}  // namespace
}  // namespace es
