// batched_resnet_impl.h - the private state of BatchedResNet
// (batched_resnet.h) and the helpers its three source files share:
// batched_resnet_forward.cc builds the forward and inference steps,
// batched_resnet_backward.cc the backward steps, batched_resnet.cc runs
// them. Internal to inner/cifar.
#ifndef ES_SINGLE_INNER_CIFAR_BATCHED_RESNET_IMPL_H_
#define ES_SINGLE_INNER_CIFAR_BATCHED_RESNET_IMPL_H_

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "inner/cifar/batched_resnet.h"
#include "inner/cifar/channel_batch_norm.h"
#include "inner/cifar/dnnl_steps.h"
#include "oneapi/dnnl/dnnl.hpp"

namespace es {
namespace cifar_internal {

using dnnl::memory;
using Dims = memory::dims;
using Dt = memory::data_type;
using Tag = memory::format_tag;

inline memory::desc Flat(int64_t n) { return memory::desc({n}, Dt::f32, Tag::a); }

// The buffer behind a memory object (for bound memories: the array bound
// by the current call).
inline float* Ptr(const memory& m) { return static_cast<float*>(m.get_data_handle()); }

// Row-major [d0, d1, d2], and the [d0, rows, cols] view of a row-major
// [d0, cols, rows] array.
inline memory::desc Plain(int64_t d0, int64_t d1, int64_t d2) {
  return memory::desc({d0, d1, d2}, Dt::f32, Dims{d1 * d2, d2, 1});
}
inline memory::desc Transposed(int64_t d0, int64_t rows, int64_t cols) {
  return memory::desc({d0, rows, cols}, Dt::f32, Dims{rows * cols, 1, rows});
}

inline dnnl::normalization_flags BnFlags() {
  return dnnl::normalization_flags::use_scale |
         dnnl::normalization_flags::use_shift |
         dnnl::normalization_flags::fuse_norm_relu;
}

// Forward objects of conv l + its batch norm.
struct ConvBn {
  memory producer;  // the input as the previous layer left it
  memory src;       // the input in the convolution's format
  memory user_w;    // caller's weights (goihw / oihw)
  memory wei;       // weights in the convolution's format
  memory z, a, mean, var, ws, scale, shift;
  ChannelLayout layout;  // of z and a (BatchNormImpl::kDeterministic)
  dnnl::convolution_forward::primitive_desc conv_pd;
  dnnl::batch_normalization_forward::primitive_desc bn_pd;
};

struct Pool {
  memory src, dst, ws;
  int64_t k = 0;
  dnnl::pooling_forward::primitive_desc pd;
};

// A gradient tensor in a pooled buffer (index -1: not pooled).
struct Diff {
  memory mem;
  int index = -1;
};

inline const Dims kStrides = {1, 1};
inline const Dims kPad = {1, 1};


}  // namespace cifar_internal

struct BatchedResNet::Impl {
  using ConvBn = cifar_internal::ConvBn;
  using Pool = cifar_internal::Pool;
  using Diff = cifar_internal::Diff;
  using Step = cifar_internal::Step;
  using StepList = cifar_internal::StepList;
  using StepSequence = cifar_internal::StepSequence;
  using BufferPool = cifar_internal::BufferPool;
  using memory = dnnl::memory;

  ResNetConfig config;
  std::string debug_string;  // config.DebugString(), built once
  std::string context;
  absl::Status deferred;  // a failure found while building (not a throw)
  std::unique_ptr<StepList> steps;
  std::unique_ptr<BufferPool> pool;
  StepSequence fwd, inf, bwd;
  std::array<ConvBn, kResNetConvLayers> layers;
  memory stats_mean, stats_var, logits, dlogits;
  int64_t max_bytes = 0;

  std::vector<int32_t> active;
  bool has_masks = false;
  bool has_forward = false;
  const float* forward_params = nullptr;
  const float* forward_inputs = nullptr;

  absl::Status Init(const ResNetConfig& c);
  void Both(Step step) {
    fwd.push_back(step);
    inf.push_back(std::move(step));
  }
  memory ConvertBoth(const memory& from, const memory::desc& md,
                     const std::string& name);
  memory Track(memory m) {
    max_bytes = std::max<int64_t>(max_bytes, m.get_desc().get_size());
    return m;
  }
  memory BuildConvBn(int l, const memory& producer);
  Pool BuildPool(const memory& src, int64_t k, const std::string& name);
  memory BuildAdd(const memory& x, const memory& y, const std::string& name);
  void BuildBackward(const Pool& p1, const Pool& p2, const Pool& p3,
                     const Pool& g, const memory& gr);
  Diff Take(const memory::desc& md) {
    Diff d;
    d.mem = pool->Take(md, &d.index);
    return d;
  }
  void Give(const Diff& d) {
    if (d.index >= 0) pool->Give(d.index);
  }
  Diff As(const Diff& d, const memory::desc& md, const std::string& name);
  Diff PoolBack(const Pool& p, const Diff& ddst, const std::string& name);
  Diff ConvBnBack(int l, const Diff& da, bool need_dx);
  void AddInPlace(const Diff& x, const Diff& y, const std::string& name);

  absl::Status Run(const StepSequence& seq) {
    for (const Step& s : seq) {
      CIFAR_RETURN_IF_ERROR(steps->Execute(s, debug_string));
    }
    return absl::OkStatus();
  }
  void FillScaleShift(const float* params);
  void Loss(const int32_t* labels, double* loss);
};

}  // namespace es

#endif  // ES_SINGLE_INNER_CIFAR_BATCHED_RESNET_IMPL_H_
