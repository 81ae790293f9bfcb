// mlp_sgd_step.h - the SGD-with-momentum update of one parameter block, in
// float, shared by the MLP hyperparameter problem (mlp_hpo.h, per particle
// and block) and the hypergradient baseline (mlp_hypergradient.h), so that
// a frozen theta trains the same network bit for bit in both:
//   v <- mu v + g;   w <- w - lr v        (PyTorch-style heavy ball)
// computed as vj = mu * v[j] + g[j]; v[j] = vj; w[j] -= lr * vj. The build
// disables floating-point contraction (.bazelrc: -ffp-contract=off), so the
// result does not depend on vectorisation or on which caller runs it.
#ifndef ES_SINGLE_INNER_MLP_MLP_SGD_STEP_H_
#define ES_SINGLE_INNER_MLP_MLP_SGD_STEP_H_

#include <cstdint>

namespace es::mlp {

// Updates w[0, n) and v[0, n) in place from g[0, n). The arrays must not
// overlap.
void SgdMomentumStep(float lr, float mu, int64_t n, const float* g, float* w,
                     float* v);

}  // namespace es::mlp

#endif  // ES_SINGLE_INNER_MLP_MLP_SGD_STEP_H_
