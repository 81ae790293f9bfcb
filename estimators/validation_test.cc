// Bad configuration is rejected with a message that names the value and what
// is allowed (design.md "Reliability").
#include <cmath>
#include <limits>

#include "estimators/estimator_factory.h"
#include "estimators/meta_trainer.h"
#include "estimators/optimizer.h"
#include "gtest/gtest.h"
#include "estimators/testing/linear_quadratic_problem.h"

namespace es {
namespace {

void ExpectError(const absl::Status& s, const std::string& fragment) {
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_NE(s.message().find(fragment), std::string::npos)
      << "message \"" << s.message() << "\" lacks \"" << fragment << "\"";
}

LinearQuadraticProblem Problem(int64_t T = 12) {
  LinearQuadraticOptions o;
  o.dim = 2;
  o.horizon = T;
  return LinearQuadraticProblem(o);
}

absl::Status Make(const EstimatorSpec& spec) {
  auto problem = Problem();
  return MakeEstimator(&problem, spec).status();
}

TEST(ValidationTest, EsOptions) {
  EstimatorSpec spec;
  spec.es.truncation = 3;
  spec.es.num_particles = 7;
  ExpectError(Make(spec), "must be even and >= 2 for antithetic pairs, got 7");
  spec.es.num_particles = 0;
  ExpectError(Make(spec), "got 0");
  spec.es.num_particles = 4;
  spec.es.sigma = 0.0;
  ExpectError(Make(spec), "sigma must be finite and > 0, got 0");
  spec.es.sigma = -1.5;
  ExpectError(Make(spec), "got -1.5");
  spec.es.sigma = std::numeric_limits<double>::quiet_NaN();
  ExpectError(Make(spec), "sigma must be finite");
  spec.es.sigma = 0.1;
  spec.es.truncation = 0;
  ExpectError(Make(spec), "truncation length K must be >= 1, got 0");
  spec.es.truncation = 5;
  ExpectError(Make(spec), "K = 5 must divide the horizon T = 12");
  spec.es.truncation = 3;
  spec.es.num_threads = 0;
  ExpectError(Make(spec), "num_threads must be in [1, 256], got 0");
}

TEST(ValidationTest, RuleOptions) {
  EstimatorSpec spec;
  spec.es.truncation = 3;
  spec.method = "es_gen";
  spec.resample_interval = 0;
  ExpectError(Make(spec), "resampling interval M must be >= 1, got 0");
  spec.method = "es_mix";
  spec.alpha = 0.0;
  spec.beta = 0.0;
  ExpectError(Make(spec), "not both 0");
  spec.alpha = -1.0;
  ExpectError(Make(spec), "alpha = -1");
  spec.method = "nes";
  ExpectError(Make(spec), "unknown estimator \"nes\"; allowed: es_single");
}

TEST(ValidationTest, ThetaMustBeFinite) {
  auto problem = Problem();
  EstimatorSpec spec;
  spec.es.truncation = 3;
  auto est = MakeEstimator(&problem, spec);
  ASSERT_TRUE(est.ok());
  Eigen::VectorXd theta(2);
  theta << 0.1, std::numeric_limits<double>::infinity();
  ExpectError((*est)->Step(theta).status(), "theta[1] = inf is not finite");
  ExpectError((*est)->Step(Eigen::VectorXd::Zero(3)).status(),
              "theta has 3 entries; the problem needs P = 2");
}

TEST(ValidationTest, Optimizer) {
  OptimizerOptions o;
  o.learning_rate = std::numeric_limits<double>::quiet_NaN();
  ExpectError(MakeOptimizer(o, 2).status(), "learning rate must be finite and > 0");
  o.learning_rate = -0.1;
  ExpectError(MakeOptimizer(o, 2).status(), "got -0.1");
  o.learning_rate = 0.1;
  o.kind = "rmsprop";
  ExpectError(MakeOptimizer(o, 2).status(), "got \"rmsprop\"");
  o.kind = "sgd";
  o.momentum = 1.0;
  ExpectError(MakeOptimizer(o, 2).status(), "momentum must be in [0, 1), got 1");
}

TEST(ValidationTest, NeverEndingProblems) {
  // Breakstep and full-unroll ES need a finite horizon; evaluation of a
  // never-ending problem needs a length.
  class Endless : public LinearQuadraticProblem {
   public:
    Endless() : LinearQuadraticProblem(LinearQuadraticOptions{}) {}
    int64_t horizon() const override { return kNeverEnding; }
  } endless;
  EstimatorSpec spec;
  spec.es.truncation = 1;
  spec.es.breakstep = true;
  ExpectError(MakeEstimator(&endless, spec).status(), "breakstep training needs a finite horizon");
  spec.es.breakstep = false;
  spec.method = "full_es";
  ExpectError(MakeEstimator(&endless, spec).status(), "full-unroll ES needs a finite horizon");
  ExpectError(endless.Evaluate(Eigen::VectorXd::Zero(2), 0, 0).status(),
              "evaluation length must be > 0");
}

TEST(ValidationTest, MetaTrainingOptions) {
  MetaTrainingOptions o;
  o.iterations = -1;
  ExpectError(o.Validate(), "iterations must be >= 0, got -1");
  o.iterations = 1;
  o.eval_every = -2;
  ExpectError(o.Validate(), "got -2");
}

}  // namespace
}  // namespace es
