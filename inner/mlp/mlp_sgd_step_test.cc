// Tests of the SGD-with-momentum step (inner/mlp/mlp_sgd_step.h): exact
// values on a hand-checked example, and equality, bit for bit, with a
// scalar loop of the documented expression for sizes that do and do not
// fill whole SIMD vectors (the build forbids FMA contraction, so
// vectorisation must not change a bit).
#include "inner/mlp/mlp_sgd_step.h"

#include <cstdint>
#include <vector>

#include "estimators/philox.h"
#include "gtest/gtest.h"

namespace es::mlp {
namespace {

TEST(MlpSgdStepTest, HandExample) {
  std::vector<float> w = {1.0f, -2.0f}, v = {2.0f, 0.0f};
  const std::vector<float> g = {1.0f, 4.0f};
  SgdMomentumStep(0.25f, 0.5f, 2, g.data(), w.data(), v.data());
  EXPECT_EQ(v, (std::vector<float>{2.0f, 4.0f}));   // 0.5 * v + g
  EXPECT_EQ(w, (std::vector<float>{0.5f, -3.0f}));  // w - 0.25 * v
}

TEST(MlpSgdStepTest, SameBitsAsTheScalarExpression) {
  const RandomKey rk{11, Stream::kUser};
  for (int64_t n : {1, 7, 8, 33, 1000}) {
    std::vector<float> w(n), v(n), g(n);
    for (int64_t j = 0; j < n; ++j) {
      w[j] = static_cast<float>(UniformOpen(rk, n, 0, j) - 0.5);
      v[j] = static_cast<float>(UniformOpen(rk, n, 1, j) - 0.5);
      g[j] = static_cast<float>(UniformOpen(rk, n, 2, j) - 0.5);
    }
    std::vector<float> w2 = w, v2 = v;
    const float lr = 0.0137f, mu = 0.9f;
    for (int64_t j = 0; j < n; ++j) {
      const float vj = mu * v2[j] + g[j];
      v2[j] = vj;
      w2[j] -= lr * vj;
    }
    SgdMomentumStep(lr, mu, n, g.data(), w.data(), v.data());
    EXPECT_EQ(w, w2) << "n=" << n;
    EXPECT_EQ(v, v2) << "n=" << n;
  }
}

}  // namespace
}  // namespace es::mlp
