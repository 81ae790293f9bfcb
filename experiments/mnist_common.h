// mnist_common.h - what the MNIST figure binaries of the ES-Single paper
// (Vicol, Kolter, Swersky, ICML 2023; Sec. 4.2 "MNIST LR Schedule", App. C
// "Meta-Learning MNIST LR Schedule", "Meta-Gradient Comparison", App. C.7;
// Figs. 7, 17, 18, 19, 26) share: finding and loading MNIST.
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
// Usage:
//   auto data = LoadMnistSplits(absl::GetFlag(FLAGS_data_dir), 0);
//   auto problem = MlpHpoProblem::Create(config, ViewOf(data->train), {});
#ifndef ES_SINGLE_EXPERIMENTS_MNIST_COMMON_H_
#define ES_SINGLE_EXPERIMENTS_MNIST_COMMON_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/flags/flag.h"
#include "experiments/figure.h"
#include "experiments/figure_io.h"
#include "inner/data/idx_reader.h"
#include "inner/mlp/mlp_hpo.h"

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

// FashionMNIST with the same split: from `flag_value`, or Debian's
// dataset-fashion-mnist directory when it is empty.
absl::StatusOr<MnistSplits> LoadFashionMnistSplits(const std::string& flag_value,
                                                   int64_t train_examples);

// A view of `set` for MlpHpoProblem (the set must outlive the view).
MlpDataView ViewOf(const LabeledImages& set);

// An MLP hyperparameter problem (inner/mlp/mlp_hpo.h) with the data it points
// at.
struct MlpTask {
  MnistSplits data;
  std::unique_ptr<MlpHpoProblem> problem;
};

enum class MlpData { kMnist, kFashionMnist };

// The MLP figures' shared task flags (defined in mnist_common.cc, recorded
// in their sidecars; defaults: the App. C LR-schedule task, a figure's
// presets may change them): --hidden_sizes, --batch_size, --horizon,
// --schedule_q, --momentum, --measure_batch_size, --train_examples,
// --valid_examples, and --data_dir (figure.h). Builds MlpHpoProblem from
// `config` (parametrisation, objective, ...) with those sizes on the first
// --train_examples / --valid_examples examples (0 = all) of the data set.
// measure_batch_size is the flag's value when `measure` (the telescoping
// objective), else the minibatch size (MeasureLoss then unused). Refuses
// (run.CheckMemory) a network whose --num_particles copies would not fit,
// before anything is trained.
absl::StatusOr<std::unique_ptr<MlpTask>> BuildMlpTask(const FigureRun& run,
                                                      MlpHpoConfig config,
                                                      MlpData data,
                                                      bool measure);

}  // namespace es::experiments

#endif  // ES_SINGLE_EXPERIMENTS_MNIST_COMMON_H_
