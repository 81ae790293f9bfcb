// Conformance suite run against every ES-family estimator (style.md): shapes,
// same seed gives identical bits, 1 vs 2 vs 3 threads give identical bits.
// (Un)biasedness on a quadratic is checked by the variance study's
// Monte-Carlo tool in //variance_study:estimator_bias_test.
#include <cmath>
#include <string>
#include <vector>

#include "estimators/estimator_factory.h"
#include "gtest/gtest.h"
#include "estimators/testing/linear_quadratic_problem.h"

namespace es {
namespace {

struct Case {
  std::string method;
  bool breakstep;
  bool unbiased;  // on a quadratic, summed over a whole inner problem
};

std::string CaseName(const ::testing::TestParamInfo<Case>& info) {
  return info.param.method + (info.param.breakstep ? "_breakstep" : "");
}

LinearQuadraticProblem Problem() {
  LinearQuadraticOptions o;
  o.dim = 3;
  o.horizon = 12;
  o.scenario = GradientScenario::kCorrelated;
  return LinearQuadraticProblem(o);
}

EstimatorSpec SpecFor(const Case& c, int threads = 1, uint64_t seed = 11) {
  EstimatorSpec spec;
  spec.method = c.method;
  spec.es.num_particles = 6;
  spec.es.sigma = 0.1;
  spec.es.truncation = 3;
  spec.es.seed = seed;
  spec.es.breakstep = c.breakstep;
  spec.es.num_threads = threads;
  spec.resample_interval = 2;
  spec.alpha = 0.6;
  spec.beta = 0.8;
  return spec;
}

// Runs `steps` outer steps with a simple SGD update and returns all gradients.
std::vector<Eigen::VectorXd> Trajectory(const UnrolledProblem& problem,
                                        const EstimatorSpec& spec, int steps) {
  auto est = MakeEstimator(&problem, spec);
  EXPECT_TRUE(est.ok()) << est.status();
  std::vector<Eigen::VectorXd> out;
  Eigen::VectorXd theta = Eigen::VectorXd::Constant(3, 0.2);
  for (int i = 0; i < steps; ++i) {
    auto e = (*est)->Step(theta);
    EXPECT_TRUE(e.ok()) << e.status();
    out.push_back(e->gradient);
    theta -= 1e-3 * e->gradient;
  }
  return out;
}

class ConformanceTest : public ::testing::TestWithParam<Case> {};

TEST_P(ConformanceTest, Shapes) {
  auto problem = Problem();
  const EstimatorSpec spec = SpecFor(GetParam());
  auto est = MakeEstimator(&problem, spec);
  ASSERT_TRUE(est.ok()) << est.status();
  EXPECT_EQ((*est)->name(), spec.method);
  auto e = (*est)->Step(Eigen::VectorXd::Constant(3, 0.1));
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->gradient.size(), 3);
  EXPECT_TRUE(e->gradient.allFinite());
  EXPECT_TRUE(std::isfinite(e->mean_loss));
  EXPECT_EQ(e->dropped_pairs, 0);
  const int64_t N = spec.es.num_particles, K = spec.es.truncation;
  if (spec.method == "full_es") {
    EXPECT_EQ(e->particle_steps, N * problem.horizon());
  } else if (spec.method == "tes") {
    EXPECT_EQ(e->particle_steps, (N + 1) * K);  // + the mean state
  } else {
    EXPECT_EQ(e->particle_steps, N * K);
  }
  auto bad = (*est)->Step(Eigen::VectorXd::Zero(2));
  EXPECT_FALSE(bad.ok());
}

TEST_P(ConformanceTest, SameSeedSameBits) {
  auto problem = Problem();
  const auto a = Trajectory(problem, SpecFor(GetParam()), 9);
  const auto b = Trajectory(problem, SpecFor(GetParam()), 9);
  const auto c = Trajectory(problem, SpecFor(GetParam(), 1, 12), 9);
  for (int i = 0; i < 9; ++i) {
    for (int d = 0; d < 3; ++d) EXPECT_EQ(a[i][d], b[i][d]) << "step " << i;
  }
  EXPECT_NE(a[0], c[0]) << "a different seed must give different estimates";
}

TEST_P(ConformanceTest, ThreadCountDoesNotChangeBits) {
  auto problem = Problem();
  const auto one = Trajectory(problem, SpecFor(GetParam(), 1), 9);
  for (int threads : {2, 3}) {
    const auto many = Trajectory(problem, SpecFor(GetParam(), threads), 9);
    for (int i = 0; i < 9; ++i) {
      for (int d = 0; d < 3; ++d) {
        EXPECT_EQ(one[i][d], many[i][d]) << threads << " threads, step " << i;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    AllEstimators, ConformanceTest,
    ::testing::Values(Case{"es_single", false, true}, Case{"pes", false, true},
                      Case{"es_gen", false, true}, Case{"es_mix", false, true},
                      Case{"full_es", false, true}, Case{"tes", false, false},
                      Case{"tes_particle", false, false},
                      Case{"es_single", true, true}, Case{"pes", true, true},
                      Case{"es_gen", true, true}, Case{"es_mix", true, true},
                      Case{"tes_particle", true, false}),
    CaseName);

}  // namespace
}  // namespace es
