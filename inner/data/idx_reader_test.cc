// idx_reader_test.cc - IDX files written to TEST_TMPDIR, raw and gzip: valid
// files round-trip, and every kind of damage gives a status that names the
// path and what was expected.
#include "inner/data/idx_reader.h"

#include <zlib.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace es {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return absl::StrCat(dir != nullptr ? dir : "/tmp", "/", name);
}

// IDX bytes: magic 0x0000 <type> <ndims>, big-endian dims, then data.
std::string IdxBytes(const std::vector<uint32_t>& dims,
                     const std::vector<uint8_t>& data, uint8_t type = 0x08) {
  std::string out = {0, 0, static_cast<char>(type),
                     static_cast<char>(dims.size())};
  for (uint32_t d : dims) {
    for (int shift = 24; shift >= 0; shift -= 8) {
      out.push_back(static_cast<char>((d >> shift) & 0xFF));
    }
  }
  out.append(data.begin(), data.end());
  return out;
}

std::string WriteRaw(const std::string& name, const std::string& bytes) {
  const std::string path = TempPath(name);
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

std::string WriteGzip(const std::string& name, const std::string& bytes) {
  const std::string path = TempPath(name);
  gzFile f = gzopen(path.c_str(), "wb");
  EXPECT_NE(f, nullptr);
  EXPECT_EQ(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())),
            static_cast<int>(bytes.size()));
  gzclose(f);
  return path;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::vector<uint8_t> Ramp(int n) {
  std::vector<uint8_t> v(n);
  for (int i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(i * 7);
  return v;
}

TEST(IdxReaderTest, ReadsRawAndGzip) {
  const std::string bytes = IdxBytes({3, 2, 4}, Ramp(24));
  for (const std::string& path :
       {WriteRaw("valid.idx", bytes), WriteGzip("valid.idx.gz", bytes)}) {
    SCOPED_TRACE(path);
    absl::StatusOr<IdxArray> a = ReadIdxFile(path);
    ASSERT_TRUE(a.ok()) << a.status();
    EXPECT_THAT(a->dims, ElementsAre(3, 2, 4));
    EXPECT_EQ(a->data, Ramp(24));
  }
}

TEST(IdxReaderTest, MissingFileIsNotFound) {
  const std::string path = TempPath("no-such-file.gz");
  absl::StatusOr<IdxArray> a = ReadIdxFile(path);
  EXPECT_EQ(a.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(a.status().message(), HasSubstr(path));
}

TEST(IdxReaderTest, BadMagicNumber) {
  // A gzip file of text, and a raw file starting with "PK" (a zip archive).
  const std::string gz = WriteGzip("text.gz", "hello, world");
  absl::StatusOr<IdxArray> a = ReadIdxFile(gz);
  EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(a.status().message(),
              AllOf(HasSubstr(gz), HasSubstr("bad IDX magic number 0x68656C6C"),
                    HasSubstr("expected 0x0000TTNN")));
  const std::string raw = WriteRaw("zip.idx", std::string("PK\3\4rest"));
  a = ReadIdxFile(raw);
  EXPECT_THAT(a.status().message(),
              AllOf(HasSubstr(raw), HasSubstr("0x504B0304")));
  // Zero dimensions in the magic number.
  a = ReadIdxFile(WriteRaw("zero-dims.idx", std::string("\0\0\x08\0", 4)));
  EXPECT_THAT(a.status().message(),
              HasSubstr("bad IDX magic number 0x00000800"));
}

TEST(IdxReaderTest, UnsupportedType) {
  // 0x0D = float32 in IDX.
  const std::string path =
      WriteRaw("float.idx", IdxBytes({1}, {0, 0, 0, 0}, /*type=*/0x0D));
  absl::StatusOr<IdxArray> a = ReadIdxFile(path);
  EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(a.status().message(),
              AllOf(HasSubstr(path), HasSubstr("data type 0x0D"),
                    HasSubstr("expected 0x08")));
}

TEST(IdxReaderTest, TruncatedHeader) {
  const std::string full = IdxBytes({10, 28, 28}, {});
  for (const std::string& path :
       {WriteRaw("short-magic.idx", full.substr(0, 3)),
        WriteGzip("short-magic.gz", full.substr(0, 3))}) {
    absl::StatusOr<IdxArray> a = ReadIdxFile(path);
    EXPECT_EQ(a.status().code(), absl::StatusCode::kDataLoss) << path;
    EXPECT_THAT(a.status().message(),
                AllOf(HasSubstr(path), HasSubstr("4-byte IDX magic number"),
                      HasSubstr("has 3 bytes")));
  }
  const std::string path = WriteRaw("short-dims.idx", full.substr(0, 10));
  absl::StatusOr<IdxArray> a = ReadIdxFile(path);
  EXPECT_THAT(a.status().message(),
              AllOf(HasSubstr(path), HasSubstr("promises 3 dimensions"),
                    HasSubstr("12 header bytes"), HasSubstr("file has 6")));
}

TEST(IdxReaderTest, TruncatedData) {
  const std::string bytes = IdxBytes({5, 4}, Ramp(13));  // needs 20 bytes
  for (const std::string& path :
       {WriteRaw("short-data.idx", bytes), WriteGzip("short-data.gz", bytes)}) {
    SCOPED_TRACE(path);
    absl::StatusOr<IdxArray> a = ReadIdxFile(path);
    EXPECT_EQ(a.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(
        a.status().message(),
        AllOf(HasSubstr(path), HasSubstr("dims [5, 4]"),
              HasSubstr("need 20 data bytes"), HasSubstr("has only 13")));
  }
}

TEST(IdxReaderTest, TrailingBytes) {
  const std::string path = WriteGzip("trailing.gz", IdxBytes({2, 2}, Ramp(5)));
  absl::StatusOr<IdxArray> a = ReadIdxFile(path);
  EXPECT_EQ(a.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(a.status().message(),
              AllOf(HasSubstr(path), HasSubstr("trailing bytes"),
                    HasSubstr("exactly 4 data bytes")));
}

TEST(IdxReaderTest, CutGzipStreamIsDataLoss) {
  // A valid gzip file cut in half: zlib sees an unfinished stream.
  std::vector<uint8_t> data(5000);
  for (size_t i = 0; i < data.size(); ++i) data[i] = (i * 2654435761u) >> 24;
  const std::string whole = WriteGzip("whole.gz", IdxBytes({5000}, data));
  const std::string bytes = ReadAll(whole);
  const std::string cut = WriteRaw("cut.gz", bytes.substr(0, bytes.size() / 2));
  absl::StatusOr<IdxArray> a = ReadIdxFile(cut);
  EXPECT_EQ(a.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(a.status().message(), HasSubstr(cut));
}

TEST(IdxReaderTest, HugeDimsAreRejectedWithoutAllocating) {
  const std::string path =
      WriteRaw("huge.idx", IdxBytes({65536, 65536, 2}, Ramp(10)));
  absl::StatusOr<IdxArray> a = ReadIdxFile(path);
  EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(a.status().message(),
              AllOf(HasSubstr(path), HasSubstr("more than 2^32 bytes")));
  // Two dims whose product overflows int64 (found by
  // reader_corruption_test): rejected, not a negative size.
  a = ReadIdxFile(WriteRaw("overflow.idx",
                           IdxBytes({0xff000000u, 0xff000000u}, Ramp(10))));
  EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(a.status().message(), HasSubstr("more than 2^32 bytes"));
  // Large but allowed dims with a short file: a truncation error, quickly.
  a = ReadIdxFile(WriteRaw("big.idx", IdxBytes({60000, 28, 28}, Ramp(10))));
  EXPECT_THAT(a.status().message(), HasSubstr("need 47040000 data bytes"));
  a = ReadIdxFile(WriteRaw("zero.idx", IdxBytes({3, 0}, {})));
  EXPECT_THAT(a.status().message(), HasSubstr("dimension 1 is 0"));
}

TEST(IdxReaderTest, DirectoryIsAnError) {
  absl::StatusOr<IdxArray> a = ReadIdxFile(TempPath(""));
  EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(a.status().message(), HasSubstr("is a directory"));
}

TEST(LoadIdxImagesAndLabelsTest, ScalesPixelsAndChecksShapes) {
  std::vector<uint8_t> pixels = {0, 255, 51, 102, 0, 0, 255, 255};  // 2x2x2
  const std::string images = WriteGzip("img.gz", IdxBytes({2, 2, 2}, pixels));
  const std::string labels = WriteRaw("lab.idx", IdxBytes({2}, {9, 0}));
  absl::StatusOr<LabeledImages> set = LoadIdxImagesAndLabels(images, labels);
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->num_examples(), 2);
  EXPECT_EQ(set->num_features(), 4);
  EXPECT_THAT(set->labels, ElementsAre(9, 0));
  EXPECT_THAT(set->images,
              ElementsAre(0.0f, 1.0f, 0.2f, 0.4f, 0.0f, 0.0f, 1.0f, 1.0f));

  const LabeledImages second = SliceExamples(*set, 1, 2);
  EXPECT_THAT(second.labels, ElementsAre(0));
  EXPECT_THAT(second.images, ElementsAre(0.0f, 0.0f, 1.0f, 1.0f));

  // Label out of range, count mismatch, wrong ranks.
  absl::StatusOr<LabeledImages> bad = LoadIdxImagesAndLabels(
      images, WriteRaw("lab10.idx", IdxBytes({2}, {3, 10})));
  EXPECT_THAT(bad.status().message(),
              HasSubstr("label 1 is 10; expected 0..9"));
  bad = LoadIdxImagesAndLabels(images,
                               WriteRaw("lab3.idx", IdxBytes({3}, {1, 2, 3})));
  EXPECT_THAT(bad.status().message(), HasSubstr("holds 2 images but"));
  bad = LoadIdxImagesAndLabels(labels, labels);
  EXPECT_THAT(bad.status().message(), HasSubstr("expected 3 dims"));
  bad = LoadIdxImagesAndLabels(images, images);
  EXPECT_THAT(bad.status().message(), HasSubstr("expected 1 dim"));
}

}  // namespace
}  // namespace es
