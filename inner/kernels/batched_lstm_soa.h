// batched_lstm_soa.h - the structure-of-arrays path of BatchedLstm (see
// batched_lstm.h) for tiny hidden sizes (Fig. 1 of ES-Single: H = 5, V = 50,
// N = 1000), where oneDNN's per-call overhead would dominate. Internal to the
// batched_lstm target; callers use BatchedLstm.
//
// Particles go 8 to a block, particle i in lane i % 8 of block i / 8. The
// packed parameters of a block are [P'][8] floats (P' = 4HV + 4H^2 + HV + V,
// order A = W_x + b_x + b_h, W_h, W_o, b_o, each row-major as in
// batched_lstm_layout.h), so every multiply-add is one 8-wide vector
// operation over 8 particles. A block runs all K steps before the next block
// starts: its weights (P' * 32 bytes, 46 KB for H = 5, V = 50) stay in cache.
// State h, c is copied into the block's [B][H][8] scratch and back; lanes
// outside [begin, end) compute on zeros and are never written back.
//
// Usage (what BatchedLstm does):
//   lstm_soa::Pack(config, thetas, begin, end, packed);
//   lstm_soa::Unroll(config, packed, begin, end, K, tokens, targets, h, c,
//                    loss, scratch);
#ifndef ES_SINGLE_INNER_KERNELS_BATCHED_LSTM_SOA_H_
#define ES_SINGLE_INNER_KERNELS_BATCHED_LSTM_SOA_H_

#include <cstdint>

#include "inner/kernels/batched_lstm.h"

namespace es {
namespace lstm_soa {

inline constexpr int64_t kLanes = 8;

inline int64_t NumBlocks(const BatchedLstmConfig& c) {
  return (c.num_particles + kLanes - 1) / kLanes;
}
// Floats of packed parameters: NumBlocks * P' * 8.
int64_t PackedSize(const BatchedLstmConfig& c);
// Floats of scratch: NumBlocks * (2 B H + 4H + V) * 8.
int64_t ScratchSize(const BatchedLstmConfig& c);

// Rows [begin, end) of thetas (N x P doubles) into `packed`; lanes past N of
// the last block are zeroed when that block is packed.
void Pack(const BatchedLstmConfig& c, const double* thetas, int64_t begin,
          int64_t end, float* packed);

// K steps for particles [begin, end); arrays as in BatchedLstm::Unroll (sizes
// and token ids already checked). loss[i] = sum over steps of the step loss.
void Unroll(const BatchedLstmConfig& c, const float* packed, int64_t begin,
            int64_t end, int num_steps, const int32_t* tokens,
            const int32_t* targets, float* h, float* c_state, double* loss,
            float* scratch);

}  // namespace lstm_soa
}  // namespace es

#endif  // ES_SINGLE_INNER_KERNELS_BATCHED_LSTM_SOA_H_
