// linear_quadratic_problem.h - unrolled test problems with a quadratic
// meta-loss and an exactly known gradient, in the three gradient scenarios of
// paper Sec. 3.1 (per-unroll gradients i.i.d., identical, correlated).
//
// A linear dynamical system driven by theta, with quadratic per-step losses:
//
//   s_0 = 0,   s_t = lambda * s_{t-1} + theta_t,   L_t = 0.5 ||s_t - c_t||^2,
//
// s, theta, c_t in R^P, lambda in [0, 1), T finite. theta_t is the copy of
// theta applied at step t (ES perturbs it per unroll). L(Theta) = sum_t L_t
// is exactly quadratic in all the theta_t, so antithetic ES estimators are
// exactly linear in the perturbations (Prop. 3.1, D.1) and the closed forms
// of closed_form.h hold exactly. The targets c_t make the scenarios:
//
//   kIid:        c_t = m + z_t,  z_t i.i.d. N(0, I)     (random characters)
//   kIdentical:  c_t = m                                 (one repeated char)
//   kCorrelated: c_t = m + a_t,  a_t = rho a_{t-1} + sqrt(1-rho^2) z_t (AR(1))
//
// with m a fixed vector (entries N(0,1) from the target seed) and z_t from the
// counter-based generator. Exact derivatives (tau <= t):
//
//   dL_t / dtheta_tau = lambda^{t-tau} (s_t - c_t),
//   grad L(theta) = sum_t (1 - lambda^t) / (1 - lambda) * (s_t - c_t)  (lambda < 1).
//
// Usage:
//   LinearQuadraticProblem problem({.dim = 10, .horizon = 100,
//                                   .scenario = GradientScenario::kIid});
//   Eigen::VectorXd g = problem.MetaGradient(theta);
#ifndef ES_SINGLE_ESTIMATORS_TESTING_LINEAR_QUADRATIC_PROBLEM_H_
#define ES_SINGLE_ESTIMATORS_TESTING_LINEAR_QUADRATIC_PROBLEM_H_

#include <string>
#include <vector>

#include "estimators/unrolled_problem.h"

namespace es {

enum class GradientScenario { kIid, kIdentical, kCorrelated };

absl::StatusOr<GradientScenario> ParseScenario(const std::string& name);
std::string ScenarioName(GradientScenario s);

struct LinearQuadraticOptions {
  int dim = 2;                 // P (= state dimension)
  int64_t horizon = 100;       // T
  double decay = 0.5;          // lambda in [0, 1)
  GradientScenario scenario = GradientScenario::kIid;
  double correlation = 0.9;    // rho for kCorrelated, in [0, 1)
  uint64_t target_seed = 1;    // seed of m and z_t

  absl::Status Validate() const;
};

class LinearQuadraticProblem : public UnrolledProblem {
 public:
  // Options must be valid (call Create to get a Status instead).
  explicit LinearQuadraticProblem(const LinearQuadraticOptions& options);
  static absl::StatusOr<std::unique_ptr<LinearQuadraticProblem>> Create(
      const LinearQuadraticOptions& options);

  std::string name() const override;
  int theta_dim() const override { return options_.dim; }
  int64_t horizon() const override { return options_.horizon; }
  absl::StatusOr<std::unique_ptr<ParticleStates>> NewStates(
      int num_particles) const override;
  void Reset(ParticleStates* states, absl::Span<const int> particles,
             absl::Span<const uint64_t> episode_keys) const override;
  absl::Status Unroll(ParticleStates* states, int begin, int end,
                      const RowMatrixXd& thetas, const int64_t* t0,
                      int num_steps, double* losses) const override;

  // 0.5 ||s - c_bar||^2 with c_bar the mean target (for the telescoping
  // meta-objective, estimators/telescoping.h).
  absl::Status MeasureLoss(ParticleStates* states, int begin, int end,
                           const RowMatrixXd& thetas,
                           double* losses) const override;

  // Exact quantities at a constant theta (theta_t = theta for all t).
  double MetaLoss(const Eigen::VectorXd& theta) const;
  Eigen::VectorXd MetaGradient(const Eigen::VectorXd& theta) const;
  // G[m * U + j] = sum_{t in unroll m} sum_{tau in unroll j} dL_t/dtheta_tau,
  // U = T / K unrolls of length K (zero for j > m). K must divide T.
  std::vector<Eigen::VectorXd> UnrollGradientBlocks(const Eigen::VectorXd& theta,
                                                    int truncation) const;

  const RowMatrixXd& targets() const { return targets_; }  // T x P, row t-1 = c_t

 private:
  LinearQuadraticOptions options_;
  RowMatrixXd targets_;
};

}  // namespace es

#endif  // ES_SINGLE_ESTIMATORS_TESTING_LINEAR_QUADRATIC_PROBLEM_H_
