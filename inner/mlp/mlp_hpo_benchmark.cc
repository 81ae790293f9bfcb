// mlp_hpo_benchmark.cc - cost of one ES-Single gradient estimate (N
// particles x K inner SGD steps) on the MLP hyperparameter problems of the
// paper's Sec. 4.2 / App. C (inner/mlp/mlp_hpo.h):
//
//   BM_EsSingleManyHparams/N  Fig. 9: 784-100x5-10, 29 hyperparameters, sum
//                           of validation losses, N = 10 and 100, K = 10,
//                           B = 100.
//   BM_EsSingleLrSchedule/N Figs. 7/8: 784-100-100-10, LR schedule, sum of
//                           training losses, N = 10 and 100, K = 10, B = 100.
//   BM_EsSingleTelescoping  Fig. 8: the same with the telescoping target
//                           (adds the 1000-example MeasureLoss per unroll).
//
// Counters (wall-clock rates; oneDNN and the SGD loop run on all cores):
//   particle_steps  inner SGD steps per second, summed over particles;
//   GFLOPS          matmul flops of those steps (forward + backward, plus the
//                   validation forward for Fig. 9; FlopsPerParticleStep) per
//                   second; the telescoping benchmark counts its measurement
//                   forwards too;
//   peak_GFLOPS     the practical f32 peak measured in this process
//                   (inner/kernels/matmul_peak.h: a 1024^3 oneDNN matmul on
//                   the same threads, measured once when the first benchmark
//                   starts; BM_MatmulPeak runs it as a benchmark too);
//   peak_fraction   GFLOPS / peak_GFLOPS.
// Data are synthetic (uniform pixels, random labels): the cost does not
// depend on the values. The first estimate (which initialises every
// particle) runs before timing.
//
//   bazel run //inner/mlp:mlp_hpo_benchmark
//   bazel test //inner/mlp:mlp_hpo_benchmark_smoke_test    # runs each once
#include <cstdint>
#include <memory>
#include <vector>

#include "benchmark/benchmark.h"
#include "estimators/estimator_factory.h"
#include "estimators/philox.h"
#include "estimators/telescoping.h"
#include "inner/kernels/batched_mlp_layout.h"
#include "inner/kernels/matmul_peak.h"
#include "inner/mlp/mlp_hpo.h"

namespace es {
namespace {

struct Data {
  std::vector<float> images;
  std::vector<int32_t> labels;
};

const Data& Synthetic() {
  static const Data* d = [] {
    auto* out = new Data;
    const int64_t n = 4096;
    out->images.resize(n * 784);
    out->labels.resize(n);
    const RandomKey rk{1, Stream::kUser};
    for (int64_t i = 0; i < n; ++i) {
      for (int j = 0; j < 784; j += 4) {
        const auto b = RandomBlock(rk, i, 0, j / 4);
        for (int w = 0; w < 4; ++w) out->images[i * 784 + j + w] = b[w] * 0x1.0p-32f;
      }
      out->labels[i] = static_cast<int32_t>(RandomBlock(rk, i, 1, 0)[0] % 10);
    }
    return out;
  }();
  return *d;
}

void RunEsSingle(benchmark::State& state, const MlpHpoConfig& config, int n,
                 bool telescoping) {
  // Measured before this benchmark's timing starts (the first call measures).
  const double peak_gflops = MatmulPeakGflops();
  const Data& d = Synthetic();
  const MlpDataView view{d.images, d.labels, 784};
  auto problem = MlpHpoProblem::Create(config, view, view);
  if (!problem.ok()) {
    state.SkipWithError(std::string(problem.status().message()).c_str());
    return;
  }
  TelescopingProblem tele(problem->get());
  const UnrolledProblem* target =
      telescoping ? static_cast<const UnrolledProblem*>(&tele) : problem->get();
  EstimatorSpec spec;
  spec.method = "es_single";
  spec.es.num_particles = n;
  spec.es.sigma = 0.1;
  spec.es.truncation = 10;
  auto est = MakeEstimator(target, spec);
  if (!est.ok()) {
    state.SkipWithError(std::string(est.status().message()).c_str());
    return;
  }
  Eigen::VectorXd theta = (*problem)->SampleInitialTheta(0, 0);
  if (!(*est)->Step(theta).ok()) {  // initialises every particle
    state.SkipWithError("first Step failed");
    return;
  }
  for (auto _ : state) {
    auto e = (*est)->Step(theta);
    benchmark::DoNotOptimize(e);
  }
  const double steps = static_cast<double>(n) * spec.es.truncation;
  double flops = steps * (*problem)->FlopsPerParticleStep();
  if (telescoping) {
    // One forward over measure_batch_size examples per particle per unroll.
    BatchedMlpConfig c;
    c.layer_sizes = (*problem)->layer_sizes();
    c.num_particles = n;
    c.batch_size = config.measure_batch_size;
    flops += c.ForwardFlops();
  }
  const double iters = static_cast<double>(state.iterations());
  state.counters["particle_steps"] =
      benchmark::Counter(steps * iters, benchmark::Counter::kIsRate);
  state.counters["GFLOPS"] =
      benchmark::Counter(1e-9 * flops * iters, benchmark::Counter::kIsRate);
  state.counters["peak_GFLOPS"] = peak_gflops;
  state.counters["peak_fraction"] = benchmark::Counter(
      1e-9 * flops * iters / peak_gflops, benchmark::Counter::kIsRate);
}

void BM_EsSingleManyHparams(benchmark::State& state) {
  RunEsSingle(state, MlpHpoConfig::ManyHyperparameters(),
              static_cast<int>(state.range(0)), false);
}
BENCHMARK(BM_EsSingleManyHparams)
    ->Arg(10)
    ->Arg(100)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

void BM_EsSingleLrSchedule(benchmark::State& state) {
  RunEsSingle(state, MlpHpoConfig::LrSchedule(),
              static_cast<int>(state.range(0)), false);
}
BENCHMARK(BM_EsSingleLrSchedule)
    ->Arg(10)
    ->Arg(100)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

void BM_EsSingleTelescoping(benchmark::State& state) {
  RunEsSingle(state, MlpHpoConfig::LrSchedule(), 100, true);
}
BENCHMARK(BM_EsSingleTelescoping)->UseRealTime()->Unit(benchmark::kMillisecond);

// The reference rate as a benchmark of its own, for comparison with the
// peak_GFLOPS counter measured at start-up.
BENCHMARK(BM_MatmulPeak)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace es
