// Benchmarks for the toy 2D regression problem (inner/toy2d.h): one
// ES-Single estimate (GradientEstimator::Step) at the Fig. 15 settings
// (N = 100, K = 10, T = 100, sigma = 0.3), and the bare batched Unroll. The
// rate counter particle_steps/s counts inner steps summed over particles
// (N * K per estimate). The third argument is the precision: 0 = float64
// (scalar libm, the default problem), 1 = float32 (SLEEF AVX2, 8 particles
// per vector; Toy2dPrecision::kFloat32). Time per iteration = time per
// estimate (BM_EsSingleStep) or per Unroll call (BM_Unroll), in us.
//
//   bazel run //inner:toy2d_benchmark
#include <cmath>
#include <cstdint>
#include <vector>

#include "benchmark/benchmark.h"
#include "estimators/estimator_factory.h"
#include "inner/toy2d.h"

namespace es {
namespace {

Toy2dPrecision Precision(int64_t arg) {
  return arg == 1 ? Toy2dPrecision::kFloat32 : Toy2dPrecision::kFloat64;
}

void BM_EsSingleStep(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const int k = static_cast<int>(state.range(1));
  const Toy2d problem(Toy2d::kPaperHorizon, Precision(state.range(2)));
  state.SetLabel(problem.name());
  EstimatorSpec spec;
  spec.method = "es_single";
  spec.es.num_particles = n;
  spec.es.sigma = 0.3;
  spec.es.truncation = k;
  auto est = MakeEstimator(&problem, spec);
  if (!est.ok()) {
    state.SkipWithError(std::string(est.status().message()).c_str());
    return;
  }
  const Eigen::Vector2d theta(std::log(0.01), std::log(0.01));
  for (auto _ : state) {
    auto e = (*est)->Step(theta);
    benchmark::DoNotOptimize(e);
  }
  state.counters["particle_steps/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * n * k,
                         benchmark::Counter::kIsRate);
}
BENCHMARK(BM_EsSingleStep)
    ->Args({100, 10, 0})
    ->Args({100, 10, 1})
    ->Unit(benchmark::kMicrosecond);

void BM_Unroll(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const int k = static_cast<int>(state.range(1));
  const Toy2d problem(Toy2d::kPaperHorizon, Precision(state.range(2)));
  state.SetLabel(problem.name());
  auto states = *problem.NewStates(n);
  RowMatrixXd thetas(n, 2);
  for (int i = 0; i < n; ++i) {
    thetas(i, 0) = std::log(0.01) + 0.01 * i;
    thetas(i, 1) = std::log(0.01) - 0.01 * i;
  }
  std::vector<int64_t> t0(n, 0);
  std::vector<double> losses(n);
  const int64_t T = problem.horizon();
  for (auto _ : state) {
    const absl::Status st =
        problem.Unroll(states.get(), 0, n, thetas, t0.data(), k, losses.data());
    if (!st.ok()) state.SkipWithError(st.ToString().c_str());
    benchmark::DoNotOptimize(losses.data());
    if (t0[0] + 2 * k > T) {  // keep t0 + K <= T
      state.PauseTiming();
      std::vector<int> all(n);
      for (int i = 0; i < n; ++i) all[i] = i;
      problem.Reset(states.get(), all, std::vector<uint64_t>(n, 0));
      std::fill(t0.begin(), t0.end(), 0);
      state.ResumeTiming();
    } else {
      for (auto& t : t0) t += k;
    }
  }
  state.counters["particle_steps/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * n * k,
                         benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Unroll)
    ->Args({100, 10, 0})
    ->Args({100, 10, 1})
    ->Args({100, 100, 0})
    ->Args({100, 100, 1})
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace es
