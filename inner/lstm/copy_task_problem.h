// copy_task_problem.h - the LSTM copy task (Mujika et al. 2018) as a batched
// UnrolledProblem for the ES estimators: ES-Single paper (Vicol, Kolter,
// Swersky, ICML 2023) Sec. 4.3, App. C "LSTM Copy Task", Figs. 10 and 16.
//
// Inner problem of particle i (theta row i = the weights of one LSTM):
//   a 1-layer LSTM, one-hot input and softmax output over the 4 copy-task
//   symbols (copy_task.h has the encoding), hidden size H = 100, separate
//   input and hidden biases (as PyTorch's nn.LSTM(4, 100) + nn.Linear(100,
//   4)), so P = 4H(4 + H) + 2*4H + 4H + 4 = 42,804 (the paper's count);
//   layout and maths in inner/kernels/batched_lstm_layout.h;
//   B = 32 streams (the minibatch), state s = (h, c) [B, H] and the position
//   of every stream; never reset between strings;
//   per-step loss L_t = mean over the B streams of the next-symbol
//   cross-entropy in nats; Unroll reports the sum over its K steps.
// The horizon never ends (kNeverEnding): t0 is ignored, the streams carry
// their own positions. Reset (step 0 of an episode) zeroes h and c and
// starts every stream at its first string; the episode key selects the
// strings (copy_task.h: keyed by (key, stream, string index) through Philox).
//
// Curriculum: one CopyCurriculum shared by all particles and owned by the
// problem; string lengths are drawn at the curriculum length T current when
// a string starts. The estimators never touch it (they only see a const
// UnrolledProblem); the training loop advances it between estimator steps:
//   - CopyTaskMeanModel (below) unrolls the unperturbed theta, the "mean
//     model", on its own stream and feeds its loss to AdvanceCurriculum: the
//     paper's rule, at the cost of one extra particle per step;
//   - or AdvanceCurriculum(estimate.mean_loss, K): the mean of the antithetic
//     particles' losses, which equals the mean model's loss up to O(sigma^2)
//     and costs nothing.
// AdvanceCurriculum must not run concurrently with Unroll. Metrics for the
// figures: curriculum().length() (T), max_copied_length(), tokens() (data
// time: characters read by the observed model).
//
// Checkpoints: ParticleStates::Save writes each particle's episode key,
// stream states, h and c, plus a snapshot of the problem's curriculum; Load
// restores them AND sets the problem's curriculum back to the snapshot (it
// decides the data, so it is part of the state).
//
// Performance: Unroll packs only its particle range, once per call
// (docs/lstm_notes.md has the measured per-call costs); the kernel path is
// chosen by BatchedLstm (oneDNN at H = 100, B = 32).
//
// Thread safety: Unroll/Reset on disjoint ranges may run concurrently (the
// kernel call is serialised, lstm_batch.h); AdvanceCurriculum, LoadCurriculum
// and Load must not overlap any other call.
//
// Usage:
//   auto problem = CopyTaskProblem::Create(CopyTaskConfig{});      // H = 100
//   Eigen::VectorXd theta = (*problem)->InitialTheta(/*seed=*/0);
//   auto mean = CopyTaskMeanModel::Create(problem->get(), /*key=*/1);
//   for (...) {
//     auto e = estimator->Step(theta);  opt->Update(e->gradient, &theta);
//     (*mean)->Advance(theta, K);       // raises T when the EMA < 0.15
//     log((*problem)->curriculum().length(), (*problem)->curriculum().tokens());
//   }
#ifndef ES_SINGLE_INNER_LSTM_COPY_TASK_PROBLEM_H_
#define ES_SINGLE_INNER_LSTM_COPY_TASK_PROBLEM_H_

#include <cstdint>
#include <memory>
#include <string>

#include <Eigen/Dense>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "estimators/unrolled_problem.h"
#include "inner/kernels/batched_lstm.h"
#include "inner/kernels/batched_lstm_layout.h"
#include "inner/lstm/copy_task.h"

namespace es {

struct CopyTaskConfig {
  int64_t hidden_size = 100;  // H (paper Sec. 4.3)
  int64_t batch_size = 32;    // B streams per model (App. C)
  CopyCurriculumOptions curriculum;
  LstmPath path = LstmPath::kAuto;

  // H in [1, 2^14], B in [1, 2^16], curriculum valid; names the bad value.
  absl::Status Validate() const;
  LstmShape shape() const { return LstmShape{kCopyVocabSize, hidden_size}; }
};

// Initial weights as PyTorch initialises nn.LSTM(4, H) and nn.Linear(H, 4):
// every one of the P parameters uniform in [-1/sqrt(H), 1/sqrt(H)] (the
// Linear's kaiming_uniform(a = sqrt(5)) bound is also 1/sqrt(fan_in = H)).
// Keyed by RandomKey{seed, Stream::kInit}, coordinate c = index.
Eigen::VectorXd CopyTaskInitialTheta(const LstmShape& shape, uint64_t seed);

class CopyTaskProblem : public UnrolledProblem {
 public:
  static absl::StatusOr<std::unique_ptr<CopyTaskProblem>> Create(
      const CopyTaskConfig& config);

  // "copy_task_H100_B32".
  std::string name() const override;
  int theta_dim() const override {
    return static_cast<int>(config_.shape().num_params());
  }
  int64_t horizon() const override { return kNeverEnding; }

  absl::StatusOr<std::unique_ptr<ParticleStates>> NewStates(
      int num_particles) const override;
  void Reset(ParticleStates* states, absl::Span<const int> particles,
             absl::Span<const uint64_t> episode_keys) const override;
  // t0 is ignored (the streams carry their positions); thetas must have a
  // row for every particle of the batch (N rows), as the estimators pass it.
  absl::Status Unroll(ParticleStates* states, int begin, int end,
                      const RowMatrixXd& thetas, const int64_t* t0,
                      int num_steps, double* losses) const override;

  const CopyTaskConfig& config() const { return config_; }
  const CopyCurriculum& curriculum() const { return *curriculum_; }
  // Feeds the observed model's loss over `num_steps` steps (the sum over the
  // steps of the per-step mean over streams, in nats, as Unroll reports it)
  // to the curriculum: bits per character = loss / (num_steps ln 2), tokens
  // = num_steps * B. Returns true if T was raised. num_steps >= 1.
  bool AdvanceCurriculum(double loss_sum, int num_steps);
  void SaveCurriculum(StateWriter* out) const { curriculum_->Save(out); }
  absl::Status LoadCurriculum(StateReader* in) { return curriculum_->Load(in); }

  Eigen::VectorXd InitialTheta(uint64_t seed) const {
    return CopyTaskInitialTheta(config_.shape(), seed);
  }

  // Inspection (tests, figures): stream `stream` of particle `particle`, its
  // episode key, and its (h, c) as B x H row-major floats.
  CopyStreamState StreamState(const ParticleStates& states, int particle,
                              int stream) const;
  uint64_t EpisodeKey(const ParticleStates& states, int particle) const;
  const float* HiddenState(const ParticleStates& states, int particle) const;
  const float* CellState(const ParticleStates& states, int particle) const;
  // The kernel path of a states object ("soa" or oneDNN implementations).
  std::string ImplementationInfo(const ParticleStates& states) const;

 private:
  explicit CopyTaskProblem(const CopyTaskConfig& config);

  CopyTaskConfig config_;
  // Shared by every states object of this problem (they hold the pointer).
  std::unique_ptr<CopyCurriculum> curriculum_;
};

// The mean model: theta itself (no perturbation) unrolled on its own B
// streams (episode key `key`), whose loss advances the problem's curriculum.
// The problem must outlive it. Thread-compatible.
class CopyTaskMeanModel {
 public:
  static absl::StatusOr<std::unique_ptr<CopyTaskMeanModel>> Create(
      CopyTaskProblem* problem, uint64_t key);

  // Unrolls theta for num_steps >= 1 steps, feeds the loss to
  // AdvanceCurriculum, and returns the loss (sum over steps, nats).
  absl::StatusOr<double> Advance(const Eigen::VectorXd& theta, int num_steps);
  // Back to the start of its stream (h = c = 0), e.g. after a restart.
  void Reset();

  // Its key and states (whose Save includes the curriculum snapshot, so
  // Load also restores the problem's curriculum, as for any states).
  absl::Status Save(StateWriter* out) const;
  absl::Status Load(StateReader* in);

 private:
  CopyTaskMeanModel(CopyTaskProblem* problem,
                    std::unique_ptr<ParticleStates> states, uint64_t key);

  CopyTaskProblem* problem_;
  std::unique_ptr<ParticleStates> states_;
  uint64_t key_;
  RowMatrixXd theta_row_;
};

}  // namespace es

#endif  // ES_SINGLE_INNER_LSTM_COPY_TASK_PROBLEM_H_
