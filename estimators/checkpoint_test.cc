// Checkpoint/resume at the library level: for every ES estimator (lockstep
// and breakstep) and every gradient-based baseline, a meta-training run that
// is stopped, saved, rebuilt from scratch and loaded continues to the same
// bits as one that never stopped (theta, trace, counters). The figure-level
// kill-and-resume test is //experiments:resume_test.
#include <functional>
#include <memory>
#include <string>

#include "estimators/estimator_factory.h"
#include "estimators/gradient/gradient_estimator_factory.h"
#include "estimators/gradient/unrolled_adapter.h"
#include "estimators/meta_trainer.h"
#include "estimators/optimizer.h"
#include "estimators/testing/gradient_testing_problems.h"
#include "estimators/testing/linear_quadratic_problem.h"
#include "gtest/gtest.h"

namespace es {
namespace {

using EstimatorMaker =
    std::function<absl::StatusOr<std::unique_ptr<GradientEstimator>>()>;

// Runs 13 iterations straight, and 5 + save + rebuild + load + 8; the two
// must agree bit for bit.
void ExpectResumeIsExact(const UnrolledProblem& problem,
                         const EstimatorMaker& make,
                         const Eigen::VectorXd& theta0,
                         const std::string& what) {
  MetaTrainingOptions o;
  o.iterations = 13;
  o.eval_every = 3;
  o.progress = false;
  const OptimizerOptions oo{.kind = "adam", .learning_rate = 0.05};
  auto e1 = make();
  ASSERT_TRUE(e1.ok()) << e1.status();
  auto opt1 = MakeOptimizer(oo, problem.theta_dim());
  MetaTrainer straight(problem, e1->get(), opt1->get(), theta0, o);
  ASSERT_TRUE(straight.RunUntil(13).ok());

  auto e2 = make();
  auto opt2 = MakeOptimizer(oo, problem.theta_dim());
  MetaTrainer first(problem, e2->get(), opt2->get(), theta0, o);
  ASSERT_TRUE(first.RunUntil(5).ok());
  StateWriter w;
  ASSERT_TRUE(first.Save(&w).ok()) << what;
  const std::string bytes = w.Take();

  auto e3 = make();
  auto opt3 = MakeOptimizer(oo, problem.theta_dim());
  MetaTrainer resumed(problem, e3->get(), opt3->get(), theta0, o);
  StateReader r(bytes);
  ASSERT_TRUE(resumed.Load(&r).ok()) << what;
  ASSERT_TRUE(r.Finish().ok()) << what;
  EXPECT_EQ(resumed.iteration(), 5);
  ASSERT_TRUE(resumed.RunUntil(13).ok());

  const MetaTrainingResult a = straight.Result(), b = resumed.Result();
  EXPECT_EQ(a.final_theta, b.final_theta) << what;
  EXPECT_EQ(a.particle_steps, b.particle_steps) << what;
  EXPECT_EQ(a.dropped_pairs, b.dropped_pairs) << what;
  ASSERT_EQ(a.trace.size(), b.trace.size()) << what;
  for (size_t i = 0; i < a.trace.size(); ++i) {
    EXPECT_EQ(a.trace[i].iteration, b.trace[i].iteration) << what;
    EXPECT_EQ(a.trace[i].meta_loss, b.trace[i].meta_loss) << what << " " << i;
    EXPECT_EQ(a.trace[i].theta, b.trace[i].theta) << what << " " << i;
  }
}

TEST(CheckpointTest, EveryEsEstimatorResumesExactly) {
  LinearQuadraticOptions lo;
  lo.dim = 3;
  lo.horizon = 12;
  lo.scenario = GradientScenario::kCorrelated;
  const LinearQuadraticProblem problem(lo);
  for (const char* method :
       {"es_single", "pes", "es_gen", "es_mix", "tes", "tes_particle",
        "full_es"}) {
    for (bool breakstep : {false, true}) {
      const std::string m = method;
      if (breakstep && (m == "tes" || m == "full_es")) continue;
      EstimatorSpec spec;
      spec.method = m;
      spec.es.num_particles = 6;
      spec.es.sigma = 0.1;
      spec.es.truncation = m == "full_es" ? 12 : 3;
      spec.es.seed = 5;
      spec.es.breakstep = breakstep;
      spec.resample_interval = 2;
      spec.alpha = 0.6;
      spec.beta = 0.8;
      ExpectResumeIsExact(
          problem, [&] { return MakeEstimator(&problem, spec); },
          Eigen::Vector3d(0.2, -0.1, 0.4),
          m + (breakstep ? " breakstep" : ""));
    }
  }
}

TEST(CheckpointTest, EveryGradientBaselineResumesExactly) {
  const test::TanhRnn rnn(20);
  const DifferentiableUnrolledProblem eval(&rnn);
  for (const char* method : {"tbptt_k4", "rtrl", "uoro", "dodge"}) {
    GradientEstimatorSpec spec;
    spec.method = method;
    spec.truncation = 4;
    spec.seed = 3;
    spec.num_directions = 2;
    ExpectResumeIsExact(
        eval, [&] { return MakeGradientEstimator(&rnn, spec); },
        Eigen::VectorXd::Constant(rnn.theta_dim(), 0.1), method);
  }
}

TEST(CheckpointTest, ForeignOrDamagedStateIsAnError) {
  LinearQuadraticOptions lo;
  lo.dim = 2;
  lo.horizon = 10;
  const LinearQuadraticProblem problem(lo);
  EstimatorSpec a, b;
  a.method = "es_single";
  b.method = "pes";
  for (EstimatorSpec* s : {&a, &b}) {
    s->es.num_particles = 4;
    s->es.truncation = 5;
  }
  auto ea = MakeEstimator(&problem, a);
  ASSERT_TRUE(ea.ok());
  ASSERT_TRUE((*ea)->Step(Eigen::Vector2d(0.1, 0.2)).ok());
  StateWriter w;
  ASSERT_TRUE((*ea)->Save(&w).ok());
  const std::string bytes = w.Take();
  auto eb = MakeEstimator(&problem, b);
  StateReader r(bytes);
  EXPECT_FALSE((*eb)->Load(&r).ok()) << "PES accepted ES-Single's state";
  for (size_t cut : {size_t{0}, bytes.size() / 3, bytes.size() - 1}) {
    auto ec = MakeEstimator(&problem, a);
    StateReader rc(absl::string_view(bytes).substr(0, cut));
    EXPECT_FALSE((*ec)->Load(&rc).ok()) << "cut at " << cut;
  }
}

}  // namespace
}  // namespace es
