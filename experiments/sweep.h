// sweep.h - runs a list of (method, N, seed) meta-training runs on one inner
// problem with RunMetaTraining (estimators/meta_trainer.h), appends every
// trace to the figure CSV and returns one RunSummary per run for the JSON
// sidecar (experiments/figure_io.h). Progress goes to stderr, one label per
// run ("es_single N=4 seed=0").
//
// Usage:
//   std::vector<RunSpec> runs;
//   AppendRuns(entries, /*particles=*/{4, 1000}, /*seeds=*/{0, 1}, &runs);
//   auto summaries = RunSweep(options, runs, csv.get());
#ifndef ES_SINGLE_EXPERIMENTS_SWEEP_H_
#define ES_SINGLE_EXPERIMENTS_SWEEP_H_

#include <cstdint>
#include <vector>

#include <Eigen/Dense>

#include "absl/status/statusor.h"
#include "estimators/meta_trainer.h"
#include "estimators/optimizer.h"
#include "estimators/unrolled_problem.h"
#include "experiments/figure_io.h"
#include "experiments/method_registry.h"

namespace es::experiments {

struct SweepOptions {
  const UnrolledProblem* problem = nullptr;
  Eigen::VectorXd theta0;
  OptimizerOptions optimizer;     // unless the method overrides it
  MetaTrainingOptions meta;       // iterations, eval cadence and length
  MethodSettings defaults;        // sigma, K, threads (N and seed per run)
};

struct RunSpec {
  const MethodEntry* method = nullptr;
  int num_particles = 0;  // 0 for methods without particles
  uint64_t seed = 0;
};

// Appends methods x particles x seeds (methods without particles: once per
// seed, N = 0), skipping runs already in `runs`.
void AppendRuns(const std::vector<const MethodEntry*>& methods,
                const std::vector<int>& particles,
                const std::vector<int64_t>& seeds, std::vector<RunSpec>* runs);

// Runs every spec in order. Every run's estimator is built once up front, so
// bad settings or a method that is not built yet fail before any run starts;
// later errors stop the sweep.
absl::StatusOr<std::vector<RunSummary>> RunSweep(
    const SweepOptions& options, const std::vector<RunSpec>& runs,
    CsvWriter* csv);

}  // namespace es::experiments

#endif  // ES_SINGLE_EXPERIMENTS_SWEEP_H_
