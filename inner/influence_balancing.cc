#include "inner/influence_balancing.h"

#include <algorithm>
#include <vector>

#include "estimators/check.h"

namespace es {
namespace {

constexpr int kN = InfluenceBalancing::kStateDim;

// Structure of arrays: coordinate j of particle i at s[j * capacity + i].
class InfluenceStates : public ParticleStates {
 public:
  explicit InfluenceStates(int capacity)
      : capacity_(capacity), s_(static_cast<size_t>(kN) * capacity) {}

  int num_particles() const override { return capacity_; }
  void CopyParticle(int from, int to) override {
    ES_CHECK(from >= 0 && from < capacity_ && to >= 0 && to < capacity_);
    for (int j = 0; j < kN; ++j) row(j)[to] = row(j)[from];
  }

  absl::Status Save(StateWriter* out) const override {
    out->Tag("influence_balancing");
    out->Vector(s_);
    return absl::OkStatus();
  }
  absl::Status Load(StateReader* in) override {
    if (auto s = in->Tag("influence_balancing"); !s.ok()) return s;
    return in->Vector(&s_, static_cast<int64_t>(s_.size()));
  }

  double* row(int j) { return s_.data() + static_cast<size_t>(j) * capacity_; }
  int capacity() const { return capacity_; }

 private:
  int capacity_;
  std::vector<double> s_;
};

InfluenceStates* Cast(ParticleStates* states) {
  ES_CHECK(states != nullptr);
  auto* s = dynamic_cast<InfluenceStates*>(states);
  ES_CHECK_MSG(s != nullptr, "states were not created by InfluenceBalancing");
  return s;
}

}  // namespace

void InfluenceBalancing::InitialState(double* s) {
  std::fill(s, s + kN, kInitialValue);
}

void InfluenceBalancing::StepState(const double* s, double theta,
                                   double* next) {
  // Same expression, in the same order, as the batched loop in Unroll, so
  // the single-state and batched paths agree bit for bit.
  for (int j = 0; j + 1 < kN; ++j) {
    const double drive = j < kNumPositive ? theta : -theta;
    next[j] = kDecay * s[j] + kDecay * s[j + 1] + drive;
  }
  next[kN - 1] = kDecay * s[kN - 1] - theta;
}

void InfluenceBalancing::LossStateGradient(const double* s, double* grad) {
  std::fill(grad, grad + kN, 0.0);
  grad[0] = s[0] - kTarget;
}

Eigen::MatrixXd InfluenceBalancing::TransitionMatrix() {
  Eigen::MatrixXd a = Eigen::MatrixXd::Zero(kN, kN);
  for (int j = 0; j < kN; ++j) {
    a(j, j) = kDecay;
    if (j + 1 < kN) a(j, j + 1) = kDecay;
  }
  return a;
}

Eigen::VectorXd InfluenceBalancing::InputVector() {
  Eigen::VectorXd b(kN);
  for (int j = 0; j < kN; ++j) b[j] = InputSign(j);
  return b;
}

double InfluenceBalancing::LongRunStepLoss(double theta) {
  double sum_b = 0.0;
  for (int j = 0; j < kN; ++j) sum_b += InputSign(j);
  const double d = 2.0 * theta * sum_b - kTarget;
  return 0.5 * d * d;
}

absl::StatusOr<std::unique_ptr<ParticleStates>> InfluenceBalancing::NewStates(
    int num_particles) const {
  return MakeParticleStates(name(), num_particles, [&] {
    auto states = std::make_unique<InfluenceStates>(num_particles);
    for (int j = 0; j < kN; ++j) {
      std::fill(states->row(j), states->row(j) + num_particles, kInitialValue);
    }
    return states;
  });
}

void InfluenceBalancing::Reset(ParticleStates* states,
                               absl::Span<const int> particles,
                               absl::Span<const uint64_t> episode_keys) const {
  ES_CHECK(particles.size() == episode_keys.size());
  InfluenceStates* s = Cast(states);
  for (int i : particles) {
    ES_CHECK(i >= 0 && i < s->capacity());
    for (int j = 0; j < kN; ++j) s->row(j)[i] = kInitialValue;
  }
}

absl::Status InfluenceBalancing::Unroll(ParticleStates* states, int begin,
                                        int end, const RowMatrixXd& thetas,
                                        const int64_t* t0, int num_steps,
                                        double* losses) const {
  (void)t0;  // time-invariant dynamics
  InfluenceStates* s = Cast(states);
  if (absl::Status st =
          ValidateUnrollArgs(*this, *s, begin, end, thetas, num_steps);
      !st.ok()) {
    return st;
  }
  const double* theta = thetas.data();  // N x 1: particle i at theta[i]
  double* s0 = s->row(0);
  for (int i = begin; i < end; ++i) losses[i] = 0.0;
  for (int k = 0; k < num_steps; ++k) {
    // In-place in increasing j: row j reads row j + 1 before it changes.
    for (int j = 0; j + 1 < kN; ++j) {
      double* __restrict cur = s->row(j);
      const double* __restrict nxt = s->row(j + 1);
      if (j < kNumPositive) {
        for (int i = begin; i < end; ++i) {
          cur[i] = kDecay * cur[i] + kDecay * nxt[i] + theta[i];
        }
      } else {
        for (int i = begin; i < end; ++i) {
          cur[i] = kDecay * cur[i] + kDecay * nxt[i] + -theta[i];
        }
      }
    }
    double* __restrict last = s->row(kN - 1);
    for (int i = begin; i < end; ++i) last[i] = kDecay * last[i] - theta[i];
    for (int i = begin; i < end; ++i) {
      const double d = s0[i] - kTarget;
      losses[i] += 0.5 * d * d;
    }
  }
  return absl::OkStatus();
}

absl::Status InfluenceBalancing::MeasureLoss(ParticleStates* states, int begin,
                                             int end, const RowMatrixXd&,
                                             double* losses) const {
  InfluenceStates* s = Cast(states);
  ES_CHECK(begin >= 0 && begin <= end && end <= s->capacity());
  const double* s0 = s->row(0);
  for (int i = begin; i < end; ++i) {
    const double d = s0[i] - kTarget;
    losses[i] = 0.5 * d * d;
  }
  return absl::OkStatus();
}

}  // namespace es
