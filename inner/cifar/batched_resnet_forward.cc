// batched_resnet_forward.cc - BatchedResNet (batched_resnet.h; state in
// batched_resnet_impl.h): building the forward and inference steps, the
// channel-mask fill of batch-norm scale/shift, and the loss.
#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "estimators/check.h"
#include "inner/cifar/batched_resnet_impl.h"

namespace es {

using cifar_internal::BnFlags;
using cifar_internal::Diff;
using cifar_internal::Dims;
using cifar_internal::Dt;
using cifar_internal::Flat;
using cifar_internal::kPad;
using cifar_internal::kStrides;
using cifar_internal::Plain;
using cifar_internal::Pool;
using cifar_internal::Ptr;
using cifar_internal::Source;
using cifar_internal::Step;
using cifar_internal::StepList;
using cifar_internal::StepSequence;
using cifar_internal::Tag;
using cifar_internal::Transposed;
using dnnl::memory;

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


absl::Status BatchedResNet::Impl::Init(const ResNetConfig& c) {
  config = c;
  debug_string = c.DebugString();
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

}  // namespace es
