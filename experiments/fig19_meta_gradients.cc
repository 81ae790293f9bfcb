// fig19_meta_gradients - Figure 19 of the ES-Single paper (Vicol, Kolter,
// Swersky, ICML 2023, App. C "Meta-Gradient Comparison"): PES and ES-Single
// tuning ONE global learning rate of an MLP trained on MNIST; (a) the learning
// rate over meta-optimisation with the inner-problem boundaries and the
// optimum from a 1-D grid search, (b) the per-step meta-gradient estimates.
//
// What it measures: theta = log alpha (kGlobalLr, inner/mlp_hpo.h: alpha_t =
// exp(theta_0) for every t), SGD with momentum 0.9 on a 784-100-100-10 ReLU
// MLP, minibatches of 100; meta-loss = sum of the T per-step training
// losses. Lockstep training: all particles start each inner problem together
// (the boundaries fall every T / K outer iterations). Each method's
// estimate at every outer iteration is recorded (the callback of
// estimators/meta_trainer.h) with the inner step t at which its K-step unroll
// started, t = ((iteration - 1) K) mod T.
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
// Output: <out_dir>/fig19_meta_gradients.csv (figure_io.h trace: method,
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
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "estimators/estimator_factory.h"
#include "estimators/meta_trainer.h"
#include "estimators/optimizer.h"
#include "experiments/figure_io.h"
#include "experiments/mnist_common.h"
#include "inner/mlp_hpo.h"

ABSL_FLAG(std::string, out_dir, "",
          "Output directory; empty = results/fig19_meta_gradients/ (relative "
          "paths resolve against the workspace under bazel run).");
ABSL_FLAG(bool, quick, false,
          "Seconds-long run for tests: T = 40, N = 4, 12 iterations (3 inner "
          "problems), 2000 training examples, minibatch 50, a 9-point grid on "
          "1 inner problem (flags given on the command line win).");
ABSL_FLAG(bool, scaled, false,
          "The reduced run of docs/results.md: the paper's T = 5000, "
          "K = 10, N = 10, but 1500 iterations (3 inner problems), a "
          "21-point grid on 2 inner problems, seeds 0,1 (flags given on the "
          "command line win; --quick wins).");
ABSL_FLAG(std::string, seeds, "0", "Comma-separated seeds (estimator seeds).");
ABSL_FLAG(std::string, methods, "pes,es_single",
          "Methods: pes, es_single (also tes, tes_particle, es_gen, es_mix).");
ABSL_FLAG(int, num_particles, 10, "N, particles per estimate (App. C: 10).");
ABSL_FLAG(int64_t, iterations, 2500,
          "Outer iterations per run (our choice: 5 inner problems).");
ABSL_FLAG(int64_t, horizon, 5000, "T, inner steps per inner problem (App. C: 5000).");
ABSL_FLAG(int, truncation, 10, "K, steps per partial unroll (App. C: 10).");
ABSL_FLAG(double, sigma, 0.1, "Perturbation scale (our choice; Sec. 4.2 value).");
ABSL_FLAG(double, learning_rate, 0.01,
          "Adam learning rate (our choice; Sec. 4.2 value).");
ABSL_FLAG(double, momentum, 0.9, "Inner SGD momentum (App. C: 0.9).");
ABSL_FLAG(double, initial_log_lr, -6.0,
          "Start theta_0 = log learning rate (our choice: alpha = 0.0025).");
ABSL_FLAG(int64_t, eval_every, 100,
          "Meta-loss evaluation (trace CSV row) every this many iterations.");
ABSL_FLAG(int64_t, eval_key, 1000003,
          "Episode key of the evaluation inner problem (trace; first grid key).");
ABSL_FLAG(int, grid_size, 41, "Grid-search points; 0 = no grid.");
ABSL_FLAG(std::string, grid_range, "-8,0", "min,max of log LR on the grid.");
ABSL_FLAG(int, grid_keys, 3,
          "Inner problems each grid point's meta-loss is averaged over.");
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

constexpr char kBinary[] = "fig19_meta_gradients";

absl::Status Run() {
  const auto start = std::chrono::steady_clock::now();
  const bool quick = absl::GetFlag(FLAGS_quick);
  const bool scaled = absl::GetFlag(FLAGS_scaled);
  auto seeds = ParseIntList(
      QuickScaledOr(FLAGS_seeds, quick, std::string("0"), scaled,
                    std::string("0,1")),
      "seeds");
  if (!seeds.ok()) return seeds.status();
  auto methods = ParseNameList(absl::GetFlag(FLAGS_methods), "methods");
  if (!methods.ok()) return methods.status();
  auto hidden = ParseIntList(absl::GetFlag(FLAGS_hidden_sizes), "hidden_sizes");
  if (!hidden.ok()) return hidden.status();
  auto range = ParseRange(absl::GetFlag(FLAGS_grid_range), "grid_range");
  if (!range.ok()) return range.status();
  const int grid_size = QuickScaledOr(FLAGS_grid_size, quick, 9, scaled, 21);
  const int grid_keys = QuickScaledOr(FLAGS_grid_keys, quick, 1, scaled, 2);
  if (grid_size < 0 || grid_size > 10000) {
    return absl::InvalidArgumentError(
        absl::StrCat("--grid_size must be in [0, 10000], got ", grid_size));
  }
  if (grid_keys < 1 || grid_keys > 1000) {
    return absl::InvalidArgumentError(
        absl::StrCat("--grid_keys must be in [1, 1000], got ", grid_keys));
  }
  const int n = QuickOnlyOr(FLAGS_num_particles, quick, 4);
  const int k = absl::GetFlag(FLAGS_truncation);
  const int64_t iterations =
      QuickScaledOr(FLAGS_iterations, quick, int64_t{12}, scaled, int64_t{1500});
  const int64_t eval_every =
      QuickOnlyOr(FLAGS_eval_every, quick, int64_t{4});
  const uint64_t eval_key = static_cast<uint64_t>(absl::GetFlag(FLAGS_eval_key));
  const double theta_init = absl::GetFlag(FLAGS_initial_log_lr);

  auto data = LoadMnistSplits(absl::GetFlag(FLAGS_data_dir),
                              QuickOnlyOr(FLAGS_train_examples, quick, int64_t{2000}));
  if (!data.ok()) return data.status();
  MlpHpoConfig config = MlpHpoConfig::LrSchedule();
  config.parametrization = MlpHpoConfig::Parametrization::kGlobalLr;
  config.hidden_sizes.assign(hidden->begin(), hidden->end());
  config.batch_size = QuickOnlyOr(FLAGS_batch_size, quick, int64_t{50});
  config.measure_batch_size = config.batch_size;  // unused here
  config.horizon = QuickOnlyOr(FLAGS_horizon, quick, int64_t{40});
  config.fixed_momentum = absl::GetFlag(FLAGS_momentum);
  auto problem = MlpHpoProblem::Create(config, ViewOf(data->train), MlpDataView{});
  if (!problem.ok()) return problem.status();
  const int64_t T = config.horizon;
  if (k < 1 || T % k != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--truncation K = ", k, " must be >= 1 and divide T = ", T));
  }
  OptimizerOptions oo;
  oo.kind = "adam";
  oo.learning_rate = absl::GetFlag(FLAGS_learning_rate);
  if (auto s = oo.Validate(); !s.ok()) return s;
  auto make_spec = [&](const std::string& method, int64_t seed) {
    EstimatorSpec spec;
    spec.method = method;
    spec.es.num_particles = n;
    spec.es.sigma = absl::GetFlag(FLAGS_sigma);
    spec.es.truncation = k;
    spec.es.seed = static_cast<uint64_t>(seed);
    spec.es.num_threads = absl::GetFlag(FLAGS_threads);
    return spec;
  };
  for (const std::string& m : *methods) {  // fail before any run
    if (auto e = MakeEstimator(problem->get(), make_spec(m, 0)); !e.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--methods: ", m, ": ", e.status().message()));
    }
  }

  auto out_dir = ResolveOutDir(absl::GetFlag(FLAGS_out_dir), kBinary);
  if (!out_dir.ok()) return out_dir.status();
  const std::string base = absl::StrCat(*out_dir, "/", kBinary);
  auto csv = CsvWriter::Open(base + ".csv", TraceColumns(1));
  if (!csv.ok()) return csv.status();
  auto grads = CsvWriter::Open(
      base + "_grads.csv", {"method", "seed", "iteration", "inner_step", "gradient"});
  if (!grads.ok()) return grads.status();
  auto lrs = CsvWriter::Open(base + "_lr.csv", {"method", "seed", "iteration",
                                                "inner_step", "theta_0",
                                                "learning_rate"});
  if (!lrs.ok()) return lrs.status();

  const Eigen::VectorXd theta0 = Eigen::VectorXd::Constant(1, theta_init);
  std::vector<RunSummary> runs;
  for (const std::string& method : *methods) {
    for (int64_t seed : *seeds) {
      auto est = MakeEstimator(problem->get(), make_spec(method, seed));
      if (!est.ok()) return est.status();
      auto opt = MakeOptimizer(oo, 1);
      if (!opt.ok()) return opt.status();
      MetaTrainingOptions mo;
      mo.iterations = iterations;
      mo.eval_every = eval_every;
      mo.eval_key = eval_key;
      mo.label = absl::StrCat(method, " N=", n, " seed=", seed);
      mo.progress = absl::GetFlag(FLAGS_progress);
      auto on_step = [&](int64_t it, const Estimate& e,
                         const Eigen::VectorXd& theta) -> absl::Status {
        const std::string t = absl::StrCat(((it - 1) * k) % T);
        if (auto io = (*grads)->WriteRow({method, absl::StrCat(seed),
                                          absl::StrCat(it), t,
                                          FormatDouble(e.gradient[0])});
            !io.ok()) {
          return io;
        }
        return (*lrs)->WriteRow({method, absl::StrCat(seed), absl::StrCat(it), t,
                                 FormatDouble(theta[0]),
                                 FormatDouble(std::exp(theta[0]))});
      };
      auto r = RunMetaTraining(**problem, est->get(), opt->get(), theta0, mo,
                               on_step);
      if (!r.ok()) return r.status();
      if (auto s = WriteTrace(csv->get(), method, n, seed, r->trace); !s.ok()) {
        return s;
      }
      RunSummary sum;
      sum.method = method;
      sum.num_particles = n;
      sum.seed = static_cast<uint64_t>(seed);
      sum.iterations = iterations;
      sum.seconds_per_estimate = r->seconds_per_step;
      sum.wall_seconds = r->wall_seconds;
      sum.final_meta_loss = r->trace.back().meta_loss;
      sum.final_theta = std::vector<double>{r->final_theta[0]};
      sum.particle_steps = r->particle_steps;
      sum.dropped_pairs = r->dropped_pairs;
      runs.push_back(sum);
    }
  }
  for (auto* w : {csv->get(), grads->get(), lrs->get()}) {
    if (auto s = w->Close(); !s.ok()) return s;
  }

  GridResult grid;
  if (grid_size > 0) {
    const std::vector<double> axis = Linspace(range->first, range->second, grid_size);
    RowMatrixXd thetas(grid_size, 1);
    for (int i = 0; i < grid_size; ++i) thetas(i, 0) = axis[i];
    std::vector<uint64_t> keys;
    for (int i = 0; i < grid_keys; ++i) keys.push_back(eval_key + i);
    auto g = EvaluateGrid(**problem, thetas, keys, 64,
                          absl::GetFlag(FLAGS_progress));
    if (!g.ok()) return g.status();
    grid = std::move(*g);
    if (auto s = WriteGridCsv(base + "_grid.csv", grid); !s.ok()) return s;
  }

  Sidecar sc;
  sc.binary = kBinary;
  sc.figure = "Fig. 19 (meta-gradient comparison, global LR, App. C)";
  sc.description =
      "theta = log global LR and meta-loss (sum of the T per-step training "
      "losses of a fresh unroll) over outer iterations for pes and es_single; "
      "per-iteration gradients and LRs; 1-D grid search";
  sc.flags = FlagsDefinedIn("experiments/fig19_meta_gradients");
  sc.seeds = *seeds;
  const double nan = std::nan("");
  const bool has_grid = grid.argmin >= 0;
  sc.settings = {
      {"quick", quick ? "true" : "false"},
      {"scaled", scaled ? "true" : "false"},
      {"num_particles", absl::StrCat(n)},
      {"truncation", absl::StrCat(k)},
      {"horizon", absl::StrCat(T)},
      {"iterations", absl::StrCat(iterations)},
      {"iterations_per_inner_problem", absl::StrCat(T / k)},
      {"eval_every", absl::StrCat(eval_every)},
      {"batch_size", absl::StrCat(config.batch_size)},
      {"train_examples", absl::StrCat(data->train.num_examples())},
      {"grid_points", absl::StrCat(grid.meta_loss.size())},
      {"grid_keys", absl::StrCat(grid_keys)},
      {"grid_seconds", JsonNumber(grid.seconds)},
      {"grid_min_meta_loss", JsonNumber(has_grid ? grid.meta_loss[grid.argmin] : nan)},
      {"grid_argmin_theta_0", JsonNumber(has_grid ? grid.thetas(grid.argmin, 0) : nan)}};
  sc.runs = runs;
  sc.methods = SummarizeMethods(runs, [&](const std::string&) { return n; });
  sc.wall_seconds = std::chrono::duration<double>(
                        std::chrono::steady_clock::now() - start)
                        .count();
  if (auto s = WriteSidecar(base + ".json", sc); !s.ok()) return s;
  std::printf("%s", SummaryTable(sc.methods).c_str());
  if (has_grid) {
    std::printf("(grid search: optimum log LR %.4g (LR %.4g), meta_loss %.6g; ",
                grid.thetas(grid.argmin, 0), std::exp(grid.thetas(grid.argmin, 0)),
                grid.meta_loss[grid.argmin]);
  } else {
    std::printf("(");
  }
  std::printf("wall %.1f s)\nwrote %s{.csv,.json,_grads.csv,_lr.csv%s}\n",
              sc.wall_seconds, base.c_str(), has_grid ? ",_grid.csv" : "");
  return absl::OkStatus();
}

}  // namespace
}  // namespace es::experiments

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Fig. 19 of the ES-Single paper: PES vs ES-Single meta-gradients when "
      "tuning one global learning rate of an MNIST MLP. Writes "
      "<out_dir>/fig19_meta_gradients{.csv,.json,_grads.csv,_lr.csv,_grid.csv}.");
  es::experiments::RecordCommandLineFlags(argc, argv);
  absl::ParseCommandLine(argc, argv);
  const absl::Status s = es::experiments::Run();
  if (!s.ok()) {
    std::fprintf(stderr, "fig19_meta_gradients: %s\n", s.ToString().c_str());
    return 1;
  }
  return 0;
}
