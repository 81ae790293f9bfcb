// Benchmarks of the LSTM inner problems (ES-Single, Vicol et al. ICML 2023):
// the copy task's ES unroll at K = 1 (Sec. 4.3: PES and ES-Single run fully
// online) for N in {10, 100, 1000} particles, split into its parts (Pack of
// the theta rows, the kernel step, the rest = token generation and call
// overhead), the mean model, the TBPTT window, and the character LM at the
// Fig. 1 sizes (H = 5, V = 50, B = 1, T = 1000).
//
// Counters: particle_tokens/s = N * B * K characters processed per second
// (all particles), data_tokens/s = B * K (the data time of Fig. 10's x axis,
// which all particles share), GFLOPS = the two matmuls of each step
// (BatchedLstmConfig::StepFlops), for comparison with
// //inner/kernels:batched_lstm_benchmark's BM_MatmulPeak.
//
//   bazel run //inner/lstm:lstm_problems_benchmark -- --benchmark_filter=Copy
#include <cstdint>
#include <memory>
#include <vector>

#include <Eigen/Dense>

#include "benchmark/benchmark.h"
#include "inner/kernels/batched_lstm.h"
#include "inner/lstm/char_lm_problem.h"
#include "inner/lstm/copy_task.h"
#include "inner/lstm/copy_task_problem.h"
#include "inner/lstm/copy_task_tbptt.h"

namespace es {
namespace {

// N rows around theta0 (each row shifted a little so they differ).
RowMatrixXd Rows(const Eigen::VectorXd& theta0, int n) {
  RowMatrixXd t(n, theta0.size());
  for (int i = 0; i < n; ++i) {
    t.row(i) = theta0.transpose().array() + 1e-3 * (i % 7);
  }
  return t;
}

void SetRates(benchmark::State& state, double particle_tokens,
              double data_tokens, double flops) {
  using C = benchmark::Counter;
  const double it = static_cast<double>(state.iterations());
  state.counters["particle_tokens/s"] = C(particle_tokens * it, C::kIsRate);
  state.counters["data_tokens/s"] = C(data_tokens * it, C::kIsRate);
  if (flops > 0) state.counters["GFLOPS"] = C(flops * it * 1e-9, C::kIsRate);
}

BatchedLstmConfig CopyKernelConfig(int n) {
  BatchedLstmConfig c;
  c.shape = CopyTaskConfig{}.shape();
  c.batch_size = 32;
  c.num_particles = n;
  return c;
}

// The full ES unroll of the copy task: tokens, Pack of all N rows, kernel.
void BM_CopyTaskUnroll(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const int K = static_cast<int>(state.range(1));
  auto problem = CopyTaskProblem::Create(CopyTaskConfig{});
  auto states = (*problem)->NewStates(n);
  if (!states.ok()) return state.SkipWithError("NewStates failed");
  std::vector<int> all(n);
  for (int i = 0; i < n; ++i) all[i] = i;
  (*problem)->Reset(states->get(), all, std::vector<uint64_t>(n, 1));
  const RowMatrixXd thetas = Rows((*problem)->InitialTheta(0), n);
  std::vector<int64_t> t0(n, 0);
  std::vector<double> loss(n);
  for (auto _ : state) {
    if (!(*problem)->Unroll(states->get(), 0, n, thetas, t0.data(), K,
                            loss.data()).ok()) {
      return state.SkipWithError("Unroll failed");
    }
    benchmark::DoNotOptimize(loss.data());
  }
  SetRates(state, double(n) * 32 * K, 32.0 * K,
           CopyKernelConfig(n).StepFlops() * K);
  state.SetLabel((*problem)->ImplementationInfo(**states));
}
BENCHMARK(BM_CopyTaskUnroll)
    ->Args({10, 1})->Args({100, 1})->Args({1000, 1})->Args({1000, 10})
    ->Unit(benchmark::kMillisecond)->UseRealTime();

// Pack alone: N rows of 42,804 doubles -> the kernel's float layout.
void BM_CopyTaskPack(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  auto kernel = BatchedLstm::Create(CopyKernelConfig(n));
  if (!kernel.ok()) return state.SkipWithError("Create failed");
  const RowMatrixXd thetas =
      Rows(CopyTaskInitialTheta(CopyTaskConfig{}.shape(), 0), n);
  std::vector<float> packed((*kernel)->packed_size());
  for (auto _ : state) {
    if (!(*kernel)->Pack(absl::MakeConstSpan(thetas.data(), thetas.size()), 0,
                         n, absl::MakeSpan(packed)).ok()) {
      return state.SkipWithError("Pack failed");
    }
    benchmark::DoNotOptimize(packed.data());
  }
  state.counters["bytes/s"] = benchmark::Counter(
      double(thetas.size()) * 12 * state.iterations(),
      benchmark::Counter::kIsRate);
}
BENCHMARK(BM_CopyTaskPack)->Arg(10)->Arg(100)->Arg(1000)
    ->Unit(benchmark::kMillisecond)->UseRealTime();

// The kernel's step alone (weights packed, tokens made once).
void BM_CopyTaskKernelStep(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const BatchedLstmConfig config = CopyKernelConfig(n);
  auto kernel = BatchedLstm::Create(config);
  if (!kernel.ok()) return state.SkipWithError("Create failed");
  const RowMatrixXd thetas =
      Rows(CopyTaskInitialTheta(config.shape, 0), n);
  std::vector<float> packed((*kernel)->packed_size());
  (void)(*kernel)->Pack(absl::MakeConstSpan(thetas.data(), thetas.size()), 0,
                        n, absl::MakeSpan(packed));
  std::vector<int32_t> x(n * 32), y(n * 32);
  for (int64_t b = 0; b < n * 32; ++b) {
    CopyStreamState s = StartCopyStream(1, b % 32, 5);
    CopyTokens(1, b % 32, s, &x[b], &y[b]);
  }
  std::vector<float> h(n * 32 * 100, 0.0f), c(n * 32 * 100, 0.0f);
  std::vector<double> loss(n);
  for (auto _ : state) {
    if (!(*kernel)->Step(packed, 0, n, x, y, absl::MakeSpan(h),
                         absl::MakeSpan(c), absl::MakeSpan(loss)).ok()) {
      return state.SkipWithError("Step failed");
    }
  }
  SetRates(state, double(n) * 32, 32.0, config.StepFlops());
}
BENCHMARK(BM_CopyTaskKernelStep)->Arg(10)->Arg(100)->Arg(1000)
    ->Unit(benchmark::kMillisecond)->UseRealTime();

// Token generation alone: one step of N * 32 streams (CopyTokens +
// AdvanceCopyStream, one Philox block per bit), the fill part of Unroll.
void BM_CopyTaskTokens(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  std::vector<CopyStreamState> streams;
  for (int64_t k = 0; k < int64_t{n} * 32; ++k) {
    streams.push_back(StartCopyStream(k / 32, k % 32, 20));
  }
  std::vector<int32_t> x(streams.size()), y(streams.size());
  for (auto _ : state) {
    for (size_t k = 0; k < streams.size(); ++k) {
      CopyTokens(k / 32, k % 32, streams[k], &x[k], &y[k]);
      AdvanceCopyStream(k / 32, k % 32, 20, 5, &streams[k]);
    }
    benchmark::DoNotOptimize(x.data());
  }
  SetRates(state, double(n) * 32, 32.0, 0);
}
BENCHMARK(BM_CopyTaskTokens)->Arg(10)->Arg(1000)
    ->Unit(benchmark::kMillisecond)->UseRealTime();

// The mean model's K = 1 advance (one extra particle per ES step).
void BM_CopyTaskMeanModel(benchmark::State& state) {
  auto problem = CopyTaskProblem::Create(CopyTaskConfig{});
  auto mean = CopyTaskMeanModel::Create(problem->get(), 1);
  const Eigen::VectorXd theta = (*problem)->InitialTheta(0);
  for (auto _ : state) {
    if (!(*mean)->Advance(theta, 1).ok()) return state.SkipWithError("failed");
  }
  SetRates(state, 32.0, 32.0, CopyKernelConfig(1).StepFlops());
}
BENCHMARK(BM_CopyTaskMeanModel)->Unit(benchmark::kMicrosecond)->UseRealTime();

// One TBPTT window (forward + backward) of K steps, B = 32, H = 100.
void BM_CopyTaskTbpttWindow(benchmark::State& state) {
  const int K = static_cast<int>(state.range(0));
  auto t = CopyTaskTbptt::Create(CopyTaskConfig{}, K, 1);
  if (!t.ok()) return state.SkipWithError("Create failed");
  const Eigen::VectorXd theta =
      CopyTaskInitialTheta(CopyTaskConfig{}.shape(), 0);
  Eigen::VectorXd grad;
  double loss;
  for (auto _ : state) {
    if (!(*t)->Window(theta, &grad, &loss).ok()) {
      return state.SkipWithError("Window failed");
    }
  }
  // Forward + backward ~ 3x the forward matmuls.
  SetRates(state, 32.0 * K, 32.0 * K, 3 * CopyKernelConfig(1).StepFlops() * K);
}
BENCHMARK(BM_CopyTaskTbpttWindow)->Arg(1)->Arg(10)->Arg(50)
    ->Unit(benchmark::kMillisecond)->UseRealTime();

// A whole Fig. 1 inner problem (T = 1000) for N particles in unrolls of K,
// as an estimator runs it: T / K Unroll calls (each packs the N rows).
void BM_CharLmInnerProblem(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const int K = static_cast<int>(state.range(1));
  CharLmConfig config;
  config.source = CharLmConfig::Source::kRandom;
  auto problem = CharLmProblem::Create(config);
  auto states = (*problem)->NewStates(n);
  if (!states.ok()) return state.SkipWithError("NewStates failed");
  const RowMatrixXd thetas = Rows((*problem)->InitialTheta(0), n);
  std::vector<int> all(n);
  for (int i = 0; i < n; ++i) all[i] = i;
  const std::vector<uint64_t> keys(n, 0);
  std::vector<double> loss(n);
  for (auto _ : state) {
    (*problem)->Reset(states->get(), all, keys);
    for (int64_t t = 0; t < 1000; t += K) {
      std::vector<int64_t> t0(n, t);
      if (!(*problem)->Unroll(states->get(), 0, n, thetas, t0.data(), K,
                              loss.data()).ok()) {
        return state.SkipWithError("Unroll failed");
      }
    }
  }
  BatchedLstmConfig kc;
  kc.shape = config.shape();
  kc.num_particles = n;
  SetRates(state, double(n) * 1000, 1000.0, kc.StepFlops() * 1000);
  state.SetLabel((*problem)->ImplementationInfo(**states));
}
BENCHMARK(BM_CharLmInnerProblem)
    ->Args({2, 1})->Args({2, 1000})->Args({1000, 1})->Args({1000, 10})
    ->Args({1000, 1000})
    ->Unit(benchmark::kMillisecond)->UseRealTime();

// Pack alone at the Fig. 1 size (SoA layout, N rows of 1,440 doubles): the
// per-call cost that dominates BM_CharLmInnerProblem at K = 1.
void BM_CharLmPack(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  CharLmConfig config;
  config.source = CharLmConfig::Source::kRandom;
  auto problem = CharLmProblem::Create(config);
  BatchedLstmConfig kc;
  kc.shape = config.shape();
  kc.num_particles = n;
  auto kernel = BatchedLstm::Create(kc);
  if (!kernel.ok()) return state.SkipWithError("Create failed");
  const RowMatrixXd thetas = Rows((*problem)->InitialTheta(0), n);
  std::vector<float> packed((*kernel)->packed_size());
  for (auto _ : state) {
    if (!(*kernel)->Pack(absl::MakeConstSpan(thetas.data(), thetas.size()), 0,
                         n, absl::MakeSpan(packed)).ok()) {
      return state.SkipWithError("Pack failed");
    }
    benchmark::DoNotOptimize(packed.data());
  }
  state.SetLabel((*kernel)->ImplementationInfo());
}
BENCHMARK(BM_CharLmPack)->Arg(2)->Arg(1000)
    ->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace
}  // namespace es
