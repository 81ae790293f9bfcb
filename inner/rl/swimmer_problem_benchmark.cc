// Benchmarks for the MuJoCo Swimmer problem (inner/rl/swimmer_problem.h):
// one partial unroll of Fig. 22's size (N = 20 particles = 10 antithetic
// pairs, K = 100 environment steps) on 1 and 2 threads. env_steps/s counts
// environment steps summed over particles; mj_steps/s counts MuJoCo steps
// (4 per environment step, frame skip).
//
// Needs $ES_SINGLE_DATA_DIR/mujoco-swimmer/swimmer.xml: without it the
// binary says so and runs nothing (exit 0), unless ES_CI=1 (exit 1).
//
//   bazel run //inner/rl:swimmer_problem_benchmark
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "inner/rl/swimmer_problem.h"

namespace es {
namespace {

std::string* model_path = nullptr;

void BM_SwimmerUnroll(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const int k = static_cast<int>(state.range(1));
  const int threads = static_cast<int>(state.range(2));
  auto problem = SwimmerProblem::Create(*model_path, {.num_threads = threads});
  if (!problem.ok()) {
    state.SkipWithError(std::string(problem.status().message()).c_str());
    return;
  }
  const SwimmerProblem& p = **problem;
  auto made = p.NewStates(n);
  if (!made.ok()) {
    state.SkipWithError(std::string(made.status().message()).c_str());
    return;
  }
  ParticleStates* states = made->get();
  RowMatrixXd thetas(n, SwimmerProblem::kThetaDim);
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < SwimmerProblem::kThetaDim; ++j) {
      thetas(i, j) = 0.5 * std::sin(0.3 * i + 1.1 * j);
    }
  }
  std::vector<int64_t> t0(n, 0);
  std::vector<double> losses(n);
  std::vector<int> all(n);
  for (int i = 0; i < n; ++i) all[i] = i;
  uint64_t episode = 0;
  for (auto _ : state) {
    if (t0[0] + k > p.horizon()) {  // keep t0 + K <= T
      state.PauseTiming();
      p.Reset(states, all, std::vector<uint64_t>(n, ++episode));
      std::fill(t0.begin(), t0.end(), 0);
      state.ResumeTiming();
    }
    const absl::Status s =
        p.Unroll(states, 0, n, thetas, t0.data(), k, losses.data());
    benchmark::DoNotOptimize(s);
    benchmark::DoNotOptimize(losses.data());
    for (auto& t : t0) t += k;
  }
  const double steps = static_cast<double>(state.iterations()) * n * k;
  state.counters["env_steps/s"] =
      benchmark::Counter(steps, benchmark::Counter::kIsRate);
  state.counters["mj_steps/s"] = benchmark::Counter(
      steps * p.options().frame_skip, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_SwimmerUnroll)
    ->Args({20, 100, 1})
    ->Args({20, 100, 2})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace es

int main(int argc, char** argv) {
  absl::StatusOr<std::string> path = es::SwimmerProblem::DefaultModelPath();
  if (!path.ok()) {
    const char* ci = std::getenv("ES_CI");
    std::fprintf(stderr, "swimmer benchmark: %s; nothing to run\n",
                 std::string(path.status().message()).c_str());
    return (ci != nullptr && std::string(ci) == "1") ? 1 : 0;
  }
  es::model_path = new std::string(*path);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
