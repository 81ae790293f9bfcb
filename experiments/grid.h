// grid.h - the meta-loss on a grid of theta, for the contour and heatmap
// panels (Figs. 7, 8, 15, 17/18, 19, 25, 26) and grid searches: every row of
// `thetas` is unrolled for the problem's whole horizon T from a fresh inner
// problem of each episode key, as particles of one batch (at most max_batch
// at a time), and the meta-loss is the mean over the keys of the summed
// per-step losses. With one key k it equals problem.Evaluate(theta, 0, k)
// bit for bit, so the grid and the trajectories' meta_loss columns are the
// same function.
//
// Output: "<binary>_grid.csv" (theta_0,...,theta_{P-1},meta_loss, one row
// per point in the order of `thetas`) and the sidecar settings grid_points,
// grid_seconds, grid_min_meta_loss and grid_argmin_theta_<p>.
//
// Usage:
//   RowMatrixXd thetas = Grid2d(Linspace(-6, 0, 11), Linspace(-3, 3, 11));
//   auto grid = EvaluateGrid(problem, thetas, {eval_key}, 64, /*progress=*/true);
//   RETURN_IF_ERROR(AddGridOutput(run, *grid));
#ifndef ES_SINGLE_EXPERIMENTS_GRID_H_
#define ES_SINGLE_EXPERIMENTS_GRID_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "estimators/unrolled_problem.h"
#include "experiments/figure.h"

namespace es::experiments {

// n points from lo to hi inclusive (n = 1: lo; n <= 0: none).
std::vector<double> Linspace(double lo, double hi, int n);

// All (a, b) pairs, a-major: row i * b.size() + j is (a[i], b[j]).
RowMatrixXd Grid2d(const std::vector<double>& a, const std::vector<double>& b);

// Parses a "--<flag>=min,max" value with min < max.
absl::StatusOr<std::pair<double, double>> ParseRange(const std::string& text,
                                                     const char* flag);

struct GridResult {
  RowMatrixXd thetas;             // rows = grid points
  std::vector<double> meta_loss;  // mean over keys of the full-unroll sum
  int argmin = -1;                // row of the smallest finite meta-loss
  double seconds = 0.0;
};

// Needs a finite horizon, at least one key and max_batch >= 1.
absl::StatusOr<GridResult> EvaluateGrid(const UnrolledProblem& problem,
                                        const RowMatrixXd& thetas,
                                        const std::vector<uint64_t>& keys,
                                        int max_batch, bool progress);

// Adds the grid table and settings (see the file comment).
absl::Status AddGridOutput(FigureRun& run, const GridResult& grid);

// The square grid of the 2-D toy figures (15, 25): grid_size x grid_size
// points over range x range, episode key 0, evaluated in one batch and added
// with AddGridOutput; nothing when grid_size is 0.
absl::Status AddSquareGrid(FigureRun& run, const UnrolledProblem& problem,
                           std::pair<double, double> range, int grid_size);

}  // namespace es::experiments

#endif  // ES_SINGLE_EXPERIMENTS_GRID_H_
