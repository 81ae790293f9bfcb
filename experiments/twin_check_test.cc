// Tests of experiments/twin_check.h, and through it that each batched inner
// problem (inner/influence_balancing.h, inner/toy2d.h) and its independently
// written differentiable twin (inner/diff/) compute the same meta-loss: the
// figures train the gradient-based baselines on the twin and evaluate every
// method on the batched problem.
#include "experiments/twin_check.h"

#include <cmath>

#include "gtest/gtest.h"
#include "inner/diff/influence_balancing_diff.h"
#include "inner/diff/toy2d_diff.h"
#include "inner/influence_balancing.h"
#include "inner/toy2d.h"

namespace es::experiments {
namespace {

// Influence balancing is linear with a quadratic loss: the 1000-step sums
// agree to rounding (the tolerance, 1e-12 relative, is about 1e4 machine
// epsilons: 1000 accumulated terms) at theta_0 = 0.5, theta* = -1/6 and far
// out on both sides.
TEST(TwinCheck, InfluenceBalancingTwinsAgree) {
  InfluenceBalancing batched;
  InfluenceBalancingDiff twin;
  std::vector<TwinProbe> probes;
  for (double theta : {0.5, -1.0 / 6.0, 4.3, -3.0, 0.0}) {
    probes.push_back({Eigen::VectorXd::Constant(1, theta), 1e-12});
  }
  EXPECT_TRUE(CheckTwinsAgree(batched, twin, probes, 1000).ok());
  EXPECT_TRUE(CheckTwinsAgree(batched, twin, probes, 1).ok());
}

// Toy 2D: to rounding where the meta-loss is smooth (small learning rates,
// and the optimal valley at theta_0 around 2.7), looser in the chaotic band
// (see twin_check.h).
TEST(TwinCheck, Toy2dTwinsAgree) {
  Toy2d batched;
  Toy2dDiff twin;
  const auto s = CheckTwinsAgree(
      batched, twin,
      {{Eigen::Vector2d(std::log(0.01), std::log(0.01)), 1e-12},
       {Eigen::Vector2d(-2.0, -3.0), 1e-12},
       {Eigen::Vector2d(-3.0, -6.0), 1e-12},
       {Eigen::Vector2d(1.0, -2.0), 1e-5},
       {Eigen::Vector2d(2.7, -1.7), 1e-5}},
      0);
  EXPECT_TRUE(s.ok()) << s;
}

// A twin of a different function is caught, and the message names both
// values and the theta.
TEST(TwinCheck, ReportsADisagreement) {
  Toy2d batched;
  Toy2dOptions moved;
  moved.x0_init = 1.5;  // a different inner problem
  auto twin = Toy2dDiff::Create(moved);
  ASSERT_TRUE(twin.ok());
  const auto s = CheckTwinsAgree(
      batched, **twin, {{Eigen::Vector2d(-2.0, -3.0), 1e-12}}, 0);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("disagree at theta = (-2, -3)"), std::string::npos)
      << s;
}

TEST(TwinCheck, RejectsDifferentShapes) {
  InfluenceBalancing batched;
  Toy2dDiff twin;
  const auto s = CheckTwinsAgree(batched, twin, {}, 10);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("different shapes"), std::string::npos) << s;
}

}  // namespace
}  // namespace es::experiments
