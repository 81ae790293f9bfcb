// online_es.h - online evolution-strategies estimators that keep one state per
// particle across partial unrolls: ES-Single, PES, the resampling-interval
// generalisation (Alg. 4, App. F), the alpha/beta mixture (App. G, eq. 42)
// and truncated ES with a state per particle (App. C.1, second form).
//
// All of them are one rule. Particles come in antithetic pairs j (particles
// 2j and 2j+1). Within an inner problem (episode e) the u-th partial unroll of
// pair j applies the perturbation
//
//   delta_{j,u} = alpha * eps_s[j,e]  +  beta * eps_b[j,e,floor(u/M)]
//
// (particle 2j gets theta + delta, 2j+1 gets theta - delta), where eps_s is
// drawn once per inner problem and eps_b once per block of M unrolls, both
// N(0, sigma^2 I). With L^{+/-}_{j,u} the K-step unroll losses, the estimate is
//
//   g_hat = 1 / (N (alpha^2 + beta^2) sigma^2)
//           * sum_j w_{j,u} (L^+_{j,u} - L^-_{j,u}),
//   w_{j,u} = alpha * eps_s[j,e] + beta * xi_{j,u},
//   xi_{j,u} = sum_{b <= floor(u/M)} eps_b[j,e,b]   (accumulate = true)
//            = eps_b[j,e,floor(u/M)]                (accumulate = false).
//
// Special cases (MakeEsSingle etc. below build them):
//   ES-Single (Alg. 2, eq. 4):  alpha=1, beta=0. Unbiased for quadratic L
//       (Prop. 3.1); tr Var = (P+1) ||grad L||^2 per pair (Prop. 3.2),
//       independent of the number of unrolls T/K.
//   PES (Sec. 2; Vicol et al. 2021):  alpha=0, beta=1, M=1, accumulate.
//       Unbiased; variance grows with T/K when per-unroll gradients are
//       i.i.d. (Sec. 3.1, Fig. 1).
//   Alg. 4 (App. F, eq. 38):  alpha=0, beta=1, resampling interval M,
//       accumulate. M=1 is PES; M >= T/K is ES-Single. Unbiased.
//   Mixture (App. G, eq. 42/43):  alpha, beta > 0, M=1, accumulate.
//       Unbiased (Prop. G.1); alpha=1,beta=0 is ES-Single, alpha=0,beta=1 PES.
//   Truncated ES, state per particle (App. C.1): alpha=0, beta=1, M=1,
//       accumulate=false. Biased (truncation bias).
//
// Memory: per pair, the accumulator xi (P doubles) only when beta != 0 and
// accumulate; eps_s and eps_b are regenerated from the counter-based
// generator (philox.h) keyed by (seed, episode, block, pair, coordinate).
//
// Resets: a finite-horizon particle that reaches t = T restarts at t = 0 in a
// new episode (new eps_s, xi = 0) at the start of the next Step. Episode keys
// given to the problem: lockstep MixKey(seed, episode); breakstep
// MixKey(seed, episode, pair + 1).
//
// Non-finite losses (a diverging inner problem): the pair is dropped from
// this estimate (g_hat averages over the surviving pairs), counted in
// Estimate::dropped_pairs, and both particles restart a fresh inner problem
// at the next Step. If every pair is dropped, g_hat = 0. theta never sees a
// NaN.
//
// Errors: a problem error (Unroll or NewStates failing) is returned by Step
// or Create; after Step fails the estimator's state is unspecified: discard
// it.
//
// Thread safety: one estimator per thread; internally it splits the particle
// loop over EsOptions::num_threads threads with identical results.
//
// Processes: given a Communicator of R ranks (communicator.h), rank r
// advances only its own pairs and the ranks exchange the losses; every rank
// computes the same estimate, bit-identical to one process.
//
// Usage:
//   auto est = OnlineEs::Create(&problem, options, MakeEsSingle());
//   for (...) { auto e = (*est)->Step(theta); theta -= lr * e->gradient; }
#ifndef ES_SINGLE_ESTIMATORS_ONLINE_ES_H_
#define ES_SINGLE_ESTIMATORS_ONLINE_ES_H_

#include <memory>
#include <string>
#include <vector>

#include "estimators/communicator.h"
#include "estimators/estimator.h"
#include "estimators/unrolled_problem.h"

namespace es {

// Unrolls antithetic pairs across the ranks of a Communicator
// (communicator.h): this rank runs the pairs it owns, and afterwards every
// rank holds the losses of all the pairs asked for. With one rank it is
// exactly ParallelUnroll. Sized once; no allocation per call.
class DistributedUnroller {
 public:
  // `comm` null means DefaultCommunicator().
  DistributedUnroller(Communicator* comm, int num_pairs);

  // Unrolls pairs [pair_begin, pair_end) (particles 2j and 2j+1) by
  // `num_steps` steps, plus `shared_particle` when >= 0: a particle that every
  // rank advances (truncated ES's mean state; it must be 2 * num_pairs), whose
  // loss stays local. Fills losses[2 * pair_begin, 2 * pair_end) on every
  // rank (and losses[shared_particle]). An error on any rank is an error on
  // every rank, naming the rank.
  absl::Status Unroll(const UnrolledProblem* problem, ParticleStates* states,
                      int pair_begin, int pair_end, int shared_particle,
                      const RowMatrixXd& thetas, const int64_t* t0,
                      int num_steps, double* losses, int num_threads);

  // The pairs this rank advances.
  const PairRange& owned() const { return owned_; }
  bool owns_pair(int j) const { return j >= owned_.begin && j < owned_.end; }
  Communicator* comm() const { return comm_; }

 private:
  Communicator* comm_;
  int num_pairs_;
  PairRange owned_;
  std::vector<int> counts_;
  std::vector<double> send_, recv_;
};

struct OnlineEsRule {
  std::string name = "es_single";
  double alpha = 1.0;         // weight of the per-inner-problem eps_s
  double beta = 0.0;          // weight of the per-block eps_b
  int resample_interval = 1;  // M, unrolls per block of eps_b
  bool accumulate = true;     // weight eps_b by its running sum xi

  absl::Status Validate() const;
};

OnlineEsRule MakeEsSingle();
OnlineEsRule MakePes();
// Alg. 4: eps resampled (and accumulated) every M unrolls.
OnlineEsRule MakeEsGeneralised(int resample_interval);
// App. G mixture with weights alpha (ES-Single part) and beta (PES part).
OnlineEsRule MakeEsMixture(double alpha, double beta);
OnlineEsRule MakeTruncatedEsPerParticle();

class OnlineEs : public GradientEstimator {
 public:
  // The problem (and `comm`, if given) must outlive the estimator. `comm`:
  // the ranks to spread the pairs over; null means DefaultCommunicator().
  static absl::StatusOr<std::unique_ptr<OnlineEs>> Create(
      const UnrolledProblem* problem, const EsOptions& options,
      const OnlineEsRule& rule, Communicator* comm = nullptr);

  std::string name() const override { return rule_.name; }
  absl::StatusOr<Estimate> Step(const Eigen::VectorXd& theta) override;
  void RestartInnerProblems() override;
  int64_t total_dropped_pairs() const override { return total_dropped_; }
  absl::Status Save(StateWriter* out) const override;
  absl::Status Load(StateReader* in) override;

  // Step counter of particle i (for tests and breakstep inspection).
  int64_t step_of(int particle) const { return t_[particle]; }

 private:
  OnlineEs(const UnrolledProblem* problem, const EsOptions& options,
           const OnlineEsRule& rule,
           std::unique_ptr<ParticleStates> states, Communicator* comm);

  // Resets pairs flagged in needs_reset_ or at the horizon; returns how many
  // particles restarted.
  int ResetFinishedPairs();
  // Prepares perturbations and runs one K-step unroll for pairs
  // [pair_begin, pair_end).
  absl::Status AdvancePairs(const Eigen::VectorXd& theta, int pair_begin,
                            int pair_end);
  absl::Status Initialize(const Eigen::VectorXd& theta);

  const UnrolledProblem* problem_;
  EsOptions options_;
  OnlineEsRule rule_;
  int num_pairs_;
  int dim_;
  int64_t horizon_;

  std::unique_ptr<ParticleStates> states_;
  std::vector<int64_t> t_;                 // per particle
  std::vector<uint64_t> episode_;          // per pair
  std::vector<int64_t> unroll_;            // per pair, unrolls in this episode
  std::vector<char> needs_reset_;          // per pair
  // Pure single-perturbation rules (beta == 0): weights_.row(j) already holds
  // alpha * eps_s for this episode, so it is not regenerated every unroll.
  std::vector<uint64_t> cached_episode_;   // per pair
  RowMatrixXd xi_;                         // pairs x P (PES-style only)
  RowMatrixXd weights_;                    // pairs x P work buffer
  RowMatrixXd thetas_;                     // N x P work buffer
  Eigen::VectorXd eps_s_, eps_b_;          // P scratch
  Eigen::VectorXd losses_;                 // N
  std::vector<int> reset_particles_;       // scratch
  std::vector<uint64_t> reset_keys_;       // scratch
  DistributedUnroller unroller_;
  bool initialized_ = false;
  int64_t total_dropped_ = 0;
};

// Forms the antithetic estimate from pair losses (particles 2j, 2j+1):
//   est->gradient = sum_{valid j} w_j (L_{2j} - L_{2j+1}) / (2 * valid * c),
//   est->mean_loss = mean loss of the valid particles (NaN if none).
// Pairs with a non-finite loss are skipped, counted in est->dropped_pairs and,
// when `dropped` is not null, flagged there (dropped[j] = 1).
void ReduceAntitheticPairs(const double* losses, const RowMatrixXd& weights,
                           double c, Estimate* est, std::vector<char>* dropped);

// Runs problem->Unroll on particles [begin, end) split into `num_threads`
// contiguous, pair-aligned chunks (identical results for any count). Returns
// the error of the first failing chunk (in particle order), if any.
absl::Status ParallelUnroll(const UnrolledProblem* problem, ParticleStates* states,
                    int begin, int end, const RowMatrixXd& thetas,
                    const int64_t* t0, int num_steps, double* losses,
                    int num_threads);

}  // namespace es

#endif  // ES_SINGLE_ESTIMATORS_ONLINE_ES_H_
