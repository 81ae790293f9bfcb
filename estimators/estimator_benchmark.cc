// One estimate (Step) of each ES-family estimator, N = 100 particles, K = 10,
// on the linear-quadratic problem with P = 10 (T = 100), reported as
// particle-steps per second (N x K inner steps per estimate). The inner
// problem costs ~P multiply-adds per step, so this measures the estimators'
// own overhead: perturbation generation, bookkeeping and the reduction.
//
//   bazel run //estimators:estimator_benchmark
#include "benchmark/benchmark.h"
#include "estimators/estimator_factory.h"
#include "estimators/testing/linear_quadratic_problem.h"

namespace es {
namespace {

void BM_EstimatorStep(benchmark::State& state, const std::string& method) {
  LinearQuadraticOptions o;
  o.dim = static_cast<int>(state.range(1));
  o.horizon = 100;
  LinearQuadraticProblem problem(o);
  EstimatorSpec spec;
  spec.method = method;
  spec.es.num_particles = static_cast<int>(state.range(0));
  spec.es.truncation = 10;
  spec.resample_interval = 2;
  auto est = MakeEstimator(&problem, spec);
  if (!est.ok()) {
    state.SkipWithError(std::string(est.status().message()).c_str());
    return;
  }
  const Eigen::VectorXd theta = Eigen::VectorXd::Constant(o.dim, 0.1);
  int64_t steps = 0;
  for (auto _ : state) {
    auto e = (*est)->Step(theta);
    benchmark::DoNotOptimize(e->gradient.data());
    steps += e->particle_steps;
  }
  state.counters["particle_steps_per_s"] =
      benchmark::Counter(static_cast<double>(steps), benchmark::Counter::kIsRate);
}

#define ES_BENCH(name)                                                   \
  BENCHMARK_CAPTURE(BM_EstimatorStep, name, std::string(#name))          \
      ->Args({100, 10})                                                  \
      ->Args({100, 2})                                                   \
      ->Unit(benchmark::kMicrosecond)

ES_BENCH(es_single);
ES_BENCH(pes);
ES_BENCH(es_gen);
ES_BENCH(es_mix);
ES_BENCH(tes);
ES_BENCH(tes_particle);
ES_BENCH(full_es);

}  // namespace
}  // namespace es
