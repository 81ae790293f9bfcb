#include "inner/kernels/matmul_peak.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "inner/kernels/omp_wait_policy.h"
#include "oneapi/dnnl/dnnl.hpp"

namespace es {
namespace {

// Deterministic operands in [-0.5, 0.5) (the values do not affect the time).
float Value(uint64_t i) {
  uint64_t z = i * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull;
  z = (z ^ (z >> 31)) * 0xBF58476D1CE4E5B9ull;
  return static_cast<float>(z >> 40) * 0x1.0p-24f - 0.5f;
}

// The matmul primitive and its operands.
struct PeakMatmul {
  PeakMatmul()
      : engine(dnnl::engine::kind::cpu, 0),
        stream(engine),
        md({kMatmulPeakSize, kMatmulPeakSize}, dnnl::memory::data_type::f32,
           dnnl::memory::format_tag::ab),
        pd(dnnl::matmul::desc(md, md, md), engine),
        matmul(pd),
        a(kMatmulPeakSize * kMatmulPeakSize),
        b(a.size()),
        c(a.size()) {
    for (size_t j = 0; j < a.size(); ++j) {
      a[j] = Value(j);
      b[j] = Value(j + 1);
    }
    ma = dnnl::memory(md, engine, a.data());
    mb = dnnl::memory(md, engine, b.data());
    mc = dnnl::memory(md, engine, c.data());
  }
  void Run() {
    matmul.execute(stream, {{DNNL_ARG_SRC, ma},
                            {DNNL_ARG_WEIGHTS, mb},
                            {DNNL_ARG_DST, mc}});
    stream.wait();
  }
  static double Flops() {
    const double n = static_cast<double>(kMatmulPeakSize);
    return 2.0 * n * n * n;
  }

  dnnl::engine engine;
  dnnl::stream stream;
  dnnl::memory::desc md;
  dnnl::matmul::primitive_desc pd;
  dnnl::matmul matmul;
  std::vector<float> a, b, c;
  dnnl::memory ma, mb, mc;
};

// Every benchmark binary that reports a fraction of peak also says which
// OpenMP wait policy it ran with (omp_wait_policy.h), in Google Benchmark's
// context header ("omp_wait_policy: ...").
const bool kContextAdded = [] {
  benchmark::AddCustomContext("omp_wait_policy", OmpWaitPolicyDescription());
  return true;
}();

}  // namespace

absl::StatusOr<double> MeasureMatmulPeakGflops(int rounds,
                                               double round_seconds) {
  if (rounds < 1 || !(round_seconds > 0.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("MeasureMatmulPeakGflops: rounds = ", rounds,
                     " and round_seconds = ", round_seconds,
                     "; need rounds >= 1 and round_seconds > 0"));
  }
  try {
    PeakMatmul m;
    m.Run();  // warm-up: first-touch pages, oneDNN's thread pool
    using Clock = std::chrono::steady_clock;
    double best = 0.0;
    for (int r = 0; r < rounds; ++r) {
      const auto start = Clock::now();
      int64_t calls = 0;
      double seconds = 0.0;
      do {
        m.Run();
        ++calls;
        seconds = std::chrono::duration<double>(Clock::now() - start).count();
      } while (seconds < round_seconds);
      best = std::max(best, 1e-9 * PeakMatmul::Flops() * calls / seconds);
    }
    return best;
  } catch (const dnnl::error& e) {
    return absl::InternalError(
        absl::StrCat("MeasureMatmulPeakGflops: oneDNN: ", e.what()));
  }
}

double MatmulPeakGflops() {
  static const double peak = [] {
    absl::StatusOr<double> p = MeasureMatmulPeakGflops();
    if (!p.ok()) {
      std::fprintf(stderr, "MatmulPeakGflops: %s\n",
                   std::string(p.status().message()).c_str());
      std::abort();
    }
    return *p;
  }();
  return peak;
}

void BM_MatmulPeak(benchmark::State& state) {
  try {
    PeakMatmul m;
    for (auto _ : state) {
      m.Run();
      benchmark::ClobberMemory();
    }
    state.counters["GFLOPS"] = benchmark::Counter(
        1e-9 * PeakMatmul::Flops() * static_cast<double>(state.iterations()),
        benchmark::Counter::kIsRate);
    state.SetLabel(m.pd.impl_info_str());
  } catch (const dnnl::error& e) {
    state.SkipWithError(e.what());
  }
}

}  // namespace es
