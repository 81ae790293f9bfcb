// lstm_batch.h - the per-batch machinery of the LSTM inner problems
// (char_lm_problem.h, copy_task_problem.h): one BatchedLstm kernel for the N
// particles of a ParticleStates, their float (h, c), the packed weights and
// the [K, N, B] token buffers, with the Unroll sequence every LSTM problem
// runs: fill the tokens of the particle range, pack those particles' theta
// rows, run the kernel.
//
// Paper context: ES-Single (Vicol, Kolter, Swersky, ICML 2023), the LSTM
// problems of Sec. 3.1 (Fig. 1) and Sec. 4.3 (copy task).
//
// Thread safety: the estimators may call Unroll on disjoint particle ranges
// from several threads (online_es.cc ParallelUnroll), but one BatchedLstm
// runs one call at a time (shared chunk scratch). Unroll therefore holds a
// mutex for the fill, pack and kernel call; the kernel itself is
// OpenMP-parallel over particles, so nothing is lost. Because the kernel
// gives a particle the same bits in any sub-range, the results do not depend
// on how the range was split. ZeroState/CopyState touch only the named
// particles' rows (safe beside an Unroll of other particles).
//
// Allocation: Create sizes everything but the token buffers, which grow to
// the largest K seen (under the mutex) and are then reused.
//
// Usage (inside a problem's Unroll):
//   return batch->Unroll(thetas, begin, end, K, [&](int32_t* x, int32_t* y) {
//     ... x[(k * N + i) * B + b] = token, y[...] = target for i in range ...
//   }, losses);
#ifndef ES_SINGLE_INNER_LSTM_LSTM_BATCH_H_
#define ES_SINGLE_INNER_LSTM_LSTM_BATCH_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "estimators/state_io.h"
#include "estimators/unrolled_problem.h"
#include "inner/kernels/batched_lstm.h"

namespace es {

class LstmBatch {
 public:
  static absl::StatusOr<std::unique_ptr<LstmBatch>> Create(
      const BatchedLstmConfig& config);

  const BatchedLstmConfig& config() const { return kernel_->config(); }
  int num_particles() const {
    return static_cast<int>(kernel_->config().num_particles);
  }
  int64_t state_size_per_particle() const { return stride_; }  // B * H

  // Fills tokens/targets [K, N, B] for the particles [begin, end) through
  // `fill` (only those rows are read), packs thetas rows [begin, end) (thetas
  // must have at least N rows of P columns: ValidateUnrollArgs), and runs
  // the kernel for K >= 1 steps; losses[i] for i in [begin, end) gets the
  // sum of the K step losses. K = 0 writes 0 and runs nothing.
  absl::Status Unroll(const RowMatrixXd& thetas, int begin, int end,
                      int num_steps,
                      absl::FunctionRef<void(int32_t* tokens, int32_t* targets)>
                          fill,
                      double* losses);

  void ZeroState(int particle);
  void CopyState(int from, int to);
  float* h(int particle) { return h_.data() + particle * stride_; }
  float* c(int particle) { return c_.data() + particle * stride_; }
  const float* h(int particle) const { return h_.data() + particle * stride_; }
  const float* c(int particle) const { return c_.data() + particle * stride_; }

  // h and c of every particle.
  void Save(StateWriter* out) const;
  absl::Status Load(StateReader* in);

  // The kernel's path ("soa", or the oneDNN implementations).
  std::string ImplementationInfo() const { return kernel_->ImplementationInfo(); }

 private:
  explicit LstmBatch(std::unique_ptr<BatchedLstm> kernel);

  std::unique_ptr<BatchedLstm> kernel_;
  int64_t stride_ = 0;  // B * H
  std::vector<float> h_, c_, packed_;
  std::mutex mutex_;                       // guards everything below
  std::vector<int32_t> tokens_, targets_;  // [K, N, B], grown on demand
};

}  // namespace es

#endif  // ES_SINGLE_INNER_LSTM_LSTM_BATCH_H_
