// optimizer.h - outer optimisers that turn gradient estimates into theta
// updates: SGD with (heavy-ball) momentum and Adam (Kingma & Ba, 2015).
//
//   SGD:  v <- mu v + g;            theta <- theta - lr v
//   Adam: m <- b1 m + (1-b1) g;     v <- b2 v + (1-b2) g^2;
//         theta <- theta - lr (m / (1-b1^k)) / (sqrt(v / (1-b2^k)) + eps)
//
// A non-finite gradient is rejected (the estimators never produce one; see
// online_es.h), so theta stays finite.
//
// Usage:
//   auto opt = MakeOptimizer(OptimizerOptions{.kind = "adam", .learning_rate = 1e-2}, P);
//   absl::Status s = (*opt)->Update(gradient, &theta);
#ifndef ES_SINGLE_ESTIMATORS_OPTIMIZER_H_
#define ES_SINGLE_ESTIMATORS_OPTIMIZER_H_

#include <memory>
#include <string>

#include <Eigen/Dense>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "estimators/state_io.h"

namespace es {

struct OptimizerOptions {
  std::string kind = "adam";  // "adam" or "sgd"
  double learning_rate = 1e-2;
  double momentum = 0.0;      // SGD only, in [0, 1)
  double beta1 = 0.9;         // Adam
  double beta2 = 0.999;       // Adam
  double epsilon = 1e-8;      // Adam

  absl::Status Validate() const;
};

class OuterOptimizer {
 public:
  virtual ~OuterOptimizer() = default;
  // theta <- theta - step(gradient). Fails (and leaves theta unchanged) if the
  // gradient has the wrong size or a non-finite entry.
  virtual absl::Status Update(const Eigen::VectorXd& gradient,
                              Eigen::VectorXd* theta) = 0;
  // Checkpointing: the optimiser's state (momentum, Adam's moments and step
  // count), restored exactly.
  virtual absl::Status Save(StateWriter* out) const = 0;
  virtual absl::Status Load(StateReader* in) = 0;
};

absl::StatusOr<std::unique_ptr<OuterOptimizer>> MakeOptimizer(
    const OptimizerOptions& options, int dim);

}  // namespace es

#endif  // ES_SINGLE_ESTIMATORS_OPTIMIZER_H_
