// cifar_reader.h - reader for the binary version of CIFAR-10, with input
// errors reported as absl::Status, and the train/validation/test split of
// the ES-Single paper's CIFAR-10 experiments.
//
// Data set: Krizhevsky, "Learning Multiple Layers of Features from Tiny
// Images", 2009 (https://www.cs.toronto.edu/~kriz/cifar.html). The
// ES-Single paper (Vicol et al., ICML 2023, App. C.5, Figs. 23 and 24) tunes
// the hyperparameters of a ResNet trained on it (inner/cifar/).
//
// Format: each of data_batch_1.bin .. data_batch_5.bin and test_batch.bin
// holds 10000 records of 3073 bytes: one label byte (0..9), then 3072 pixel
// bytes, the 32x32 red plane, then green, then blue, each row-major. No
// header; the file size is exactly 10000 * 3073 = 30730000 bytes.
//
// Images come out as float [N, 3, 32, 32] (NCHW, the layout of
// inner/cifar/batched_resnet.h), normalised per channel:
//   x = (byte / 255 - mean_c) / std_c,
//   mean = (125.3, 123.0, 113.9) / 255,  std = (63.0, 62.1, 66.7) / 255
// (R, G, B), the constants of the PES code that the paper's authors used
// (google-research/persistent_es, data_utils.py: the commonly used CIFAR-10
// training-set statistics). Labels come out as int32.
//
// Split (as in that code): train = the first 40000 training records
// (data_batch_1..4), validation = the last 10000 (data_batch_5), test =
// test_batch.bin. num_validation changes the split point.
//
// Files: <data_dir>/cifar10/{data_batch_1..5,test_batch}.bin, data_dir from
// the caller or, if empty, $ES_SINGLE_DATA_DIR. No registry these machines
// reach ships CIFAR-10; tools/fetch_cifar10.sh downloads and checks it.
//
// Errors (never a crash, never an allocation larger than the expected file):
// NotFound for a missing file or directory (the message names the path and
// the fetch script), InvalidArgument for a file larger than expected, a
// directory in place of a file, or a label > 9 (record and value named),
// DataLoss for a truncated or empty file.
//
// Usage:
//   absl::StatusOr<CifarDataset> data = LoadCifar10();  // $ES_SINGLE_DATA_DIR
//   if (!data.ok()) return data.status();
//   // data->train.images: [40000 * 3072] floats, data->train.labels: [40000]
//   absl::StatusOr<CifarImages> batch = ReadCifarBatch(path);
#ifndef ES_SINGLE_INNER_DATA_CIFAR_READER_H_
#define ES_SINGLE_INNER_DATA_CIFAR_READER_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace es {

inline constexpr int64_t kCifarImageBytes = 3 * 32 * 32;  // 3072
inline constexpr int64_t kCifarRecordBytes = 1 + kCifarImageBytes;
inline constexpr int64_t kCifarRecordsPerFile = 10000;
inline constexpr int64_t kCifarTrainingFiles = 5;
inline constexpr char kCifarFetchScript[] = "tools/fetch_cifar10.sh";

// Per-channel normalisation (R, G, B) on the [0, 1] pixel scale.
inline constexpr std::array<float, 3> kCifarMean = {
    125.3f / 255.0f, 123.0f / 255.0f, 113.9f / 255.0f};
inline constexpr std::array<float, 3> kCifarStd = {
    63.0f / 255.0f, 62.1f / 255.0f, 66.7f / 255.0f};

struct CifarImages {
  std::vector<float> images;    // [n, 3, 32, 32], normalised
  std::vector<int32_t> labels;  // [n], 0..9

  int64_t num_examples() const { return static_cast<int64_t>(labels.size()); }
};

// Reads one batch file, which must hold exactly `records` records (10000 for
// the real files; tests write smaller ones). records must be in [1, 10^6].
absl::StatusOr<CifarImages> ReadCifarBatch(
    const std::string& path, int64_t records = kCifarRecordsPerFile);

struct CifarDataset {
  CifarImages train;       // 40000 by default
  CifarImages validation;  // 10000 by default
  CifarImages test;        // 10000
};

struct CifarOptions {
  int64_t records_per_file = kCifarRecordsPerFile;
  // The last num_validation training records; in [0, 5 * records_per_file).
  int64_t num_validation = 10000;
};

// The directory holding the six files: <data_dir or $ES_SINGLE_DATA_DIR>/
// cifar10; NotFound (naming the variable and the fetch script) if neither
// is set.
absl::StatusOr<std::string> CifarDirectory(const std::string& data_dir);

// Reads the five training files and the test file and splits them.
absl::StatusOr<CifarDataset> LoadCifar10(const std::string& data_dir = "",
                                         const CifarOptions& options = {});

}  // namespace es

#endif  // ES_SINGLE_INNER_DATA_CIFAR_READER_H_
