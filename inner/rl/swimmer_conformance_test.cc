// The problem conformance suite (estimators/testing/problem_conformance.h)
// on SwimmerProblem, with the problem's own threads off (1) and on (3
// chunks for the suite's 6 particles), every tolerance 0: particles never
// share data, so ranges and threads cannot change a particle's bits.
//
// The model is $ES_SINGLE_DATA_DIR/mujoco-swimmer/swimmer.xml. A global test
// environment checks that it loads before any test runs: when the variable
// is unset every test is skipped with a message, unless ES_CI=1; when it is
// set but the model does not load, or under ES_CI=1, every test fails.
#include <cmath>
#include <cstdlib>
#include <memory>
#include <string>

#include "estimators/testing/problem_conformance.h"
#include "inner/rl/swimmer_problem.h"

namespace es::test {
namespace {

absl::StatusOr<std::shared_ptr<const UnrolledProblem>> MakeSwimmer(
    int num_threads) {
  absl::StatusOr<std::string> path = SwimmerProblem::DefaultModelPath();
  if (!path.ok()) return path.status();
  auto p = SwimmerProblem::Create(*path, {.num_threads = num_threads});
  if (!p.ok()) return p.status();
  return std::shared_ptr<const UnrolledProblem>(*std::move(p));
}

class SwimmerModelEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    const absl::StatusOr<std::shared_ptr<const UnrolledProblem>> p =
        MakeSwimmer(1);
    if (p.ok()) return;
    const char* ci = std::getenv("ES_CI");
    const char* dir = std::getenv("ES_SINGLE_DATA_DIR");
    const bool unset = dir == nullptr || *dir == '\0';
    if (!unset || (ci != nullptr && std::string(ci) == "1")) {
      FAIL() << p.status();
    }
    GTEST_SKIP() << p.status()
                 << " (export ES_SINGLE_DATA_DIR=<data folder>; bazel passes "
                    "it with --test_env)";
  }
};

::testing::Environment* const kModelEnvironment =
    ::testing::AddGlobalTestEnvironment(new SwimmerModelEnvironment);

// A policy that reads every observation, some controls saturating.
Eigen::VectorXd Policy() {
  Eigen::VectorXd w(SwimmerProblem::kThetaDim);
  for (int j = 0; j < w.size(); ++j) w[j] = 0.8 * std::sin(1.7 * j + 0.4);
  return w;
}

INSTANTIATE_TEST_SUITE_P(
    Swimmer, ProblemConformanceTest,
    ::testing::Values(ProblemCase{.name = "swimmer",
                                  .make = [] { return MakeSwimmer(1); },
                                  .theta = Policy(),
                                  .spread = 0.5,
                                  .num_steps = 5},
                      ProblemCase{.name = "swimmer_3_threads",
                                  .make = [] { return MakeSwimmer(3); },
                                  .theta = Policy(),
                                  .spread = 0.5,
                                  .num_steps = 5}),
    ProblemCaseName);

}  // namespace
}  // namespace es::test
