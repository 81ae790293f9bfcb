// batched_mlp_reference.cc - see batched_mlp_reference.h.
#include "inner/kernels/batched_mlp_reference.h"

#include <cmath>

#include "Eigen/Core"
#include "absl/strings/str_cat.h"

namespace es {
namespace {

using Matrix =
    Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstMap = Eigen::Map<const Matrix>;
using Map = Eigen::Map<Matrix>;

absl::Status Run(const BatchedMlpConfig& config,
                 absl::Span<const double> params,
                 absl::Span<const double> inputs,
                 absl::Span<const int32_t> labels,
                 absl::Span<const int32_t> active_units, bool with_grads,
                 BatchedMlpReferenceResult* out) {
  if (absl::Status s = config.Validate(); !s.ok()) return s;
  if (absl::Status s =
          ValidateBatch(config, params.size(), inputs.size(), labels);
      !s.ok()) {
    return s;
  }
  if (!active_units.empty()) {
    if (absl::Status s = ValidateActiveUnits(config, active_units); !s.ok()) {
      return s;
    }
  }
  const int L = config.num_layers();
  const int64_t N = config.num_particles;
  const int64_t B = config.batch_size;
  const int64_t C = config.num_classes();
  const std::vector<int64_t>& d = config.layer_sizes;
  const bool shared = config.input_mode == InputMode::kShared;

  out->loss.assign(N, 0.0);
  out->logits.assign(N * B * C, 0.0);
  out->grads.assign(with_grads ? params.size() : 0, 0.0);

  std::vector<Matrix> h(L + 1);  // h[0] = X, h[l] = output of layer l-1
  for (int64_t i = 0; i < N; ++i) {
    h[0] = ConstMap(inputs.data() + (shared ? 0 : i * B * d[0]), B, d[0]);
    const int32_t* y = labels.data() + (shared ? 0 : i * B);
    for (int l = 0; l < L; ++l) {
      ConstMap w(params.data() + config.weight_offset(l) +
                     i * config.weight_size_per_particle(l),
                 d[l], d[l + 1]);
      Eigen::Map<const Eigen::RowVectorXd> b(
          params.data() + config.bias_offset(l) + i * d[l + 1], d[l + 1]);
      h[l + 1] = (h[l] * w).rowwise() + b;
      if (l + 1 < L) {
        h[l + 1] = h[l + 1].cwiseMax(0.0);
        const int64_t k =
            active_units.empty() ? d[l + 1] : active_units[i * (L - 1) + l];
        h[l + 1].rightCols(d[l + 1] - k).setZero();
      }
    }
    // Softmax cross-entropy, mean over the minibatch.
    const Matrix& z = h[L];
    Map(out->logits.data() + i * B * C, B, C) = z;
    Matrix dz(B, C);
    double sum = 0.0;
    for (int64_t r = 0; r < B; ++r) {
      const double max = z.row(r).maxCoeff();
      const Eigen::RowVectorXd e = (z.row(r).array() - max).exp().matrix();
      const double total = e.sum();
      sum += max + std::log(total) - z(r, y[r]);
      dz.row(r) = e / (total * static_cast<double>(B));
      dz(r, y[r]) -= 1.0 / static_cast<double>(B);
    }
    out->loss[i] = sum / static_cast<double>(B);
    if (!with_grads) continue;

    for (int l = L - 1; l >= 0; --l) {
      Map(out->grads.data() + config.weight_offset(l) +
              i * config.weight_size_per_particle(l),
          d[l], d[l + 1]) = h[l].transpose() * dz;
      Eigen::Map<Eigen::RowVectorXd>(
          out->grads.data() + config.bias_offset(l) + i * d[l + 1], d[l + 1]) =
          dz.colwise().sum();
      if (l == 0) break;
      ConstMap w(params.data() + config.weight_offset(l) +
                     i * config.weight_size_per_particle(l),
                 d[l], d[l + 1]);
      Matrix dh = dz * w.transpose();
      // ReLU derivative; masked units hold 0 and so get 0 as well.
      dz = dh.cwiseProduct((h[l].array() > 0.0).cast<double>().matrix());
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<BatchedMlpReferenceResult> BatchedMlpReference(
    const BatchedMlpConfig& config, absl::Span<const double> params,
    absl::Span<const double> inputs, absl::Span<const int32_t> labels,
    absl::Span<const int32_t> active_units) {
  BatchedMlpReferenceResult result;
  if (absl::Status s = Run(config, params, inputs, labels, active_units,
                           /*with_grads=*/true, &result);
      !s.ok()) {
    return s;
  }
  return result;
}

absl::StatusOr<std::vector<double>> BatchedMlpReferenceLoss(
    const BatchedMlpConfig& config, absl::Span<const double> params,
    absl::Span<const double> inputs, absl::Span<const int32_t> labels,
    absl::Span<const int32_t> active_units) {
  BatchedMlpReferenceResult result;
  if (absl::Status s = Run(config, params, inputs, labels, active_units,
                           /*with_grads=*/false, &result);
      !s.ok()) {
    return s;
  }
  return std::move(result.loss);
}

}  // namespace es
