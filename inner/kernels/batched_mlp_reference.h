// batched_mlp_reference.h - naive double-precision reference for the batched
// MLP kernel (batched_mlp.h): same maths, same layout (batched_mlp_layout.h),
// one particle at a time with Eigen, no fusion, no oneDNN. For tests only.
//
// Paper: Vicol et al., ICML 2023 (ES-Single), Sec. 6 inner problems.
//
// Maths, per particle i (H_0 = X, B examples, row = example):
//   Z_{l+1} = H_l W_l + 1 b_l^T;  H_{l+1} = mask_k(relu(Z_{l+1})) (hidden)
//   loss    = (1/B) sum_b [logsumexp(Z_L[b,:]) - Z_L[b, y_b]]
//   dZ_L    = (softmax(Z_L) - onehot(y)) / B
//   dW_l    = H_l^T dZ_{l+1};  db_l = 1^T dZ_{l+1}
//   dZ_l    = (dZ_{l+1} W_l^T) .* [H_l > 0]
//
// Usage:
//   absl::StatusOr<BatchedMlpReferenceResult> ref = BatchedMlpReference(
//       config, params_double, inputs_double, labels, /*active_units=*/{});
//   EXPECT_NEAR(loss_from_kernel[i], ref->loss[i], tolerance);
#ifndef ES_SINGLE_INNER_KERNELS_BATCHED_MLP_REFERENCE_H_
#define ES_SINGLE_INNER_KERNELS_BATCHED_MLP_REFERENCE_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "inner/kernels/batched_mlp_layout.h"

namespace es {

struct BatchedMlpReferenceResult {
  std::vector<double> loss;    // [N]
  std::vector<double> logits;  // [N, B, d_L]
  std::vector<double> grads;   // same layout as params
};

// `active_units` empty means every unit is active; otherwise [N, L-1].
absl::StatusOr<BatchedMlpReferenceResult> BatchedMlpReference(
    const BatchedMlpConfig& config, absl::Span<const double> params,
    absl::Span<const double> inputs, absl::Span<const int32_t> labels,
    absl::Span<const int32_t> active_units);

// Loss only (no gradient); for finite differences.
absl::StatusOr<std::vector<double>> BatchedMlpReferenceLoss(
    const BatchedMlpConfig& config, absl::Span<const double> params,
    absl::Span<const double> inputs, absl::Span<const int32_t> labels,
    absl::Span<const int32_t> active_units);

}  // namespace es

#endif  // ES_SINGLE_INNER_KERNELS_BATCHED_MLP_REFERENCE_H_
