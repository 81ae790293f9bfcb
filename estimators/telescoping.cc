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
  absl::Status Save(StateWriter* out) const override {
    out->Tag("telescoping");
    out->Vector(last_);
    return inner_->Save(out);
  }
  absl::Status Load(StateReader* in) override {
    if (auto s = in->Tag("telescoping"); !s.ok()) return s;
    if (auto s = in->Vector(&last_, static_cast<int64_t>(last_.size()));
        !s.ok()) {
      return s;
    }
    return inner_->Load(in);
  }
  std::vector<double>& last() { return last_; }

 private:
  std::unique_ptr<ParticleStates> inner_;
  std::vector<double> last_;  // L(s_start) per particle
};

}  // namespace

absl::StatusOr<std::unique_ptr<ParticleStates>> TelescopingProblem::NewStates(
    int n) const {
  absl::StatusOr<std::unique_ptr<ParticleStates>> inner = inner_->NewStates(n);
  if (!inner.ok()) return inner.status();
  return std::unique_ptr<ParticleStates>(
      std::make_unique<TelescopingStates>(*std::move(inner), n));
}

void TelescopingProblem::Reset(ParticleStates* states,
                               absl::Span<const int> particles,
                               absl::Span<const uint64_t> keys) const {
  auto* s = static_cast<TelescopingStates*>(states);
  inner_->Reset(s->inner(), particles, keys);
  for (int p : particles) s->last()[p] = 0.0;
}

absl::Status TelescopingProblem::Unroll(ParticleStates* states, int begin,
                                        int end, const RowMatrixXd& thetas,
                                        const int64_t* t0, int num_steps,
                                        double* losses) const {
  auto* s = static_cast<TelescopingStates*>(states);
  if (absl::Status st =
          inner_->Unroll(s->inner(), begin, end, thetas, t0, num_steps, losses);
      !st.ok()) {
    return st;
  }
  if (absl::Status st = inner_->MeasureLoss(s->inner(), begin, end, thetas,
                                            losses);
      !st.ok()) {
    return st;
  }
  for (int i = begin; i < end; ++i) {
    const double now = losses[i];
    losses[i] = now - s->last()[i];
    s->last()[i] = now;
  }
  return absl::OkStatus();
}

absl::Status TelescopingProblem::MeasureLoss(ParticleStates* states, int begin,
                                             int end, const RowMatrixXd& thetas,
                                             double* losses) const {
  auto* s = static_cast<TelescopingStates*>(states);
  return inner_->MeasureLoss(s->inner(), begin, end, thetas, losses);
}

}  // namespace es
