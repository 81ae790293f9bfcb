// batched_lstm.h - N independent LSTM language models (one per ES particle,
// each with its own weights) advanced in lock-step, float32, forward only:
// one step (or K steps) of tokens in, per-particle cross-entropy out.
//
// Paper: Vicol, Kolter, Swersky, "Low-Variance Gradient Estimation in Unrolled
// Computation Graphs with ES-Single", ICML 2023: Sec. 3.1 / Fig. 1 (tiny LSTM
// on character-level PTB) and Sec. 4.3 / Figs. 10, 16 (copy task, H = 100,
// B = 32, N = 1000 particles). The maths, gate order (i, f, g, o), the
// separate input/hidden biases and the per-particle parameter layout (a row
// of theta) are in batched_lstm_layout.h.
//
// Two paths, chosen by Create() (config.path = kAuto) or forced:
//   kOneDnn  (larger H or H * B, see kSoaMaxHidden): per step, one oneDNN batched matmul
//            {n, B, H} x {n, H, 4H} -> {n, B, 4H} for h W_h and one
//            {n, B, H} x {n, H, V} (+ b_o as a binary post-op) for the
//            logits; the gathered rows W_x[token] + b_x + b_h are added as the
//            gates are read; gates, state update and softmax are 8-wide loops,
//            OpenMP-parallel over particles. A step runs in chunks of ~2 MiB
//            of gates (32 particles at B = 32, H = 100) so that gates, h and
//            c stay in cache between the stages. Primitives are built once
//            for the batch size N and every power of two below it; chunks
//            and sub-ranges [begin, end) use the power-of-two ones.
//   kSoa     (small H and H * B): no oneDNN (its ~10 us per call dominates
//            a model this small). Particles go 8 to a block, one per AVX2
//            lane (structure of arrays); a block runs all K steps of Unroll
//            with its weights in L1/L2. OpenMP-parallel over blocks.
// docs/lstm_notes.md has the crossover measurement behind kSoaMaxHidden.
//
// Parameters: Pack() converts rows [begin, end) of theta (N x P doubles,
// row-major, the estimators' layout) into the path's float layout
// (packed_size() floats, caller-owned), folding b_x + b_h into the rows of
// W_x (computed in double, rounded once: every step adds exactly one row):
//   kOneDnn  layer-major [A | W_h | W_o | b_o], A = W_x + b_x + b_h:
//            A [N, V, 4H], W_h [N, H, 4H], W_o [N, H, V], b_o [N, V]
//   kSoa     [ceil(N/8) blocks][P' = 4HV + 4H^2 + HV + V][8 lanes]: the same
//            per-particle order (A, W_h, W_o, b_o), lane = particle % 8.
//
// Step()/Unroll() allocate nothing. Results do not depend on the OpenMP
// thread count (work is split over particles, never inside a reduction).
//
// Usage:
//   BatchedLstmConfig config;
//   config.shape = {.vocab_size = 4, .hidden_size = 100};
//   config.batch_size = 32;
//   config.num_particles = 1000;
//   ES_ASSIGN_OR_RETURN-style: auto lstm = BatchedLstm::Create(config);
//   std::vector<float> packed((*lstm)->packed_size());
//   (*lstm)->Pack(thetas, 0, N, absl::MakeSpan(packed));   // thetas: N*P
//   // tokens, targets: [K, N, B] int32; h, c: [N, B, H] float; loss: [N]
//   (*lstm)->Unroll(packed, 0, N, K, tokens, targets, h, c, loss);
//
// Ownership: the caller owns every array; the object owns its primitives and
// scratch (gates and logits of one chunk). Thread safety:
// thread-compatible (one call at a time per object).
#ifndef ES_SINGLE_INNER_KERNELS_BATCHED_LSTM_H_
#define ES_SINGLE_INNER_KERNELS_BATCHED_LSTM_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "inner/kernels/batched_lstm_layout.h"

namespace es {

enum class LstmPath { kAuto, kOneDnn, kSoa };

// kAuto picks kSoa when H < kSoaMaxHidden and H * B <= kSoaMaxHiddenTimesBatch,
// else kOneDnn. Measured (one thread, V = 50, N = 256, docs/lstm_notes.md):
// with B = 1 the SoA path is faster up to H = 24 (H = 32: oneDNN), with
// B = 32 only at H = 8 (H = 16: oneDNN), as oneDNN's matmuls amortise their
// per-call cost over B rows.
inline constexpr int64_t kSoaMaxHidden = 25;
inline constexpr int64_t kSoaMaxHiddenTimesBatch = 256;

struct BatchedLstmConfig {
  LstmShape shape;            // V, H
  int64_t batch_size = 1;     // B, token streams per particle
  int64_t num_particles = 1;  // N
  LstmPath path = LstmPath::kAuto;

  // Shape valid (see LstmShape), B and N in [1, 2^20], and no array over
  // 2^31 floats; names the bad value.
  absl::Status Validate() const;
  // e.g. "V=4 H=100 B=32 N=1000 path=onednn".
  std::string DebugString() const;
  LstmPath ResolvedPath() const;
  // Floats per particle in the packed layout: 4HV + 4H^2 + HV + V.
  int64_t packed_params_per_particle() const;
  int64_t packed_size() const;
  // 2*M*N*K of one step's two products (h W_h and h W_o) for all N.
  double StepFlops() const;
};

class BatchedLstm {
 public:
  static absl::StatusOr<std::unique_ptr<BatchedLstm>> Create(
      const BatchedLstmConfig& config);
  ~BatchedLstm();
  BatchedLstm(const BatchedLstm&) = delete;
  BatchedLstm& operator=(const BatchedLstm&) = delete;

  const BatchedLstmConfig& config() const;
  LstmPath path() const;  // kOneDnn or kSoa, never kAuto
  int64_t packed_size() const;

  // Converts rows [begin, end) of `thetas` (N*P doubles, row-major, row =
  // particle, layout of batched_lstm_layout.h) into `packed`; other particles'
  // packed values are left as they are.
  absl::Status Pack(absl::Span<const double> thetas, int64_t begin,
                    int64_t end, absl::Span<float> packed) const;

  // One step for particles [begin, end): tokens and targets [N, B], h and c
  // [N, B, H] updated in place, loss[i] = step loss (mean over B).
  absl::Status Step(absl::Span<const float> packed, int64_t begin,
                    int64_t end, absl::Span<const int32_t> tokens,
                    absl::Span<const int32_t> targets, absl::Span<float> h,
                    absl::Span<float> c, absl::Span<double> loss);

  // `num_steps` (K >= 1) steps: tokens and targets [K, N, B] (step-major,
  // each step laid out as in Step()); loss[i] = sum of the K step losses
  // (bit-identical to K Step() calls summed in order).
  absl::Status Unroll(absl::Span<const float> packed, int64_t begin,
                      int64_t end, int num_steps,
                      absl::Span<const int32_t> tokens,
                      absl::Span<const int32_t> targets, absl::Span<float> h,
                      absl::Span<float> c, absl::Span<double> loss);

  // The oneDNN implementation of each full-batch primitive, e.g.
  // "gates=brg:avx512_core logits=brg:avx512_core", or "soa" (no oneDNN).
  std::string ImplementationInfo() const;

 private:
  struct Impl;
  explicit BatchedLstm(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace es

#endif  // ES_SINGLE_INNER_KERNELS_BATCHED_LSTM_H_
