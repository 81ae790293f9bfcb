// variance.h - Monte-Carlo bias and variance of any estimator on any problem
// (the protocol of paper Sec. 3.1 / Fig. 1): theta is held fixed (no outer
// updates), the estimates of the U = T/K partial unrolls of one whole inner
// problem are summed into one sample, and R independent repeats (seed =
// base_seed + r) give the empirical mean and the total variance
//
//   V_hat = 1/(R-1) sum_r ||g_r - g_bar||^2,
//
// with standard errors: per coordinate sd/sqrt(R) for the mean, and
// sd(||g_r - g_bar||^2)/sqrt(R) for V_hat (delta method; docs/derivations.md).
//
// Usage:
//   EstimatorSpec spec{.method = "es_single"}; spec.es.num_particles = 2;
//   auto r = MeasureVariance(problem, spec, theta, {.repeats = 20000});
//   for (int K : {1, 2, 5, 10}) ... SweepTruncation(...)
#ifndef ES_SINGLE_VARIANCE_STUDY_VARIANCE_H_
#define ES_SINGLE_VARIANCE_STUDY_VARIANCE_H_

#include <vector>

#include "estimators/estimator_factory.h"

namespace es {

struct VarianceOptions {
  int repeats = 1000;      // R
  uint64_t base_seed = 0;  // repeat r uses seed base_seed + r

  absl::Status Validate() const;
};

struct VarianceResult {
  Eigen::VectorXd mean;         // g_bar
  Eigen::VectorXd mean_stderr;  // per coordinate
  double total_variance = 0.0;  // V_hat
  double total_variance_stderr = 0.0;
  int repeats = 0;
};

// Sums spec's estimates over one whole inner problem (T/K Steps; the problem
// must have a finite horizon) per repeat. full_es needs a single Step.
// FailedPrecondition if any pair was dropped for a non-finite loss (the
// variance would be biased towards 0).
absl::StatusOr<VarianceResult> MeasureVariance(const UnrolledProblem& problem,
                                               const EstimatorSpec& spec,
                                               const Eigen::VectorXd& theta,
                                               const VarianceOptions& options);

struct SweepRow {
  int truncation;  // K
  int num_unrolls; // T / K
  VarianceResult result;
};

// MeasureVariance for each K in `truncations` (each must divide T).
absl::StatusOr<std::vector<SweepRow>> SweepTruncation(
    const UnrolledProblem& problem, EstimatorSpec spec,
    const Eigen::VectorXd& theta, const std::vector<int>& truncations,
    const VarianceOptions& options);

}  // namespace es

#endif  // ES_SINGLE_VARIANCE_STUDY_VARIANCE_H_
