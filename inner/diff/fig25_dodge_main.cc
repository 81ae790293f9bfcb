// fig25_dodge_main.cc - paper Fig. 25 (App. C.6): ES-Single versus DODGE on
// the toy 2D regression task (App. C eq. 9, Fig. 15).
//
// What it measures: meta-training trajectories (theta, full-unroll
// meta-loss sum_{t=1..100} L_t) of
//   (a) DODGE with ONE direction per inner problem and ES-Single with ONE
//       antithetic pair (N = 2) using the SAME direction sequence (DODGE
//       draws u = StandardNormals(RandomKey{seed, kSinglePerturbation},
//       episode, 0, 2), which is ES-Single's pair-0 perturbation direction),
//       for several perturbation scales sigma;
//   (b) DODGE with D = 1000 directions and ES-Single with 1000 antithetic
//       pairs (N = 2000, the same 1000 directions), sigma = 1e-4;
// and exact RTRL as the reference of (b).
//
// Setup (paper): K = 1, T = 100, theta_0 = (log 0.01, log 0.01) (Listing 1),
// Adam with learning rate 0.01. ES-Single runs on the batched toy 2D problem
// (inner/toy2d.h); DODGE and RTRL on its differentiable twin
// (inner/diff/toy2d_diff.h); every meta-loss is evaluated on the
// differentiable twin (the two are checked to agree at start-up).
//
// What the paper reports: in (a) ES-Single with a small sigma is nearly
// identical to DODGE (piecewise-linear trajectories, one segment per inner
// problem) and gets stuck in the chaotic region of the meta-loss, while a
// large sigma lets ES-Single cross it and reach the optimal region; in (b)
// both become approximately equivalent to RTRL.
//
// Output (--out_dir, default results/fig25_dodge/):
//   fig25_dodge.csv   method,num_particles,seed,iteration,meta_loss,theta_0,
//                     theta_1; method is "dodge", "rtrl" or
//                     "es_single_sigma<sigma>"; num_particles is ES-Single's
//                     N, DODGE's number of directions D, 1 for RTRL (panel a:
//                     N = 2 / D = 1; panel b: N = 2000 / D = 1000).
//   fig25_dodge.json  flags, seeds, wall time and every run's final values.
// A summary table goes to stdout, progress to stderr.
//
//   bazel run -c opt //inner/diff:fig25_dodge_main -- --quick
//   bazel run -c opt //inner/diff:fig25_dodge_main -- --out_dir=/tmp/fig25
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "estimators/estimator_factory.h"
#include "estimators/gradient/gradient_estimator_factory.h"
#include "estimators/gradient/unrolled_adapter.h"
#include "estimators/meta_trainer.h"
#include "estimators/optimizer.h"
#include "inner/diff/toy2d_diff.h"
#include "inner/toy2d.h"

ABSL_FLAG(std::string, out_dir, "",
          "Output directory (created). Empty: results/fig25_dodge/ under the "
          "workspace (under `bazel run`) or the working directory.");
ABSL_FLAG(bool, quick, false,
          "Seconds-long smoke run: 1 seed, 300 iterations, 100 directions "
          "in panel (b) (flags set explicitly still win).");
ABSL_FLAG(uint64_t, seed, 0, "First seed; runs use seed .. seed+num_seeds-1.");
ABSL_FLAG(int, num_seeds, 3, "Seeds per method.");
ABSL_FLAG(int64_t, iterations, 10000,
          "Outer iterations per run (K = 1: 100 iterations per inner problem).");
ABSL_FLAG(int64_t, eval_every, 100, "Meta-loss evaluation interval.");
ABSL_FLAG(double, learning_rate, 0.01, "Adam learning rate.");
ABSL_FLAG(std::string, sigmas, "0.0001,0.01,0.3,1",
          "Panel (a): ES-Single perturbation scales, comma separated.");
ABSL_FLAG(int, directions_b, 1000,
          "Panel (b): DODGE directions D (ES-Single uses N = 2 D particles).");
ABSL_FLAG(double, sigma_b, 1e-4, "Panel (b): ES-Single perturbation scale.");
ABSL_FLAG(bool, panel_b, true, "Run panel (b).");
ABSL_FLAG(std::string, es_problem, "toy2d",
          "Problem ES-Single runs on: 'toy2d' (batched inner/toy2d.h) or "
          "'adapter' (inner/diff/toy2d_diff.h through the generic adapter).");

namespace es {
namespace {

constexpr char kBinary[] = "fig25_dodge";
constexpr int kTruncation = 1;

std::string Num(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return absl::StrFormat("%.12g", v);
}

std::string JsonNum(double v) { return std::isfinite(v) ? Num(v) : "null"; }

struct RunResult {
  std::string method;
  int num_particles = 0;
  uint64_t seed = 0;
  MetaTrainingResult training;
  double min_meta_loss = 0.0;
};

struct Context {
  const Toy2dDiff* diff = nullptr;
  const UnrolledProblem* eval_problem = nullptr;  // adapter over `diff`
  const UnrolledProblem* es_problem = nullptr;
  Eigen::VectorXd theta0;
  MetaTrainingOptions training;
  OptimizerOptions adam;
};

absl::StatusOr<RunResult> Train(const Context& ctx, const std::string& method,
                                int num_particles, uint64_t seed,
                                GradientEstimator* est) {
  auto opt = MakeOptimizer(ctx.adam, 2);
  if (!opt.ok()) return opt.status();
  MetaTrainingOptions o = ctx.training;
  o.label = absl::StrCat(method, " N=", num_particles, " seed=", seed);
  auto r = RunMetaTraining(*ctx.eval_problem, est, opt->get(), ctx.theta0, o);
  if (!r.ok()) return r.status();
  RunResult out{method, num_particles, seed, std::move(*r), 0.0};
  out.min_meta_loss = out.training.trace.front().meta_loss;
  for (const auto& p : out.training.trace) {
    if (p.meta_loss < out.min_meta_loss) out.min_meta_loss = p.meta_loss;
  }
  return out;
}

absl::StatusOr<RunResult> RunEsSingle(const Context& ctx, double sigma,
                                      int num_particles, uint64_t seed) {
  EstimatorSpec spec;
  spec.method = "es_single";
  spec.es.num_particles = num_particles;
  spec.es.sigma = sigma;
  spec.es.truncation = kTruncation;
  spec.es.seed = seed;
  auto est = MakeEstimator(ctx.es_problem, spec);
  if (!est.ok()) return est.status();
  return Train(ctx, absl::StrCat("es_single_sigma", Num(sigma)), num_particles,
               seed, est->get());
}

absl::StatusOr<RunResult> RunGradient(const Context& ctx,
                                      const std::string& method,
                                      int num_directions, uint64_t seed) {
  GradientEstimatorSpec spec;
  spec.method = method;
  spec.truncation = kTruncation;
  spec.seed = seed;
  spec.num_directions = num_directions;
  spec.direction_stream = Stream::kSinglePerturbation;  // = ES-Single's
  auto est = MakeGradientEstimator(ctx.diff, spec);
  if (!est.ok()) return est.status();
  return Train(ctx, method, method == "dodge" ? num_directions : 1, seed,
               est->get());
}

std::string ResolveOutDir(std::string dir) {
  if (dir.empty()) dir = absl::StrCat("results/", kBinary);
  const char* ws = std::getenv("BUILD_WORKSPACE_DIRECTORY");
  if (!dir.empty() && dir[0] != '/' && ws != nullptr && ws[0] != '\0') {
    dir = absl::StrCat(ws, "/", dir);
  }
  return dir;
}

absl::Status WriteOutputs(const std::string& dir,
                          const std::vector<RunResult>& runs,
                          double wall_seconds,
                          const std::vector<double>& sigmas) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--out_dir: cannot create \"", dir, "\": ", ec.message()));
  }
  const std::string csv_path = absl::StrCat(dir, "/", kBinary, ".csv");
  std::FILE* csv = std::fopen(csv_path.c_str(), "w");
  if (csv == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot write \"", csv_path, "\""));
  }
  std::fprintf(csv,
               "method,num_particles,seed,iteration,meta_loss,theta_0,"
               "theta_1\n");
  for (const RunResult& r : runs) {
    for (const TracePoint& p : r.training.trace) {
      std::fprintf(csv, "%s,%d,%llu,%lld,%s,%s,%s\n", r.method.c_str(),
                   r.num_particles, static_cast<unsigned long long>(r.seed),
                   static_cast<long long>(p.iteration),
                   Num(p.meta_loss).c_str(), Num(p.theta[0]).c_str(),
                   Num(p.theta[1]).c_str());
    }
  }
  if (std::fclose(csv) != 0) {
    return absl::InternalError(absl::StrCat("write error on ", csv_path));
  }

  const std::string json_path = absl::StrCat(dir, "/", kBinary, ".json");
  std::FILE* js = std::fopen(json_path.c_str(), "w");
  if (js == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot write \"", json_path, "\""));
  }
  std::string sig;
  for (double s : sigmas) absl::StrAppend(&sig, sig.empty() ? "" : ", ", Num(s));
  std::fprintf(
      js,
      "{\n  \"binary\": \"%s\",\n  \"figure\": \"Fig. 25 (App. C.6)\",\n"
      "  \"flags\": {\"seed\": %llu, \"num_seeds\": %d, \"iterations\": %lld, "
      "\"eval_every\": %lld, \"learning_rate\": %s, \"sigmas\": [%s], "
      "\"directions_b\": %d, \"sigma_b\": %s, \"panel_b\": %s, "
      "\"es_problem\": \"%s\", \"quick\": %s},\n"
      "  \"truncation\": %d,\n  \"horizon\": 100,\n"
      "  \"libraries\": {\"eigen\": \"%d.%d.%d\"},\n"
      "  \"wall_seconds\": %s,\n  \"runs\": [\n",
      kBinary, static_cast<unsigned long long>(absl::GetFlag(FLAGS_seed)),
      absl::GetFlag(FLAGS_num_seeds),
      static_cast<long long>(absl::GetFlag(FLAGS_iterations)),
      static_cast<long long>(absl::GetFlag(FLAGS_eval_every)),
      Num(absl::GetFlag(FLAGS_learning_rate)).c_str(), sig.c_str(),
      absl::GetFlag(FLAGS_directions_b),
      Num(absl::GetFlag(FLAGS_sigma_b)).c_str(),
      absl::GetFlag(FLAGS_panel_b) ? "true" : "false",
      absl::GetFlag(FLAGS_es_problem).c_str(),
      absl::GetFlag(FLAGS_quick) ? "true" : "false", kTruncation,
      EIGEN_WORLD_VERSION, EIGEN_MAJOR_VERSION, EIGEN_MINOR_VERSION,
      Num(wall_seconds).c_str());
  for (size_t i = 0; i < runs.size(); ++i) {
    const RunResult& r = runs[i];
    const auto& t = r.training;
    std::fprintf(js,
                 "    {\"method\": \"%s\", \"num_particles\": %d, \"seed\": "
                 "%llu, \"final_meta_loss\": %s, \"min_meta_loss\": %s, "
                 "\"final_theta\": [%s, %s], \"dropped\": %lld, "
                 "\"particle_steps\": %lld, \"seconds_per_estimate\": %s}%s\n",
                 r.method.c_str(), r.num_particles,
                 static_cast<unsigned long long>(r.seed),
                 JsonNum(t.trace.back().meta_loss).c_str(),
                 JsonNum(r.min_meta_loss).c_str(),
                 JsonNum(t.final_theta[0]).c_str(),
                 JsonNum(t.final_theta[1]).c_str(),
                 static_cast<long long>(t.dropped_pairs),
                 static_cast<long long>(t.particle_steps),
                 JsonNum(t.seconds_per_step).c_str(),
                 i + 1 < runs.size() ? "," : "");
  }
  std::fprintf(js, "  ]\n}\n");
  if (std::fclose(js) != 0) {
    return absl::InternalError(absl::StrCat("write error on ", json_path));
  }
  std::fprintf(stderr, "wrote %s and %s\n", csv_path.c_str(),
               json_path.c_str());
  return absl::OkStatus();
}

void PrintSummary(const std::vector<RunResult>& runs) {
  std::printf("%-24s %6s %5s %14s %14s %10s %10s\n", "method", "N/D", "seed",
              "final_loss", "min_loss", "theta_0", "theta_1");
  for (const RunResult& r : runs) {
    std::printf("%-24s %6d %5llu %14.2f %14.2f %10.4f %10.4f\n",
                r.method.c_str(), r.num_particles,
                static_cast<unsigned long long>(r.seed),
                r.training.trace.back().meta_loss, r.min_meta_loss,
                r.training.final_theta[0], r.training.final_theta[1]);
  }
}

absl::Status Main() {
  const bool quick = absl::GetFlag(FLAGS_quick);
  auto pick = [&](auto flag, auto quick_value) {
    const auto v = absl::GetFlag(*flag);
    using T = decltype(v);
    // --quick replaces values still at their defaults.
    const absl::CommandLineFlag& h = absl::GetFlagReflectionHandle(*flag);
    return (quick && h.CurrentValue() == h.DefaultValue()) ? T(quick_value)
                                                            : v;
  };
  const int num_seeds = pick(&FLAGS_num_seeds, 1);
  const int64_t iterations = pick(&FLAGS_iterations, 300);
  const int directions_b = pick(&FLAGS_directions_b, 100);
  const int64_t eval_every = absl::GetFlag(FLAGS_eval_every);
  const uint64_t seed0 = absl::GetFlag(FLAGS_seed);

  std::vector<double> sigmas;
  for (absl::string_view item :
       absl::StrSplit(absl::GetFlag(FLAGS_sigmas), ',', absl::SkipEmpty())) {
    double s = 0.0;
    if (!absl::SimpleAtod(item, &s) || !(s > 0.0) || !std::isfinite(s)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--sigmas: \"", item, "\" is not a finite number > 0"));
    }
    sigmas.push_back(s);
  }
  if (num_seeds < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--num_seeds must be >= 1, got ", num_seeds));
  }
  if (iterations < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--iterations must be >= 1, got ", iterations));
  }
  if (directions_b < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--directions_b must be >= 1, got ", directions_b));
  }
  const double sigma_b = absl::GetFlag(FLAGS_sigma_b);
  if (!(sigma_b > 0.0) || !std::isfinite(sigma_b)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--sigma_b must be finite and > 0, got ", sigma_b));
  }

  Toy2dDiff diff;
  DifferentiableUnrolledProblem adapter(&diff);
  Toy2d batched;
  const std::string es_problem_name = absl::GetFlag(FLAGS_es_problem);
  if (es_problem_name != "toy2d" && es_problem_name != "adapter") {
    return absl::InvalidArgumentError(absl::StrCat(
        "--es_problem must be 'toy2d' or 'adapter', got '", es_problem_name,
        "'"));
  }
  Context ctx;
  ctx.diff = &diff;
  ctx.eval_problem = &adapter;
  ctx.es_problem =
      es_problem_name == "toy2d" ? static_cast<const UnrolledProblem*>(&batched)
                                 : &adapter;
  ctx.theta0 = Eigen::Vector2d(std::log(0.01), std::log(0.01));
  ctx.training.iterations = iterations;
  ctx.training.eval_every = eval_every;
  ctx.adam.kind = "adam";
  ctx.adam.learning_rate = absl::GetFlag(FLAGS_learning_rate);
  if (auto s = ctx.adam.Validate(); !s.ok()) return s;

  // The batched and the differentiable toy 2D must be the same function.
  // Outside the chaotic region they agree to rounding; inside it (theta0
  // around 0..2) rounding differences are amplified (at theta = (1, -2) a
  // 1e-15 change of theta0 moves the meta-loss by 2e-7 relative), so the
  // tolerance there is looser.
  struct Probe {
    Eigen::Vector2d theta;
    double rtol;
  };
  for (const Probe& probe :
       {Probe{Eigen::Vector2d(std::log(0.01), std::log(0.01)), 1e-12},
        Probe{Eigen::Vector2d(-2.0, -3.0), 1e-12},
        Probe{Eigen::Vector2d(1.0, -2.0), 1e-5},
        Probe{Eigen::Vector2d(2.7, -1.7), 1e-5}}) {
    const Eigen::Vector2d& th = probe.theta;
    auto a = batched.Evaluate(th, 0, 0);
    if (!a.ok()) return a.status();
    const double b = diff.MetaLoss(th);
    if (std::abs(*a - b) > probe.rtol * std::abs(b)) {
      return absl::InternalError(absl::StrCat(
          "inner/toy2d and inner/diff/toy2d_diff disagree at theta = (", th[0],
          ", ", th[1], "): ", Num(*a), " vs ", Num(b)));
    }
  }

  const auto start = std::chrono::steady_clock::now();
  std::vector<RunResult> runs;
  auto add = [&](absl::StatusOr<RunResult> r) -> absl::Status {
    if (!r.ok()) return r.status();
    runs.push_back(std::move(*r));
    return absl::OkStatus();
  };
  // RTRL is deterministic: one run serves both panels.
  if (auto s = add(RunGradient(ctx, "rtrl", 1, seed0)); !s.ok()) return s;
  for (int k = 0; k < num_seeds; ++k) {
    const uint64_t seed = seed0 + k;
    // Panel (a): one direction per inner problem, shared by both methods.
    if (auto s = add(RunGradient(ctx, "dodge", 1, seed)); !s.ok()) return s;
    for (double sigma : sigmas) {
      if (auto s = add(RunEsSingle(ctx, sigma, 2, seed)); !s.ok()) return s;
    }
    // Panel (b): many directions.
    if (absl::GetFlag(FLAGS_panel_b)) {
      if (auto s = add(RunGradient(ctx, "dodge", directions_b, seed)); !s.ok())
        return s;
      if (auto s = add(RunEsSingle(ctx, sigma_b, 2 * directions_b, seed));
          !s.ok())
        return s;
    }
  }
  const double wall = std::chrono::duration<double>(
                          std::chrono::steady_clock::now() - start)
                          .count();
  PrintSummary(runs);
  return WriteOutputs(ResolveOutDir(absl::GetFlag(FLAGS_out_dir)), runs, wall,
                      sigmas);
}

}  // namespace
}  // namespace es

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Fig. 25: ES-Single vs DODGE on toy 2D regression (see file comment).");
  absl::ParseCommandLine(argc, argv);
  const absl::Status s = es::Main();
  if (!s.ok()) {
    std::fprintf(stderr, "fig25_dodge: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  return 0;
}
