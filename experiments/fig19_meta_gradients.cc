// fig19_meta_gradients - Figure 19 of the ES-Single paper (Vicol, Kolter,
// Swersky, ICML 2023, App. C "Meta-Gradient Comparison"): PES and ES-Single
// tuning ONE global learning rate of an MLP trained on MNIST; (a) the learning
// rate over meta-optimisation with the inner-problem boundaries and the
// optimum from a 1-D grid search, (b) the per-step meta-gradient estimates.
//
// What it measures: theta = log alpha (kGlobalLr, inner/mlp/mlp_hpo.h: alpha_t
// = exp(theta_0) for every t), SGD with momentum 0.9 on a 784-100-100-10 ReLU
// MLP, minibatches of 100; meta-loss = sum of the T per-step training losses.
// Lockstep training: all particles start each inner problem together (the
// boundaries fall every T / K outer iterations). Each method's estimate at
// every outer iteration is recorded (the callback of estimators/meta_trainer.h)
// with the inner step t at which its K-step unroll started, t = ((iteration -
// 1) K) mod T.
//
// Setup (App. C): T = 5000, K = 10, N = 10 (flag defaults). The paper
// grid-searched the outer learning rate and sigma per estimator without
// giving the values; ours: Adam 1e-2 and sigma 0.1 for both (the Sec. 4.2
// values), start log LR -6 (alpha = 0.0025), 2500 outer iterations (5 inner
// problems), one seed. The grid search: --grid_size log-LR values on
// --grid_range, each meta-loss the mean over --grid_keys inner problems
// (keys eval_key, eval_key + 1, ...).
//
// Cost: N = 10 x 2500 iterations x K = 10 = 2.5e5 particle-steps per method
// plus 26 evaluations of 5000 steps; the grid is 41 x 3 x 5000 = 6e5
// particle-steps (batched 41 wide): 750 CPU-s, 18 minutes wall on the
// 2-core machine while other jobs shared it (docs/results.md); --scaled
// gives the reduced run reported there too.
//
// Paper's result (Fig. 19): ES-Single converges stably towards the optimal
// learning rate while PES is less stable because of its variance; PES's
// gradient shows increasingly large fluctuations over each inner problem,
// ES-Single's is more stable.
//
// Output: <out_dir>/fig19_meta_gradients.csv (run_loop.h trace: method,
// num_particles,seed,iteration,meta_loss,theta_0),
// fig19_meta_gradients_grads.csv (method,seed,iteration,inner_step,gradient),
// fig19_meta_gradients_lr.csv (method,seed,iteration,inner_step,theta_0,
// learning_rate: theta after every iteration), fig19_meta_gradients_grid.csv
// (theta_0,meta_loss) and fig19_meta_gradients.json. Plot:
// tools/plot_mnist_figures.py --figure fig19.
//
//   bazel run //experiments:fig19_meta_gradients               # paper settings
//   bazel run //experiments:fig19_meta_gradients -- --scaled   # minutes
//   bazel run //experiments:fig19_meta_gradients -- --quick    # seconds
#include <cmath>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "experiments/figure.h"
#include "experiments/grid.h"
#include "experiments/method_registry.h"
#include "experiments/mnist_common.h"
#include "experiments/run_loop.h"

ABSL_FLAG(double, initial_log_lr, -6.0,
          "Start theta_0 = log learning rate (our choice: alpha = 0.0025).");
ABSL_FLAG(int, grid_size, 41, "Grid-search points; 0 = no grid.");
ABSL_FLAG(std::string, grid_range, "-8,0", "min,max of log LR on the grid.");
ABSL_FLAG(int, grid_keys, 3,
          "Inner problems each grid point's meta-loss is averaged over "
          "(keys eval_key, eval_key + 1, ...).");

namespace es::experiments {
namespace {

absl::Status Run(FigureRun& run) {
  auto range = ParseRange(absl::GetFlag(FLAGS_grid_range), "grid_range");
  if (!range.ok()) return range.status();
  const int grid_size = absl::GetFlag(FLAGS_grid_size);
  const int grid_keys = absl::GetFlag(FLAGS_grid_keys);
  if (grid_size < 0 || grid_size > 10000 || grid_keys < 1 || grid_keys > 1000) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--grid_size must be in [0, 10000] and --grid_keys in [1, 1000], got ",
        grid_size, " and ", grid_keys));
  }
  auto seeds = run.Seeds();
  if (!seeds.ok()) return seeds.status();
  auto names = run.Methods();
  if (!names.ok()) return names.status();
  MlpHpoConfig config = MlpHpoConfig::LrSchedule();
  config.parametrization = MlpHpoConfig::Parametrization::kGlobalLr;
  auto task = BuildMlpTask(run, config, MlpData::kMnist, /*measure=*/false);
  if (!task.ok()) return task.status();
  const MlpHpoProblem& problem = *(*task)->problem;
  const int64_t T = problem.horizon();
  const int k = absl::GetFlag(FLAGS_truncation);
  if (k < 1 || T % k != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--truncation K = ", k, " must be >= 1 and divide T = ", T));
  }
  MethodRegistry registry;
  if (auto s = AddEsMethods(&problem, {"pes", "es_single", "tes", "tes_particle",
                                       "es_gen", "es_mix"},
                            &registry);
      !s.ok()) {
    return s;
  }
  auto methods = registry.Select(*names);
  if (!methods.ok()) return methods.status();
  std::vector<RunSpec> runs;
  AppendRuns(*methods, {absl::GetFlag(FLAGS_num_particles)}, *seeds, &runs);

  // Every estimate and theta, with the inner step t at which the estimate's
  // K-step unroll started: t = ((iteration - 1) K) mod T (lockstep).
  Table* grads = run.outputs().AddTable(
      "_grads", {"method", "seed", "iteration", "inner_step", "gradient"});
  Table* lrs = run.outputs().AddTable(
      "_lr", {"method", "seed", "iteration", "inner_step", "theta_0",
              "learning_rate"});
  auto options = DefaultLoopOptions(run, &problem);
  if (!options.ok()) return options.status();
  const double theta0 = absl::GetFlag(FLAGS_initial_log_lr);
  options->theta0 = [&](uint64_t) { return Eigen::VectorXd::Constant(1, theta0); };
  options->on_step = [&](const RunSpec& spec, int64_t it, const Estimate& e,
                         const Eigen::VectorXd& theta) -> absl::Status {
    const std::vector<std::string> key = {spec.method->name,
                                          absl::StrCat(spec.seed),
                                          absl::StrCat(it),
                                          absl::StrCat(((it - 1) * k) % T)};
    std::vector<std::string> g = key, l = key;
    g.push_back(FormatDouble(e.gradient[0]));
    l.push_back(FormatDouble(theta[0]));
    l.push_back(FormatDouble(std::exp(theta[0])));
    if (auto s = grads->AddRow(std::move(g)); !s.ok()) return s;
    return lrs->AddRow(std::move(l));
  };
  run.Setting("iterations_per_inner_problem", T / k);
  run.Setting("train_examples", (*task)->data.train.num_examples());
  if (auto s = RunLoop(run, *options, runs); !s.ok()) return s.status();
  if (grid_size == 0) return absl::OkStatus();
  RowMatrixXd thetas(grid_size, 1);
  thetas.col(0) = Eigen::Map<const Eigen::VectorXd>(
      Linspace(range->first, range->second, grid_size).data(), grid_size);
  std::vector<uint64_t> keys;
  for (int i = 0; i < grid_keys; ++i) keys.push_back(options->meta.eval_key + i);
  auto grid = EvaluateGrid(problem, thetas, keys, 64, options->meta.progress);
  if (!grid.ok()) return grid.status();
  run.Setting("grid_keys", grid_keys);
  return AddGridOutput(run, *grid);
}

}  // namespace
}  // namespace es::experiments

int main(int argc, char** argv) {
  return es::experiments::FigureMain(
      {.binary = "fig19_meta_gradients",
       .figure = "Fig. 19 (meta-gradient comparison, global LR, App. C)",
       .description =
           "theta = log global LR and meta-loss (sum of the T per-step "
           "training losses of a fresh unroll) over outer iterations for pes "
           "and es_single; per-iteration gradients and LRs; 1-D grid search",
       .presets = {{"paper", "App. C: T = 5000, K = 10, N = 10; LR, sigma: ours",
                    {{"seeds", "0"},
                     {"methods", "pes,es_single"},
                     {"num_particles", "10"},
                     {"iterations", "2500"},
                     {"truncation", "10"},
                     {"sigma", "0.1"},
                     {"optimizer", "adam"},
                     {"learning_rate", "0.01"},
                     {"eval_every", "100"},
                     {"eval_key", "1000003"},
                     {"eval_length", "0"},
                     {"data_dir", ""}}},
                   {"scaled", "the paper's T, K, N; 1500 iterations, seeds 0,1",
                    {{"seeds", "0,1"},
                     {"iterations", "1500"},
                     {"grid_size", "21"},
                     {"grid_keys", "2"}}},
                   {"quick", "seconds, for tests",
                    {{"num_particles", "4"},
                     {"iterations", "12"},
                     {"eval_every", "4"},
                     {"horizon", "40"},
                     {"batch_size", "50"},
                     {"train_examples", "2000"},
                     {"grid_size", "9"},
                     {"grid_keys", "1"}}}},
       .run = es::experiments::Run},
      argc, argv);
}
