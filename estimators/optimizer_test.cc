// Outer optimisers against hand-computed updates, and the meta-training
// driver end to end on a quadratic problem.
#include "estimators/optimizer.h"

#include <cmath>
#include <limits>

#include "estimators/estimator_factory.h"
#include "estimators/meta_trainer.h"
#include "gtest/gtest.h"
#include "estimators/testing/linear_quadratic_problem.h"

namespace es {
namespace {

TEST(OptimizerTest, SgdWithMomentum) {
  auto opt = MakeOptimizer({.kind = "sgd", .learning_rate = 0.1, .momentum = 0.5}, 1);
  ASSERT_TRUE(opt.ok());
  Eigen::VectorXd theta = Eigen::VectorXd::Constant(1, 1.0);
  const Eigen::VectorXd g = Eigen::VectorXd::Constant(1, 2.0);
  ASSERT_TRUE((*opt)->Update(g, &theta).ok());
  EXPECT_DOUBLE_EQ(theta[0], 1.0 - 0.1 * 2.0);            // v = 2
  ASSERT_TRUE((*opt)->Update(g, &theta).ok());
  EXPECT_DOUBLE_EQ(theta[0], 0.8 - 0.1 * (0.5 * 2 + 2));  // v = 3
}

TEST(OptimizerTest, AdamFirstStepIsLearningRateTimesSign) {
  auto opt = MakeOptimizer({.kind = "adam", .learning_rate = 0.01}, 2);
  ASSERT_TRUE(opt.ok());
  Eigen::VectorXd theta = Eigen::VectorXd::Zero(2);
  Eigen::VectorXd g(2);
  g << 3.0, -0.002;
  ASSERT_TRUE((*opt)->Update(g, &theta).ok());
  EXPECT_NEAR(theta[0], -0.01, 1e-9);
  EXPECT_NEAR(theta[1], 0.01, 1e-5);
}

TEST(OptimizerTest, RejectsNonFiniteGradientAndKeepsTheta) {
  auto opt = MakeOptimizer({}, 2);
  Eigen::VectorXd theta = Eigen::VectorXd::Constant(2, 0.5);
  Eigen::VectorXd g(2);
  g << 1.0, std::numeric_limits<double>::quiet_NaN();
  const absl::Status s = (*opt)->Update(g, &theta);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("gradient[1] = nan is not finite"), std::string::npos) << s;
  EXPECT_EQ(theta, Eigen::VectorXd::Constant(2, 0.5));
}

TEST(MetaTrainerTest, EsSingleWithAdamFindsTheOptimum) {
  LinearQuadraticOptions o;
  o.dim = 2;
  o.horizon = 20;
  o.scenario = GradientScenario::kIdentical;
  LinearQuadraticProblem problem(o);
  EstimatorSpec spec;
  spec.es.num_particles = 20;
  spec.es.truncation = 5;
  spec.es.seed = 3;
  auto est = MakeEstimator(&problem, spec);
  auto opt = MakeOptimizer({.kind = "adam", .learning_rate = 0.02}, 2);
  ASSERT_TRUE(est.ok() && opt.ok());
  MetaTrainingOptions mo;
  mo.iterations = 2000;
  mo.eval_every = 500;
  mo.progress = false;
  const Eigen::VectorXd theta0 = Eigen::VectorXd::Zero(2);
  auto r = RunMetaTraining(problem, est->get(), opt->get(), theta0, mo);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->trace.size(), 5u);  // 0, 500, 1000, 1500, 2000
  EXPECT_EQ(r->trace.back().iteration, 2000);
  EXPECT_EQ(r->particle_steps, 2000 * 20 * 5);
  // The optimum of a quadratic: solve grad = 0 by one Newton step (the
  // Hessian is c I, c = sum_t a_t^2, a_t = (1 - 0.5^t) / 0.5).
  double c = 0.0;
  for (int t = 1; t <= 20; ++t) c += std::pow((1 - std::pow(0.5, t)) / 0.5, 2);
  const Eigen::VectorXd opt_theta = theta0 - problem.MetaGradient(theta0) / c;
  EXPECT_LT((r->final_theta - opt_theta).norm(), 0.05)
      << "final " << r->final_theta.transpose() << " optimum " << opt_theta.transpose();
  EXPECT_LT(r->trace.back().meta_loss, r->trace.front().meta_loss);
  EXPECT_NEAR(r->trace.back().meta_loss, problem.MetaLoss(r->final_theta), 1e-9);
}

}  // namespace
}  // namespace es
