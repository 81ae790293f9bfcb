// fig25_dodge - Figure 25 of the ES-Single paper (Vicol, Kolter, Swersky,
// ICML 2023, App. C.6 "Comparison to DODGE"): ES-Single versus DODGE
// (Silver et al. 2021, directional forward gradients; estimators/gradient/
// dodge.h) on the toy 2D regression task of Fig. 15 (App. C eq. 9).
//
// What it measures: theta = (log initial LR, log final LR) and the
// full-unroll meta-loss (sum of the T = 100 per-step losses of a fresh
// unroll) over outer iterations, for
//   (a) DODGE with ONE direction per inner problem and ES-Single with ONE
//       antithetic pair (N = 2) drawing the SAME direction sequence (DODGE
//       draws u = StandardNormals(RandomKey{seed, kSinglePerturbation},
//       episode, 0, 2), which is ES-Single's pair-0 perturbation direction
//       for inner problem `episode`), at each ES-Single scale in --sigmas;
//   (b) DODGE with D = --directions_b directions (1000) and ES-Single with
//       D antithetic pairs (N = 2 D, the same D directions) at
//       sigma = --sigma_b (1e-4);
// and exact RTRL (deterministic, run once per seed like every method) as the
// reference of (b); plus the meta-loss landscape on a grid for the heatmap.
//
// Setup (paper): K = 1, T = 100, theta_0 = log(0.01, 0.01) (Listing 1),
// Adam with learning rate 0.01. ES-Single runs on the batched inner/toy2d.h
// (or, with --es_problem=adapter, on the differentiable twin through the
// generic adapter); DODGE and RTRL run on the differentiable twin
// inner/diff/toy2d_diff.h; every meta-loss is evaluated on the batched
// problem, as in Fig. 15 (the twins are checked to agree at start-up,
// experiments/twin_check.h). Our choices where the paper is silent: 10000
// outer iterations (100 inner problems), seeds 0-2, sigmas 1e-4, 0.01, 0.3
// and 1 for panel (a), evaluation every 100 iterations.
//
// What the paper reports: in (a) ES-Single with a small sigma is nearly
// identical to DODGE (piecewise-linear trajectories, one segment per inner
// problem) and gets stuck in the chaotic region of the meta-loss, while a
// large sigma lets ES-Single cross it and reach the optimal region; in (b)
// both come very close to exact RTRL.
//
// Output (experiments/figure_io.h), in --out_dir (default
// results/fig25_dodge/):
//   fig25_dodge.csv       method,num_particles,seed,iteration,meta_loss,
//                         theta_0,theta_1; method is "rtrl", "dodge" or
//                         "es_single_sigma<sigma>"; num_particles is
//                         ES-Single's N, DODGE's number of directions D, and
//                         0 for RTRL (panel a: N = 2 / D = 1; panel b:
//                         N = 2 D / D).
//   fig25_dodge_grid.csv  theta_0,theta_1,meta_loss on the landscape grid.
//   fig25_dodge.json      sidecar: flags, seeds, settings, git commit,
//                         library versions, wall time, every run's finals.
// Plot: tools/plot_figures.py --figure fig25_dodge.
//
//   bazel run //experiments:fig25_dodge                 # paper settings
//   bazel run //experiments:fig25_dodge -- --quick      # about a second
#include <algorithm>
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
#include "absl/strings/str_join.h"
#include "estimators/gradient/unrolled_adapter.h"
#include "estimators/philox.h"
#include "experiments/figure_io.h"
#include "experiments/landscape.h"
#include "experiments/method_registry.h"
#include "experiments/sweep.h"
#include "experiments/twin_check.h"
#include "inner/diff/toy2d_diff.h"
#include "inner/toy2d.h"

ABSL_FLAG(std::string, out_dir, "",
          "Output directory; empty = results/fig25_dodge/ (relative paths "
          "resolve against the workspace under bazel run).");
ABSL_FLAG(bool, quick, false,
          "Seconds-long run for tests: seeds 0,1, 1000 iterations, eval every "
          "50 iterations, a 21 x 21 grid (flags set to non-default values "
          "still win).");
ABSL_FLAG(std::string, seeds, "0,1,2",
          "Comma-separated seeds; every configuration runs once per seed.");
ABSL_FLAG(int64_t, iterations, 10000,
          "Outer iterations per run (K = 1: 100 iterations per inner problem).");
ABSL_FLAG(int64_t, eval_every, 100,
          "Meta-loss evaluation (and CSV row) every this many iterations.");
ABSL_FLAG(double, learning_rate, 0.01, "Adam learning rate (paper: 0.01).");
ABSL_FLAG(std::string, sigmas, "0.0001,0.01,0.3,1",
          "Panel (a): ES-Single perturbation scales (N = 2, one direction).");
ABSL_FLAG(int, directions_b, 1000,
          "Panel (b): DODGE directions D (ES-Single uses N = 2 D particles).");
ABSL_FLAG(double, sigma_b, 1e-4,
          "Panel (b): ES-Single perturbation scale (paper: 1e-4).");
ABSL_FLAG(bool, panel_b, true, "Run panel (b).");
ABSL_FLAG(std::string, es_problem, "toy2d",
          "Problem ES-Single runs on: 'toy2d' (batched inner/toy2d.h) or "
          "'adapter' (inner/diff/toy2d_diff.h through the generic adapter).");
ABSL_FLAG(int, grid_size, 301,
          "Points per axis of the meta-loss landscape grid; 0 = no grid.");
ABSL_FLAG(std::string, grid_range, "-16,4",
          "min,max of both theta axes of the landscape grid (wide enough for "
          "the theta_1 the trajectories reach).");
ABSL_FLAG(bool, progress, true, "Progress lines on stderr.");

namespace es::experiments {
namespace {

constexpr char kBinary[] = "fig25_dodge";
constexpr int kTruncation = 1;  // K (paper: 1)

std::string EsName(double sigma) {
  return absl::StrCat("es_single_sigma", FormatDouble(sigma));
}

// rtrl and dodge on the differentiable twin (DODGE with ES-Single's
// direction stream), and one "es_single_sigma<sigma>" entry per distinct
// sigma on `es_problem`.
absl::Status RegisterMethods(const UnrolledProblem* es_problem,
                             const Toy2dDiff* twin,
                             const std::vector<double>& sigmas,
                             MethodRegistry* registry) {
  GradientEstimatorSpec base;
  base.direction_stream = Stream::kSinglePerturbation;  // = ES-Single's
  if (auto s = AddGradientMethods(twin, {"rtrl", "dodge"}, registry, base);
      !s.ok()) {
    return s;
  }
  MethodRegistry es;
  if (auto s = AddEsMethods(es_problem, {"es_single"}, &es); !s.ok()) return s;
  for (double sigma : sigmas) {
    if (registry->Find(EsName(sigma)) != nullptr) continue;
    MethodEntry e = *es.Find("es_single");
    e.name = EsName(sigma);
    e.description = absl::StrCat("ES-Single with sigma = ", FormatDouble(sigma));
    e.sigma = sigma;
    if (auto s = registry->Add(std::move(e)); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status Run() {
  const auto start = std::chrono::steady_clock::now();
  const bool quick = absl::GetFlag(FLAGS_quick);
  const std::string seeds_text = QuickOr(FLAGS_seeds, quick, std::string("0,1"));
  const int64_t iterations = QuickOr(FLAGS_iterations, quick, int64_t{1000});
  const int64_t eval_every = QuickOr(FLAGS_eval_every, quick, int64_t{50});
  const int grid_size = QuickOr(FLAGS_grid_size, quick, 21);

  auto seeds = ParseIntList(seeds_text, "seeds");
  if (!seeds.ok()) return seeds.status();
  auto sigmas = ParseDoubleList(absl::GetFlag(FLAGS_sigmas), "sigmas");
  if (!sigmas.ok()) return sigmas.status();
  for (double s : *sigmas) {
    if (!(s > 0.0) || !std::isfinite(s)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--sigmas: every scale must be finite and > 0, got ", FormatDouble(s)));
    }
  }
  const int directions_b = absl::GetFlag(FLAGS_directions_b);
  if (directions_b < 1 || directions_b > 1000000) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--directions_b must be in [1, 1000000], got ", directions_b));
  }
  const double sigma_b = absl::GetFlag(FLAGS_sigma_b);
  if (!(sigma_b > 0.0) || !std::isfinite(sigma_b)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--sigma_b must be finite and > 0, got ", FormatDouble(sigma_b)));
  }
  const bool panel_b = absl::GetFlag(FLAGS_panel_b);
  const std::string es_problem_name = absl::GetFlag(FLAGS_es_problem);
  if (es_problem_name != "toy2d" && es_problem_name != "adapter") {
    return absl::InvalidArgumentError(absl::StrCat(
        "--es_problem must be 'toy2d' or 'adapter', got '", es_problem_name,
        "'"));
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

  Toy2d batched;
  Toy2dDiff twin;
  DifferentiableUnrolledProblem adapter(&twin);
  // Outside the chaotic band (theta_0 around 0..2) the twins agree to
  // rounding; inside it rounding differences are amplified (at
  // theta = (1, -2) a 1e-15 change of theta_0 moves the meta-loss by 2e-7
  // relative).
  if (auto s = CheckTwinsAgree(
          batched, twin,
          {{Eigen::Vector2d(std::log(0.01), std::log(0.01)), 1e-12},
           {Eigen::Vector2d(-2.0, -3.0), 1e-12},
           {Eigen::Vector2d(1.0, -2.0), 1e-5},
           {Eigen::Vector2d(2.7, -1.7), 1e-5}},
          0);
      !s.ok()) {
    return s;
  }
  const UnrolledProblem* es_problem =
      es_problem_name == "toy2d" ? static_cast<const UnrolledProblem*>(&batched)
                                 : &adapter;
  std::vector<double> all_sigmas = *sigmas;
  if (panel_b) all_sigmas.push_back(sigma_b);
  MethodRegistry registry;
  if (auto s = RegisterMethods(es_problem, &twin, all_sigmas, &registry);
      !s.ok()) {
    return s;
  }

  std::vector<RunSpec> runs;
  auto select = [&](const std::vector<std::string>& names) {
    return *registry.Select(names);  // names registered above
  };
  AppendRuns(select({"rtrl"}), {0}, *seeds, &runs);
  AppendRuns(select({"dodge"}), {1}, *seeds, &runs);
  std::vector<std::string> es_a;
  for (double s : *sigmas) {
    if (std::find(es_a.begin(), es_a.end(), EsName(s)) == es_a.end()) {
      es_a.push_back(EsName(s));
    }
  }
  AppendRuns(select(es_a), {2}, *seeds, &runs);
  if (panel_b) {
    AppendRuns(select({"dodge"}), {directions_b}, *seeds, &runs);
    AppendRuns(select({EsName(sigma_b)}), {2 * directions_b}, *seeds, &runs);
  }

  SweepOptions options;
  options.problem = &batched;  // every meta-loss, as in Fig. 15
  options.theta0 = Eigen::Vector2d(std::log(0.01), std::log(0.01));
  options.optimizer.kind = "adam";
  options.optimizer.learning_rate = absl::GetFlag(FLAGS_learning_rate);
  if (auto s = options.optimizer.Validate(); !s.ok()) return s;
  options.meta.iterations = iterations;
  options.meta.eval_every = eval_every;
  options.meta.eval_length = 0;  // the full horizon T
  options.meta.progress = absl::GetFlag(FLAGS_progress);
  options.defaults.truncation = kTruncation;
  options.defaults.num_threads = 1;

  auto out_dir = ResolveOutDir(absl::GetFlag(FLAGS_out_dir), kBinary);
  if (!out_dir.ok()) return out_dir.status();
  auto csv = CsvWriter::Open(absl::StrCat(*out_dir, "/", kBinary, ".csv"),
                             TraceColumns(2));
  if (!csv.ok()) return csv.status();
  auto summaries = RunSweep(options, runs, csv->get());
  if (!summaries.ok()) return summaries.status();
  if (auto s = (*csv)->Close(); !s.ok()) return s;

  double grid_seconds = 0.0;
  if (grid_size > 0) {
    const auto g0 = std::chrono::steady_clock::now();
    if (auto s = WriteLandscapeGrid(
            batched, grid_size, (*range)[0], (*range)[1],
            absl::StrCat(*out_dir, "/", kBinary, "_grid.csv"));
        !s.ok()) {
      return s;
    }
    grid_seconds = std::chrono::duration<double>(
                       std::chrono::steady_clock::now() - g0)
                       .count();
  }

  const double initial_meta_loss = *batched.Evaluate(options.theta0, 0, 0);
  Sidecar sc;
  sc.binary = kBinary;
  sc.figure = "Fig. 25 (ES-Single vs DODGE on toy 2D, App. C.6)";
  sc.description =
      "theta = log(initial LR, final LR) and meta-loss (sum of the T per-step "
      "losses of a fresh full unroll) over outer iterations; (a) DODGE with "
      "one direction vs ES-Single with one pair on the same directions at "
      "several sigma, (b) DODGE with D directions vs ES-Single with D pairs "
      "vs RTRL; meta-loss grid";
  sc.flags = FlagsDefinedIn("experiments/fig25_dodge");
  sc.seeds = *seeds;
  std::vector<std::string> sigma_text;
  for (double s : *sigmas) sigma_text.push_back(JsonNumber(s));
  sc.settings = {{"quick", quick ? "true" : "false"},
                 {"iterations", absl::StrCat(iterations)},
                 {"eval_every", absl::StrCat(eval_every)},
                 {"truncation", absl::StrCat(kTruncation)},
                 {"horizon", absl::StrCat(batched.horizon())},
                 {"sigmas_a", absl::StrCat("[", absl::StrJoin(sigma_text, ", "), "]")},
                 {"directions_b", panel_b ? absl::StrCat(directions_b) : "null"},
                 {"sigma_b", panel_b ? JsonNumber(sigma_b) : "null"},
                 {"es_problem", JsonString(es_problem_name)},
                 {"grid_size", absl::StrCat(grid_size)},
                 {"grid_seconds", JsonNumber(grid_seconds)},
                 {"initial_meta_loss", JsonNumber(initial_meta_loss)}};
  sc.runs = *summaries;
  // "methods" aggregates panel (a): RTRL, DODGE with D = 1, ES-Single N = 2.
  sc.methods = SummarizeMethods(*summaries, [](const std::string& m) {
    return m == "rtrl" ? 0 : (m == "dodge" ? 1 : 2);
  });
  sc.wall_seconds = std::chrono::duration<double>(
                        std::chrono::steady_clock::now() - start)
                        .count();
  if (auto s = WriteSidecar(absl::StrCat(*out_dir, "/", kBinary, ".json"), sc);
      !s.ok()) {
    return s;
  }

  std::printf("%-24s %6s %5s %12s %10s %10s %12s\n", "method", "N/D",
              "seed", "final_loss", "theta_0", "theta_1", "s/estimate");
  for (const RunSummary& r : *summaries) {
    std::printf("%-24s %6d %5llu %12.2f %10.4f %10.4f %12.3g\n",
                r.method.c_str(), r.num_particles,
                static_cast<unsigned long long>(r.seed), r.final_meta_loss,
                r.final_theta[0], r.final_theta[1], r.seconds_per_estimate);
  }
  std::printf("(initial meta_loss %.6g; wall %.1f s)\nwrote %s/%s{.csv,.json%s}\n",
              initial_meta_loss, sc.wall_seconds, out_dir->c_str(), kBinary,
              grid_size > 0 ? ",_grid.csv" : "");
  return absl::OkStatus();
}

}  // namespace
}  // namespace es::experiments

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Fig. 25 of the ES-Single paper: ES-Single vs DODGE on toy 2D "
      "regression. Writes <out_dir>/fig25_dodge.{csv,json} and "
      "fig25_dodge_grid.csv.");
  absl::ParseCommandLine(argc, argv);
  const absl::Status s = es::experiments::Run();
  if (!s.ok()) {
    std::fprintf(stderr, "fig25_dodge: %s\n", s.ToString().c_str());
    return 1;
  }
  return 0;
}
