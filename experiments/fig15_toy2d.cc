// fig15_toy2d - Figure 15 of the ES-Single paper (Vicol, Kolter, Swersky,
// ICML 2023, App. C "Toy 2D Regression"; reference code App. H, Listing 1):
// meta-learning a linearly decaying learning-rate schedule on the toy 2D
// regression task (inner/toy2d.h), whose meta-loss landscape is chaotic.
//
// What it measures: theta = (log initial LR, log final LR) and the meta-loss
// (sum of the T = 100 per-step losses of a fresh full unroll at theta) over
// outer iterations, for ES-Single, PES, truncated ES ("tes", one shared
// mean state, App. C.1) and the gradient-based baselines TBPTT (K = 10),
// RTRL and UORO; plus the meta-loss landscape on a grid of theta for the
// heatmap.
//
// Setup (paper, App. C): T = 100, K = 10, N = 100, sigma = 0.3 for ES-Single
// and PES, sigma = 1.0 for truncated ES, Adam with learning rate 0.01,
// theta_0 = log(0.01, 0.01) as in Listing 1, lockstep particles. The
// gradient-based baselines (tbptt_k10, rtrl, uoro; K = 10, one trajectory,
// no particles) run on the differentiable twin inner/diff/toy2d_diff.h with
// the same Adam optimiser and iteration count; every method's meta-loss is
// evaluated on the batched inner/toy2d.h (the twins are checked to agree at
// start-up, experiments/twin_check.h). Our choices
// where the paper is silent: 10000 outer iterations (Listing 1's loop
// count), meta-loss and theta recorded every 20 iterations (Listing 1
// prints every 100; 20 gives smoother trajectories), 3 seeds, and a 241 x
// 241 landscape grid over [-8, 4]^2.
//
// Paper's result: ES-Single performs similarly to PES, both finding the
// optimal region of the meta-loss landscape; truncated ES fails because of
// truncation bias, and the gradient-based TBPTT, UORO, RTRL fail because of
// the chaotic meta-loss.
//
// Output (experiments/figure_io.h): <out_dir>/fig15_toy2d.csv with columns
// method,num_particles,seed,iteration,meta_loss,theta_0,theta_1;
// <out_dir>/fig15_toy2d_grid.csv with theta_0,theta_1,meta_loss; and
// <out_dir>/fig15_toy2d.json whose "methods" object holds, per method,
// "seconds_per_estimate" and "final_meta_loss" (means over seeds; the
// contract benchmarks/peers/ reads). Plot: tools/plot_figures.py --figure
// fig15_toy2d.
//
//   bazel run //experiments:fig15_toy2d                 # paper settings
//   bazel run //experiments:fig15_toy2d -- --quick      # seconds
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
#include "experiments/figure_io.h"
#include "experiments/landscape.h"
#include "experiments/method_registry.h"
#include "experiments/sweep.h"
#include "experiments/twin_check.h"
#include "inner/diff/toy2d_diff.h"
#include "inner/toy2d.h"

ABSL_FLAG(std::string, out_dir, "",
          "Output directory; empty = results/fig15_toy2d/ (relative paths "
          "resolve against the workspace under bazel run).");
ABSL_FLAG(bool, quick, false,
          "Seconds-long run for tests: 600 iterations, seeds 0,1, eval every "
          "50 iterations, a 21 x 21 grid (flags set to non-default values "
          "still win).");
ABSL_FLAG(std::string, seeds, "0,1,2",
          "Comma-separated seeds; every method runs once per seed.");
ABSL_FLAG(std::string, methods, "es_single,pes,tes,tbptt_k10,rtrl,uoro",
          "Methods to run. Known: es_single, pes, tes (shared mean state, "
          "sigma --tes_sigma), tes_particle, full_es, and the gradient "
          "baselines tbptt_k10, rtrl, uoro (K = --truncation for rtrl and "
          "uoro; no particles, N = 0 in the CSV).");
ABSL_FLAG(int, num_particles, 100, "N, particles per ES estimate (paper: 100).");
ABSL_FLAG(int64_t, iterations, 10000,
          "Outer iterations per run (Listing 1: 10000).");
ABSL_FLAG(int, truncation, 10, "K, inner steps per partial unroll (paper: 10).");
ABSL_FLAG(int64_t, horizon, es::Toy2d::kPaperHorizon,
          "T, inner steps per inner problem (paper: 100).");
ABSL_FLAG(double, sigma, 0.3, "Perturbation scale of ES-Single and PES (paper: 0.3).");
ABSL_FLAG(double, tes_sigma, 1.0,
          "Perturbation scale of truncated ES (tes, tes_particle; paper: 1.0).");
ABSL_FLAG(std::string, optimizer, "adam", "Outer optimiser: adam or sgd.");
ABSL_FLAG(double, learning_rate, 0.01, "Outer learning rate (paper: Adam 0.01).");
ABSL_FLAG(std::string, initial_learning_rates, "0.01,0.01",
          "Initial (initial LR, final LR) of the schedule; theta_0 = their "
          "logs (Listing 1: 0.01, 0.01).");
ABSL_FLAG(int64_t, eval_every, 20,
          "Meta-loss evaluation (and CSV row) every this many iterations.");
ABSL_FLAG(int, grid_size, 241,
          "Points per axis of the meta-loss landscape grid; 0 = no grid.");
ABSL_FLAG(std::string, grid_range, "-8,4",
          "min,max of both theta axes of the landscape grid.");
ABSL_FLAG(int, threads, 1, "Threads for each estimator's particle loop.");
ABSL_FLAG(bool, progress, true, "Progress lines on stderr.");

namespace es::experiments {
namespace {

constexpr char kBinary[] = "fig15_toy2d";

// Every method name this figure knows. ES methods run on the batched
// problem, the gradient-based baselines on its differentiable twin.
absl::Status RegisterMethods(const Toy2d* problem, const Toy2dDiff* twin,
                             double tes_sigma, MethodRegistry* registry) {
  if (auto s = AddEsMethods(problem, {"es_single", "pes", "full_es"}, registry);
      !s.ok()) {
    return s;
  }
  MethodRegistry truncated;
  if (auto s = AddEsMethods(problem, {"tes", "tes_particle"}, &truncated);
      !s.ok()) {
    return s;
  }
  for (const std::string& name : truncated.names()) {
    MethodEntry e = *truncated.Find(name);
    e.sigma = tes_sigma;
    if (auto s = registry->Add(std::move(e)); !s.ok()) return s;
  }
  return AddGradientMethods(twin, {"tbptt_k10", "rtrl", "uoro"}, registry);
}

absl::Status Run() {
  const auto start = std::chrono::steady_clock::now();
  const bool quick = absl::GetFlag(FLAGS_quick);
  const std::string seeds_text = QuickOr(FLAGS_seeds, quick, std::string("0,1"));
  const int64_t iterations = QuickOr(FLAGS_iterations, quick, int64_t{600});
  const int64_t eval_every = QuickOr(FLAGS_eval_every, quick, int64_t{50});
  const int grid_size = QuickOr(FLAGS_grid_size, quick, 21);

  auto seeds = ParseIntList(seeds_text, "seeds");
  if (!seeds.ok()) return seeds.status();
  auto method_names = ParseNameList(absl::GetFlag(FLAGS_methods), "methods");
  if (!method_names.ok()) return method_names.status();
  auto lrs = ParseDoubleList(absl::GetFlag(FLAGS_initial_learning_rates),
                             "initial_learning_rates");
  if (!lrs.ok()) return lrs.status();
  if (lrs->size() != 2 || (*lrs)[0] <= 0 || (*lrs)[1] <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--initial_learning_rates must be two positive numbers, got \"",
        absl::GetFlag(FLAGS_initial_learning_rates), "\""));
  }
  auto range = ParseDoubleList(absl::GetFlag(FLAGS_grid_range), "grid_range");
  if (!range.ok()) return range.status();
  if (range->size() != 2 || !((*range)[0] < (*range)[1])) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--grid_range must be min,max with min < max, got \"",
        absl::GetFlag(FLAGS_grid_range), "\""));
  }
  if (grid_size < 0 || grid_size > 2000) {
    return absl::InvalidArgumentError(
        absl::StrCat("--grid_size must be in [0, 2000], got ", grid_size));
  }
  const int64_t horizon = absl::GetFlag(FLAGS_horizon);
  if (horizon <= 0 || horizon > (int64_t{1} << 30)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--horizon (T) must be in [1, 2^30], got ", horizon));
  }

  Toy2d problem(horizon);
  Toy2dOptions twin_options;
  twin_options.horizon = horizon;
  auto twin = Toy2dDiff::Create(twin_options);
  if (!twin.ok()) return twin.status();
  // Outside the chaotic band (theta_0 around 0..2) the twins agree to
  // rounding; inside it rounding differences are amplified.
  if (auto s = CheckTwinsAgree(
          problem, **twin,
          {{Eigen::Vector2d(std::log(0.01), std::log(0.01)), 1e-12},
           {Eigen::Vector2d(-2.0, -3.0), 1e-12},
           {Eigen::Vector2d(2.7, -1.7), 1e-5}},
          0);
      !s.ok()) {
    return s;
  }
  MethodRegistry registry;
  if (auto s = RegisterMethods(&problem, twin->get(),
                               absl::GetFlag(FLAGS_tes_sigma), &registry);
      !s.ok()) {
    return s;
  }
  auto methods = registry.Select(*method_names);
  if (!methods.ok()) return methods.status();
  const int n = absl::GetFlag(FLAGS_num_particles);
  std::vector<RunSpec> runs;
  AppendRuns(*methods, {n}, *seeds, &runs);

  SweepOptions options;
  options.problem = &problem;
  options.theta0 = Eigen::Vector2d(std::log((*lrs)[0]), std::log((*lrs)[1]));
  options.optimizer.kind = absl::GetFlag(FLAGS_optimizer);
  options.optimizer.learning_rate = absl::GetFlag(FLAGS_learning_rate);
  if (auto s = options.optimizer.Validate(); !s.ok()) return s;
  options.meta.iterations = iterations;
  options.meta.eval_every = eval_every;
  options.meta.eval_length = 0;  // the full horizon T
  options.meta.progress = absl::GetFlag(FLAGS_progress);
  options.defaults.sigma = absl::GetFlag(FLAGS_sigma);
  options.defaults.truncation = absl::GetFlag(FLAGS_truncation);
  options.defaults.num_threads = absl::GetFlag(FLAGS_threads);

  auto out_dir = ResolveOutDir(absl::GetFlag(FLAGS_out_dir), kBinary);
  if (!out_dir.ok()) return out_dir.status();
  auto csv = CsvWriter::Open(absl::StrCat(*out_dir, "/", kBinary, ".csv"),
                             TraceColumns(problem.theta_dim()));
  if (!csv.ok()) return csv.status();
  auto summaries = RunSweep(options, runs, csv->get());
  if (!summaries.ok()) return summaries.status();
  if (auto s = (*csv)->Close(); !s.ok()) return s;

  double grid_seconds = 0.0;
  if (grid_size > 0) {
    const auto g0 = std::chrono::steady_clock::now();
    if (auto s = WriteLandscapeGrid(
            problem, grid_size, (*range)[0], (*range)[1],
            absl::StrCat(*out_dir, "/", kBinary, "_grid.csv"));
        !s.ok()) {
      return s;
    }
    grid_seconds = std::chrono::duration<double>(
                       std::chrono::steady_clock::now() - g0)
                       .count();
  }

  Sidecar sc;
  sc.binary = kBinary;
  sc.figure = "Fig. 15 (toy 2D regression, App. C)";
  sc.description =
      "theta = log(initial LR, final LR) and meta-loss (sum of the T per-step "
      "losses of a fresh full unroll) over outer iterations; meta-loss grid";
  sc.flags = FlagsDefinedIn("experiments/fig15_toy2d");
  sc.seeds = *seeds;
  sc.settings = {{"quick", quick ? "true" : "false"},
                 {"iterations", absl::StrCat(iterations)},
                 {"eval_every", absl::StrCat(eval_every)},
                 {"horizon", absl::StrCat(horizon)},
                 {"num_particles", absl::StrCat(n)},
                 {"grid_size", absl::StrCat(grid_size)},
                 {"grid_seconds", JsonNumber(grid_seconds)},
                 {"initial_meta_loss",
                  summaries->empty() ? "null"
                                     : JsonNumber(*problem.Evaluate(options.theta0, 0, 0))}};
  sc.runs = *summaries;
  sc.methods = SummarizeMethods(*summaries, [&](const std::string& m) {
    const MethodEntry* e = registry.Find(m);
    return (e != nullptr && !e->uses_particles) ? 0 : n;
  });
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
  std::printf("(initial meta_loss %.6g; wall %.1f s)\nwrote %s/%s{.csv,.json%s}\n",
              *problem.Evaluate(options.theta0, 0, 0), sc.wall_seconds,
              out_dir->c_str(), kBinary, grid_size > 0 ? ",_grid.csv" : "");
  return absl::OkStatus();
}

}  // namespace
}  // namespace es::experiments

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Fig. 15 of the ES-Single paper: toy 2D regression. Writes "
      "<out_dir>/fig15_toy2d.{csv,json} and fig15_toy2d_grid.csv.");
  absl::ParseCommandLine(argc, argv);
  const absl::Status s = es::experiments::Run();
  if (!s.ok()) {
    std::fprintf(stderr, "fig15_toy2d: %s\n", s.ToString().c_str());
    return 1;
  }
  return 0;
}
