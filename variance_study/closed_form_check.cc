// closed_form_check - checks Prop. 3.2 (ES-Single total variance
// (P+1)||grad L||^2) against Monte Carlo, and prints the Fig. 1-style sweep of
// total variance against the number of unrolls T/K for ES-Single and PES in
// the three gradient scenarios of Sec. 3.1, on the linear-quadratic problems
// (linear_quadratic_problem.h), each beside its exact closed form
// (closed_form.h).
//
// Writes <out_dir>/closed_form_check.csv with columns
//   P,measured_total_variance,closed_form,ratio,std_error
// (ratio = measured / closed form; std_error = Monte-Carlo standard error of
// the measured total variance, so the ratio's is std_error / closed_form),
// and <out_dir>/unroll_sweep.csv with columns
//   scenario,method,K,num_unrolls,measured_total_variance,closed_form,std_error
//
//   bazel run //variance_study:closed_form_check               # R = 20000
//   bazel run //variance_study:closed_form_check -- --quick    # seconds
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "variance_study/closed_form.h"
#include "estimators/testing/linear_quadratic_problem.h"
#include "variance_study/variance.h"

ABSL_FLAG(std::string, out_dir, "",
          "Output directory (default results/closed_form_check/ in the "
          "workspace under bazel run, else in the current directory).");
ABSL_FLAG(int, repeats, 20000, "Monte-Carlo repeats R per measurement.");
ABSL_FLAG(uint64_t, seed, 2023, "Base seed; repeat r uses seed + r.");
ABSL_FLAG(bool, quick, false, "R = 2000 and a shorter sweep (seconds).");
ABSL_FLAG(double, sigma, 0.1, "Perturbation scale sigma.");

namespace es {
namespace {

std::string ResolveOutDir() {
  std::string dir = absl::GetFlag(FLAGS_out_dir);
  if (dir.empty()) dir = "results/closed_form_check";
  if (dir[0] != '/') {
    const char* ws = std::getenv("BUILD_WORKSPACE_DIRECTORY");
    if (ws != nullptr) dir = absl::StrCat(ws, "/", dir);
  }
  return dir;
}

// Writes path + ".tmp", checks every write, renames it into place; on
// failure prints why and returns false (the old file stays).
bool WriteAtomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) {
      std::fprintf(stderr, "cannot write %s\n", tmp.c_str());
      std::remove(tmp.c_str());
      return false;
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::fprintf(stderr, "cannot rename %s to %s\n", tmp.c_str(), path.c_str());
    std::remove(tmp.c_str());
    return false;
  }
  return true;
}

Eigen::VectorXd Theta(const LinearQuadraticProblem& problem, int dim) {
  // Near the optimum of the target mean, so that the per-unroll gradients
  // are dominated by the scenario's target noise (Sec. 3.1 scenarios).
  Eigen::VectorXd m = problem.targets().colwise().mean().transpose();
  Eigen::VectorXd theta = 0.5 * m;  // s_inf = theta / (1 - 0.5)
  for (int i = 0; i < dim; ++i) theta[i] += 0.05 * std::sin(1.0 + i);
  return theta;
}

int Run() {
  const bool quick = absl::GetFlag(FLAGS_quick);
  const int R = quick ? 2000 : absl::GetFlag(FLAGS_repeats);
  const uint64_t seed = absl::GetFlag(FLAGS_seed);
  const std::string out_dir = ResolveOutDir();
  EstimatorSpec spec;
  spec.method = "es_single";
  spec.es.num_particles = 2;
  spec.es.sigma = absl::GetFlag(FLAGS_sigma);
  spec.es.truncation = 5;

  // Both files are built in memory and written at the end (WriteAtomically).
  const std::string path = out_dir + "/closed_form_check.csv";
  std::ostringstream csv;
  csv << "P,measured_total_variance,closed_form,ratio,std_error\n";
  std::printf("Prop. 3.2: ES-Single, one antithetic pair, T=20, K=5, R=%d\n", R);
  std::printf("%5s %24s %16s %8s %12s\n", "P", "measured_total_variance",
              "closed_form", "ratio", "std_error");
  for (int P : {1, 10, 100}) {
    LinearQuadraticOptions o;
    o.dim = P;
    o.horizon = 20;
    o.scenario = GradientScenario::kIid;
    LinearQuadraticProblem problem(o);
    const Eigen::VectorXd theta = Theta(problem, P);
    const double closed = EsSingleTotalVariance(problem.MetaGradient(theta), 2);
    auto r = MeasureVariance(problem, spec, theta, {.repeats = R, .base_seed = seed});
    if (!r.ok()) {
      std::fprintf(stderr, "%s\n", std::string(r.status().message()).c_str());
      return 1;
    }
    const std::string row = absl::StrFormat(
        "%d,%.10g,%.10g,%.6f,%.6g", P, r->total_variance, closed,
        r->total_variance / closed, r->total_variance_stderr);
    csv << row << "\n";
    std::printf("%5d %24.6g %16.6g %8.4f %12.4g\n", P, r->total_variance, closed,
                r->total_variance / closed, r->total_variance_stderr);
  }

  const std::string sweep_path = out_dir + "/unroll_sweep.csv";
  std::ostringstream sweep;
  sweep << "scenario,method,K,num_unrolls,measured_total_variance,closed_form,"
           "std_error\n";
  const std::vector<int> Ks =
      quick ? std::vector<int>{1, 10, 100} : std::vector<int>{1, 2, 5, 10, 20, 50, 100};
  std::printf("\nSec. 3.1 sweep: P=2, T=100, one pair, R=%d\n", R);
  std::printf("%-11s %-10s %4s %8s %14s %14s %10s\n", "scenario", "method", "K",
              "unrolls", "measured", "closed_form", "std_error");
  for (GradientScenario s : {GradientScenario::kIid, GradientScenario::kIdentical,
                             GradientScenario::kCorrelated}) {
    LinearQuadraticOptions o;
    o.dim = 2;
    o.horizon = 100;
    o.scenario = s;
    LinearQuadraticProblem problem(o);
    const Eigen::VectorXd theta = Theta(problem, 2);
    for (const std::string method : {"es_single", "pes"}) {
      EstimatorSpec sp = spec;
      sp.method = method;
      auto rows = SweepTruncation(problem, sp, theta, Ks,
                                  {.repeats = R, .base_seed = seed});
      if (!rows.ok()) {
        std::fprintf(stderr, "%s\n", std::string(rows.status().message()).c_str());
        return 1;
      }
      for (const SweepRow& row : *rows) {
        const auto blocks = problem.UnrollGradientBlocks(theta, row.truncation);
        const double closed =
            GeneralisedMoments(blocks, row.num_unrolls, 2,
                               method == "pes" ? MakePes() : MakeEsSingle(), 2)
                .total_variance;
        sweep << absl::StrFormat("%s,%s,%d,%d,%.10g,%.10g,%.6g\n",
                                 ScenarioName(s), method, row.truncation,
                                 row.num_unrolls, row.result.total_variance,
                                 closed, row.result.total_variance_stderr);
        std::printf("%-11s %-10s %4d %8d %14.6g %14.6g %10.4g\n",
                    ScenarioName(s).c_str(), method.c_str(), row.truncation,
                    row.num_unrolls, row.result.total_variance, closed,
                    row.result.total_variance_stderr);
      }
    }
  }
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec) {
    std::fprintf(stderr, "cannot create the output directory %s: %s\n",
                 out_dir.c_str(), ec.message().c_str());
    return 1;
  }
  for (const auto& [p, text] : {std::pair{path, csv.str()},
                                std::pair{sweep_path, sweep.str()}}) {
    if (!WriteAtomically(p, text)) return 1;
  }
  std::printf("\nwrote %s and %s\n", path.c_str(), sweep_path.c_str());
  return 0;
}

}  // namespace
}  // namespace es

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return es::Run();
}
