// Tests of the influence-balancing problem (inner/influence_balancing.h):
// hand-computed first steps, the batched path against the single-state
// reference, the fixed point s*[0] = -6 theta, and the long-horizon versus
// truncated gradient signs that make the task a test of truncation bias.
#include "inner/influence_balancing.h"

#include <cmath>
#include <vector>

#include "estimators/estimator_factory.h"
#include "gtest/gtest.h"

namespace es {
namespace {

constexpr int kN = InfluenceBalancing::kStateDim;

RowMatrixXd Thetas(const std::vector<double>& values) {
  RowMatrixXd t(values.size(), 1);
  for (size_t i = 0; i < values.size(); ++i) t(i, 0) = values[i];
  return t;
}

// Reference: `steps` single-state steps from s_0, sum of per-step losses.
double ReferenceLoss(double theta, int steps, std::vector<double>* state) {
  std::vector<double> s(kN);
  InfluenceBalancing::InitialState(s.data());
  double total = 0.0;
  for (int k = 0; k < steps; ++k) {
    InfluenceBalancing::StepState(s.data(), theta, s.data());
    total += InfluenceBalancing::StepLoss(s.data());
  }
  if (state != nullptr) *state = s;
  return total;
}

TEST(InfluenceBalancingTest, ReportsShape) {
  InfluenceBalancing p;
  EXPECT_EQ(p.theta_dim(), 1);
  EXPECT_EQ(p.horizon(), kNeverEnding);
  EXPECT_EQ(p.name(), "influence_balancing");
  // A never-ending problem needs an explicit evaluation length.
  EXPECT_FALSE(p.Evaluate(Eigen::VectorXd::Constant(1, 0.5), 0, 0).ok());
}

// Hand computation with s_0 = ones, theta = 0.5:
//   s_1[j] = 0.5 + 0.5 + 0.5 = 1.5 (j < 10), 0.5 (10 <= j < 22), 0 (j = 22)
//   L_1 = 0.5 (1.5 - 1)^2 = 0.125
//   s_2[0] = 0.75 + 0.75 + 0.5 = 2,  L_2 = 0.5;   L_1 + L_2 = 0.625
//   s_3[0] = 1 + 1 + 0.5 = 2.5 (s_2[1] = 2),  L_3 = 1.125; total 1.75.
TEST(InfluenceBalancingTest, FirstStepsMatchHandComputation) {
  std::vector<double> s(kN), next(kN);
  InfluenceBalancing::InitialState(s.data());
  InfluenceBalancing::StepState(s.data(), 0.5, next.data());
  for (int j = 0; j < kN; ++j) {
    const double expected = j < 10 ? 1.5 : (j < kN - 1 ? 0.5 : 0.0);
    EXPECT_EQ(next[j], expected) << "j = " << j;
  }
  EXPECT_EQ(InfluenceBalancing::StepLoss(next.data()), 0.125);

  InfluenceBalancing p;
  auto states = *p.NewStates(1);
  const RowMatrixXd theta = Thetas({0.5});
  const int64_t t0 = 0;
  double loss = 0.0;
  EXPECT_TRUE(p.Unroll(states.get(), 0, 1, theta, &t0, 2, &loss).ok());
  EXPECT_EQ(loss, 0.625);
  EXPECT_TRUE(p.Unroll(states.get(), 0, 1, theta, &t0, 1, &loss).ok());
  EXPECT_EQ(loss, 1.125);
  EXPECT_EQ(*p.Evaluate(Eigen::VectorXd::Constant(1, 0.5), 3, 0), 1.75);
  ASSERT_TRUE(p.MeasureLoss(states.get(), 0, 1, theta, &loss).ok());
  EXPECT_EQ(loss, 1.125);  // L(s_3), state not advanced
}

TEST(InfluenceBalancingTest, MatricesDescribeTheStep) {
  const Eigen::MatrixXd a = InfluenceBalancing::TransitionMatrix();
  const Eigen::VectorXd b = InfluenceBalancing::InputVector();
  EXPECT_EQ(b.head(10).sum(), 10.0);
  EXPECT_EQ(b.tail(13).sum(), -13.0);
  Eigen::VectorXd s = Eigen::VectorXd::LinSpaced(kN, -1.0, 2.0);
  Eigen::VectorXd next(kN);
  InfluenceBalancing::StepState(s.data(), 0.3, next.data());
  EXPECT_LT((next - (a * s + 0.3 * b)).cwiseAbs().maxCoeff(), 1e-15);
  std::vector<double> grad(kN);
  InfluenceBalancing::LossStateGradient(s.data(), grad.data());
  EXPECT_EQ(grad[0], s[0] - 1.0);
  for (int j = 1; j < kN; ++j) EXPECT_EQ(grad[j], 0.0);
}

// The batched structure-of-arrays path agrees bit for bit with the
// single-state reference, across batch sizes around the SIMD width (8
// doubles), for sub-ranges, and leaves particles outside the range alone.
TEST(InfluenceBalancingTest, BatchedUnrollMatchesSingleStateReference) {
  InfluenceBalancing p;
  for (int n : {1, 2, 3, 7, 8, 9, 16, 17, 33}) {
    for (int steps : {1, 5, 40}) {
      std::vector<double> theta_values(n);
      for (int i = 0; i < n; ++i) theta_values[i] = -0.7 + 0.13 * i;
      const RowMatrixXd thetas = Thetas(theta_values);
      const std::vector<int64_t> t0(n, 0);
      auto states = *p.NewStates(n);
      std::vector<double> losses(n, -1.0);
      const int begin = n > 2 ? 1 : 0;  // particle 0 stays at s_0 when n > 2
      EXPECT_TRUE(p.Unroll(states.get(), begin, n, thetas, t0.data(), steps, losses.data()).ok());
      std::vector<double> measured(n);
      ASSERT_TRUE(p.MeasureLoss(states.get(), 0, n, thetas, measured.data()).ok());
      for (int i = 0; i < n; ++i) {
        if (i < begin) {
          EXPECT_EQ(losses[i], -1.0) << "n=" << n << " i=" << i;
          EXPECT_EQ(measured[i], 0.0) << "n=" << n << " i=" << i;  // s_0[0] = 1
          continue;
        }
        std::vector<double> ref_state;
        const double ref = ReferenceLoss(theta_values[i], steps, &ref_state);
        EXPECT_EQ(losses[i], ref) << "n=" << n << " steps=" << steps
                                  << " i=" << i;
        EXPECT_EQ(measured[i], InfluenceBalancing::StepLoss(ref_state.data()));
      }
    }
  }
}

TEST(InfluenceBalancingTest, ResetAndCopyParticle) {
  InfluenceBalancing p;
  auto states = *p.NewStates(4);
  const RowMatrixXd thetas = Thetas({0.1, 0.2, 0.3, 0.4});
  const std::vector<int64_t> t0(4, 0);
  std::vector<double> losses(4);
  EXPECT_TRUE(p.Unroll(states.get(), 0, 4, thetas, t0.data(), 7, losses.data()).ok());
  states->CopyParticle(2, 0);
  const std::vector<int> reset = {3};
  const std::vector<uint64_t> keys = {123};
  p.Reset(states.get(), reset, keys);
  EXPECT_TRUE(p.Unroll(states.get(), 0, 4, thetas, t0.data(), 1, losses.data()).ok());
  std::vector<double> s(kN);
  ReferenceLoss(0.3, 7, &s);
  InfluenceBalancing::StepState(s.data(), 0.1, s.data());
  EXPECT_EQ(losses[0], InfluenceBalancing::StepLoss(s.data()));
  EXPECT_EQ(losses[3], ReferenceLoss(0.4, 1, nullptr));
}

TEST(InfluenceBalancingTest, EvaluateEqualsSingleStateLoop) {
  InfluenceBalancing p;
  for (double theta : {0.5, 0.0, -1.0 / 6.0, -2.0}) {
    // 2500 crosses the 1000-step chunking inside the default Evaluate.
    // Evaluate sums per 1000-step chunk, so the summation order differs:
    // equal to a few ulps of the total.
    const double ref = ReferenceLoss(theta, 2500, nullptr);
    EXPECT_NEAR(*p.Evaluate(Eigen::VectorXd::Constant(1, theta), 2500, 0), ref,
                1e-13 * ref)
        << "theta = " << theta;
  }
}

// After the transient (about 150 steps) the state sits at the fixed point,
// s*[0] = 2 theta (p - (n - p)) = -6 theta.
TEST(InfluenceBalancingTest, ReachesFixedPoint) {
  for (double theta : {0.5, -0.2, 1.3}) {
    std::vector<double> s;
    ReferenceLoss(theta, 400, &s);
    EXPECT_NEAR(s[0], -6.0 * theta, 1e-12 * (1 + std::fabs(theta)));
    EXPECT_NEAR(InfluenceBalancing::StepLoss(s.data()),
                InfluenceBalancing::LongRunStepLoss(theta), 1e-10);
  }
  EXPECT_NEAR(InfluenceBalancing::LongRunStepLoss(
                  InfluenceBalancing::kLongRunOptimum),
              0.0, 1e-30);
}

// The task in one test: over a long unroll the meta-loss gradient points
// towards theta* = -1/6 (positive at theta_0 = 0.5, so descent lowers
// theta), while the one-step (K = 1) loss from the fixed point has the
// opposite sign. Central differences on exact-in-theta quadratics: the
// 1e-4 step has no truncation error beyond rounding.
TEST(InfluenceBalancingTest, LongHorizonGradientPointsToOptimumTruncatedDoesNot) {
  InfluenceBalancing p;
  const double h = 1e-4;
  auto long_grad = [&](double theta) {
    const double lp = *p.Evaluate(Eigen::VectorXd::Constant(1, theta + h), 2000, 0);
    const double lm = *p.Evaluate(Eigen::VectorXd::Constant(1, theta - h), 2000, 0);
    return (lp - lm) / (2 * h) / 2000;  // per step
  };
  // Long-run per-step gradient: 6 (6 theta + 1) = 24 at theta = 0.5.
  EXPECT_NEAR(long_grad(0.5), 24.0, 1.0);
  EXPECT_GT(long_grad(-0.1), 0.0);
  EXPECT_LT(long_grad(-0.25), 0.0);

  // One step from the fixed point of theta = 0.5 (s[0] = -3): changing theta
  // for that step only gives dL_1/dtheta = (s_1[0] - 1) * b[0] = -4 < 0.
  std::vector<double> fixed;
  ReferenceLoss(0.5, 400, &fixed);
  auto one_step = [&](double theta) {
    std::vector<double> s = fixed;
    InfluenceBalancing::StepState(s.data(), theta, s.data());
    return InfluenceBalancing::StepLoss(s.data());
  };
  const double short_grad = (one_step(0.5 + h) - one_step(0.5 - h)) / (2 * h);
  EXPECT_NEAR(short_grad, -4.0, 1e-6);
}

// The estimators see the same picture: at theta = 0.5, after the particles
// have reached their fixed points, ES-Single estimates a positive gradient
// (mean of eps^2 / sigma^2 times 24) and truncated ES a negative one (-4).
TEST(InfluenceBalancingTest, EsSingleAndTruncatedEsDisagreeOnSign) {
  InfluenceBalancing p;
  const Eigen::VectorXd theta = Eigen::VectorXd::Constant(1, 0.5);
  for (const char* method : {"es_single", "tes"}) {
    EstimatorSpec spec;
    spec.method = method;
    spec.es.num_particles = 100;
    spec.es.sigma = 0.1;
    spec.es.truncation = 1;
    spec.es.seed = 7;
    auto est = MakeEstimator(&p, spec);
    ASSERT_TRUE(est.ok()) << est.status();
    double mean = 0.0;
    for (int k = 0; k < 300; ++k) {
      auto e = (*est)->Step(theta);
      ASSERT_TRUE(e.ok()) << e.status();
      if (k >= 200) mean += e->gradient[0] / 100;
    }
    if (std::string(method) == "es_single") {
      // 50 pairs: mean eps^2 / sigma^2 is chi^2_50 / 50, within [0.4, 1.8]
      // with probability > 1 - 1e-4.
      EXPECT_GT(mean, 0.4 * 24) << method;
      EXPECT_LT(mean, 1.8 * 24) << method;
    } else {
      // Truncated ES on a quadratic step loss is exact up to sampling of the
      // scale: -4 * (mean eps^2 / sigma^2), freshly drawn every step.
      EXPECT_NEAR(mean, -4.0, 0.5) << method;
    }
  }
}

}  // namespace
}  // namespace es
