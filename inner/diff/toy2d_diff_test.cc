// Tests of the differentiable toy 2D regression task (App. C eq. 9, App. H):
// f, grad f and Hessian against central differences, every Jacobian of Step
// against central differences at several points and steps of the schedule,
// and the full-unroll loss against a direct transcription of Listing 1.
#include "inner/diff/toy2d_diff.h"

#include <cmath>

#include "gtest/gtest.h"
#include "inner/diff/jacobian_check.h"

namespace es {
namespace {

// Points away from the |x1 - 100| kink, where central differences of f are
// smooth.
const double kPoints[][2] = {{1.0, 1.0},  {0.3, -0.7}, {-0.45, 2.2},
                             {0.05, 3.1}, {-1.7, 0.4}, {0.2, 101.3}};

TEST(Toy2dFunctions, GradientAndHessianMatchCentralDifferences) {
  const double h = 1e-5;
  for (const auto& p : kPoints) {
    const double x0 = p[0], x1 = p[1];
    const Eigen::Vector2d g = Toy2dGradient(x0, x1);
    const double fd0 = (Toy2dLoss(x0 + h, x1) - Toy2dLoss(x0 - h, x1)) / (2 * h);
    const double fd1 = (Toy2dLoss(x0, x1 + h) - Toy2dLoss(x0, x1 - h)) / (2 * h);
    EXPECT_NEAR(g[0], fd0, 1e-8) << "x = (" << x0 << ", " << x1 << ")";
    EXPECT_NEAR(g[1], fd1, 1e-8) << "x = (" << x0 << ", " << x1 << ")";
    const Eigen::Matrix2d hess = Toy2dHessian(x0, x1);
    const Eigen::Vector2d c0 =
        (Toy2dGradient(x0 + h, x1) - Toy2dGradient(x0 - h, x1)) / (2 * h);
    const Eigen::Vector2d c1 =
        (Toy2dGradient(x0, x1 + h) - Toy2dGradient(x0, x1 - h)) / (2 * h);
    for (int i = 0; i < 2; ++i) {
      EXPECT_NEAR(hess(i, 0), c0[i], 1e-7) << "x = (" << x0 << ", " << x1 << ")";
      EXPECT_NEAR(hess(i, 1), c1[i], 1e-7) << "x = (" << x0 << ", " << x1 << ")";
    }
    EXPECT_DOUBLE_EQ(hess(0, 1), hess(1, 0));
  }
}

TEST(Toy2dFunctions, ClosedFormValues) {
  // f(0, 0) = sqrt(5) - sqrt(5) + 0 + 25 = 25.
  EXPECT_DOUBLE_EQ(Toy2dLoss(0.0, 0.0), 25.0);
  // f(0, 100) = 0 + sin^2(100) + 0, the only term left.
  EXPECT_NEAR(Toy2dLoss(0.0, 100.0), std::pow(std::sin(100.0), 2), 1e-15);
}

TEST(Toy2dDiff, StepJacobiansMatchCentralDifferences) {
  Toy2dDiff problem;
  auto loss_of_state = [](const Eigen::VectorXd& s, const Eigen::VectorXd&) {
    return Toy2dLoss(s[0], s[1]);
  };
  const double thetas[][2] = {{std::log(0.01), std::log(0.01)},
                              {-1.0, -2.5},
                              {0.3, -0.4}};
  for (const auto& th : thetas) {
    Eigen::VectorXd theta(2);
    theta << th[0], th[1];
    for (const auto& p : kPoints) {
      Eigen::VectorXd state(2);
      state << p[0], p[1];
      for (int64_t step : {0, 1, 37, 99}) {
        SCOPED_TRACE(::testing::Message()
                     << "theta = (" << th[0] << ", " << th[1] << "), x = ("
                     << p[0] << ", " << p[1] << "), step " << step);
        test::ExpectStepMatchesFiniteDifferences(
            problem, state, theta, step, loss_of_state, 1e-6, 1e-6);
      }
    }
  }
}

TEST(Toy2dDiff, MetaLossMatchesListing1) {
  // Direct transcription of App. H, Listing 1 (`update` scanned T times).
  auto listing = [](double th0, double th1) {
    const int T = 100;
    double x0 = 1.0, x1 = 1.0, L = 0.0;
    for (int t = 0; t < T; ++t) {
      const double lr =
          std::exp(th0) * (T - t) / double{T} + std::exp(th1) * t / double{T};
      const Eigen::Vector2d g = Toy2dGradient(x0, x1);
      x0 -= lr * g[0];
      x1 -= lr * g[1];
      L += Toy2dLoss(x0, x1);
    }
    return L;
  };
  Toy2dDiff problem;
  for (const auto& th : {Eigen::Vector2d(std::log(0.01), std::log(0.01)),
                         Eigen::Vector2d(-1.0, 0.5)}) {
    EXPECT_NEAR(problem.MetaLoss(th), listing(th[0], th[1]),
                1e-12 * listing(th[0], th[1]));
  }
}

TEST(Toy2dDiff, InitialStateAndShape) {
  Toy2dDiff problem;
  EXPECT_EQ(problem.state_dim(), 2);
  EXPECT_EQ(problem.theta_dim(), 2);
  EXPECT_EQ(problem.horizon(), 100);
  Eigen::VectorXd s0;
  problem.InitialState(123, &s0);
  ASSERT_EQ(s0.size(), 2);
  EXPECT_EQ(s0[0], 1.0);
  EXPECT_EQ(s0[1], 1.0);
}

TEST(Toy2dDiff, BadOptionsRejected) {
  Toy2dOptions o;
  o.horizon = 0;
  auto p = Toy2dDiff::Create(o);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("horizon T must be >= 1"),
            std::string::npos)
      << p.status();
  EXPECT_NE(p.status().message().find("got 0"), std::string::npos);
  o = Toy2dOptions{};
  o.x1_init = NAN;
  EXPECT_FALSE(Toy2dDiff::Create(o).ok());
  EXPECT_TRUE(Toy2dDiff::Create(Toy2dOptions{}).ok());
}

TEST(Toy2dDiff, DivergingStepIsNonFiniteNotACrash) {
  Toy2dDiff problem;
  StepDerivatives d;
  d.Resize(2, 2);
  Eigen::VectorXd s(2), theta(2);
  s << 1.0, 1.0;
  theta << 800.0, 0.0;  // e^800 = inf
  problem.Step(s, theta, 0, 0, &d);
  EXPECT_FALSE(d.AllFinite());
}

}  // namespace
}  // namespace es
