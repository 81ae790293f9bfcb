// The problem conformance suite (estimators/testing/problem_conformance.h)
// on the learned-optimiser problem (lopt_problem.h), on tiny inner networks
// and a small random data set so that every check runs in milliseconds:
//   * one hidden layer (16-8-4, 172 optimiser rows in chunks of 48: four
//     chunks, the last one padded), and
//   * two hidden layers (16-6-5-4, one chunk of all 191 rows).
// theta is Haiku's initialisation of the LOLv2 MLP (P = 1762) scaled by 3,
// large enough that the weights move visibly in 3 steps.
//
// Tolerances: 0 everywhere (bit for bit). Sub-ranges run on power-of-two
// workspaces whose oneDNN matmuls have a different batch N, but every
// primitive is a batched 3-D matmul whose per-particle result does not
// depend on N, the hand-written loops (features, output layer, update) are
// per particle, and the normaliser sums run in a fixed order in double
// (docs/lopt_notes.md); lopt_problem_test checks the same property on its
// own. Evaluate is the base class's one-particle Unroll loop.
#include <memory>
#include <vector>

#include "estimators/philox.h"
#include "estimators/testing/problem_conformance.h"
#include "inner/lopt/lopt_problem.h"

namespace es::test {
namespace {

constexpr int64_t kExamples = 96, kFeatures = 16, kClasses = 4;

// The problem together with the data it points at.
struct OwnedLopt {
  std::vector<float> images;
  std::vector<int32_t> labels;
  std::unique_ptr<LoptProblem> problem;
};

LoptProblemConfig Config(std::vector<int64_t> hidden, int64_t chunk) {
  LoptProblemConfig c;
  c.hidden_sizes = std::move(hidden);
  c.num_classes = kClasses;
  c.batch_size = 8;
  c.horizon = 8;  // >= 2 K for K = 3; Evaluate runs all 8 steps
  c.rows_per_chunk = chunk;
  return c;
}

absl::StatusOr<std::shared_ptr<const UnrolledProblem>> MakeLopt(
    const LoptProblemConfig& config) {
  auto owned = std::make_shared<OwnedLopt>();
  const RandomKey rk{2025, Stream::kUser};
  owned->images.resize(kExamples * kFeatures);
  owned->labels.resize(kExamples);
  for (int64_t i = 0; i < kExamples; ++i) {
    for (int64_t f = 0; f < kFeatures; ++f) {
      owned->images[i * kFeatures + f] =
          static_cast<float>(UniformOpen(rk, i, 0, static_cast<uint32_t>(f)));
    }
    owned->labels[i] =
        static_cast<int32_t>(RandomBlock(rk, i, 1, 0)[0] % kClasses);
  }
  const MlpDataView view{owned->images, owned->labels, kFeatures};
  auto made = LoptProblem::Create(config, view);
  if (!made.ok()) return made.status();
  owned->problem = *std::move(made);
  return std::shared_ptr<const UnrolledProblem>(owned, owned->problem.get());
}

ProblemCase Lopt(const std::string& name, const LoptProblemConfig& config) {
  // SampleInitialTheta only reads the optimiser's shape, the same for both
  // cases; build a throwaway problem to get it.
  auto p = MakeLopt(config);
  Eigen::VectorXd theta;
  if (p.ok()) {
    theta = 3.0 * static_cast<const LoptProblem&>(**p).SampleInitialTheta(4, 0);
  }
  return ProblemCase{.name = name,
                     .make = [config] { return MakeLopt(config); },
                     .theta = theta,
                     .num_steps = 3,
                     .range_rel_tol = 0.0,
                     .eval_rel_tol = 0.0};
}

INSTANTIATE_TEST_SUITE_P(
    Lopt, ProblemConformanceTest,
    ::testing::Values(Lopt("lopt_one_hidden", Config({8}, 48)),
                      Lopt("lopt_two_hidden", Config({6, 5}, 4096))),
    ProblemCaseName);

}  // namespace
}  // namespace es::test
