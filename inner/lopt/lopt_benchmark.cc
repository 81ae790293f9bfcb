// lopt_benchmark.cc - cost of the learned-optimiser inner problem
// (ES-Single Sec. 4.4 / App. C.3, Figs. 11 and 21) on this machine:
//   BM_MatmulPeak        one 1024^3 f32 oneDNN matmul, the reference rate
//                        (measured in the same binary: the peak varies by
//                        host, see docs/kernels_notes.md);
//   BM_LoptMlp/N/C       one call of the optimiser MLP on {N, C} rows
//                        (19-32-32-2, bias folded): rows/s and GFLOP/s as
//                        executed (9-32-32-2 matmuls + the 32->2 loop);
//   BM_Features/N        momenta, normalisers and feature rows for N
//                        particles' 118282 parameters (single thread);
//   BM_InnerStep/N       forward + backward of the paper's inner MLP
//                        784-128-128-10, B = 128, per-particle minibatches;
//   BM_LoptUnroll/N/C/S  one K = 10 Unroll of the whole problem (inner step,
//                        momenta and features, optimiser MLP, update) for N
//                        particles at the paper's size, chunk C rows,
//                        S = 1 shared minibatch (lockstep) or 0 per-particle
//                        minibatches (breakstep, the paper's Fig. 11 setting);
//                        GFLOPS counts FlopsPerParticleStep.
// Data are synthetic (the cost does not depend on the pixels).
//
//   bazel run //inner/lopt:lopt_benchmark -- --benchmark_min_time=2
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <vector>

#include "benchmark/benchmark.h"
#include "estimators/philox.h"
#include "inner/kernels/batched_mlp.h"
#include "inner/kernels/batched_mlp_layout.h"
#include "inner/lopt/features.h"
#include "inner/lopt/lopt_mlp.h"
#include "inner/lopt/lopt_problem.h"
#include "oneapi/dnnl/dnnl.hpp"

namespace es {
namespace {

float Value(uint64_t i, float scale) {
  uint64_t z = i * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull;
  z = (z ^ (z >> 31)) * 0xBF58476D1CE4E5B9ull;
  return scale * (static_cast<float>(z >> 40) * 0x1.0p-24f - 0.5f);
}

void SetRates(benchmark::State& state, double flops, double items) {
  const double it = static_cast<double>(state.iterations());
  state.counters["GFLOPS"] =
      benchmark::Counter(1e-9 * flops * it, benchmark::Counter::kIsRate);
  state.SetItemsProcessed(static_cast<int64_t>(items * it));
}

void BM_MatmulPeak(benchmark::State& state) {
  const int64_t n = 1024;
  try {
    dnnl::engine engine(dnnl::engine::kind::cpu, 0);
    dnnl::stream stream(engine);
    const dnnl::memory::desc md({n, n}, dnnl::memory::data_type::f32,
                                dnnl::memory::format_tag::ab);
    dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(md, md, md), engine);
    dnnl::matmul matmul(pd);
    std::vector<float> a(n * n), b(n * n), c(n * n);
    for (int64_t j = 0; j < n * n; ++j) {
      a[j] = Value(j, 1.0f);
      b[j] = Value(j + 1, 1.0f);
    }
    dnnl::memory ma(md, engine, a.data()), mb(md, engine, b.data()),
        mc(md, engine, c.data());
    for (auto _ : state) {
      matmul.execute(
          stream,
          {{DNNL_ARG_SRC, ma}, {DNNL_ARG_WEIGHTS, mb}, {DNNL_ARG_DST, mc}});
      stream.wait();
      benchmark::ClobberMemory();
    }
    SetRates(state, 2.0 * n * n * n, 1);
    state.SetLabel(pd.impl_info_str());
  } catch (const dnnl::error& e) {
    state.SkipWithError(e.what());
  }
}
BENCHMARK(BM_MatmulPeak)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_LoptMlp(benchmark::State& state) {
  LoptMlpConfig c;
  c.num_particles = state.range(0);
  c.rows = state.range(1);
  auto mlp = LoptMlp::Create(c);
  if (!mlp.ok()) {
    state.SkipWithError(mlp.status().ToString().c_str());
    return;
  }
  std::vector<double> thetas;
  for (int64_t i = 0; i < c.num_particles; ++i) {
    const std::vector<double> t = LoptMlpInitialTheta(c, 1, i);
    thetas.insert(thetas.end(), t.begin(), t.end());
  }
  std::vector<float> pf(c.num_particles * kNumTimeFeatures, 0.3f);
  if (!(*mlp)->SetWeights(thetas).ok() ||
      !(*mlp)->SetParticleFeatures(pf).ok()) {
    state.SkipWithError("SetWeights failed");
    return;
  }
  absl::Span<float> in = (*mlp)->input();
  for (size_t j = 0; j < in.size(); ++j) in[j] = Value(j, 2.0f);
  std::vector<float> out(c.num_particles * c.rows * 2);
  for (auto _ : state) {
    if (!(*mlp)->Run(absl::MakeSpan(out)).ok()) {
      state.SkipWithError("Run failed");
      return;
    }
    benchmark::ClobberMemory();
  }
  const double rows = static_cast<double>(c.num_particles * c.rows);
  SetRates(state, rows * c.FlopsPerRow(), rows);
  state.SetLabel((*mlp)->ImplementationInfo());
}
BENCHMARK(BM_LoptMlp)
    ->Args({10, 1024})
    ->Args({10, 4096})
    ->Args({10, 16384})
    ->Args({1, 4096})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

const std::vector<int64_t> kPaperNet = {784, 128, 128, 10};
constexpr int64_t kPaperBatch = 128;
// Parameters of 784-128-128-10 (the optimiser's rows per particle).
constexpr int64_t kPaperParams = 785 * 128 + 129 * 128 + 129 * 10;

// The feature work of one optimiser step for N particles of the paper's net,
// as if each were one tensor: momentum/second-moment pass, then the
// normalised features written in chunks of 4096 rows (stride 9).
void BM_Features(benchmark::State& state) {
  const int64_t n = state.range(0) * kPaperParams;
  std::vector<float> p(n), g(n), out(4096 * 9);
  std::vector<std::vector<float>> m(kNumMomenta, std::vector<float>(n, 0.0f));
  for (int64_t j = 0; j < n; ++j) {
    p[j] = Value(j, 0.1f);
    g[j] = Value(j + 7, 0.01f);
  }
  LoptTensor t{p.data(), g.data(), {}, n};
  for (int k = 0; k < kNumMomenta; ++k) t.momenta[k] = m[k].data();
  for (auto _ : state) {
    double sumsq[kNumRowFeatures];
    UpdateMomentaAndSquares(t, sumsq);
    float scale[kNumRowFeatures];
    FeatureScales(sumsq, n, scale);
    for (int64_t lo = 0; lo < n; lo += 4096) {
      WriteRowFeatures(t, scale, lo, std::min(n, lo + 4096), out.data(), 9);
      benchmark::ClobberMemory();
    }
  }
  SetRates(state, 0.0, static_cast<double>(n));
}
BENCHMARK(BM_Features)->Arg(10)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_InnerStep(benchmark::State& state) {
  BatchedMlpConfig c;
  c.layer_sizes = kPaperNet;
  c.num_particles = state.range(0);
  c.batch_size = kPaperBatch;
  c.input_mode = InputMode::kPerParticle;
  auto mlp = BatchedMlp::Create(c);
  if (!mlp.ok()) {
    state.SkipWithError(mlp.status().ToString().c_str());
    return;
  }
  std::vector<float> params(c.num_params()), grads(c.num_params());
  for (size_t j = 0; j < params.size(); ++j) params[j] = Value(j, 0.1f);
  std::vector<float> inputs(c.inputs_size());
  for (size_t j = 0; j < inputs.size(); ++j) inputs[j] = 0.5f + Value(j, 1.0f);
  std::vector<int32_t> labels(c.labels_size());
  for (size_t j = 0; j < labels.size(); ++j) labels[j] = j % 10;
  std::vector<double> loss(c.num_particles);
  for (auto _ : state) {
    if (!(*mlp)
             ->ForwardBackward(params, inputs, labels, absl::MakeSpan(loss),
                               absl::MakeSpan(grads))
             .ok()) {
      state.SkipWithError("ForwardBackward failed");
      return;
    }
  }
  SetRates(state, c.ForwardFlops() + c.BackwardFlops(),
           static_cast<double>(c.num_particles));
}
BENCHMARK(BM_InnerStep)->Arg(10)->Unit(benchmark::kMillisecond)->UseRealTime();

struct SyntheticSet {
  std::vector<float> images;
  std::vector<int32_t> labels;
};

const SyntheticSet& Data() {
  static const SyntheticSet* d = [] {
    auto* s = new SyntheticSet;
    const int64_t n = 2048;
    s->images.resize(n * 784);
    s->labels.resize(n);
    for (int64_t j = 0; j < n * 784; ++j) s->images[j] = 0.5f + Value(j, 1.0f);
    for (int64_t j = 0; j < n; ++j) s->labels[j] = static_cast<int32_t>(j % 10);
    return s;
  }();
  return *d;
}

void BM_LoptUnroll(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  LoptProblemConfig config;  // 784-128-128-10, B = 128
  config.rows_per_chunk = state.range(1);
  const bool shared = state.range(2) != 0;
  const MlpDataView view{Data().images, Data().labels, 784};
  auto problem = LoptProblem::Create(config, view);
  if (!problem.ok()) {
    state.SkipWithError(problem.status().ToString().c_str());
    return;
  }
  const LoptProblem& p = **problem;
  auto made = p.NewStates(n);
  if (!made.ok()) {
    state.SkipWithError(made.status().ToString().c_str());
    return;
  }
  ParticleStates* states = made->get();
  std::vector<int> idx(n);
  std::vector<uint64_t> keys(n);
  std::vector<int64_t> t0(n);
  for (int i = 0; i < n; ++i) {
    idx[i] = i;
    keys[i] = shared ? 1 : static_cast<uint64_t>(i / 2 + 1);
    t0[i] = shared ? 0 : 10 * (i / 2);
  }
  p.Reset(states, idx, keys);
  RowMatrixXd thetas(n, p.theta_dim());
  for (int i = 0; i < n; ++i) {
    thetas.row(i) = p.SampleInitialTheta(2, i).transpose();
  }
  std::vector<double> losses(n);
  constexpr int kSteps = 10;  // K
  for (auto _ : state) {
    if (absl::Status s =
            p.Unroll(states, 0, n, thetas, t0.data(), kSteps, losses.data());
        !s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      return;
    }
    benchmark::DoNotOptimize(losses.data());
  }
  SetRates(state, p.FlopsPerParticleStep() * n * kSteps,
           static_cast<double>(n) * kSteps);
  // (real time per iteration) / K, in ms.
  state.counters["ms_per_inner_step"] = benchmark::Counter(
      kSteps / 1e3, benchmark::Counter::kIsIterationInvariantRate |
                        benchmark::Counter::kInvert);
}
BENCHMARK(BM_LoptUnroll)
    ->Args({10, 4096, 0})
    ->Args({10, 4096, 1})
    ->Args({10, 1024, 0})
    ->Args({10, 16384, 0})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace es
