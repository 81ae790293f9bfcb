// truncated_es.h - vanilla truncated ES with one shared mean state
// (Alg. 1 / Alg. 3; App. C.1, first form).
//
// One state s is kept at step t. Each Step copies s to N particles, unrolls
// them K steps with theta +/- eps_j (eps_j ~ N(0, sigma^2 I), fresh every
// Step), forms
//
//   g_hat = 1 / (N sigma^2) * sum_{pairs j} eps_j (L^+_j - L^-_j),
//
// discards the particle states, and advances s by K steps with theta itself.
// Biased: it sees only the K-step effect of theta (truncation bias); on
// influence balancing it matches TBPTT with the same K (Fig. 5a).
//
// The mean state is particle N of a batch of N + 1, so one batched Unroll
// moves all of them. Non-finite losses: the pair is dropped (as in
// online_es.h); a non-finite mean-state loss restarts the inner problem.
// For the second form (a state per particle) see MakeTruncatedEsPerParticle
// in online_es.h.
#ifndef ES_SINGLE_ESTIMATORS_TRUNCATED_ES_H_
#define ES_SINGLE_ESTIMATORS_TRUNCATED_ES_H_

#include <memory>
#include <vector>

#include "estimators/communicator.h"
#include "estimators/estimator.h"
#include "estimators/online_es.h"
#include "estimators/unrolled_problem.h"

namespace es {

class TruncatedEs : public GradientEstimator {
 public:
  // `comm`: the ranks to spread the pairs over (communicator.h); null
  // means DefaultCommunicator(). It must outlive the estimator.
  static absl::StatusOr<std::unique_ptr<TruncatedEs>> Create(
      const UnrolledProblem* problem, const EsOptions& options,
      Communicator* comm = nullptr);

  std::string name() const override { return "tes"; }
  absl::StatusOr<Estimate> Step(const Eigen::VectorXd& theta) override;
  void RestartInnerProblems() override { needs_reset_ = true; }
  int64_t total_dropped_pairs() const override { return total_dropped_; }
  absl::Status Save(StateWriter* out) const override;
  absl::Status Load(StateReader* in) override;

 private:
  TruncatedEs(const UnrolledProblem* problem, const EsOptions& options,
              std::unique_ptr<ParticleStates> states, Communicator* comm);

  const UnrolledProblem* problem_;
  EsOptions options_;
  int num_pairs_;
  int dim_;
  std::unique_ptr<ParticleStates> states_;  // N + 1; index N = mean state
  std::vector<int64_t> t_;                  // N + 1, all equal
  RowMatrixXd thetas_;                      // (N + 1) x P
  RowMatrixXd eps_;                         // pairs x P scratch
  Eigen::VectorXd losses_;
  uint64_t episode_ = ~uint64_t{0};
  int64_t unroll_ = 0;
  bool needs_reset_ = true;
  int64_t total_dropped_ = 0;
  DistributedUnroller unroller_;
};

}  // namespace es

#endif  // ES_SINGLE_ESTIMATORS_TRUNCATED_ES_H_
