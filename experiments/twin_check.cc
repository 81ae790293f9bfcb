#include "experiments/twin_check.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "estimators/gradient/unrolled_adapter.h"
#include "experiments/figure_io.h"

namespace es::experiments {

absl::Status CheckTwinsAgree(const UnrolledProblem& batched,
                             const DifferentiableProblem& twin,
                             const std::vector<TwinProbe>& probes,
                             int64_t length) {
  if (batched.theta_dim() != twin.theta_dim() ||
      batched.horizon() != twin.horizon()) {
    return absl::InternalError(absl::StrCat(
        "problem '", batched.name(), "' (P = ", batched.theta_dim(), ", T = ",
        batched.horizon(), ") and its differentiable twin '", twin.name(),
        "' (P = ", twin.theta_dim(), ", T = ", twin.horizon(),
        ") have different shapes"));
  }
  DifferentiableUnrolledProblem adapter(&twin);
  for (const TwinProbe& probe : probes) {
    auto a = batched.Evaluate(probe.theta, length, 0);
    if (!a.ok()) return a.status();
    auto b = adapter.Evaluate(probe.theta, length, 0);
    if (!b.ok()) return b.status();
    const double scale = std::max(std::fabs(*a), std::fabs(*b));
    if (!(std::fabs(*a - *b) <= probe.rtol * scale + 1e-12)) {
      std::vector<std::string> theta;
      for (int i = 0; i < probe.theta.size(); ++i) {
        theta.push_back(FormatDouble(probe.theta[i]));
      }
      return absl::InternalError(absl::StrCat(
          "inner problem '", batched.name(),
          "' and its differentiable twin disagree at theta = (",
          absl::StrJoin(theta, ", "), "): meta-loss ", FormatDouble(*a),
          " vs ", FormatDouble(*b), " (relative tolerance ",
          FormatDouble(probe.rtol), ")"));
    }
  }
  return absl::OkStatus();
}

}  // namespace es::experiments
