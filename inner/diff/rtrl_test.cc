// RTRL (rtrl.h): at a fixed theta, the sum of its per-unroll gradients over a
// whole inner problem is the exact gradient of the full-unroll meta-loss
// sum_t L_t, checked against central finite differences of that meta-loss on
// toy 2D (T = 100, App. C eq. 9), influence balancing (50 steps, eq. 5) and a
// tanh RNN with dL/dtheta != 0.
#include "estimators/gradient/rtrl.h"

#include <algorithm>
#include <cmath>

#include "estimators/testing/gradient_testing_problems.h"
#include "gtest/gtest.h"
#include "inner/diff/influence_balancing_diff.h"
#include "inner/diff/toy2d_diff.h"

namespace es {
namespace {

// Sum of `unrolls` consecutive RTRL estimates at a fixed theta.
Eigen::VectorXd SumOfEstimates(const DifferentiableProblem& problem,
                               const Eigen::VectorXd& theta, int truncation,
                               int unrolls) {
  auto est = Rtrl::Create(&problem, RtrlOptions{truncation});
  EXPECT_TRUE(est.ok()) << est.status();
  Eigen::VectorXd sum = Eigen::VectorXd::Zero(theta.size());
  for (int u = 0; u < unrolls; ++u) {
    auto e = (*est)->Step(theta);
    EXPECT_TRUE(e.ok()) << e.status();
    EXPECT_EQ(e->dropped_pairs, 0);
    sum += e->gradient;
  }
  return sum;
}

void ExpectNearRelative(const Eigen::VectorXd& got, const Eigen::VectorXd& want,
                        double rtol) {
  ASSERT_EQ(got.size(), want.size());
  const double scale = std::max(1.0, want.cwiseAbs().maxCoeff());
  for (int i = 0; i < got.size(); ++i) {
    EXPECT_NEAR(got[i], want[i], rtol * scale) << "coordinate " << i;
  }
}

TEST(Rtrl, Toy2dFullInnerProblemMatchesFiniteDifferences) {
  Toy2dDiff problem;
  for (const Eigen::Vector2d& th :
       {Eigen::Vector2d(std::log(0.01), std::log(0.01)),
        Eigen::Vector2d(-2.0, -3.0), Eigen::Vector2d(-1.2, -0.8)}) {
    const Eigen::VectorXd theta = th;
    const Eigen::VectorXd fd =
        test::FiniteDifferenceGradient(problem, theta, 100, 1e-6);
    SCOPED_TRACE(::testing::Message() << "theta = " << theta.transpose()
                                      << ", fd = " << fd.transpose());
    // One unroll of K = T, and ten unrolls of K = 10 (J carried across).
    ExpectNearRelative(SumOfEstimates(problem, theta, 100, 1), fd, 1e-6);
    ExpectNearRelative(SumOfEstimates(problem, theta, 10, 10), fd, 1e-6);
    ExpectNearRelative(SumOfEstimates(problem, theta, 1, 100), fd, 1e-6);
  }
}

TEST(Rtrl, InfluenceBalancing50StepsMatchesFiniteDifferences) {
  InfluenceBalancingDiff problem;  // never-ending: the first 50 steps
  for (double th : {0.5, -1.0 / 6.0, 2.0}) {
    Eigen::VectorXd theta(1);
    theta[0] = th;
    const Eigen::VectorXd fd =
        test::FiniteDifferenceGradient(problem, theta, 50, 1e-5);
    SCOPED_TRACE(::testing::Message() << "theta = " << th << ", fd = " << fd);
    ExpectNearRelative(SumOfEstimates(problem, theta, 50, 1), fd, 1e-8);
    ExpectNearRelative(SumOfEstimates(problem, theta, 5, 10), fd, 1e-8);
  }
}

TEST(Rtrl, TanhRnnWithDirectThetaLossMatchesFiniteDifferences) {
  test::TanhRnn problem(20);
  Eigen::VectorXd theta(4);
  theta << 0.3, -0.7, 0.2, 1.1;
  const Eigen::VectorXd fd =
      test::FiniteDifferenceGradient(problem, theta, 20, 1e-6);
  ExpectNearRelative(SumOfEstimates(problem, theta, 4, 5), fd, 1e-8);
}

TEST(Rtrl, ResetsAtTheHorizon) {
  Toy2dDiff problem;
  const Eigen::VectorXd theta = Eigen::Vector2d(-2.0, -3.0);
  auto est = Rtrl::Create(&problem, RtrlOptions{50});
  ASSERT_TRUE(est.ok());
  auto first = (*est)->Step(theta);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->episodes_started, 1);
  EXPECT_EQ(first->particle_steps, 50);
  EXPECT_EQ((*est)->step_counter(), 50);
  ASSERT_TRUE((*est)->Step(theta).ok());
  EXPECT_EQ((*est)->step_counter(), 100);
  // t = T: the next Step starts a new inner problem, identical to the first.
  auto again = (*est)->Step(theta);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->episodes_started, 1);
  EXPECT_EQ((*est)->episode(), 1);
  EXPECT_EQ(again->gradient, first->gradient);
  EXPECT_EQ(again->mean_loss, first->mean_loss);
}

TEST(Rtrl, NeverEndingProblemNeverResets) {
  InfluenceBalancingDiff problem;
  auto est = Rtrl::Create(&problem, RtrlOptions{100});
  ASSERT_TRUE(est.ok());
  Eigen::VectorXd theta(1);
  theta[0] = 0.5;
  int started = 0;
  for (int u = 0; u < 5; ++u) started += (*est)->Step(theta)->episodes_started;
  EXPECT_EQ(started, 1);
  EXPECT_EQ((*est)->step_counter(), 500);
}

}  // namespace
}  // namespace es
