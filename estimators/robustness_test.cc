// A diverging inner problem never turns theta into NaN: pairs with a
// non-finite loss are dropped from the estimate, counted, and restarted
// (online_es.h, "Non-finite losses"); breakstep spreads pairs over the
// inner problem (App. C.2); the telescoping objective sums to the final loss
// (eq. 6).
#include <cmath>
#include <limits>

#include "estimators/estimator_factory.h"
#include "estimators/meta_trainer.h"
#include "estimators/online_es.h"
#include "estimators/optimizer.h"
#include "estimators/telescoping.h"
#include "gtest/gtest.h"
#include "estimators/testing/linear_quadratic_problem.h"

namespace es {
namespace {

LinearQuadraticOptions Options() {
  LinearQuadraticOptions o;
  o.dim = 2;
  o.horizon = 20;
  o.scenario = GradientScenario::kIdentical;
  return o;
}

// Reports +inf for every particle whose theta[0] exceeds a threshold.
class Diverging : public LinearQuadraticProblem {
 public:
  explicit Diverging(double threshold)
      : LinearQuadraticProblem(Options()), threshold_(threshold) {}
  absl::Status Unroll(ParticleStates* states, int begin, int end,
                      const RowMatrixXd& thetas, const int64_t* t0,
                      int num_steps, double* losses) const override {
    absl::Status s = LinearQuadraticProblem::Unroll(states, begin, end, thetas,
                                                    t0, num_steps, losses);
    for (int i = begin; i < end; ++i) {
      if (thetas(i, 0) > threshold_) losses[i] = std::numeric_limits<double>::infinity();
    }
    return s;
  }

 private:
  double threshold_;
};

TEST(RobustnessTest, NonFiniteLossesAreDroppedAndCounted) {
  for (const std::string method : {"es_single", "pes", "tes", "full_es"}) {
    Diverging problem(0.5);
    EstimatorSpec spec;
    spec.method = method;
    spec.es.num_particles = 50;
    spec.es.sigma = 0.5;  // many perturbations cross the threshold
    spec.es.truncation = 5;
    auto est = MakeEstimator(&problem, spec);
    ASSERT_TRUE(est.ok()) << est.status();
    auto e = (*est)->Step(Eigen::VectorXd::Constant(2, 0.3));
    ASSERT_TRUE(e.ok());
    EXPECT_GT(e->dropped_pairs, 0) << method;
    EXPECT_LT(e->dropped_pairs, 25) << method;
    EXPECT_TRUE(e->gradient.allFinite()) << method;
    EXPECT_TRUE(std::isfinite(e->mean_loss)) << method;
    EXPECT_EQ((*est)->total_dropped_pairs(), e->dropped_pairs) << method;
  }
}

TEST(RobustnessTest, AllPairsDivergingGivesZeroGradient) {
  Diverging problem(-100.0);  // everything diverges
  EstimatorSpec spec;
  spec.es.num_particles = 4;
  spec.es.truncation = 5;
  auto est = MakeEstimator(&problem, spec);
  ASSERT_TRUE(est.ok());
  auto e = (*est)->Step(Eigen::VectorXd::Zero(2));
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->dropped_pairs, 2);
  EXPECT_TRUE(e->gradient.isZero());
}

TEST(RobustnessTest, ThetaStaysFiniteInMetaTraining) {
  Diverging problem(1.0);
  EstimatorSpec spec;
  spec.es.num_particles = 10;
  spec.es.sigma = 0.8;
  spec.es.truncation = 5;
  auto est = MakeEstimator(&problem, spec);
  auto opt = MakeOptimizer({.kind = "sgd", .learning_rate = 0.05}, 2);
  ASSERT_TRUE(est.ok() && opt.ok());
  MetaTrainingOptions mo;
  mo.iterations = 200;
  mo.eval_every = 50;
  mo.progress = false;
  auto r = RunMetaTraining(problem, est->get(), opt->get(),
                           Eigen::VectorXd::Constant(2, 0.9), mo);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->final_theta.allFinite());
  EXPECT_GT(r->dropped_pairs, 0);
}

TEST(BreakstepTest, PairsStartSpreadOverTheInnerProblem) {
  LinearQuadraticProblem problem(Options());  // T = 20
  EsOptions o;
  o.num_particles = 8;  // 4 pairs
  o.truncation = 5;     // U = 4 unrolls
  o.breakstep = true;
  auto est = OnlineEs::Create(&problem, o, MakeEsSingle());
  ASSERT_TRUE(est.ok());
  ASSERT_TRUE((*est)->Step(Eigen::VectorXd::Zero(2)).ok());
  // Pair j starts at unroll floor(j * 4 / 4) = j, then one Step of K = 5.
  for (int j = 0; j < 4; ++j) {
    EXPECT_EQ((*est)->step_of(2 * j), 5 * j + 5) << "pair " << j;
    EXPECT_EQ((*est)->step_of(2 * j + 1), 5 * j + 5) << "pair " << j;
  }
  // The last pair finished its inner problem and restarts on the next Step.
  ASSERT_TRUE((*est)->Step(Eigen::VectorXd::Zero(2)).ok());
  EXPECT_EQ((*est)->step_of(6), 5);
  EXPECT_EQ((*est)->step_of(0), 10);
}

TEST(TelescopingTest, UnrollLossesSumToFinalLoss) {
  LinearQuadraticProblem inner(Options());
  TelescopingProblem tele(&inner);
  Eigen::VectorXd theta(2);
  theta << 0.3, -0.2;
  // Full unroll through the wrapper = L(s_T) measured directly.
  auto total = tele.Evaluate(theta, 0, 0);
  ASSERT_TRUE(total.ok());
  auto states = *inner.NewStates(1);
  const int p = 0;
  const uint64_t key = 0;
  inner.Reset(states.get(), absl::MakeConstSpan(&p, 1), absl::MakeConstSpan(&key, 1));
  RowMatrixXd thetas = theta.transpose();
  int64_t t0 = 0;
  double loss;
  EXPECT_TRUE(inner.Unroll(states.get(), 0, 1, thetas, &t0, 20, &loss).ok());
  double final_loss;
  ASSERT_TRUE(inner.MeasureLoss(states.get(), 0, 1, thetas, &final_loss).ok());
  EXPECT_NEAR(*total, final_loss, 1e-12 * (1 + final_loss));
  // And ES-Single on the telescoping problem runs.
  EstimatorSpec spec;
  spec.es.truncation = 5;
  auto est = MakeEstimator(&tele, spec);
  ASSERT_TRUE(est.ok());
  auto e = (*est)->Step(theta);
  ASSERT_TRUE(e.ok());
  EXPECT_TRUE(e->gradient.allFinite());
}

}  // namespace
}  // namespace es
