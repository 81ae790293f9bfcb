// mlp_hpo_config.h - the configuration of the MLP hyperparameter problem
// (mlp_hpo.h): network shape, minibatch size, horizon, how theta is read
// (Parametrization, decoded by mlp_hpo_codec.h) and which losses the
// objective sums. Its own target so that the codec, the workspaces and the
// hypergradient baseline can name it without depending on the problem.
#ifndef ES_SINGLE_INNER_MLP_MLP_HPO_CONFIG_H_
#define ES_SINGLE_INNER_MLP_MLP_HPO_CONFIG_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"

namespace es {

struct MlpHpoConfig {
  enum class Parametrization { kLrSchedule, kGlobalLr, kPerBlock };
  enum class Objective { kSumTrainLoss, kSumValidationLoss };

  // Maximum units of each hidden layer (2x100: Figs. 7, 8, 19; 5x100: Fig. 9).
  std::vector<int64_t> hidden_sizes = {100, 100};
  int64_t num_classes = 10;
  int64_t batch_size = 100;  // B (App. C: 100)
  int64_t horizon = 5000;    // T (App. C: 5000 for the LR schedule, 1000 Fig. 9)
  Parametrization parametrization = Parametrization::kLrSchedule;
  Objective objective = Objective::kSumTrainLoss;
  double schedule_q = 5000.0;   // Q of the LR schedule (Sec. 4.2)
  double fixed_momentum = 0.9;  // kLrSchedule, kGlobalLr (App. C: 0.9)
  int64_t min_units = 10;       // kPerBlock widths (Sec. 4.2: 10-100)
  // Size of the fixed per-inner-problem minibatch MeasureLoss uses (App. C:
  // 1000); must be a multiple of batch_size.
  int64_t measure_batch_size = 1000;

  // Says which value is wrong and what is allowed.
  absl::Status Validate() const;

  // The 5x100 MLP, 29 hyperparameters, T = 1000, sum of validation losses
  // (Fig. 9, App. C "Tuning Many Hyperparameters").
  static MlpHpoConfig ManyHyperparameters();
  // The 2x100 MLP, LR schedule, T = 5000, Q = 5000, momentum 0.9 (Figs. 7, 8).
  static MlpHpoConfig LrSchedule();
};

}  // namespace es

#endif  // ES_SINGLE_INNER_MLP_MLP_HPO_CONFIG_H_
