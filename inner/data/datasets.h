// datasets.h - MNIST and FashionMNIST with a fixed train/validation/test
// split, for the hyperparameter-optimisation experiments of ES-Single
// (Vicol et al., ICML 2023, Sec. 6: the meta-objective is the validation
// loss of an MLP trained on the training split).
//
// Split (the same for both data sets, deterministic, no shuffling):
//   train      = training file examples [0, 60000 - num_validation)
//   validation = training file examples [60000 - num_validation, 60000),
//                i.e. the last 10000 training images by default
//   test       = the t10k files (10000 examples), never used for tuning
// With the default num_validation = 10000 this is 50000 / 10000 / 10000.
//
// Where the files are:
//   FashionMNIST: /usr/share/datasets/fashion-mnist (Debian package
//     dataset-fashion-mnist) unless another directory is given.
//   MNIST: <data_dir>/mnist/, with data_dir from the caller (a binary's
//     --data_dir flag) or, if that is empty, the environment variable
//     ES_SINGLE_DATA_DIR; e.g.
//     <data dir>/mnist/train-images-idx3-ubyte.gz.
// Each directory holds the four standard files train-images-idx3-ubyte,
// train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte,
// each either gzip-compressed (".gz", tried first) or raw.
//
// Usage:
//   absl::StatusOr<Dataset> data = LoadFashionMnist();
//   if (!data.ok()) return data.status();
//   // data->train.images: [50000, 784] floats in [0, 1], row = example.
//   absl::StatusOr<Dataset> mnist = LoadMnist(absl::GetFlag(FLAGS_data_dir));
#ifndef ES_SINGLE_INNER_DATA_DATASETS_H_
#define ES_SINGLE_INNER_DATA_DATASETS_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "inner/data/idx_reader.h"

namespace es {

inline constexpr char kFashionMnistDefaultDir[] =
    "/usr/share/datasets/fashion-mnist";
inline constexpr char kDataDirEnvVar[] = "ES_SINGLE_DATA_DIR";
inline constexpr int64_t kDefaultNumValidation = 10000;

struct Dataset {
  LabeledImages train;
  LabeledImages validation;
  LabeledImages test;
};

// Loads the four IDX files from `dir` and splits the training file as
// described above. num_validation must be in [0, training examples).
absl::StatusOr<Dataset> LoadIdxDataset(
    const std::string& dir, int64_t num_validation = kDefaultNumValidation);

// FashionMNIST from `dir` (default: the Debian package's directory).
absl::StatusOr<Dataset> LoadFashionMnist(
    const std::string& dir = kFashionMnistDefaultDir,
    int64_t num_validation = kDefaultNumValidation);

// MNIST from <data_dir>/mnist; data_dir empty means $ES_SINGLE_DATA_DIR.
absl::StatusOr<Dataset> LoadMnist(
    const std::string& data_dir = "",
    int64_t num_validation = kDefaultNumValidation);

// `flag_value` if non-empty, else $ES_SINGLE_DATA_DIR, else a NotFound
// status that says how to set either.
absl::StatusOr<std::string> ResolveDataDir(const std::string& flag_value);

}  // namespace es

#endif  // ES_SINGLE_INNER_DATA_DATASETS_H_
