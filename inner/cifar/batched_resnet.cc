// batched_resnet.cc - see batched_resnet.h. Building the steps is in
// batched_resnet_forward.cc and batched_resnet_backward.cc.
#include "inner/cifar/batched_resnet.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <new>
#include <utility>

#include "absl/strings/str_cat.h"
#include "inner/cifar/batched_resnet_impl.h"
#include "inner/kernels/dnnl_status.h"

namespace es {

BatchedResNet::BatchedResNet(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}
BatchedResNet::~BatchedResNet() = default;

absl::StatusOr<std::unique_ptr<BatchedResNet>> BatchedResNet::Create(
    const ResNetConfig& config) {
  CIFAR_RETURN_IF_ERROR(config.Validate());
  auto impl = std::make_unique<Impl>();
  try {
    CIFAR_RETURN_IF_ERROR(impl->Init(config));
  } catch (const dnnl::error& e) {
    return DnnlStatusToStatus(e.status, e.what(), impl->context);
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError(
        absl::StrCat("out of memory while ", impl->context));
  }
  return std::unique_ptr<BatchedResNet>(new BatchedResNet(std::move(impl)));
}

const ResNetConfig& BatchedResNet::config() const { return impl_->config; }

absl::Status BatchedResNet::SetActiveChannels(
    absl::Span<const int32_t> active) {
  CIFAR_RETURN_IF_ERROR(ValidateActiveChannels(impl_->config, active));
  std::copy(active.begin(), active.end(), impl_->active.begin());
  impl_->has_masks = true;
  return absl::OkStatus();
}

void BatchedResNet::ClearActiveChannels() { impl_->has_masks = false; }

absl::Status BatchedResNet::Forward(absl::Span<const float> params,
                                    absl::Span<const float> inputs,
                                    absl::Span<const int32_t> labels,
                                    absl::Span<double> loss) {
  Impl& m = *impl_;
  m.has_forward = false;
  CIFAR_RETURN_IF_ERROR(
      ValidateResNetBatch(m.config, params.size(), inputs.size(), labels));
  if (static_cast<int64_t>(loss.size()) != m.config.num_particles) {
    return absl::InvalidArgumentError(
        absl::StrCat("loss has ", loss.size(), " entries; ",
                     m.config.DebugString(), " needs N"));
  }
  CIFAR_RETURN_IF_ERROR(m.steps->BindAll(
      {params.data(), nullptr, inputs.data(), nullptr, nullptr}));
  m.FillScaleShift(params.data());
  CIFAR_RETURN_IF_ERROR(m.Run(m.fwd));
  m.Loss(labels.data(), loss.data());
  m.has_forward = true;
  m.forward_params = params.data();
  m.forward_inputs = inputs.data();
  return absl::OkStatus();
}

absl::Status BatchedResNet::Backward(absl::Span<const float> params,
                                     absl::Span<const float> inputs,
                                     absl::Span<float> grads) {
  Impl& m = *impl_;
  if (!m.has_forward || params.data() != m.forward_params ||
      inputs.data() != m.forward_inputs) {
    return absl::FailedPreconditionError(
        "BatchedResNet::Backward needs a training-mode Forward() on the same "
        "params and inputs arrays first");
  }
  if (static_cast<int64_t>(grads.size()) != m.config.num_params()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "grads has ", grads.size(), " floats; ", m.config.DebugString(),
        " needs ", m.config.num_params()));
  }
  CIFAR_RETURN_IF_ERROR(m.steps->BindAll(
      {params.data(), grads.data(), inputs.data(), nullptr, nullptr}));
  return m.Run(m.bwd);
}

absl::Status BatchedResNet::ForwardBackward(absl::Span<const float> params,
                                            absl::Span<const float> inputs,
                                            absl::Span<const int32_t> labels,
                                            absl::Span<double> loss,
                                            absl::Span<float> grads) {
  CIFAR_RETURN_IF_ERROR(Forward(params, inputs, labels, loss));
  return Backward(params, inputs, grads);
}

absl::Status BatchedResNet::ForwardInference(
    absl::Span<const float> params, absl::Span<const float> inputs,
    absl::Span<const int32_t> labels, absl::Span<const float> mean,
    absl::Span<const float> variance, absl::Span<double> loss) {
  Impl& m = *impl_;
  m.has_forward = false;
  CIFAR_RETURN_IF_ERROR(
      ValidateResNetBatch(m.config, params.size(), inputs.size(), labels));
  if (static_cast<int64_t>(mean.size()) != m.config.stats_size() ||
      static_cast<int64_t>(variance.size()) != m.config.stats_size() ||
      static_cast<int64_t>(loss.size()) != m.config.num_particles) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ForwardInference: mean / variance / loss have ", mean.size(), " / ",
        variance.size(), " / ", loss.size(), " entries; ",
        m.config.DebugString(), " needs ", m.config.stats_size(), " / ",
        m.config.stats_size(), " / ", m.config.num_particles));
  }
  CIFAR_RETURN_IF_ERROR(m.steps->BindAll({params.data(), nullptr,
                                          inputs.data(), mean.data(),
                                          variance.data()}));
  m.FillScaleShift(params.data());
  CIFAR_RETURN_IF_ERROR(m.Run(m.inf));
  m.Loss(labels.data(), loss.data());
  return absl::OkStatus();
}

absl::Span<const float> BatchedResNet::batch_mean() const {
  return absl::Span<const float>(
      static_cast<const float*>(impl_->stats_mean.get_data_handle()),
      impl_->config.stats_size());
}

absl::Span<const float> BatchedResNet::batch_variance() const {
  return absl::Span<const float>(
      static_cast<const float*>(impl_->stats_var.get_data_handle()),
      impl_->config.stats_size());
}

absl::Span<const float> BatchedResNet::logits() const {
  return absl::Span<const float>(
      static_cast<const float*>(impl_->logits.get_data_handle()),
      impl_->config.logits_size());
}

int64_t BatchedResNet::allocated_bytes() const {
  return impl_->steps->owned_bytes();
}

int64_t BatchedResNet::EstimateBytes(const ResNetConfig& c) {
  // Every count in floats, in double (no overflow for any N), for the
  // buffers Impl::Init / BuildBackward own. Channel counts are rounded up
  // to oneDNN's block of 16 (nChw16c activations, gOIhw16i16o weights), an
  // upper bound for its plain layouts too.
  auto c16 = [](double x) { return std::ceil(x / 16.0) * 16.0; };
  const double N = static_cast<double>(c.num_particles);
  const double B = static_cast<double>(c.batch_size);
  const bool shared = c.input_mode == InputMode::kShared;
  double act_max = 0.0, floats = 0.0, weights_max = 0.0;
  // The (reordered) input of conv 0.
  const double S = static_cast<double>(c.image_size);
  floats += B * c16((shared ? 1.0 : N) * c.in_channels) * S * S;
  for (int l = 0; l < kResNetConvLayers; ++l) {
    const double hw = static_cast<double>(c.conv_size(l)) * c.conv_size(l);
    const double act = B * c16(N * c.conv_out(l)) * hw;
    const double w = N * c16(c.conv_out(l)) * c16(c.conv_in(l)) * 9.0;
    act_max = std::max(act_max, act);
    weights_max = std::max(weights_max, w);
    // z and a (+ oneDNN's batch-norm workspace, a byte per element), the
    // forward, backward-data and weight-gradient weight formats, scale
    // and shift.
    floats += 2.0 * act + act / 4.0 + 3.0 * w + 2.0 * N * c.conv_out(l);
    // Pools after convs 1, 4, 5 (2x2): destination and workspace; the adds
    // after convs 3 and 7: output and a reordered second input.
    if (l == 1 || l == 4 || l == 5) floats += 2.0 * act / 4.0;
    if (l == 3 || l == 7) floats += 2.0 * act;
  }
  // Batch statistics; global pool, features and logits and their
  // gradients.
  const double F = static_cast<double>(c.fc_in()), C = c.num_classes;
  floats += 2.0 * c.stats_size() + 6.0 * B * c16(N * F) + 2.0 * N * B * C;
  // The gradient-buffer pool (4 buffers, each as large as the largest
  // tracked tensor: an activation or a reordered weight) and the
  // scratchpad (per-thread weight-gradient reduction buffers of the largest
  // layer, and as much again for other primitives).
  const double threads = std::max(1, omp_get_max_threads());
  floats += 4.0 * std::max(act_max, weights_max) +
            2.0 * threads * weights_max + act_max;
  // Each buffer is rounded up to 64 bytes (at most ~100 buffers).
  const double bytes = 4.0 * floats + 100.0 * 64.0;
  return bytes >= 9.0e18 ? std::numeric_limits<int64_t>::max()
                         : static_cast<int64_t>(bytes);
}

std::string BatchedResNet::ImplementationInfo() const {
  std::string out;
  for (const cifar_internal::StepSequence* seq : {&impl_->fwd, &impl_->bwd}) {
    for (const cifar_internal::Step& s : *seq) {
      absl::StrAppend(&out, out.empty() ? "" : " ", s.name, "=", s.impl);
    }
  }
  return out;
}

}  // namespace es
