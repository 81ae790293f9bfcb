// The problem conformance suite (estimators/testing/problem_conformance.h)
// on the differentiable problems seen through DifferentiableUnrolledProblem
// (estimators/gradient/unrolled_adapter.h), which is how the ES estimators
// run on them in Figs. 5, 15 and 25.
#include <memory>

#include "estimators/gradient/unrolled_adapter.h"
#include "estimators/testing/problem_conformance.h"
#include "inner/diff/influence_balancing_diff.h"
#include "inner/diff/toy2d_diff.h"

namespace es::test {
namespace {

template <typename Diff>
struct Owned {
  Diff diff;
  DifferentiableUnrolledProblem adapter{&diff};
};

template <typename Diff>
absl::StatusOr<std::shared_ptr<const UnrolledProblem>> MakeAdapter() {
  auto owned = std::make_shared<Owned<Diff>>();
  return std::shared_ptr<const UnrolledProblem>(owned, &owned->adapter);
}

INSTANTIATE_TEST_SUITE_P(
    Adapter, ProblemConformanceTest,
    ::testing::Values(
        ProblemCase{.name = "toy2d_diff",
                    .make = MakeAdapter<Toy2dDiff>,
                    .theta = Eigen::Vector2d(-2.0, -3.0),
                    .num_steps = 5},
        ProblemCase{.name = "influence_balancing_diff",
                    .make = MakeAdapter<InfluenceBalancingDiff>,
                    .theta = Eigen::VectorXd::Constant(1, 0.3),
                    .eval_length = 25}),
    ProblemCaseName);

}  // namespace
}  // namespace es::test
