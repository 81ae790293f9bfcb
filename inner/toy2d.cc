#include "inner/toy2d.h"

#include <cmath>
#include <limits>
#include <vector>

#include "estimators/check.h"

namespace es {
namespace {

class Toy2dStates : public ParticleStates {
 public:
  explicit Toy2dStates(int capacity)
      : x0(capacity), x1(capacity), g0(capacity), g1(capacity) {}

  int num_particles() const override { return static_cast<int>(x0.size()); }
  void CopyParticle(int from, int to) override {
    ES_CHECK(from >= 0 && from < num_particles() && to >= 0 &&
             to < num_particles());
    x0[to] = x0[from];
    x1[to] = x1[from];
    g0[to] = g0[from];
    g1[to] = g1[from];
  }

  absl::Status Save(StateWriter* out) const override {
    out->Tag("toy2d");
    for (const auto* v : {&x0, &x1, &g0, &g1}) out->Vector(*v);
    return absl::OkStatus();
  }
  absl::Status Load(StateReader* in) override {
    if (auto s = in->Tag("toy2d"); !s.ok()) return s;
    for (auto* v : {&x0, &x1, &g0, &g1}) {
      if (auto s = in->Vector(v, num_particles()); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

  // Position and the gradient of f at it, one array per component.
  std::vector<double> x0, x1, g0, g1;
};

Toy2dStates* Cast(ParticleStates* states) {
  ES_CHECK(states != nullptr);
  auto* s = dynamic_cast<Toy2dStates*>(states);
  ES_CHECK_MSG(s != nullptr, "states were not created by Toy2d");
  return s;
}

// f and grad f at (x0, x1). The one place the formula lives: every public
// and batched path calls it, so they agree bit for bit.
inline void LossGrad(double x0, double x1, double* loss, double* g0,
                     double* g1) {
  constexpr double kSqrt5 = 2.23606797749978969640917366873;  // sqrt(5)
  const double r = std::sqrt(x0 * x0 + 5.0);
  const double s = std::sin(x1);
  const double c = std::cos(x1);
  const double e = std::exp(-5.0 * x0 * x0);
  const double d = x1 - 100.0;
  const double sign = static_cast<double>((d > 0.0) - (d < 0.0));
  *loss = r - kSqrt5 + s * s * e + 0.25 * std::fabs(d);
  *g0 = x0 / r - 10.0 * x0 * (s * s * e);
  *g1 = 2.0 * s * c * e + 0.25 * sign;
}

// alpha_t from exp(theta0), exp(theta1), in Listing 1's operation order.
inline double Rate(double e0, double e1, int64_t t, int64_t horizon) {
  const double T = static_cast<double>(horizon);
  return e0 * static_cast<double>(horizon - t) / T +
         e1 * static_cast<double>(t) / T;
}

}  // namespace

double Toy2d::Loss(const Point& x) {
  double l, g0, g1;
  LossGrad(x.x0, x.x1, &l, &g0, &g1);
  return l;
}

Toy2d::Point Toy2d::Gradient(const Point& x) {
  double l;
  Point g;
  LossGrad(x.x0, x.x1, &l, &g.x0, &g.x1);
  return g;
}

void Toy2d::LossAndGradient(const Point& x, double* loss, Point* grad) {
  LossGrad(x.x0, x.x1, loss, &grad->x0, &grad->x1);
}

double Toy2d::LearningRate(double theta0, double theta1, int64_t t,
                           int64_t horizon) {
  return Rate(std::exp(theta0), std::exp(theta1), t, horizon);
}

Toy2d::Point Toy2d::Step(const Point& x, double theta0, double theta1,
                         int64_t t, int64_t horizon) {
  const double lr = LearningRate(theta0, theta1, t, horizon);
  const Point g = Gradient(x);
  return Point{x.x0 - lr * g.x0, x.x1 - lr * g.x1};
}

Toy2d::Toy2d(int64_t horizon) : horizon_(horizon) {
  ES_CHECK_MSG(horizon > 0, "Toy2d needs a horizon T > 0");
}

absl::StatusOr<std::unique_ptr<ParticleStates>> Toy2d::NewStates(
    int num_particles) const {
  return MakeParticleStates(name(), num_particles, [&] {
    auto states = std::make_unique<Toy2dStates>(num_particles);
    std::vector<int> all(num_particles);
    for (int i = 0; i < num_particles; ++i) all[i] = i;
    std::vector<uint64_t> keys(num_particles, 0);
    Reset(states.get(), all, keys);
    return states;
  });
}

void Toy2d::Reset(ParticleStates* states, absl::Span<const int> particles,
                  absl::Span<const uint64_t> episode_keys) const {
  ES_CHECK(particles.size() == episode_keys.size());
  Toy2dStates* s = Cast(states);
  double loss, g0, g1;
  LossGrad(kInitialX0, kInitialX1, &loss, &g0, &g1);
  for (int i : particles) {
    ES_CHECK(i >= 0 && i < s->num_particles());
    s->x0[i] = kInitialX0;
    s->x1[i] = kInitialX1;
    s->g0[i] = g0;
    s->g1[i] = g1;
  }
}

absl::Status Toy2d::Unroll(ParticleStates* states, int begin, int end,
                           const RowMatrixXd& thetas, const int64_t* t0,
                           int num_steps, double* losses) const {
  Toy2dStates* s = Cast(states);
  if (absl::Status st =
          ValidateUnrollArgs(*this, *s, begin, end, thetas, num_steps);
      !st.ok()) {
    return st;
  }
  const int64_t T = horizon_;
  for (int i = begin; i < end; ++i) {
    const double e0 = std::exp(thetas(i, 0));
    const double e1 = std::exp(thetas(i, 1));
    double x0 = s->x0[i], x1 = s->x1[i], g0 = s->g0[i], g1 = s->g1[i];
    double total = 0.0;
    for (int k = 0; k < num_steps; ++k) {
      const int64_t t = t0[i] + k;
      const double lr = Rate(e0, e1, t, T);
      x0 = x0 - lr * g0;
      x1 = x1 - lr * g1;
      double loss;
      LossGrad(x0, x1, &loss, &g0, &g1);
      if (t < T) total += loss;
    }
    s->x0[i] = x0;
    s->x1[i] = x1;
    s->g0[i] = g0;
    s->g1[i] = g1;
    losses[i] = total;
  }
  return absl::OkStatus();
}

absl::Status Toy2d::MeasureLoss(ParticleStates* states, int begin, int end,
                                const RowMatrixXd&, double* losses) const {
  Toy2dStates* s = Cast(states);
  ES_CHECK(begin >= 0 && begin <= end && end <= s->num_particles());
  for (int i = begin; i < end; ++i) {
    double g0, g1;
    LossGrad(s->x0[i], s->x1[i], &losses[i], &g0, &g1);
  }
  return absl::OkStatus();
}

}  // namespace es
