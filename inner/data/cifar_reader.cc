// cifar_reader.cc - see cifar_reader.h.
#include "inner/data/cifar_reader.h"

#include <filesystem>
#include <fstream>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "inner/data/datasets.h"

namespace es {
namespace {

constexpr int64_t kMaxRecords = 1000000;

std::string FetchHint(const std::string& path) {
  return absl::StrCat(
      "; CIFAR-10 (binary version) is not shipped by any package registry: "
      "run `bash ",
      kCifarFetchScript,
      " <data_dir>` on a machine with internet access (it downloads "
      "cifar-10-binary.tar.gz, checks its md5 and unpacks it into "
      "<data_dir>/cifar10/), then set ",
      kDataDirEnvVar, "=<data_dir> (expected file: ", path, ")");
}

// Appends the normalised images and labels of `n` records in `bytes`.
absl::Status Decode(const std::string& path, const std::string& bytes,
                    int64_t n, CifarImages* out) {
  const size_t first = out->labels.size();
  out->labels.resize(first + n);
  out->images.resize((first + n) * kCifarImageBytes);
  constexpr int64_t kPlane = kCifarImageBytes / 3;
  for (int64_t r = 0; r < n; ++r) {
    const unsigned char* rec =
        reinterpret_cast<const unsigned char*>(bytes.data()) +
        r * kCifarRecordBytes;
    if (rec[0] > 9) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ": record ", r, " (byte offset ", r * kCifarRecordBytes,
          ") has label ", static_cast<int>(rec[0]),
          "; CIFAR-10 labels are 0..9 (is this the CIFAR-100 binary, whose "
          "records start with 2 label bytes, or not a CIFAR file at all?)"));
    }
    out->labels[first + r] = rec[0];
    float* img = out->images.data() + (first + r) * kCifarImageBytes;
    for (int c = 0; c < 3; ++c) {
      const float mean = kCifarMean[c], inv_std = 1.0f / kCifarStd[c];
      for (int64_t j = 0; j < kPlane; ++j) {
        const float x = static_cast<float>(rec[1 + c * kPlane + j]) / 255.0f;
        img[c * kPlane + j] = (x - mean) * inv_std;
      }
    }
  }
  return absl::OkStatus();
}

absl::Status ReadInto(const std::string& path, int64_t records,
                      CifarImages* out) {
  if (records < 1 || records > kMaxRecords) {
    return absl::InvalidArgumentError(
        absl::StrCat("ReadCifarBatch(", path, "): records = ", records,
                     "; allowed: 1..", kMaxRecords));
  }
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status)) {
    return absl::NotFoundError(
        absl::StrCat("CIFAR-10 file ", path, " does not exist",
                     FetchHint(path)));
  }
  if (!std::filesystem::is_regular_file(status)) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, " is not a regular file; expected a CIFAR-10 batch file of ",
        records * kCifarRecordBytes, " bytes"));
  }
  const int64_t expected = records * kCifarRecordBytes;
  const uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot read the size of ", path, ": ", ec.message()));
  }
  const std::string what = absl::StrCat(
      "expected ", expected, " bytes (", records, " records of 1 label byte + ",
      kCifarImageBytes, " pixel bytes)");
  if (static_cast<int64_t>(size) < expected) {
    return absl::DataLossError(absl::StrCat(
        path, " is truncated: it has ", size, " bytes, ", what,
        size % kCifarRecordBytes == 0
            ? ""
            : absl::StrCat("; the last record is cut after ",
                           size % kCifarRecordBytes, " bytes")));
  }
  if (static_cast<int64_t>(size) > expected) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, " has the wrong size: ", size, " bytes, ", what,
        " (is it the compressed archive, or the Python/MATLAB version?)"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot open ", path, " for reading"));
  }
  std::string bytes(static_cast<size_t>(expected), '\0');
  in.read(bytes.data(), expected);
  if (in.gcount() != expected) {
    return absl::DataLossError(absl::StrCat(
        path, " is truncated: read only ", in.gcount(), " bytes, ", what,
        " (did the file change while it was read?)"));
  }
  return Decode(path, bytes, records, out);
}

// A copy of records [begin, end) of `set`.
CifarImages Slice(const CifarImages& set, int64_t begin, int64_t end) {
  CifarImages out;
  out.labels.assign(set.labels.begin() + begin, set.labels.begin() + end);
  out.images.assign(set.images.begin() + begin * kCifarImageBytes,
                    set.images.begin() + end * kCifarImageBytes);
  return out;
}

}  // namespace

absl::StatusOr<CifarImages> ReadCifarBatch(const std::string& path,
                                           int64_t records) {
  CifarImages out;
  if (absl::Status s = ReadInto(path, records, &out); !s.ok()) return s;
  return out;
}

absl::StatusOr<std::string> CifarDirectory(const std::string& data_dir) {
  absl::StatusOr<std::string> dir = ResolveDataDir(data_dir);
  if (!dir.ok()) {
    return absl::NotFoundError(absl::StrCat(
        "no data directory for CIFAR-10: pass one (e.g. a --data_dir flag) or "
        "set ",
        kDataDirEnvVar, " to a directory whose cifar10/ subdirectory holds "
        "data_batch_1.bin .. data_batch_5.bin and test_batch.bin",
        FetchHint("<data_dir>/cifar10/data_batch_1.bin")));
  }
  return absl::StrCat(*dir, "/cifar10");
}

absl::StatusOr<CifarDataset> LoadCifar10(const std::string& data_dir,
                                         const CifarOptions& options) {
  absl::StatusOr<std::string> dir = CifarDirectory(data_dir);
  if (!dir.ok()) return dir.status();
  const int64_t n = options.records_per_file;
  if (n < 1 || n > kMaxRecords) {
    return absl::InvalidArgumentError(absl::StrCat(
        "LoadCifar10: records_per_file = ", n, "; allowed: 1..", kMaxRecords));
  }
  const int64_t total = kCifarTrainingFiles * n;
  if (options.num_validation < 0 || options.num_validation >= total) {
    return absl::InvalidArgumentError(absl::StrCat(
        "LoadCifar10: num_validation = ", options.num_validation,
        "; allowed: 0..", total - 1, " (", total, " training records)"));
  }
  CifarImages all;
  all.labels.reserve(total);
  all.images.reserve(total * kCifarImageBytes);
  for (int f = 1; f <= kCifarTrainingFiles; ++f) {
    const std::string path = absl::StrCat(*dir, "/data_batch_", f, ".bin");
    if (absl::Status s = ReadInto(path, n, &all); !s.ok()) return s;
  }
  CifarDataset out;
  const std::string test_path = absl::StrCat(*dir, "/test_batch.bin");
  if (absl::Status s = ReadInto(test_path, n, &out.test); !s.ok()) return s;
  const int64_t split = total - options.num_validation;
  out.validation = Slice(all, split, total);
  all.labels.resize(split);
  all.images.resize(split * kCifarImageBytes);
  out.train = std::move(all);  // no second copy of the 600 MB
  return out;
}

}  // namespace es
