// fig21_lopt_sigma - Figure 21 of the ES-Single paper (Vicol, Kolter,
// Swersky, ICML 2023, App. C.3 "Effect of Smoothing"): ES-Single meta-
// training the LOLv2 learned optimiser of Fig. 11 (inner/lopt/,
// docs/lopt_notes.md) at several perturbation scales sigma.
//
// What it measures: as fig11_learned_optimizer (the same task flags, problem
// and outputs, experiments/lopt_figure.h): the mean training loss over a
// full T-step inner problem on a fixed evaluation inner problem against
// outer iterations, here for ES-Single at each sigma in --sigmas (methods
// "es_single_sigma<sigma>"), plus the inner training curves of the initial
// and meta-trained optimisers.
//
// Setup: Fig. 11's (784-128-128-10 MLP on FashionMNIST, T = 5000, K = 10,
// breakstep, our N = 10, Adam 1e-3, 5000 iterations, 3 seeds), sigma in
// {1e-6, 1e-2} as in the paper's figure. --scaled and --quick use Fig. 11's
// scaled and quick task sizes.
//
// Paper's result: "when the perturbation scale is too small, sigma = 1e-6,
// meta-optimization fails to make progress; in contrast, using an
// appropriate scale sigma = 1e-2 leads to stable convergence".
//
// Output, in --out_dir (default results/fig21_lopt_sigma/):
//   fig21_lopt_sigma.csv        method,num_particles,seed,iteration,
//                               meta_loss,particle_steps
//   fig21_lopt_sigma_inner.csv  method,seed,step,loss
//   fig21_lopt_sigma.json       sidecar
//
//   bazel run //experiments:fig21_lopt_sigma                # paper
//   bazel run //experiments:fig21_lopt_sigma -- --scaled    # minutes
//   bazel run //experiments:fig21_lopt_sigma -- --quick     # seconds
#include <cmath>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "experiments/figure.h"
#include "experiments/figure_io.h"
#include "experiments/lopt_figure.h"
#include "experiments/method_registry.h"

ABSL_FLAG(std::string, sigmas, "0.000001,0.01",
          "ES-Single perturbation scales (App. C.3: 1e-6 and 1e-2).");

namespace es::experiments {
namespace {

absl::Status Run(FigureRun& run) {
  auto sigmas = ParseDoubleList(absl::GetFlag(FLAGS_sigmas), "sigmas");
  if (!sigmas.ok()) return sigmas.status();
  for (double s : *sigmas) {
    if (!(s > 0.0) || !std::isfinite(s)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--sigmas: every scale must be finite and > 0, got ",
          FormatDouble(s)));
    }
  }
  auto task = BuildLoptTask(run);
  if (!task.ok()) return task.status();
  MethodRegistry registry;
  std::vector<std::string> names;
  for (double s : *sigmas) {
    const std::string name = absl::StrCat("es_single_sigma", FormatDouble(s));
    if (registry.Find(name) != nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("--sigmas: ", FormatDouble(s), " is listed twice"));
    }
    if (auto st = AddBreakstepMethod((*task)->problem(), "es_single", name, s,
                                     &registry);
        !st.ok()) {
      return st;
    }
    run.Setting(absl::StrCat("sigma_", name), s);
    names.push_back(name);
  }
  return RunLoptFigure(run, **task, registry, names);
}

}  // namespace
}  // namespace es::experiments

int main(int argc, char** argv) {
  return es::experiments::FigureMain(
      {.binary = "fig21_lopt_sigma",
       .figure = "Fig. 21 (perturbation scale for the learned optimiser, "
                 "App. C.3)",
       .description =
           "mean training loss over a T-step inner problem of the LOLv2 "
           "learned optimiser against outer iterations for ES-Single "
           "(breakstep) at each sigma; inner training curves",
       .presets = es::experiments::LoptPresets(
           "App. C.3 sigmas on the Sec. 4.4 task; N, outer optimiser, "
           "iterations, seeds: ours (as fig11_learned_optimizer)",
           {{"sigmas", "0.000001,0.01"}}),
       .run = es::experiments::Run},
      argc, argv);
}
