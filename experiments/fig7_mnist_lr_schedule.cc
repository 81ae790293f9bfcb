// fig7_mnist_lr_schedule - Figure 7 of the ES-Single paper (Vicol, Kolter,
// Swersky, ICML 2023, Sec. 4.2 "MNIST LR Schedule"; setup in App. C
// "Meta-Learning MNIST LR Schedule"): meta-learning the learning-rate
// schedule of an MLP trained on MNIST with truncated ES, PES and ES-Single,
// K = 10, trajectories drawn over the meta-loss contours.
//
// What it measures: theta = (log init LR, log LR decay) of
//   alpha_t = exp(theta_0) / (1 + t / Q)^exp(theta_1)
// (the paper writes theta_0 / (1 + t/Q)^theta_1 and plots both axes in log
// space; we optimise the logs, App. C: "optimized in the unconstrained
// space ... exponential mapping") for SGD with fixed momentum 0.9 on a
// 784-100-100-10 ReLU MLP (inner/mlp_hpo.h), minibatches of 100. Meta-loss:
// the sum of the T per-step training losses of an inner problem. Each method
// meta-trains theta from --initial_theta with Adam; the CSV records theta and
// the meta-loss of a fresh full unroll at theta (one fixed evaluation inner
// problem, --eval_key) every --eval_every iterations, and a grid over theta
// gives the contours (same evaluation inner problem).
//
// Setup (App. C): T = 5000 split into 500 unrolls of K = 10, N = 1000
// particles, sigma = 0.1, Adam with learning rate 1e-2, Q = 5000, momentum
// 0.9 (these are the flag defaults). Our choices where the paper is silent:
// the start theta, 3000 outer iterations (6 inner problems), one seed, the
// evaluation cadence and inner problem, the grid, lockstep particles (all
// particles share each inner problem's initial weights and minibatches).
// MNIST training split: the first 50000 training images (inner/data).
//
// Cost: one inner step of one particle is ~38 MFLOP, 0.25-0.45 ms of CPU on
// the 2-core machine (docs/results.md); N = 1000 x 3000 iterations x
// K = 10 = 3e7 particle-steps per method (plus the tes mean state), 2-4
// hours per method, 6-11 hours for the figure; --scaled runs the reduced
// setting docs/results.md reports (about 10 minutes idle, 30 loaded).
//
// Paper's result (Fig. 7): ES-Single performs similarly to PES but converges
// more stably near the optimum; PES at times drifts away from the optimum
// because of its variance; truncated ES is biased.
//
// Output (experiments/figure_io.h): <out_dir>/fig7_mnist_lr_schedule.csv
// (method,num_particles,seed,iteration,meta_loss,theta_0,theta_1),
// fig7_mnist_lr_schedule_grid.csv (theta_0,theta_1,meta_loss) and
// fig7_mnist_lr_schedule.json. Plot:
// /usr/bin/python3 tools/plot_mnist_figures.py --figure fig7.
//
//   bazel run //experiments:fig7_mnist_lr_schedule               # paper settings
//   bazel run //experiments:fig7_mnist_lr_schedule -- --scaled   # minutes
//   bazel run //experiments:fig7_mnist_lr_schedule -- --quick    # seconds
#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "experiments/figure_io.h"
#include "experiments/mnist_common.h"
#include "experiments/mnist_lr_schedule.h"

ABSL_FLAG(std::string, out_dir, "",
          "Output directory; empty = results/fig7_mnist_lr_schedule/ "
          "(relative paths resolve against the workspace under bazel run).");
ABSL_FLAG(bool, quick, false,
          "Seconds-long run for tests: T = Q = 40, N = 4, 40 iterations, 2000 "
          "training examples, minibatch 50, a 4 x 4 grid (flags given on "
          "the command line win).");
ABSL_FLAG(bool, scaled, false,
          "The reduced run of docs/results.md: T = Q = 1000, N = 20, "
          "1000 iterations (10 inner problems), a 9 x 9 grid, seeds 0,1 "
          "(flags given on the command line win; --quick wins).");
ABSL_FLAG(std::string, seeds, "0", "Comma-separated seeds (estimator seeds).");
ABSL_FLAG(std::string, methods, "tes,pes,es_single",
          "Methods: tes (truncated ES, shared mean state), pes, es_single, "
          "tes_particle, full_es.");
ABSL_FLAG(int, num_particles, 1000, "N, particles per estimate (App. C: 1000).");
ABSL_FLAG(int64_t, iterations, 3000, "Outer iterations per run (our choice).");
ABSL_FLAG(int64_t, horizon, 5000, "T, inner steps per inner problem (App. C: 5000).");
ABSL_FLAG(double, schedule_q, 5000.0, "Q of the LR schedule (Sec. 4.2: 5000).");
ABSL_FLAG(int, truncation, 10, "K, steps per partial unroll (App. C: 10).");
ABSL_FLAG(double, sigma, 0.1, "Perturbation scale (App. C: 0.1).");
ABSL_FLAG(double, learning_rate, 0.01, "Adam learning rate (App. C: 1e-2).");
ABSL_FLAG(double, momentum, 0.9, "Inner SGD momentum (App. C: 0.9).");
ABSL_FLAG(std::string, initial_theta, "-5,-1",
          "Start (log init LR, log LR decay) (our choice: a small LR, "
          "exp(-5) = 0.0067, with a slow decay, away from the optimum).");
ABSL_FLAG(int64_t, eval_every, 100,
          "Meta-loss evaluation (and CSV row) every this many iterations.");
ABSL_FLAG(int64_t, eval_key, 1000003,
          "Episode key of the evaluation inner problem (trace and grid).");
ABSL_FLAG(int, grid_size, 11, "Grid points per axis; 0 = no grid.");
ABSL_FLAG(std::string, grid_range_lr, "-6,0",
          "min,max of log init LR (theta_0) on the grid.");
ABSL_FLAG(std::string, grid_range_decay, "-3,3",
          "min,max of log LR decay (theta_1) on the grid.");
ABSL_FLAG(std::string, hidden_sizes, "100,100", "Hidden layer sizes (App. C: 100,100).");
ABSL_FLAG(int64_t, batch_size, 100, "Inner minibatch size (App. C: 100).");
ABSL_FLAG(int64_t, train_examples, 0,
          "Use the first n training examples (0 = the whole 50000 split).");
ABSL_FLAG(std::string, data_dir, "",
          "Directory holding mnist/ (empty: $ES_SINGLE_DATA_DIR, else "
          "<workspace>/../shared/data).");
ABSL_FLAG(int, threads, 1, "Threads for each estimator's particle loop.");
ABSL_FLAG(bool, progress, true, "Progress lines on stderr.");

namespace es::experiments {
namespace {

constexpr char kBinary[] = "fig7_mnist_lr_schedule";

absl::Status Run() {
  const bool quick = absl::GetFlag(FLAGS_quick);
  const bool scaled = absl::GetFlag(FLAGS_scaled);
  LrScheduleExperiment x;
  x.binary = kBinary;
  x.figure = "Fig. 7 (MNIST LR schedule, K = 10, Sec. 4.2)";
  x.description =
      "theta = (log init LR, log LR decay) and meta-loss (sum of the T "
      "per-step training losses of a fresh unroll) over outer iterations for "
      "tes, pes, es_single; meta-loss grid";
  auto seeds = ParseIntList(
      QuickScaledOr(FLAGS_seeds, quick, std::string("0"), scaled,
                    std::string("0,1")),
      "seeds");
  if (!seeds.ok()) return seeds.status();
  x.seeds = *seeds;
  auto methods = ParseNameList(absl::GetFlag(FLAGS_methods), "methods");
  if (!methods.ok()) return methods.status();
  x.methods = *methods;
  auto init = ParseDoubleList(absl::GetFlag(FLAGS_initial_theta), "initial_theta");
  if (!init.ok()) return init.status();
  if (init->size() != 2) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--initial_theta must be two numbers (log init LR, log LR decay), got \"",
        absl::GetFlag(FLAGS_initial_theta), "\""));
  }
  x.theta0 = Eigen::Vector2d((*init)[0], (*init)[1]);
  auto hidden = ParseIntList(absl::GetFlag(FLAGS_hidden_sizes), "hidden_sizes");
  if (!hidden.ok()) return hidden.status();
  auto range_lr = ParseRange(absl::GetFlag(FLAGS_grid_range_lr), "grid_range_lr");
  if (!range_lr.ok()) return range_lr.status();
  auto range_decay =
      ParseRange(absl::GetFlag(FLAGS_grid_range_decay), "grid_range_decay");
  if (!range_decay.ok()) return range_decay.status();
  const int grid_size = QuickScaledOr(FLAGS_grid_size, quick, 4, scaled, 9);
  if (grid_size < 0 || grid_size > 200) {
    return absl::InvalidArgumentError(
        absl::StrCat("--grid_size must be in [0, 200], got ", grid_size));
  }
  x.axis_0 = Linspace(range_lr->first, range_lr->second, grid_size);
  x.axis_1 = Linspace(range_decay->first, range_decay->second, grid_size);

  x.config = MlpHpoConfig::LrSchedule();
  x.config.hidden_sizes.assign(hidden->begin(), hidden->end());
  x.config.batch_size = QuickOnlyOr(FLAGS_batch_size, quick, int64_t{50});
  x.config.horizon =
      QuickScaledOr(FLAGS_horizon, quick, int64_t{40}, scaled, int64_t{1000});
  x.config.schedule_q = QuickScaledOr(FLAGS_schedule_q, quick, 40.0, scaled, 1000.0);
  x.config.fixed_momentum = absl::GetFlag(FLAGS_momentum);
  x.config.measure_batch_size = x.config.batch_size;  // unused here
  x.train_examples = QuickOnlyOr(FLAGS_train_examples, quick, int64_t{2000});
  x.data_dir = absl::GetFlag(FLAGS_data_dir);

  x.num_particles = QuickScaledOr(FLAGS_num_particles, quick, 4, scaled, 20);
  x.iterations =
      QuickScaledOr(FLAGS_iterations, quick, int64_t{40}, scaled, int64_t{1000});
  x.eval_every =
      QuickScaledOr(FLAGS_eval_every, quick, int64_t{10}, scaled, int64_t{25});
  x.eval_key = static_cast<uint64_t>(absl::GetFlag(FLAGS_eval_key));
  x.truncation = absl::GetFlag(FLAGS_truncation);
  x.sigma = absl::GetFlag(FLAGS_sigma);
  x.optimizer.kind = "adam";
  x.optimizer.learning_rate = absl::GetFlag(FLAGS_learning_rate);
  x.threads = absl::GetFlag(FLAGS_threads);
  x.progress = absl::GetFlag(FLAGS_progress);
  x.settings = {{"quick", quick ? "true" : "false"},
                {"scaled", scaled ? "true" : "false"}};

  auto out_dir = ResolveOutDir(absl::GetFlag(FLAGS_out_dir), kBinary);
  if (!out_dir.ok()) return out_dir.status();
  x.out_dir = *out_dir;
  x.flags = FlagsDefinedIn("experiments/fig7_mnist_lr_schedule");
  return RunLrScheduleExperiment(x).status();
}

}  // namespace
}  // namespace es::experiments

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Fig. 7 of the ES-Single paper: meta-learning an MNIST MLP's LR schedule "
      "with truncated ES, PES and ES-Single (K = 10). Writes "
      "<out_dir>/fig7_mnist_lr_schedule{.csv,.json,_grid.csv}.");
  es::experiments::RecordCommandLineFlags(argc, argv);
  absl::ParseCommandLine(argc, argv);
  const absl::Status s = es::experiments::Run();
  if (!s.ok()) {
    std::fprintf(stderr, "fig7_mnist_lr_schedule: %s\n", s.ToString().c_str());
    return 1;
  }
  return 0;
}
