#include "experiments/landscape.h"

#include <cstdint>
#include <vector>

#include "absl/strings/str_cat.h"
#include "experiments/figure_io.h"

namespace es::experiments {

absl::Status WriteLandscapeGrid(const UnrolledProblem& problem, int size,
                                double lo, double hi, const std::string& path) {
  if (problem.theta_dim() != 2 || problem.horizon() == kNeverEnding) {
    return absl::InvalidArgumentError(absl::StrCat(
        "WriteLandscapeGrid: problem '", problem.name(),
        "' must have P = 2 and a finite horizon, has P = ", problem.theta_dim(),
        ", T = ", problem.horizon()));
  }
  if (size < 1 || size > 2000) {
    return absl::InvalidArgumentError(
        absl::StrCat("grid size must be in [1, 2000], got ", size));
  }
  if (!(lo < hi)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "grid range must be min,max with min < max, got ", lo, ",", hi));
  }
  const int m = size * size;
  const double step = size > 1 ? (hi - lo) / (size - 1) : 0.0;
  RowMatrixXd thetas(m, 2);
  for (int a = 0; a < size; ++a) {
    for (int b = 0; b < size; ++b) {
      thetas(a * size + b, 0) = lo + step * a;
      thetas(a * size + b, 1) = lo + step * b;
    }
  }
  auto states = problem.NewStates(m);
  if (!states.ok()) return states.status();
  std::vector<int> particles(m);
  for (int i = 0; i < m; ++i) particles[i] = i;
  const std::vector<uint64_t> keys(m, 0);
  problem.Reset(states->get(), particles, keys);
  std::vector<int64_t> t0(m, 0);
  std::vector<double> losses(m);
  if (absl::Status s = problem.Unroll(states->get(), 0, m, thetas, t0.data(),
                                      static_cast<int>(problem.horizon()),
                                      losses.data());
      !s.ok()) {
    return s;
  }
  auto csv = CsvWriter::Open(path, {"theta_0", "theta_1", "meta_loss"});
  if (!csv.ok()) return csv.status();
  for (int i = 0; i < m; ++i) {
    if (auto s = (*csv)->WriteRow({FormatDouble(thetas(i, 0)),
                                   FormatDouble(thetas(i, 1)),
                                   FormatDouble(losses[i])});
        !s.ok()) {
      return s;
    }
  }
  return (*csv)->Close();
}

}  // namespace es::experiments
