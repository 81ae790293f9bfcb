// batched_resnet_benchmark.cc - throughput of the batched ResNet kernel
// (batched_resnet.h) and of one inner step of the CIFAR-10 problem
// (cifar_hpo_problem.h), against the machine's f32 matmul peak measured in
// the same binary.
//
// Run:   bazel run //inner/cifar:batched_resnet_benchmark
// Smoke: bazel test //inner/cifar:batched_resnet_benchmark_smoke_test
//
// GFLOPS counts 2 * MACs of every convolution and matmul executed
// (ResNetConfig::ForwardFlops / BackwardFlops); batch norm, pooling, the
// loss and the SGD update are not counted but their time is. Rates are over
// wall-clock time (oneDNN and OpenMP use all cores).
//   BM_ResNetStep_<widths>/N        forward + backward, minibatch B = 100
//                                   (the PES code's default; the paper's
//                                   minibatch size is not stated)
//   BM_ResNetInference_Med/N        the inference forward of the per-step
//                                   validation loss
//   BM_CifarHpoStep_<widths>/N      one whole inner step of the problem:
//                                   gather, forward + backward, running
//                                   statistics, SGD, validation forward
//   BM_MatmulPeak                   one 1024^3 f32 oneDNN matmul
// Widths: Med = 32-64-128-256 (the paper's 1.6M-parameter network), Small
// = 16-32-64-128 (a narrower one, ~4x cheaper). docs/cifar_notes.md has the
// numbers and what they mean for Figs. 23 and 24.
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "inner/cifar/batched_resnet.h"
#include "inner/cifar/cifar_hpo_problem.h"
#include "oneapi/dnnl/dnnl.hpp"

namespace es {
namespace {

constexpr int64_t kBatch = 100;

float Value(uint64_t i, float scale) {
  uint64_t z = i * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull;
  z = (z ^ (z >> 31)) * 0xBF58476D1CE4E5B9ull;
  return scale * (static_cast<float>(z >> 40) * 0x1.0p-24f - 0.5f);
}

void SetRate(benchmark::State& state, double flops_per_iteration) {
  state.counters["GFLOPS"] = benchmark::Counter(
      1e-9 * flops_per_iteration * static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate);
}

void RunKernel(benchmark::State& state, const std::array<int64_t, 4>& widths,
               bool train) {
  ResNetConfig config;
  config.widths = widths;
  config.num_particles = state.range(0);
  config.batch_size = kBatch;
  auto net = BatchedResNet::Create(config);
  if (!net.ok()) {
    state.SkipWithError(std::string(net.status().message()).c_str());
    return;
  }
  std::vector<float> params(config.num_params());
  for (size_t j = 0; j < params.size(); ++j) params[j] = Value(j, 0.2f);
  for (int l = 0; l < kResNetConvLayers; ++l) {
    for (int64_t k = 0; k < config.num_particles * config.conv_out(l); ++k) {
      params[config.bn_scale_offset(l) + k] = 1.0f;
    }
  }
  std::vector<float> inputs(config.inputs_size());
  for (size_t j = 0; j < inputs.size(); ++j) inputs[j] = Value(j + 7, 3.0f);
  std::vector<int32_t> labels(config.labels_size());
  for (size_t j = 0; j < labels.size(); ++j) labels[j] = j % 10;
  std::vector<float> grads(config.num_params());
  std::vector<float> mean(config.stats_size(), 0.0f);
  std::vector<float> var(config.stats_size(), 1.0f);
  std::vector<double> loss(config.num_particles);
  for (auto _ : state) {
    absl::Status s =
        train ? (*net)->ForwardBackward(params, inputs, labels,
                                        absl::MakeSpan(loss),
                                        absl::MakeSpan(grads))
              : (*net)->ForwardInference(params, inputs, labels, mean, var,
                                         absl::MakeSpan(loss));
    if (!s.ok()) {
      state.SkipWithError(std::string(s.message()).c_str());
      return;
    }
    benchmark::DoNotOptimize(loss.data());
  }
  SetRate(state, config.ForwardFlops() + (train ? config.BackwardFlops() : 0));
  state.SetLabel(config.DebugString());
}

void BM_ResNetStep_Med(benchmark::State& state) {
  RunKernel(state, kMyrtleMed, true);
}
void BM_ResNetStep_Small(benchmark::State& state) {
  RunKernel(state, kMyrtleSmall, true);
}
void BM_ResNetInference_Med(benchmark::State& state) {
  RunKernel(state, kMyrtleMed, false);
}
BENCHMARK(BM_ResNetStep_Med)
    ->Arg(1)->Arg(4)->Arg(10)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ResNetStep_Small)
    ->Arg(1)->Arg(4)->Arg(10)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ResNetInference_Med)
    ->Arg(1)->Arg(10)->UseRealTime()->Unit(benchmark::kMillisecond);

// One inner step of the problem (Fig. 23 setting, lockstep) on random
// CIFAR-shaped data.
void RunProblem(benchmark::State& state, const std::array<int64_t, 4>& widths) {
  const int n = static_cast<int>(state.range(0));
  const int64_t examples = 1000;
  std::vector<float> images(examples * kCifarImageBytes);
  for (size_t j = 0; j < images.size(); ++j) images[j] = Value(j, 3.0f);
  std::vector<int32_t> labels(examples);
  for (int64_t j = 0; j < examples; ++j) labels[j] = j % 10;
  const MlpDataView view{images, labels, kCifarImageBytes};
  CifarHpoConfig config = CifarHpoConfig::Fig23();
  config.widths = widths;
  auto problem = CifarHpoProblem::Create(config, view, view);
  if (!problem.ok()) {
    state.SkipWithError(std::string(problem.status().message()).c_str());
    return;
  }
  auto made = (*problem)->NewStates(n);
  if (!made.ok()) {
    state.SkipWithError(std::string(made.status().message()).c_str());
    return;
  }
  std::unique_ptr<ParticleStates> states = *std::move(made);
  std::vector<int> idx(n);
  std::vector<uint64_t> keys(n, 1);
  for (int i = 0; i < n; ++i) idx[i] = i;
  (*problem)->Reset(states.get(), idx, keys);
  RowMatrixXd thetas(n, 2);
  for (int i = 0; i < n; ++i) thetas.row(i) << std::log(0.01), 2.0;
  std::vector<int64_t> t0(n, 0);
  std::vector<double> losses(n);
  for (auto _ : state) {
    const absl::Status status = (*problem)->Unroll(
        states.get(), 0, n, thetas, t0.data(), 1, losses.data());
    if (!status.ok()) {
      state.SkipWithError(std::string(status.message()).c_str());
      return;
    }
    for (int i = 0; i < n; ++i) ++t0[i];
    benchmark::DoNotOptimize(losses.data());
  }
  SetRate(state, (*problem)->FlopsPerParticleStep() * n);
  state.counters["s_per_particle_step"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * n,
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.SetLabel((*problem)->name());
}

void BM_CifarHpoStep_Med(benchmark::State& state) {
  RunProblem(state, kMyrtleMed);
}
void BM_CifarHpoStep_Small(benchmark::State& state) {
  RunProblem(state, kMyrtleSmall);
}
BENCHMARK(BM_CifarHpoStep_Med)
    ->Arg(1)->Arg(10)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_CifarHpoStep_Small)
    ->Arg(1)->Arg(10)->UseRealTime()->Unit(benchmark::kMillisecond);

// One 1024^3 f32 matmul: the practical peak the step is compared with.
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
    SetRate(state, 2.0 * n * n * n);
    state.SetLabel(pd.impl_info_str());
  } catch (const dnnl::error& e) {
    state.SkipWithError(e.what());
  }
}
BENCHMARK(BM_MatmulPeak)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace es
