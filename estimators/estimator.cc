#include "estimators/estimator.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace es {

absl::Status GradientEstimator::Save(StateWriter*) const {
  return absl::UnimplementedError(absl::StrCat(
      "estimator '", name(), "' cannot be checkpointed"));
}

absl::Status GradientEstimator::Load(StateReader*) {
  return absl::UnimplementedError(absl::StrCat(
      "estimator '", name(), "' cannot be restored from a checkpoint"));
}

absl::Status EsOptions::Validate() const {
  if (num_particles < 2 || num_particles % 2 != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "num_particles (N) must be even and >= 2 for antithetic pairs, got ",
        num_particles));
  }
  if (!(sigma > 0.0) || !std::isfinite(sigma)) {
    return absl::InvalidArgumentError(
        absl::StrCat("sigma must be finite and > 0, got ", sigma));
  }
  if (truncation <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "truncation length K must be >= 1, got ", truncation));
  }
  if (num_threads < 1 || num_threads > 256) {
    return absl::InvalidArgumentError(
        absl::StrCat("num_threads must be in [1, 256], got ", num_threads));
  }
  return absl::OkStatus();
}

absl::Status ValidateTheta(const Eigen::VectorXd& theta, int expected_dim) {
  if (theta.size() != expected_dim) {
    return absl::InvalidArgumentError(absl::StrCat(
        "theta has ", theta.size(), " entries; the problem needs P = ",
        expected_dim));
  }
  for (int i = 0; i < theta.size(); ++i) {
    if (!std::isfinite(theta[i])) {
      return absl::InvalidArgumentError(absl::StrCat(
          "theta[", i, "] = ", theta[i], " is not finite; theta must be finite"));
    }
  }
  return absl::OkStatus();
}

}  // namespace es
