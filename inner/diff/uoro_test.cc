// UORO (uoro.h) is unbiased: at a fixed theta, the mean of its gradient over
// a whole inner problem across independent seeds equals RTRL's (the exact
// gradient; rtrl_test.cc checks that against finite differences).
//
// Statistical test: R = 2000 independent runs (seeds 1..2000, fixed, so the
// test is deterministic), per coordinate z = |mean - rtrl| / (sd / sqrt(R))
// with the sample standard deviation sd; we require z < 5. Under the
// normal approximation of the mean the false-failure rate is about 6e-7 per
// coordinate. A power check shows the same test rejects a biased estimator
// (the truncated TBPTT gradient, z about 18).
#include "estimators/gradient/uoro.h"

#include <cmath>
#include <cstdio>
#include <vector>

#include "estimators/gradient/rtrl.h"
#include "estimators/gradient/tbptt.h"
#include "estimators/testing/gradient_testing_problems.h"
#include "gtest/gtest.h"
#include "inner/diff/influence_balancing_diff.h"
#include "inner/diff/toy2d_diff.h"

namespace es {
namespace {

constexpr int kRepeats = 2000;
constexpr double kMaxZ = 5.0;

// Gradient summed over `unrolls` unrolls of K steps at a fixed theta.
Eigen::VectorXd InnerProblemGradient(GradientEstimator* est,
                                     const Eigen::VectorXd& theta,
                                     int unrolls) {
  Eigen::VectorXd sum = Eigen::VectorXd::Zero(theta.size());
  for (int u = 0; u < unrolls; ++u) {
    auto e = est->Step(theta);
    EXPECT_TRUE(e.ok()) << e.status();
    sum += e->gradient;
  }
  return sum;
}

struct MonteCarlo {
  Eigen::VectorXd mean, standard_error;
};

MonteCarlo UoroOverSeeds(const DifferentiableProblem& problem,
                         const Eigen::VectorXd& theta, int truncation,
                         int unrolls) {
  const int P = problem.theta_dim();
  Eigen::VectorXd sum = Eigen::VectorXd::Zero(P), sum_sq = sum;
  for (int r = 0; r < kRepeats; ++r) {
    UoroOptions o;
    o.truncation = truncation;
    o.seed = 1 + r;
    auto est = Uoro::Create(&problem, o);
    EXPECT_TRUE(est.ok()) << est.status();
    const Eigen::VectorXd g = InnerProblemGradient(est->get(), theta, unrolls);
    sum += g;
    sum_sq += g.cwiseAbs2();
  }
  MonteCarlo mc;
  mc.mean = sum / kRepeats;
  const Eigen::VectorXd var =
      (sum_sq - kRepeats * mc.mean.cwiseAbs2()) / (kRepeats - 1);
  mc.standard_error = (var.cwiseMax(0.0) / kRepeats).cwiseSqrt();
  return mc;
}

Eigen::VectorXd Exact(const DifferentiableProblem& problem,
                      const Eigen::VectorXd& theta, int truncation,
                      int unrolls) {
  auto rtrl = Rtrl::Create(&problem, RtrlOptions{truncation});
  EXPECT_TRUE(rtrl.ok());
  return InnerProblemGradient(rtrl->get(), theta, unrolls);
}

void ExpectUnbiased(const MonteCarlo& mc, const Eigen::VectorXd& exact) {
  for (int i = 0; i < exact.size(); ++i) {
    ASSERT_GT(mc.standard_error[i], 0.0) << "UORO did not vary, coord " << i;
    const double z = std::abs(mc.mean[i] - exact[i]) / mc.standard_error[i];
    std::printf("  coord %d: UORO mean %.6g, RTRL %.6g, standard error %.3g, "
                "z = %.2f\n", i, mc.mean[i], exact[i], mc.standard_error[i], z);
    EXPECT_LT(z, kMaxZ) << "coordinate " << i << ": mean " << mc.mean[i]
                        << ", RTRL " << exact[i] << ", standard error "
                        << mc.standard_error[i];
  }
}

TEST(Uoro, UnbiasedOnToy2d) {
  Toy2dDiff problem;
  const Eigen::VectorXd theta = Eigen::Vector2d(-2.0, -3.0);
  // K = 10, the whole inner problem of T = 100 steps.
  const MonteCarlo mc = UoroOverSeeds(problem, theta, 10, 10);
  ExpectUnbiased(mc, Exact(problem, theta, 10, 10));
}

TEST(Uoro, UnbiasedOnInfluenceBalancingAndTheTestHasPower) {
  InfluenceBalancingDiff problem;
  Eigen::VectorXd theta(1);
  theta[0] = 0.5;
  const MonteCarlo mc = UoroOverSeeds(problem, theta, 10, 5);  // 50 steps
  const Eigen::VectorXd exact = Exact(problem, theta, 10, 5);
  ExpectUnbiased(mc, exact);
  // Power: the truncated (biased) TBPTT K = 10 gradient over the same 50
  // steps is far outside the Monte-Carlo band (z about 18).
  auto tbptt = Tbptt::Create(&problem, TbpttOptions{10});
  ASSERT_TRUE(tbptt.ok());
  const Eigen::VectorXd biased = InnerProblemGradient(tbptt->get(), theta, 5);
  EXPECT_GT(std::abs(biased[0] - exact[0]) / mc.standard_error[0], 2 * kMaxZ);
}

TEST(Uoro, UnbiasedOnTanhRnnWithDirectThetaLoss) {
  test::TanhRnn problem(20);
  Eigen::VectorXd theta(4);
  theta << 0.3, -0.7, 0.2, 1.1;
  const MonteCarlo mc = UoroOverSeeds(problem, theta, 5, 4);
  ExpectUnbiased(mc, Exact(problem, theta, 5, 4));
}

TEST(Uoro, SameSeedSameBitsOtherSeedOtherBits) {
  test::TanhRnn problem(20);
  const Eigen::VectorXd theta = Eigen::VectorXd::Constant(4, 0.2);
  auto run = [&](uint64_t seed) {
    UoroOptions o;
    o.truncation = 5;
    o.seed = seed;
    auto est = Uoro::Create(&problem, o);
    std::vector<double> out;
    for (int u = 0; u < 8; ++u) {  // crosses an inner-problem reset
      auto e = (*est)->Step(theta);
      out.insert(out.end(), e->gradient.data(), e->gradient.data() + 4);
    }
    return out;
  };
  EXPECT_EQ(run(7), run(7));
  EXPECT_NE(run(7), run(8));
}

TEST(Uoro, BadOptionsRejected) {
  test::TanhRnn problem(20);
  UoroOptions o;
  o.epsilon = 0.0;
  auto e = Uoro::Create(&problem, o);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("uoro: epsilon must be finite and > 0, "
                                      "got 0"),
            std::string::npos)
      << e.status();
  o = UoroOptions{};
  o.truncation = 3;  // does not divide T = 20
  e = Uoro::Create(&problem, o);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("K = 3 must divide the horizon T = 20"),
            std::string::npos)
      << e.status();
}

}  // namespace
}  // namespace es
