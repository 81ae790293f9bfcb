// problem_conformance.h - the conformance suite every UnrolledProblem
// (estimators/unrolled_problem.h) must pass, the way
// estimators/conformance_test.cc serves the estimators (style.md: "one
// shared conformance suite runs against every implementation of an
// interface").
//
// What it checks, for a problem built by the case's factory:
//   Shapes        theta_dim() > 0, horizon() > 0 or kNeverEnding, a name,
//                 NewStates(n) has n particles, NewStates(0) is an error,
//                 Unroll with a bad range or theta shape is an error.
//   SameKeySameBits  two state sets reset with the same keys give the same
//                 losses, bit for bit.
//   ResetAndCopy  CopyParticle(a, b) makes b continue exactly like a.
//   SubRanges     Unroll over [2, 4) leaves particles outside it alone, and
//                 gives what the same particles unrolled alone give
//                 (tolerance: range_rel_tol, 0 = bit for bit).
//   Threads       ParallelUnroll with 1 and 2 chunks agree (range_rel_tol),
//                 and 1 vs 2 OpenMP threads give the same bits.
//   Evaluate      Evaluate(theta, L, key) equals a fresh Reset + Unroll loop
//                 of L steps (eval_rel_tol).
//   Checkpoint    Save, Load into fresh states, continue: identical bits;
//                 truncated bytes and a different particle count are errors.
//   Divergence    theta = +-1e300, +-inf and NaN: Unroll returns OK (a
//                 non-finite loss is allowed, a crash or error is not).
//
// Usage (in a test of the problem's own package):
//   #include "estimators/testing/problem_conformance.h"
//   namespace es::test {
//   INSTANTIATE_TEST_SUITE_P(Toy2d, ProblemConformanceTest,
//       ::testing::Values(ProblemCase{
//           .name = "toy2d",
//           .make = [] { return MakeShared<Toy2d>(); },
//           .theta = Eigen::Vector2d(-1.0, -2.0)}),
//       ProblemCaseName);
//   }
// and a cc_test with deps ["//estimators/testing:problem_conformance",
// "@system_libs//:gtest_main", ...].
#ifndef ES_SINGLE_ESTIMATORS_TESTING_PROBLEM_CONFORMANCE_H_
#define ES_SINGLE_ESTIMATORS_TESTING_PROBLEM_CONFORMANCE_H_

#include <functional>
#include <ostream>
#include <memory>
#include <string>
#include <utility>

#include <Eigen/Dense>

#include "absl/status/statusor.h"
#include "estimators/unrolled_problem.h"
#include "gtest/gtest.h"

namespace es::test {

struct ProblemCase {
  std::string name;  // test-name suffix: letters, digits, underscores
  // Builds the problem; a shared_ptr so that the factory can keep data the
  // problem points at alive (e.g. with an aliasing constructor).
  std::function<absl::StatusOr<std::shared_ptr<const UnrolledProblem>>()> make;
  // A sensible theta; particle i gets theta + spread * (i - 2.5) / 10 in
  // every coordinate.
  Eigen::VectorXd theta;
  double spread = 0.1;
  int num_steps = 3;           // K of each Unroll (2K <= T for finite T)
  int64_t eval_length = 6;     // Evaluate length (never-ending problems)
  double range_rel_tol = 0.0;  // sub-range and chunked unrolls vs full range
  double eval_rel_tol = 0.0;   // Evaluate vs the Unroll loop
};

std::string ProblemCaseName(const ::testing::TestParamInfo<ProblemCase>& info);
// gtest prints a case by its name.
void PrintTo(const ProblemCase& c, std::ostream* os);

// Wraps `problem` (no data to keep alive) for ProblemCase::make.
template <typename P, typename... Args>
absl::StatusOr<std::shared_ptr<const UnrolledProblem>> MakeShared(
    Args&&... args) {
  return std::shared_ptr<const UnrolledProblem>(
      std::make_shared<P>(std::forward<Args>(args)...));
}

class ProblemConformanceTest : public ::testing::TestWithParam<ProblemCase> {
 protected:
  void SetUp() override;

  // N x P thetas around the case's theta.
  RowMatrixXd Thetas(int n) const;
  // NewStates(n) and Reset of every particle with keys[i] (default key 7
  // for all).
  std::unique_ptr<ParticleStates> Fresh(int n,
                                        std::vector<uint64_t> keys = {}) const;

  std::shared_ptr<const UnrolledProblem> problem_;
};

}  // namespace es::test

#endif  // ES_SINGLE_ESTIMATORS_TESTING_PROBLEM_CONFORMANCE_H_
