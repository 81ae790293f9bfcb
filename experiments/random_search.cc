// random_search.cc - see random_search.h.
#include "experiments/random_search.h"

#include <chrono>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "experiments/grid.h"

namespace es::experiments {

MethodEntry RandomSearchMethod(ThetaSampler sample, int64_t configs,
                               int batch) {
  MethodEntry e;
  e.name = "random_search";
  e.description = "random search over the problem's initial-theta distribution";
  e.uses_particles = false;
  e.runner = [sample, configs, batch](const CustomRunContext& c)
      -> absl::StatusOr<CustomRunResult> {
    if (configs < 1 || batch < 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "random search needs configs >= 1 and batch >= 1, got ", configs,
          " and ", batch));
    }
    const auto start = std::chrono::steady_clock::now();
    RowMatrixXd thetas(configs, c.problem->theta_dim());
    for (int64_t i = 0; i < configs; ++i) {
      thetas.row(i) = sample(c.settings.seed, i).transpose();
    }
    auto grid = EvaluateGrid(*c.problem, thetas, {c.meta.eval_key}, batch,
                             c.meta.progress);
    if (!grid.ok()) return grid.status();
    CustomRunResult r;
    const int64_t T = c.problem->horizon();
    int64_t best = -1;
    for (int64_t i = 0; i < configs; ++i) {
      const double loss = grid->meta_loss[i];
      r.trace.push_back({i + 1, (i + 1) * T, loss, thetas.row(i).transpose()});
      if (std::isfinite(loss) && (best < 0 || loss < grid->meta_loss[best])) {
        best = i;
      }
    }
    r.final_theta = thetas.row(best < 0 ? 0 : best).transpose();
    r.final_meta_loss = best < 0 ? std::nan("") : grid->meta_loss[best];
    r.iterations = configs;
    r.particle_steps = configs * T;
    r.wall_seconds = std::chrono::duration<double>(
                         std::chrono::steady_clock::now() - start).count();
    r.seconds_per_estimate = r.wall_seconds / configs;
    return r;
  };
  return e;
}

}  // namespace es::experiments
