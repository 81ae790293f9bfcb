#include "estimators/gradient/unrolled_adapter.h"

#include <vector>

#include "estimators/check.h"

namespace es {
namespace {

class AdapterStates : public ParticleStates {
 public:
  AdapterStates(int n, int state_dim)
      : states(RowMatrixXd::Zero(n, state_dim)),
        scratch(RowMatrixXd::Zero(n, state_dim)),
        keys(n, 0) {}

  int num_particles() const override {
    return static_cast<int>(states.rows());
  }
  void CopyParticle(int from, int to) override {
    states.row(to) = states.row(from);
    keys[to] = keys[from];
  }

  absl::Status Save(StateWriter* out) const override {
    out->Tag("differentiable_adapter");
    out->Matrix(states);
    out->Vector(keys);
    return absl::OkStatus();
  }
  absl::Status Load(StateReader* in) override {
    if (auto s = in->Tag("differentiable_adapter"); !s.ok()) return s;
    if (auto s = in->Matrix(&states); !s.ok()) return s;
    return in->Vector(&keys, static_cast<int64_t>(keys.size()));
  }

  RowMatrixXd states;   // N x S, row = particle
  RowMatrixXd scratch;  // N x S, next state per particle
  std::vector<uint64_t> keys;
};

}  // namespace

DifferentiableUnrolledProblem::DifferentiableUnrolledProblem(
    const DifferentiableProblem* problem)
    : problem_(problem) {
  ES_CHECK_MSG(problem_ != nullptr, "null DifferentiableProblem");
}

absl::StatusOr<std::unique_ptr<ParticleStates>>
DifferentiableUnrolledProblem::NewStates(int num_particles) const {
  return MakeParticleStates(name(), num_particles, [&] {
    return std::make_unique<AdapterStates>(num_particles,
                                           problem_->state_dim());
  });
}

void DifferentiableUnrolledProblem::Reset(
    ParticleStates* states, absl::Span<const int> particles,
    absl::Span<const uint64_t> episode_keys) const {
  auto* s = static_cast<AdapterStates*>(states);
  ES_CHECK(particles.size() == episode_keys.size());
  Eigen::VectorXd s0;
  for (size_t k = 0; k < particles.size(); ++k) {
    problem_->InitialState(episode_keys[k], &s0);
    s->states.row(particles[k]) = s0.transpose();
    s->keys[particles[k]] = episode_keys[k];
  }
}

absl::Status DifferentiableUnrolledProblem::Unroll(
    ParticleStates* states, int begin, int end, const RowMatrixXd& thetas,
    const int64_t* t0, int num_steps, double* losses) const {
  auto* s = static_cast<AdapterStates*>(states);
  if (absl::Status st =
          ValidateUnrollArgs(*this, *s, begin, end, thetas, num_steps);
      !st.ok()) {
    return st;
  }
  for (int i = begin; i < end; ++i) {
    double total = 0.0;
    for (int k = 0; k < num_steps; ++k) {
      total += problem_->Advance(s->states.row(i).transpose(),
                                 thetas.row(i).transpose(), t0[i] + k,
                                 s->keys[i], s->scratch.row(i).transpose());
      s->states.row(i) = s->scratch.row(i);
    }
    losses[i] = total;
  }
  return absl::OkStatus();
}

}  // namespace es
