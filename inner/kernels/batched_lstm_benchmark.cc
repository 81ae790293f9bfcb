// batched_lstm_benchmark.cc - throughput of the batched LSTM kernel
// (batched_lstm.h), its parameter packing and the oneDNN-RNN TBPTT window
// (lstm_rnn.h), against the machine's f32 matmul peak measured in the same run.
//
// Run:   bazel run -c opt //inner/kernels:batched_lstm_benchmark
// Smoke: bazel test //inner/kernels:batched_lstm_benchmark_smoke_test
//
// GFLOPS counts 2*M*N*K of the two products of a step (h W_h and h W_o) for
// every particle (BatchedLstmConfig::StepFlops); the gather, nonlinearities
// and softmax are not counted. "steps" counts particle-steps per second.
// BM_MatmulPeak is one 1024^3 f32 oneDNN matmul. Goal: the copy-task step
// (H = 100, B = 32, N = 1000) at >= 50% of BM_MatmulPeak. docs/lstm_notes.md
// has the measured numbers.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "inner/kernels/batched_lstm.h"
#include "inner/kernels/lstm_rnn.h"
#include "oneapi/dnnl/dnnl.hpp"

namespace es {
namespace {

float Value(uint64_t i, float scale) {
  uint64_t z = i * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull;
  z = (z ^ (z >> 31)) * 0xBF58476D1CE4E5B9ull;
  return scale * (static_cast<float>(z >> 40) * 0x1.0p-24f - 0.5f);
}

void SetRates(benchmark::State& state, double flops, double steps) {
  const double it = static_cast<double>(state.iterations());
  state.counters["GFLOPS"] =
      benchmark::Counter(1e-9 * flops * it, benchmark::Counter::kIsRate);
  state.counters["steps"] =
      benchmark::Counter(steps * it, benchmark::Counter::kIsRate);
}

// K-step Unroll of all N particles; K = 1 is one Step.
void RunLstm(benchmark::State& state, int64_t v, int64_t h, int64_t b,
             int64_t n, int k, LstmPath path) {
  BatchedLstmConfig config;
  config.shape = {v, h};
  config.batch_size = b;
  config.num_particles = n;
  config.path = path;
  auto lstm = BatchedLstm::Create(config);
  if (!lstm.ok()) {
    state.SkipWithError(std::string(lstm.status().message()).c_str());
    return;
  }
  std::vector<float> packed((*lstm)->packed_size());
  for (size_t j = 0; j < packed.size(); ++j) packed[j] = Value(j, 0.2f);
  std::vector<int32_t> tokens(k * n * b), targets(k * n * b);
  for (size_t j = 0; j < tokens.size(); ++j) {
    tokens[j] = static_cast<int32_t>((j * 7) % v);
    targets[j] = static_cast<int32_t>((j * 3 + 1) % v);
  }
  std::vector<float> hs(n * b * h), cs(n * b * h);
  std::vector<double> loss(n);
  for (auto _ : state) {
    absl::Status s = (*lstm)->Unroll(packed, 0, n, k, tokens, targets,
                                     absl::MakeSpan(hs), absl::MakeSpan(cs),
                                     absl::MakeSpan(loss));
    if (!s.ok()) {
      state.SkipWithError(std::string(s.message()).c_str());
      return;
    }
    benchmark::DoNotOptimize(loss.data());
    benchmark::ClobberMemory();
  }
  SetRates(state, k * config.StepFlops(), static_cast<double>(k) * n);
  state.SetLabel(config.DebugString() + " " + (*lstm)->ImplementationInfo());
}

// Copy task (Sec. 4.3): V = 4, H = 100, B = 32; N = range(0).
void BM_LstmStep_CopyTask(benchmark::State& state) {
  RunLstm(state, 4, 100, 32, state.range(0), 1, LstmPath::kAuto);
}
BENCHMARK(BM_LstmStep_CopyTask)
    ->Arg(10)
    ->Arg(100)
    ->Arg(1000)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// The same for a K = 10 unroll (truncated ES with K in {25, 50} unrolls
// several steps per call; each chunk's weights stay in cache across steps).
void BM_LstmUnroll10_CopyTask(benchmark::State& state) {
  RunLstm(state, 4, 100, 32, state.range(0), 10, LstmPath::kAuto);
}
BENCHMARK(BM_LstmUnroll10_CopyTask)
    ->Arg(1000)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// Fig. 1 tiny LSTM: V = 50, H = 5, B = 1, N = 1000; one step and a 10-step
// unroll (the SoA path keeps a block's weights in cache across steps), and
// the oneDNN path forced, for comparison.
void BM_LstmStep_Tiny(benchmark::State& state) {
  RunLstm(state, 50, 5, 1, 1000, static_cast<int>(state.range(0)),
          state.range(1) == 0 ? LstmPath::kSoa : LstmPath::kOneDnn);
}
BENCHMARK(BM_LstmStep_Tiny)
    ->ArgNames({"K", "onednn"})
    ->Args({1, 0})
    ->Args({10, 0})
    ->Args({1, 1})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

// Path crossover: H = range(0), V = 50, B = range(1), N = 256, one step,
// path range(2) (0 = SoA, 1 = oneDNN).
void BM_LstmStep_Crossover(benchmark::State& state) {
  RunLstm(state, 50, state.range(0), state.range(1), 256, 1,
          state.range(2) == 0 ? LstmPath::kSoa : LstmPath::kOneDnn);
}
BENCHMARK(BM_LstmStep_Crossover)
    ->ArgNames({"H", "B", "onednn"})
    ->ArgsProduct({{8, 16, 24, 32, 48}, {1, 32}, {0, 1}})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

// Pack: N x P doubles (copy task, N = 1000) into the oneDNN layout; bytes
// read + written per second.
void BM_LstmPack_CopyTask(benchmark::State& state) {
  BatchedLstmConfig config;
  config.shape = {4, 100};
  config.batch_size = 32;
  config.num_particles = state.range(0);
  auto lstm = BatchedLstm::Create(config);
  if (!lstm.ok()) {
    state.SkipWithError(std::string(lstm.status().message()).c_str());
    return;
  }
  const int64_t n = config.num_particles, p = config.shape.num_params();
  std::vector<double> thetas(n * p);
  for (size_t j = 0; j < thetas.size(); ++j) thetas[j] = Value(j, 0.2f);
  std::vector<float> packed((*lstm)->packed_size());
  for (auto _ : state) {
    absl::Status s = (*lstm)->Pack(thetas, 0, n, absl::MakeSpan(packed));
    if (!s.ok()) {
      state.SkipWithError(std::string(s.message()).c_str());
      return;
    }
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() *
                          (n * p * 8 + (*lstm)->packed_size() * 4));
}
BENCHMARK(BM_LstmPack_CopyTask)
    ->Arg(1000)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// TBPTT window on oneDNN's RNN primitives: copy task, K = range(0).
void BM_LstmRnnWindow_CopyTask(benchmark::State& state) {
  LstmRnnConfig config;
  config.shape = {4, 100};
  config.batch_size = 32;
  config.seq_length = state.range(0);
  auto rnn = LstmRnn::Create(config);
  if (!rnn.ok()) {
    state.SkipWithError(std::string(rnn.status().message()).c_str());
    return;
  }
  const int64_t k = config.seq_length, b = 32, h = 100;
  std::vector<double> theta(config.shape.num_params());
  for (size_t j = 0; j < theta.size(); ++j) theta[j] = Value(j, 0.2f);
  std::vector<int32_t> tokens(k * b), targets(k * b);
  for (size_t j = 0; j < tokens.size(); ++j) {
    tokens[j] = static_cast<int32_t>(j % 4);
    targets[j] = static_cast<int32_t>((j + 1) % 4);
  }
  std::vector<float> hs(b * h), cs(b * h);
  std::vector<double> grad(theta.size());
  double loss = 0.0;
  for (auto _ : state) {
    absl::Status s = (*rnn)->ForwardBackward(
        theta, tokens, targets, absl::MakeSpan(hs), absl::MakeSpan(cs),
        absl::MakeSpan(grad), &loss);
    if (!s.ok()) {
      state.SkipWithError(std::string(s.message()).c_str());
      return;
    }
    benchmark::DoNotOptimize(loss);
  }
  // Forward products x 3 (forward, dX, dW), the one-hot product included.
  const double flops = 3.0 * 2.0 * k * b * (4.0 * h * (4 + h) + h * 4);
  SetRates(state, flops, static_cast<double>(k));
  state.SetLabel((*rnn)->ImplementationInfo());
}
BENCHMARK(BM_LstmRnnWindow_CopyTask)
    ->Arg(10)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// One 1024^3 f32 matmul: the practical peak the LSTM step is compared with.
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
    SetRates(state, 2.0 * n * n * n, 0.0);
    state.SetLabel(pd.impl_info_str());
  } catch (const dnnl::error& e) {
    state.SkipWithError(e.what());
  }
}
BENCHMARK(BM_MatmulPeak)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace es
