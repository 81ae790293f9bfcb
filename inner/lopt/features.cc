// features.cc - see features.h.
#include "inner/lopt/features.h"

#include <cmath>

#include "estimators/check.h"

namespace es {

void UpdateMomentaAndSquares(const LoptTensor& tensor,
                             double sumsq[kNumRowFeatures]) {
  const int64_t n = tensor.size;
  const float* g = tensor.grad;
  const float* p = tensor.param;
  float* m0 = tensor.momenta[0];
  float* m1 = tensor.momenta[1];
  float* m2 = tensor.momenta[2];
  float* m3 = tensor.momenta[3];
  float* m4 = tensor.momenta[4];
  float* m5 = tensor.momenta[5];
  // beta and (1 - beta) in float32, as the reference computes them.
  const float b0 = kMomentumDecays[0], c0 = 1.0f - b0;
  const float b1 = kMomentumDecays[1], c1 = 1.0f - b1;
  const float b2 = kMomentumDecays[2], c2 = 1.0f - b2;
  const float b3 = kMomentumDecays[3], c3 = 1.0f - b3;
  const float b4 = kMomentumDecays[4], c4 = 1.0f - b4;
  const float b5 = kMomentumDecays[5], c5 = 1.0f - b5;
  double sg = 0, sp = 0, s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0;
#pragma omp simd reduction(+ : sg, sp, s0, s1, s2, s3, s4, s5)
  for (int64_t j = 0; j < n; ++j) {
    const float gj = g[j];
    const float v0 = b0 * m0[j] + c0 * gj;
    const float v1 = b1 * m1[j] + c1 * gj;
    const float v2 = b2 * m2[j] + c2 * gj;
    const float v3 = b3 * m3[j] + c3 * gj;
    const float v4 = b4 * m4[j] + c4 * gj;
    const float v5 = b5 * m5[j] + c5 * gj;
    m0[j] = v0;
    m1[j] = v1;
    m2[j] = v2;
    m3[j] = v3;
    m4[j] = v4;
    m5[j] = v5;
    const double dg = gj, dp = p[j];
    sg += dg * dg;
    sp += dp * dp;
    s0 += static_cast<double>(v0) * v0;
    s1 += static_cast<double>(v1) * v1;
    s2 += static_cast<double>(v2) * v2;
    s3 += static_cast<double>(v3) * v3;
    s4 += static_cast<double>(v4) * v4;
    s5 += static_cast<double>(v5) * v5;
  }
  sumsq[0] = sg;
  sumsq[1] = sp;
  sumsq[2] = s0;
  sumsq[3] = s1;
  sumsq[4] = s2;
  sumsq[5] = s3;
  sumsq[6] = s4;
  sumsq[7] = s5;
}

void FeatureScales(const double sumsq[kNumRowFeatures], int64_t size,
                   float scale[kNumRowFeatures]) {
  ES_CHECK(size >= 1);
  for (int f = 0; f < kNumRowFeatures; ++f) {
    scale[f] = static_cast<float>(
        1.0 / std::sqrt(kNormEpsilon + sumsq[f] / static_cast<double>(size)));
  }
}

void WriteRowFeatures(const LoptTensor& tensor,
                      const float scale[kNumRowFeatures], int64_t begin,
                      int64_t end, float* out, int64_t ld) {
  ES_CHECK(ld >= kNumRowFeatures && begin >= 0 && begin <= end &&
           end <= tensor.size);
  const float* g = tensor.grad;
  const float* p = tensor.param;
  const float* m0 = tensor.momenta[0];
  const float* m1 = tensor.momenta[1];
  const float* m2 = tensor.momenta[2];
  const float* m3 = tensor.momenta[3];
  const float* m4 = tensor.momenta[4];
  const float* m5 = tensor.momenta[5];
  const float sg = scale[0], sp = scale[1], s0 = scale[2], s1 = scale[3],
              s2 = scale[4], s3 = scale[5], s4 = scale[6], s5 = scale[7];
  for (int64_t j = begin; j < end; ++j) {
    float* row = out + (j - begin) * ld;
    row[0] = g[j] * sg;
    row[1] = p[j] * sp;
    row[2] = m0[j] * s0;
    row[3] = m1[j] * s1;
    row[4] = m2[j] * s2;
    row[5] = m3[j] * s3;
    row[6] = m4[j] * s4;
    row[7] = m5[j] * s5;
  }
}

void TimeEmbedding(int64_t t, float out[kNumTimeFeatures]) {
  for (int s = 0; s < kNumTimeFeatures; ++s) {
    out[s] = static_cast<float>(
        std::tanh(static_cast<double>(t) / kTimescales[s] - 1.0));
  }
}

}  // namespace es
