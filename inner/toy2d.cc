#include "inner/toy2d.h"

#include <immintrin.h>
#include <sleef.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "absl/strings/str_cat.h"
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

// ---- float32, 8 particles per AVX2 vector (Toy2dPrecision::kFloat32) ----
// The same operations as LossGrad / Rate in the same order, in float.

constexpr int kLanes = 8;

inline __m256 Abs8(__m256 v) {
  return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v);
}

// f and grad f on 8 lanes.
inline void LossGrad8(__m256 x0, __m256 x1, __m256* loss, __m256* g0,
                      __m256* g1) {
  const __m256 sqrt5 = _mm256_set1_ps(2.23606797749978969640917366873f);
  const __m256 r =
      _mm256_sqrt_ps(_mm256_add_ps(_mm256_mul_ps(x0, x0), _mm256_set1_ps(5.0f)));
  const Sleef___m256_2 sc = Sleef_sincosf8_u10avx2(x1);
  const __m256 s = sc.x, c = sc.y;
  const __m256 e = Sleef_expf8_u10avx2(
      _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(-5.0f), x0), x0));
  const __m256 d = _mm256_sub_ps(x1, _mm256_set1_ps(100.0f));
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 zero = _mm256_setzero_ps();
  const __m256 sign =
      _mm256_sub_ps(_mm256_and_ps(_mm256_cmp_ps(d, zero, _CMP_GT_OQ), one),
                    _mm256_and_ps(_mm256_cmp_ps(d, zero, _CMP_LT_OQ), one));
  const __m256 sse = _mm256_mul_ps(_mm256_mul_ps(s, s), e);
  const __m256 quarter = _mm256_set1_ps(0.25f);
  *loss = _mm256_add_ps(_mm256_add_ps(_mm256_sub_ps(r, sqrt5), sse),
                        _mm256_mul_ps(quarter, Abs8(d)));
  *g0 = _mm256_sub_ps(
      _mm256_div_ps(x0, r),
      _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(10.0f), x0), sse));
  *g1 = _mm256_add_ps(
      _mm256_mul_ps(_mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(2.0f), s), c),
                    e),
      _mm256_mul_ps(quarter, sign));
}

// f and grad f at one point in float32 (lane 0 of LossGrad8: identical bits
// to the batched path).
inline void LossGradF32(float x0, float x1, float* loss, float* g0,
                        float* g1) {
  __m256 l, a, b;
  LossGrad8(_mm256_set1_ps(x0), _mm256_set1_ps(x1), &l, &a, &b);
  *loss = _mm256_cvtss_f32(l);
  *g0 = _mm256_cvtss_f32(a);
  *g1 = _mm256_cvtss_f32(b);
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

Toy2d::Toy2d(int64_t horizon, Toy2dPrecision precision)
    : horizon_(horizon), precision_(precision) {
  ES_CHECK_MSG(horizon > 0, "Toy2d needs a horizon T > 0");
  ES_CHECK_MSG(precision != Toy2dPrecision::kFloat32 ||
                   horizon <= (int64_t{1} << 30),
               "Toy2d in float32 needs a horizon T <= 2^30");
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
  if (precision_ == Toy2dPrecision::kFloat32) {
    float lf, a, b;
    LossGradF32(static_cast<float>(kInitialX0), static_cast<float>(kInitialX1),
                &lf, &a, &b);
    g0 = a;
    g1 = b;
  } else {
    LossGrad(kInitialX0, kInitialX1, &loss, &g0, &g1);
  }
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
  if (precision_ == Toy2dPrecision::kFloat32) {
    return UnrollFloat32(states, begin, end, thetas, t0, num_steps, losses);
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

absl::Status Toy2d::UnrollFloat32(ParticleStates* states, int begin, int end,
                                  const RowMatrixXd& thetas, const int64_t* t0,
                                  int num_steps, double* losses) const {
  Toy2dStates* s = Cast(states);
  for (int i = begin; i < end; ++i) {
    if (t0[i] < 0 || t0[i] + num_steps > std::numeric_limits<int32_t>::max()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "toy2d_f32: step counter t0 = ", t0[i], " (+ ", num_steps,
          " steps) of particle ", i, " is outside [0, 2^31 - 1)"));
    }
  }
  const __m256 Tf = _mm256_set1_ps(static_cast<float>(horizon_));
  const __m256i Ti = _mm256_set1_epi32(static_cast<int32_t>(horizon_));
  for (int b = begin; b < end; b += kLanes) {
    const int n = std::min(kLanes, end - b);
    // A padded copy of up to 8 particles (padding lanes compute on the
    // initial point and are discarded; lanes do not interact).
    alignas(32) float x0[kLanes], x1[kLanes], g0[kLanes], g1[kLanes],
        th0[kLanes], th1[kLanes], tot[kLanes];
    alignas(32) int32_t t[kLanes];
    for (int j = 0; j < kLanes; ++j) {
      const int i = b + (j < n ? j : 0);
      x0[j] = static_cast<float>(s->x0[i]);
      x1[j] = static_cast<float>(s->x1[i]);
      g0[j] = static_cast<float>(s->g0[i]);
      g1[j] = static_cast<float>(s->g1[i]);
      th0[j] = static_cast<float>(thetas(i, 0));
      th1[j] = static_cast<float>(thetas(i, 1));
      t[j] = static_cast<int32_t>(t0[i]);
    }
    const __m256 e0 = Sleef_expf8_u10avx2(_mm256_load_ps(th0));
    const __m256 e1 = Sleef_expf8_u10avx2(_mm256_load_ps(th1));
    __m256 vx0 = _mm256_load_ps(x0), vx1 = _mm256_load_ps(x1);
    __m256 vg0 = _mm256_load_ps(g0), vg1 = _mm256_load_ps(g1);
    __m256i vt = _mm256_load_si256(reinterpret_cast<const __m256i*>(t));
    __m256 total = _mm256_setzero_ps();
    const __m256i one = _mm256_set1_epi32(1);
    for (int k = 0; k < num_steps; ++k) {
      // alpha_t = e0 (T - t) / T + e1 t / T, t and T - t converted from
      // int32 as JAX does.
      const __m256 lr = _mm256_add_ps(
          _mm256_div_ps(
              _mm256_mul_ps(e0, _mm256_cvtepi32_ps(_mm256_sub_epi32(Ti, vt))),
              Tf),
          _mm256_div_ps(_mm256_mul_ps(e1, _mm256_cvtepi32_ps(vt)), Tf));
      vx0 = _mm256_sub_ps(vx0, _mm256_mul_ps(lr, vg0));
      vx1 = _mm256_sub_ps(vx1, _mm256_mul_ps(lr, vg1));
      __m256 loss;
      LossGrad8(vx0, vx1, &loss, &vg0, &vg1);
      const __m256 counts = _mm256_castsi256_ps(_mm256_cmpgt_epi32(Ti, vt));
      total = _mm256_add_ps(total, _mm256_and_ps(counts, loss));
      vt = _mm256_add_epi32(vt, one);
    }
    _mm256_store_ps(x0, vx0);
    _mm256_store_ps(x1, vx1);
    _mm256_store_ps(g0, vg0);
    _mm256_store_ps(g1, vg1);
    _mm256_store_ps(tot, total);
    for (int j = 0; j < n; ++j) {
      const int i = b + j;
      s->x0[i] = x0[j];
      s->x1[i] = x1[j];
      s->g0[i] = g0[j];
      s->g1[i] = g1[j];
      losses[i] = tot[j];
    }
  }
  return absl::OkStatus();
}

absl::Status Toy2d::MeasureLoss(ParticleStates* states, int begin, int end,
                                const RowMatrixXd&, double* losses) const {
  Toy2dStates* s = Cast(states);
  ES_CHECK(begin >= 0 && begin <= end && end <= s->num_particles());
  for (int i = begin; i < end; ++i) {
    if (precision_ == Toy2dPrecision::kFloat32) {
      float l, g0, g1;
      LossGradF32(static_cast<float>(s->x0[i]), static_cast<float>(s->x1[i]),
                  &l, &g0, &g1);
      losses[i] = l;
    } else {
      double g0, g1;
      LossGrad(s->x0[i], s->x1[i], &losses[i], &g0, &g1);
    }
  }
  return absl::OkStatus();
}

}  // namespace es
