#include "estimators/truncated_es.h"

#include <cmath>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "estimators/check.h"
#include "estimators/online_es.h"
#include "estimators/philox.h"

namespace es {

absl::StatusOr<std::unique_ptr<TruncatedEs>> TruncatedEs::Create(
    const UnrolledProblem* problem, const EsOptions& options,
    Communicator* comm) {
  if (problem == nullptr) return absl::InvalidArgumentError("problem is null");
  if (auto s = options.Validate(); !s.ok()) return s;
  const int64_t T = problem->horizon();
  if (T != kNeverEnding && T % options.truncation != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "truncation length K = ", options.truncation,
        " must divide the horizon T = ", T, " of problem '", problem->name(),
        "'"));
  }
  if (options.breakstep) {
    return absl::InvalidArgumentError(
        "truncated ES with a shared mean state is lockstep only "
        "(breakstep = true is not allowed; use tes_particle)");
  }
  absl::StatusOr<std::unique_ptr<ParticleStates>> states =
      problem->NewStates(options.num_particles + 1);
  if (!states.ok()) return states.status();
  return std::unique_ptr<TruncatedEs>(
      new TruncatedEs(problem, options, *std::move(states), comm));
}

TruncatedEs::TruncatedEs(const UnrolledProblem* problem,
                         const EsOptions& options,
                         std::unique_ptr<ParticleStates> states,
                         Communicator* comm)
    : problem_(problem),
      options_(options),
      num_pairs_(options.num_particles / 2),
      dim_(problem->theta_dim()),
      states_(std::move(states)),
      unroller_(comm, options.num_particles / 2) {
  const int n = options_.num_particles + 1;
  t_.assign(n, 0);
  thetas_.resize(n, dim_);
  eps_.resize(num_pairs_, dim_);
  losses_.resize(n);
}

absl::StatusOr<Estimate> TruncatedEs::Step(const Eigen::VectorXd& theta) {
  if (auto s = ValidateTheta(theta, dim_); !s.ok()) return s;
  const int n = options_.num_particles;
  const int64_t T = problem_->horizon();
  Estimate est;
  if (needs_reset_ || (T != kNeverEnding && t_[n] >= T)) {
    needs_reset_ = false;
    ++episode_;
    unroll_ = 0;
    const int mean = n;
    const uint64_t key = MixKey(options_.seed, episode_);
    problem_->Reset(states_.get(), absl::MakeConstSpan(&mean, 1),
                    absl::MakeConstSpan(&key, 1));
    std::fill(t_.begin(), t_.end(), 0);
    est.episodes_started = 1;
  }
  // Every rank advances the mean state; each copies it to its own pairs.
  for (int i = 2 * unroller_.owned().begin; i < 2 * unroller_.owned().end;
       ++i) {
    states_->CopyParticle(n, i);
  }
  const RandomKey key{options_.seed, Stream::kBlockPerturbation};
  ES_CHECK_MSG(unroll_ < (int64_t{1} << 24),
               "more than 2^24 unrolls in one inner problem");
  for (int j = 0; j < num_pairs_; ++j) {
    StandardNormals(key, (episode_ << 24) + static_cast<uint64_t>(unroll_), j,
                    dim_, eps_.row(j).data());
  }
  eps_ *= options_.sigma;
  // Every rank draws every pair's eps (the reduction needs them) but builds
  // the perturbed rows of its own pairs only.
  for (int j = unroller_.owned().begin; j < unroller_.owned().end; ++j) {
    thetas_.row(2 * j) = theta.transpose() + eps_.row(j);
    thetas_.row(2 * j + 1) = theta.transpose() - eps_.row(j);
  }
  thetas_.row(n) = theta.transpose();
  // Particles and the mean state share t; the mean state rides in the last
  // chunk (ParallelUnroll aligns chunks to pairs, the odd one joins the end).
  if (absl::Status s = unroller_.Unroll(
          problem_, states_.get(), 0, num_pairs_, /*shared_particle=*/n,
          thetas_, t_.data(), options_.truncation, losses_.data(),
          options_.num_threads);
      !s.ok()) {
    return s;
  }
  for (auto& t : t_) t += options_.truncation;
  ++unroll_;

  ReduceAntitheticPairs(losses_.data(), eps_, options_.sigma * options_.sigma,
                        &est, nullptr);
  if (!std::isfinite(losses_[n])) needs_reset_ = true;
  total_dropped_ += est.dropped_pairs;
  est.particle_steps = int64_t{n + 1} * options_.truncation;
  return est;
}

absl::Status TruncatedEs::Save(StateWriter* out) const {
  out->Tag("tes");
  out->Vector(t_);
  out->Pod(episode_);
  out->Pod(unroll_);
  out->Pod(needs_reset_);
  out->Pod(total_dropped_);
  return states_->Save(out);
}

absl::Status TruncatedEs::Load(StateReader* in) {
  if (auto s = in->Tag("tes"); !s.ok()) return s;
  if (auto s = in->Vector(&t_, static_cast<int64_t>(t_.size())); !s.ok()) {
    return s;
  }
  if (auto s = in->Pod(&episode_); !s.ok()) return s;
  if (auto s = in->Pod(&unroll_); !s.ok()) return s;
  if (auto s = in->Pod(&needs_reset_); !s.ok()) return s;
  if (auto s = in->Pod(&total_dropped_); !s.ok()) return s;
  return states_->Load(in);
}

}  // namespace es
