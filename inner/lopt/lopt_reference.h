// lopt_reference.h - plain double-precision Eigen reference of the LOLv2
// learned-optimiser step (features.h + lopt_mlp.h), one particle at a time,
// written the direct way: build the 19-column feature matrix of each tensor,
// run the full 19-input MLP, apply the update. No folding, no batching, no
// oneDNN. For tests only.
//
// Paper: ES-Single (Vicol et al., ICML 2023) Sec. 4.4 / App. C.3; LOLv2 of
// Metz et al. (2019) as in google/learned_optimization mlp_lopt.py.
//
// Usage:
//   std::vector<LoptReferenceTensor> net = ...;  // W_0, b_0, W_1, ... of one
//                                               // inner network, in double
//   LoptReferenceStep(config, theta_row, /*step=*/t, &net);
//   // net[k].param, net[k].momenta now hold the reference values.
#ifndef ES_SINGLE_INNER_LOPT_LOPT_REFERENCE_H_
#define ES_SINGLE_INNER_LOPT_LOPT_REFERENCE_H_

#include <Eigen/Dense>
#include <array>
#include <cstdint>
#include <vector>

#include "inner/lopt/features.h"
#include "inner/lopt/lopt_mlp_config.h"

namespace es {

struct LoptReferenceTensor {
  Eigen::VectorXd param, grad;
  std::array<Eigen::VectorXd, kNumMomenta> momenta;
};

// The MLP of lopt_mlp.h for one theta row: inputs [rows x (F_r + F_p)] ->
// outputs [rows x num_outputs].
Eigen::MatrixXd LoptReferenceMlp(const LoptMlpConfig& config,
                                 const Eigen::VectorXd& theta,
                                 const Eigen::MatrixXd& inputs);

// Updates the tensor's momenta with its gradient and returns its
// [size x kNumFeatures] feature matrix at step t (normalised row features,
// then the time embedding).
Eigen::MatrixXd LoptReferenceFeatures(LoptReferenceTensor* tensor, int64_t t);

// One optimiser step on every tensor of one inner network (F_r = 8,
// F_p = 11, 2 outputs): momenta, features, MLP, p -= d exp(1e-3 m) 1e-3.
void LoptReferenceStep(const LoptMlpConfig& config,
                       const Eigen::VectorXd& theta, int64_t t,
                       std::vector<LoptReferenceTensor>* tensors);

}  // namespace es

#endif  // ES_SINGLE_INNER_LOPT_LOPT_REFERENCE_H_
