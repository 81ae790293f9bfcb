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
// --precision=float32 runs the batched problem (ES methods and every
// meta-loss evaluation, grid included) in float32 with SLEEF's vector
// functions (Toy2dPrecision::kFloat32, the precision of the paper's JAX
// code); the default float64 is what the goldens and docs/results.md use.
// The gradient baselines' twin stays float64, and the start-up twin check
// compares the twin with the float64 problem (it checks the formula).
//
//   bazel run //experiments:fig15_toy2d                 # paper settings
//   bazel run //experiments:fig15_toy2d -- --quick      # seconds
#include <cmath>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "experiments/figure.h"
#include "experiments/grid.h"
#include "experiments/method_registry.h"
#include "experiments/run_loop.h"
#include "experiments/twin_check.h"
#include "inner/diff/toy2d_diff.h"
#include "inner/toy2d.h"

ABSL_FLAG(int64_t, horizon, es::Toy2d::kPaperHorizon,
          "T, inner steps per inner problem (paper: 100).");
ABSL_FLAG(std::string, precision, "float64",
          "float64 (default) or float32: precision of the batched inner "
          "problem (inner/toy2d.h; float32 = SLEEF AVX2, the paper's JAX "
          "precision).");
ABSL_FLAG(double, tes_sigma, 1.0,
          "Perturbation scale of truncated ES (tes, tes_particle; paper: 1.0).");
ABSL_FLAG(std::string, initial_learning_rates, "0.01,0.01",
          "Initial (initial LR, final LR) of the schedule; theta_0 = their "
          "logs (Listing 1: 0.01, 0.01).");
ABSL_FLAG(int, grid_size, 241,
          "Points per axis of the meta-loss landscape grid; 0 = no grid.");
ABSL_FLAG(std::string, grid_range, "-8,4",
          "min,max of both theta axes of the landscape grid.");

namespace es::experiments {
namespace {

absl::Status Run(FigureRun& run) {
  auto lrs = ParseDoubleList(absl::GetFlag(FLAGS_initial_learning_rates),
                             "initial_learning_rates");
  if (!lrs.ok()) return lrs.status();
  if (lrs->size() != 2 || !((*lrs)[0] > 0) || !((*lrs)[1] > 0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--initial_learning_rates must be two positive numbers, got \"",
        absl::GetFlag(FLAGS_initial_learning_rates), "\""));
  }
  auto range = ParseRange(absl::GetFlag(FLAGS_grid_range), "grid_range");
  if (!range.ok()) return range.status();
  const int grid_size = absl::GetFlag(FLAGS_grid_size);
  const int64_t horizon = absl::GetFlag(FLAGS_horizon);
  if (grid_size < 0 || grid_size > 2000 || horizon <= 0 ||
      horizon > (int64_t{1} << 30)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--grid_size must be in [0, 2000] and --horizon in [1, 2^30], got ",
        grid_size, " and ", horizon));
  }
  const std::string precision = absl::GetFlag(FLAGS_precision);
  if (precision != "float64" && precision != "float32") {
    return absl::InvalidArgumentError(absl::StrCat(
        "--precision must be float64 or float32, got \"", precision, "\""));
  }
  const Toy2d problem(horizon, precision == "float32"
                                   ? Toy2dPrecision::kFloat32
                                   : Toy2dPrecision::kFloat64);
  const Toy2d float64_problem(horizon);
  auto twin = Toy2dDiff::Create({.horizon = horizon});
  if (!twin.ok()) return twin.status();
  // Outside the chaotic band (theta_0 around 0..2) the twins agree to
  // rounding; inside it rounding differences are amplified.
  if (auto s = CheckTwinsAgree(
          float64_problem, **twin,
          {{Eigen::Vector2d(std::log(0.01), std::log(0.01)), 1e-12},
           {Eigen::Vector2d(-2.0, -3.0), 1e-12},
           {Eigen::Vector2d(2.7, -1.7), 1e-5}},
          0);
      !s.ok()) {
    return s;
  }
  // ES methods on the batched problem (truncated ES at its own sigma), the
  // gradient-based baselines on the differentiable twin.
  MethodRegistry registry;
  const MethodOverrides tes{.sigma = absl::GetFlag(FLAGS_tes_sigma)};
  for (absl::Status s :
       {AddEsMethods(&problem, {"es_single", "pes", "full_es"}, &registry),
        AddEsVariant(&problem, "tes", "tes", tes, &registry),
        AddEsVariant(&problem, "tes_particle", "tes_particle", tes, &registry),
        AddGradientMethods(twin->get(), {"tbptt_k10", "rtrl", "uoro"},
                           &registry)}) {
    if (!s.ok()) return s;
  }
  auto seeds = run.Seeds();
  if (!seeds.ok()) return seeds.status();
  auto names = run.Methods();
  if (!names.ok()) return names.status();
  auto methods = registry.Select(*names);
  if (!methods.ok()) return methods.status();
  std::vector<RunSpec> runs;
  AppendRuns(*methods, {absl::GetFlag(FLAGS_num_particles)}, *seeds, &runs);

  auto options = DefaultLoopOptions(run, &problem);
  if (!options.ok()) return options.status();
  const Eigen::Vector2d theta0(std::log((*lrs)[0]), std::log((*lrs)[1]));
  options->theta0 = [&](uint64_t) { return theta0; };
  run.Setting("initial_meta_loss", *problem.Evaluate(theta0, 0, 0));
  if (auto s = RunLoop(run, *options, runs); !s.ok()) return s.status();
  return AddSquareGrid(run, problem, *range, grid_size);
}

}  // namespace
}  // namespace es::experiments

int main(int argc, char** argv) {
  return es::experiments::FigureMain(
      {.binary = "fig15_toy2d",
       .figure = "Fig. 15 (toy 2D regression, App. C)",
       .description =
           "theta = log(initial LR, final LR) and meta-loss (sum of the T "
           "per-step losses of a fresh full unroll) over outer iterations; "
           "meta-loss grid",
       .presets = {{"paper", "App. C and Listing 1 settings",
                    {{"seeds", "0,1,2"},
                     {"methods", "es_single,pes,tes,tbptt_k10,rtrl,uoro"},
                     {"num_particles", "100"},
                     {"iterations", "10000"},
                     {"truncation", "10"},
                     {"sigma", "0.3"},
                     {"optimizer", "adam"},
                     {"learning_rate", "0.01"},
                     {"eval_every", "20"},
                     {"eval_length", "0"}}},
                   {"quick", "seconds, for tests",
                    {{"seeds", "0,1"},
                     {"iterations", "600"},
                     {"eval_every", "50"},
                     {"grid_size", "21"}}}},
       .run = es::experiments::Run},
      argc, argv);
}
