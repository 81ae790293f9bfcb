// fig8_fmnist_telescoping - Figure 8 of the ES-Single paper (Vicol, Kolter,
// Swersky, ICML 2023, Sec. 4.2 "Telescoping Sums", eq. 6, and App. C
// "Telescoping Sums"): meta-optimising the learning-rate schedule of an MLP
// on FashionMNIST with the FINAL training loss L_T as the meta-objective,
// reached through a telescoping sum of per-unroll loss differences.
//
// What it measures: theta = (log init LR, log LR decay) of the schedule
//   alpha_t = exp(theta_0) / (1 + t / Q)^exp(theta_1)
// for SGD with momentum 0.9 on a 784-100-100-10 ReLU MLP (inner/mlp_hpo.h),
// and the meta-loss L_T: the training loss after T steps on a minibatch of
// 1000 training examples fixed for the inner problem (App. C). Each partial
// unroll of K steps reports p = L(s_end) - L(s_start) (TelescopingProblem,
// estimators/telescoping.h), so the per-unroll losses of an inner problem sum
// to L_T. Methods: truncated ES with one shared mean state ("tes", vanilla
// ES), PES and ES-Single, all with the same Adam outer optimiser and the same
// start. Outputs the trajectory of theta and the meta-loss of a fresh full
// unroll at theta (a fixed evaluation inner problem, --eval_key) every
// --eval_every iterations, plus the meta-loss on a grid of theta (computed
// once, on the same evaluation inner problem) for the contour plot.
//
// Setup. The paper states for this task only the 2-layer, 100-unit MLP and
// the fixed 1000-example minibatch; the rest follows App. C "Meta-Learning
// MNIST LR Schedule", which this figure extends: T = 5000, Q = 5000, K = 10,
// N = 1000 particles, sigma = 0.1, Adam with learning rate 1e-2, momentum
// 0.9, minibatches of 100 (App. C, Tuning Many Hyperparameters). These are
// the flag defaults. Our choices where the paper is silent: the start theta
// (-5, 2): a small LR with a fast decay, 3000 outer iterations (6 inner
// problems), one seed,
// evaluation every 100 iterations on one fixed inner problem, an 11 x 11
// grid. FashionMNIST training split: the first 50000 training images (the
// last 10000 are the validation split of inner/data/datasets.h). Lockstep
// particles: all particles share each inner problem's initial weights and
// minibatches (episode key), antithetic pairs share everything but the sign
// of the perturbation.
//
// Cost: one inner step of one particle is ~38 MFLOP (2x100 MLP, B = 100)
// plus the 1000-example measurement forward per unroll; the paper's N = 1000
// x 3000 iterations x K = 10 is 3e7 particle-steps per method, days on the
// 2-core CI machine: docs/results.md states the scaled flags it ran.
//
// Paper's result: ES-Single's trajectory is much smoother than PES's, follows
// the meta-loss contours more closely and is more stable near the optimum
// (Fig. 8a); ES-Single reaches the optimal meta-loss faster than PES, and
// truncated ES suffers from truncation bias (Fig. 8b).
//
// Output (experiments/figure_io.h): <out_dir>/fig8_fmnist_telescoping.csv with
// columns method,num_particles,seed,iteration,meta_loss,theta_0,theta_1;
// <out_dir>/fig8_fmnist_telescoping_grid.csv with theta_0,theta_1,meta_loss;
// <out_dir>/fig8_fmnist_telescoping.json. Plot:
// /usr/bin/python3 tools/plot_hpo_figures.py --figure fig8.
//
//   bazel run //experiments:fig8_fmnist_telescoping                # paper settings
//   bazel run //experiments:fig8_fmnist_telescoping -- --quick     # seconds
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "estimators/estimator_factory.h"
#include "estimators/meta_trainer.h"
#include "estimators/optimizer.h"
#include "estimators/telescoping.h"
#include "experiments/figure_io.h"
#include "inner/data/datasets.h"
#include "inner/mlp_hpo.h"

ABSL_FLAG(std::string, out_dir, "",
          "Output directory; empty = results/fig8_fmnist_telescoping/ "
          "(relative paths resolve against the workspace under bazel run).");
ABSL_FLAG(bool, quick, false,
          "Seconds-long run for tests: T = Q = 40, N = 4, 40 iterations, "
          "2000 training examples, minibatch 50, measurement set 200, a 4 x 4 "
          "grid (flags set to non-default values still win).");
ABSL_FLAG(std::string, seeds, "0", "Comma-separated seeds (estimator seeds).");
ABSL_FLAG(std::string, methods, "tes,pes,es_single",
          "Methods: tes (truncated ES, shared mean state), pes, es_single, "
          "tes_particle, full_es.");
ABSL_FLAG(int, num_particles, 1000,
          "N, particles per estimate (App. C, MNIST LR schedule: 1000).");
ABSL_FLAG(int64_t, iterations, 3000, "Outer iterations per run (our choice).");
ABSL_FLAG(int64_t, horizon, 5000, "T, inner steps per inner problem (App. C: 5000).");
ABSL_FLAG(double, schedule_q, 5000.0, "Q of the LR schedule (Sec. 4.2: 5000).");
ABSL_FLAG(int, truncation, 10, "K, steps per partial unroll (App. C: 10).");
ABSL_FLAG(double, sigma, 0.1, "Perturbation scale (App. C: 0.1).");
ABSL_FLAG(double, learning_rate, 0.01, "Adam learning rate (App. C: 1e-2).");
ABSL_FLAG(double, momentum, 0.9, "Inner SGD momentum (App. C: 0.9).");
ABSL_FLAG(std::string, initial_theta, "-5,2",
          "Start (log init LR, log LR decay) (our choice: a small LR with a "
          "fast decay, away from the optimum).");
ABSL_FLAG(int64_t, eval_every, 100,
          "Meta-loss evaluation (and CSV row) every this many iterations.");
ABSL_FLAG(int64_t, eval_key, 1000003,
          "Episode key of the evaluation inner problem (trace and grid).");
ABSL_FLAG(int, grid_size, 11, "Grid points per axis; 0 = no grid.");
ABSL_FLAG(std::string, grid_range_lr, "-6,0",
          "min,max of log init LR (theta_0) on the grid.");
ABSL_FLAG(std::string, grid_range_decay, "-3,3",
          "min,max of log LR decay (theta_1) on the grid.");
ABSL_FLAG(std::string, hidden_sizes, "100,100", "Hidden layer sizes (paper: 100,100).");
ABSL_FLAG(int64_t, batch_size, 100, "Inner minibatch size (App. C: 100).");
ABSL_FLAG(int64_t, measure_batch_size, 1000,
          "Fixed per-inner-problem minibatch of the final loss (App. C: 1000).");
ABSL_FLAG(int64_t, train_examples, 0,
          "Use the first n training examples (0 = the whole 50000 split).");
ABSL_FLAG(std::string, data_dir, es::kFashionMnistDefaultDir,
          "FashionMNIST IDX directory.");
ABSL_FLAG(int, threads, 1, "Threads for each estimator's particle loop.");
ABSL_FLAG(bool, progress, true, "Progress lines on stderr.");

namespace es::experiments {
namespace {

constexpr char kBinary[] = "fig8_fmnist_telescoping";

absl::StatusOr<std::pair<double, double>> ParseRange(const std::string& text,
                                                     const char* flag) {
  auto r = ParseDoubleList(text, flag);
  if (!r.ok()) return r.status();
  if (r->size() != 2 || !((*r)[0] <= (*r)[1])) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", flag, " must be min,max with min <= max, got \"", text, "\""));
  }
  return std::make_pair((*r)[0], (*r)[1]);
}

absl::Status Run() {
  const auto start = std::chrono::steady_clock::now();
  const bool quick = absl::GetFlag(FLAGS_quick);
  const std::string seeds_text = QuickOr(FLAGS_seeds, quick, std::string("0"));
  const int n = QuickOr(FLAGS_num_particles, quick, 4);
  const int64_t iterations = QuickOr(FLAGS_iterations, quick, int64_t{40});
  const int64_t horizon = QuickOr(FLAGS_horizon, quick, int64_t{40});
  const double q = QuickOr(FLAGS_schedule_q, quick, 40.0);
  const int64_t eval_every = QuickOr(FLAGS_eval_every, quick, int64_t{10});
  const int grid_size = QuickOr(FLAGS_grid_size, quick, 4);
  const int64_t batch = QuickOr(FLAGS_batch_size, quick, int64_t{50});
  const int64_t measure = QuickOr(FLAGS_measure_batch_size, quick, int64_t{200});
  const int64_t train_examples =
      QuickOr(FLAGS_train_examples, quick, int64_t{2000});
  const int k = absl::GetFlag(FLAGS_truncation);
  const uint64_t eval_key = static_cast<uint64_t>(absl::GetFlag(FLAGS_eval_key));

  auto seeds = ParseIntList(seeds_text, "seeds");
  if (!seeds.ok()) return seeds.status();
  auto methods = ParseNameList(absl::GetFlag(FLAGS_methods), "methods");
  if (!methods.ok()) return methods.status();
  for (const std::string& m : *methods) {
    if (m != "tes" && m != "pes" && m != "es_single" && m != "tes_particle" &&
        m != "full_es") {
      return absl::InvalidArgumentError(absl::StrCat(
          "--methods: unknown method \"", m,
          "\"; known: tes, pes, es_single, tes_particle, full_es"));
    }
  }
  auto init = ParseDoubleList(absl::GetFlag(FLAGS_initial_theta), "initial_theta");
  if (!init.ok()) return init.status();
  if (init->size() != 2) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--initial_theta must be two numbers (log init LR, log decay), got \"",
        absl::GetFlag(FLAGS_initial_theta), "\""));
  }
  auto hidden = ParseIntList(absl::GetFlag(FLAGS_hidden_sizes), "hidden_sizes");
  if (!hidden.ok()) return hidden.status();
  auto range_lr = ParseRange(absl::GetFlag(FLAGS_grid_range_lr), "grid_range_lr");
  if (!range_lr.ok()) return range_lr.status();
  auto range_decay =
      ParseRange(absl::GetFlag(FLAGS_grid_range_decay), "grid_range_decay");
  if (!range_decay.ok()) return range_decay.status();
  if (grid_size < 0 || grid_size > 200) {
    return absl::InvalidArgumentError(
        absl::StrCat("--grid_size must be in [0, 200], got ", grid_size));
  }
  if (train_examples < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--train_examples must be >= 0 (0 = all), got ", train_examples));
  }

  auto data = LoadFashionMnist(absl::GetFlag(FLAGS_data_dir));
  if (!data.ok()) return data.status();
  LabeledImages train = train_examples > 0 && train_examples < data->train.num_examples()
                            ? SliceExamples(data->train, 0, train_examples)
                            : std::move(data->train);
  const MlpDataView train_view{train.images, train.labels, train.num_features()};

  MlpHpoConfig config = MlpHpoConfig::LrSchedule();
  config.hidden_sizes.assign(hidden->begin(), hidden->end());
  config.batch_size = batch;
  config.horizon = horizon;
  config.schedule_q = q;
  config.fixed_momentum = absl::GetFlag(FLAGS_momentum);
  config.measure_batch_size = measure;
  auto problem = MlpHpoProblem::Create(config, train_view, MlpDataView{});
  if (!problem.ok()) return problem.status();
  TelescopingProblem target(problem->get());

  OptimizerOptions oo;
  oo.kind = "adam";
  oo.learning_rate = absl::GetFlag(FLAGS_learning_rate);
  if (auto s = oo.Validate(); !s.ok()) return s;
  const Eigen::Vector2d theta0((*init)[0], (*init)[1]);

  auto out_dir = ResolveOutDir(absl::GetFlag(FLAGS_out_dir), kBinary);
  if (!out_dir.ok()) return out_dir.status();
  auto csv = CsvWriter::Open(absl::StrCat(*out_dir, "/", kBinary, ".csv"),
                             TraceColumns(2));
  if (!csv.ok()) return csv.status();

  // Build every estimator first so that bad settings fail before any run.
  std::vector<RunSummary> runs;
  for (const std::string& method : *methods) {
    for (int64_t seed : *seeds) {
      EstimatorSpec spec;
      spec.method = method;
      spec.es.num_particles = n;
      spec.es.sigma = absl::GetFlag(FLAGS_sigma);
      spec.es.truncation = k;
      spec.es.seed = static_cast<uint64_t>(seed);
      spec.es.num_threads = absl::GetFlag(FLAGS_threads);
      if (auto e = MakeEstimator(&target, spec); !e.ok()) return e.status();
    }
  }
  for (const std::string& method : *methods) {
    for (int64_t seed : *seeds) {
      EstimatorSpec spec;
      spec.method = method;
      spec.es.num_particles = n;
      spec.es.sigma = absl::GetFlag(FLAGS_sigma);
      spec.es.truncation = k;
      spec.es.seed = static_cast<uint64_t>(seed);
      spec.es.num_threads = absl::GetFlag(FLAGS_threads);
      auto est = MakeEstimator(&target, spec);
      if (!est.ok()) return est.status();
      auto opt = MakeOptimizer(oo, 2);
      if (!opt.ok()) return opt.status();
      MetaTrainingOptions mo;
      mo.iterations = iterations;
      mo.eval_every = eval_every;
      mo.eval_length = 0;
      mo.eval_key = eval_key;
      mo.label = absl::StrCat(method, " N=", n, " seed=", seed);
      mo.progress = absl::GetFlag(FLAGS_progress);
      auto result = RunMetaTraining(target, est->get(), opt->get(), theta0, mo);
      if (!result.ok()) return result.status();
      if (auto s = WriteTrace(csv->get(), method, n, seed, result->trace);
          !s.ok()) {
        return s;
      }
      RunSummary r;
      r.method = method;
      r.num_particles = n;
      r.seed = static_cast<uint64_t>(seed);
      r.iterations = iterations;
      r.seconds_per_estimate = result->seconds_per_step;
      r.wall_seconds = result->wall_seconds;
      r.final_meta_loss = result->trace.back().meta_loss;
      r.final_theta.assign(result->final_theta.data(),
                           result->final_theta.data() + 2);
      r.particle_steps = result->particle_steps;
      r.dropped_pairs = result->dropped_pairs;
      runs.push_back(r);
    }
  }
  if (auto s = (*csv)->Close(); !s.ok()) return s;

  // The meta-loss landscape on the evaluation inner problem.
  double grid_seconds = 0.0;
  double grid_min = std::nan(""), grid_argmin0 = std::nan(""),
         grid_argmin1 = std::nan("");
  if (grid_size > 0) {
    const auto g0 = std::chrono::steady_clock::now();
    RowMatrixXd thetas(grid_size * grid_size, 2);
    auto axis = [&](std::pair<double, double> r, int i) {
      return grid_size == 1 ? r.first
                            : r.first + (r.second - r.first) * i / (grid_size - 1);
    };
    for (int i = 0; i < grid_size; ++i) {
      for (int j = 0; j < grid_size; ++j) {
        thetas(i * grid_size + j, 0) = axis(*range_lr, i);
        thetas(i * grid_size + j, 1) = axis(*range_decay, j);
      }
    }
    auto eval = (*problem)->EvaluateBatch(thetas, 0, eval_key, 32);
    if (!eval.ok()) return eval.status();
    auto grid_csv =
        CsvWriter::Open(absl::StrCat(*out_dir, "/", kBinary, "_grid.csv"),
                        {"theta_0", "theta_1", "meta_loss"});
    if (!grid_csv.ok()) return grid_csv.status();
    for (int r = 0; r < thetas.rows(); ++r) {
      const double loss = eval->final_loss[r];
      if (std::isfinite(loss) && !(loss >= grid_min)) {
        grid_min = loss;
        grid_argmin0 = thetas(r, 0);
        grid_argmin1 = thetas(r, 1);
      }
      if (auto s = (*grid_csv)->WriteRow({FormatDouble(thetas(r, 0)),
                                          FormatDouble(thetas(r, 1)),
                                          FormatDouble(loss)});
          !s.ok()) {
        return s;
      }
    }
    if (auto s = (*grid_csv)->Close(); !s.ok()) return s;
    grid_seconds = std::chrono::duration<double>(
                       std::chrono::steady_clock::now() - g0)
                       .count();
  }

  auto initial = target.Evaluate(theta0, 0, eval_key);
  if (!initial.ok()) return initial.status();
  Sidecar sc;
  sc.binary = kBinary;
  sc.figure = "Fig. 8 (FashionMNIST LR schedule, telescoping sum, Sec. 4.2)";
  sc.description =
      "theta = (log init LR, log LR decay) and meta-loss L_T (final training "
      "loss on the inner problem's fixed measurement minibatch, reached by a "
      "telescoping sum) over outer iterations; meta-loss grid";
  sc.flags = FlagsDefinedIn("experiments/fig8_fmnist_telescoping");
  sc.seeds = *seeds;
  sc.settings = {{"quick", quick ? "true" : "false"},
                 {"num_particles", absl::StrCat(n)},
                 {"iterations", absl::StrCat(iterations)},
                 {"horizon", absl::StrCat(horizon)},
                 {"schedule_q", JsonNumber(q)},
                 {"batch_size", absl::StrCat(batch)},
                 {"measure_batch_size", absl::StrCat(measure)},
                 {"train_examples", absl::StrCat(train.num_examples())},
                 {"eval_every", absl::StrCat(eval_every)},
                 {"grid_size", absl::StrCat(grid_size)},
                 {"grid_seconds", JsonNumber(grid_seconds)},
                 {"grid_min_meta_loss", JsonNumber(grid_min)},
                 {"grid_argmin_theta_0", JsonNumber(grid_argmin0)},
                 {"grid_argmin_theta_1", JsonNumber(grid_argmin1)},
                 {"initial_meta_loss", JsonNumber(*initial)},
                 {"flops_per_particle_step",
                  JsonNumber((*problem)->FlopsPerParticleStep())}};
  sc.runs = runs;
  sc.methods = SummarizeMethods(runs, [&](const std::string&) { return n; });
  sc.wall_seconds = std::chrono::duration<double>(
                        std::chrono::steady_clock::now() - start)
                        .count();
  if (auto s = WriteSidecar(absl::StrCat(*out_dir, "/", kBinary, ".json"), sc);
      !s.ok()) {
    return s;
  }
  std::printf("%-12s %6s %24s %16s %14s\n", "method", "seeds",
              "final theta (mean)", "final meta_loss", "s/estimate");
  for (const MethodSummary& m : sc.methods) {
    std::printf("%-12s %6zu %11.4g, %11.4g %16.6g %14.3g\n", m.method.c_str(),
                m.final_meta_loss_per_seed.size(), m.final_theta_mean[0],
                m.final_theta_mean[1], m.final_meta_loss,
                m.seconds_per_estimate);
  }
  std::printf(
      "(initial meta_loss %.6g; grid min %.6g at (%.3g, %.3g); wall %.1f s)\n"
      "wrote %s/%s{.csv,.json%s}\n",
      *initial, grid_min, grid_argmin0, grid_argmin1, sc.wall_seconds,
      out_dir->c_str(), kBinary, grid_size > 0 ? ",_grid.csv" : "");
  return absl::OkStatus();
}

}  // namespace
}  // namespace es::experiments

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Fig. 8 of the ES-Single paper: FashionMNIST LR schedule targeting the "
      "final training loss via telescoping sums. Writes "
      "<out_dir>/fig8_fmnist_telescoping{.csv,.json,_grid.csv}.");
  absl::ParseCommandLine(argc, argv);
  const absl::Status s = es::experiments::Run();
  if (!s.ok()) {
    std::fprintf(stderr, "fig8_fmnist_telescoping: %s\n", s.ToString().c_str());
    return 1;
  }
  return 0;
}
