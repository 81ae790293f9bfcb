// mlp_hpo.h - hyperparameter optimisation of an MLP trained by SGD with
// momentum, as a batched UnrolledProblem (estimators/unrolled_problem.h):
// the inner problems of the ES-Single paper's Sec. 4.2 and App. C
// ("Meta-Learning MNIST LR Schedule", "Tuning Many Hyperparameters",
// "Telescoping Sums", "Meta-Gradient Comparison"; Figs. 7, 8, 9, 17-19).
//
// Inner problem (one per particle i, all N trained at once on the batched
// oneDNN kernel inner/kernels/batched_mlp.h, float32):
//   an MLP d_0 - h_1 - ... - h_H - C with ReLU, softmax cross-entropy;
//   weights w_0 from the episode key (W_l ~ N(0, 2 / d_l) for hidden layers,
//   N(0, 1 / d_l) for the output layer, biases 0), momentum buffers v_0 = 0;
//   for t = 0 .. T-1 (t = step counter BEFORE the update):
//     x_t, y_t  = training minibatch t (B examples, drawn with replacement,
//                 keyed by (episode key, t))
//     l_t       = CE(w_t; x_t, y_t),  g_t = d l_t / d w_t
//     per parameter block b (each W_l and each b_l):
//       v_b <- mu_b v_b + g_b;   w_b <- w_b - alpha_{b,t} v_b
//   (PyTorch-style heavy-ball momentum).
//
// Per-step losses L_t reported by Unroll (Objective):
//   kSumTrainLoss       L_t = l_t, the loss of minibatch t at the weights its
//                       update starts from (as the PES reference code does);
//   kSumValidationLoss  L_t = CE(w_{t+1}; validation minibatch t), after the
//                       update (one extra forward pass per step).
// MeasureLoss gives the training loss of each particle's current weights on
// a minibatch of measure_batch_size (1000) training examples fixed for the
// whole inner problem (drawn from the episode key). Wrapped in
// TelescopingProblem (estimators/telescoping.h, paper eq. 6) this targets the
// final training loss L_T (Fig. 8, App. C "Telescoping Sums").
//
// Outer parameters theta (Parametrization), all unconstrained (App. C):
//   kLrSchedule  P = 2, theta = (log init LR, log LR decay):
//                  alpha_t = exp(theta_0) / (1 + t / Q)^exp(theta_1)
//                (Sec. 4.2, Q = 5000; Fig. 7's axes are "Log Init LR" and
//                "Log LR Decay"), momentum fixed at fixed_momentum (0.9).
//   kGlobalLr    P = 1, alpha_t = exp(theta_0), fixed momentum (Fig. 19).
//   kPerBlock    P = 4L + H for L = H + 1 weight matrices (29 for the 5x100
//                MLP of Fig. 9):
//                  theta[2l], theta[2l+1]         log LR of W_l, b_l
//                  theta[2L+2l], theta[2L+2l+1]   logit momentum of W_l, b_l
//                  theta[4L+h]                    logit width of hidden layer h
//                alpha = exp(.), mu = sigmoid(.), and hidden layer h uses the
//                first k_h = clamp(round(sigmoid(.) * h_max), min_units,
//                h_max) units (nested dropout: the rest output 0 and get
//                zero gradient). ThetaNames() lists the coordinates.
//
// Randomness (estimators/philox.h), all keyed by the episode key that Reset
// receives, so both members of an antithetic pair and all particles in
// lockstep see the same initial weights and the same minibatches:
//   initial weights  RandomKey{key, Stream::kInit}, draw = layer,
//                    pair = chunk of 4096 coordinates;
//   minibatches      RandomKey{key, Stream::kMinibatch}, draw = t,
//                    pair 0 = training, 1 = validation, 2 = measurement set
//                    (draw 0). Example index = (32 random bits * n) >> 32.
//
// Batching: particles that share (episode key, step counter) share each
// minibatch; a call whose particles all share them runs the kernel in
// InputMode::kShared (one minibatch broadcast to all particles, the lockstep
// case). Otherwise (a pair restarted after divergence, breakstep) the kernel
// runs with one minibatch per particle. The full range [0, N) runs in place
// on the N-particle kernel. Any other range [begin, end) is split into
// chunks of power-of-two sizes, each gathered into a workspace of that size,
// run, and scattered back, so every range is handled correctly at a bounded
// memory cost (at most ~N particles' worth of workspaces per concurrent
// caller).
//
// Allocation: NewStates allocates the parameters, momentum, gradients, the
// N-particle shared-input kernel and the minibatch buffers. Unroll and
// MeasureLoss allocate nothing in the lockstep full-range case; the
// per-particle-input kernel of a workspace and the power-of-two workspaces
// for sub-ranges are created on first need and reused afterwards.
//
// Divergence: non-finite learning rates, weights or losses propagate to a
// non-finite loss for that particle (NaN or inf); nothing traps or crashes
// (estimators drop such pairs, online_es.h). A non-finite width logit uses
// every unit.
//
// Thread safety: the problem is immutable after Create and may be shared.
// Unroll, MeasureLoss and Reset on disjoint particle ranges of one
// ParticleStates may run concurrently. The kernels use OpenMP over all cores,
// so one caller thread is the efficient choice.
//
// Data: the problem does not own the data. MlpDataView points at images
// [n, d_0] (row = example, floats) and labels [n] (int32 in [0, C)), e.g.
// inner/data's LabeledImages; the arrays must outlive the problem.
//
// Files (one job each): mlp_hpo_config.h (MlpHpoConfig), mlp_hpo_codec.h
// (theta -> learning rates, momenta, widths; the schedule; ThetaNames;
// SampleInitialTheta), mlp_minibatch.h (MlpDataView, the minibatch sampler),
// mlp_sgd_step.h (the update of one block), mlp_hpo_workspace.h (buffers,
// kernels, ParticleStates, chunking; internal), mlp_hpo.cc (the problem).
// mlp_hypergradient.h trains one network of this problem with the same
// codec and update (the GDTUO baseline).
//
// Usage:
//   MlpHpoConfig config;                       // 784-100-100-10, Fig. 7/8
//   config.parametrization = MlpHpoConfig::Parametrization::kLrSchedule;
//   auto problem = MlpHpoProblem::Create(config, train_view, valid_view);
//   TelescopingProblem target(problem->get());  // final training loss
//   auto est = MakeEstimator(&target, spec);
//   double meta_loss = *(*problem)->Evaluate(theta, /*length=*/0, /*key=*/7);
#ifndef ES_SINGLE_INNER_MLP_MLP_HPO_H_
#define ES_SINGLE_INNER_MLP_MLP_HPO_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <Eigen/Dense>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "estimators/unrolled_problem.h"
#include "inner/mlp/mlp_hpo_codec.h"   // MlpHyperparameters
#include "inner/mlp/mlp_hpo_config.h"  // MlpHpoConfig
#include "inner/mlp/mlp_minibatch.h"   // MlpDataView

namespace es {

// Full-unroll evaluation of many thetas on one inner problem (episode key).
struct MlpEvaluation {
  std::vector<double> sum_loss;    // sum of the objective's per-step losses
  std::vector<double> final_loss;  // MeasureLoss after the last step (L_T)
};

class MlpHpoProblem : public UnrolledProblem {
 public:
  // Validates the config and the data (feature counts, label ranges, at least
  // one example; validation data only needed for kSumValidationLoss) and
  // checks that the oneDNN kernel can be created.
  static absl::StatusOr<std::unique_ptr<MlpHpoProblem>> Create(
      const MlpHpoConfig& config, MlpDataView train, MlpDataView validation);

  ~MlpHpoProblem() override;

  // "mlp_hpo_<layers>_<parametrization>_<objective>", e.g.
  // "mlp_hpo_784-100-100-10_lr_schedule_train".
  std::string name() const override;
  int theta_dim() const override;
  int64_t horizon() const override { return config_.horizon; }
  absl::StatusOr<std::unique_ptr<ParticleStates>> NewStates(
      int num_particles) const override;
  void Reset(ParticleStates* states, absl::Span<const int> particles,
             absl::Span<const uint64_t> episode_keys) const override;
  absl::Status Unroll(ParticleStates* states, int begin, int end,
                      const RowMatrixXd& thetas, const int64_t* t0,
                      int num_steps, double* losses) const override;
  // Training loss on the inner problem's fixed measurement minibatch.
  absl::Status MeasureLoss(ParticleStates* states, int begin, int end,
                           const RowMatrixXd& thetas,
                           double* losses) const override;
  // Sum of the per-step losses of a full unroll (EvaluateBatch, one row).
  absl::StatusOr<double> Evaluate(const Eigen::VectorXd& theta, int64_t length,
                                  uint64_t key) const override;

  // Evaluates every row of `thetas` on the inner problem of episode `key`
  // (same initial weights and minibatches for all rows), `length` steps
  // (<= 0: T), batched over rows in groups of at most `max_batch`.
  absl::StatusOr<MlpEvaluation> EvaluateBatch(const RowMatrixXd& thetas,
                                              int64_t length, uint64_t key,
                                              int max_batch = 64) const;

  // Hyperparameters of theta at step t (learning rates include the schedule).
  MlpHyperparameters Decode(const Eigen::VectorXd& theta, int64_t t) const;
  // Names of the theta coordinates, e.g. "log_lr_W0", "logit_mom_b2",
  // "logit_width_h1", "log_init_lr", "log_lr_decay".
  std::vector<std::string> ThetaNames() const;

  // {d_0, h_1, ..., h_H, C}.
  const std::vector<int64_t>& layer_sizes() const { return layer_sizes_; }
  const MlpHpoConfig& config() const { return config_; }
  // Parameters (weights and biases) of one network.
  int64_t params_per_particle() const { return params_per_particle_; }
  // Matmul flops of one inner step of one particle at full width: forward +
  // backward, plus the validation forward for kSumValidationLoss.
  double FlopsPerParticleStep() const;
  // Parameters, momentum and gradients (float) plus per-particle minibatch
  // activations: what NewStates and an Unroll allocate per particle.
  double BytesPerParticle() const override;

  // Training-set indices of minibatch t of episode `key` (B entries), of the
  // validation minibatch t, and of the measurement set (measure_batch_size).
  void TrainIndices(uint64_t key, int64_t t, int64_t* out) const;
  void ValidationIndices(uint64_t key, int64_t t, int64_t* out) const;
  void MeasureIndices(uint64_t key, int64_t* out) const;

  // One network's parameters in per-particle order [W_0 | b_0 | W_1 | ...]
  // (W_l row-major d_l x d_{l+1}), for tests and inspection.
  std::vector<float> GetParticleParams(const ParticleStates& states,
                                       int particle) const;
  void SetParticleParams(ParticleStates* states, int particle,
                         absl::Span<const float> params) const;

  // App. C random initialisation for kPerBlock (Fig. 9): log LR uniform in
  // (log 1e-4, log 1e-2), momentum logit uniform in (logit 0.01, logit 0.9),
  // width logit uniform in (logit 0.2, logit 0.8); for the other
  // parametrisations log LR uniform in (log 1e-4, log 1e-2) and log decay
  // uniform in (log 0.1, log 10). Keyed by (seed, index) on Stream::kUser.
  Eigen::VectorXd SampleInitialTheta(uint64_t seed, uint64_t index) const;

 private:
  MlpHpoProblem(const MlpHpoConfig& config, MlpDataView train,
                MlpDataView validation);

  MlpHpoConfig config_;
  MlpDataView train_, validation_;
  std::vector<int64_t> layer_sizes_;
  int64_t params_per_particle_ = 0;
};

}  // namespace es

#endif  // ES_SINGLE_INNER_MLP_MLP_HPO_H_
