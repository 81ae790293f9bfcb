// DODGE (dodge.h; App. C.6 eqs. 10-12):
//   * with D = P orthonormal directions, P * g_hat equals RTRL's gradient
//     (exactly, to rounding), on toy 2D, influence balancing and a tanh RNN;
//   * directions are fixed within an inner problem and redrawn at each reset;
//   * with direction_stream = kSinglePerturbation its directions are exactly
//     ES-Single's (online_es.h) for the same seed, and with a tiny sigma
//     ES-Single's gradient estimate (N = 2, one antithetic pair) equals
//     DODGE's to O(sigma) -- the "ES-Single behaves like DODGE" of Fig. 25a;
//   * unbiased over random Gaussian directions (z-test, fixed seeds, R = 4000
//     runs, |z| < 5: false-failure rate about 6e-7 per coordinate).
#include "estimators/gradient/dodge.h"

#include <cmath>

#include "estimators/estimator_factory.h"
#include "estimators/gradient/rtrl.h"
#include "estimators/testing/gradient_testing_problems.h"
#include "estimators/gradient/unrolled_adapter.h"
#include "estimators/philox.h"
#include "gtest/gtest.h"
#include "inner/diff/influence_balancing_diff.h"
#include "inner/diff/toy2d_diff.h"

namespace es {
namespace {

// An orthonormal basis of R^P that is not the identity: the Q of a QR
// factorisation of a fixed dense matrix.
Eigen::MatrixXd RotatedBasis(int P) {
  Eigen::MatrixXd m(P, P);
  for (int i = 0; i < P; ++i) {
    for (int j = 0; j < P; ++j) m(i, j) = std::sin(1.3 * i + 0.7 * j + 0.1);
  }
  Eigen::MatrixXd q = Eigen::HouseholderQR<Eigen::MatrixXd>(m).householderQ();
  return q;
}

std::vector<Estimate> RunSteps(GradientEstimator* est, const Eigen::VectorXd& theta,
                          int steps) {
  std::vector<Estimate> out;
  for (int i = 0; i < steps; ++i) {
    auto e = est->Step(theta);
    EXPECT_TRUE(e.ok()) << e.status();
    out.push_back(*e);
  }
  return out;
}

TEST(Dodge, OrthonormalBasisRecoversRtrl) {
  Toy2dDiff toy;
  InfluenceBalancingDiff ib;
  test::TanhRnn rnn(20);
  const DifferentiableProblem* problems[] = {&toy, &ib, &rnn};
  for (const DifferentiableProblem* problem : problems) {
    SCOPED_TRACE(problem->name());
    const int P = problem->theta_dim();
    const Eigen::MatrixXd basis = RotatedBasis(P);
    DodgeOptions o;
    o.truncation = 10;
    o.num_directions = P;
    o.direction_provider = [&](int64_t, int k, Eigen::Ref<Eigen::VectorXd> u) {
      u = basis.col(k);
    };
    auto dodge = Dodge::Create(problem, o);
    auto rtrl = Rtrl::Create(problem, RtrlOptions{10});
    ASSERT_TRUE(dodge.ok() && rtrl.ok());
    const Eigen::VectorXd theta =
        Eigen::VectorXd::LinSpaced(P, -2.0, -1.0);
    // 15 unrolls: crosses the toy2d reset at T = 100 (and the RNN's at 20).
    const auto d = RunSteps(dodge->get(), theta, 15);
    const auto r = RunSteps(rtrl->get(), theta, 15);
    for (int u = 0; u < 15; ++u) {
      const Eigen::VectorXd summed = P * d[u].gradient;
      const double scale = std::max(1.0, r[u].gradient.cwiseAbs().maxCoeff());
      for (int i = 0; i < P; ++i) {
        EXPECT_NEAR(summed[i], r[u].gradient[i], 1e-12 * scale)
            << "unroll " << u << ", coordinate " << i;
      }
      EXPECT_EQ(d[u].mean_loss, r[u].mean_loss);
    }
  }
}

TEST(Dodge, DirectionsFixedWithinAnInnerProblemAndRedrawnAtReset) {
  Toy2dDiff problem;
  DodgeOptions o;
  o.truncation = 10;
  o.seed = 11;
  o.num_directions = 3;
  auto est = Dodge::Create(&problem, o);
  ASSERT_TRUE(est.ok());
  const Eigen::VectorXd theta = Eigen::Vector2d(-2.0, -3.0);
  ASSERT_TRUE((*est)->Step(theta).ok());
  const Eigen::MatrixXd first = (*est)->directions();
  for (int u = 1; u < 10; ++u) {
    ASSERT_TRUE((*est)->Step(theta).ok());
    EXPECT_EQ((*est)->directions(), first);
  }
  ASSERT_TRUE((*est)->Step(theta).ok());  // t = T: new inner problem
  EXPECT_EQ((*est)->episode(), 1);
  EXPECT_NE((*est)->directions(), first);
  // Default stream: kDirection, draw = episode, pair = direction index.
  Eigen::VectorXd u(2);
  StandardNormals(RandomKey{11, Stream::kDirection}, 1, 2, 2, u.data());
  EXPECT_EQ((*est)->directions().col(2), u);
  // RestartInnerProblems: next Step is episode 2 with new directions.
  (*est)->RestartInnerProblems();
  auto e = (*est)->Step(theta);
  EXPECT_EQ(e->episodes_started, 1);
  EXPECT_EQ((*est)->episode(), 2);
}

TEST(Dodge, SameDirectionsAsEsSingleAndSameEstimateForTinySigma) {
  Toy2dDiff toy;
  DifferentiableUnrolledProblem batched(&toy);
  constexpr uint64_t kSeed = 5;
  DodgeOptions o;
  o.truncation = 1;
  o.seed = kSeed;
  o.direction_stream = Stream::kSinglePerturbation;
  auto dodge = Dodge::Create(&toy, o);
  ASSERT_TRUE(dodge.ok());
  EstimatorSpec spec;
  spec.method = "es_single";
  spec.es.num_particles = 2;
  spec.es.sigma = 1e-6;
  spec.es.truncation = 1;
  spec.es.seed = kSeed;
  auto es_single = MakeEstimator(&batched, spec);
  ASSERT_TRUE(es_single.ok()) << es_single.status();
  const Eigen::VectorXd theta = Eigen::Vector2d(-2.0, -3.0);
  // 150 steps: episode 0 (100 steps) and half of episode 1.
  for (int i = 0; i < 150; ++i) {
    auto d = (*dodge)->Step(theta);
    auto e = (*es_single)->Step(theta);
    ASSERT_TRUE(d.ok() && e.ok());
    if (i == 0 || i == 100) {
      Eigen::VectorXd u(2);
      StandardNormals(RandomKey{kSeed, Stream::kSinglePerturbation}, i / 100,
                      /*pair=*/0, 2, u.data());
      EXPECT_EQ((*dodge)->directions().col(0), u) << "step " << i;
    }
    // ES-Single: eps (L+ - L-) / (2 sigma^2) = u (u . grad) + O(sigma^2 ...)
    // up to finite-difference rounding ~ 1e-16 |L| / sigma.
    const double scale = std::max(1e-3, d->gradient.cwiseAbs().maxCoeff());
    for (int c = 0; c < 2; ++c) {
      EXPECT_NEAR(e->gradient[c], d->gradient[c], 1e-4 * scale)
          << "step " << i << ", coordinate " << c;
    }
  }
}

TEST(Dodge, AverageOverManyDirectionsApproachesRtrl) {
  // Unbiasedness over the Gaussian directions: R = 4000 independent seeds,
  // each one direction (D = 1), gradient summed over the inner problem.
  test::TanhRnn problem(20);
  Eigen::VectorXd theta(4);
  theta << 0.3, -0.7, 0.2, 1.1;
  auto rtrl = Rtrl::Create(&problem, RtrlOptions{20});
  const Eigen::VectorXd exact = (*rtrl)->Step(theta)->gradient;
  constexpr int kRepeats = 4000;
  Eigen::VectorXd sum = Eigen::VectorXd::Zero(4), sum_sq = sum;
  for (int r = 0; r < kRepeats; ++r) {
    DodgeOptions o;
    o.truncation = 20;
    o.seed = 1000 + r;
    auto est = Dodge::Create(&problem, o);
    const Eigen::VectorXd g = (*est)->Step(theta)->gradient;
    sum += g;
    sum_sq += g.cwiseAbs2();
  }
  const Eigen::VectorXd mean = sum / kRepeats;
  const Eigen::VectorXd se =
      ((sum_sq - kRepeats * mean.cwiseAbs2()) / (kRepeats - 1) / kRepeats)
          .cwiseSqrt();
  for (int i = 0; i < 4; ++i) {
    EXPECT_LT(std::abs(mean[i] - exact[i]) / se[i], 5.0)
        << "coordinate " << i << ": mean " << mean[i] << ", RTRL " << exact[i]
        << ", se " << se[i];
  }
  // D = 4000 directions in one estimator: the same average, deterministically
  // close (relative error ~ sqrt(P / D)).
  DodgeOptions o;
  o.truncation = 20;
  o.num_directions = 4000;
  auto many = Dodge::Create(&problem, o);
  const Eigen::VectorXd g = (*many)->Step(theta)->gradient;
  EXPECT_LT((g - exact).norm(), 0.15 * exact.norm())
      << g.transpose() << " vs " << exact.transpose();
}

TEST(Dodge, BadOptionsRejected) {
  Toy2dDiff problem;
  DodgeOptions o;
  o.num_directions = 0;
  auto e = Dodge::Create(&problem, o);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find(
                "dodge: number of directions D must be >= 1, got 0"),
            std::string::npos)
      << e.status();
  o = DodgeOptions{};
  o.truncation = -2;
  e = Dodge::Create(&problem, o);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("K must be >= 1, got -2"),
            std::string::npos)
      << e.status();
}

}  // namespace
}  // namespace es
