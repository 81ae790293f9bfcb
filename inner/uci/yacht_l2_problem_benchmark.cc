// Benchmarks for the UCI Yacht L2-tuning problem (inner/uci/
// yacht_l2_problem.h): the bare batched Unroll at Fig. 14's setting (N = 4,
// K = 1) and larger batches, and one ES-Single estimate at N = 4, K = 1.
// particle_steps/s counts inner SGD steps summed over particles; GFLOP/s
// counts the arithmetic of a step, 4 D^2 + 8 D + 1 flops with D = 6 (the
// Gram-form gradient and validation loss).
//
// The data are a synthetic table of the yacht's shape (308 x 7): the cost
// does not depend on the values, and the benchmark then needs no data file.
//
//   bazel run //inner/uci:yacht_l2_problem_benchmark
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "estimators/estimator_factory.h"
#include "inner/data/uci_reader.h"
#include "inner/uci/yacht_l2_problem.h"

namespace es {
namespace {

std::unique_ptr<YachtL2Problem> MakeProblem() {
  UciTable t;
  t.rows = kYachtRows;
  t.cols = kYachtColumns;
  for (int64_t r = 0; r < t.rows; ++r) {
    for (int64_t c = 0; c < t.cols; ++c) {
      t.values.push_back(std::sin(0.37 * r + 1.3 * c) + 0.01 * c * r);
    }
  }
  return *YachtL2Problem::Create(t);
}

constexpr double kFlopsPerStep = 4 * 36 + 8 * 6 + 1;

void BM_YachtUnroll(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const int k = static_cast<int>(state.range(1));
  auto problem = MakeProblem();
  auto states = problem->NewStates(n);
  if (!states.ok()) {
    state.SkipWithError(std::string(states.status().message()).c_str());
    return;
  }
  RowMatrixXd thetas(n, 1);
  for (int i = 0; i < n; ++i) thetas(i, 0) = 1.0 + 0.001 * i;
  std::vector<int64_t> t0(n, 0);
  std::vector<double> losses(n);
  for (auto _ : state) {
    const absl::Status s = problem->Unroll(states->get(), 0, n, thetas,
                                           t0.data(), k, losses.data());
    benchmark::DoNotOptimize(s);
    benchmark::DoNotOptimize(losses.data());
  }
  const double steps = static_cast<double>(state.iterations()) * n * k;
  state.counters["particle_steps/s"] =
      benchmark::Counter(steps, benchmark::Counter::kIsRate);
  state.counters["GFLOP/s"] = benchmark::Counter(steps * kFlopsPerStep * 1e-9,
                                                 benchmark::Counter::kIsRate);
}
BENCHMARK(BM_YachtUnroll)
    ->Args({4, 1})
    ->Args({4, 100})
    ->Args({64, 100})
    ->Args({1024, 100});

void BM_YachtEsSingleStep(benchmark::State& state) {
  auto problem = MakeProblem();
  EstimatorSpec spec;
  spec.method = "es_single";
  spec.es.num_particles = 4;
  spec.es.sigma = 0.01;
  spec.es.truncation = 1;
  auto est = MakeEstimator(problem.get(), spec);
  if (!est.ok()) {
    state.SkipWithError(std::string(est.status().message()).c_str());
    return;
  }
  const Eigen::VectorXd theta = Eigen::VectorXd::Constant(1, 1.0);
  for (auto _ : state) {
    auto e = (*est)->Step(theta);
    benchmark::DoNotOptimize(e);
  }
  state.counters["particle_steps/s"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * 4, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_YachtEsSingleStep);

}  // namespace
}  // namespace es
