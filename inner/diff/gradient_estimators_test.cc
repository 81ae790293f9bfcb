// Conformance suite run against every gradient-based estimator built by
// MakeGradientEstimator (tbptt_k<K>, tbptt, rtrl, uoro, dodge): shapes and
// counters, same seed gives the same bits, theta validation, the non-finite
// policy (zero gradient, counted, trajectory reset; theta never NaN under
// Adam), and the factory's error messages.
#include <cmath>
#include <string>
#include <vector>

#include "estimators/gradient/gradient_estimator_factory.h"
#include "estimators/testing/gradient_testing_problems.h"
#include "estimators/gradient/unrolled_adapter.h"
#include "estimators/meta_trainer.h"
#include "estimators/optimizer.h"
#include "gtest/gtest.h"
#include "inner/diff/toy2d_diff.h"

namespace es {
namespace {

class EveryEstimator : public ::testing::TestWithParam<std::string> {
 protected:
  GradientEstimatorSpec Spec() const {
    GradientEstimatorSpec spec;
    spec.method = GetParam();
    spec.truncation = 10;
    spec.seed = 3;
    spec.num_directions = 2;
    return spec;
  }
  std::unique_ptr<GradientEstimator> Make(const DifferentiableProblem* p) {
    auto est = MakeGradientEstimator(p, Spec());
    EXPECT_TRUE(est.ok()) << est.status();
    return est.ok() ? std::move(*est) : nullptr;
  }
};

TEST_P(EveryEstimator, ShapesAndCounters) {
  Toy2dDiff problem;
  auto est = Make(&problem);
  ASSERT_NE(est, nullptr);
  const std::string expected_name =
      GetParam() == "tbptt" ? "tbptt_k10" : GetParam();
  EXPECT_EQ(est->name(), expected_name);
  const Eigen::VectorXd theta = Eigen::Vector2d(-2.0, -3.0);
  int started = 0;
  for (int u = 0; u < 25; ++u) {
    auto e = est->Step(theta);
    ASSERT_TRUE(e.ok()) << e.status();
    EXPECT_EQ(e->gradient.size(), 2);
    EXPECT_TRUE(e->gradient.allFinite());
    EXPECT_TRUE(std::isfinite(e->mean_loss));
    EXPECT_GT(e->mean_loss, 0.0);
    EXPECT_EQ(e->particle_steps, 10);
    EXPECT_EQ(e->dropped_pairs, 0);
    started += e->episodes_started;
  }
  EXPECT_EQ(started, 3);  // unrolls 0, 10 and 20 start inner problems
  EXPECT_EQ(est->total_dropped_pairs(), 0);
}

TEST_P(EveryEstimator, SameSeedSameBits) {
  test::TanhRnn problem(20);
  auto a = Make(&problem), b = Make(&problem);
  ASSERT_TRUE(a && b);
  const Eigen::VectorXd theta = Eigen::VectorXd::LinSpaced(4, -0.5, 0.5);
  for (int u = 0; u < 6; ++u) {
    auto ea = a->Step(theta), eb = b->Step(theta);
    ASSERT_TRUE(ea.ok() && eb.ok());
    EXPECT_EQ(ea->gradient, eb->gradient) << "unroll " << u;
    EXPECT_EQ(ea->mean_loss, eb->mean_loss);
  }
}

TEST_P(EveryEstimator, RejectsBadTheta) {
  Toy2dDiff problem;
  auto est = Make(&problem);
  ASSERT_NE(est, nullptr);
  EXPECT_FALSE(est->Step(Eigen::VectorXd::Zero(3)).ok());
  auto s = est->Step(Eigen::Vector2d(NAN, 0.0));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("not finite"), std::string::npos);
}

TEST_P(EveryEstimator, NonFiniteStepGivesZeroGradientAndResets) {
  Toy2dDiff problem;
  auto est = Make(&problem);
  ASSERT_NE(est, nullptr);
  const Eigen::VectorXd good = Eigen::Vector2d(-2.0, -3.0);
  const Eigen::VectorXd diverging = Eigen::Vector2d(800.0, 0.0);  // e^800 = inf
  auto reference = est->Step(good);  // episode 0, unroll 0
  ASSERT_TRUE(reference.ok());
  auto bad = est->Step(diverging);
  ASSERT_TRUE(bad.ok()) << bad.status();
  EXPECT_EQ(bad->gradient, Eigen::VectorXd::Zero(2));
  EXPECT_EQ(bad->dropped_pairs, 1);
  EXPECT_TRUE(std::isnan(bad->mean_loss));
  EXPECT_EQ(est->total_dropped_pairs(), 1);
  // The trajectory restarts: the next unroll is the first of a new inner
  // problem.
  auto next = est->Step(good);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->episodes_started, 1);
  EXPECT_EQ(next->dropped_pairs, 0);
  EXPECT_TRUE(next->gradient.allFinite());
  EXPECT_EQ(next->mean_loss, reference->mean_loss);
}

TEST_P(EveryEstimator, ThetaNeverBecomesNanUnderAdam) {
  Toy2dDiff toy;
  DifferentiableUnrolledProblem batched(&toy);
  auto est = Make(&toy);
  ASSERT_NE(est, nullptr);
  auto adam = MakeOptimizer(OptimizerOptions{}, 2);
  ASSERT_TRUE(adam.ok());
  MetaTrainingOptions o;
  o.iterations = 30;
  o.eval_every = 0;
  o.progress = false;
  // Every step diverges at this theta: every estimate is dropped.
  auto result = RunMetaTraining(batched, est.get(), adam->get(),
                                Eigen::Vector2d(800.0, 0.0), o);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->final_theta.allFinite());
  EXPECT_EQ(result->dropped_pairs, 30);
  EXPECT_EQ(est->total_dropped_pairs(), 30);
}

INSTANTIATE_TEST_SUITE_P(Methods, EveryEstimator,
                         ::testing::Values("tbptt_k10", "tbptt", "rtrl",
                                           "uoro", "dodge"));

TEST(GradientEstimatorFactory, UnknownMethodListsTheAllowedNames) {
  Toy2dDiff problem;
  GradientEstimatorSpec spec;
  spec.method = "rtlr";
  auto est = MakeGradientEstimator(&problem, spec);
  ASSERT_FALSE(est.ok());
  EXPECT_EQ(est.status().message(),
            "unknown gradient estimator \"rtlr\"; allowed: tbptt_k<K>, tbptt, "
            "rtrl, uoro, dodge");
}

TEST(GradientEstimatorFactory, TbpttNameGivesTheTruncation) {
  Toy2dDiff problem;
  for (int k : {1, 10, 100}) {
    GradientEstimatorSpec spec;
    spec.method = "tbptt_k" + std::to_string(k);
    spec.truncation = 7;  // ignored: the name gives K
    auto est = MakeGradientEstimator(&problem, spec);
    ASSERT_TRUE(est.ok()) << est.status();
    EXPECT_EQ((*est)->name(), spec.method);
    auto e = (*est)->Step(Eigen::Vector2d(-2.0, -3.0));
    EXPECT_EQ(e->particle_steps, k);
  }
  for (const char* bad : {"tbptt_k", "tbptt_k0", "tbptt_kx", "tbptt_k-3",
                          "tbptt_k1e3", "tbptt_k99999999999"}) {
    GradientEstimatorSpec spec;
    spec.method = bad;
    auto est = MakeGradientEstimator(&problem, spec);
    ASSERT_FALSE(est.ok()) << bad;
    EXPECT_NE(est.status().message().find("must be an integer >= 1"),
              std::string::npos)
        << est.status();
  }
}

TEST(GradientEstimatorFactory, BadSetupsAreRejectedWithTheValue) {
  Toy2dDiff problem;
  GradientEstimatorSpec spec;
  spec.method = "tbptt_k30";  // 30 does not divide T = 100
  auto est = MakeGradientEstimator(&problem, spec);
  ASSERT_FALSE(est.ok());
  EXPECT_EQ(est.status().message(),
            "tbptt: truncation length K = 30 must divide the horizon T = 100 "
            "of problem 'toy2d'");
  spec.method = "rtrl";
  spec.truncation = 0;
  est = MakeGradientEstimator(&problem, spec);
  ASSERT_FALSE(est.ok());
  EXPECT_EQ(est.status().message(),
            "rtrl: truncation length K must be >= 1, got 0");
  spec.truncation = 1;
  est = MakeGradientEstimator(nullptr, spec);
  ASSERT_FALSE(est.ok());
  EXPECT_EQ(est.status().message(), "rtrl: problem is null");
  spec.method = "dodge";
  spec.num_directions = -1;
  est = MakeGradientEstimator(&problem, spec);
  ASSERT_FALSE(est.ok());
  EXPECT_NE(est.status().message().find("D must be >= 1, got -1"),
            std::string::npos);
  spec = GradientEstimatorSpec{};
  spec.method = "uoro";
  spec.uoro_epsilon = -1.0;
  est = MakeGradientEstimator(&problem, spec);
  ASSERT_FALSE(est.ok());
  EXPECT_NE(est.status().message().find("epsilon must be finite and > 0"),
            std::string::npos);
}

}  // namespace
}  // namespace es
