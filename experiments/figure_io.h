// figure_io.h - the output contract every figure binary in experiments/
// follows (docs/design.md, "Experiments and outputs"):
//
//   <out_dir>/<binary>.csv    tidy CSV, one row per method x N x seed x
//                             evaluated iteration:
//                             method,num_particles,seed,iteration,meta_loss,
//                             theta_0,...,theta_{P-1}
//   <out_dir>/<binary>.json   sidecar: binary, figure, flags, seeds, git
//                             commit, library versions, wall time, and per
//                             method "seconds_per_estimate" and
//                             "final_meta_loss" (means over seeds) under
//                             "methods": {"<method>": {...}}, plus every run
//                             under "runs".
//
// --out_dir: empty means results/<binary>/. A relative path is resolved
// against $BUILD_WORKSPACE_DIRECTORY when the binary runs under `bazel run`
// (whose working directory is the runfiles tree), else against the working
// directory. The directory is created.
//
// Numbers are written as the shortest "%.<p>g" (p >= 6) decimal that reads back to
// the same double, so the files carry the exact bits; non-finite
// values as nan / inf / -inf in CSV and null in JSON.
//
// Usage:
//   auto dir = ResolveOutDir(absl::GetFlag(FLAGS_out_dir), "fig5_influence");
//   auto csv = CsvWriter::Open(*dir + "/fig5_influence.csv", TraceColumns(1));
//   WriteTrace(csv->get(), "es_single", 1000, 0, result.trace);
//   Sidecar sc{.binary = "fig5_influence", ...};  WriteSidecar(path, sc);
#ifndef ES_SINGLE_EXPERIMENTS_FIGURE_IO_H_
#define ES_SINGLE_EXPERIMENTS_FIGURE_IO_H_

#include <cstdint>
#include <cstdio>
#include <functional>
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

// `git -C <workspace or cwd> rev-parse HEAD`, or "unknown".
std::string GitCommit();

// Versions of the libraries the binary was built against (and, for oneDNN,
// runs against): {"eigen", "3.4.0"}, {"abseil", "20220623.1"}, ...
std::vector<std::pair<std::string, std::string>> LibraryVersions();

// The flag's value, or `quick_value` when `quick` is set and the flag still
// has its default value (a flag set to any other value wins over --quick).
// (This Abseil offers no public "was it on the command line" query.)
template <typename T>
T QuickOr(const absl::Flag<T>& flag, bool quick, T quick_value) {
  const absl::CommandLineFlag& handle = absl::GetFlagReflectionHandle(flag);
  if (quick && handle.CurrentValue() == handle.DefaultValue()) {
    return quick_value;
  }
  return absl::GetFlag(flag);
}

// Shortest round-trip "%.<p>g" decimal, or nan / inf / -inf.
std::string FormatDouble(double value);

// Parses "0,1,2" (spaces allowed, no empty items). `what` names the flag in
// errors.
absl::StatusOr<std::vector<int64_t>> ParseIntList(absl::string_view text,
                                                  absl::string_view what);
absl::StatusOr<std::vector<double>> ParseDoubleList(absl::string_view text,
                                                    absl::string_view what);
absl::StatusOr<std::vector<std::string>> ParseNameList(absl::string_view text,
                                                       absl::string_view what);

// A tidy CSV file: one header line, then rows of exactly as many cells.
// Cells must not contain commas, quotes or newlines (the writer checks).
class CsvWriter {
 public:
  static absl::StatusOr<std::unique_ptr<CsvWriter>> Open(
      const std::string& path, std::vector<std::string> columns);
  ~CsvWriter();
  CsvWriter(const CsvWriter&) = delete;
  CsvWriter& operator=(const CsvWriter&) = delete;

  absl::Status WriteRow(const std::vector<std::string>& cells);
  // Flushes and closes; reports a write error if there was one.
  absl::Status Close();
  const std::string& path() const { return path_; }

 private:
  CsvWriter(std::string path, std::FILE* file, size_t num_columns)
      : path_(std::move(path)), file_(file), num_columns_(num_columns) {}
  std::string path_;
  std::FILE* file_;
  size_t num_columns_;
};

// method,num_particles,seed,iteration,meta_loss,theta_0,...,theta_{P-1}.
std::vector<std::string> TraceColumns(int theta_dim);

// One row per trace point.
absl::Status WriteTrace(CsvWriter* csv, const std::string& method,
                        int num_particles, uint64_t seed,
                        const std::vector<TracePoint>& trace);

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

struct Sidecar {
  std::string binary;       // "fig5_influence"
  std::string figure;       // "Fig. 5"
  std::string description;  // one line: what the binary measures
  // (name, value) of the binary's flags; see FlagsDefinedIn.
  std::vector<std::pair<std::string, std::string>> flags;
  std::vector<int64_t> seeds;
  double wall_seconds = 0.0;
  // Setting name -> already-formatted JSON value (numbers, strings quoted by
  // the caller with JsonString), for resolved settings such as iterations.
  std::vector<std::pair<std::string, std::string>> settings;
  std::vector<MethodSummary> methods;
  std::vector<RunSummary> runs;
};

// Current values of the flags defined in source files whose path contains
// `file_substring` (e.g. "experiments/fig5_influence"), sorted by name.
std::vector<std::pair<std::string, std::string>> FlagsDefinedIn(
    absl::string_view file_substring);

// JSON string literal with escapes; JSON number (null if not finite).
std::string JsonString(absl::string_view s);
std::string JsonNumber(double value);

// Writes the sidecar (adds git commit, library versions and a UTC time
// stamp) to `path`, replacing it atomically (write to path.tmp, rename).
absl::Status WriteSidecar(const std::string& path, const Sidecar& sidecar);

}  // namespace es::experiments

#endif  // ES_SINGLE_EXPERIMENTS_FIGURE_IO_H_
