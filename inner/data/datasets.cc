// datasets.cc - see datasets.h.
#include "inner/data/datasets.h"

#include <sys/stat.h>

#include <cstdlib>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace es {
namespace {

bool IsFile(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// "<dir>/<name>.gz" if it exists, else "<dir>/<name>" if it exists, else a
// NotFound status naming both.
absl::StatusOr<std::string> FindIdxFile(const std::string& dir,
                                        const std::string& name) {
  const std::string raw = absl::StrCat(dir, "/", name);
  const std::string gz = absl::StrCat(raw, ".gz");
  if (IsFile(gz)) return gz;
  if (IsFile(raw)) return raw;
  return absl::NotFoundError(
      absl::StrCat("IDX file not found: expected ", gz, " or ", raw));
}

absl::StatusOr<LabeledImages> LoadPair(const std::string& dir,
                                       const std::string& prefix) {
  absl::StatusOr<std::string> images =
      FindIdxFile(dir, absl::StrCat(prefix, "-images-idx3-ubyte"));
  if (!images.ok()) return images.status();
  absl::StatusOr<std::string> labels =
      FindIdxFile(dir, absl::StrCat(prefix, "-labels-idx1-ubyte"));
  if (!labels.ok()) return labels.status();
  return LoadIdxImagesAndLabels(*images, *labels, /*num_classes=*/10);
}

}  // namespace

absl::StatusOr<Dataset> LoadIdxDataset(const std::string& dir,
                                       int64_t num_validation) {
  absl::StatusOr<LabeledImages> train = LoadPair(dir, "train");
  if (!train.ok()) return train.status();
  absl::StatusOr<LabeledImages> test = LoadPair(dir, "t10k");
  if (!test.ok()) return test.status();
  if (train->rows != test->rows || train->cols != test->cols) {
    return absl::InvalidArgumentError(
        absl::StrCat(dir, ": training images are ", train->rows, "x",
                     train->cols, " but test images are ", test->rows, "x",
                     test->cols, "; expected the same size"));
  }
  const int64_t n = train->num_examples();
  if (num_validation < 0 || num_validation >= n) {
    return absl::InvalidArgumentError(
        absl::StrCat("num_validation = ", num_validation, "; allowed: 0..",
                     n - 1, " (", dir, " has ", n, " training examples)"));
  }
  Dataset data;
  data.validation = SliceExamples(*train, n - num_validation, n);
  // Keep the first part in place instead of copying it.
  train->images.resize((n - num_validation) * train->num_features());
  train->labels.resize(n - num_validation);
  data.train = *std::move(train);
  data.test = *std::move(test);
  return data;
}

absl::StatusOr<Dataset> LoadFashionMnist(const std::string& dir,
                                         int64_t num_validation) {
  absl::StatusOr<Dataset> data = LoadIdxDataset(dir, num_validation);
  if (!data.ok() && absl::IsNotFound(data.status()) &&
      dir == kFashionMnistDefaultDir) {
    return absl::NotFoundError(absl::StrCat(
        data.status().message(),
        " (install the Debian package dataset-fashion-mnist, or pass the "
        "directory holding the four FashionMNIST IDX files)"));
  }
  return data;
}

absl::StatusOr<std::string> ResolveDataDir(const std::string& flag_value) {
  if (!flag_value.empty()) return flag_value;
  const char* env = std::getenv(kDataDirEnvVar);
  if (env != nullptr && env[0] != '\0') return std::string(env);
  return absl::NotFoundError(absl::StrCat(
      "no data directory: pass --data_dir or set ", kDataDirEnvVar,
      " to a directory whose mnist/ subdirectory holds the four MNIST IDX "
      "files (e.g. ",
      kDataDirEnvVar, "=<dir>; see the README, \"Data\")"));
}

absl::StatusOr<Dataset> LoadMnist(const std::string& data_dir,
                                  int64_t num_validation) {
  absl::StatusOr<std::string> dir = ResolveDataDir(data_dir);
  if (!dir.ok()) return dir.status();
  return LoadIdxDataset(absl::StrCat(*dir, "/mnist"), num_validation);
}

}  // namespace es
