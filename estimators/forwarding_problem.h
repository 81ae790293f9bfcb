// forwarding_problem.h - an UnrolledProblem that forwards every call to
// another one: the base of views that change one thing (the meta-loss a
// figure evaluates, the name) and delegate the rest, so no view retypes the
// whole interface (and none forgets a method added to it later).
//
// Usage:
//   class LongRunView : public ForwardingProblem {
//    public:
//     explicit LongRunView(const YachtL2Problem* p) : ForwardingProblem(p) {}
//     absl::StatusOr<double> Evaluate(...) const override { ... }
//   };
// `base` must outlive the view.
#ifndef ES_SINGLE_ESTIMATORS_FORWARDING_PROBLEM_H_
#define ES_SINGLE_ESTIMATORS_FORWARDING_PROBLEM_H_

#include <memory>
#include <string>

#include "estimators/unrolled_problem.h"

namespace es {

class ForwardingProblem : public UnrolledProblem {
 public:
  explicit ForwardingProblem(const UnrolledProblem* base) : base_(base) {}

  std::string name() const override { return base_->name(); }
  int theta_dim() const override { return base_->theta_dim(); }
  int64_t horizon() const override { return base_->horizon(); }
  double BytesPerParticle() const override { return base_->BytesPerParticle(); }
  absl::StatusOr<std::unique_ptr<ParticleStates>> NewStates(
      int num_particles) const override {
    return base_->NewStates(num_particles);
  }
  void Reset(ParticleStates* states, absl::Span<const int> particles,
             absl::Span<const uint64_t> episode_keys) const override {
    base_->Reset(states, particles, episode_keys);
  }
  absl::Status Unroll(ParticleStates* states, int begin, int end,
                      const RowMatrixXd& thetas, const int64_t* t0,
                      int num_steps, double* losses) const override {
    return base_->Unroll(states, begin, end, thetas, t0, num_steps, losses);
  }
  absl::Status MeasureLoss(ParticleStates* states, int begin, int end,
                           const RowMatrixXd& thetas,
                           double* losses) const override {
    return base_->MeasureLoss(states, begin, end, thetas, losses);
  }
  absl::StatusOr<double> Evaluate(const Eigen::VectorXd& theta, int64_t length,
                                  uint64_t key) const override {
    return base_->Evaluate(theta, length, key);
  }

 protected:
  const UnrolledProblem* base() const { return base_; }

 private:
  const UnrolledProblem* base_;
};

}  // namespace es

#endif  // ES_SINGLE_ESTIMATORS_FORWARDING_PROBLEM_H_
