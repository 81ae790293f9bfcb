// Bias of every ES-family estimator on a linear-quadratic problem whose
// meta-gradient is known exactly (estimators/testing/linear_quadratic_problem.h):
// the unbiased estimators (ES-Single Prop. 3.1, PES, Alg. 4, App. G, full ES)
// must match it, truncated ES (both forms, App. C.1) must show its bias.
//
// Statistics: seed 99, R = 4000 independent repeats of one antithetic pair
// summed over a whole inner problem (variance_study/variance.h), a
// per-coordinate z-test at 5 sigma of the Monte-Carlo standard error
// (false-failure rate ~6e-7 per coordinate).
#include <algorithm>
#include <cmath>
#include <string>

#include "estimators/estimator_factory.h"
#include "estimators/testing/linear_quadratic_problem.h"
#include "gtest/gtest.h"
#include "variance_study/variance.h"

namespace es {
namespace {

struct Case {
  std::string method;
  bool unbiased;
};

LinearQuadraticProblem Problem() {
  LinearQuadraticOptions o;
  o.dim = 3;
  o.horizon = 12;
  o.scenario = GradientScenario::kCorrelated;
  return LinearQuadraticProblem(o);
}

class EstimatorBiasTest : public ::testing::TestWithParam<Case> {};

TEST_P(EstimatorBiasTest, OnQuadratic) {
  const Case& c = GetParam();
  auto problem = Problem();
  const Eigen::VectorXd theta = Eigen::VectorXd::Constant(3, 0.2);
  const Eigen::VectorXd grad = problem.MetaGradient(theta);
  EstimatorSpec spec;
  spec.method = c.method;
  spec.es.num_particles = 2;
  spec.es.sigma = 0.1;
  spec.es.truncation = 3;
  spec.resample_interval = 2;
  spec.alpha = 0.6;
  spec.beta = 0.8;
  auto r = MeasureVariance(problem, spec, theta, {.repeats = 4000, .base_seed = 99});
  ASSERT_TRUE(r.ok()) << r.status();
  double max_z = 0.0;
  for (int i = 0; i < 3; ++i) {
    max_z = std::max(max_z, std::abs(r->mean[i] - grad[i]) / r->mean_stderr[i]);
  }
  if (c.unbiased) {
    EXPECT_LE(max_z, 5.0) << "mean " << r->mean.transpose() << " vs gradient "
                          << grad.transpose();
  } else {
    EXPECT_GT(max_z, 5.0) << "truncated ES should show truncation bias; mean "
                          << r->mean.transpose() << " vs " << grad.transpose();
  }
}

INSTANTIATE_TEST_SUITE_P(
    AllEstimators, EstimatorBiasTest,
    ::testing::Values(Case{"es_single", true}, Case{"pes", true},
                      Case{"es_gen", true}, Case{"es_mix", true},
                      Case{"full_es", true}, Case{"tes", false},
                      Case{"tes_particle", false}),
    [](const ::testing::TestParamInfo<Case>& info) {
      return info.param.method;
    });

}  // namespace
}  // namespace es
