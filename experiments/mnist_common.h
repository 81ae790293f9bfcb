// mnist_common.h - what the MNIST figure binaries of the ES-Single paper
// (Vicol, Kolter, Swersky, ICML 2023; Sec. 4.2 "MNIST LR Schedule", App. C
// "Meta-Learning MNIST LR Schedule", "Meta-Gradient Comparison", App. C.7;
// Figs. 7, 17, 18, 19, 26) share: finding and loading MNIST, evaluating the
// meta-loss on a grid of theta (the contour / grid-search data), and method
// registry entries with their own outer learning rate.
//
// Data directory (ResolveMnistDataDir), first that applies:
//   1. the --data_dir flag value, if non-empty;
//   2. $ES_SINGLE_DATA_DIR, if set and non-empty;
//   3. <workspace>/../shared/data, if that directory exists, where
//      <workspace> is $BUILD_WORKSPACE_DIRECTORY under `bazel run`, else the
//      working directory.
// The directory must hold mnist/train-images-idx3-ubyte(.gz) and the three
// other IDX files (inner/data/datasets.h); otherwise the error names the
// path that was tried and where it came from.
//
// Grid meta-loss: for each theta row, the sum of the T per-step losses of a
// full unroll (MlpHpoProblem::EvaluateBatch), averaged over the given episode
// keys; with the single key the meta-trainer evaluates at (--eval_key), the
// grid and the trajectories' meta_loss columns are the same function.
//
// Usage:
//   auto data = LoadMnistSplits(absl::GetFlag(FLAGS_data_dir), 0);
//   auto problem = MlpHpoProblem::Create(config, ViewOf(data->train), {});
//   auto grid = EvaluateGrid(**problem, Grid2d(r0, r1, 11, 11), {key}, 32,
//                            /*progress=*/true);
//   WriteGridCsv(dir + "/fig7_mnist_lr_schedule_grid.csv", *grid);
#ifndef ES_SINGLE_EXPERIMENTS_MNIST_COMMON_H_
#define ES_SINGLE_EXPERIMENTS_MNIST_COMMON_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/flags/flag.h"
#include "estimators/unrolled_problem.h"
#include "experiments/figure_io.h"
#include "experiments/method_registry.h"
#include "inner/data/idx_reader.h"
#include "inner/mlp_hpo.h"

namespace es::experiments {

// The data directory (parent of mnist/), see the file comment. Pure apart
// from reading the environment and checking that files exist.
absl::StatusOr<std::string> ResolveMnistDataDir(const std::string& flag_value);

struct MnistSplits {
  std::string data_dir;      // as resolved
  LabeledImages train;       // the first train_examples of the 50000 split
  LabeledImages validation;  // the 10000-example validation split
};

// Loads MNIST (inner/data/datasets.h split) and keeps the first
// `train_examples` training examples (0 = all 50000).
absl::StatusOr<MnistSplits> LoadMnistSplits(const std::string& flag_value,
                                            int64_t train_examples);

// A view of `set` for MlpHpoProblem (the set must outlive the view).
MlpDataView ViewOf(const LabeledImages& set);

// Remembers which flags the command line names ("--name", "--name=v",
// "-name", "--noname" for booleans; up to a bare "--"), so that QuickScaledOr
// can tell "set to its default value" from "not set". Call from main() with
// the original argv. (This Abseil has no public "was it set" query, and
// figure_io.h's QuickOr treats a flag set to its default as unset, which
// would turn "--scaled --horizon=5000" into the scaled horizon.) Flags given
// only through --flagfile are not seen.
void RecordCommandLineFlags(int argc, char** argv);
// True if RecordCommandLineFlags saw the flag `name`.
bool OnCommandLine(const std::string& name);
// True once RecordCommandLineFlags has run.
bool CommandLineRecorded();

// The value a flag takes under the --quick / --scaled presets: the flag's
// own value if it was given on the command line; else quick_value under
// --quick; else scaled_value under --scaled; else the flag's default.
// (Without RecordCommandLineFlags, falls back to figure_io.h's QuickOr rule:
// a flag still at its default value counts as not given.)
template <typename T>
T QuickScaledOr(const absl::Flag<T>& flag, bool quick, T quick_value,
                bool scaled, T scaled_value) {
  const absl::CommandLineFlag& handle = absl::GetFlagReflectionHandle(flag);
  const bool given = CommandLineRecorded()
                         ? OnCommandLine(std::string(handle.Name()))
                         : handle.CurrentValue() != handle.DefaultValue();
  if (given) return absl::GetFlag(flag);
  if (quick) return quick_value;
  if (scaled) return scaled_value;
  return absl::GetFlag(flag);
}

// QuickScaledOr for a flag that --scaled leaves at its default.
template <typename T>
T QuickOnlyOr(const absl::Flag<T>& flag, bool quick, T quick_value) {
  return QuickScaledOr(flag, quick, quick_value, false, quick_value);
}

// Parses "min,max" with min <= max; `flag` names the flag in errors.
absl::StatusOr<std::pair<double, double>> ParseRange(const std::string& text,
                                                     const char* flag);

// n points from lo to hi inclusive (n = 1: lo).
std::vector<double> Linspace(double lo, double hi, int n);

// All (a, b) pairs, a-major: row i * b.size() + j is (a[i], b[j]).
RowMatrixXd Grid2d(const std::vector<double>& a, const std::vector<double>& b);

struct GridResult {
  RowMatrixXd thetas;              // rows = grid points
  std::vector<double> meta_loss;   // mean over keys of the full-unroll sum
  int argmin = -1;                 // row of the smallest finite meta-loss
  double seconds = 0.0;
};

// Evaluates every row on every key (same inner problem for all rows of a
// key), in batches of at most max_batch rows; progress on stderr.
absl::StatusOr<GridResult> EvaluateGrid(const MlpHpoProblem& problem,
                                        const RowMatrixXd& thetas,
                                        const std::vector<uint64_t>& keys,
                                        int max_batch, bool progress);

// theta_0,...,theta_{P-1},meta_loss, one row per grid point.
absl::Status WriteGridCsv(const std::string& path, const GridResult& grid);

// Registers `base` (an ES method of estimators/estimator_factory.h) under
// the name `name` with its own outer optimiser (e.g. PES at a smaller outer
// learning rate, Figs. 17/18).
absl::Status AddEsMethodWithOptimizer(const UnrolledProblem* problem,
                                      const std::string& base,
                                      const std::string& name,
                                      const OptimizerOptions& optimizer,
                                      MethodRegistry* registry);

// Formats the per-method table the binaries print at the end.
std::string SummaryTable(const std::vector<MethodSummary>& methods);

}  // namespace es::experiments

#endif  // ES_SINGLE_EXPERIMENTS_MNIST_COMMON_H_
