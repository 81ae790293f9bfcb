#include "estimators/full_es.h"

#include <cmath>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "estimators/online_es.h"
#include "estimators/philox.h"

namespace es {

absl::StatusOr<std::unique_ptr<FullEs>> FullEs::Create(
    const UnrolledProblem* problem, const EsOptions& options,
    Communicator* comm) {
  if (problem == nullptr) return absl::InvalidArgumentError("problem is null");
  if (auto s = options.Validate(); !s.ok()) return s;
  if (problem->horizon() == kNeverEnding) {
    return absl::InvalidArgumentError(absl::StrCat(
        "full-unroll ES needs a finite horizon; problem '", problem->name(),
        "' never ends"));
  }
  absl::StatusOr<std::unique_ptr<ParticleStates>> states =
      problem->NewStates(options.num_particles);
  if (!states.ok()) return states.status();
  return std::unique_ptr<FullEs>(
      new FullEs(problem, options, *std::move(states), comm));
}

FullEs::FullEs(const UnrolledProblem* problem, const EsOptions& options,
               std::unique_ptr<ParticleStates> states, Communicator* comm)
    : problem_(problem),
      options_(options),
      num_pairs_(options.num_particles / 2),
      dim_(problem->theta_dim()),
      states_(std::move(states)),
      unroller_(comm, options.num_particles / 2) {
  const int n = options_.num_particles;
  t_.assign(n, 0);
  // Only this rank's particles are reset and unrolled.
  particles_.resize(2 * unroller_.owned().size());
  std::iota(particles_.begin(), particles_.end(), 2 * unroller_.owned().begin);
  keys_.resize(particles_.size());
  thetas_.resize(n, dim_);
  eps_.resize(num_pairs_, dim_);
  losses_.resize(n);
}

absl::StatusOr<Estimate> FullEs::Step(const Eigen::VectorXd& theta) {
  if (auto s = ValidateTheta(theta, dim_); !s.ok()) return s;
  const int n = options_.num_particles;
  const uint64_t key = MixKey(options_.seed, episode_);
  std::fill(keys_.begin(), keys_.end(), key);
  if (!particles_.empty()) {
    problem_->Reset(states_.get(), particles_, keys_);
  }
  std::fill(t_.begin(), t_.end(), 0);
  const RandomKey rkey{options_.seed, Stream::kSinglePerturbation};
  for (int j = 0; j < num_pairs_; ++j) {
    StandardNormals(rkey, episode_, j, dim_, eps_.row(j).data());
  }
  eps_ *= options_.sigma;
  // Every rank draws every pair's eps (the reduction needs them) but builds
  // the perturbed rows of its own pairs only.
  for (int j = unroller_.owned().begin; j < unroller_.owned().end; ++j) {
    thetas_.row(2 * j) = theta.transpose() + eps_.row(j);
    thetas_.row(2 * j + 1) = theta.transpose() - eps_.row(j);
  }
  const int64_t T = problem_->horizon();
  if (absl::Status s = unroller_.Unroll(
          problem_, states_.get(), 0, num_pairs_, /*shared_particle=*/-1,
          thetas_, t_.data(), static_cast<int>(T), losses_.data(),
          options_.num_threads);
      !s.ok()) {
    return s;
  }
  ++episode_;

  Estimate est;
  est.episodes_started = n;
  ReduceAntitheticPairs(losses_.data(), eps_, options_.sigma * options_.sigma,
                        &est, nullptr);
  total_dropped_ += est.dropped_pairs;
  est.particle_steps = int64_t{n} * T;
  return est;
}

// Every Step starts fresh inner problems, so the state between Steps is the
// episode counter (the particle states are rebuilt by the next Step).
absl::Status FullEs::Save(StateWriter* out) const {
  out->Tag("full_es");
  out->Pod(episode_);
  out->Pod(total_dropped_);
  return absl::OkStatus();
}

absl::Status FullEs::Load(StateReader* in) {
  if (auto s = in->Tag("full_es"); !s.ok()) return s;
  if (auto s = in->Pod(&episode_); !s.ok()) return s;
  return in->Pod(&total_dropped_);
}

}  // namespace es
