// batched_lstm_layout.h - shape, parameter layout and size checks shared by
// the batched LSTM language-model kernel (batched_lstm.h), the single-model
// oneDNN RNN kernel (lstm_rnn.h) and their double reference
// (batched_lstm_reference.h).
//
// Context: the LSTM inner problems of ES-Single (Vicol, Kolter, Swersky,
// ICML 2023): Sec. 3.1 / Fig. 1 (a tiny LSTM on character-level Penn
// Treebank, variance study) and Sec. 4.3 / Figs. 10, 16 (LSTM copy task,
// hidden size 100, 42,804 parameters). Every ES particle carries its own
// weights: theta row i (P doubles) is particle i's LSTM.
//
// Model (one particle; x_t = one-hot token id in [0, V), H hidden units):
//   a_t = W_x[x_t] + b_x + h_{t-1} W_h + b_h        (4H pre-activations)
//   i = sigm(a[0:H])  f = sigm(a[H:2H])  g = tanh(a[2H:3H])  o = sigm(a[3H:4H])
//   c_t = f * c_{t-1} + i * g,    h_t = o * tanh(c_t)
//   z_t = h_t W_o + b_o                               (V logits)
//   loss_t = (1/B) sum_b [ logsumexp(z_t[b]) - z_t[b][y_t[b]] ]
// Gate order i, f, g, o (the order of oneDNN's LSTM and of PyTorch). Input
// and hidden biases are separate parameters (as in PyTorch / cuDNN), so
//   P = 4H(V + H) + 2*4H + H*V + V        (= 42,804 for V = 4, H = 100).
// They enter the maths only through their sum, so their gradients are equal.
//
// Per-particle parameter layout (a row of theta, P contiguous values, every
// matrix row-major with the output index fastest):
//   offset                     what  shape     element
//   0                          W_x   [V, 4H]   W_x[v][g*H + j]
//   4HV                        W_h   [H, 4H]   W_h[k][g*H + j]
//   4H(V+H)                    b_x   [4H]      b_x[g*H + j]
//   4H(V+H) + 4H               b_h   [4H]
//   4H(V+H) + 8H               W_o   [H, V]    W_o[k][v]
//   4H(V+H) + 8H + HV          b_o   [V]
// with gate g in {0: i, 1: f, 2: g, 3: o} and unit j in [0, H).
//
// Batched arrays (row = particle; all cover the whole batch of N particles,
// calls on a sub-range [begin, end) read and write only those rows):
//   tokens, targets  int32 [N, B] for one step; [K, N, B] for K steps
//   h, c             float [N, B, H]
//   loss             double [N]
//
// Usage:
//   LstmShape shape{.vocab_size = 4, .hidden_size = 100};
//   int64_t p = shape.num_params();                       // 42804
//   const double* w_h = theta_row + shape.w_h_offset();    // [H, 4H]
#ifndef ES_SINGLE_INNER_KERNELS_BATCHED_LSTM_LAYOUT_H_
#define ES_SINGLE_INNER_KERNELS_BATCHED_LSTM_LAYOUT_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace es {

// Vocabulary and hidden size of one LSTM language model: the per-particle
// parameter layout depends on these two only.
struct LstmShape {
  int64_t vocab_size = 0;   // V
  int64_t hidden_size = 0;  // H

  // V in [2, 2^16], H in [1, 2^14]; names the bad value.
  absl::Status Validate() const;

  int64_t gates() const { return 4 * hidden_size; }
  int64_t w_x_offset() const { return 0; }
  int64_t w_h_offset() const { return gates() * vocab_size; }
  int64_t b_x_offset() const { return gates() * (vocab_size + hidden_size); }
  int64_t b_h_offset() const { return b_x_offset() + gates(); }
  int64_t w_o_offset() const { return b_h_offset() + gates(); }
  int64_t b_o_offset() const {
    return w_o_offset() + hidden_size * vocab_size;
  }
  // P, parameters per particle.
  int64_t num_params() const { return b_o_offset() + vocab_size; }
};

// Checks that every id in `ids` is in [0, V); `what` names the array
// ("tokens", "targets") and `row_width` (B) is used to report the position as
// (row, column), e.g. "tokens[3][7] = 9 is not a token id in [0, V = 4)".
absl::Status ValidateTokenIds(absl::string_view what,
                              absl::Span<const int32_t> ids, int64_t row_width,
                              int64_t vocab_size, int64_t first_row = 0);

// Checks that a caller's array has exactly `expected` entries.
absl::Status ValidateSize(absl::string_view what, int64_t actual,
                          int64_t expected, absl::string_view shape);

}  // namespace es

#endif  // ES_SINGLE_INNER_KERNELS_BATCHED_LSTM_LAYOUT_H_
