// batched_mlp_benchmark.cc - throughput of the batched MLP kernel
// (batched_mlp.h) against the machine's practical f32 matmul peak.
//
// Run:   bazel run -c opt //inner/kernels:batched_mlp_benchmark
// Smoke: bazel test //inner/kernels:batched_mlp_benchmark_smoke_test
//
// Every benchmark reports GFLOPS, a rate counter (benchmark::Counter::kIsRate,
// over wall-clock time because oneDNN runs on all cores) of 2*M*N*K flops
// per matmul actually executed: forward for every layer, dW for every layer,
// dX for layers 1..L-1 (see BatchedMlpConfig::ForwardFlops/BackwardFlops).
// Softmax, ReLU derivative and bias-gradient loops are not counted.
// peak_fraction = GFLOPS / peak_GFLOPS, the 1024^3 matmul rate measured in
// the same process (matmul_peak.h).
// BM_MatmulPeak is one 1024x1024x1024 f32 oneDNN matmul, the reference rate;
// the MLP step at N = 100 should reach at least half of it (docs/
// kernels_notes.md has the measured numbers).
#include <cstdint>
#include <memory>
#include <vector>

#include "benchmark/benchmark.h"
#include "inner/kernels/batched_mlp.h"
#include "inner/kernels/batched_mlp_layout.h"
#include "inner/kernels/matmul_peak.h"
#include "oneapi/dnnl/dnnl.hpp"

namespace es {
namespace {

constexpr int64_t kBatch = 100;

const std::vector<int64_t> kShallow = {784, 100, 100, 10};
const std::vector<int64_t> kDeep = {784, 100, 100, 100, 100, 100, 10};

// Deterministic data in the ranges a trained network sees.
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

void RunMlp(benchmark::State& state, const std::vector<int64_t>& sizes,
            InputMode mode, bool backward) {
  const double peak_gflops = MatmulPeakGflops();  // before timing starts
  BatchedMlpConfig config;
  config.layer_sizes = sizes;
  config.num_particles = state.range(0);
  config.batch_size = kBatch;
  config.input_mode = mode;
  absl::StatusOr<std::unique_ptr<BatchedMlp>> mlp = BatchedMlp::Create(config);
  if (!mlp.ok()) {
    state.SkipWithError(std::string(mlp.status().message()).c_str());
    return;
  }
  std::vector<float> params(config.num_params());
  for (size_t j = 0; j < params.size(); ++j) params[j] = Value(j, 0.1f);
  std::vector<float> inputs(config.inputs_size());
  for (size_t j = 0; j < inputs.size(); ++j)
    inputs[j] = Value(j + 7, 1.0f) + 0.5f;
  std::vector<int32_t> labels(config.labels_size());
  for (size_t j = 0; j < labels.size(); ++j)
    labels[j] = j % config.num_classes();
  std::vector<float> grads(config.num_params());
  std::vector<double> loss(config.num_particles);

  for (auto _ : state) {
    absl::Status s = backward ? (*mlp)->ForwardBackward(params, inputs, labels,
                                                        absl::MakeSpan(loss),
                                                        absl::MakeSpan(grads))
                              : (*mlp)->Forward(params, inputs, labels,
                                                absl::MakeSpan(loss));
    if (!s.ok()) {
      state.SkipWithError(std::string(s.message()).c_str());
      return;
    }
    benchmark::DoNotOptimize(loss.data());
    benchmark::ClobberMemory();
  }
  const double flops =
      config.ForwardFlops() + (backward ? config.BackwardFlops() : 0.0);
  SetRate(state, flops);
  state.counters["peak_GFLOPS"] = peak_gflops;
  state.counters["peak_fraction"] = benchmark::Counter(
      1e-9 * flops * static_cast<double>(state.iterations()) / peak_gflops,
      benchmark::Counter::kIsRate);
  state.SetLabel(config.DebugString());
}

// Forward + backward, one shared minibatch of 100 for all particles.
void BM_MlpStep_784_100x2_10(benchmark::State& state) {
  RunMlp(state, kShallow, InputMode::kShared, /*backward=*/true);
}
void BM_MlpStep_784_100x5_10(benchmark::State& state) {
  RunMlp(state, kDeep, InputMode::kShared, /*backward=*/true);
}
// Forward + backward, one minibatch per particle.
void BM_MlpStepPerParticle_784_100x2_10(benchmark::State& state) {
  RunMlp(state, kShallow, InputMode::kPerParticle, /*backward=*/true);
}
// Forward only (evaluation of the meta-objective).
void BM_MlpForward_784_100x2_10(benchmark::State& state) {
  RunMlp(state, kShallow, InputMode::kShared, /*backward=*/false);
}

BENCHMARK(BM_MlpStep_784_100x2_10)
    ->Arg(10)
    ->Arg(100)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MlpStep_784_100x5_10)
    ->Arg(10)
    ->Arg(100)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MlpStepPerParticle_784_100x2_10)
    ->Arg(100)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MlpForward_784_100x2_10)
    ->Arg(100)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// One 1024^3 f32 matmul: the practical peak the MLP step is compared with
// (inner/kernels/matmul_peak.h; the peak_fraction counters divide by the same
// measurement, taken once in this process before the first MLP benchmark).
BENCHMARK(BM_MatmulPeak)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace es
