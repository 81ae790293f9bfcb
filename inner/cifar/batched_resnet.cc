// batched_resnet.cc - see batched_resnet.h. Building the steps is in
// batched_resnet_forward.cc and batched_resnet_backward.cc.
#include "inner/cifar/batched_resnet.h"

#include <algorithm>
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
