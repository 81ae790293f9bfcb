// random_search.h - random search as a method of the run loop (run_loop.h):
// the baseline of Fig. 9 (and of any figure that compares against it).
//
// A run with seed s evaluates `configs` thetas, sample(s, 0), sample(s, 1),
// ..., each by the meta-loss of a full unroll on the evaluation inner
// problem (meta.eval_key, grid.h's EvaluateGrid, `batch` configurations as
// the particles of one batch). Trace point i is "after i + 1
// configurations": iteration i + 1, particle_steps (i + 1) T, the meta-loss
// of configuration i and its theta. The run's final theta is the best
// configuration and its final meta-loss the best value (non-finite values
// never count). Random search has no particles (N = 0 in the CSV).
//
// Usage:
//   registry.Add(RandomSearchMethod(
//       [&](uint64_t seed, uint64_t i) { return problem.SampleInitialTheta(seed, i); },
//       /*configs=*/200, /*batch=*/10));
#ifndef ES_SINGLE_EXPERIMENTS_RANDOM_SEARCH_H_
#define ES_SINGLE_EXPERIMENTS_RANDOM_SEARCH_H_

#include <cstdint>
#include <functional>

#include <Eigen/Dense>

#include "experiments/method_registry.h"

namespace es::experiments {

using ThetaSampler = std::function<Eigen::VectorXd(uint64_t seed, uint64_t index)>;

// The method "random_search"; configs >= 1 and batch >= 1 (checked when it
// runs).
MethodEntry RandomSearchMethod(ThetaSampler sample, int64_t configs, int batch);

}  // namespace es::experiments

#endif  // ES_SINGLE_EXPERIMENTS_RANDOM_SEARCH_H_
