// mnist_lr_schedule.h - the run loop shared by the MNIST learning-rate
// schedule figures of the ES-Single paper (Vicol, Kolter, Swersky, ICML
// 2023): Fig. 7 (Sec. 4.2 "MNIST LR Schedule", K = 10), Figs. 17/18 (App. C
// "Meta-Learning MNIST LR Schedule", K = 1) and Fig. 26 (App. C.7,
// hypergradient descent). The binaries are thin: flags -> an
// LrScheduleExperiment -> RunLrScheduleExperiment.
//
// What a run does:
//   1. loads MNIST (mnist_common.h; the first train_examples of the 50000
//      training split) and builds the inner problem MlpHpoProblem(config)
//      (inner/mlp_hpo.h: a ReLU MLP trained by SGD + momentum with the
//      schedule alpha_t = exp(theta_0) / (1 + t / Q)^exp(theta_1); the
//      meta-loss is the sum of the T per-step training losses);
//   2. for each method in `methods` (in order) and each seed: meta-trains
//      theta from theta0 with the method's estimator and outer optimiser
//      (experiments/sweep.h, estimators/meta_trainer.h), evaluating the
//      meta-loss of a fresh full unroll on the inner problem eval_key every
//      eval_every iterations; methods named in extra_method_names run through
//      run_extra instead (Fig. 26's hypergradient baselines);
//   3. evaluates the meta-loss on the grid axis_0 x axis_1 (if non-empty) on
//      the same evaluation inner problem (the contours);
//   4. writes <out_dir>/<binary>.csv (figure_io.h trace columns),
//      <binary>_grid.csv (theta_0,theta_1,meta_loss) and <binary>.json,
//      and prints the per-method table on stdout.
// Seeds are the estimators' seeds; seed s's inner problems are the episode
// keys MixKey(s, 0), MixKey(s, 1), ... (lockstep).
//
// Usage:
//   LrScheduleExperiment x;  x.binary = "fig7_mnist_lr_schedule"; ...
//   absl::Status s = RunLrScheduleExperiment(x);
#ifndef ES_SINGLE_EXPERIMENTS_MNIST_LR_SCHEDULE_H_
#define ES_SINGLE_EXPERIMENTS_MNIST_LR_SCHEDULE_H_

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <Eigen/Dense>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "estimators/optimizer.h"
#include "experiments/figure_io.h"
#include "experiments/method_registry.h"
#include "inner/mlp_hpo.h"

namespace es::experiments {

struct LrScheduleExperiment;

// What an extra (non-registry) method runner gets.
struct LrScheduleContext {
  const MlpHpoProblem* problem = nullptr;
  MlpDataView train;
  CsvWriter* csv = nullptr;  // the trace CSV
  std::string out_dir;
  const LrScheduleExperiment* experiment = nullptr;
};

struct LrScheduleExperiment {
  std::string binary;       // "fig7_mnist_lr_schedule"
  std::string figure;       // sidecar "figure"
  std::string description;  // sidecar "description"
  std::string out_dir;      // resolved (ResolveOutDir)
  std::vector<std::pair<std::string, std::string>> flags;     // sidecar
  std::vector<std::pair<std::string, std::string>> settings;  // extra sidecar

  std::string data_dir;        // --data_dir ("" = mnist_common.h rules)
  int64_t train_examples = 0;  // 0 = the whole 50000 split
  MlpHpoConfig config = MlpHpoConfig::LrSchedule();

  std::vector<std::string> methods;
  std::vector<int64_t> seeds;
  int num_particles = 1000;
  double sigma = 0.1;
  int truncation = 10;
  int threads = 1;
  OptimizerOptions optimizer;  // default outer optimiser
  Eigen::VectorXd theta0;
  int64_t iterations = 1000;
  int64_t eval_every = 100;
  uint64_t eval_key = 1000003;
  bool progress = true;

  std::vector<double> axis_0, axis_1;  // grid axes (theta_0, theta_1)
  int grid_batch = 32;

  // Optional: registers methods beyond the standard ES ones (es_single, pes,
  // tes, tes_particle, full_es), e.g. PES at another outer learning rate.
  std::function<absl::Status(const UnrolledProblem*, MethodRegistry*)>
      register_methods;
  // Optional: methods run by run_extra (one call per seed), which must write
  // the run's trace to context.csv and return its summary.
  std::vector<std::string> extra_method_names;
  std::function<absl::StatusOr<RunSummary>(
      const std::string& method, uint64_t seed, const LrScheduleContext&)>
      run_extra;
};

// Runs the experiment (see the file comment). The sidecar is also returned.
absl::StatusOr<Sidecar> RunLrScheduleExperiment(const LrScheduleExperiment& x);

}  // namespace es::experiments

#endif  // ES_SINGLE_EXPERIMENTS_MNIST_LR_SCHEDULE_H_
