// mlp_hpo_config.cc - see mlp_hpo_config.h.
#include "inner/mlp/mlp_hpo_config.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace es {

absl::Status MlpHpoConfig::Validate() const {
  if (hidden_sizes.empty()) {
    return absl::InvalidArgumentError(
        "mlp_hpo: hidden_sizes must name at least one hidden layer");
  }
  for (int64_t h : hidden_sizes) {
    if (h < 1 || h > (int64_t{1} << 16)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "mlp_hpo: every hidden size must be in [1, 65536], got ",
          absl::StrJoin(hidden_sizes, ",")));
    }
  }
  if (num_classes < 2) {
    return absl::InvalidArgumentError(absl::StrCat(
        "mlp_hpo: num_classes must be >= 2, got ", num_classes));
  }
  if (batch_size < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("mlp_hpo: batch_size must be >= 1, got ", batch_size));
  }
  if (horizon < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("mlp_hpo: horizon T must be >= 1, got ", horizon));
  }
  if (!(schedule_q > 0) || !std::isfinite(schedule_q)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "mlp_hpo: schedule_q (Q) must be finite and > 0, got ", schedule_q));
  }
  if (!(fixed_momentum >= 0 && fixed_momentum < 1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "mlp_hpo: fixed_momentum must be in [0, 1), got ", fixed_momentum));
  }
  if (min_units < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("mlp_hpo: min_units must be >= 1, got ", min_units));
  }
  if (measure_batch_size < batch_size ||
      measure_batch_size % batch_size != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "mlp_hpo: measure_batch_size must be a positive multiple of "
        "batch_size = ", batch_size, ", got ", measure_batch_size));
  }
  return absl::OkStatus();
}

MlpHpoConfig MlpHpoConfig::ManyHyperparameters() {
  MlpHpoConfig c;
  c.hidden_sizes = {100, 100, 100, 100, 100};
  c.horizon = 1000;
  c.parametrization = Parametrization::kPerBlock;
  c.objective = Objective::kSumValidationLoss;
  return c;
}

MlpHpoConfig MlpHpoConfig::LrSchedule() { return MlpHpoConfig(); }

}  // namespace es
