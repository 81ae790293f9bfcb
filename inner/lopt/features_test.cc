// Tests of the LOLv2 features (features.h), the update rule
// (ApplyLoptUpdate), the truncated-normal initialiser and the initial theta:
//   * a hand-computed two-element tensor over two steps (momenta, the
//     second-moment normaliser including its epsilon, the time embedding);
//   * a random tensor over three steps against the double reference
//     (lopt_reference.h);
//   * the update p -= d exp(1e-3 m) 1e-3 on hand-picked outputs;
//   * truncated normals: inside [-2, 2] sigma, the truncated-normal variance
//     (a z-test at 5 sigma, false-failure rate ~6e-7), same key same bits.
//
// Float tolerances: every hand-computed value is a handful of float
// operations from exact inputs, so 4 float epsilons relative (or 1e-12
// absolute where the exact value is 0) are enough; against the reference, 8
// epsilons of the feature RMS (momenta can cancel). A wrong decay, a missing
// epsilon or a feature in the wrong column changes values by 1e-4 relative or
// more.
#include "inner/lopt/features.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "estimators/philox.h"
#include "gtest/gtest.h"
#include "inner/lopt/lopt_mlp_config.h"
#include "inner/lopt/lopt_reference.h"
#include "inner/lopt/truncated_normal.h"

namespace es {
namespace {

constexpr double kEpsF = std::numeric_limits<float>::epsilon();

void ExpectClose(double actual, double expected, const std::string& what) {
  EXPECT_NEAR(actual, expected, 4 * kEpsF * std::abs(expected) + 1e-12) << what;
}

struct SmallTensor {
  std::vector<float> p, g;
  std::vector<std::vector<float>> m;
  LoptTensor view() {
    LoptTensor t;
    t.param = p.data();
    t.grad = g.data();
    for (int k = 0; k < kNumMomenta; ++k) t.momenta[k] = m[k].data();
    t.size = static_cast<int64_t>(p.size());
    return t;
  }
};

SmallTensor Make(std::vector<float> p, std::vector<float> g) {
  SmallTensor t{p, g, {}};
  t.m.assign(kNumMomenta, std::vector<float>(p.size(), 0.0f));
  return t;
}

// p = (1, -2), g = (0.5, 1) from zero momenta, then g = (-1, 0.25).
TEST(LoptFeaturesTest, HandComputedTwoElementTensor) {
  SmallTensor t = Make({1.0f, -2.0f}, {0.5f, 1.0f});
  // The decays are float32 constants and 1 - beta is taken in float32, as in
  // the reference; c_k below is that float value, exactly.
  double beta[kNumMomenta], cf[kNumMomenta];
  for (int k = 0; k < kNumMomenta; ++k) {
    beta[k] = kMomentumDecays[k];
    cf[k] = 1.0f - kMomentumDecays[k];
  }
  double sumsq[kNumRowFeatures];
  UpdateMomentaAndSquares(t.view(), sumsq);
  // m_k = (1 - beta_k) g after the first step.
  for (int k = 0; k < kNumMomenta; ++k) {
    const double c = cf[k];
    ExpectClose(t.m[k][0], c * 0.5, "m after step 1");
    ExpectClose(t.m[k][1], c * 1.0, "m after step 1");
    ExpectClose(sumsq[2 + k], c * c * 1.25, "sum of m^2");
  }
  ExpectClose(sumsq[0], 0.25 + 1.0, "sum of g^2");
  ExpectClose(sumsq[1], 1.0 + 4.0, "sum of p^2");

  float scale[kNumRowFeatures];
  FeatureScales(sumsq, 2, scale);
  ExpectClose(scale[0], 1.0 / std::sqrt(1e-5 + 0.625), "g scale");
  ExpectClose(scale[1], 1.0 / std::sqrt(1e-5 + 2.5), "p scale");
  // beta = 0.9999: mean m^2 = 6.25e-9 is below epsilon = 1e-5, which then
  // dominates the normaliser.
  // 1 - 0.9999f = 1.000166e-4 (float32 rounding of the decay), as in JAX.
  EXPECT_NEAR(cf[5], 1e-4, 2e-8);
  ExpectClose(scale[7], 1.0 / std::sqrt(1e-5 + cf[5] * cf[5] * 0.625),
              "m5 scale");

  // Features of element 1 into a row of stride 9 (column 8 untouched).
  std::vector<float> row(9, -7.0f);
  WriteRowFeatures(t.view(), scale, 1, 2, row.data(), 9);
  ExpectClose(row[0], 1.0 / std::sqrt(1e-5 + 0.625), "g feature");
  ExpectClose(row[1], -2.0 / std::sqrt(1e-5 + 2.5), "p feature");
  ExpectClose(row[2], cf[0] / std::sqrt(1e-5 + cf[0] * cf[0] * 0.625),
              "m0 feature");
  ExpectClose(row[7], cf[5] / std::sqrt(1e-5 + cf[5] * cf[5] * 0.625),
              "m5 feature");
  EXPECT_EQ(row[8], -7.0f);

  // Second step: m_k = beta_k (1 - beta_k) g_1 + (1 - beta_k) g_2.
  t.g = {-1.0f, 0.25f};
  UpdateMomentaAndSquares(t.view(), sumsq);
  for (int k = 0; k < kNumMomenta; ++k) {
    const double c = cf[k];
    ExpectClose(t.m[k][0], beta[k] * c * 0.5 + c * -1.0, "m after step 2");
    ExpectClose(t.m[k][1], beta[k] * c * 1.0 + c * 0.25, "m after step 2");
  }
  ExpectClose(sumsq[0], 1.0 + 0.0625, "sum of g^2 step 2");
}

TEST(LoptFeaturesTest, TimeEmbeddingIsTanhOfStepOverTimescaleMinusOne) {
  float e[kNumTimeFeatures];
  TimeEmbedding(0, e);
  for (int s = 0; s < kNumTimeFeatures; ++s) {
    ExpectClose(e[s], std::tanh(-1.0), "t = 0");
  }
  TimeEmbedding(300, e);
  ExpectClose(e[0], std::tanh(299.0), "s = 1");
  ExpectClose(e[1], std::tanh(99.0), "s = 3");
  ExpectClose(e[5], 0.0, "s = 300");
  ExpectClose(e[6], std::tanh(0.3 - 1.0), "s = 1000");
  ExpectClose(e[10], std::tanh(0.003 - 1.0), "s = 100000");
}

// A 1000-element tensor over three steps against the double reference.
TEST(LoptFeaturesTest, MatchesTheDoubleReference) {
  const int64_t n = 1000;
  SmallTensor t = Make(std::vector<float>(n), std::vector<float>(n));
  LoptReferenceTensor ref;
  ref.param.resize(n);
  ref.grad.resize(n);
  for (auto& m : ref.momenta) m = Eigen::VectorXd::Zero(n);
  const RandomKey rk{3, Stream::kUser};
  for (int64_t j = 0; j < n; ++j) {
    t.p[j] = static_cast<float>(0.1 * StandardNormal(rk, 0, 0, j));
    ref.param[j] = t.p[j];
  }
  for (int step = 0; step < 3; ++step) {
    for (int64_t j = 0; j < n; ++j) {
      t.g[j] = static_cast<float>(0.01 * StandardNormal(rk, 1 + step, 0, j));
      ref.grad[j] = t.g[j];
    }
    double sumsq[kNumRowFeatures];
    UpdateMomentaAndSquares(t.view(), sumsq);
    float scale[kNumRowFeatures];
    FeatureScales(sumsq, n, scale);
    std::vector<float> rows(n * kNumRowFeatures);
    WriteRowFeatures(t.view(), scale, 0, n, rows.data(), kNumRowFeatures);
    const Eigen::MatrixXd want = LoptReferenceFeatures(&ref, step);
    for (int64_t j = 0; j < n; ++j) {
      for (int f = 0; f < kNumRowFeatures; ++f) {
        // Features have unit RMS over the tensor; a momentum is a sum whose
        // terms may cancel, so its error is a few epsilons of the terms
        // (~RMS), not of the result: 8 epsilons absolute.
        ASSERT_NEAR(rows[j * kNumRowFeatures + f], want(j, f),
                    8 * kEpsF * (std::abs(want(j, f)) + 1.0))
            << "step " << step << " element " << j << " feature " << f;
      }
    }
  }
}

TEST(LoptUpdateTest, StepIsDirectionTimesExpOfScaledMagnitude) {
  const float outputs[6] = {2.0f, 1000.0f, -1.0f, 0.0f, 0.5f, -2000.0f};
  float p[3] = {1.0f, 0.0f, -3.0f};
  ApplyLoptUpdate(outputs, 3, p);
  ExpectClose(p[0], 1.0 - 2.0 * std::exp(1.0) * 1e-3, "d = 2, m = 1000");
  ExpectClose(p[1], 0.0 + 1e-3, "d = -1, m = 0");
  ExpectClose(p[2], -3.0 - 0.5 * std::exp(-2.0) * 1e-3, "d = 0.5, m = -2000");
  // Non-finite outputs give non-finite parameters, no trap.
  const float bad[2] = {std::numeric_limits<float>::quiet_NaN(), 0.0f};
  float q = 1.0f;
  ApplyLoptUpdate(bad, 1, &q);
  EXPECT_TRUE(std::isnan(q));
}

TEST(TruncatedNormalTest, BoundedDeterministicWithTheTruncatedVariance) {
  const int64_t n = 200000;
  std::vector<double> a(n), b(n);
  const RandomKey key{11, Stream::kInit};
  FillTruncatedNormal(key, 4, 0.5, absl::MakeSpan(a));
  FillTruncatedNormal(key, 4, 0.5, absl::MakeSpan(b));
  EXPECT_EQ(a, b);
  double sum = 0, sum2 = 0;
  for (double v : a) {
    ASSERT_LE(std::abs(v), 1.0);  // 2 sigma with sigma = 0.5
    sum += v / 0.5;
    sum2 += (v / 0.5) * (v / 0.5);
  }
  // N(0, 1) truncated to [-2, 2]: variance 1 - 4 phi(2) / (2 Phi(2) - 1)
  // = 0.773741. Standard errors: mean sqrt(0.774 / n); mean of z^2 below
  // sqrt(E z^4 / n) <= sqrt(3 / n) (E z^4 = 3 untruncated).
  const double mean = sum / n, var = sum2 / n;
  EXPECT_NEAR(mean, 0.0, 5 * std::sqrt(0.774 / n));
  EXPECT_NEAR(var, 0.773741, 5 * std::sqrt(3.0 / n));
  std::vector<float> f(n);
  FillTruncatedNormal(key, 5, 0.5, absl::MakeSpan(f));
  EXPECT_NE(f[0], static_cast<float>(a[0]));
}

TEST(LoptInitialThetaTest, HaikuDefaultInitialisation) {
  const LoptMlpConfig config;
  const std::vector<double> theta = LoptMlpInitialTheta(config, 5, 0);
  ASSERT_EQ(static_cast<int64_t>(theta.size()), 1762);
  const std::vector<int64_t> d = config.layer_sizes();
  for (int l = 0; l < 3; ++l) {
    const double bound = 2.0 / std::sqrt(static_cast<double>(d[l]));
    bool any_nonzero = false;
    for (int64_t k = 0; k < d[l] * d[l + 1]; ++k) {
      const double w = theta[config.theta_weight_offset(l) + k];
      ASSERT_LE(std::abs(w), bound) << "layer " << l;
      any_nonzero = any_nonzero || w != 0.0;
    }
    EXPECT_TRUE(any_nonzero);
    for (int64_t k = 0; k < d[l + 1]; ++k) {
      EXPECT_EQ(theta[config.theta_bias_offset(l) + k], 0.0);
    }
  }
  EXPECT_EQ(theta, LoptMlpInitialTheta(config, 5, 0));
  EXPECT_NE(theta, LoptMlpInitialTheta(config, 5, 1));
}

}  // namespace
}  // namespace es
