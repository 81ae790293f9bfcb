// unrolled_problem.h - the batched unrolled-computation-graph interface that
// every estimator and every inner problem hangs on (docs/design.md).
//
// An unrolled computation graph (paper Sec. 2, eqs. 1-2):
//   s_t = f(s_{t-1}, x_t; theta),   L(theta) = sum_{t=1..T} L_t(s_t; theta)
// with outer parameters theta of dimension P and horizon T (finite, or
// never-ending). Estimators train theta online from partial unrolls of K
// steps. Everything is batched over N particles so that heavy problems can
// batch their kernels across particles; each particle has its own state, its
// own theta row and its own step counter (so breakstep training, App. C.2,
// works: particles may sit at different points of the inner problem).
//
// Layout: thetas is N x P, row-major, row i = particle i. losses[i] is the sum
// of the per-step losses L_{t0+1} + ... + L_{t0+K} of particle i.
//
// Thread safety: Unroll/Reset on disjoint particle ranges of one
// ParticleStates may run concurrently; implementations must not share mutable
// scratch between calls (keep scratch per particle, or allocate it in
// NewStates sized for the whole batch and index it by particle).
//
// Errors: NewStates and Unroll return an absl::Status for failures that are
// not the inner problem's own divergence (a oneDNN primitive that cannot be
// created, a workspace that cannot be allocated, a bad argument). Divergence
// is not an error: the particle reports a non-finite loss.
//
// Checkpoints: ParticleStates::Save/Load write and read the exact state of
// every particle (state_io.h), so that a resumed run continues bit for bit.
//
// Every implementation is checked by the problem conformance suite
// (estimators/testing/problem_conformance.h).
//
// Usage (what an estimator does):
//   absl::StatusOr<std::unique_ptr<ParticleStates>> states = problem.NewStates(N);
//   problem.Reset(states->get(), all_particles, episode_keys);
//   absl::Status s = problem.Unroll(states->get(), 0, N, thetas, t0, K, losses);
//   double meta_loss = *problem.Evaluate(theta, /*length=*/T, /*key=*/0);
#ifndef ES_SINGLE_ESTIMATORS_UNROLLED_PROBLEM_H_
#define ES_SINGLE_ESTIMATORS_UNROLLED_PROBLEM_H_

#include <cstdint>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>

#include <Eigen/Dense>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "estimators/state_io.h"

namespace es {

using RowMatrixXd =
    Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Horizon value of a never-ending inner problem (e.g. influence balancing).
inline constexpr int64_t kNeverEnding = -1;

// Opaque per-batch particle state, created by the problem that owns its
// layout. Estimators only create, reset, copy and pass it back.
class ParticleStates {
 public:
  virtual ~ParticleStates() = default;
  virtual int num_particles() const = 0;
  // Copies particle `from`'s state (including its episode key) onto `to`.
  // Used by truncated ES with one shared mean state (App. C.1).
  virtual void CopyParticle(int from, int to) = 0;
  // Appends the exact state of every particle (including episode keys and
  // anything that influences later losses; not scratch buffers) to `out`.
  virtual absl::Status Save(StateWriter* out) const = 0;
  // Reads what Save wrote (for the same problem and particle count) back;
  // an error, never a crash, on a mismatch.
  virtual absl::Status Load(StateReader* in) = 0;
};

// For NewStates implementations: checks num_particles >= 1 and runs
// `make()` (which returns a std::unique_ptr to a ParticleStates subclass),
// turning an allocation failure (std::bad_alloc, std::length_error) into
// ResourceExhausted naming the problem and the particle count.
template <typename MakeFn>
absl::StatusOr<std::unique_ptr<ParticleStates>> MakeParticleStates(
    absl::string_view problem, int num_particles, MakeFn make) {
  if (num_particles < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "problem '", problem, "': NewStates needs at least one particle, got ",
        num_particles));
  }
  try {
    return std::unique_ptr<ParticleStates>(make());
  } catch (const std::bad_alloc&) {
  } catch (const std::length_error&) {
  }
  return absl::ResourceExhaustedError(absl::StrCat(
      "problem '", problem, "': not enough memory for the states of ",
      num_particles, " particles"));
}

class UnrolledProblem;

// For Unroll implementations: OK when [begin, end) lies within the states,
// thetas has at least `end` rows of P = problem.theta_dim() columns and
// num_steps >= 0; otherwise InvalidArgument naming the bad value.
absl::Status ValidateUnrollArgs(const UnrolledProblem& problem,
                                const ParticleStates& states, int begin,
                                int end, const RowMatrixXd& thetas,
                                int num_steps);

class UnrolledProblem {
 public:
  virtual ~UnrolledProblem() = default;

  virtual std::string name() const = 0;
  // P, the dimension of theta.
  virtual int theta_dim() const = 0;
  // T, or kNeverEnding.
  virtual int64_t horizon() const = 0;

  // Estimated bytes of state per particle (parameters, optimiser state,
  // scratch), so that a caller can refuse a run that would not fit before
  // allocating anything; 0 when negligible or unknown.
  virtual double BytesPerParticle() const { return 0.0; }

  // States for `num_particles` >= 1 particles, all at step 0 of episode key
  // 0 (estimators Reset them before use). Fails with a Status, not an abort,
  // when the memory or a kernel for that many particles cannot be had.
  virtual absl::StatusOr<std::unique_ptr<ParticleStates>> NewStates(
      int num_particles) const = 0;

  // Puts particles[k] at the start of an inner problem (step 0). The episode
  // key selects the random instance (initial weights, data order) of that
  // inner problem: estimators pass the same key to both members of an
  // antithetic pair, and to all particles in lockstep training.
  virtual void Reset(ParticleStates* states, absl::Span<const int> particles,
                     absl::Span<const uint64_t> episode_keys) const = 0;

  // Advances particles [begin, end) by `num_steps` steps, particle i from its
  // own step counter t0[i] with its own theta row thetas.row(i), and writes
  // losses[i] = L_{t0+1} + ... + L_{t0+num_steps}. thetas, t0 and losses are
  // indexed by particle (they cover the whole batch). A diverging particle
  // reports a non-finite loss; it must not crash and it is not an error. A
  // returned error (kernel failure, bad arguments) leaves the states
  // unspecified. For a finite horizon, callers guarantee
  // t0[i] + num_steps <= horizon().
  virtual absl::Status Unroll(ParticleStates* states, int begin, int end,
                              const RowMatrixXd& thetas, const int64_t* t0,
                              int num_steps, double* losses) const = 0;

  // Optional: the loss L(s_t) of each particle's current state, without
  // advancing it (used by the telescoping meta-objective, paper eq. 6).
  virtual absl::Status MeasureLoss(ParticleStates* states, int begin, int end,
                                   const RowMatrixXd& thetas,
                                   double* losses) const;

  // The meta-loss of a full unroll of `length` steps from a fresh state
  // (episode key `key`) at theta: sum of the per-step losses. For a finite
  // horizon, length <= 0 means horizon(). The default runs Unroll on one
  // particle.
  virtual absl::StatusOr<double> Evaluate(const Eigen::VectorXd& theta,
                                          int64_t length, uint64_t key) const;
};

}  // namespace es

#endif  // ES_SINGLE_ESTIMATORS_UNROLLED_PROBLEM_H_
