// unrolled_adapter.h - presents any DifferentiableProblem as the batched
// UnrolledProblem (estimators/unrolled_problem.h) that the ES estimators and
// RunMetaTraining use, so one problem implementation serves both the
// gradient-based baselines and ES (e.g. ES-Single next to DODGE in Fig. 25),
// and so meta-loss evaluation (UnrolledProblem::Evaluate) works for it.
//
// Each particle holds its own state row and episode key; Unroll calls the
// problem's value-only DifferentiableProblem::Advance step by step. It is a
// plain loop over particles (no SIMD batching): meant for the tiny problems
// of this package, not for benchmarks.
//
// Layout: states are an N x S row-major matrix (row = particle).
// Thread safety: as UnrolledProblem (disjoint particle ranges may run
// concurrently; scratch is per particle).
//
// Usage:
//   Toy2dDiff toy;
//   DifferentiableUnrolledProblem batched(&toy);   // toy must outlive it
//   auto es = MakeEstimator(&batched, spec);        // estimator_factory.h
#ifndef ES_SINGLE_ESTIMATORS_GRADIENT_UNROLLED_ADAPTER_H_
#define ES_SINGLE_ESTIMATORS_GRADIENT_UNROLLED_ADAPTER_H_

#include <memory>
#include <string>

#include "estimators/gradient/differentiable_problem.h"
#include "estimators/unrolled_problem.h"

namespace es {

class DifferentiableUnrolledProblem : public UnrolledProblem {
 public:
  // `problem` must outlive the adapter.
  explicit DifferentiableUnrolledProblem(const DifferentiableProblem* problem);

  std::string name() const override { return problem_->name(); }
  int theta_dim() const override { return problem_->theta_dim(); }
  int64_t horizon() const override { return problem_->horizon(); }

  absl::StatusOr<std::unique_ptr<ParticleStates>> NewStates(
      int num_particles) const override;
  void Reset(ParticleStates* states, absl::Span<const int> particles,
             absl::Span<const uint64_t> episode_keys) const override;
  absl::Status Unroll(ParticleStates* states, int begin, int end,
                      const RowMatrixXd& thetas, const int64_t* t0,
                      int num_steps, double* losses) const override;

 private:
  const DifferentiableProblem* problem_;
};

}  // namespace es

#endif  // ES_SINGLE_ESTIMATORS_GRADIENT_UNROLLED_ADAPTER_H_
