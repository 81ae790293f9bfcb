// grid.cc - see grid.h.
#include "experiments/grid.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>

#include "absl/strings/str_cat.h"

namespace es::experiments {

std::vector<double> Linspace(double lo, double hi, int n) {
  std::vector<double> out(std::max(n, 0));
  for (int i = 0; i < n; ++i) {
    out[i] = n == 1 ? lo : lo + (hi - lo) * i / (n - 1);
  }
  return out;
}

RowMatrixXd Grid2d(const std::vector<double>& a, const std::vector<double>& b) {
  RowMatrixXd out(a.size() * b.size(), 2);
  for (size_t i = 0; i < a.size(); ++i) {
    for (size_t j = 0; j < b.size(); ++j) {
      out(i * b.size() + j, 0) = a[i];
      out(i * b.size() + j, 1) = b[j];
    }
  }
  return out;
}

absl::StatusOr<std::pair<double, double>> ParseRange(const std::string& text,
                                                     const char* flag) {
  auto r = ParseDoubleList(text, flag);
  if (!r.ok()) return r.status();
  if (r->size() != 2 || !((*r)[0] < (*r)[1])) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", flag, " must be min,max with min < max, got \"", text, "\""));
  }
  return std::make_pair((*r)[0], (*r)[1]);
}

absl::StatusOr<GridResult> EvaluateGrid(const UnrolledProblem& problem,
                                        const RowMatrixXd& thetas,
                                        const std::vector<uint64_t>& keys,
                                        int max_batch, bool progress) {
  const int64_t T = problem.horizon();
  if (T == kNeverEnding || T > std::numeric_limits<int>::max()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "EvaluateGrid: problem '", problem.name(), "' needs a finite horizon"));
  }
  if (keys.empty() || max_batch < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "EvaluateGrid: needs episode keys and max_batch >= 1, got ",
        keys.size(), " keys, max_batch ", max_batch));
  }
  if (thetas.cols() != problem.theta_dim()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "EvaluateGrid: grid points have ", thetas.cols(),
        " coordinates; problem '", problem.name(), "' has P = ",
        problem.theta_dim()));
  }
  const auto start = std::chrono::steady_clock::now();
  GridResult out;
  out.thetas = thetas;
  const int rows = static_cast<int>(thetas.rows());
  out.meta_loss.assign(rows, 0.0);
  const int64_t total = static_cast<int64_t>(rows) * keys.size();
  int64_t done = 0;
  std::vector<double> losses(std::min(rows, max_batch));
  for (uint64_t key : keys) {
    for (int r = 0; r < rows; r += max_batch) {
      const int nb = std::min(max_batch, rows - r);
      auto states = problem.NewStates(nb);
      if (!states.ok()) return states.status();
      std::vector<int> particles(nb);
      std::iota(particles.begin(), particles.end(), 0);
      problem.Reset(states->get(), particles, std::vector<uint64_t>(nb, key));
      const std::vector<int64_t> t0(nb, 0);
      const RowMatrixXd block = thetas.middleRows(r, nb);
      if (auto s = problem.Unroll(states->get(), 0, nb, block, t0.data(),
                                  static_cast<int>(T), losses.data());
          !s.ok()) {
        return s;
      }
      for (int i = 0; i < nb; ++i) {
        out.meta_loss[r + i] += losses[i] / static_cast<double>(keys.size());
      }
      done += nb;
      if (progress) {
        const double s = std::chrono::duration<double>(
                             std::chrono::steady_clock::now() - start).count();
        std::fprintf(stderr,
                     "grid: %lld/%lld points x T = %lld (%.1f points/s, ETA "
                     "%.0f s)\n",
                     static_cast<long long>(done), static_cast<long long>(total),
                     static_cast<long long>(T), done / std::max(s, 1e-9),
                     (total - done) * s / done);
      }
    }
  }
  double best = std::numeric_limits<double>::infinity();
  for (int r = 0; r < rows; ++r) {
    if (std::isfinite(out.meta_loss[r]) && out.meta_loss[r] < best) {
      best = out.meta_loss[r];
      out.argmin = r;
    }
  }
  out.seconds = std::chrono::duration<double>(
                    std::chrono::steady_clock::now() - start).count();
  return out;
}

absl::Status AddGridOutput(FigureRun& run, const GridResult& grid) {
  const int P = static_cast<int>(grid.thetas.cols());
  std::vector<std::string> columns;
  for (int p = 0; p < P; ++p) columns.push_back(absl::StrCat("theta_", p));
  columns.push_back("meta_loss");
  Table* table = run.outputs().AddTable("_grid", columns);
  for (int r = 0; r < grid.thetas.rows(); ++r) {
    std::vector<std::string> cells;
    for (int p = 0; p < P; ++p) cells.push_back(FormatDouble(grid.thetas(r, p)));
    cells.push_back(FormatDouble(grid.meta_loss[r]));
    if (auto s = table->AddRow(std::move(cells)); !s.ok()) return s;
  }
  run.Setting("grid_points", grid.meta_loss.size());
  run.Setting("grid_seconds", grid.seconds);
  if (grid.argmin >= 0) {
    run.Setting("grid_min_meta_loss", grid.meta_loss[grid.argmin]);
    for (int p = 0; p < P; ++p) {
      run.Setting(absl::StrCat("grid_argmin_theta_", p),
                  grid.thetas(grid.argmin, p));
    }
    std::printf("grid minimum %.6g at row %d\n", grid.meta_loss[grid.argmin],
                grid.argmin);
  }
  return absl::OkStatus();
}

absl::Status AddSquareGrid(FigureRun& run, const UnrolledProblem& problem,
                           std::pair<double, double> range, int grid_size) {
  if (grid_size == 0) return absl::OkStatus();
  auto grid = EvaluateGrid(
      problem,
      Grid2d(Linspace(range.first, range.second, grid_size),
             Linspace(range.first, range.second, grid_size)),
      {0}, grid_size * grid_size, /*progress=*/false);
  if (!grid.ok()) return grid.status();
  return AddGridOutput(run, *grid);
}

}  // namespace es::experiments
