// rtrl.h - real-time recurrent learning (Williams & Zipser 1989): exact
// forward-mode accumulation of the total derivative of the state w.r.t.
// theta over a whole inner problem. The "RTRL" baseline of paper Fig. 5a and
// Fig. 15, and the reference that UORO and DODGE approximate (App. C.6).
//
//   J_0 = 0 (S x P)                    at the start of every inner problem
//   J_t = F_s J_{t-1} + F_th           F_s = ds_t/ds_{t-1}, F_th = ds_t/dtheta
//   g_hat = sum_{t in unroll} ( J_t^T dL_t/ds_t + dL_t/dtheta )
//
// J is carried across the K-step unrolls of one inner problem (it is not
// truncated), so at a fixed theta the sum of g_hat over the unrolls of an
// inner problem is exactly dL/dtheta of the full unroll. Online (theta
// changing between unrolls) it is the usual RTRL approximation: J mixes
// derivatives taken at past thetas. Deterministic (zero variance). Cost per
// step O(S^2 P) time, O(S P) memory. Resets at T (never, for never-ending
// problems).
//
// Usage:
//   auto est = Rtrl::Create(&problem, RtrlOptions{.truncation = 10});
//   auto e = (*est)->Step(theta);   // e->gradient: this unroll's gradient
#ifndef ES_SINGLE_ESTIMATORS_GRADIENT_RTRL_H_
#define ES_SINGLE_ESTIMATORS_GRADIENT_RTRL_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "estimators/gradient/trajectory_estimator.h"

namespace es {

struct RtrlOptions {
  int truncation = 1;  // K, steps per unroll (and per gradient estimate)
  absl::Status Validate() const;
};

class Rtrl : public TrajectoryEstimator {
 public:
  static absl::StatusOr<std::unique_ptr<Rtrl>> Create(
      const DifferentiableProblem* problem, const RtrlOptions& options);

  std::string name() const override { return "rtrl"; }
  // J_t = ds_t/dtheta (S x P) at the current step.
  const Eigen::MatrixXd& jacobian() const { return jacobian_; }

 private:
  Rtrl(const DifferentiableProblem* problem, const RtrlOptions& options);
  void StartEpisode() override;
  void BeginUnroll() override;
  void ObserveStep(const StepDerivatives& d, int64_t step) override;
  void FinishUnroll(Eigen::VectorXd* gradient) override;
  void SaveCarry(StateWriter* out) const override { out->Matrix(jacobian_); }
  absl::Status LoadCarry(StateReader* in) override {
    return in->Matrix(&jacobian_);
  }

  Eigen::MatrixXd jacobian_, scratch_;  // S x P
  Eigen::VectorXd gradient_;            // P
};

}  // namespace es

#endif  // ES_SINGLE_ESTIMATORS_GRADIENT_RTRL_H_
