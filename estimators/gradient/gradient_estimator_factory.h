// gradient_estimator_factory.h - builds the gradient-based baselines for a
// DifferentiableProblem by method name (the names used in CSV files):
//
//   tbptt_k<K>  truncated BPTT with truncation K (e.g. tbptt_k1,
//               tbptt_k10, tbptt_k100; K from the name)          tbptt.h
//   tbptt       the same with K = spec.truncation                  tbptt.h
//   rtrl        real-time recurrent learning (exact forward mode)  rtrl.h
//   uoro        unbiased online recurrent optimisation             uoro.h
//   dodge       directional forward gradients (App. C.6)           dodge.h
//
// Every estimator advances one trajectory by K = spec.truncation steps per
// Step (for tbptt_k<K>, by the K of its name) and returns that unroll's
// gradient estimate; all are GradientEstimators (estimators/estimator.h), so
// RunMetaTraining (meta_trainer.h) drives them like the ES estimators.
//
// Usage:
//   GradientEstimatorSpec spec;  spec.method = "tbptt_k10";
//   auto est = MakeGradientEstimator(&problem, spec);
#ifndef ES_SINGLE_ESTIMATORS_GRADIENT_GRADIENT_ESTIMATOR_FACTORY_H_
#define ES_SINGLE_ESTIMATORS_GRADIENT_GRADIENT_ESTIMATOR_FACTORY_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "estimators/estimator.h"
#include "estimators/gradient/differentiable_problem.h"
#include "estimators/gradient/dodge.h"

namespace es {

struct GradientEstimatorSpec {
  std::string method = "rtrl";
  int truncation = 1;      // K (ignored by tbptt_k<K>, whose name gives K)
  uint64_t seed = 0;       // uoro, dodge
  double uoro_epsilon = 1e-7;
  int num_directions = 1;  // dodge: D
  Stream direction_stream = Stream::kDirection;  // dodge
  DirectionProvider direction_provider;          // dodge (optional)
};

// The method names MakeGradientEstimator accepts ("tbptt_k<K>" stands for
// any K >= 1).
const std::vector<std::string>& GradientMethodNames();

absl::StatusOr<std::unique_ptr<GradientEstimator>> MakeGradientEstimator(
    const DifferentiableProblem* problem, const GradientEstimatorSpec& spec);

}  // namespace es

#endif  // ES_SINGLE_ESTIMATORS_GRADIENT_GRADIENT_ESTIMATOR_FACTORY_H_
