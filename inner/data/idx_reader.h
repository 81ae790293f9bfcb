// idx_reader.h - reader for the IDX format of MNIST and FashionMNIST, raw or
// gzip-compressed, with input errors reported as absl::Status.
//
// Data sets: LeCun, Cortes, Burges, "The MNIST database of handwritten
// digits"; Xiao, Rasul, Vollgraf, "Fashion-MNIST" (arXiv:1708.07747). The
// ES-Single paper (Vicol et al., ICML 2023, Sec. 6) tunes MLP
// hyperparameters on both.
//
// IDX layout (http://yann.lecun.com/exdb/mnist/): a 4-byte magic number
//   0x00 0x00 <type> <number of dims>
// (type 0x08 = unsigned byte, the only type these data sets use and the only
// one supported here), then each dimension as a big-endian uint32, then the
// data, row-major, exactly prod(dims) bytes. Files may be gzip-compressed;
// the content decides (zlib reads plain files as they are).
//
// Every problem with a file - missing, unreadable, truncated, corrupt gzip,
// wrong magic number, unsupported type, dimensions that do not match the
// byte count, trailing bytes - comes back as a status naming the path and
// what was expected. Nothing aborts.
//
// Usage:
//   absl::StatusOr<IdxArray> images =
//       ReadIdxFile("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz");
//   if (!images.ok()) return images.status();
//   // images->dims == {10000, 28, 28}; images->data.size() == 7840000
//
//   absl::StatusOr<LabeledImages> test = LoadIdxImagesAndLabels(
//       dir + "/t10k-images-idx3-ubyte.gz", dir +
//       "/t10k-labels-idx1-ubyte.gz");
//   // test->images: [10000, 784] floats in [0, 1], row = example.
#ifndef ES_SINGLE_INNER_DATA_IDX_READER_H_
#define ES_SINGLE_INNER_DATA_IDX_READER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace es {

// An unsigned-byte IDX tensor.
struct IdxArray {
  std::vector<int64_t> dims;  // outermost first
  std::vector<uint8_t> data;  // row-major, prod(dims) bytes
};

// Largest tensor accepted (bytes): a malformed header cannot ask for more.
inline constexpr int64_t kMaxIdxBytes = int64_t{1} << 32;

// Reads an IDX file, raw or gzip. Error codes: NotFound (no file),
// PermissionDenied / Unavailable (cannot open), InvalidArgument (bad magic
// number, type or dims), DataLoss (truncated file, corrupt gzip stream or
// trailing bytes).
absl::StatusOr<IdxArray> ReadIdxFile(const std::string& path);

// Images with labels, as the MLP kernels take them.
struct LabeledImages {
  int64_t rows = 0;             // image height (28)
  int64_t cols = 0;             // image width (28)
  std::vector<float> images;    // [num_examples, rows*cols], pixel / 255
  std::vector<int32_t> labels;  // [num_examples], in [0, num_classes)

  int64_t num_examples() const { return static_cast<int64_t>(labels.size()); }
  int64_t num_features() const { return rows * cols; }
};

// Reads an images file (3-D: count x rows x cols) and a labels file (1-D:
// count), checks that the counts agree and that labels < num_classes, and
// scales pixels to [0, 1].
absl::StatusOr<LabeledImages> LoadIdxImagesAndLabels(
    const std::string& images_path, const std::string& labels_path,
    int num_classes = 10);

// Examples [begin, end) of `set` (row = example), copied.
LabeledImages SliceExamples(const LabeledImages& set, int64_t begin,
                            int64_t end);

}  // namespace es

#endif  // ES_SINGLE_INNER_DATA_IDX_READER_H_
