// matmul_peak.h - the machine's practical f32 peak, measured in the calling
// process: one 1024 x 1024 x 1024 oneDNN f32 matmul (row-major, default
// threads), the reference rate every benchmark's "fraction of peak" divides
// by. The peak varies by host (and with other load on it), so a benchmark
// never divides by a typed-in number: it measures the peak in the same run.
//
//   // Google Benchmark: BENCHMARK(es::BM_MatmulPeak)->UseRealTime();
//   const double peak = es::MatmulPeakGflops();  // measured once, cached
//   state.counters["peak_fraction"] = ... gflops / peak ...;
//
// Linking it also adds "omp_wait_policy: <policy>" to Google Benchmark's
// context header (the policy of omp_wait_policy.h this process runs with).
//
// Thread safety: MatmulPeakGflops may be called from any thread (the first
// call measures; concurrent first calls wait for it).
#ifndef ES_SINGLE_INNER_KERNELS_MATMUL_PEAK_H_
#define ES_SINGLE_INNER_KERNELS_MATMUL_PEAK_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "benchmark/benchmark.h"

namespace es {

// Edge of the square f32 matmul that defines the peak.
inline constexpr int64_t kMatmulPeakSize = 1024;

// One measurement: a warm-up call, then `rounds` rounds of at least
// `round_seconds` of back-to-back matmuls each; returns the best round's
// GFLOP/s (2 n^3 flops per matmul, wall clock). Errors from oneDNN come back
// as a status.
absl::StatusOr<double> MeasureMatmulPeakGflops(int rounds = 3,
                                               double round_seconds = 0.1);

// MeasureMatmulPeakGflops() on the first call, the same value afterwards
// (one measurement per process). Aborts with a message if oneDNN fails:
// benchmarks cannot report a fraction of peak without it.
double MatmulPeakGflops();

// The benchmark body: the 1024^3 matmul as a Google Benchmark with a GFLOPS
// rate counter and oneDNN's implementation name as label. Register it with
// BENCHMARK(es::BM_MatmulPeak)->UseRealTime()->Unit(benchmark::kMillisecond).
void BM_MatmulPeak(benchmark::State& state);

}  // namespace es

#endif  // ES_SINGLE_INNER_KERNELS_MATMUL_PEAK_H_
