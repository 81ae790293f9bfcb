// batched_resnet_backward.cc - BatchedResNet (batched_resnet.h; state in
// batched_resnet_impl.h): building the backward steps, with gradient
// buffers from a pool reused along the pass.
#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include <omp.h>

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


}  // namespace es
