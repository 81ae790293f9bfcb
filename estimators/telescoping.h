// telescoping.h - the telescoping meta-objective (paper eq. 6): target the
// final loss L_T instead of the sum of losses by reporting, for each partial
// unroll, p = L(s_end) - L(s_start), with L(s_start) = 0 at the start of an
// inner problem (L_{-1} = 0). Over a whole inner problem the p's sum to L_T.
//
// TelescopingProblem wraps any problem that implements MeasureLoss (e.g. the
// MLP problems, which measure the training loss on a minibatch fixed per
// inner problem) and is itself an UnrolledProblem, so every estimator works
// on it unchanged.
//
// Usage:
//   TelescopingProblem tele(&mlp_problem);
//   auto est = MakeEstimator(&tele, spec);
#ifndef ES_SINGLE_ESTIMATORS_TELESCOPING_H_
#define ES_SINGLE_ESTIMATORS_TELESCOPING_H_

#include "estimators/unrolled_problem.h"

namespace es {

class TelescopingProblem : public UnrolledProblem {
 public:
  // `inner` must outlive this object.
  explicit TelescopingProblem(const UnrolledProblem* inner) : inner_(inner) {}

  std::string name() const override { return inner_->name() + "_telescoping"; }
  int theta_dim() const override { return inner_->theta_dim(); }
  int64_t horizon() const override { return inner_->horizon(); }
  absl::StatusOr<std::unique_ptr<ParticleStates>> NewStates(
      int num_particles) const override;
  void Reset(ParticleStates* states, absl::Span<const int> particles,
             absl::Span<const uint64_t> episode_keys) const override;
  // losses[i] = L(s_end) - L(s_start). If the inner problem cannot measure
  // losses, losses are NaN (and the estimators drop every pair).
  absl::Status Unroll(ParticleStates* states, int begin, int end,
              const RowMatrixXd& thetas, const int64_t* t0, int num_steps,
              double* losses) const override;
  absl::Status MeasureLoss(ParticleStates* states, int begin, int end,
                           const RowMatrixXd& thetas,
                           double* losses) const override;

 private:
  const UnrolledProblem* inner_;
};

}  // namespace es

#endif  // ES_SINGLE_ESTIMATORS_TELESCOPING_H_
