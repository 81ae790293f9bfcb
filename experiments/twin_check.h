// twin_check.h - checks that a batched inner problem (inner/*.h, used by the
// ES estimators and for every meta-loss evaluation in the figures) and its
// differentiable twin (inner/diff/*.h, used by TBPTT, RTRL, UORO and DODGE)
// compute the same meta-loss. The two are written independently on purpose;
// the figures compare methods trained on different twins, so the figure
// binaries run this at start-up and experiments/twin_check_test.cc pins it.
//
// For each probe theta it compares
//   batched.Evaluate(theta, length, key = 0)
//   DifferentiableUnrolledProblem(&twin).Evaluate(theta, length, key = 0)
// (both: sum of the per-step losses of a fresh unroll) and fails when
// |a - b| > rtol * max(|a|, |b|) + 1e-12.
//
// Tolerances: where the meta-loss is smooth in theta the two agree to
// rounding (rtol around 1e-12). In the chaotic region of the toy 2D task
// rounding differences (FMA, vector width) are amplified: at theta = (1, -2)
// a 1e-15 change of theta_0 moves the meta-loss by 2e-7 relative, so probes
// there need rtol around 1e-5.
//
// Usage:
//   Toy2d batched;  Toy2dDiff twin;
//   auto s = CheckTwinsAgree(batched, twin, {{Eigen::Vector2d(-2, -3), 1e-12}}, 0);
#ifndef ES_SINGLE_EXPERIMENTS_TWIN_CHECK_H_
#define ES_SINGLE_EXPERIMENTS_TWIN_CHECK_H_

#include <cstdint>
#include <vector>

#include <Eigen/Dense>

#include "absl/status/status.h"
#include "estimators/gradient/differentiable_problem.h"
#include "estimators/unrolled_problem.h"

namespace es::experiments {

struct TwinProbe {
  Eigen::VectorXd theta;
  double rtol = 1e-12;
};

// OK, or the first probe where the two meta-losses differ (both values, the
// theta and the tolerance). `length` as in UnrolledProblem::Evaluate (<= 0:
// the horizon T; must be > 0 for a never-ending problem).
absl::Status CheckTwinsAgree(const UnrolledProblem& batched,
                             const DifferentiableProblem& twin,
                             const std::vector<TwinProbe>& probes,
                             int64_t length);

}  // namespace es::experiments

#endif  // ES_SINGLE_EXPERIMENTS_TWIN_CHECK_H_
