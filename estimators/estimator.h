// estimator.h - the common interface of online gradient estimators for
// unrolled computation graphs, and the options every ES-family estimator
// shares.
//
// An estimator owns its particle states, step counters, perturbations and
// accumulators. Each Step(theta) runs one partial unroll of K steps for every
// particle and returns a gradient estimate g_hat of dL/dtheta; the caller
// (an outer optimiser, see meta_trainer.h) then updates theta.
//
// Usage:
//   EsOptions opt;  opt.num_particles = 100; opt.sigma = 0.3; opt.truncation = 10;
//   auto est = MakeEstimator("es_single", &problem, opt);   // estimator_factory.h
//   absl::StatusOr<Estimate> e = (*est)->Step(theta);
#ifndef ES_SINGLE_ESTIMATORS_ESTIMATOR_H_
#define ES_SINGLE_ESTIMATORS_ESTIMATOR_H_

#include <cstdint>
#include <string>

#include <Eigen/Dense>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "estimators/state_io.h"

namespace es {

// What one Step returns.
struct Estimate {
  Eigen::VectorXd gradient;   // g_hat, size P
  double mean_loss = 0.0;     // mean unroll loss over the particles used
  int dropped_pairs = 0;      // antithetic pairs dropped for non-finite losses
  int64_t particle_steps = 0; // inner steps run by this Step, all particles
  int episodes_started = 0;   // particles reset to t = 0 by this Step
};

// Options shared by the ES family (ES-Single, PES, truncated ES, full ES,
// Alg. 4, App. G).
struct EsOptions {
  // N, the number of particles; antithetic pairs need it even and >= 2.
  int num_particles = 100;
  // Perturbation scale: eps ~ N(0, sigma^2 I).
  double sigma = 0.1;
  // K, the truncation length of each partial unroll. For a finite horizon T,
  // K must divide T.
  int truncation = 10;
  // Seed of the counter-based generator: same seed, same bits.
  uint64_t seed = 0;
  // Lockstep (false, default: all particles start at t = 0 together) or
  // breakstep (true: pair j starts at t = K * floor(j * U / num_pairs), U =
  // T / K unrolls per inner problem; App. C.2).
  bool breakstep = false;
  // Threads for the particle loop (results are identical for any count).
  int num_threads = 1;

  absl::Status Validate() const;
};

class GradientEstimator {
 public:
  virtual ~GradientEstimator() = default;
  // The method name used in CSV files ("es_single", "pes", ...).
  virtual std::string name() const = 0;
  // One partial unroll for every particle and the gradient estimate at theta.
  virtual absl::StatusOr<Estimate> Step(const Eigen::VectorXd& theta) = 0;
  // Puts every particle back at the start of a fresh inner problem, with the
  // same seed (the next inner problem draws the next episode's perturbations).
  virtual void RestartInnerProblems() = 0;
  // Total antithetic pairs dropped so far because of non-finite losses.
  virtual int64_t total_dropped_pairs() const = 0;

  // Checkpointing: the estimator's whole state (step counters, episode and
  // perturbation bookkeeping, accumulators, particle states), so that an
  // estimator built with the same problem and settings and then Load()ed
  // continues to the same bits. The defaults say the method cannot.
  virtual absl::Status Save(StateWriter* out) const;
  virtual absl::Status Load(StateReader* in);
};

// Checks theta before it enters an estimator or optimiser.
absl::Status ValidateTheta(const Eigen::VectorXd& theta, int expected_dim);

}  // namespace es

#endif  // ES_SINGLE_ESTIMATORS_ESTIMATOR_H_
