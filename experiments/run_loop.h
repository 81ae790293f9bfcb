// run_loop.h - the one run loop of every figure binary: a list of
// (method, N, seed) runs on one inner problem, each meta-trained with
// MetaTrainer (estimators/meta_trainer.h) or run by the method's own runner
// (random search, hypergradient baselines), its trace appended to the
// figure's trace table, its summary added to the sidecar, and the whole loop
// checkpointed so that --resume continues to the same outputs.
//
// Trace table (<binary>.csv): method,num_particles,seed,iteration,meta_loss
// then, by TraceFormat, particle_steps and best_meta_loss (the running
// minimum over finite values), then theta_0..theta_{P-1} (theta_columns).
//
// Checkpoints: with --checkpoint_every=C the loop saves every C iterations
// of the current run and after every run: the tables, the finished loops'
// and runs' summaries, and the current MetaTrainer (theta, optimiser and
// estimator state, particle states). With --resume the figure's run function
// executes again from the start (problem set-up is deterministic); loops that
// had finished return their saved summaries at once, the interrupted loop
// restores the tables and continues its interrupted run, and everything
// after runs normally. Methods with their own runner are checkpointed after
// they finish. The CSV outputs of a resumed run are byte-identical to an
// uninterrupted run's; the sidecar differs only in wall-clock times.
//
// Usage:
//   LoopOptions o = DefaultLoopOptions(run, &problem);
//   o.theta0 = [&](uint64_t) { return theta0; };
//   std::vector<RunSpec> runs;
//   AppendRuns(*methods, {N}, *seeds, &runs);
//   absl::StatusOr<std::vector<RunSummary>> s = RunLoop(run, o, runs);
#ifndef ES_SINGLE_EXPERIMENTS_RUN_LOOP_H_
#define ES_SINGLE_EXPERIMENTS_RUN_LOOP_H_

#include <cstdint>
#include <functional>
#include <vector>

#include <Eigen/Dense>

#include "absl/status/statusor.h"
#include "estimators/meta_trainer.h"
#include "estimators/optimizer.h"
#include "estimators/unrolled_problem.h"
#include "experiments/figure.h"
#include "experiments/method_registry.h"

namespace es::experiments {

// The longest partial unroll accepted on a never-ending problem (no horizon
// bounds K there; the paper's largest K is 1000).
inline constexpr int kMaxNeverEndingTruncation = 1 << 20;

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

struct TraceFormat {
  bool particle_steps = false;   // a particle_steps column
  bool best_so_far = false;      // a best_meta_loss column
  bool theta_columns = true;     // theta_0..theta_{P-1}
};

std::vector<std::string> TraceColumns(const TraceFormat& format, int theta_dim);

struct LoopOptions {
  const UnrolledProblem* problem = nullptr;
  // theta0 of a run, by seed (e.g. a per-seed random draw, Fig. 9).
  std::function<Eigen::VectorXd(uint64_t seed)> theta0;
  OptimizerOptions optimizer;  // unless the method overrides it
  MetaTrainingOptions meta;    // iterations, eval cadence, length and key
  MethodSettings defaults;     // sigma, K, threads (N and seed per run)
  TraceFormat format;
  // Optional, after every outer iteration of an estimator run (Fig. 19's
  // per-iteration gradient log); may add rows to the figure's tables.
  std::function<absl::Status(const RunSpec&, int64_t iteration,
                             const Estimate&, const Eigen::VectorXd& theta)>
      on_step;
};

// The shared flags as loop options: --iterations, --eval_every,
// --eval_length, --eval_key, --progress, --optimizer, --learning_rate,
// --sigma, --truncation, --threads (only those the figure declares carry
// its values; see figure.h).
absl::StatusOr<LoopOptions> DefaultLoopOptions(const FigureRun& run,
                                               const UnrolledProblem* problem);

// Runs every spec in order (see the file comment). Every estimator is built
// once up front, so bad settings fail before any run starts. The summaries
// are also added to `run`'s sidecar.
absl::StatusOr<std::vector<RunSummary>> RunLoop(
    FigureRun& run, const LoopOptions& options,
    const std::vector<RunSpec>& runs);

}  // namespace es::experiments

#endif  // ES_SINGLE_EXPERIMENTS_RUN_LOOP_H_
