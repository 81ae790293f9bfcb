// datasets_test.cc - the train/validation/test split on small IDX files in
// TEST_TMPDIR, data-directory resolution, and the real FashionMNIST from the
// Debian package (skipped when it is not installed) and MNIST (skipped unless
// ES_SINGLE_DATA_DIR is passed with --test_env).
#include "inner/data/datasets.h"

#include <sys/stat.h>
#include <zlib.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace es {
namespace {

using ::testing::HasSubstr;

std::string TempDir(const std::string& name) {
  const char* root = std::getenv("TEST_TMPDIR");
  const std::string dir =
      absl::StrCat(root != nullptr ? root : "/tmp", "/", name);
  mkdir(dir.c_str(), 0755);
  return dir;
}

void WriteIdxGz(const std::string& path, const std::vector<uint32_t>& dims,
                const std::vector<uint8_t>& data) {
  std::string bytes = {0, 0, 8, static_cast<char>(dims.size())};
  for (uint32_t d : dims) {
    for (int shift = 24; shift >= 0; shift -= 8)
      bytes.push_back((d >> shift) & 0xFF);
  }
  bytes.append(data.begin(), data.end());
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(f);
}

// A tiny data set: n_train training and n_test test images of 2x3 pixels;
// image i has every pixel = i and label i % 10.
std::string MakeTinyDataset(const std::string& name, int n_train, int n_test) {
  const std::string dir = TempDir(name);
  for (auto [prefix, n] : {std::pair<std::string, int>{"train", n_train},
                           std::pair<std::string, int>{"t10k", n_test}}) {
    std::vector<uint8_t> pixels, labels;
    for (int i = 0; i < n; ++i) {
      pixels.insert(pixels.end(), 6, static_cast<uint8_t>(i));
      labels.push_back(static_cast<uint8_t>(i % 10));
    }
    WriteIdxGz(absl::StrCat(dir, "/", prefix, "-images-idx3-ubyte.gz"),
               {static_cast<uint32_t>(n), 2, 3}, pixels);
    WriteIdxGz(absl::StrCat(dir, "/", prefix, "-labels-idx1-ubyte.gz"),
               {static_cast<uint32_t>(n)}, labels);
  }
  return dir;
}

TEST(DatasetsTest, SplitsTrainingFileIntoTrainAndValidation) {
  const std::string dir = MakeTinyDataset("tiny", 12, 4);
  absl::StatusOr<Dataset> data = LoadIdxDataset(dir, /*num_validation=*/3);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->train.num_examples(), 9);
  EXPECT_EQ(data->validation.num_examples(), 3);
  EXPECT_EQ(data->test.num_examples(), 4);
  EXPECT_EQ(data->train.num_features(), 6);
  // Validation = the last 3 training images (9, 10, 11).
  EXPECT_THAT(data->validation.labels, ::testing::ElementsAre(9, 0, 1));
  EXPECT_FLOAT_EQ(data->validation.images[0], 9.0f / 255.0f);
  EXPECT_FLOAT_EQ(data->train.images.back(), 8.0f / 255.0f);
  EXPECT_EQ(data->train.images.size(), 9u * 6u);

  EXPECT_THAT(LoadIdxDataset(dir, 12).status().message(),
              HasSubstr("num_validation = 12; allowed: 0..11"));
}

TEST(DatasetsTest, MissingFilesNameBothCandidates) {
  const std::string dir = TempDir("empty");
  absl::StatusOr<Dataset> data = LoadIdxDataset(dir);
  EXPECT_EQ(data.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(data.status().message(),
              HasSubstr(absl::StrCat(dir, "/train-images-idx3-ubyte.gz or ",
                                     dir, "/train-images-idx3-ubyte")));
  absl::StatusOr<Dataset> fashion = LoadFashionMnist(dir);
  EXPECT_EQ(fashion.status().code(), absl::StatusCode::kNotFound);
}

TEST(DatasetsTest, ResolveDataDir) {
  // Restored at the end: RealMnistFromEnvironment reads the same variable.
  const char* saved_env = std::getenv(kDataDirEnvVar);
  const std::string saved = saved_env != nullptr ? saved_env : "";
  EXPECT_EQ(*ResolveDataDir("/some/dir"), "/some/dir");
  setenv(kDataDirEnvVar, "/from/env", 1);
  EXPECT_EQ(*ResolveDataDir(""), "/from/env");
  unsetenv(kDataDirEnvVar);
  absl::StatusOr<std::string> none = ResolveDataDir("");
  EXPECT_EQ(none.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(none.status().message(), HasSubstr("ES_SINGLE_DATA_DIR"));
  if (saved_env != nullptr) setenv(kDataDirEnvVar, saved.c_str(), 1);
}

TEST(DatasetsTest, LoadMnistLooksUnderMnistSubdirectory) {
  const std::string root = TempDir("root");
  MakeTinyDataset("root/mnist", 20, 5);
  absl::StatusOr<Dataset> data = LoadMnist(root, /*num_validation=*/5);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->train.num_examples(), 15);
}

// Checks that hold for both real data sets: 28x28 images in [0, 1], the
// published sizes, and every class present.
void CheckRealDataset(const Dataset& data) {
  EXPECT_EQ(data.train.num_examples(), 50000);
  EXPECT_EQ(data.validation.num_examples(), 10000);
  EXPECT_EQ(data.test.num_examples(), 10000);
  for (const LabeledImages* set : {&data.train, &data.validation, &data.test}) {
    EXPECT_EQ(set->rows, 28);
    EXPECT_EQ(set->cols, 28);
    EXPECT_EQ(set->images.size(),
              static_cast<size_t>(set->num_examples()) * 784);
    const auto [lo, hi] =
        std::minmax_element(set->images.begin(), set->images.end());
    EXPECT_EQ(*lo, 0.0f);
    EXPECT_EQ(*hi, 1.0f);
  }
}

TEST(DatasetsTest, RealFashionMnist) {
  struct stat st;
  if (stat(kFashionMnistDefaultDir, &st) != 0) {
    GTEST_SKIP() << kFashionMnistDefaultDir
                 << " absent (Debian package dataset-fashion-mnist)";
  }
  absl::StatusOr<Dataset> data = LoadFashionMnist();
  ASSERT_TRUE(data.ok()) << data.status();
  CheckRealDataset(*data);
  // Fashion-MNIST is balanced: 6000 training and 1000 test images per class
  // (Xiao et al. 2017, Sec. 3); the first training label is 9 (ankle boot).
  std::vector<int> train_counts(10, 0), test_counts(10, 0);
  for (int32_t y : data->train.labels) ++train_counts[y];
  for (int32_t y : data->validation.labels) ++train_counts[y];
  for (int32_t y : data->test.labels) ++test_counts[y];
  EXPECT_EQ(train_counts, std::vector<int>(10, 6000));
  EXPECT_EQ(test_counts, std::vector<int>(10, 1000));
  EXPECT_EQ(data->train.labels[0], 9);
}

TEST(DatasetsTest, RealMnistFromEnvironment) {
  if (std::getenv(kDataDirEnvVar) == nullptr) {
    GTEST_SKIP() << "set --test_env=" << kDataDirEnvVar
                 << "=<dir with mnist/> to check the real MNIST";
  }
  absl::StatusOr<Dataset> data = LoadMnist();
  ASSERT_TRUE(data.ok()) << data.status();
  CheckRealDataset(*data);
  // The first MNIST training digit is a 5 (LeCun et al.'s train set order).
  EXPECT_EQ(data->train.labels[0], 5);
}

}  // namespace
}  // namespace es
