// Tests of experiments/cifar_common's synthetic stand-in for CIFAR-10
// (MakeSyntheticCifar): shapes, determinism, labels, and the class signal
// that makes it learnable. The figure binaries' behaviour is tested by
// fig23_cifar_lr_momentum_test and fig24_cifar_many_hparams_test.
//
//   bazel test //experiments:cifar_common_test
#include "experiments/cifar_common.h"

#include <cmath>
#include <vector>

#include "gtest/gtest.h"

namespace es::experiments {
namespace {

TEST(MakeSyntheticCifar, ShapesLabelsAndDeterminism) {
  const CifarImages a = MakeSyntheticCifar(30, 8, 5);
  const CifarImages b = MakeSyntheticCifar(30, 8, 5);
  const CifarImages c = MakeSyntheticCifar(30, 8, 6);
  ASSERT_EQ(a.images.size(), 30u * 3 * 8 * 8);
  ASSERT_EQ(a.num_examples(), 30);
  EXPECT_EQ(a.images, b.images);  // same arguments, same bits
  EXPECT_EQ(a.labels, b.labels);
  EXPECT_NE(a.images, c.images);
  for (int i = 0; i < 30; ++i) EXPECT_EQ(a.labels[i], (7 * i + 5) % 10);
  // Every class appears (7 is coprime to 10).
  std::vector<int> count(10, 0);
  for (int y : a.labels) ++count[y];
  for (int k = 0; k < 10; ++k) EXPECT_EQ(count[k], 3) << k;
}

// Pixel = N(0, 1) + 1.5 cos(2 pi (y / 10 + c / 3)): the per-image channel
// mean over S^2 = 1024 pixels (32x32) has standard error 1/32, so each image's
// channel means are within 6 standard errors (0.19) of the tint (false
// failure rate < 1e-8 per value, 3 x 200 values).
TEST(MakeSyntheticCifar, ChannelMeansCarryTheClass) {
  const int n = 200, s = 32, plane = s * s;
  const CifarImages d = MakeSyntheticCifar(n, s, 11);
  for (int i = 0; i < n; ++i) {
    for (int ch = 0; ch < 3; ++ch) {
      double mean = 0.0;
      for (int j = 0; j < plane; ++j) mean += d.images[(i * 3 + ch) * plane + j];
      mean /= plane;
      const double tint =
          1.5 * std::cos(2.0 * M_PI * (d.labels[i] / 10.0 + ch / 3.0));
      EXPECT_NEAR(mean, tint, 6.0 / s) << "image " << i << " channel " << ch;
    }
  }
}

}  // namespace
}  // namespace es::experiments
