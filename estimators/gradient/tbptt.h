// tbptt.h - truncated backpropagation through time (Williams & Peng 1990):
// reverse-mode gradient of the K-step unroll loss through the last K steps
// only. The "TBPTT K = 1/10/100" baselines of paper Fig. 5a and Fig. 15.
//
// For the unroll of steps t0+1 .. t0+K, with the start state s_{t0} treated
// as a constant (the truncation):
//
//   g_hat = d/dtheta sum_{t=t0+1..t0+K} L_t(s_t; theta) |_{s_{t0} fixed}
//
// computed backwards over a tape of the K steps' Jacobians:
//   lambda = 0;  for t = t0+K .. t0+1:
//     lambda += dL_t/ds_t;   g_hat += dL_t/dtheta + F_th(t)^T lambda;
//     lambda  = F_s(t)^T lambda
//
// The state is carried across unrolls and reset at T. Deterministic but
// biased (truncation bias): it ignores the influence of theta on s_{t0}, which
// is what makes it move the wrong way on influence balancing (Sec. 4.1).
// With K = T it is the exact gradient of the full inner problem and equals
// RTRL. Cost per step O(S^2 + S P) time; memory O(K (S^2 + S P)).
//
// Usage:
//   auto est = Tbptt::Create(&problem, TbpttOptions{.truncation = 10});
#ifndef ES_SINGLE_ESTIMATORS_GRADIENT_TBPTT_H_
#define ES_SINGLE_ESTIMATORS_GRADIENT_TBPTT_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "estimators/gradient/trajectory_estimator.h"

namespace es {

struct TbpttOptions {
  int truncation = 1;  // K: unroll length and truncation of backpropagation
  absl::Status Validate() const;
};

class Tbptt : public TrajectoryEstimator {
 public:
  static absl::StatusOr<std::unique_ptr<Tbptt>> Create(
      const DifferentiableProblem* problem, const TbpttOptions& options);

  // "tbptt_k<K>", e.g. "tbptt_k10".
  std::string name() const override;

 private:
  Tbptt(const DifferentiableProblem* problem, const TbpttOptions& options);
  void StartEpisode() override {}
  void BeginUnroll() override { taped_ = 0; }
  void ObserveStep(const StepDerivatives& d, int64_t step) override;
  void FinishUnroll(Eigen::VectorXd* gradient) override;

  // Tape of the unroll's K steps (allocated once).
  std::vector<Eigen::MatrixXd> dstate_dstate_, dstate_dtheta_;
  std::vector<Eigen::VectorXd> dloss_dstate_, dloss_dtheta_;
  int taped_ = 0;
  Eigen::VectorXd lambda_, scratch_;  // S
};

}  // namespace es

#endif  // ES_SINGLE_ESTIMATORS_GRADIENT_TBPTT_H_
