// mlp_sgd_step.cc - see mlp_sgd_step.h.
#include "inner/mlp/mlp_sgd_step.h"

namespace es::mlp {

void SgdMomentumStep(float lr, float mu, int64_t n, const float* g, float* w,
                     float* v) {
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) {
    const float vj = mu * v[j] + g[j];
    v[j] = vj;
    w[j] -= lr * vj;
  }
}

}  // namespace es::mlp
