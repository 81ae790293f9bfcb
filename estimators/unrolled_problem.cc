#include "estimators/unrolled_problem.h"

#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"

namespace es {

absl::Status ValidateUnrollArgs(const UnrolledProblem& problem,
                                const ParticleStates& states, int begin,
                                int end, const RowMatrixXd& thetas,
                                int num_steps) {
  if (begin < 0 || begin > end || end > states.num_particles()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "problem '", problem.name(), "': particle range [", begin, ", ", end,
        ") is not within the ", states.num_particles(), " particles"));
  }
  if (thetas.rows() < end || thetas.cols() != problem.theta_dim()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "problem '", problem.name(), "': thetas is ", thetas.rows(), " x ",
        thetas.cols(), "; need at least ", end, " rows of P = ",
        problem.theta_dim()));
  }
  if (num_steps < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "problem '", problem.name(), "': num_steps must be >= 0, got ",
        num_steps));
  }
  return absl::OkStatus();
}

absl::Status UnrolledProblem::MeasureLoss(ParticleStates*, int, int,
                                          const RowMatrixXd&, double*) const {
  return absl::UnimplementedError(
      absl::StrCat("problem '", name(),
                   "' cannot measure the loss of a state (MeasureLoss), so it "
                   "does not support the telescoping meta-objective"));
}

absl::StatusOr<double> UnrolledProblem::Evaluate(const Eigen::VectorXd& theta,
                                                 int64_t length,
                                                 uint64_t key) const {
  if (theta.size() != theta_dim()) {
    return absl::InvalidArgumentError(
        absl::StrCat("Evaluate: theta has ", theta.size(), " entries; problem '",
                     name(), "' needs P = ", theta_dim()));
  }
  if (length <= 0) {
    if (horizon() == kNeverEnding) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Evaluate: problem '", name(),
          "' never ends, so the evaluation length must be > 0, got ", length));
    }
    length = horizon();
  }
  if (horizon() != kNeverEnding && length > horizon()) {
    return absl::InvalidArgumentError(
        absl::StrCat("Evaluate: length ", length, " exceeds the horizon T = ",
                     horizon(), " of problem '", name(), "'"));
  }
  absl::StatusOr<std::unique_ptr<ParticleStates>> states = NewStates(1);
  if (!states.ok()) return states.status();
  const int particle = 0;
  Reset(states->get(), absl::MakeConstSpan(&particle, 1),
        absl::MakeConstSpan(&key, 1));
  RowMatrixXd thetas = theta.transpose();
  double total = 0.0;
  int64_t t = 0;
  // Chunks keep per-call work bounded for problems that buffer per step.
  constexpr int64_t kChunk = 1000;
  while (t < length) {
    const int k = static_cast<int>(std::min(kChunk, length - t));
    double loss = 0.0;
    if (absl::Status s = Unroll(states->get(), 0, 1, thetas, &t, k, &loss);
        !s.ok()) {
      return s;
    }
    total += loss;
    t += k;
  }
  return total;
}

}  // namespace es
