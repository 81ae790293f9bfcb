// copy_task_tbptt.h - the differentiable single-model path of the copy task:
// truncated backpropagation through time (TBPTT, Williams & Peng 1990) on
// one LSTM, the baseline of ES-Single's Fig. 16 (Vicol, Kolter, Swersky, ICML
// 2023, App. C "LSTM Copy Task": "TBP" curves at several truncations).
//
// The model, data and curriculum are those of the ES problem
// (copy_task_problem.h, copy_task.h): the same B streams for an episode key,
// the same per-step loss (mean over streams of the next-symbol cross-entropy,
// nats). TBPTT with truncation K runs windows of K steps: from the carried
// state (h, c) it computes
//   loss_w = sum_{t in window} L_t,   g_w = d loss_w / d theta
// with no gradient into the window's initial state (oneDNN lstm_forward /
// lstm_backward, inner/kernels/lstm_rnn.h), then carries (h_K, c_K) and the
// stream positions into the next window. g_w is the gradient of the SUM over
// the window (the objective the ES estimators target); PyTorch's usual mean
// over K * B is g_w / K (Adam is insensitive to that scale). The streams are
// never reset (online, as for ES).
//
// Training (Fig. 16): TrainStep = Window at theta, OuterOptimizer::Update
// (estimators/optimizer.h, Adam(0.9, 0.999) in the paper), then the
// curriculum observes the window's bits per character (this model is its own
// mean model). A non-finite loss or gradient (divergence) skips the update and
// is counted; it is not an error.
//
// Ownership: owns its LstmRnn (primitives for B and K), the state and the
// curriculum. Thread-compatible.
//
// Usage:
//   auto tbptt = CopyTaskTbptt::Create(CopyTaskConfig{}, /*truncation=*/50,
//                                      /*key=*/7);
//   auto opt = MakeOptimizer({.kind = "adam", .learning_rate = 1e-3}, P);
//   Eigen::VectorXd theta = CopyTaskInitialTheta(config.shape(), 0);
//   for (...) {
//     auto r = (*tbptt)->TrainStep(opt->get(), &theta);
//     log((*tbptt)->curriculum().length(), (*tbptt)->curriculum().tokens());
//   }
#ifndef ES_SINGLE_INNER_LSTM_COPY_TASK_TBPTT_H_
#define ES_SINGLE_INNER_LSTM_COPY_TASK_TBPTT_H_

#include <cstdint>
#include <memory>
#include <vector>

#include <Eigen/Dense>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "estimators/optimizer.h"
#include "estimators/state_io.h"
#include "inner/kernels/lstm_rnn.h"
#include "inner/lstm/copy_task.h"
#include "inner/lstm/copy_task_problem.h"

namespace es {

struct TbpttStepResult {
  double loss = 0.0;           // window loss (sum over the K steps, nats)
  double bits_per_char = 0.0;  // loss / (K ln 2)
  bool raised = false;         // the curriculum raised T after this step
  bool skipped = false;        // non-finite loss or gradient: no update
};

class CopyTaskTbptt {
 public:
  // config as for the ES problem (its `path` is unused); truncation K >= 1.
  static absl::StatusOr<std::unique_ptr<CopyTaskTbptt>> Create(
      const CopyTaskConfig& config, int truncation, uint64_t key);
  ~CopyTaskTbptt();

  int theta_dim() const { return static_cast<int>(shape_.num_params()); }
  int truncation() const { return truncation_; }
  const CopyTaskConfig& config() const { return config_; }

  // One window at theta (P entries): *loss and *grad (resized to P) as in
  // the banner; advances the streams and (h, c).
  absl::Status Window(const Eigen::VectorXd& theta, Eigen::VectorXd* grad,
                      double* loss);
  // The same window without the backward pass.
  absl::Status Forward(const Eigen::VectorXd& theta, double* loss);
  // Window, optimizer->Update(grad, theta) and curriculum.Observe.
  absl::StatusOr<TbpttStepResult> TrainStep(OuterOptimizer* optimizer,
                                            Eigen::VectorXd* theta);

  const CopyCurriculum& curriculum() const { return curriculum_; }
  CopyCurriculum* mutable_curriculum() { return &curriculum_; }
  int64_t skipped_updates() const { return skipped_; }

  // Back to the start of the episode `key` (h = c = 0, first strings drawn
  // at the current curriculum length); the curriculum is kept.
  void Reset(uint64_t key);
  uint64_t key() const { return key_; }
  const CopyStreamState& stream(int b) const { return streams_[b]; }
  const std::vector<float>& h() const { return h_; }  // [B, H]
  const std::vector<float>& c() const { return c_; }

  // Key, streams, (h, c), curriculum and counters.
  void Save(StateWriter* out) const;
  absl::Status Load(StateReader* in);

 private:
  CopyTaskTbptt(const CopyTaskConfig& config, int truncation, uint64_t key,
                std::unique_ptr<LstmRnn> rnn);
  void FillWindow();
  absl::Status CheckTheta(const Eigen::VectorXd& theta) const;

  CopyTaskConfig config_;
  LstmShape shape_;
  int truncation_;
  uint64_t key_;
  std::unique_ptr<LstmRnn> rnn_;
  CopyCurriculum curriculum_;
  std::vector<CopyStreamState> streams_;  // [B]
  std::vector<float> h_, c_;              // [B, H]
  std::vector<int32_t> tokens_, targets_; // [K, B]
  Eigen::VectorXd grad_;
  int64_t skipped_ = 0;
};

}  // namespace es

#endif  // ES_SINGLE_INNER_LSTM_COPY_TASK_TBPTT_H_
