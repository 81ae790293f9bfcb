// toy2d.h - the toy 2D regression task (Vicol et al. 2021; ES-Single paper
// App. C "Toy 2D Regression", eq. 9, and the JAX reference code of App. H,
// Listing 1), batched over particles.
//
// The outer parameters theta = (theta0, theta1) (P = 2) are the log initial
// and log final learning rates of a linearly decaying schedule for gradient
// descent on a 2D function with one global and many local minima:
//
//   f(x0, x1) = sqrt(x0^2 + 5) - sqrt(5) + sin^2(x1) exp(-5 x0^2)
//               + 0.25 |x1 - 100|
//   x_0 = (1, 1);  for t = 0 .. T-1 (t = step counter BEFORE the update):
//     alpha_t = exp(theta0) (T - t) / T + exp(theta1) t / T
//     x <- x - alpha_t grad f(x)
//     L_{t+1} = f(x)                       (loss after the update)
//   meta-loss L(theta) = sum_{t=1..T} L_t,  T = 100 (kPaperHorizon)
//
// This follows Listing 1 exactly: `lr = exp(theta[0]) * (T - t_curr) / T +
// exp(theta[1]) * t_curr / T`, `x = x - lr * grad(x)`, `L += loss(x)`.
// The gradient of |x1 - 100| is 0.25 sign(x1 - 100) with sign(0) = 0 (as
// jax.grad of jnp.abs). The paper's init is theta = log(0.01, 0.01).
//
// Divergence: a large learning rate makes x overflow; the losses then become
// +inf or NaN and stay non-finite (estimators drop such pairs). Nothing
// traps or crashes.
//
// Layout: structure of arrays (x0, x1 and the cached gradient at x, one
// array each, indexed by particle), sized in NewStates, so Unroll allocates
// nothing. The gradient at the current x is cached in the state (it comes
// out of the previous loss evaluation), so each step costs one sqrt, one
// sin/cos pair and one exp per particle.
// Episode keys are ignored (every episode starts at x_0 = (1, 1)).
//
// Precision: Toy2dPrecision::kFloat64 (the default, and what the variance
// study and the goldens use) runs the formula above in double with glibc's
// scalar libm. kFloat32 runs the same operations in float, 8 particles per
// AVX2 vector, with SLEEF's 1-ulp vector functions (Sleef_sincosf8_u10avx2,
// Sleef_expf8_u10avx2; sqrt is IEEE-exact) named explicitly rather than through
// SLEEF's CPU dispatcher, so the bits are the same on every x86-64-v3 host.
// This is the precision of the paper's JAX code (App. H). Lanes are
// independent: a particle's result does not depend on which other particles
// share its vector, so any split of [begin, end) (threads) gives the same
// bits. The state still stores doubles (float values, exactly), so Save /
// Load / CopyParticle are shared; losses are summed in float over the K steps
// of one Unroll and returned as double. Agreement with kFloat64: see
// toy2d_test.cc (Float32* tests) for the measured tolerance and why.
//
// Thread safety: Unroll/Reset on disjoint particle ranges may run
// concurrently; the problem object itself is immutable.
//
// Usage:
//   es::Toy2d problem;                        // T = 100
//   Eigen::Vector2d theta(std::log(0.01), std::log(0.01));
//   double meta_loss = *problem.Evaluate(theta, /*length=*/0, /*key=*/0);
//
// Single-step math (for derivative-based baselines and tests):
//   Toy2d::Point x = Toy2d::InitialPoint();
//   x = Toy2d::Step(x, theta0, theta1, /*t=*/0, /*T=*/100);
//   double l = Toy2d::Loss(x);  Toy2d::Point g = Toy2d::Gradient(x);
#ifndef ES_SINGLE_INNER_TOY2D_H_
#define ES_SINGLE_INNER_TOY2D_H_

#include <cstdint>
#include <memory>
#include <string>

#include "estimators/unrolled_problem.h"

namespace es {

enum class Toy2dPrecision { kFloat64, kFloat32 };

class Toy2d : public UnrolledProblem {
 public:
  static constexpr int64_t kPaperHorizon = 100;  // T (App. C)
  static constexpr double kInitialX0 = 1.0;
  static constexpr double kInitialX1 = 1.0;

  struct Point {
    double x0 = kInitialX0;
    double x1 = kInitialX1;
  };

  // f, grad f and both at once (identical bits to the separate calls).
  static double Loss(const Point& x);
  static Point Gradient(const Point& x);
  static void LossAndGradient(const Point& x, double* loss, Point* grad);
  // alpha_t = exp(theta0) (T - t) / T + exp(theta1) t / T.
  static double LearningRate(double theta0, double theta1, int64_t t,
                             int64_t horizon);
  // One inner update x - alpha_t grad f(x) at step counter t.
  static Point Step(const Point& x, double theta0, double theta1, int64_t t,
                    int64_t horizon);
  static Point InitialPoint() { return Point{}; }

  // horizon = T > 0 (kFloat32: T <= 2^30, the step counter is an int32
  // lane as in the JAX code).
  explicit Toy2d(int64_t horizon = kPaperHorizon,
                 Toy2dPrecision precision = Toy2dPrecision::kFloat64);

  // "toy2d" (float64) or "toy2d_f32".
  std::string name() const override {
    return precision_ == Toy2dPrecision::kFloat32 ? "toy2d_f32" : "toy2d";
  }
  Toy2dPrecision precision() const { return precision_; }
  int theta_dim() const override { return 2; }
  int64_t horizon() const override { return horizon_; }

  absl::StatusOr<std::unique_ptr<ParticleStates>> NewStates(
      int num_particles) const override;
  void Reset(ParticleStates* states, absl::Span<const int> particles,
             absl::Span<const uint64_t> episode_keys) const override;
  // Losses count only steps with t < T (as Listing 1's `(t_curr < T)` mask);
  // callers keep t0 + num_steps <= T anyway.
  absl::Status Unroll(ParticleStates* states, int begin, int end,
                      const RowMatrixXd& thetas, const int64_t* t0,
                      int num_steps, double* losses) const override;
  absl::Status MeasureLoss(ParticleStates* states, int begin, int end,
                           const RowMatrixXd& thetas,
                           double* losses) const override;

 private:
  absl::Status UnrollFloat32(ParticleStates* states, int begin, int end,
                             const RowMatrixXd& thetas, const int64_t* t0,
                             int num_steps, double* losses) const;

  int64_t horizon_;
  Toy2dPrecision precision_;
};

}  // namespace es

#endif  // ES_SINGLE_INNER_TOY2D_H_
