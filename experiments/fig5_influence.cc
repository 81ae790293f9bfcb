// fig5_influence - Figure 5 of the ES-Single paper (Vicol, Kolter, Swersky,
// ICML 2023, Sec. 4.1): the synthetic influence-balancing task
// (inner/influence_balancing.h), where truncated methods move theta the
// wrong way and unbiased ones converge.
//
// What it measures: theta and the meta-loss over outer iterations for
//   Fig. 5a  ES-Single vs PES vs truncated ES ("tes", one shared mean state,
//            App. C.1) at N = --num_particles (1000, the N the paper gives
//            for PES), K = 1; and the gradient-based baselines TBPTT with
//            K = 1, 10, 100 (tbptt_k1, tbptt_k10, tbptt_k100), RTRL and UORO
//            (K = --truncation = 1), one trajectory each (no particles,
//            N = 0 in the CSV);
//   Fig. 5b  ablation over N in --ablation_particles (4, 10, 100, 1000) for
//            PES and ES-Single, K = 1.
// The gradient-based baselines run on the differentiable twin
// inner/diff/influence_balancing_diff.h (checked at start-up to give the
// same meta-loss, experiments/twin_check.h) with the same outer optimiser,
// learning rate and iteration count as the ES methods; one iteration of
// tbptt_k<K> is one K-step unroll (so tbptt_k100 sees 100x the inner steps
// of tbptt_k1). The meta-loss of every method is evaluated the same way, on
// the batched inner/influence_balancing.h.
//
// Setup: n = 23, p = 10, s_0 = ones, never-ending inner problem (never
// reset), theta_0 = 0.5 (App. C), K = 1, N = 1000 for the 5a methods. The
// paper does not give sigma, the outer optimiser or the iteration count for
// this task. Our choices: sigma = 0.1 and 3000 iterations (the defaults of
// the PES authors' public influence-balancing script,
// google-research/persistent_es), and Adam with learning rate 1e-3 (the
// paper uses Adam for every other task in App. C). That script's plain SGD
// with learning rate 1e-4 (--optimizer=sgd --learning_rate=1e-4) makes
// ES-Single with N = 4 diverge for some seeds: with 2 pairs the estimate is
// c * (hysteretic gradient) with c = mean(z^2), z ~ N(0, 1), heavy-tailed,
// and for c above about 3 the delayed feedback through the 23-step chain
// becomes unstable under SGD; Adam removes the constant scale c
// (docs/results.md reports both).
// meta_loss = SUM of the per-step losses of a fresh 1000-step unroll from
// s_0 at the current theta (--eval_length), evaluated every --eval_every
// iterations. For reference, the long-run per-step loss is
// 0.5 (6 theta + 1)^2, minimised at theta* = -1/6; the 1000-step meta-loss
// is 8194.8 at theta_0 = 0.5 and about 58 at its minimum near theta*
// (the transient from s_0 shifts it slightly).
//
// Paper's result: ES-Single outperforms PES and RTRL and has a smoother loss
// curve; TBPTT with K = 10 and K = 100 moves theta the wrong way, and
// truncated ES exactly matches TBPTT with K = 1. PES becomes unstable as N
// shrinks; ES-Single still works with N = 4 (Fig. 5b).
//
// Output (experiments/figure_io.h): <out_dir>/fig5_influence.csv with
// columns method,num_particles,seed,iteration,meta_loss,theta_0, and
// <out_dir>/fig5_influence.json. Plot: tools/plot_figures.py --figure
// fig5_influence.
//
//   bazel run //experiments:fig5_influence                 # paper settings
//   bazel run //experiments:fig5_influence -- --quick      # seconds
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "experiments/figure_io.h"
#include "experiments/method_registry.h"
#include "experiments/sweep.h"
#include "experiments/twin_check.h"
#include "inner/diff/influence_balancing_diff.h"
#include "inner/influence_balancing.h"

ABSL_FLAG(std::string, out_dir, "",
          "Output directory; empty = results/fig5_influence/ (relative paths "
          "resolve against the workspace under bazel run).");
ABSL_FLAG(bool, quick, false,
          "Seconds-long run for tests: 2000 iterations, seeds 0,1, eval every "
          "100 iterations (flags set to non-default values still win).");
ABSL_FLAG(std::string, seeds, "0,1,2,3,4",
          "Comma-separated seeds; every configuration runs once per seed.");
ABSL_FLAG(std::string, methods,
          "es_single,pes,tes,tbptt_k1,tbptt_k10,tbptt_k100,rtrl,uoro",
          "Fig. 5a methods. Known: es_single, pes, tes (shared mean state), "
          "tes_particle (run at --num_particles), and the gradient baselines "
          "tbptt_k1, tbptt_k10, tbptt_k100, rtrl, uoro (one trajectory, "
          "N = 0 in the CSV).");
ABSL_FLAG(int, num_particles, 1000, "N for the Fig. 5a methods.");
ABSL_FLAG(std::string, ablation_methods, "es_single,pes",
          "Fig. 5b methods, run at every --ablation_particles; empty = skip.");
ABSL_FLAG(std::string, ablation_particles, "4,10,100,1000",
          "Fig. 5b particle counts N (even, >= 2).");
ABSL_FLAG(int64_t, iterations, 3000, "Outer iterations per run.");
ABSL_FLAG(int, truncation, 1, "K, inner steps per partial unroll.");
ABSL_FLAG(double, sigma, 0.1, "Perturbation scale of the ES methods.");
ABSL_FLAG(std::string, optimizer, "adam", "Outer optimiser: adam or sgd.");
ABSL_FLAG(double, learning_rate, 1e-3, "Outer learning rate.");
ABSL_FLAG(double, theta0, es::InfluenceBalancing::kPaperTheta0,
          "Initial theta (paper: 0.5).");
ABSL_FLAG(int64_t, eval_every, 10,
          "Meta-loss evaluation (and CSV row) every this many iterations.");
ABSL_FLAG(int64_t, eval_length, 1000,
          "Steps of the fresh evaluation unroll; meta_loss is their sum.");
ABSL_FLAG(int, threads, 1, "Threads for each estimator's particle loop.");
ABSL_FLAG(bool, progress, true, "Progress lines on stderr.");

namespace es::experiments {
namespace {

constexpr char kBinary[] = "fig5_influence";

// Every method name this figure knows. ES methods run on the batched
// problem, the gradient-based baselines on its differentiable twin, all with
// the binary's optimiser (the PES authors' script ran UORO with a smaller
// learning rate; we keep one optimiser for every method so the comparison is
// like for like).
absl::Status RegisterMethods(const InfluenceBalancing* problem,
                             const InfluenceBalancingDiff* twin,
                             MethodRegistry* registry) {
  if (auto s = AddEsMethods(problem, {"es_single", "pes", "tes", "tes_particle"},
                            registry);
      !s.ok()) {
    return s;
  }
  return AddGradientMethods(
      twin, {"tbptt_k1", "tbptt_k10", "tbptt_k100", "rtrl", "uoro"}, registry);
}

absl::Status Run() {
  const auto start = std::chrono::steady_clock::now();
  const bool quick = absl::GetFlag(FLAGS_quick);
  const std::string seeds_text = QuickOr(FLAGS_seeds, quick, std::string("0,1"));
  const int64_t iterations = QuickOr(FLAGS_iterations, quick, int64_t{2000});
  const int64_t eval_every = QuickOr(FLAGS_eval_every, quick, int64_t{100});

  auto seeds = ParseIntList(seeds_text, "seeds");
  if (!seeds.ok()) return seeds.status();
  auto method_names = ParseNameList(absl::GetFlag(FLAGS_methods), "methods");
  if (!method_names.ok()) return method_names.status();
  std::vector<std::string> ablation_names;
  if (!absl::GetFlag(FLAGS_ablation_methods).empty()) {
    auto a = ParseNameList(absl::GetFlag(FLAGS_ablation_methods), "ablation_methods");
    if (!a.ok()) return a.status();
    ablation_names = *a;
  }
  auto ablation_n = ParseIntList(absl::GetFlag(FLAGS_ablation_particles),
                                 "ablation_particles");
  if (!ablation_n.ok()) return ablation_n.status();

  InfluenceBalancing problem;
  InfluenceBalancingDiff twin;
  // The system is linear: the twins agree to rounding everywhere.
  if (auto s = CheckTwinsAgree(problem, twin,
                               {{Eigen::VectorXd::Constant(1, 0.5), 1e-12},
                                {Eigen::VectorXd::Constant(1, -1.0 / 6.0), 1e-12},
                                {Eigen::VectorXd::Constant(1, 4.0), 1e-12}},
                               1000);
      !s.ok()) {
    return s;
  }
  MethodRegistry registry;
  if (auto s = RegisterMethods(&problem, &twin, &registry); !s.ok()) return s;
  auto methods = registry.Select(*method_names);
  if (!methods.ok()) return methods.status();
  auto ablation = registry.Select(ablation_names);
  if (!ablation.ok()) return ablation.status();

  const int n_main = absl::GetFlag(FLAGS_num_particles);
  std::vector<RunSpec> runs;
  AppendRuns(*methods, {n_main}, *seeds, &runs);
  std::vector<int> ns(ablation_n->begin(), ablation_n->end());
  AppendRuns(*ablation, ns, *seeds, &runs);

  SweepOptions options;
  options.problem = &problem;
  options.theta0 = Eigen::VectorXd::Constant(1, absl::GetFlag(FLAGS_theta0));
  options.optimizer.kind = absl::GetFlag(FLAGS_optimizer);
  options.optimizer.learning_rate = absl::GetFlag(FLAGS_learning_rate);
  if (auto s = options.optimizer.Validate(); !s.ok()) return s;
  options.meta.iterations = iterations;
  options.meta.eval_every = eval_every;
  options.meta.eval_length = absl::GetFlag(FLAGS_eval_length);
  if (options.meta.eval_length <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--eval_length must be > 0 (the task never ends), got ",
        options.meta.eval_length));
  }
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

  Sidecar sc;
  sc.binary = kBinary;
  sc.figure = "Fig. 5 (influence balancing, Sec. 4.1)";
  sc.description =
      "theta and meta-loss (sum of per-step losses of a fresh eval_length-step "
      "unroll) over outer iterations; 5a methods at num_particles, 5b "
      "ablation over N";
  sc.flags = FlagsDefinedIn("experiments/fig5_influence");
  sc.seeds = *seeds;
  sc.settings = {{"quick", quick ? "true" : "false"},
                 {"iterations", absl::StrCat(iterations)},
                 {"eval_every", absl::StrCat(eval_every)},
                 {"eval_length", absl::StrCat(options.meta.eval_length)},
                 {"num_particles_5a", absl::StrCat(n_main)},
                 {"theta_long_run_optimum",
                  JsonNumber(InfluenceBalancing::kLongRunOptimum)}};
  sc.runs = *summaries;
  // "methods" aggregates each method at the 5a N (ablation-only methods at
  // their largest N).
  sc.methods = SummarizeMethods(*summaries, [&](const std::string& m) {
    for (const MethodEntry* e : *methods) {
      if (e->name == m) return e->uses_particles ? n_main : 0;
    }
    int largest = 0;
    for (const RunSummary& r : *summaries) {
      if (r.method == m) largest = std::max(largest, r.num_particles);
    }
    return largest;
  });
  sc.wall_seconds = std::chrono::duration<double>(
                        std::chrono::steady_clock::now() - start)
                        .count();
  const std::string json = absl::StrCat(*out_dir, "/", kBinary, ".json");
  if (auto s = WriteSidecar(json, sc); !s.ok()) return s;

  std::printf("%-12s %6s %6s %14s %16s %14s\n", "method", "N", "seeds",
              "final theta", "final meta_loss", "s/estimate");
  std::vector<std::pair<std::string, int>> configs;
  for (const RunSummary& r : *summaries) {
    std::pair<std::string, int> c{r.method, r.num_particles};
    if (std::find(configs.begin(), configs.end(), c) != configs.end()) continue;
    configs.push_back(c);
    double theta = 0, loss = 0, sec = 0;
    int k = 0;
    for (const RunSummary& q : *summaries) {
      if (q.method != c.first || q.num_particles != c.second) continue;
      theta += q.final_theta[0];
      loss += q.final_meta_loss;
      sec += q.seconds_per_estimate;
      ++k;
    }
    std::printf("%-12s %6d %6d %14.6g %16.6g %14.3g\n", c.first.c_str(),
                c.second, k, theta / k, loss / k, sec / k);
  }
  std::printf("(means over seeds; theta* = -1/6; wall %.1f s)\nwrote %s/%s.{csv,json}\n",
              sc.wall_seconds, out_dir->c_str(), kBinary);
  return absl::OkStatus();
}

}  // namespace
}  // namespace es::experiments

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Fig. 5 of the ES-Single paper: influence balancing. "
      "Writes <out_dir>/fig5_influence.{csv,json}.");
  absl::ParseCommandLine(argc, argv);
  const absl::Status s = es::experiments::Run();
  if (!s.ok()) {
    std::fprintf(stderr, "fig5_influence: %s\n", s.ToString().c_str());
    return 1;
  }
  return 0;
}
