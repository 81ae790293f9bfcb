// meta_trainer.h - the meta-training driver: an estimator plus an outer
// optimiser run for a number of outer iterations, with a full-unroll
// meta-loss evaluation every E iterations, progress on stderr, and exact
// checkpoints.
//
//   for k = 1..iterations:
//     g_hat = estimator.Step(theta)      // one K-step partial unroll, all particles
//     theta = optimizer.Update(g_hat)
//     every E iterations: meta_loss = problem.Evaluate(theta, eval_length)
//
// Inner-problem resets at T happen inside the estimators. Evaluations are at
// iteration 0, every eval_every iterations and after the last iteration.
//
// Divergence: an estimate whose every antithetic pair was dropped (its
// mean_loss is NaN) leaves theta unchanged (the gradient is 0) and is
// counted in MetaTrainingResult::all_dropped_estimates; a non-finite
// meta-loss is recorded as it is. Callers decide what to report
// (experiments/run_loop.h exits with a distinct code).
//
// Checkpoints: Save writes theta, the iteration, the trace so far, the
// counters and the estimator's and optimiser's states; a MetaTrainer built
// with the same problem, settings and a fresh estimator/optimiser of the
// same kind, then Load()ed, continues to the same bits as one that never
// stopped (wall-clock times excepted).
//
// Usage:
//   MetaTrainingOptions o; o.iterations = 10000; o.eval_every = 100;
//   auto result = RunMetaTraining(problem, est.get(), opt.get(), theta0, o);
//   for (const TracePoint& p : result->trace) ...
// or, stepwise with checkpoints:
//   MetaTrainer t(problem, est.get(), opt.get(), theta0, o);
//   while (!t.done()) { RETURN_IF_ERROR(t.RunUntil(t.iteration() + 100)); Save... }
#ifndef ES_SINGLE_ESTIMATORS_META_TRAINER_H_
#define ES_SINGLE_ESTIMATORS_META_TRAINER_H_

#include <functional>
#include <string>
#include <vector>

#include "estimators/estimator.h"
#include "estimators/optimizer.h"
#include "estimators/state_io.h"
#include "estimators/unrolled_problem.h"

namespace es {

struct MetaTrainingOptions {
  int64_t iterations = 1000;  // outer updates
  int64_t eval_every = 100;   // E; evaluations also at 0 and at the end
  int64_t eval_length = 0;    // full-unroll length; 0 = the horizon T
  uint64_t eval_key = 0;      // episode key of the evaluation inner problem
  std::string label;          // prefix of progress lines
  bool progress = true;       // progress lines on stderr (about 1 per second)

  absl::Status Validate() const;
};

struct TracePoint {
  int64_t iteration = 0;
  int64_t particle_steps = 0;  // inner steps so far, summed over particles
  double meta_loss = 0.0;      // full-unroll meta-loss at theta
  Eigen::VectorXd theta;
};

struct MetaTrainingResult {
  std::vector<TracePoint> trace;
  Eigen::VectorXd final_theta;
  int64_t dropped_pairs = 0;
  int64_t all_dropped_estimates = 0;  // estimates with no surviving pair
  int64_t particle_steps = 0;
  double wall_seconds = 0.0;
  double seconds_per_step = 0.0;  // mean wall time of one estimator Step
};

// Called after every outer iteration (optional). An error stops training.
using StepCallback = std::function<absl::Status(
    int64_t iteration, const Estimate&, const Eigen::VectorXd& theta)>;

class MetaTrainer {
 public:
  // The problem, estimator and optimiser must outlive the trainer.
  MetaTrainer(const UnrolledProblem& problem, GradientEstimator* estimator,
              OuterOptimizer* optimizer, Eigen::VectorXd theta0,
              MetaTrainingOptions options, StepCallback on_step = nullptr);

  // Runs iterations until `iteration` (capped at options.iterations) have
  // been done; the first call also evaluates iteration 0.
  absl::Status RunUntil(int64_t iteration);
  int64_t iteration() const { return iteration_; }
  bool done() const { return started_ && iteration_ >= options_.iterations; }
  const Eigen::VectorXd& theta() const { return theta_; }

  absl::Status Save(StateWriter* out) const;
  absl::Status Load(StateReader* in);

  // The result so far (final_theta = the current theta).
  MetaTrainingResult Result() const;

 private:
  absl::Status Evaluate();

  const UnrolledProblem& problem_;
  GradientEstimator* estimator_;
  OuterOptimizer* optimizer_;
  MetaTrainingOptions options_;
  StepCallback on_step_;
  Eigen::VectorXd theta_;
  int64_t iteration_ = 0;
  bool started_ = false;
  MetaTrainingResult result_;  // trace and counters
  double step_seconds_ = 0.0;
  double run_seconds_ = 0.0;   // wall time of RunUntil calls, all sessions
};

absl::StatusOr<MetaTrainingResult> RunMetaTraining(
    const UnrolledProblem& problem, GradientEstimator* estimator,
    OuterOptimizer* optimizer, Eigen::VectorXd theta0,
    const MetaTrainingOptions& options, const StepCallback& on_step = nullptr);

}  // namespace es

#endif  // ES_SINGLE_ESTIMATORS_META_TRAINER_H_
