// The problem conformance suite (problem_conformance.h) on the
// linear-quadratic problems in all three gradient scenarios, and on the
// telescoping wrapper (estimators/telescoping.h) around one of them.
#include "estimators/telescoping.h"
#include "estimators/testing/linear_quadratic_problem.h"
#include "estimators/testing/problem_conformance.h"

namespace es::test {
namespace {

ProblemCase Lq(GradientScenario scenario, const std::string& name) {
  LinearQuadraticOptions o;
  o.dim = 3;
  o.horizon = 12;
  o.scenario = scenario;
  return ProblemCase{
      .name = name,
      .make = [o] { return MakeShared<LinearQuadraticProblem>(o); },
      .theta = Eigen::Vector3d(0.2, -0.1, 0.3)};
}

// Keeps the inner problem alive beside the wrapper.
struct OwnedTelescoping {
  explicit OwnedTelescoping(const LinearQuadraticOptions& o)
      : inner(o), wrapper(&inner) {}
  LinearQuadraticProblem inner;
  TelescopingProblem wrapper;
};

ProblemCase Telescoping() {
  ProblemCase c = Lq(GradientScenario::kCorrelated, "telescoping_lq");
  LinearQuadraticOptions o;
  o.dim = 3;
  o.horizon = 12;
  o.scenario = GradientScenario::kCorrelated;
  c.make = [o]() -> absl::StatusOr<std::shared_ptr<const UnrolledProblem>> {
    auto owned = std::make_shared<OwnedTelescoping>(o);
    return std::shared_ptr<const UnrolledProblem>(owned, &owned->wrapper);
  };
  return c;
}

INSTANTIATE_TEST_SUITE_P(
    LinearQuadratic, ProblemConformanceTest,
    ::testing::Values(Lq(GradientScenario::kIid, "iid"),
                      Lq(GradientScenario::kIdentical, "identical"),
                      Lq(GradientScenario::kCorrelated, "correlated"),
                      Telescoping()),
    ProblemCaseName);

}  // namespace
}  // namespace es::test
