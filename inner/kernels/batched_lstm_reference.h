// batched_lstm_reference.h - naive double-precision reference for the LSTM
// kernels (batched_lstm.h forward, lstm_rnn.h forward and backward): the maths
// of batched_lstm_layout.h, one particle at a time with Eigen, no packing, no
// folding of biases, no oneDNN. For tests only.
//
// Paper: Vicol et al., ICML 2023 (ES-Single), Sec. 3.1 / 4.3 LSTM problems.
//
// Forward (one particle, B streams, row = stream):
//   A_t = onehot(x_t) W_x + 1 b_x^T + H_{t-1} W_h + 1 b_h^T      (B x 4H)
//   I, F, O = sigm(A blocks 0, 1, 3);  G = tanh(A block 2)
//   C_t = F .* C_{t-1} + I .* G;  H_t = O .* tanh(C_t)
//   Z_t = H_t W_o + 1 b_o^T;  loss_t = (1/B) sum_b [lse(Z_t[b]) - Z_t[b, y]]
// Backward through time (truncated: no gradient into H_0, C_0):
//   dZ_t = (softmax(Z_t) - onehot(y_t)) / B
//   dH   = dZ_t W_o^T + dH_next;  dC = dH .* O .* (1 - tanh^2 C_t) + dC_next
//   dA   = [dC.*G.*I.*(1-I), dC.*C_{t-1}.*F.*(1-F), dC.*I.*(1-G^2),
//           dH.*tanh(C_t).*O.*(1-O)]
//   dW_o += H_t^T dZ_t, db_o += 1^T dZ_t, dW_h += H_{t-1}^T dA,
//   db_x += 1^T dA, db_h += 1^T dA, dW_x[x_t[b]] += dA[b],
//   dH_next = dA W_h^T, dC_next = dC .* F
//
// Usage:
//   LstmReferenceState s{Eigen::MatrixXd::Zero(B, H), Eigen::MatrixXd::Zero(B, H)};
//   std::vector<double> grad;
//   double loss = LstmReferenceUnroll(shape, B, theta_row, K, tokens,
//                                     targets, &s, &grad);
#ifndef ES_SINGLE_INNER_KERNELS_BATCHED_LSTM_REFERENCE_H_
#define ES_SINGLE_INNER_KERNELS_BATCHED_LSTM_REFERENCE_H_

#include <cstdint>
#include <vector>

#include <Eigen/Dense>

#include "inner/kernels/batched_lstm_layout.h"

namespace es {

struct LstmReferenceState {
  Eigen::MatrixXd h, c;  // B x H each
};

// K steps of one particle. theta: P doubles (layout of batched_lstm_layout.h);
// tokens, targets: [K][B] (step-major); `state` is advanced in place. Returns
// the sum over steps of the step losses (mean over B). If `grad` is not null
// it is resized to P and receives d(returned loss)/d(theta) by truncated BPTT
// (no gradient flows into the initial state). If `step_losses` is not null it
// receives the K step losses.
double LstmReferenceUnroll(const LstmShape& shape, int64_t batch,
                           const double* theta, int num_steps,
                           const int32_t* tokens, const int32_t* targets,
                           LstmReferenceState* state,
                           std::vector<double>* grad = nullptr,
                           std::vector<double>* step_losses = nullptr);

// All particles [begin, end) of a batch, arrays laid out as for
// BatchedLstm::Unroll: thetas [N, P], tokens/targets [K, N, B], h and c
// [N, B, H] (double here) advanced in place, loss [N] (sum over steps).
void LstmReferenceBatchedUnroll(const LstmShape& shape, int64_t batch,
                                int64_t num_particles, int64_t begin,
                                int64_t end, const double* thetas,
                                int num_steps, const int32_t* tokens,
                                const int32_t* targets, double* h, double* c,
                                double* loss);

// Deterministic test data: `count` values uniform in [-scale, scale) (a hash
// of (seed, index), no global generator), and token ids in [0, V).
std::vector<double> LstmTestValues(int64_t count, double scale, uint64_t seed);
std::vector<int32_t> LstmTestTokens(int64_t count, int64_t vocab_size,
                                    uint64_t seed);

}  // namespace es

#endif  // ES_SINGLE_INNER_KERNELS_BATCHED_LSTM_REFERENCE_H_
