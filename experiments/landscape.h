// landscape.h - the meta-loss landscape of a problem with two outer
// parameters on a regular grid, for the heatmaps of Fig. 15 and Fig. 25
// (toy 2D regression): a tidy CSV theta_0,theta_1,meta_loss with one row per
// grid point, theta_0 varying slowest.
//
// Grid: size points per axis over [lo, hi] on both axes (spacing
// (hi - lo) / (size - 1); size = 1 gives the single point lo). All size^2
// points are unrolled as one batch of particles for the full horizon T from
// a fresh state (episode key 0), so the meta-loss at a grid point equals
// problem.Evaluate(theta, 0, 0).
//
// Usage:
//   Toy2d problem;
//   auto s = WriteLandscapeGrid(problem, 241, -8.0, 4.0, dir + "/grid.csv");
#ifndef ES_SINGLE_EXPERIMENTS_LANDSCAPE_H_
#define ES_SINGLE_EXPERIMENTS_LANDSCAPE_H_

#include <string>

#include "absl/status/status.h"
#include "estimators/unrolled_problem.h"

namespace es::experiments {

// Fails if the problem does not have P = 2 and a finite horizon, if size is
// outside [1, 2000] or !(lo < hi), or if the file cannot be written.
absl::Status WriteLandscapeGrid(const UnrolledProblem& problem, int size,
                                double lo, double hi, const std::string& path);

}  // namespace es::experiments

#endif  // ES_SINGLE_EXPERIMENTS_LANDSCAPE_H_
