// lopt_problem.h - learned-optimiser meta-training as a batched
// UnrolledProblem (estimators/unrolled_problem.h): each particle trains its
// own MLP classifier with the LOLv2 learned optimiser whose weights are the
// particle's theta row. The inner problem of the ES-Single paper's Sec. 4.4
// (Fig. 11) and App. C.3 (Fig. 21).
//
// Paper setting (Sec. 4.4): an MLP with two hidden layers of 128 units on
// FashionMNIST, T = 5000 inner steps, truncations K = 10, meta-objective the
// mean training loss over the inner trajectory, breakstep training (App. C.2).
// The reference task (google/learned_optimization tasks/fixed/image_mlp.py,
// ImageMLP_FashionMnist_Relu128x128) uses 28x28 inputs scaled to [0, 1],
// ReLU, softmax cross-entropy and minibatches of 128; see docs/lopt_notes.md.
//
// Inner problem of particle i (episode key k_i, theta row theta_i):
//   w_0: W_l ~ TruncatedNormal(-2, 2) / sqrt(d_l), b_l = 0 (Haiku's default,
//        truncated_normal.h), all momenta m_k = 0; drawn from k_i only, so
//        particles with the same key start from the same network;
//   for t = 0 .. T-1 (t = the step counter before the update):
//     x_t, y_t = training minibatch t (B examples with replacement, keyed by
//                (k_i, t); the same sampler as inner/mlp/mlp_hpo.h)
//     l_t      = CE(w_t; x_t, y_t),  g_t = d l_t / d w_t   (batched_mlp.h)
//     w_{t+1}  = LOLv2 step (features.h, lopt_mlp.h) of w_t with g_t at
//                step t, per tensor W_l / b_l
//   per-step loss L_{t+1} = l_t (the loss of the minibatch at the weights its
//   update starts from, as learned_optimization's truncated step reports it);
//   Unroll returns the sum over its steps, so the meta-objective "mean
//   training loss over the trajectory" is Evaluate(theta) / T.
//
// Batching: one oneDNN batched matmul per inner layer and direction for all
// particles of a call (shared minibatch when every particle has the same
// (key, t), per-particle minibatches otherwise, e.g. in breakstep training),
// then the optimiser MLP over (particle x parameter) rows in chunks of
// rows_per_chunk rows per particle (LoptMlp {N, chunk, 9} x ...), so the
// activations stay in cache. Sub-ranges [begin, end) other than [0, N) run on
// power-of-two workspaces (as inner/mlp/mlp_hpo.h does); the results equal
// those of the particles run alone (tested).
//
// Divergence: non-finite gradients, features, updates or weights propagate
// to a non-finite loss for that particle; nothing traps or crashes.
//
// Errors: a oneDNN kernel that cannot be created or run, or memory that
// cannot be had, is returned as a Status by NewStates or Unroll (the states
// are then unspecified); bad ranges and theta shapes are InvalidArgument.
//
// Checkpoints: ParticleStates::Save/Load write and read the episode keys,
// the weights and the six momenta of every particle (all that later losses
// depend on; the step counters are the caller's t0), so a resumed run
// continues bit for bit (tested by the problem conformance suite).
//
// Allocation: NewStates allocates every buffer and kernel of the N-particle
// workspace; Unroll allocates nothing in the full-range case (oneDNN's own
// execute aside; tested for lockstep in lopt_alloc_test) once the
// per-particle-minibatch kernel exists, which the first call with differing
// keys or step counters creates; sub-range workspaces are created on first
// need and reused.
//
// Thread safety: immutable after Create; Unroll and Reset on disjoint
// particle ranges of one ParticleStates may run concurrently. The kernels
// use OpenMP over all cores, so one caller thread is the efficient choice.
//
// Usage:
//   absl::StatusOr<Dataset> data = LoadFashionMnist();
//   MlpDataView train{data->train.images, data->train.labels, 784};
//   auto problem = LoptProblem::Create(LoptProblemConfig(), train);
//   Eigen::VectorXd theta0 = (*problem)->SampleInitialTheta(/*seed=*/0, 0);
//   auto est = MakeEstimator(problem->get(), spec);   // P = 1762
//   double mean_loss = *(*problem)->Evaluate(theta0, 0, key) / 5000;
#ifndef ES_SINGLE_INNER_LOPT_LOPT_PROBLEM_H_
#define ES_SINGLE_INNER_LOPT_LOPT_PROBLEM_H_

#include <Eigen/Dense>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "estimators/unrolled_problem.h"
#include "inner/lopt/lopt_mlp.h"
#include "inner/mlp/mlp_hpo.h"

namespace es {

struct LoptProblemConfig {
  std::vector<int64_t> hidden_sizes = {128, 128};  // inner MLP (Sec. 4.4)
  int64_t num_classes = 10;
  int64_t batch_size = 128;  // B (image_mlp.py)
  int64_t horizon = 5000;    // T (Sec. 4.4)
  // The optimiser MLP's hidden layers (LOLv2: two of 32).
  std::vector<int64_t> lopt_hidden_sizes = {32, 32};
  // Optimiser-MLP rows per particle per matmul call (a performance knob; the
  // results do not depend on it). Clamped to the inner parameter count.
  int64_t rows_per_chunk = 4096;

  // Says which value is wrong and what is allowed.
  absl::Status Validate() const;
};

class LoptProblem : public UnrolledProblem {
 public:
  // Validates the config and the data (feature count, labels in
  // [0, num_classes), at least one example) and creates one kernel of each
  // kind to check that oneDNN accepts the shapes.
  static absl::StatusOr<std::unique_ptr<LoptProblem>> Create(
      const LoptProblemConfig& config, MlpDataView train);
  ~LoptProblem() override;

  // e.g. "lopt_784-128-128-10_B128_T5000".
  std::string name() const override;
  int theta_dim() const override;
  int64_t horizon() const override { return config_.horizon; }
  // Allocates the whole N-particle workspace (ResourceExhausted if it does
  // not fit, a kernel's Status if oneDNN refuses it).
  absl::StatusOr<std::unique_ptr<ParticleStates>> NewStates(
      int num_particles) const override;
  void Reset(ParticleStates* states, absl::Span<const int> particles,
             absl::Span<const uint64_t> episode_keys) const override;
  absl::Status Unroll(ParticleStates* states, int begin, int end,
                      const RowMatrixXd& thetas, const int64_t* t0,
                      int num_steps, double* losses) const override;

  const LoptProblemConfig& config() const { return config_; }
  // {d_0, h_1, ..., C}.
  const std::vector<int64_t>& layer_sizes() const { return layer_sizes_; }
  // M: weights and biases of one inner network (= optimiser rows per step).
  int64_t params_per_particle() const { return params_per_particle_; }
  // The optimiser MLP's shape (N = 1, rows = the chunk size).
  const LoptMlpConfig& lopt_config() const { return lopt_config_; }
  // Matmul flops of one inner step of one particle: inner forward + backward
  // plus the optimiser MLP over M rows (as executed, LoptMlpConfig::
  // FlopsPerRow).
  double FlopsPerParticleStep() const;

  // Haiku's default initialisation of the optimiser MLP
  // (LoptMlpInitialTheta), the reference code's starting point.
  Eigen::VectorXd SampleInitialTheta(uint64_t seed, uint64_t index) const;

  // Training-set indices of minibatch t of episode `key` (B entries).
  void TrainIndices(uint64_t key, int64_t t, int64_t* out) const;

  // One network's parameters in per-particle order [W_0 | b_0 | W_1 | ...]
  // (W_l row-major d_l x d_{l+1}); momentum k of the same layout.
  std::vector<float> GetParticleParams(const ParticleStates& states,
                                       int particle) const;
  std::vector<float> GetParticleMomentum(const ParticleStates& states,
                                         int particle, int k) const;

 private:
  LoptProblem(const LoptProblemConfig& config, MlpDataView train);

  LoptProblemConfig config_;
  MlpDataView train_;
  std::vector<int64_t> layer_sizes_;
  int64_t params_per_particle_ = 0;
  int64_t chunk_ = 0;          // rows per particle per optimiser-MLP call
  LoptMlpConfig lopt_config_;  // N = 1, rows = chunk_
  int theta_dim_ = 0;          // P
};

}  // namespace es

#endif  // ES_SINGLE_INNER_LOPT_LOPT_PROBLEM_H_
