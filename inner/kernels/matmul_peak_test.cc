#include "inner/kernels/matmul_peak.h"

#include <cmath>

#include "gtest/gtest.h"

namespace es {
namespace {

// The measured peak is a positive, finite rate: at least 0.1 GFLOP/s (any
// x86-64-v3 core does > 10 GFLOP/s in f32 even when heavily shared) and below
// 100 TFLOP/s (far above any CPU) - a unit mistake (flops vs GFLOP, seconds vs
// ms) would land outside.
TEST(MatmulPeakTest, MeasuresAPlausibleRate) {
  absl::StatusOr<double> peak = MeasureMatmulPeakGflops(1, 0.01);
  ASSERT_TRUE(peak.ok()) << peak.status();
  EXPECT_TRUE(std::isfinite(*peak));
  EXPECT_GT(*peak, 0.1);
  EXPECT_LT(*peak, 1e5);
}

TEST(MatmulPeakTest, CachedValueIsStable) {
  const double a = MatmulPeakGflops();
  EXPECT_GT(a, 0.1);
  EXPECT_EQ(a, MatmulPeakGflops());
}

TEST(MatmulPeakTest, RejectsBadArguments) {
  EXPECT_FALSE(MeasureMatmulPeakGflops(0, 0.1).ok());
  EXPECT_FALSE(MeasureMatmulPeakGflops(1, 0.0).ok());
  EXPECT_FALSE(MeasureMatmulPeakGflops(1, std::nan("")).ok());
}

}  // namespace
}  // namespace es
