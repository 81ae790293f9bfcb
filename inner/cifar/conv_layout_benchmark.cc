// conv_layout_benchmark.cc - which way to batch N per-particle 3x3
// convolutions on oneDNN 2.6 is faster: one grouped convolution (particles
// as convolution groups: activations [B, N*C, H, W], groups = N) or N
// ordinary convolutions on [B, C, H, W] each (one primitive, executed N
// times with rebound handles).
//
// Each benchmark runs forward + backward-data + backward-weights of one
// layer of the Myrtle ResNet (inner/cifar/batched_resnet.h) for all N
// particles, minibatch B = 100, and reports GFLOP/s (2 * B * Ho * Wo * Co *
// Ci * 9 flops per direction and particle). Formats are oneDNN's choice
// (format_tag::any); weights and activations are reordered into those
// formats once, outside the timed loop, so only the convolutions are timed.
// docs/cifar_notes.md records the result and the choice made.
//
// Run: bazel run //inner/cifar:conv_layout_benchmark -- --benchmark_min_time=0.2
#include <cstdint>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "oneapi/dnnl/dnnl.hpp"

namespace es {
namespace {

using dnnl::memory;
using Tag = memory::format_tag;
using Dt = memory::data_type;

constexpr int64_t kBatch = 100;

struct Shape {
  int64_t ci, co, hw;
};

// Benchmark args: (shape index, N).
const Shape kShapes[] = {
    {32, 64, 32},    // 0: Myrtle "med" (paper) layer1 conv, 32x32
    {64, 64, 16},    // 1: med residual 1, 16x16
    {128, 256, 8},   // 2: med layer3 conv, 8x8
    {256, 256, 4},   // 3: med residual 3, 4x4
    {16, 32, 32},    // 4: "small" layer1 conv
    {8, 16, 32},     // 5: "tiny" layer1 conv
};

struct ConvSet {
  dnnl::convolution_forward fwd;
  dnnl::convolution_backward_data bwd_d;
  dnnl::convolution_backward_weights bwd_w;
  memory src, wei, dst, wei_bd, diff_src, diff_dst, diff_wei;
  std::string impl;
};

// groups == 0: an ordinary convolution of c_in -> c_out channels.
ConvSet MakeConv(const dnnl::engine& eng, int64_t groups, int64_t ci,
                 int64_t co, int64_t hw) {
  const int64_t g = groups == 0 ? 1 : groups;
  const memory::dims src_dims = {kBatch, g * ci, hw, hw};
  const memory::dims dst_dims = {kBatch, g * co, hw, hw};
  const memory::dims wei_dims = groups == 0
                                    ? memory::dims{co, ci, 3, 3}
                                    : memory::dims{g, co, ci, 3, 3};
  const memory::desc src_any(src_dims, Dt::f32, Tag::any);
  const memory::desc dst_any(dst_dims, Dt::f32, Tag::any);
  const memory::desc wei_any(wei_dims, Dt::f32, Tag::any);
  const memory::dims strides = {1, 1}, pad = {1, 1};
  dnnl::convolution_forward::desc fd(
      dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct,
      src_any, wei_any, dst_any, strides, pad, pad);
  dnnl::convolution_forward::primitive_desc fpd(fd, eng);
  dnnl::convolution_backward_data::desc bdd(
      dnnl::algorithm::convolution_direct, fpd.src_desc(), wei_any,
      fpd.dst_desc(), strides, pad, pad);
  dnnl::convolution_backward_data::primitive_desc bdpd(bdd, eng, fpd);
  dnnl::convolution_backward_weights::desc bwd(
      dnnl::algorithm::convolution_direct, fpd.src_desc(), wei_any,
      fpd.dst_desc(), strides, pad, pad);
  dnnl::convolution_backward_weights::primitive_desc bwpd(bwd, eng, fpd);
  ConvSet s;
  s.fwd = dnnl::convolution_forward(fpd);
  s.bwd_d = dnnl::convolution_backward_data(bdpd);
  s.bwd_w = dnnl::convolution_backward_weights(bwpd);
  s.src = memory(fpd.src_desc(), eng);
  s.wei = memory(fpd.weights_desc(), eng);
  s.dst = memory(fpd.dst_desc(), eng);
  s.wei_bd = memory(bdpd.weights_desc(), eng);
  s.diff_src = memory(bdpd.diff_src_desc(), eng);
  s.diff_dst = memory(bwpd.diff_dst_desc(), eng);
  s.diff_wei = memory(bwpd.diff_weights_desc(), eng);
  for (memory* m : {&s.src, &s.wei, &s.wei_bd, &s.diff_dst}) {
    float* p = static_cast<float*>(m->get_data_handle());
    const size_t n = m->get_desc().get_size() / sizeof(float);
    for (size_t j = 0; j < n; ++j) p[j] = 0.01f * static_cast<float>(j % 97);
  }
  s.impl = std::string("fwd=") + fpd.impl_info_str() +
           " bwd_d=" + bdpd.impl_info_str() + " bwd_w=" + bwpd.impl_info_str();
  return s;
}

void Run(const ConvSet& s, const dnnl::stream& stream) {
  s.fwd.execute(stream, {{DNNL_ARG_SRC, s.src},
                         {DNNL_ARG_WEIGHTS, s.wei},
                         {DNNL_ARG_DST, s.dst}});
  s.bwd_d.execute(stream, {{DNNL_ARG_DIFF_DST, s.diff_dst},
                           {DNNL_ARG_WEIGHTS, s.wei_bd},
                           {DNNL_ARG_DIFF_SRC, s.diff_src}});
  s.bwd_w.execute(stream, {{DNNL_ARG_SRC, s.src},
                           {DNNL_ARG_DIFF_DST, s.diff_dst},
                           {DNNL_ARG_DIFF_WEIGHTS, s.diff_wei}});
}

void SetRate(benchmark::State& state, const Shape& sh, int64_t n) {
  const double flops =
      3.0 * 2.0 * kBatch * sh.hw * sh.hw * sh.co * sh.ci * 9 * n;
  state.counters["GFLOPS"] = benchmark::Counter(
      1e-9 * flops * static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate);
}

// One grouped convolution, groups = N.
void BM_ConvGrouped(benchmark::State& state) {
  const Shape sh = kShapes[state.range(0)];
  const int64_t n = state.range(1);
  try {
    dnnl::engine eng(dnnl::engine::kind::cpu, 0);
    dnnl::stream stream(eng);
    ConvSet s = MakeConv(eng, n, sh.ci, sh.co, sh.hw);
    for (auto _ : state) {
      Run(s, stream);
      stream.wait();
    }
    SetRate(state, sh, n);
    state.SetLabel(s.impl);
  } catch (const dnnl::error& e) {
    state.SkipWithError(e.what());
  }
}

// N ordinary convolutions, one per particle, each on its own tensors.
void BM_ConvPerParticle(benchmark::State& state) {
  const Shape sh = kShapes[state.range(0)];
  const int64_t n = state.range(1);
  try {
    dnnl::engine eng(dnnl::engine::kind::cpu, 0);
    dnnl::stream stream(eng);
    std::vector<ConvSet> sets;
    for (int64_t i = 0; i < n; ++i) {
      sets.push_back(MakeConv(eng, 0, sh.ci, sh.co, sh.hw));
    }
    for (auto _ : state) {
      for (const ConvSet& s : sets) Run(s, stream);
      stream.wait();
    }
    SetRate(state, sh, n);
    state.SetLabel(sets[0].impl);
  } catch (const dnnl::error& e) {
    state.SkipWithError(e.what());
  }
}

void Args(benchmark::internal::Benchmark* b) {
  for (int shape = 0; shape < 6; ++shape) {
    for (int n : {1, 4, 10}) b->Args({shape, n});
  }
  b->UseRealTime()->Unit(benchmark::kMillisecond);
}

BENCHMARK(BM_ConvGrouped)->Apply(Args);
BENCHMARK(BM_ConvPerParticle)->Apply(Args);

}  // namespace
}  // namespace es
