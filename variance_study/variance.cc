#include "variance_study/variance.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace es {

absl::Status VarianceOptions::Validate() const {
  if (repeats < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("repeats R must be >= 2, got ", repeats));
  }
  return absl::OkStatus();
}

absl::StatusOr<VarianceResult> MeasureVariance(const UnrolledProblem& problem,
                                               const EstimatorSpec& spec,
                                               const Eigen::VectorXd& theta,
                                               const VarianceOptions& options) {
  if (auto s = options.Validate(); !s.ok()) return s;
  const int64_t T = problem.horizon();
  if (T == kNeverEnding) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the variance protocol sums over a whole inner problem; problem '",
        problem.name(), "' never ends"));
  }
  const int K = spec.es.truncation;
  if (K <= 0 || T % K != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "truncation K = ", K, " must divide T = ", T));
  }
  const int64_t steps = (spec.method == "full_es") ? 1 : T / K;
  const int P = problem.theta_dim();
  const int R = options.repeats;
  Eigen::MatrixXd samples(R, P);
  int64_t dropped = 0, estimates = 0;
  for (int r = 0; r < R; ++r) {
    EstimatorSpec s = spec;
    s.es.seed = options.base_seed + static_cast<uint64_t>(r);
    auto est = MakeEstimator(&problem, s);
    if (!est.ok()) return est.status();
    Eigen::VectorXd sum = Eigen::VectorXd::Zero(P);
    for (int64_t u = 0; u < steps; ++u) {
      auto e = (*est)->Step(theta);
      if (!e.ok()) return e.status();
      dropped += e->dropped_pairs;
      ++estimates;
      sum += e->gradient;
    }
    samples.row(r) = sum.transpose();
  }
  // A dropped (non-finite) pair contributes 0 to its estimate, which would
  // bias the variance towards 0: refuse rather than report it.
  if (dropped > 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        dropped, " antithetic pair(s) in ", estimates, " estimates of ",
        spec.method, " on '", problem.name(),
        "' had a non-finite loss and were dropped; the measured variance "
        "would be biased towards 0 (lower sigma or move theta)"));
  }
  VarianceResult out;
  out.repeats = R;
  out.mean = samples.colwise().mean().transpose();
  const Eigen::MatrixXd centred = samples.rowwise() - out.mean.transpose();
  const Eigen::VectorXd sq = centred.rowwise().squaredNorm();
  out.total_variance = sq.sum() / (R - 1);
  const double sq_mean = sq.mean();
  const double sq_var = (sq.array() - sq_mean).square().sum() / (R - 1);
  out.total_variance_stderr = std::sqrt(sq_var / R);
  out.mean_stderr =
      (centred.colwise().squaredNorm().transpose() / (R - 1)).cwiseSqrt() /
      std::sqrt(static_cast<double>(R));
  return out;
}

absl::StatusOr<std::vector<SweepRow>> SweepTruncation(
    const UnrolledProblem& problem, EstimatorSpec spec,
    const Eigen::VectorXd& theta, const std::vector<int>& truncations,
    const VarianceOptions& options) {
  std::vector<SweepRow> rows;
  for (int K : truncations) {
    spec.es.truncation = K;
    auto r = MeasureVariance(problem, spec, theta, options);
    if (!r.ok()) return r.status();
    rows.push_back({K, static_cast<int>(problem.horizon() / K), *r});
  }
  return rows;
}

}  // namespace es
