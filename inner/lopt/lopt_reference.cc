// lopt_reference.cc - see lopt_reference.h.
#include "inner/lopt/lopt_reference.h"

#include <cmath>

#include "estimators/check.h"

namespace es {

Eigen::MatrixXd LoptReferenceMlp(const LoptMlpConfig& config,
                                 const Eigen::VectorXd& theta,
                                 const Eigen::MatrixXd& inputs) {
  ES_CHECK(theta.size() == config.theta_dim());
  const std::vector<int64_t> d = config.layer_sizes();
  ES_CHECK(inputs.cols() == d[0]);
  Eigen::MatrixXd h = inputs;
  for (size_t l = 0; l + 1 < d.size(); ++l) {
    Eigen::MatrixXd w(d[l], d[l + 1]);
    const int64_t wo = config.theta_weight_offset(static_cast<int>(l));
    for (int64_t a = 0; a < d[l]; ++a) {
      for (int64_t b = 0; b < d[l + 1]; ++b)
        w(a, b) = theta[wo + a * d[l + 1] + b];
    }
    const Eigen::RowVectorXd bias =
        theta.segment(config.theta_bias_offset(static_cast<int>(l)), d[l + 1])
            .transpose();
    Eigen::MatrixXd z = h * w;
    z.rowwise() += bias;
    if (l + 2 < d.size()) z = z.cwiseMax(0.0);
    h = z;
  }
  return h;
}

Eigen::MatrixXd LoptReferenceFeatures(LoptReferenceTensor* tensor, int64_t t) {
  const int64_t n = tensor->param.size();
  Eigen::MatrixXd raw(n, kNumRowFeatures);
  raw.col(0) = tensor->grad;
  raw.col(1) = tensor->param;
  for (int k = 0; k < kNumMomenta; ++k) {
    const double beta = kMomentumDecays[k];
    tensor->momenta[k] =
        beta * tensor->momenta[k] + (1.0 - beta) * tensor->grad;
    raw.col(2 + k) = tensor->momenta[k];
  }
  Eigen::MatrixXd features(n, kNumFeatures);
  for (int f = 0; f < kNumRowFeatures; ++f) {
    const double mean_square =
        raw.col(f).squaredNorm() / static_cast<double>(n);
    features.col(f) = raw.col(f) / std::sqrt(kNormEpsilon + mean_square);
  }
  for (int s = 0; s < kNumTimeFeatures; ++s) {
    features.col(kNumRowFeatures + s)
        .setConstant(std::tanh(static_cast<double>(t) / kTimescales[s] - 1.0));
  }
  return features;
}

void LoptReferenceStep(const LoptMlpConfig& config,
                       const Eigen::VectorXd& theta, int64_t t,
                       std::vector<LoptReferenceTensor>* tensors) {
  ES_CHECK(config.row_features == kNumRowFeatures &&
           config.particle_features == kNumTimeFeatures &&
           config.num_outputs == 2);
  for (LoptReferenceTensor& tensor : *tensors) {
    const Eigen::MatrixXd features = LoptReferenceFeatures(&tensor, t);
    const Eigen::MatrixXd out = LoptReferenceMlp(config, theta, features);
    for (int64_t j = 0; j < tensor.param.size(); ++j) {
      tensor.param[j] -= out(j, 0) * std::exp(out(j, 1) * 1e-3) * 1e-3;
    }
  }
}

}  // namespace es
