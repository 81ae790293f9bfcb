// Tests of the counter-based generator: Random123 known-answer vectors for
// Philox4x32-10, and statistical tests of the normals (fixed seeds; z-tests at
// 5 sigma against the exact moments of N(0, 1), false-failure rate ~6e-7 each).
#include "estimators/philox.h"

#include <cmath>
#include <vector>

#include "gtest/gtest.h"

namespace es {
namespace {

// Known-answer vectors from Random123's kat_vectors (philox4x32, 10 rounds).
TEST(PhiloxTest, KnownAnswers) {
  EXPECT_EQ(Philox4x32({0, 0, 0, 0}, {0, 0}),
            (std::array<uint32_t, 4>{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}));
  EXPECT_EQ(Philox4x32({0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
                       {0xffffffff, 0xffffffff}),
            (std::array<uint32_t, 4>{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}));
  EXPECT_EQ(Philox4x32({0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
                       {0xa4093822, 0x299f31d0}),
            (std::array<uint32_t, 4>{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}));
}

TEST(PhiloxTest, PureFunctionOfKeyAndCounter) {
  const RandomKey key{123, Stream::kSinglePerturbation};
  EXPECT_EQ(StandardNormal(key, 5, 7, 3), StandardNormal(key, 5, 7, 3));
  std::vector<double> v(9);
  StandardNormals(key, 5, 7, 9, v.data());
  for (int c = 0; c < 9; ++c) EXPECT_EQ(v[c], StandardNormal(key, 5, 7, c));
  EXPECT_NE(StandardNormal(key, 5, 7, 3), StandardNormal(key, 6, 7, 3));
  EXPECT_NE(StandardNormal(key, 5, 7, 3), StandardNormal(key, 5, 8, 3));
  EXPECT_NE(StandardNormal(key, 5, 7, 3),
            StandardNormal({123, Stream::kBlockPerturbation}, 5, 7, 3));
  EXPECT_NE(StandardNormal(key, 5, 7, 3), StandardNormal({124, key.stream}, 5, 7, 3));
}

TEST(PhiloxTest, NormalMoments) {
  const int n = 400000;
  const RandomKey key{2024, Stream::kUser};
  double m1 = 0, m2 = 0, m3 = 0, m4 = 0, lag = 0, prev = 0;
  for (int i = 0; i < n; ++i) {
    const double z = StandardNormal(key, i / 64, 0, i % 64);
    m1 += z; m2 += z * z; m3 += z * z * z; m4 += z * z * z * z;
    lag += z * prev;
    prev = z;
  }
  m1 /= n; m2 /= n; m3 /= n; m4 /= n; lag /= n;
  // Standard errors: sd(z)=1, sd(z^2)=sqrt(2), sd(z^3)=sqrt(15), sd(z^4)=sqrt(96).
  const double se = 1.0 / std::sqrt(static_cast<double>(n));
  EXPECT_LE(std::abs(m1), 5 * se);
  EXPECT_LE(std::abs(m2 - 1), 5 * std::sqrt(2.0) * se);
  EXPECT_LE(std::abs(m3), 5 * std::sqrt(15.0) * se);
  EXPECT_LE(std::abs(m4 - 3), 5 * std::sqrt(96.0) * se);
  EXPECT_LE(std::abs(lag), 5 * se);  // neighbouring coordinates uncorrelated
}

TEST(PhiloxTest, UniformIsOpenAndCentred) {
  const RandomKey key{9, Stream::kMinibatch};
  const int n = 200000;
  double sum = 0;
  for (int i = 0; i < n; ++i) {
    const double u = UniformOpen(key, 0, 0, i);
    ASSERT_GT(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
  }
  // sd(u) = 1/sqrt(12).
  EXPECT_LE(std::abs(sum / n - 0.5), 5 / std::sqrt(12.0 * n));
}

TEST(PhiloxTest, MixKeySeparatesInputs) {
  EXPECT_NE(MixKey(1, 2), MixKey(2, 1));
  EXPECT_NE(MixKey(1, 2, 0), MixKey(1, 2, 1));
  EXPECT_EQ(MixKey(5, 6, 7), MixKey(5, 6, 7));
}

}  // namespace
}  // namespace es
