// mnist_common.cc - see mnist_common.h.
#include "experiments/mnist_common.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <set>
#include <utility>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "experiments/figure.h"
#include "experiments/figure_io.h"
#include "inner/data/datasets.h"

ABSL_FLAG(std::string, hidden_sizes, "100,100",
          "Hidden layer sizes (App. C: 100,100).");
ABSL_FLAG(int64_t, batch_size, 100, "Inner minibatch size (App. C: 100).");
ABSL_FLAG(int64_t, horizon, 5000, "T, inner steps per inner problem (App. C: 5000).");
ABSL_FLAG(double, schedule_q, 5000.0, "Q of the LR schedule (Sec. 4.2: 5000).");
ABSL_FLAG(double, momentum, 0.9,
          "Inner SGD momentum where it is fixed (App. C: 0.9).");
ABSL_FLAG(int64_t, measure_batch_size, 1000,
          "Fig. 8: the fixed per-inner-problem minibatch of the final loss "
          "(App. C: 1000).");
ABSL_FLAG(int64_t, train_examples, 0,
          "Use the first n training examples (0 = the whole 50000 split).");
ABSL_FLAG(int64_t, valid_examples, 0,
          "Use the first n validation examples (0 = the whole 10000 split).");

namespace es::experiments {
namespace {

// Non-throwing: a symlink loop or an unreadable directory is "absent".
bool Exists(const std::string& path) {
  std::error_code ec;
  return std::filesystem::exists(path, ec) && !ec;
}

bool HasMnist(const std::string& dir) {
  const std::string base = absl::StrCat(dir, "/mnist/train-images-idx3-ubyte");
  return Exists(base + ".gz") || Exists(base);
}

absl::StatusOr<std::string> Checked(const std::string& dir,
                                    const std::string& source) {
  if (HasMnist(dir)) return dir;
  return absl::NotFoundError(absl::StrCat(
      "MNIST not found: ", dir, "/mnist/train-images-idx3-ubyte(.gz) does not "
      "exist (data directory from ", source, "). Pass --data_dir=DIR or set ",
      kDataDirEnvVar, "=DIR where DIR/mnist/ holds the four MNIST IDX files, "
      "e.g. ", kDataDirEnvVar, "=<dir> (README, \"Data\")"));
}


}  // namespace

absl::StatusOr<std::string> ResolveMnistDataDir(const std::string& flag_value) {
  if (!flag_value.empty()) return Checked(flag_value, "--data_dir");
  const char* env = std::getenv(kDataDirEnvVar);
  if (env != nullptr && env[0] != '\0') {
    return Checked(env, absl::StrCat("$", kDataDirEnvVar));
  }
  const char* ws = std::getenv("BUILD_WORKSPACE_DIRECTORY");
  std::error_code ec;
  const std::string root = ws != nullptr && ws[0] != '\0'
                               ? std::string(ws)
                               : std::filesystem::current_path(ec).string();
  const std::string fallback = absl::StrCat(root, "/../shared/data");
  if (std::filesystem::is_directory(fallback, ec) && !ec) {
    return Checked(fallback, "the default <workspace>/../shared/data");
  }
  return absl::NotFoundError(absl::StrCat(
      "no MNIST data directory: --data_dir is empty, $", kDataDirEnvVar,
      " is unset and ", fallback, " does not exist. Pass --data_dir=DIR or "
      "set ", kDataDirEnvVar, "=DIR where DIR/mnist/ holds the four MNIST IDX "
      "files, e.g. ", kDataDirEnvVar, "=<dir> (README, \"Data\")"));
}

namespace {

absl::StatusOr<MnistSplits> Splits(absl::StatusOr<Dataset> data,
                                   std::string dir, int64_t train_examples) {
  if (!data.ok()) return data.status();
  MnistSplits out;
  out.data_dir = std::move(dir);
  out.train = train_examples > 0 && train_examples < data->train.num_examples()
                  ? SliceExamples(data->train, 0, train_examples)
                  : std::move(data->train);
  out.validation = std::move(data->validation);
  return out;
}

absl::Status CheckTrainExamples(int64_t train_examples) {
  if (train_examples >= 0) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "--train_examples must be >= 0 (0 = all), got ", train_examples));
}

}  // namespace

absl::StatusOr<MnistSplits> LoadMnistSplits(const std::string& flag_value,
                                            int64_t train_examples) {
  if (auto s = CheckTrainExamples(train_examples); !s.ok()) return s;
  auto dir = ResolveMnistDataDir(flag_value);
  if (!dir.ok()) return dir.status();
  return Splits(LoadMnist(*dir), *dir, train_examples);
}

absl::StatusOr<MnistSplits> LoadFashionMnistSplits(const std::string& flag_value,
                                                   int64_t train_examples) {
  if (auto s = CheckTrainExamples(train_examples); !s.ok()) return s;
  const std::string dir =
      flag_value.empty() ? std::string(kFashionMnistDefaultDir) : flag_value;
  return Splits(LoadFashionMnist(dir), dir, train_examples);
}

MlpDataView ViewOf(const LabeledImages& set) {
  return MlpDataView{set.images, set.labels, set.num_features()};
}

absl::StatusOr<std::unique_ptr<MlpTask>> BuildMlpTask(const FigureRun& run,
                                                      MlpHpoConfig config,
                                                      MlpData which,
                                                      bool measure) {
  auto hidden = ParseIntList(absl::GetFlag(FLAGS_hidden_sizes), "hidden_sizes");
  if (!hidden.ok()) return hidden.status();
  const int64_t valid_examples = absl::GetFlag(FLAGS_valid_examples);
  if (valid_examples < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--valid_examples must be >= 0 (0 = all), got ", valid_examples));
  }
  config.hidden_sizes.assign(hidden->begin(), hidden->end());
  config.batch_size = absl::GetFlag(FLAGS_batch_size);
  config.horizon = absl::GetFlag(FLAGS_horizon);
  config.schedule_q = absl::GetFlag(FLAGS_schedule_q);
  config.fixed_momentum = absl::GetFlag(FLAGS_momentum);
  config.measure_batch_size =
      measure ? absl::GetFlag(FLAGS_measure_batch_size) : config.batch_size;
  const std::string dir = absl::GetFlag(FLAGS_data_dir);
  const int64_t train = absl::GetFlag(FLAGS_train_examples);
  auto data = which == MlpData::kMnist ? LoadMnistSplits(dir, train)
                                       : LoadFashionMnistSplits(dir, train);
  if (!data.ok()) return data.status();
  auto task = std::make_unique<MlpTask>();
  task->data = *std::move(data);
  if (valid_examples > 0 &&
      valid_examples < task->data.validation.num_examples()) {
    task->data.validation = SliceExamples(task->data.validation, 0, valid_examples);
  }
  auto problem = MlpHpoProblem::Create(config, ViewOf(task->data.train),
                                       ViewOf(task->data.validation));
  if (!problem.ok()) return problem.status();
  const int n = std::max(1, absl::GetFlag(FLAGS_num_particles));
  if (auto s = run.CheckMemory(
          (*problem)->BytesPerParticle() * n,
          absl::StrCat(n, " copies of the ", (*problem)->name(), " network (",
                       (*problem)->params_per_particle(), " parameters each)"));
      !s.ok()) {
    return s;
  }
  task->problem = *std::move(problem);
  return task;
}

}  // namespace es::experiments
