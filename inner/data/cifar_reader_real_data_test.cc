// cifar_reader_real_data_test.cc - the real CIFAR-10 binary files
// (tools/fetch_cifar10.sh) through inner/data/cifar_reader.h: split sizes
// 40000 / 10000 / 10000, the first labels of data_batch_1 and test_batch,
// 1000 test images per class, normalised pixels with mean ~0 and sd ~1.
//
// CIFAR-10 is never on CI, so this target is tagged `manual` (not part of
// `bazel test //...`) and FAILS when the data is missing. Run it with
//   tools/fetch_cifar10.sh <data_dir>
//   ES_SINGLE_DATA_DIR=<data_dir> bazel test //inner/data:cifar_reader_real_data_test
// (.bazelrc passes ES_SINGLE_DATA_DIR to tests).
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "inner/data/cifar_reader.h"

namespace es {
namespace {

TEST(CifarReaderRealDataTest, RealCifar10) {
  const char* env = std::getenv("ES_SINGLE_DATA_DIR");
  ASSERT_TRUE(env != nullptr && std::filesystem::exists(absl::StrCat(
                                    env, "/cifar10/test_batch.bin")))
      << "CIFAR-10 not found: run tools/fetch_cifar10.sh <data_dir>, then "
         "ES_SINGLE_DATA_DIR=<data_dir> bazel test "
         "//inner/data:cifar_reader_real_data_test (ES_SINGLE_DATA_DIR is "
      << (env != nullptr ? env : "<unset>") << ")";
  absl::StatusOr<CifarDataset> data = LoadCifar10();
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->train.num_examples(), 40000);
  EXPECT_EQ(data->validation.num_examples(), 10000);
  EXPECT_EQ(data->test.num_examples(), 10000);
  // First labels of data_batch_1 (frog, truck, truck) and test_batch (cat,
  // ship, ship).
  EXPECT_EQ(data->train.labels[0], 6);
  EXPECT_EQ(data->train.labels[1], 9);
  EXPECT_EQ(data->train.labels[2], 9);
  EXPECT_EQ(data->test.labels[0], 3);
  EXPECT_EQ(data->test.labels[1], 8);
  std::array<int, 10> counts{};
  for (int32_t y : data->test.labels) ++counts[y];
  for (int c = 0; c < 10; ++c) EXPECT_EQ(counts[c], 1000) << "class " << c;
  // Normalised pixels have mean ~0 and std ~1 per channel.
  for (int c = 0; c < 3; ++c) {
    double sum = 0.0, sq = 0.0;
    for (int64_t r = 0; r < 1000; ++r) {
      for (int64_t j = 0; j < 1024; ++j) {
        const double x = data->train.images[r * 3072 + c * 1024 + j];
        sum += x;
        sq += x * x;
      }
    }
    const double mean = sum / 1024000.0;
    EXPECT_NEAR(mean, 0.0, 0.1) << "channel " << c;
    EXPECT_NEAR(std::sqrt(sq / 1024000.0 - mean * mean), 1.0, 0.1);
  }
}

}  // namespace
}  // namespace es
