// full_es.h - full-unroll ES (Sec. 2, eq. 3): every Step runs N particles
// through a whole inner problem of T steps from fresh states (episode e =
// the Step count), with eps_j ~ N(0, sigma^2 I) drawn for that Step:
//
//   g_hat = 1 / (N sigma^2) * sum_{pairs j} eps_j (L(theta + eps_j) - L(theta - eps_j)).
//
// Unbiased for quadratic L, tr Var = (P+1) ||grad L||^2 per pair, like
// ES-Single, but one update per T inner steps. Needs a finite horizon.
// EsOptions::truncation is ignored (the unroll length is T).
#ifndef ES_SINGLE_ESTIMATORS_FULL_ES_H_
#define ES_SINGLE_ESTIMATORS_FULL_ES_H_

#include <memory>
#include <vector>

#include "estimators/communicator.h"
#include "estimators/estimator.h"
#include "estimators/online_es.h"
#include "estimators/unrolled_problem.h"

namespace es {

class FullEs : public GradientEstimator {
 public:
  // `comm`: the ranks to spread the pairs over (communicator.h); null
  // means DefaultCommunicator(). It must outlive the estimator.
  static absl::StatusOr<std::unique_ptr<FullEs>> Create(
      const UnrolledProblem* problem, const EsOptions& options,
      Communicator* comm = nullptr);

  std::string name() const override { return "full_es"; }
  absl::StatusOr<Estimate> Step(const Eigen::VectorXd& theta) override;
  void RestartInnerProblems() override {}
  int64_t total_dropped_pairs() const override { return total_dropped_; }
  absl::Status Save(StateWriter* out) const override;
  absl::Status Load(StateReader* in) override;

 private:
  FullEs(const UnrolledProblem* problem, const EsOptions& options,
         std::unique_ptr<ParticleStates> states, Communicator* comm);

  const UnrolledProblem* problem_;
  EsOptions options_;
  int num_pairs_;
  int dim_;
  std::unique_ptr<ParticleStates> states_;
  std::vector<int64_t> t_;
  std::vector<int> particles_;
  std::vector<uint64_t> keys_;
  RowMatrixXd thetas_, eps_;
  Eigen::VectorXd losses_;
  uint64_t episode_ = 0;
  int64_t total_dropped_ = 0;
  DistributedUnroller unroller_;
};

}  // namespace es

#endif  // ES_SINGLE_ESTIMATORS_FULL_ES_H_
