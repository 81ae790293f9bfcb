#include "estimators/telescoping.h"

#include <limits>
#include <vector>

namespace es {
namespace {

class TelescopingStates : public ParticleStates {
 public:
  TelescopingStates(std::unique_ptr<ParticleStates> inner, int n)
      : inner_(std::move(inner)), last_(n, 0.0) {}
  int num_particles() const override { return inner_->num_particles(); }
  void CopyParticle(int from, int to) override {
    inner_->CopyParticle(from, to);
    last_[to] = last_[from];
  }
  ParticleStates* inner() { return inner_.get(); }
  std::vector<double>& last() { return last_; }

 private:
  std::unique_ptr<ParticleStates> inner_;
  std::vector<double> last_;  // L(s_start) per particle
};

}  // namespace

std::unique_ptr<ParticleStates> TelescopingProblem::NewStates(int n) const {
  return std::make_unique<TelescopingStates>(inner_->NewStates(n), n);
}

void TelescopingProblem::Reset(ParticleStates* states,
                               absl::Span<const int> particles,
                               absl::Span<const uint64_t> keys) const {
  auto* s = static_cast<TelescopingStates*>(states);
  inner_->Reset(s->inner(), particles, keys);
  for (int p : particles) s->last()[p] = 0.0;
}

void TelescopingProblem::Unroll(ParticleStates* states, int begin, int end,
                                const RowMatrixXd& thetas, const int64_t* t0,
                                int num_steps, double* losses) const {
  auto* s = static_cast<TelescopingStates*>(states);
  inner_->Unroll(s->inner(), begin, end, thetas, t0, num_steps, losses);
  if (!inner_->MeasureLoss(s->inner(), begin, end, thetas, losses).ok()) {
    for (int i = begin; i < end; ++i) {
      losses[i] = std::numeric_limits<double>::quiet_NaN();
    }
    return;
  }
  for (int i = begin; i < end; ++i) {
    const double now = losses[i];
    losses[i] = now - s->last()[i];
    s->last()[i] = now;
  }
}

absl::Status TelescopingProblem::MeasureLoss(ParticleStates* states, int begin,
                                             int end, const RowMatrixXd& thetas,
                                             double* losses) const {
  auto* s = static_cast<TelescopingStates*>(states);
  return inner_->MeasureLoss(s->inner(), begin, end, thetas, losses);
}

}  // namespace es
