// The problem conformance suite (estimators/testing/problem_conformance.h)
// on YachtL2Problem, built from a synthetic table of the yacht's shape
// (308 rows, 6 features + target): the suite checks the code paths, which
// do not depend on the values, and then needs no data file. Every tolerance
// is 0 (bit for bit): the particle loops are element-wise, so neither the
// range, the batch size nor the thread changes a particle's bits.
#include <cmath>
#include <cstdint>

#include "estimators/testing/problem_conformance.h"
#include "inner/data/uci_reader.h"
#include "inner/uci/yacht_l2_problem.h"

namespace es::test {
namespace {

absl::StatusOr<std::shared_ptr<const UnrolledProblem>> MakeYacht() {
  UciTable t;
  t.rows = kYachtRows;
  t.cols = kYachtColumns;
  for (int64_t r = 0; r < t.rows; ++r) {
    for (int64_t c = 0; c < t.cols; ++c) {
      t.values.push_back(std::sin(0.37 * r + 1.3 * c) + 0.01 * c * r);
    }
  }
  auto p = YachtL2Problem::Create(t);
  if (!p.ok()) return p.status();
  return std::shared_ptr<const UnrolledProblem>(*std::move(p));
}

INSTANTIATE_TEST_SUITE_P(Yacht, ProblemConformanceTest,
                         ::testing::Values(ProblemCase{
                             .name = "yacht_l2",
                             .make = MakeYacht,
                             // Near the PES optimum (1.33); the spread
                             // keeps every particle stable.
                             .theta = Eigen::VectorXd::Constant(1, 1.3),
                             .spread = 1.0,
                             .num_steps = 4,
                             .eval_length = 25}),
                         ProblemCaseName);

}  // namespace
}  // namespace es::test
