// batched_resnet.cc - see batched_resnet.h.
#include "inner/cifar/batched_resnet.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <new>
#include <utility>
#include <vector>

#include <omp.h>

#include "absl/strings/str_cat.h"
#include "estimators/check.h"
#include "inner/cifar/channel_batch_norm.h"
#include "inner/cifar/dnnl_steps.h"
#include "inner/kernels/dnnl_status.h"
#include "oneapi/dnnl/dnnl.hpp"

namespace es {
namespace {

using cifar_internal::BufferPool;
using cifar_internal::Source;
using cifar_internal::Step;
using cifar_internal::StepList;
using cifar_internal::StepSequence;
using dnnl::memory;
using Dims = memory::dims;
using Dt = memory::data_type;
using Tag = memory::format_tag;

memory::desc Flat(int64_t n) { return memory::desc({n}, Dt::f32, Tag::a); }

// The buffer behind a memory object (for bound memories: the array bound
// by the current call).
float* Ptr(const memory& m) { return static_cast<float*>(m.get_data_handle()); }

// Row-major [d0, d1, d2], and the [d0, rows, cols] view of a row-major
// [d0, cols, rows] array.
memory::desc Plain(int64_t d0, int64_t d1, int64_t d2) {
  return memory::desc({d0, d1, d2}, Dt::f32, Dims{d1 * d2, d2, 1});
}
memory::desc Transposed(int64_t d0, int64_t rows, int64_t cols) {
  return memory::desc({d0, rows, cols}, Dt::f32, Dims{rows * cols, 1, rows});
}

dnnl::normalization_flags BnFlags() {
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

const Dims kStrides = {1, 1};
const Dims kPad = {1, 1};

}  // namespace

struct BatchedResNet::Impl {
  ResNetConfig config;
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
      CIFAR_RETURN_IF_ERROR(steps->Execute(s, config.DebugString()));
    }
    return absl::OkStatus();
  }
  void FillScaleShift(const float* params);
  void Loss(const int32_t* labels, double* loss);
};

memory BatchedResNet::Impl::ConvertBoth(const memory& from,
                                        const memory::desc& md,
                                        const std::string& name) {
  if (from.get_desc() == md) return from;
  memory to = Track(steps->Owned(md));
  Both(steps->Reorder(from, to, name));
  return to;
}

memory BatchedResNet::Impl::BuildConvBn(int l, const memory& producer) {
  const ResNetConfig& c = config;
  const int64_t N = c.num_particles, B = c.batch_size, H = c.conv_size(l);
  const int64_t ci = c.conv_in(l), co = c.conv_out(l);
  const bool grouped = !(l == 0 && c.input_mode == InputMode::kShared);
  const std::string tag = absl::StrCat(l);
  context = absl::StrCat("creating conv ", l, " (", ResNetConfig::ConvName(l),
                         ") for ", c.DebugString());
  ConvBn& L = layers[l];
  const Dims src_dims = {B, (grouped ? N : 1) * ci, H, H};
  const Dims wei_dims =
      grouped ? Dims{N, co, ci, 3, 3} : Dims{N * co, ci, 3, 3};
  const Dims dst_dims = {B, N * co, H, H};
  const memory::desc user_md(wei_dims, Dt::f32,
                             grouped ? Tag::goihw : Tag::oihw);
  dnnl::convolution_forward::desc desc(
      dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct,
      memory::desc(src_dims, Dt::f32, Tag::any),
      memory::desc(wei_dims, Dt::f32, Tag::any),
      memory::desc(dst_dims, Dt::f32, Tag::any), kStrides, kPad, kPad);
  L.conv_pd = dnnl::convolution_forward::primitive_desc(desc, StepList::Attr(),
                                                        steps->engine());
  L.producer = producer;
  L.src = ConvertBoth(producer, L.conv_pd.src_desc(), "src" + tag);
  L.user_w = steps->Bound(user_md, Source::kParams, c.conv_weight_offset(l));
  L.wei = ConvertBoth(L.user_w, L.conv_pd.weights_desc(), "w" + tag);
  L.z = Track(steps->Owned(L.conv_pd.dst_desc()));
  Both(steps->MakeStep(L.conv_pd,
                       {{DNNL_ARG_SRC, L.src},
                        {DNNL_ARG_WEIGHTS, L.wei},
                        {DNNL_ARG_DST, L.z}},
                       "conv" + tag));

  context = absl::StrCat("creating batch norm ", l, " for ", c.DebugString());
  L.scale = steps->Owned(Flat(N * co));
  L.shift = steps->Owned(Flat(N * co));
  L.mean = steps->View(Flat(N * co), stats_mean, c.stats_offset(l));
  L.var = steps->View(Flat(N * co), stats_var, c.stats_offset(l));
  const memory run_mean =
      steps->Bound(Flat(N * co), Source::kRunMean, c.stats_offset(l));
  const memory run_var =
      steps->Bound(Flat(N * co), Source::kRunVar, c.stats_offset(l));
  if (c.batch_norm == BatchNormImpl::kDeterministic) {
    absl::StatusOr<ChannelLayout> layout = ChannelLayoutOf(L.z.get_desc());
    if (!layout.ok()) {
      deferred = absl::Status(layout.status().code(),
                              absl::StrCat(layout.status().message(), " while ",
                                           context));
      return L.z;
    }
    L.layout = *layout;
    L.a = Track(steps->Owned(L.z.get_desc()));
    const float eps = c.bn_epsilon;
    float* z = Ptr(L.z);
    float* a = Ptr(L.a);
    float* scale = Ptr(L.scale);
    float* shift = Ptr(L.shift);
    float* mean = Ptr(L.mean);
    float* var = Ptr(L.var);
    const ChannelLayout lay = L.layout;
    fwd.push_back(StepList::Callback(
        [=] { BatchNormReluForward(lay, z, scale, shift, eps, mean, var, a); },
        "bn" + tag));
    inf.push_back(StepList::Callback(
        [=] {
          BatchNormReluInference(lay, z, scale, shift, Ptr(run_mean),
                                 Ptr(run_var), eps, a);
        },
        "bn_inference" + tag));
    return L.a;
  }
  dnnl::batch_normalization_forward::desc bn_desc(
      dnnl::prop_kind::forward_training, L.z.get_desc(), c.bn_epsilon,
      BnFlags());
  L.bn_pd = dnnl::batch_normalization_forward::primitive_desc(
      bn_desc, StepList::Attr(), steps->engine());
  L.a = Track(steps->Owned(L.bn_pd.dst_desc()));
  L.ws = steps->Owned(L.bn_pd.workspace_desc());
  fwd.push_back(steps->MakeStep(L.bn_pd,
                                {{DNNL_ARG_SRC, L.z},
                                 {DNNL_ARG_SCALE, L.scale},
                                 {DNNL_ARG_SHIFT, L.shift},
                                 {DNNL_ARG_DST, L.a},
                                 {DNNL_ARG_MEAN, L.mean},
                                 {DNNL_ARG_VARIANCE, L.var},
                                 {DNNL_ARG_WORKSPACE, L.ws}},
                                "bn" + tag));
  dnnl::batch_normalization_forward::desc inf_desc(
      dnnl::prop_kind::forward_inference, L.z.get_desc(), c.bn_epsilon,
      BnFlags() | dnnl::normalization_flags::use_global_stats);
  dnnl::batch_normalization_forward::primitive_desc inf_pd(
      inf_desc, StepList::Attr(), steps->engine());
  inf.push_back(steps->MakeStep(inf_pd,
                                {{DNNL_ARG_SRC, L.z},
                                 {DNNL_ARG_SCALE, L.scale},
                                 {DNNL_ARG_SHIFT, L.shift},
                                 {DNNL_ARG_DST, L.a},
                                 {DNNL_ARG_MEAN, run_mean},
                                 {DNNL_ARG_VARIANCE, run_var}},
                                "bn_inference" + tag));
  return L.a;
}

Pool BatchedResNet::Impl::BuildPool(const memory& src, int64_t k,
                                    const std::string& name) {
  context = absl::StrCat("creating ", name, " for ", config.DebugString());
  const Dims s = src.get_desc().dims();
  const Dims dst_dims = {s[0], s[1], s[2] / k, s[3] / k};
  dnnl::pooling_forward::desc desc(
      dnnl::prop_kind::forward_training, dnnl::algorithm::pooling_max,
      src.get_desc(), memory::desc(dst_dims, Dt::f32, Tag::any), {k, k},
      {k, k}, {0, 0}, {0, 0});
  Pool p;
  p.pd = dnnl::pooling_forward::primitive_desc(desc, StepList::Attr(),
                                               steps->engine());
  p.src = src;
  p.k = k;
  p.dst = Track(steps->Owned(p.pd.dst_desc()));
  p.ws = steps->Owned(p.pd.workspace_desc());
  // Inference reuses the training primitive: it writes the workspace,
  // which only a Backward() right after a training Forward() reads.
  Both(steps->MakeStep(p.pd,
                       {{DNNL_ARG_SRC, p.src},
                        {DNNL_ARG_DST, p.dst},
                        {DNNL_ARG_WORKSPACE, p.ws}},
                       name));
  return p;
}

memory BatchedResNet::Impl::BuildAdd(const memory& x, const memory& y,
                                     const std::string& name) {
  context = absl::StrCat("creating ", name, " for ", config.DebugString());
  const memory y2 = ConvertBoth(y, x.get_desc(), name + "_src1");
  dnnl::binary::desc desc(dnnl::algorithm::binary_add, x.get_desc(),
                          y2.get_desc(), x.get_desc());
  dnnl::binary::primitive_desc pd(desc, StepList::Attr(), steps->engine());
  memory out = Track(steps->Owned(x.get_desc()));
  Both(steps->MakeStep(
      pd, {{DNNL_ARG_SRC_0, x}, {DNNL_ARG_SRC_1, y2}, {DNNL_ARG_DST, out}},
      name));
  return out;
}

Diff BatchedResNet::Impl::As(const Diff& d, const memory::desc& md,
                             const std::string& name) {
  if (d.mem.get_desc() == md) return d;
  Diff out = Take(md);
  bwd.push_back(steps->Reorder(d.mem, out.mem, name));
  return out;
}

Diff BatchedResNet::Impl::PoolBack(const Pool& p, const Diff& ddst,
                                   const std::string& name) {
  context = absl::StrCat("creating ", name, " for ", config.DebugString());
  const Diff dd = As(ddst, p.dst.get_desc(), name + "_diff_dst");
  dnnl::pooling_backward::desc desc(
      dnnl::algorithm::pooling_max, p.src.get_desc(), p.dst.get_desc(),
      {p.k, p.k}, {p.k, p.k}, {0, 0}, {0, 0});
  dnnl::pooling_backward::primitive_desc pd(desc, StepList::Attr(),
                                            steps->engine(), p.pd);
  Diff dsrc = Take(p.src.get_desc());
  bwd.push_back(steps->MakeStep(pd,
                                {{DNNL_ARG_DIFF_DST, dd.mem},
                                 {DNNL_ARG_WORKSPACE, p.ws},
                                 {DNNL_ARG_DIFF_SRC, dsrc.mem}},
                                name));
  if (dd.index != ddst.index) Give(dd);
  return dsrc;
}

Diff BatchedResNet::Impl::ConvBnBack(int l, const Diff& da, bool need_dx) {
  const ResNetConfig& c = config;
  const int64_t N = c.num_particles, co = c.conv_out(l);
  const std::string tag = absl::StrCat(l);
  context = absl::StrCat("creating the backward pass of conv ", l, " for ",
                         c.DebugString());
  const ConvBn& L = layers[l];
  const Diff dA = As(da, L.a.get_desc(), "diff_a" + tag);
  const Diff dz = Take(L.z.get_desc());
  const memory dgamma =
      steps->Bound(Flat(N * co), Source::kGrads, c.bn_scale_offset(l));
  const memory dbeta =
      steps->Bound(Flat(N * co), Source::kGrads, c.bn_shift_offset(l));
  if (c.batch_norm == BatchNormImpl::kDeterministic) {
    const ChannelLayout lay = L.layout;
    const float eps = c.bn_epsilon;
    float* z = Ptr(L.z);
    float* a = Ptr(L.a);
    float* dy = Ptr(dA.mem);
    float* dzp = Ptr(dz.mem);
    float* scale = Ptr(L.scale);
    float* mean = Ptr(L.mean);
    float* var = Ptr(L.var);
    bwd.push_back(StepList::Callback(
        [=] {
          BatchNormReluBackward(lay, z, a, dy, scale, mean, var, eps, dzp,
                                Ptr(dgamma), Ptr(dbeta));
        },
        "bn_backward" + tag));
  } else {
    dnnl::batch_normalization_backward::desc bn_desc(
        dnnl::prop_kind::backward, L.z.get_desc(), L.z.get_desc(),
        c.bn_epsilon, BnFlags());
    dnnl::batch_normalization_backward::primitive_desc bn_pd(
        bn_desc, StepList::Attr(), steps->engine(), L.bn_pd);
    bwd.push_back(steps->MakeStep(bn_pd,
                                  {{DNNL_ARG_SRC, L.z},
                                   {DNNL_ARG_MEAN, L.mean},
                                   {DNNL_ARG_VARIANCE, L.var},
                                   {DNNL_ARG_DIFF_DST, dA.mem},
                                   {DNNL_ARG_SCALE, L.scale},
                                   {DNNL_ARG_SHIFT, L.shift},
                                   {DNNL_ARG_WORKSPACE, L.ws},
                                   {DNNL_ARG_DIFF_SRC, dz.mem},
                                   {DNNL_ARG_DIFF_SCALE, dgamma},
                                   {DNNL_ARG_DIFF_SHIFT, dbeta}},
                                  "bn_backward" + tag));
  }
  if (dA.index != da.index) Give(dA);

  const memory::desc any_w(L.user_w.get_desc().dims(), Dt::f32, Tag::any);
  dnnl::convolution_backward_weights::desc w_desc(
      dnnl::algorithm::convolution_direct, L.src.get_desc(), any_w,
      L.z.get_desc(), kStrides, kPad, kPad);
  // Conv 0's weight gradient (3 input channels, the shared image) is
  // reduced over the minibatch by several threads in oneDNN's jit kernel,
  // which changes its bits with the thread count; created while OpenMP
  // allows one thread, it runs single-threaded (oneDNN fixes the split at
  // creation), and costs under 1% of a step. The other convolutions split
  // their work without splitting reductions (batched_resnet_threads_test).
  const int threads = omp_get_max_threads();
  if (l == 0) omp_set_num_threads(1);
  dnnl::convolution_backward_weights::primitive_desc w_pd;
  try {
    w_pd = dnnl::convolution_backward_weights::primitive_desc(
        w_desc, StepList::Attr(), steps->engine(), L.conv_pd);
  } catch (...) {
    omp_set_num_threads(threads);
    throw;
  }
  omp_set_num_threads(threads);
  const memory user_dw = steps->Bound(L.user_w.get_desc(), Source::kGrads,
                                      c.conv_weight_offset(l));
  const memory dw = w_pd.diff_weights_desc() == user_dw.get_desc()
                        ? user_dw
                        : steps->Owned(w_pd.diff_weights_desc());
  bwd.push_back(steps->MakeStep(w_pd,
                                {{DNNL_ARG_SRC, L.src},
                                 {DNNL_ARG_DIFF_DST, dz.mem},
                                 {DNNL_ARG_DIFF_WEIGHTS, dw}},
                                "conv_backward_weights" + tag));
  if (dw.get() != user_dw.get()) {
    bwd.push_back(steps->Reorder(dw, user_dw, "dw" + tag));
  }
  if (!need_dx) {
    Give(dz);
    return Diff{};
  }
  dnnl::convolution_backward_data::desc d_desc(
      dnnl::algorithm::convolution_direct, L.src.get_desc(), any_w,
      L.z.get_desc(), kStrides, kPad, kPad);
  dnnl::convolution_backward_data::primitive_desc d_pd(
      d_desc, StepList::Attr(), steps->engine(), L.conv_pd);
  memory wei = L.wei;
  if (d_pd.weights_desc() != L.wei.get_desc()) {
    wei = steps->Owned(d_pd.weights_desc());
    bwd.push_back(steps->Reorder(L.user_w, wei, "w_backward" + tag));
  }
  const Diff dsrc = Take(L.src.get_desc());
  bwd.push_back(steps->MakeStep(d_pd,
                                {{DNNL_ARG_DIFF_DST, dz.mem},
                                 {DNNL_ARG_WEIGHTS, wei},
                                 {DNNL_ARG_DIFF_SRC, dsrc.mem}},
                                "conv_backward_data" + tag));
  Give(dz);
  const Diff dx = As(dsrc, L.producer.get_desc(), "diff_src" + tag);
  if (dx.index != dsrc.index) Give(dsrc);
  return dx;
}

void BatchedResNet::Impl::AddInPlace(const Diff& x, const Diff& y,
                                     const std::string& name) {
  const Diff y2 = As(y, x.mem.get_desc(), name + "_src1");
  dnnl::binary::desc desc(dnnl::algorithm::binary_add, x.mem.get_desc(),
                          y2.mem.get_desc(), x.mem.get_desc());
  dnnl::binary::primitive_desc pd(desc, StepList::Attr(), steps->engine());
  bwd.push_back(steps->MakeStep(pd,
                                {{DNNL_ARG_SRC_0, x.mem},
                                 {DNNL_ARG_SRC_1, y2.mem},
                                 {DNNL_ARG_DST, x.mem}},
                                name));
  if (y2.index != y.index) Give(y2);
}

absl::Status BatchedResNet::Impl::Init(const ResNetConfig& c) {
  config = c;
  const int64_t N = c.num_particles, B = c.batch_size, S = c.image_size;
  const int64_t F = c.fc_in(), C = c.num_classes;
  const bool shared = c.input_mode == InputMode::kShared;
  context = "creating the oneDNN CPU engine";
  steps = std::make_unique<StepList>(dnnl::engine(dnnl::engine::kind::cpu, 0));
  stats_mean = steps->Owned(Flat(c.stats_size()));
  stats_var = steps->Owned(Flat(c.stats_size()));

  const memory input = steps->Bound(
      memory::desc({B, (shared ? 1 : N) * c.in_channels, S, S}, Dt::f32,
                   Tag::nchw),
      Source::kInputs, 0);
  const memory a1 = BuildConvBn(1, BuildConvBn(0, input));
  const Pool p1 = BuildPool(a1, 2, "pool1");
  const memory a3 = BuildConvBn(3, BuildConvBn(2, p1.dst));
  const memory r1 = BuildAdd(p1.dst, a3, "add1");
  const Pool p2 = BuildPool(BuildConvBn(4, r1), 2, "pool2");
  const Pool p3 = BuildPool(BuildConvBn(5, p2.dst), 2, "pool3");
  const memory a7 = BuildConvBn(7, BuildConvBn(6, p3.dst));
  const memory r3 = BuildAdd(p3.dst, a7, "add3");
  const Pool g = BuildPool(r3, S / 8, "global_pool");

  // Pooled features [B, N*F] -> [N, B, F] -> logits.
  context = absl::StrCat("creating the final layer for ", c.DebugString());
  const memory g_plain = ConvertBoth(
      g.dst, memory::desc({B, N * F, 1, 1}, Dt::f32, Tag::nchw), "g_plain");
  const memory::desc nbf_view({N, B, F}, Dt::f32, Dims{F, N * F, 1});
  const memory gr = steps->Owned(Plain(N, B, F));
  Both(steps->Reorder(steps->View(nbf_view, g_plain), gr, "g_to_nbf"));
  dnnl::primitive_attr scaled = StepList::Attr();
  scaled.set_output_scales(0, {c.logit_scale});
  logits = steps->Owned(Plain(N, B, C));
  const memory fc_w = steps->Bound(Plain(N, F, C), Source::kParams,
                                   c.fc_offset());
  dnnl::matmul::primitive_desc fc_pd(
      dnnl::matmul::desc(gr.get_desc(), fc_w.get_desc(), logits.get_desc()),
      scaled, steps->engine());
  Both(steps->MakeStep(
      fc_pd,
      {{DNNL_ARG_SRC, gr}, {DNNL_ARG_WEIGHTS, fc_w}, {DNNL_ARG_DST, logits}},
      "fc"));

  if (!deferred.ok()) return deferred;
  pool = std::make_unique<BufferPool>(steps.get(), max_bytes);
  BuildBackward(p1, p2, p3, g, gr);
  steps->FinishScratchpad({&fwd, &inf, &bwd});
  active.assign(c.active_channels_size(), 0);
  return absl::OkStatus();
}

void BatchedResNet::Impl::BuildBackward(const Pool& p1, const Pool& p2,
                                        const Pool& p3, const Pool& g,
                                        const memory& gr) {
  const ResNetConfig& c = config;
  const int64_t N = c.num_particles, B = c.batch_size;
  const int64_t F = c.fc_in(), C = c.num_classes;
  context = absl::StrCat("creating the backward pass of the final layer for ",
                         c.DebugString());
  // dlogits holds d loss / d (unscaled logits) = scale * (softmax - 1_y) / B.
  dlogits = steps->Owned(Plain(N, B, C));
  const memory dfc = steps->Bound(Plain(N, F, C), Source::kGrads,
                                  c.fc_offset());
  const memory gr_t = steps->View(Transposed(N, F, B), gr);
  dnnl::matmul::primitive_desc dw_pd(
      dnnl::matmul::desc(gr_t.get_desc(), dlogits.get_desc(), dfc.get_desc()),
      StepList::Attr(), steps->engine());
  bwd.push_back(steps->MakeStep(
      dw_pd,
      {{DNNL_ARG_SRC, gr_t}, {DNNL_ARG_WEIGHTS, dlogits}, {DNNL_ARG_DST, dfc}},
      "fc_backward_weights"));
  const memory fc_t =
      steps->Bound(Transposed(N, C, F), Source::kParams, c.fc_offset());
  const memory dgr = steps->Owned(Plain(N, B, F));
  dnnl::matmul::primitive_desc dx_pd(
      dnnl::matmul::desc(dlogits.get_desc(), fc_t.get_desc(), dgr.get_desc()),
      StepList::Attr(), steps->engine());
  bwd.push_back(steps->MakeStep(
      dx_pd,
      {{DNNL_ARG_SRC, dlogits}, {DNNL_ARG_WEIGHTS, fc_t}, {DNNL_ARG_DST, dgr}},
      "fc_backward_data"));
  const memory dg_plain =
      steps->Owned(memory::desc({B, N * F, 1, 1}, Dt::f32, Tag::nchw));
  bwd.push_back(steps->Reorder(
      dgr,
      steps->View(memory::desc({N, B, F}, Dt::f32, Dims{F, N * F, 1}),
                  dg_plain),
      "dg_to_bnf"));

  const Diff dr3 = PoolBack(g, Diff{dg_plain, -1}, "global_pool_backward");
  const Diff da6 = ConvBnBack(7, dr3, true);
  const Diff dp3b = ConvBnBack(6, da6, true);
  Give(da6);
  AddInPlace(dr3, dp3b, "add3_backward");
  Give(dp3b);
  const Diff da5 = PoolBack(p3, dr3, "pool3_backward");
  Give(dr3);
  const Diff dp2 = ConvBnBack(5, da5, true);
  Give(da5);
  const Diff da4 = PoolBack(p2, dp2, "pool2_backward");
  Give(dp2);
  const Diff dr1 = ConvBnBack(4, da4, true);
  Give(da4);
  const Diff da2 = ConvBnBack(3, dr1, true);
  const Diff dp1b = ConvBnBack(2, da2, true);
  Give(da2);
  AddInPlace(dr1, dp1b, "add1_backward");
  Give(dp1b);
  const Diff da1 = PoolBack(p1, dr1, "pool1_backward");
  Give(dr1);
  const Diff da0 = ConvBnBack(1, da1, true);
  Give(da1);
  ConvBnBack(0, da0, /*need_dx=*/false);
  Give(da0);
}

void BatchedResNet::Impl::FillScaleShift(const float* params) {
  const int64_t N = config.num_particles;
  for (int l = 0; l < kResNetConvLayers; ++l) {
    const int64_t co = config.conv_out(l);
    const float* gamma = params + config.bn_scale_offset(l);
    const float* beta = params + config.bn_shift_offset(l);
    float* scale = static_cast<float*>(layers[l].scale.get_data_handle());
    float* shift = static_cast<float*>(layers[l].shift.get_data_handle());
    for (int64_t i = 0; i < N; ++i) {
      const int64_t k =
          has_masks ? active[i * kResNetConvLayers + l] : co;
      for (int64_t ch = 0; ch < co; ++ch) {
        const bool on = ch < k;
        scale[i * co + ch] = on ? gamma[i * co + ch] : 0.0f;
        shift[i * co + ch] = on ? beta[i * co + ch] : 0.0f;
      }
    }
  }
}

// loss[i] = mean_b [logsumexp(z_ib) - z_ib[y]] on the (scaled) logits;
// dlogits = scale * (softmax(z) - onehot(y)) / B, the gradient with respect
// to the matmul's unscaled output.
void BatchedResNet::Impl::Loss(const int32_t* labels, double* loss) {
  const int64_t N = config.num_particles, B = config.batch_size;
  const int64_t C = config.num_classes;
  const bool shared = config.input_mode == InputMode::kShared;
  const float* z = static_cast<const float*>(logits.get_data_handle());
  float* g = static_cast<float*>(dlogits.get_data_handle());
  const float factor = config.logit_scale / static_cast<float>(B);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < N; ++i) {
    const int32_t* y = labels + (shared ? 0 : i * B);
    double sum = 0.0;
    for (int64_t b = 0; b < B; ++b) {
      const float* row = z + (i * B + b) * C;
      float* grow = g + (i * B + b) * C;
      float max = row[0];
      for (int64_t k = 1; k < C; ++k) max = std::max(max, row[k]);
      float total = 0.0f;
      for (int64_t k = 0; k < C; ++k) {
        grow[k] = std::exp(row[k] - max);
        total += grow[k];
      }
      sum += static_cast<double>(max) + std::log(static_cast<double>(total)) -
             static_cast<double>(row[y[b]]);
      const float s = factor / total;
      for (int64_t k = 0; k < C; ++k) grow[k] *= s;
      grow[y[b]] -= factor;
    }
    loss[i] = sum / static_cast<double>(B);
  }
}

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
  for (const StepSequence* seq : {&impl_->fwd, &impl_->bwd}) {
    for (const Step& s : *seq) {
      absl::StrAppend(&out, out.empty() ? "" : " ", s.name, "=", s.impl);
    }
  }
  return out;
}

}  // namespace es
