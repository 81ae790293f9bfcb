// fig26_gdtuo - Figure 26 of the ES-Single paper (Vicol, Kolter, Swersky,
// ICML 2023, App. C.7 "Comparison to Hypergradient Descent"): the Sec. 4.2
// MNIST task - tuning the learning rate AND the decay factor of SGD with
// momentum (the LR-schedule parametrisation, as App. C.7 says: "tuning the
// learning rate and decay factor") - with vanilla truncated ES, ES-Single and
// hypergradient descent in the style of GDTUO (Chandra et al. 2022) /
// HD (Baydin et al. 2017), with and without inner-problem resets.
//
// What it measures: theta = (log init LR, log LR decay) of
//   alpha_t = exp(theta_0) / (1 + t / Q)^exp(theta_1)
// for SGD with momentum 0.9 on a 784-100-100-10 ReLU MLP (inner/mlp_hpo.h).
// Methods (CSV names):
//   tes          truncated ES, shared mean state, K = 10, N particles
//   es_single    ES-Single, K = 10, N particles
//   gdtuo        1-step-lookahead hypergradient descent on theta, one
//                network trained forever (GDTUO's online setting)
//   gdtuo_reset  the same, with the network reset every T steps while theta
//                carries over (mimics truncated ES)
// (experiments/mnist_hypergradient.h has the hypergradient's formula.) The
// hypergradient methods update theta after EVERY inner step; to align data
// time with the ES methods (one outer iteration = K inner steps of every
// trajectory), they run iterations * K inner steps and their CSV rows use
// iteration = inner steps / K. num_particles is 0 for them.
// The CSV's meta_loss is, for every method, the sum of the T per-step
// training losses of a fresh unroll at theta on one evaluation inner problem
// (--eval_key); meta_loss / T is the mean training loss of Fig. 26b. For the
// hypergradient methods <binary>_online.csv also records the mean training
// loss of their own run (theta changing every step) over each evaluation
// window: method,seed,iteration,online_mean_train_loss.
//
// Setup: Sec. 4.2 / App. C: T = 5000, Q = 5000, K = 10, N = 1000, sigma =
// 0.1, Adam 1e-2 for the ES methods (flag defaults). The paper does not state
// GDTUO's hyper-optimiser; ours: Adam with learning rate 1e-3 applied every
// inner step (--hyper_learning_rate). Adam moves a coordinate by at most
// about its learning rate per update, so this allows the same drift per
// inner step as the ES methods' 1e-2 per K = 10 steps. Our choices as in
// Fig. 7: start theta, 3000 outer iterations, one seed, evaluation cadence,
// grid.
//
// Cost: the ES methods as in Fig. 7 (3e7 particle-steps, 2-4 hours, per
// method at the paper's N); the hypergradient methods are cheap (one
// network, 3e4 inner steps plus evaluations). --scaled runs the reduced
// setting of docs/results.md.
//
// Paper's result (Fig. 26): GDTUO behaves like truncated ES, both in the
// meta-optimisation trajectory and the training loss reached; ES-Single
// outperforms GDTUO.
//
// Output: <out_dir>/fig26_gdtuo.csv, fig26_gdtuo_grid.csv,
// fig26_gdtuo_online.csv, fig26_gdtuo.json. Plot:
// tools/plot_mnist_figures.py --figure fig26.
//
//   bazel run //experiments:fig26_gdtuo                # paper settings
//   bazel run //experiments:fig26_gdtuo -- --scaled    # minutes
//   bazel run //experiments:fig26_gdtuo -- --quick     # seconds
#include <cstdio>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "estimators/meta_trainer.h"
#include "estimators/optimizer.h"
#include "experiments/figure_io.h"
#include "experiments/mnist_common.h"
#include "experiments/mnist_hypergradient.h"
#include "experiments/mnist_lr_schedule.h"

ABSL_FLAG(std::string, out_dir, "",
          "Output directory; empty = results/fig26_gdtuo/ (relative paths "
          "resolve against the workspace under bazel run).");
ABSL_FLAG(bool, quick, false,
          "Seconds-long run for tests: T = Q = 40, N = 4, 40 iterations, 2000 "
          "training examples, minibatch 50, a 4 x 4 grid (flags given on "
          "the command line win).");
ABSL_FLAG(bool, scaled, false,
          "The reduced run of docs/results.md: T = Q = 1000, N = 20, "
          "1000 iterations (10 inner problems), a 9 x 9 grid, seeds 0,1 "
          "(flags given on the command line win; --quick wins).");
ABSL_FLAG(std::string, seeds, "0", "Comma-separated seeds.");
ABSL_FLAG(std::string, methods, "tes,es_single,gdtuo,gdtuo_reset",
          "Methods: tes, es_single, pes, tes_particle, full_es (ES, outer "
          "Adam --learning_rate) and gdtuo, gdtuo_reset (hypergradient "
          "descent, --hyper_optimizer at --hyper_learning_rate).");
ABSL_FLAG(int, num_particles, 1000, "N, particles per ES estimate (App. C: 1000).");
ABSL_FLAG(int64_t, iterations, 3000,
          "Outer iterations of the ES methods (our choice); the hypergradient "
          "methods run iterations * K inner steps.");
ABSL_FLAG(int64_t, horizon, 5000, "T, inner steps per inner problem (App. C: 5000).");
ABSL_FLAG(double, schedule_q, 5000.0, "Q of the LR schedule (Sec. 4.2: 5000).");
ABSL_FLAG(int, truncation, 10, "K, steps per partial unroll (App. C: 10).");
ABSL_FLAG(double, sigma, 0.1, "Perturbation scale (App. C: 0.1).");
ABSL_FLAG(double, learning_rate, 0.01, "Adam learning rate of the ES methods (App. C: 1e-2).");
ABSL_FLAG(std::string, hyper_optimizer, "adam",
          "Optimiser of the hypergradient methods: adam or sgd.");
ABSL_FLAG(double, hyper_learning_rate, 0.001,
          "Learning rate of the hypergradient methods' optimiser, applied "
          "every inner step (our choice).");
ABSL_FLAG(double, momentum, 0.9, "Inner SGD momentum (App. C: 0.9).");
ABSL_FLAG(std::string, initial_theta, "-5,-1",
          "Start (log init LR, log LR decay) (our choice, as Fig. 7).");
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

constexpr char kBinary[] = "fig26_gdtuo";

// One hypergradient run: iterations * K inner steps, theta updated after
// each; trace rows at iteration = inner steps / K.
absl::StatusOr<RunSummary> RunHypergradient(const std::string& method,
                                            uint64_t seed,
                                            const LrScheduleContext& c,
                                            const OptimizerOptions& hyper,
                                            CsvWriter* online_csv) {
  const LrScheduleExperiment& x = *c.experiment;
  HypergradientOptions ho;
  ho.reset_inner_problem = method == "gdtuo_reset";
  ho.seed = seed;
  auto est = HypergradientEstimator::Create(c.problem, c.train, ho);
  if (!est.ok()) return est.status();
  auto opt = MakeOptimizer(hyper, 2);
  if (!opt.ok()) return opt.status();
  const int64_t k = x.truncation;
  MetaTrainingOptions mo;
  mo.iterations = x.iterations * k;
  mo.eval_every = x.eval_every * k;
  mo.eval_length = 0;
  mo.eval_key = x.eval_key;
  mo.label = absl::StrCat(method, " seed=", seed);
  mo.progress = x.progress;
  double window_sum = 0.0;
  int64_t window_count = 0;
  auto on_step = [&](int64_t it, const Estimate& e,
                     const Eigen::VectorXd&) -> absl::Status {
    window_sum += e.mean_loss;
    ++window_count;
    const bool row = (mo.eval_every > 0 && it % mo.eval_every == 0) ||
                     it == mo.iterations;
    if (!row) return absl::OkStatus();
    absl::Status s = online_csv->WriteRow(
        {method, absl::StrCat(seed), FormatDouble(static_cast<double>(it) / k),
         FormatDouble(window_sum / window_count)});
    window_sum = 0.0;
    window_count = 0;
    return s;
  };
  auto r = RunMetaTraining(*c.problem, est->get(), opt->get(), x.theta0, mo,
                           on_step);
  if (!r.ok()) return r.status();
  for (TracePoint& p : r->trace) p.iteration /= k;
  if (auto s = WriteTrace(c.csv, method, 0, seed, r->trace); !s.ok()) return s;
  RunSummary sum;
  sum.method = method;
  sum.num_particles = 0;
  sum.seed = seed;
  sum.iterations = x.iterations;
  sum.seconds_per_estimate = r->seconds_per_step;  // one inner step
  sum.wall_seconds = r->wall_seconds;
  sum.final_meta_loss = r->trace.back().meta_loss;
  sum.final_theta.assign(r->final_theta.data(), r->final_theta.data() + 2);
  sum.particle_steps = r->particle_steps;
  sum.dropped_pairs = r->dropped_pairs;
  return sum;
}

absl::Status Run() {
  const bool quick = absl::GetFlag(FLAGS_quick);
  const bool scaled = absl::GetFlag(FLAGS_scaled);
  LrScheduleExperiment x;
  x.binary = kBinary;
  x.figure = "Fig. 26 (hypergradient descent / GDTUO vs ES, App. C.7)";
  x.description =
      "theta = (log init LR, log LR decay) and meta-loss (sum of the T "
      "per-step training losses of a fresh unroll) over outer iterations for "
      "tes, es_single and 1-step hypergradient descent with and without "
      "inner resets; meta-loss grid";
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

  OptimizerOptions hyper;
  hyper.kind = absl::GetFlag(FLAGS_hyper_optimizer);
  hyper.learning_rate = absl::GetFlag(FLAGS_hyper_learning_rate);
  if (auto s = hyper.Validate(); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--hyper_optimizer/--hyper_learning_rate: ", s.message()));
  }
  x.settings = {{"quick", quick ? "true" : "false"},
                {"scaled", scaled ? "true" : "false"},
                {"hyper_optimizer", JsonString(hyper.kind)},
                {"hyper_learning_rate", JsonNumber(hyper.learning_rate)},
                {"hypergradient_iteration_unit",
                 JsonString("iteration = inner steps / K")}};

  auto out_dir = ResolveOutDir(absl::GetFlag(FLAGS_out_dir), kBinary);
  if (!out_dir.ok()) return out_dir.status();
  x.out_dir = *out_dir;
  auto online = CsvWriter::Open(
      absl::StrCat(*out_dir, "/", kBinary, "_online.csv"),
      {"method", "seed", "iteration", "online_mean_train_loss"});
  if (!online.ok()) return online.status();
  x.extra_method_names = {"gdtuo", "gdtuo_reset"};
  CsvWriter* online_csv = online->get();
  x.run_extra = [hyper, online_csv](const std::string& method, uint64_t seed,
                                    const LrScheduleContext& c) {
    return RunHypergradient(method, seed, c, hyper, online_csv);
  };
  x.flags = FlagsDefinedIn("experiments/fig26_gdtuo");
  if (auto r = RunLrScheduleExperiment(x); !r.ok()) return r.status();
  return (*online)->Close();
}

}  // namespace
}  // namespace es::experiments

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Fig. 26 of the ES-Single paper: hypergradient descent (GDTUO, with and "
      "without inner resets) vs truncated ES and ES-Single on the MNIST LR "
      "schedule task. Writes <out_dir>/fig26_gdtuo{.csv,.json,_grid.csv,"
      "_online.csv}.");
  es::experiments::RecordCommandLineFlags(argc, argv);
  absl::ParseCommandLine(argc, argv);
  const absl::Status s = es::experiments::Run();
  if (!s.ok()) {
    std::fprintf(stderr, "fig26_gdtuo: %s\n", s.ToString().c_str());
    return 1;
  }
  return 0;
}
