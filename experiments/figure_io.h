// figure_io.h - the pieces of the figure output contract that do not need
// the framework (experiments/figure.h, experiments/outputs.h): where outputs
// go, how numbers are written, list-flag parsing, provenance (git commit,
// library versions, time) and the per-method summary.
//
// --out_dir: empty means results/<binary>/. A relative path is resolved
// against $BUILD_WORKSPACE_DIRECTORY when the binary runs under `bazel run`
// (whose working directory is the runfiles tree), else against the working
// directory. The directory is created.
//
// Numbers are written as the shortest "%.<p>g" (p >= 6) decimal that reads back to
// the same double, so the files carry the exact bits; non-finite
// values as nan / inf / -inf in CSV and null in JSON.
#ifndef ES_SINGLE_EXPERIMENTS_FIGURE_IO_H_
#define ES_SINGLE_EXPERIMENTS_FIGURE_IO_H_

#include <cstdint>
#include <cstdio>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "estimators/meta_trainer.h"

namespace es::experiments {

// The directory the outputs go to (see the file comment); `workspace` is the
// value of $BUILD_WORKSPACE_DIRECTORY (null or empty when not under bazel
// run). Pure: creates nothing.
std::string OutDirPath(absl::string_view flag_value,
                       absl::string_view binary_name, const char* workspace);

// OutDirPath with the real environment, and creates the directory.
absl::StatusOr<std::string> ResolveOutDir(absl::string_view flag_value,
                                          absl::string_view binary_name);

// The checked-out commit of the repository containing the workspace (or the
// working directory), read from .git without running anything, or
// "unknown".
std::string GitCommit();

// The current UTC time, "2026-12-02T18:46:08Z".
std::string UtcNow();

// Versions of the libraries the binary was built against (and, for oneDNN,
// runs against): {"eigen", "3.4.0"}, {"abseil", "20220623.1"}, ...
std::vector<std::pair<std::string, std::string>> LibraryVersions();

// a * b, or InvalidArgument naming `what` when the product overflows
// int64 or either factor is negative.
absl::StatusOr<int64_t> CheckedProduct(std::initializer_list<int64_t> factors,
                                       absl::string_view what);

// Shortest round-trip "%.<p>g" decimal, or nan / inf / -inf.
std::string FormatDouble(double value);

// Parses "0,1,2" (spaces allowed, no empty items). `what` names the flag in
// errors.
absl::StatusOr<std::vector<int64_t>> ParseIntList(absl::string_view text,
                                                  absl::string_view what);
absl::StatusOr<std::vector<double>> ParseDoubleList(absl::string_view text,
                                                    absl::string_view what);
// An empty `text` is an error unless allow_empty (then: no names).
absl::StatusOr<std::vector<std::string>> ParseNameList(absl::string_view text,
                                                       absl::string_view what,
                                                       bool allow_empty = false);

// method,num_particles,seed,iteration,meta_loss,theta_0,...,theta_{P-1}.
std::vector<std::string> TraceColumns(int theta_dim);

// One meta-training run (a method at N particles with one seed).
struct RunSummary {
  std::string method;
  int num_particles = 0;  // 0 for methods that use no particles
  uint64_t seed = 0;
  int64_t iterations = 0;
  double seconds_per_estimate = 0.0;  // mean wall time of one Step
  double wall_seconds = 0.0;          // the whole run, evaluations included
  double final_meta_loss = 0.0;       // meta-loss after the last iteration
  std::vector<double> final_theta;
  int64_t particle_steps = 0;
  int64_t dropped_pairs = 0;
  int64_t all_dropped_estimates = 0;  // estimates with no surviving pair
};

// Per-method aggregate over seeds of the runs at one particle count.
struct MethodSummary {
  std::string method;
  int num_particles = 0;
  double seconds_per_estimate = 0.0;  // mean over seeds
  double final_meta_loss = 0.0;       // mean over seeds
  std::vector<double> final_meta_loss_per_seed;
  std::vector<double> final_theta_mean;  // mean over seeds, per coordinate
};

// Aggregates `runs` per method, using for each method only the runs with
// num_particles == primary_particles(method). Methods keep first-seen order.
std::vector<MethodSummary> SummarizeMethods(
    const std::vector<RunSummary>& runs,
    const std::function<int(const std::string&)>& primary_particles);

// The per-method table a figure binary prints at the end (method, seeds,
// mean final theta, mean final meta-loss, seconds per estimate).
std::string SummaryTable(const std::vector<MethodSummary>& methods);

}  // namespace es::experiments

#endif  // ES_SINGLE_EXPERIMENTS_FIGURE_IO_H_
