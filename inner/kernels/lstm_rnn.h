// lstm_rnn.h - one LSTM language model (a single weight set, minibatch B,
// window of K steps) with forward AND backward through time on oneDNN's own
// RNN primitives (lstm_forward / lstm_backward, oneDNN 2.6 v2 API), plus the
// one-hot input and the softmax cross-entropy output layer with their
// gradients. For the gradient-based baselines (truncated BPTT on the copy
// task of ES-Single, Vicol et al. ICML 2023, Sec. 4.3 / Fig. 16): the state
// (h, c) is carried across calls, the gradient is truncated at the window.
//
// Maths and parameter layout: batched_lstm_layout.h (the same P-vector as one
// row of theta for BatchedLstm). loss = sum over the K steps of the step loss
// (mean over B); grad = d loss / d theta with no gradient into the initial
// (h, c) and none from beyond the window (diff_dst_iter = 0).
//
// Mapping onto oneDNN's LSTM (checked by lstm_rnn_test against the double
// reference and against BatchedLstm):
//   gate order       oneDNN i, f, c~, o  = ours i, f, g, o (no permutation)
//   weights_layer    ldigo {1, 1, V, 4, H} = our W_x [V, 4H] byte for byte;
//                    the input is one-hot {K, B, V}, so oneDNN's x W_x is the
//                    row gather and its diff_weights_layer is dW_x
//   weights_iter     ldigo {1, 1, H, 4, H} = our W_h [H, 4H]
//   bias             ldgo {1, 1, 4, H} = b_x + b_h (oneDNN has one bias);
//                    diff_bias is the gradient of both b_x and b_h
//   src_iter(_c)     {1, 1, B, H} = h_0, c_0; dst_iter(_c) = h_K, c_K
//   dst_layer        {K, B, H} = h_1..h_K, input of the output layer
// Weights are reordered into whatever format the primitives choose (format
// any); the output layer is three oneDNN matmuls (logits, dW_o, dH).
//
// Usage:
//   LstmRnnConfig config{.shape = {4, 100}, .batch_size = 32,
//                        .seq_length = 10};
//   auto rnn = LstmRnn::Create(config);
//   std::vector<float> h(32 * 100), c(32 * 100);        // carried state
//   std::vector<double> grad(config.shape.num_params());
//   double loss;
//   (*rnn)->ForwardBackward(theta, tokens, targets, absl::MakeSpan(h),
//                           absl::MakeSpan(c), absl::MakeSpan(grad), &loss);
//
// Ownership: the caller owns every array; the object owns its oneDNN
// primitives and buffers (allocated once in Create). Thread safety:
// thread-compatible.
#ifndef ES_SINGLE_INNER_KERNELS_LSTM_RNN_H_
#define ES_SINGLE_INNER_KERNELS_LSTM_RNN_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "inner/kernels/batched_lstm_layout.h"

namespace es {

struct LstmRnnConfig {
  LstmShape shape;          // V, H
  int64_t batch_size = 1;   // B
  int64_t seq_length = 1;   // K, steps per window

  // Shape valid, B and K in [1, 2^20], K * B * max(V, 4H) <= 2^31.
  absl::Status Validate() const;
  std::string DebugString() const;  // e.g. "V=4 H=100 B=32 K=10"
};

class LstmRnn {
 public:
  static absl::StatusOr<std::unique_ptr<LstmRnn>> Create(
      const LstmRnnConfig& config);
  ~LstmRnn();
  LstmRnn(const LstmRnn&) = delete;
  LstmRnn& operator=(const LstmRnn&) = delete;

  const LstmRnnConfig& config() const;

  // K steps forward from (h, c), which are replaced by the final state.
  // theta: P doubles; tokens, targets: [K, B] int32 in [0, V); h, c: [B, H].
  // *loss = sum over steps of the step loss; step_losses, if not empty, gets
  // the K step losses.
  absl::Status Forward(absl::Span<const double> theta,
                       absl::Span<const int32_t> tokens,
                       absl::Span<const int32_t> targets, absl::Span<float> h,
                       absl::Span<float> c, double* loss,
                       absl::Span<double> step_losses = {});

  // Forward() and then backward through the K steps: grad (P doubles,
  // overwritten) = d loss / d theta in the layout of batched_lstm_layout.h.
  absl::Status ForwardBackward(absl::Span<const double> theta,
                               absl::Span<const int32_t> tokens,
                               absl::Span<const int32_t> targets,
                               absl::Span<float> h, absl::Span<float> c,
                               absl::Span<double> grad, double* loss);

  // oneDNN implementations, e.g. "fwd=ref:any bwd=ref:any logits=...".
  std::string ImplementationInfo() const;

 private:
  struct Impl;
  explicit LstmRnn(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace es

#endif  // ES_SINGLE_INNER_KERNELS_LSTM_RNN_H_
