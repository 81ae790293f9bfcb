// closed_form.h - exact mean and total variance of the ES estimators on a
// quadratic meta-loss (derivations in docs/derivations.md).
//
// Prop. 3.2 / D.2 (ES-Single, one antithetic pair, summed over a whole inner
// problem):
//
//   tr Var(g_hat) = (P + 1) ||grad L(theta)||^2,  divided by N/2 for N particles.
//
// App. G (the alpha/beta estimator of eq. 43 and its special cases: ES-Single,
// PES, Alg. 4 with any M, truncated ES with a state per particle). On a
// quadratic, one antithetic pair summed over the U = T/K unrolls of an inner
// problem is
//
//   g_hat = kappa * sum_m W_m z z^T u_m,   kappa = 1 / (alpha^2 + beta^2),
//
// where z ~ N(0, I) stacks the single perturbation and the B per-block
// perturbations (each P-dimensional, eps = sigma z), W_m (P x P(1+B)) maps z
// to the weight w_m / sigma used at unroll m, D_j maps z to the perturbation
// applied at unroll j, and u_m = sum_j D_j^T G_{m,j} collects the exact
// per-unroll gradient blocks G_{m,j} = sum_{t in m} sum_{tau in j}
// dL_t/dtheta_tau. Isserlis' theorem (the identity App. G and D.2 rest on,
// eq. 21), E[z^T A z z^T B z] = tr A tr B + tr(AB) + tr(AB^T), gives
//
//   E g_hat       = kappa * sum_m W_m u_m
//   E g_hat^T g_hat = kappa^2 * sum_{m,n} [ tr(W_m^T W_n) u_m.u_n
//                                          + (W_m u_n).(W_n u_m)
//                                          + (W_m u_m).(W_n u_n) ]
//   tr Var = E g_hat^T g_hat - ||E g_hat||^2.
//
// This is the App. G variance (eqs. 62-98 expand the same expectation term by
// term); at alpha=1, beta=0 it reduces to (P+1)||grad L||^2 (Prop. 3.2).
//
// Usage:
//   auto blocks = problem.UnrollGradientBlocks(theta, K);
//   EstimatorMoments m = GeneralisedMoments(blocks, U, P, MakePes(), N);
#ifndef ES_SINGLE_VARIANCE_STUDY_CLOSED_FORM_H_
#define ES_SINGLE_VARIANCE_STUDY_CLOSED_FORM_H_

#include <vector>

#include <Eigen/Dense>

#include "estimators/online_es.h"

namespace es {

// (P + 1) ||gradient||^2 / (N / 2).
double EsSingleTotalVariance(const Eigen::VectorXd& gradient, int num_particles);

struct EstimatorMoments {
  Eigen::VectorXd mean;     // E g_hat
  double total_variance;    // tr Var(g_hat) for N particles
};

// blocks[m * U + j] as returned by LinearQuadraticProblem::UnrollGradientBlocks.
EstimatorMoments GeneralisedMoments(const std::vector<Eigen::VectorXd>& blocks,
                                    int num_unrolls, int dim,
                                    const OnlineEsRule& rule,
                                    int num_particles);

}  // namespace es

#endif  // ES_SINGLE_VARIANCE_STUDY_CLOSED_FORM_H_
