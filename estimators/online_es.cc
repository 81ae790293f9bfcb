#include "estimators/online_es.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "estimators/check.h"
#include "estimators/philox.h"

namespace es {
namespace {
// Block index is folded into the draw index: draw = episode * 2^24 + block.
constexpr int64_t kMaxBlocksPerEpisode = int64_t{1} << 24;
}  // namespace

absl::Status OnlineEsRule::Validate() const {
  if (!std::isfinite(alpha) || !std::isfinite(beta) || alpha < 0 ||
      beta < 0 || (alpha == 0 && beta == 0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "estimator '", name, "': alpha and beta must be finite, >= 0 and not "
        "both 0, got alpha = ", alpha, ", beta = ", beta));
  }
  if (resample_interval <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "estimator '", name, "': resampling interval M must be >= 1, got ",
        resample_interval));
  }
  return absl::OkStatus();
}

OnlineEsRule MakeEsSingle() { return {"es_single", 1.0, 0.0, 1, true}; }
OnlineEsRule MakePes() { return {"pes", 0.0, 1.0, 1, true}; }
OnlineEsRule MakeEsGeneralised(int m) { return {"es_gen", 0.0, 1.0, m, true}; }
OnlineEsRule MakeEsMixture(double alpha, double beta) {
  return {"es_mix", alpha, beta, 1, true};
}
OnlineEsRule MakeTruncatedEsPerParticle() {
  return {"tes_particle", 0.0, 1.0, 1, false};
}

void ReduceAntitheticPairs(const double* losses, const RowMatrixXd& weights,
                           double c, Estimate* est, std::vector<char>* dropped) {
  const int pairs = static_cast<int>(weights.rows());
  est->gradient = Eigen::VectorXd::Zero(weights.cols());
  est->dropped_pairs = 0;
  double loss_sum = 0.0;
  int valid = 0;
  for (int j = 0; j < pairs; ++j) {
    const double lp = losses[2 * j], lm = losses[2 * j + 1];
    if (!std::isfinite(lp) || !std::isfinite(lm)) {
      ++est->dropped_pairs;
      if (dropped != nullptr) (*dropped)[j] = 1;
      continue;
    }
    ++valid;
    est->gradient.noalias() += (lp - lm) * weights.row(j).transpose();
    loss_sum += lp + lm;
  }
  if (valid > 0) {
    est->gradient /= (2.0 * valid * c);
    est->mean_loss = loss_sum / (2.0 * valid);
  } else {
    est->mean_loss = std::numeric_limits<double>::quiet_NaN();
  }
}

absl::Status ParallelUnroll(const UnrolledProblem* problem,
                            ParticleStates* states, int begin, int end,
                            const RowMatrixXd& thetas, const int64_t* t0,
                            int num_steps, double* losses, int num_threads) {
  const int pairs = (end - begin) / 2;
  const int chunks = std::max(1, std::min(num_threads, pairs));
  if (chunks == 1) {
    return problem->Unroll(states, begin, end, thetas, t0, num_steps, losses);
  }
  std::vector<std::thread> workers;
  std::vector<absl::Status> status(chunks);
  workers.reserve(chunks - 1);
  auto bound = [&](int c) { return begin + 2 * ((pairs * c) / chunks); };
  for (int c = 1; c < chunks; ++c) {
    const int b = bound(c), e = (c + 1 == chunks) ? end : bound(c + 1);
    workers.emplace_back([=, &status] {
      status[c] = problem->Unroll(states, b, e, thetas, t0, num_steps, losses);
    });
  }
  status[0] =
      problem->Unroll(states, begin, bound(1), thetas, t0, num_steps, losses);
  for (auto& w : workers) w.join();
  for (absl::Status& s : status) {
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

DistributedUnroller::DistributedUnroller(Communicator* comm, int num_pairs)
    : comm_(ResolveCommunicator(comm)),
      num_pairs_(num_pairs),
      owned_(OwnedPairs(num_pairs, comm_->rank(), comm_->size())),
      counts_(comm_->size()) {
  if (comm_->size() > 1) {
    send_.resize(2 * owned_.size() + 1);
    recv_.resize(2 * static_cast<size_t>(num_pairs) + comm_->size());
  }
}

absl::Status DistributedUnroller::Unroll(
    const UnrolledProblem* problem, ParticleStates* states, int pair_begin,
    int pair_end, int shared_particle, const RowMatrixXd& thetas,
    const int64_t* t0, int num_steps, double* losses, int num_threads) {
  if (comm_->size() == 1) {
    return ParallelUnroll(problem, states, 2 * pair_begin,
                          2 * pair_end + (shared_particle >= 0 ? 1 : 0),
                          thetas, t0, num_steps, losses, num_threads);
  }
  // This rank's part of [pair_begin, pair_end), and every rank's count.
  auto part = [&](int r) {
    const PairRange o = OwnedPairs(num_pairs_, r, comm_->size());
    return PairRange{std::max(o.begin, pair_begin),
                     std::max(std::max(o.begin, pair_begin),
                              std::min(o.end, pair_end))};
  };
  const PairRange mine = part(comm_->rank());
  absl::Status status;
  if (mine.size() > 0) {
    status = ParallelUnroll(problem, states, 2 * mine.begin, 2 * mine.end,
                            thetas, t0, num_steps, losses, num_threads);
  }
  if (status.ok() && shared_particle >= 0) {
    status = problem->Unroll(states, shared_particle, shared_particle + 1,
                             thetas, t0, num_steps, losses);
  }
  for (int r = 0; r < comm_->size(); ++r) counts_[r] = 2 * part(r).size() + 1;
  std::copy(losses + 2 * mine.begin, losses + 2 * mine.end, send_.begin());
  send_[2 * mine.size()] = status.ok() ? 0.0 : 1.0;
  if (absl::Status s = comm_->Allgather(send_.data(), counts_, recv_.data());
      !s.ok()) {
    return s;
  }
  // Unpack in rank order; any failed rank fails the estimate on every rank.
  const double* block = recv_.data();
  std::string failed;
  for (int r = 0; r < comm_->size(); ++r) {
    const int n = counts_[r] - 1;
    if (block[n] != 0.0) absl::StrAppend(&failed, failed.empty() ? "" : ", ", r);
    std::copy(block, block + n, losses + 2 * part(r).begin);
    block += counts_[r];
  }
  if (!status.ok()) {
    return absl::Status(status.code(),
                        absl::StrCat("rank ", comm_->rank(), " of ",
                                     comm_->size(), ": ", status.message()));
  }
  if (!failed.empty()) {
    return absl::AbortedError(absl::StrCat(
        "the unroll failed on rank(s) ", failed, " of ", comm_->size(),
        " (the failing rank's message is on its stderr)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<OnlineEs>> OnlineEs::Create(
    const UnrolledProblem* problem, const EsOptions& options,
    const OnlineEsRule& rule, Communicator* comm) {
  if (problem == nullptr) return absl::InvalidArgumentError("problem is null");
  if (auto s = options.Validate(); !s.ok()) return s;
  if (auto s = rule.Validate(); !s.ok()) return s;
  const int64_t T = problem->horizon();
  if (T != kNeverEnding && T % options.truncation != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "truncation length K = ", options.truncation,
        " must divide the horizon T = ", T, " of problem '", problem->name(),
        "'"));
  }
  if (T == kNeverEnding && options.breakstep) {
    return absl::InvalidArgumentError(absl::StrCat(
        "breakstep training needs a finite horizon; problem '",
        problem->name(), "' never ends (use lockstep)"));
  }
  absl::StatusOr<std::unique_ptr<ParticleStates>> states =
      problem->NewStates(options.num_particles);
  if (!states.ok()) return states.status();
  return std::unique_ptr<OnlineEs>(
      new OnlineEs(problem, options, rule, *std::move(states), comm));
}

OnlineEs::OnlineEs(const UnrolledProblem* problem, const EsOptions& options,
                   const OnlineEsRule& rule,
                   std::unique_ptr<ParticleStates> states,
                   Communicator* comm)
    : problem_(problem),
      options_(options),
      rule_(rule),
      num_pairs_(options.num_particles / 2),
      dim_(problem->theta_dim()),
      horizon_(problem->horizon()),
      states_(std::move(states)),
      unroller_(comm, options.num_particles / 2) {
  const int n = options_.num_particles;
  t_.assign(n, 0);
  episode_.assign(num_pairs_, 0);
  unroll_.assign(num_pairs_, 0);
  needs_reset_.assign(num_pairs_, 1);
  cached_episode_.assign(num_pairs_, ~uint64_t{0});
  if (rule_.beta != 0.0 && rule_.accumulate) xi_ = RowMatrixXd::Zero(num_pairs_, dim_);
  weights_.resize(num_pairs_, dim_);
  thetas_.resize(n, dim_);
  eps_s_.resize(dim_);
  eps_b_.resize(dim_);
  losses_.resize(n);
  reset_particles_.reserve(n);
  reset_keys_.reserve(n);
  // Episode counters start at -1 so that the first reset makes episode 0.
  for (auto& e : episode_) e = ~uint64_t{0};
}

void OnlineEs::RestartInnerProblems() {
  std::fill(needs_reset_.begin(), needs_reset_.end(), 1);
  initialized_ = false;
}

int OnlineEs::ResetFinishedPairs() {
  reset_particles_.clear();
  reset_keys_.clear();
  int restarted = 0;
  for (int j = 0; j < num_pairs_; ++j) {
    const bool finished = horizon_ != kNeverEnding && t_[2 * j] >= horizon_;
    if (!needs_reset_[j] && !finished) continue;
    needs_reset_[j] = 0;
    ++episode_[j];
    unroll_[j] = 0;
    t_[2 * j] = t_[2 * j + 1] = 0;
    if (xi_.size() > 0) xi_.row(j).setZero();
    const uint64_t key = options_.breakstep
                             ? MixKey(options_.seed, episode_[j], j + 1)
                             : MixKey(options_.seed, episode_[j]);
    ++restarted;
    if (!unroller_.owns_pair(j)) continue;  // another rank's particles
    reset_particles_.push_back(2 * j);
    reset_particles_.push_back(2 * j + 1);
    reset_keys_.push_back(key);
    reset_keys_.push_back(key);
  }
  if (!reset_particles_.empty()) {
    problem_->Reset(states_.get(), reset_particles_, reset_keys_);
  }
  return 2 * restarted;
}

absl::Status OnlineEs::AdvancePairs(const Eigen::VectorXd& theta,
                                    int pair_begin, int pair_end) {
  const double sigma = options_.sigma;
  const RandomKey single_key{options_.seed, Stream::kSinglePerturbation};
  const RandomKey block_key{options_.seed, Stream::kBlockPerturbation};
  const bool single_only = rule_.beta == 0.0;
  for (int j = pair_begin; j < pair_end; ++j) {
    auto w = weights_.row(j);
    if (single_only) {
      // delta = w = alpha * sigma * z_s, fixed for the whole episode.
      if (cached_episode_[j] != episode_[j]) {
        StandardNormals(single_key, episode_[j], j, dim_, w.data());
        w *= rule_.alpha * sigma;
        cached_episode_[j] = episode_[j];
      }
      if (unroller_.owns_pair(j)) {  // other ranks' rows are never read
        thetas_.row(2 * j) = theta.transpose() + w;
        thetas_.row(2 * j + 1) = theta.transpose() - w;
      }
      continue;
    }
    Eigen::VectorXd& delta = eps_s_;  // scratch: the applied perturbation
    delta.setZero();
    w.setZero();
    if (rule_.alpha != 0.0) {
      StandardNormals(single_key, episode_[j], j, dim_, eps_b_.data());
      delta.noalias() += (rule_.alpha * sigma) * eps_b_;
      w = delta.transpose();
    }
    if (rule_.beta != 0.0) {
      const int64_t block = unroll_[j] / rule_.resample_interval;
      ES_CHECK_MSG(block < kMaxBlocksPerEpisode,
                   "more than 2^24 perturbation blocks in one inner problem");
      StandardNormals(block_key, episode_[j] * kMaxBlocksPerEpisode + block, j,
                      dim_, eps_b_.data());
      eps_b_ *= sigma;
      delta.noalias() += rule_.beta * eps_b_;
      if (rule_.accumulate) {
        if (unroll_[j] % rule_.resample_interval == 0) {
          xi_.row(j) += eps_b_.transpose();
        }
        w += rule_.beta * xi_.row(j);
      } else {
        w += rule_.beta * eps_b_.transpose();
      }
    }
    if (unroller_.owns_pair(j)) {
      thetas_.row(2 * j) = (theta + delta).transpose();
      thetas_.row(2 * j + 1) = (theta - delta).transpose();
    }
  }
  if (absl::Status s = unroller_.Unroll(
          problem_, states_.get(), pair_begin, pair_end, /*shared_particle=*/-1,
          thetas_, t_.data(), options_.truncation, losses_.data(),
          options_.num_threads);
      !s.ok()) {
    return s;
  }
  for (int j = pair_begin; j < pair_end; ++j) {
    t_[2 * j] += options_.truncation;
    t_[2 * j + 1] += options_.truncation;
    ++unroll_[j];
  }
  return absl::OkStatus();
}

absl::Status OnlineEs::Initialize(const Eigen::VectorXd& theta) {
  ResetFinishedPairs();
  initialized_ = true;
  if (!options_.breakstep) return absl::OkStatus();
  // Breakstep: pair j starts at unroll floor(j * U / pairs). Warm-up unrolls
  // follow the estimator's own perturbation rule; their losses are discarded.
  const int64_t U = horizon_ / options_.truncation;
  auto start_unroll = [&](int j) { return (j * U) / num_pairs_; };
  for (int64_t u = 0; u < U; ++u) {
    int first = num_pairs_;
    for (int j = 0; j < num_pairs_; ++j) {
      if (start_unroll(j) > u) { first = j; break; }
    }
    if (first == num_pairs_) break;
    if (absl::Status s = AdvancePairs(theta, first, num_pairs_); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Estimate> OnlineEs::Step(const Eigen::VectorXd& theta) {
  if (auto s = ValidateTheta(theta, dim_); !s.ok()) return s;
  Estimate est;
  if (!initialized_) {
    if (absl::Status s = Initialize(theta); !s.ok()) return s;
    est.episodes_started = options_.num_particles;
  }
  est.episodes_started += ResetFinishedPairs();
  if (absl::Status s = AdvancePairs(theta, 0, num_pairs_); !s.ok()) return s;

  const double c = (rule_.alpha * rule_.alpha + rule_.beta * rule_.beta) *
                   options_.sigma * options_.sigma;
  ReduceAntitheticPairs(losses_.data(), weights_, c, &est, &needs_reset_);
  total_dropped_ += est.dropped_pairs;
  est.particle_steps =
      int64_t{options_.num_particles} * options_.truncation;
  return est;
}

absl::Status OnlineEs::Save(StateWriter* out) const {
  out->Tag("online_es");
  out->Tag(rule_.name);
  out->Vector(t_);
  out->Vector(episode_);
  out->Vector(unroll_);
  out->Vector(needs_reset_);
  out->Vector(cached_episode_);
  out->Matrix(xi_);
  out->Matrix(weights_);
  out->Pod(initialized_);
  out->Pod(total_dropped_);
  return states_->Save(out);
}

absl::Status OnlineEs::Load(StateReader* in) {
  for (const std::string& tag : {std::string("online_es"), rule_.name}) {
    if (auto s = in->Tag(tag); !s.ok()) return s;
  }
  const int64_t n = options_.num_particles;
  if (auto s = in->Vector(&t_, n); !s.ok()) return s;
  if (auto s = in->Vector(&episode_, num_pairs_); !s.ok()) return s;
  if (auto s = in->Vector(&unroll_, num_pairs_); !s.ok()) return s;
  if (auto s = in->Vector(&needs_reset_, num_pairs_); !s.ok()) return s;
  if (auto s = in->Vector(&cached_episode_, num_pairs_); !s.ok()) return s;
  if (auto s = in->Matrix(&xi_); !s.ok()) return s;
  if (auto s = in->Matrix(&weights_); !s.ok()) return s;
  if (auto s = in->Pod(&initialized_); !s.ok()) return s;
  if (auto s = in->Pod(&total_dropped_); !s.ok()) return s;
  return states_->Load(in);
}

}  // namespace es
