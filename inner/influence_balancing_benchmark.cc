// Benchmarks for influence balancing (inner/influence_balancing.h): one
// ES-Single estimate (GradientEstimator::Step) with K = 1 at N = 4 (the
// smallest N of Fig. 5b) and N = 1000 (Fig. 5a), and the bare batched
// Unroll. The rate counter particle_steps/s counts inner steps summed over
// particles (N * K per estimate).
//
//   bazel run //inner:influence_balancing_benchmark
#include <cstdint>
#include <vector>

#include "benchmark/benchmark.h"
#include "estimators/estimator_factory.h"
#include "inner/influence_balancing.h"

namespace es {
namespace {

void BM_EsSingleStep(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  InfluenceBalancing problem;
  EstimatorSpec spec;
  spec.method = "es_single";
  spec.es.num_particles = n;
  spec.es.sigma = 0.1;
  spec.es.truncation = 1;
  auto est = MakeEstimator(&problem, spec);
  if (!est.ok()) {
    state.SkipWithError(std::string(est.status().message()).c_str());
    return;
  }
  const Eigen::VectorXd theta =
      Eigen::VectorXd::Constant(1, InfluenceBalancing::kPaperTheta0);
  for (auto _ : state) {
    auto e = (*est)->Step(theta);
    benchmark::DoNotOptimize(e);
  }
  state.counters["particle_steps/s"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * n, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_EsSingleStep)->Arg(4)->Arg(1000);

// The batched inner step alone: N particles, K steps per call.
void BM_Unroll(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const int k = static_cast<int>(state.range(1));
  InfluenceBalancing problem;
  auto states = *problem.NewStates(n);
  RowMatrixXd thetas(n, 1);
  for (int i = 0; i < n; ++i) thetas(i, 0) = 0.5 + 1e-3 * i;
  std::vector<int64_t> t0(n, 0);
  std::vector<double> losses(n);
  for (auto _ : state) {
    const absl::Status st =
        problem.Unroll(states.get(), 0, n, thetas, t0.data(), k, losses.data());
    if (!st.ok()) state.SkipWithError(st.ToString().c_str());
    benchmark::DoNotOptimize(losses.data());
  }
  state.counters["particle_steps/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * n * k,
                         benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Unroll)->Args({4, 1})->Args({1000, 1})->Args({1000, 10});

}  // namespace
}  // namespace es
