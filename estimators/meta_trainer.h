// meta_trainer.h - the meta-training driver: an estimator plus an outer
// optimiser run for a number of outer iterations, with a full-unroll
// meta-loss evaluation every E iterations and progress on stderr.
//
//   for k = 1..iterations:
//     g_hat = estimator.Step(theta)      // one K-step partial unroll, all particles
//     theta = optimizer.Update(g_hat)
//     every E iterations: meta_loss = problem.Evaluate(theta, eval_length)
//
// Inner-problem resets at T happen inside the estimators. Evaluations are at
// iteration 0, every eval_every iterations and after the last iteration.
//
// Usage:
//   MetaTrainingOptions o; o.iterations = 10000; o.eval_every = 100;
//   auto result = RunMetaTraining(problem, est.get(), opt.get(), theta0, o);
//   for (const TracePoint& p : result->trace) ...
#ifndef ES_SINGLE_ESTIMATORS_META_TRAINER_H_
#define ES_SINGLE_ESTIMATORS_META_TRAINER_H_

#include <functional>
#include <string>
#include <vector>

#include "estimators/estimator.h"
#include "estimators/optimizer.h"
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
  int64_t particle_steps = 0;
  double wall_seconds = 0.0;
  double seconds_per_step = 0.0;  // mean wall time of one estimator Step
};

// Called after every outer iteration (optional).
using StepCallback = std::function<void(int64_t iteration, const Estimate&,
                                        const Eigen::VectorXd& theta)>;

absl::StatusOr<MetaTrainingResult> RunMetaTraining(
    const UnrolledProblem& problem, GradientEstimator* estimator,
    OuterOptimizer* optimizer, Eigen::VectorXd theta0,
    const MetaTrainingOptions& options, const StepCallback& on_step = nullptr);

}  // namespace es

#endif  // ES_SINGLE_ESTIMATORS_META_TRAINER_H_
