// uoro.h - Unbiased Online Recurrent Optimization (Tallec & Ollivier 2017a,
// "Unbiased Online Recurrent Optimization", ICLR 2018): RTRL with the
// Jacobian J_t = ds_t/dtheta replaced by a random rank-one approximation
// s~_t theta~_t^T with E[s~_t theta~_t^T] = J_t. The "UORO" baseline of paper
// Fig. 5a and Fig. 15.
//
// At the start of every inner problem s~ = 0 (S), theta~ = 0 (P). Each step,
// with nu a vector of independent random signs (+/-1, S entries):
//
//   a     = F_s s~                 (S)     F_s  = ds_t/ds_{t-1}
//   b     = F_th^T nu              (P)     F_th = ds_t/dtheta
//   rho0  = sqrt( (|theta~| + eps) / (|a|  + eps) )
//   rho1  = sqrt( (|b|      + eps) / (|nu| + eps) )
//   s~     <- rho0 a + rho1 nu
//   theta~ <- theta~ / rho0 + b / rho1
//   g_hat += (dL_t/ds_t . s~) theta~ + dL_t/dtheta      (summed over the unroll)
//
// Unbiasedness: s~ theta~^T = F_s J~ + nu nu^T F_th + (rho0/rho1) a b^T
// + (rho1/rho0) nu theta~^T; E[nu nu^T] = I and the cross terms are odd in nu
// (rho0, rho1 are even), so E[s~_t theta~_t^T] = J_t at a fixed theta, and
// the expected g_hat equals RTRL's. The rho0/rho1 scaling (the paper's
// variance reduction) balances the norms of the two rank-one factors; eps
// guards the first step, where s~ = theta~ = 0. Variance can be large and
// grows with the horizon. Cost per step O(S^2 + S P); memory O(S + P).
//
// Randomness: nu for the n-th step taken by this estimator (counted over its
// whole life) comes from RandomBlock(RandomKey{seed, Stream::kDirection}, n,
// /*pair=*/0, i / 128), bit i % 128 (philox.h); same seed, same bits.
//
// Usage:
//   auto est = Uoro::Create(&problem, UoroOptions{.truncation = 1, .seed = 3});
#ifndef ES_SINGLE_ESTIMATORS_GRADIENT_UORO_H_
#define ES_SINGLE_ESTIMATORS_GRADIENT_UORO_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "estimators/gradient/trajectory_estimator.h"

namespace es {

struct UoroOptions {
  int truncation = 1;     // K, steps per unroll (and per gradient estimate)
  uint64_t seed = 0;      // seeds the random signs nu
  double epsilon = 1e-7;  // eps in rho0, rho1; finite and > 0
  absl::Status Validate() const;
};

class Uoro : public TrajectoryEstimator {
 public:
  static absl::StatusOr<std::unique_ptr<Uoro>> Create(
      const DifferentiableProblem* problem, const UoroOptions& options);

  std::string name() const override { return "uoro"; }
  // The current rank-one factors: J_t ~ state_tilde() theta_tilde()^T.
  const Eigen::VectorXd& state_tilde() const { return s_tilde_; }
  const Eigen::VectorXd& theta_tilde() const { return theta_tilde_; }

 private:
  Uoro(const DifferentiableProblem* problem, const UoroOptions& options);
  void StartEpisode() override;
  void BeginUnroll() override { gradient_.setZero(); }
  void ObserveStep(const StepDerivatives& d, int64_t step) override;
  void FinishUnroll(Eigen::VectorXd* gradient) override { *gradient = gradient_; }
  void SaveCarry(StateWriter* out) const override {
    out->Matrix(s_tilde_);
    out->Matrix(theta_tilde_);
    out->Pod(draws_);
  }
  absl::Status LoadCarry(StateReader* in) override {
    if (auto s = in->Matrix(&s_tilde_); !s.ok()) return s;
    if (auto s = in->Matrix(&theta_tilde_); !s.ok()) return s;
    return in->Pod(&draws_);
  }

  double epsilon_;
  uint64_t draws_ = 0;  // steps taken over the estimator's life
  Eigen::VectorXd s_tilde_, theta_tilde_, gradient_;
  Eigen::VectorXd nu_, a_, b_;  // scratch
};

}  // namespace es

#endif  // ES_SINGLE_ESTIMATORS_GRADIENT_UORO_H_
