// cifar_reader_test.cc - CIFAR-10 binary files generated in TEST_TMPDIR:
// valid files decode to the right labels and normalised pixels and split
// as documented; every kind of damage gives a status that names the path
// and what was expected. The real data set is checked by
// cifar_reader_real_data_test.cc (a manual target).
#include "inner/data/cifar_reader.h"

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace es {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

std::string TempDir(const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string dir = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/", name);
  std::filesystem::create_directories(dir);
  return dir;
}

// Pixel byte of record r, channel c, position j (deterministic pattern).
uint8_t Pixel(int64_t file, int64_t r, int c, int64_t j) {
  return static_cast<uint8_t>((file * 131 + r * 31 + c * 7 + j * 3) % 256);
}

std::string Records(int64_t file, int64_t n, int64_t label_offset = 0) {
  std::string out;
  for (int64_t r = 0; r < n; ++r) {
    out.push_back(static_cast<char>((file + r + label_offset) % 10));
    for (int c = 0; c < 3; ++c) {
      for (int64_t j = 0; j < 1024; ++j) {
        out.push_back(static_cast<char>(Pixel(file, r, c, j)));
      }
    }
  }
  return out;
}

void Write(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// A data directory with <dir>/cifar10/ holding files of n records each;
// file f's records have labels (f + r) % 10 (test_batch is file 6).
std::string MakeDataDir(const std::string& name, int64_t n) {
  const std::string dir = TempDir(name);
  const std::string cifar = TempDir(name + "/cifar10");
  for (int f = 1; f <= 5; ++f) {
    Write(absl::StrCat(cifar, "/data_batch_", f, ".bin"), Records(f, n));
  }
  Write(cifar + "/test_batch.bin", Records(6, n));
  return dir;
}

std::string Message(const absl::Status& s) { return std::string(s.message()); }

TEST(CifarReaderTest, DecodesLabelsAndNormalisedPlanes) {
  const std::string path = TempDir("decode") + "/batch.bin";
  Write(path, Records(2, 3));
  absl::StatusOr<CifarImages> batch = ReadCifarBatch(path, 3);
  ASSERT_TRUE(batch.ok()) << batch.status();
  EXPECT_EQ(batch->labels, (std::vector<int32_t>{2, 3, 4}));
  ASSERT_EQ(batch->images.size(), 3u * 3072u);
  for (int64_t r : {0, 2}) {
    for (int c = 0; c < 3; ++c) {
      for (int64_t j : {0, 5, 1023}) {
        const float x = Pixel(2, r, c, j) / 255.0f;
        EXPECT_FLOAT_EQ(batch->images[r * 3072 + c * 1024 + j],
                        (x - kCifarMean[c]) / kCifarStd[c])
            << "record " << r << " channel " << c << " pixel " << j;
      }
    }
  }
  // Byte 0 of the red plane and byte 255 of the blue plane, by hand.
  std::string one(3073, '\0');
  one[0] = 9;
  one[1 + 2048] = static_cast<char>(255);
  Write(path, one);
  batch = ReadCifarBatch(path, 1);
  ASSERT_TRUE(batch.ok()) << batch.status();
  EXPECT_EQ(batch->labels[0], 9);
  EXPECT_FLOAT_EQ(batch->images[0], (0.0f - 125.3f / 255) / (63.0f / 255));
  EXPECT_FLOAT_EQ(batch->images[2048], (1.0f - 113.9f / 255) / (66.7f / 255));
}

TEST(CifarReaderTest, LoadsAndSplitsFiveTrainingFilesAndTheTestFile) {
  const std::string dir = MakeDataDir("split", 4);
  CifarOptions options;
  options.records_per_file = 4;
  options.num_validation = 6;
  absl::StatusOr<CifarDataset> data = LoadCifar10(dir, options);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->train.num_examples(), 14);
  EXPECT_EQ(data->validation.num_examples(), 6);
  EXPECT_EQ(data->test.num_examples(), 4);
  EXPECT_EQ(data->train.images.size(), 14u * 3072u);
  // Training record k comes from file 1 + k / 4, record k % 4.
  EXPECT_EQ(data->train.labels[0], 1);
  EXPECT_EQ(data->train.labels[5], 3);    // file 2, record 1
  EXPECT_EQ(data->validation.labels[0], 6);  // record 14 = file 4, record 2
  EXPECT_EQ(data->validation.labels[5], 8);  // file 5, record 3
  EXPECT_EQ(data->test.labels, (std::vector<int32_t>{6, 7, 8, 9}));
  const float x = Pixel(5, 3, 1, 7) / 255.0f;
  EXPECT_FLOAT_EQ(data->validation.images[5 * 3072 + 1024 + 7],
                  (x - kCifarMean[1]) / kCifarStd[1]);
}

TEST(CifarReaderTest, MissingFilesNameThePathAndTheFetchScript) {
  const std::string dir = MakeDataDir("missing", 2);
  const std::string gone = dir + "/cifar10/data_batch_3.bin";
  std::filesystem::remove(gone);
  CifarOptions options;
  options.records_per_file = 2;
  options.num_validation = 2;
  const absl::Status s = LoadCifar10(dir, options).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Message(s), AllOf(HasSubstr(gone), HasSubstr("does not exist"),
                                HasSubstr("tools/fetch_cifar10.sh"),
                                HasSubstr("ES_SINGLE_DATA_DIR")));
  const absl::Status nodir =
      LoadCifar10(TempDir("empty_data_dir"), options).status();
  EXPECT_EQ(nodir.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Message(nodir), HasSubstr("empty_data_dir/cifar10/data_batch_1"));
}

TEST(CifarReaderTest, NoDataDirectorySaysHowToSetOne) {
  const char* old = std::getenv("ES_SINGLE_DATA_DIR");
  const std::string saved = old != nullptr ? old : "";
  unsetenv("ES_SINGLE_DATA_DIR");
  const absl::Status s = CifarDirectory("").status();
  if (old != nullptr) setenv("ES_SINGLE_DATA_DIR", saved.c_str(), 1);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Message(s), AllOf(HasSubstr("ES_SINGLE_DATA_DIR"),
                                HasSubstr("tools/fetch_cifar10.sh")));
  EXPECT_EQ(*CifarDirectory("/some/dir"), "/some/dir/cifar10");
}

TEST(CifarReaderTest, DamagedFilesGiveStatusesNamingPathAndExpectation) {
  const std::string dir = TempDir("damaged");
  const std::string path = dir + "/batch.bin";
  const std::string good = Records(1, 3);

  Write(path, good.substr(0, 2 * 3073 + 100));  // cut inside record 2
  absl::Status s = ReadCifarBatch(path, 3).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(Message(s), AllOf(HasSubstr(path), HasSubstr("truncated"),
                                HasSubstr("6246 bytes"),
                                HasSubstr("expected 9219 bytes"),
                                HasSubstr("cut after 100 bytes")));

  Write(path, "");
  s = ReadCifarBatch(path, 3).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(Message(s), HasSubstr("has 0 bytes"));

  Write(path, good + "x");
  s = ReadCifarBatch(path, 3).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(s), AllOf(HasSubstr(path), HasSubstr("wrong size"),
                                HasSubstr("9220 bytes")));
  // A whole real-size file where a small one is expected, and vice versa.
  s = ReadCifarBatch(path, 10000).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(Message(s), HasSubstr("expected 30730000 bytes"));

  std::string bad_label = good;
  bad_label[2 * 3073] = 10;
  Write(path, bad_label);
  s = ReadCifarBatch(path, 3).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(s), AllOf(HasSubstr(path), HasSubstr("record 2"),
                                HasSubstr("label 10"), HasSubstr("0..9")));

  // Garbage of the right size: some record has a label byte > 9.
  std::string garbage(3 * 3073, '\0');
  for (size_t j = 0; j < garbage.size(); ++j) {
    garbage[j] = static_cast<char>((j * 2654435761u) >> 24);
  }
  Write(path, garbage);
  EXPECT_EQ(ReadCifarBatch(path, 3).status().code(),
            absl::StatusCode::kInvalidArgument);

  s = ReadCifarBatch(dir, 3).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(s), HasSubstr("not a regular file"));

  EXPECT_THAT(Message(ReadCifarBatch(path, 0).status()),
              HasSubstr("records = 0"));
  CifarOptions options;
  options.records_per_file = 2;
  options.num_validation = 10;
  EXPECT_THAT(Message(LoadCifar10(dir, options).status()),
              HasSubstr("num_validation = 10"));
}

}  // namespace
}  // namespace es
