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
#include <cmath>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "estimators/gradient/unrolled_adapter.h"
#include "estimators/philox.h"
#include "experiments/figure.h"
#include "experiments/grid.h"
#include "experiments/method_registry.h"
#include "experiments/run_loop.h"
#include "experiments/twin_check.h"
#include "inner/diff/toy2d_diff.h"
#include "inner/toy2d.h"

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

namespace es::experiments {
namespace {

std::string EsName(double sigma) {
  return absl::StrCat("es_single_sigma", FormatDouble(sigma));
}

absl::Status Run(FigureRun& run) {
  auto sigmas = ParseDoubleList(absl::GetFlag(FLAGS_sigmas), "sigmas");
  if (!sigmas.ok()) return sigmas.status();
  const bool panel_b = absl::GetFlag(FLAGS_panel_b);
  const int directions_b = absl::GetFlag(FLAGS_directions_b);
  const double sigma_b = absl::GetFlag(FLAGS_sigma_b);
  std::vector<double> all_sigmas = *sigmas;
  if (panel_b) all_sigmas.push_back(sigma_b);
  for (double s : all_sigmas) {
    if (!(s > 0.0) || !std::isfinite(s)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--sigmas / --sigma_b: every scale must be finite and > 0, got ",
          FormatDouble(s)));
    }
  }
  if (directions_b < 1 || directions_b > 1000000) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--directions_b must be in [1, 1000000], got ", directions_b));
  }
  const std::string es_problem_name = absl::GetFlag(FLAGS_es_problem);
  if (es_problem_name != "toy2d" && es_problem_name != "adapter") {
    return absl::InvalidArgumentError(absl::StrCat(
        "--es_problem must be 'toy2d' or 'adapter', got '", es_problem_name,
        "'"));
  }
  auto range = ParseRange(absl::GetFlag(FLAGS_grid_range), "grid_range");
  if (!range.ok()) return range.status();
  const int grid_size = absl::GetFlag(FLAGS_grid_size);
  if (grid_size < 0 || grid_size > 2000) {
    return absl::InvalidArgumentError(
        absl::StrCat("--grid_size must be in [0, 2000], got ", grid_size));
  }
  auto seeds = run.Seeds();
  if (!seeds.ok()) return seeds.status();

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
  // rtrl and dodge on the twin, DODGE drawing ES-Single's direction stream;
  // one "es_single_sigma<sigma>" per distinct sigma.
  MethodRegistry registry;
  GradientEstimatorSpec base;
  base.direction_stream = Stream::kSinglePerturbation;
  if (auto s = AddGradientMethods(&twin, {"rtrl", "dodge"}, &registry, base);
      !s.ok()) {
    return s;
  }
  std::vector<std::string> es_a;
  for (double sigma : all_sigmas) {
    if (registry.Find(EsName(sigma)) != nullptr) continue;
    if (auto s = AddEsVariant(es_problem, "es_single", EsName(sigma),
                              {.sigma = sigma}, &registry);
        !s.ok()) {
      return s;
    }
  }
  for (double sigma : *sigmas) {
    if (std::find(es_a.begin(), es_a.end(), EsName(sigma)) == es_a.end()) {
      es_a.push_back(EsName(sigma));
    }
  }
  std::vector<RunSpec> runs;
  AppendRuns(*registry.Select({"rtrl"}), {0}, *seeds, &runs);
  AppendRuns(*registry.Select({"dodge"}), {1}, *seeds, &runs);
  AppendRuns(*registry.Select(es_a), {2}, *seeds, &runs);
  if (panel_b) {
    AppendRuns(*registry.Select({"dodge"}), {directions_b}, *seeds, &runs);
    AppendRuns(*registry.Select({EsName(sigma_b)}), {2 * directions_b}, *seeds,
               &runs);
  }

  auto options = DefaultLoopOptions(run, &batched);  // every meta-loss on it
  if (!options.ok()) return options.status();
  const Eigen::Vector2d theta0(std::log(0.01), std::log(0.01));
  options->theta0 = [&](uint64_t) { return theta0; };
  // "methods" aggregates panel (a): RTRL, DODGE with D = 1, ES-Single N = 2.
  run.SetPrimaryParticles([](const std::string& m) {
    return m == "rtrl" ? 0 : (m == "dodge" ? 1 : 2);
  });
  run.Setting("initial_meta_loss", *batched.Evaluate(theta0, 0, 0));
  run.Setting("horizon", batched.horizon());
  if (auto s = RunLoop(run, *options, runs); !s.ok()) return s.status();
  return AddSquareGrid(run, batched, *range, grid_size);
}

}  // namespace
}  // namespace es::experiments

int main(int argc, char** argv) {
  return es::experiments::FigureMain(
      {.binary = "fig25_dodge",
       .figure = "Fig. 25 (ES-Single vs DODGE on toy 2D, App. C.6)",
       .description =
           "theta = log(initial LR, final LR) and meta-loss over outer "
           "iterations; (a) DODGE with one direction vs ES-Single with one "
           "pair on the same directions at several sigma, (b) DODGE with D "
           "directions vs ES-Single with D pairs vs RTRL; meta-loss grid",
       .presets = {{"paper", "App. C.6 settings; iterations and seeds: ours",
                    {{"seeds", "0,1,2"},
                     {"iterations", "10000"},
                     {"truncation", "1"},
                     {"optimizer", "adam"},
                     {"learning_rate", "0.01"},
                     {"eval_every", "100"},
                     {"eval_length", "0"}}},
                   {"quick", "seconds, for tests",
                    {{"seeds", "0,1"},
                     {"iterations", "1000"},
                     {"eval_every", "50"},
                     {"grid_size", "21"}}}},
       .run = es::experiments::Run},
      argc, argv);
}
