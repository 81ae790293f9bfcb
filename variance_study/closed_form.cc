#include "variance_study/closed_form.h"

#include "estimators/check.h"

namespace es {

double EsSingleTotalVariance(const Eigen::VectorXd& gradient,
                             int num_particles) {
  const double p = static_cast<double>(gradient.size());
  return (p + 1.0) * gradient.squaredNorm() / (num_particles / 2);
}

EstimatorMoments GeneralisedMoments(const std::vector<Eigen::VectorXd>& blocks,
                                    int U, int P, const OnlineEsRule& rule,
                                    int num_particles) {
  ES_CHECK(static_cast<int>(blocks.size()) == U * U);
  const int M = rule.resample_interval;
  const int B = (rule.beta != 0.0) ? (U + M - 1) / M : 0;
  const int D = 1 + B;  // coefficient slots: 0 = single, 1 + b = block b
  // Coefficients (per slot, each times I_P) of the applied perturbation d_u
  // and of the weight a_u at unroll u.
  Eigen::MatrixXd d = Eigen::MatrixXd::Zero(U, D), a = Eigen::MatrixXd::Zero(U, D);
  for (int u = 0; u < U; ++u) {
    d(u, 0) = rule.alpha;
    a(u, 0) = rule.alpha;
    if (B > 0) {
      const int b = u / M;
      d(u, 1 + b) = rule.beta;
      if (rule.accumulate) {
        for (int bb = 0; bb <= b; ++bb) a(u, 1 + bb) = rule.beta;
      } else {
        a(u, 1 + b) = rule.beta;
      }
    }
  }
  // u_m as a D x P matrix: Um[m] = sum_j d_j G_{m,j}^T.
  std::vector<Eigen::MatrixXd> Um(U, Eigen::MatrixXd::Zero(D, P));
  for (int m = 0; m < U; ++m) {
    for (int j = 0; j <= m; ++j) {
      Um[m].noalias() += d.row(j).transpose() * blocks[m * U + j].transpose();
    }
  }
  // y(n, m) = W_n u_m = sum_k a_n[k] Um[m].row(k)  (P-vector).
  auto W = [&](int n, int m) -> Eigen::VectorXd {
    return (a.row(n) * Um[m]).transpose();
  };
  const double kappa = 1.0 / (rule.alpha * rule.alpha + rule.beta * rule.beta);
  Eigen::VectorXd mean = Eigen::VectorXd::Zero(P);
  std::vector<Eigen::VectorXd> diag(U);
  for (int m = 0; m < U; ++m) {
    diag[m] = W(m, m);
    mean += diag[m];
  }
  mean *= kappa;
  double second = 0.0;
  for (int m = 0; m < U; ++m) {
    for (int n = 0; n < U; ++n) {
      const double tr_ww = P * a.row(m).dot(a.row(n));
      const double umun = (Um[m].array() * Um[n].array()).sum();
      second += tr_ww * umun + W(m, n).dot(W(n, m)) + diag[m].dot(diag[n]);
    }
  }
  second *= kappa * kappa;
  EstimatorMoments out;
  out.mean = mean;
  out.total_variance = (second - mean.squaredNorm()) / (num_particles / 2);
  return out;
}

}  // namespace es
