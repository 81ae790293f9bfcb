// idx_reader.cc - see idx_reader.h.
#include "inner/data/idx_reader.h"

#include <sys/stat.h>
#include <zlib.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstring>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace es {
namespace {

constexpr uint8_t kTypeUnsignedByte = 0x08;
constexpr int kMaxDims = 8;

struct GzCloser {
  void operator()(gzFile_s* f) const { gzclose(f); }
};
using GzFile = std::unique_ptr<gzFile_s, GzCloser>;

std::string DimsString(const std::vector<int64_t>& dims) {
  return absl::StrCat("[", absl::StrJoin(dims, ", "), "]");
}

// Reads up to `size` bytes; returns the count read, or an error for a
// corrupt or truncated gzip stream.
absl::StatusOr<int64_t> ReadUpTo(gzFile f, const std::string& path, void* out,
                                 int64_t size, absl::string_view what) {
  int64_t total = 0;
  auto* dst = static_cast<unsigned char*>(out);
  while (total < size) {
    const unsigned chunk =
        static_cast<unsigned>(std::min<int64_t>(size - total, 1 << 20));
    const int got = gzread(f, dst + total, chunk);
    if (got < 0) {
      int code = 0;
      const char* message = gzerror(f, &code);
      return absl::DataLossError(absl::StrCat(
          path, ": corrupt or truncated gzip stream while reading ", what,
          " (after ", total, " of ", size, " bytes): ", message));
    }
    if (got == 0) break;
    total += got;
  }
  // zlib reports a gzip stream cut short as end of file plus an error.
  int code = 0;
  const char* message = gzerror(f, &code);
  if (code != Z_OK && code != Z_STREAM_END) {
    return absl::DataLossError(absl::StrCat(
        path, ": corrupt or truncated gzip stream while reading ", what,
        " (after ", total, " of ", size, " bytes): ", message));
  }
  return total;
}

absl::Status OpenError(const std::string& path, int err) {
  const std::string message =
      absl::StrCat("cannot open IDX file ", path, ": ", std::strerror(err));
  if (err == ENOENT || err == ENOTDIR) return absl::NotFoundError(message);
  if (err == EACCES || err == EPERM)
    return absl::PermissionDeniedError(message);
  return absl::UnavailableError(message);
}

}  // namespace

absl::StatusOr<IdxArray> ReadIdxFile(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return OpenError(path, errno);
  if (S_ISDIR(st.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " is a directory; expected an IDX file"));
  }
  errno = 0;
  GzFile file(gzopen(path.c_str(), "rb"));
  if (file == nullptr) return OpenError(path, errno != 0 ? errno : EIO);
  gzbuffer(file.get(), 1 << 17);

  unsigned char magic[4];
  absl::StatusOr<int64_t> got =
      ReadUpTo(file.get(), path, magic, 4, "the magic number");
  if (!got.ok()) return got.status();
  if (*got < 4) {
    return absl::DataLossError(absl::StrCat(
        path, ": truncated: expected a 4-byte IDX magic number, file has ",
        *got, " bytes"));
  }
  const uint32_t magic_value = (uint32_t{magic[0]} << 24) |
                               (uint32_t{magic[1]} << 16) |
                               (uint32_t{magic[2]} << 8) | magic[3];
  if (magic[0] != 0 || magic[1] != 0 || magic[3] < 1 || magic[3] > kMaxDims) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: bad IDX magic number 0x%08X; expected 0x0000TTNN (two zero "
        "bytes, type TT = 0x08, NN = 1..%d dimensions), e.g. 0x00000803 for "
        "images or 0x00000801 for labels",
        path, magic_value, kMaxDims));
  }
  if (magic[2] != kTypeUnsignedByte) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: IDX data type 0x%02X (magic number 0x%08X) is not supported; "
        "expected 0x08 (unsigned byte)",
        path, magic[2], magic_value));
  }
  const int ndims = magic[3];

  unsigned char header[4 * kMaxDims];
  got = ReadUpTo(file.get(), path, header, 4 * ndims, "the dimensions");
  if (!got.ok()) return got.status();
  if (*got < 4 * ndims) {
    return absl::DataLossError(absl::StrCat(
        path, ": truncated: magic number promises ", ndims, " dimensions (",
        4 * ndims, " header bytes), file has ", *got));
  }
  IdxArray array;
  int64_t bytes = 1;
  for (int i = 0; i < ndims; ++i) {
    const unsigned char* p = header + 4 * i;
    const int64_t dim = (int64_t{p[0]} << 24) | (int64_t{p[1]} << 16) |
                        (int64_t{p[2]} << 8) | int64_t{p[3]};
    array.dims.push_back(dim);
    if (dim == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": IDX dimension ", i, " is 0 (dims ",
                       DimsString(array.dims), "); expected every dim >= 1"));
    }
    // Checked before multiplying: two large dims must not overflow int64.
    if (dim > kMaxIdxBytes / bytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ": IDX dims ", DimsString(array.dims),
          " ask for more than 2^32 bytes; expected a smaller tensor"));
    }
    bytes *= dim;
  }

  // Grow the buffer as data arrives, so that a header promising more than
  // the file holds does not allocate it all up front.
  array.data.reserve(static_cast<size_t>(std::min<int64_t>(bytes, 64 << 20)));
  int64_t have = 0;
  while (have < bytes) {
    const int64_t want = std::min<int64_t>(bytes - have, 16 << 20);
    array.data.resize(static_cast<size_t>(have + want));
    got =
        ReadUpTo(file.get(), path, array.data.data() + have, want, "the data");
    if (!got.ok()) return got.status();
    have += *got;
    if (*got < want) break;
  }
  if (have < bytes) {
    return absl::DataLossError(
        absl::StrCat(path, ": truncated: IDX dims ", DimsString(array.dims),
                     " need ", bytes, " data bytes after the ", 4 + 4 * ndims,
                     "-byte header, file has only ", have));
  }
  unsigned char extra;
  got = ReadUpTo(file.get(), path, &extra, 1, "the end of the file");
  if (!got.ok()) return got.status();
  if (*got != 0) {
    return absl::DataLossError(
        absl::StrCat(path, ": trailing bytes: IDX dims ",
                     DimsString(array.dims), " need exactly ", bytes,
                     " data bytes after the header, file has more"));
  }
  return array;
}

absl::StatusOr<LabeledImages> LoadIdxImagesAndLabels(
    const std::string& images_path, const std::string& labels_path,
    int num_classes) {
  absl::StatusOr<IdxArray> images = ReadIdxFile(images_path);
  if (!images.ok()) return images.status();
  absl::StatusOr<IdxArray> labels = ReadIdxFile(labels_path);
  if (!labels.ok()) return labels.status();
  if (images->dims.size() != 3) {
    return absl::InvalidArgumentError(absl::StrCat(
        images_path, ": images have dims ", DimsString(images->dims),
        "; expected 3 dims [count, rows, cols]"));
  }
  if (labels->dims.size() != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(labels_path, ": labels have dims ",
                     DimsString(labels->dims), "; expected 1 dim [count]"));
  }
  if (images->dims[0] != labels->dims[0]) {
    return absl::InvalidArgumentError(absl::StrCat(
        images_path, " holds ", images->dims[0], " images but ", labels_path,
        " holds ", labels->dims[0], " labels; expected the same count"));
  }
  LabeledImages out;
  out.rows = images->dims[1];
  out.cols = images->dims[2];
  out.labels.resize(labels->data.size());
  for (size_t i = 0; i < labels->data.size(); ++i) {
    if (labels->data[i] >= num_classes) {
      return absl::InvalidArgumentError(
          absl::StrCat(labels_path, ": label ", i, " is ", int{labels->data[i]},
                       "; expected 0..", num_classes - 1));
    }
    out.labels[i] = labels->data[i];
  }
  out.images.resize(images->data.size());
  // Division, not a multiply by 1/255: k/255 is then the float nearest to
  // the exact ratio (255 maps to exactly 1, 51 to 0.2f).
  for (size_t j = 0; j < images->data.size(); ++j) {
    out.images[j] = static_cast<float>(images->data[j]) / 255.0f;
  }
  return out;
}

LabeledImages SliceExamples(const LabeledImages& set, int64_t begin,
                            int64_t end) {
  assert(0 <= begin && begin <= end && end <= set.num_examples());
  LabeledImages out;
  out.rows = set.rows;
  out.cols = set.cols;
  const int64_t f = set.num_features();
  out.images.assign(set.images.begin() + begin * f,
                    set.images.begin() + end * f);
  out.labels.assign(set.labels.begin() + begin, set.labels.begin() + end);
  return out;
}

}  // namespace es
