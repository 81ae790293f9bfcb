// cifar_hpo_problem.h - hyperparameter optimisation of a ResNet trained on
// CIFAR-10 by SGD with momentum, as a batched UnrolledProblem
// (estimators/unrolled_problem.h): the inner problems of the ES-Single
// paper's App. C.5 (Figs. 23 and 24).
//
// Inner problem (one per particle i, all N trained at once on the batched
// oneDNN kernel batched_resnet.h, float32; hyperparameters and theta layout
// in cifar_hpo_config.h):
//   the Myrtle ResNet of resnet_layout.h (paper: widths 32-64-128-256, 1.6M
//   parameters); weights w_0 from the episode key as Haiku initialises them
//   (the PES code's network): conv weights truncated normal (+-2 sd) with
//   variance 1 / fan_in, fc weights truncated normal with sd 1/sqrt(fan_in),
//   gamma = 1, beta = 0; momentum buffers v_0 = 0; running statistics 0;
//   for t = 0 .. T-1 (t = step counter BEFORE the update):
//     x_t, y_t = training minibatch t (B examples with replacement, keyed by
//                (episode key, t))
//     forward in training mode (batch statistics), g_t = d CE / d w_t;
//     running stats: h <- m h + (1 - m) batch stats (m = bn_momentum 0.9),
//                    used as h / (1 - m^(t+1)) (zero-debiased, as Haiku)
//     per parameter block b: v_b <- mu_b v_b + g_b; w_b <- w_b - alpha_b v_b
//     (PyTorch-style heavy ball; the PES code's sgdm with weight decay 1e-10,
//     which we omit)
//   per-step loss L_t (CifarHpoConfig::Objective): by default the
//   cross-entropy of w_{t+1} on validation minibatch t, batch norm in
//   inference mode with the running statistics (the paper's "sum of
//   validation losses"; the PES code's val_sum_loss).
// Data split (inner/data/cifar_reader.h): train = the first 40000 training
// images, validation = the last 10000.
//
// Randomness (estimators/philox.h), keyed by the episode key of Reset, so
// both members of an antithetic pair and all particles in lockstep share
// initial weights and minibatches:
//   initial weights  RandomKey{key, Stream::kInit}, draw = tensor (conv l =
//                    l, fc = 8), pair = attempt of the truncation (0, then
//                    1, 2, ... for redraws), coordinate = index in the tensor;
//   minibatches      RandomKey{key, Stream::kMinibatch}, draw = t, pair 0 =
//                    training, 1 = validation; index = (32 bits * n) >> 32.
//
// Batching (as inner/mlp/mlp_hpo.h): particles sharing (episode key, step)
// share each minibatch and the kernel runs with one broadcast minibatch;
// otherwise with one minibatch per particle. [0, N) runs in place; other ranges
// run in power-of-two chunks on pooled workspaces (parameters, momentum and
// running statistics copied in and back), so every range works at bounded
// memory.
//
// Allocation: NewStates allocates parameters, momentum, gradients, running
// statistics, the N-particle kernel and the minibatch buffers; Unroll
// allocates nothing in the lockstep full-range case (the per-particle kernel
// and sub-range workspaces are created on first need, then reused).
// Memory limit: before allocating, NewStates(n) estimates what the states
// will hold (EstimateStateBytes: both kernels included) and fails with
// ResourceExhausted naming the number when it exceeds
// CifarHpoConfig::max_state_bytes (default: physical memory); Unroll does
// the same before adding a sub-range workspace. At the paper's widths and
// B = 100 the estimate is about 0.8 GB per particle.
//
// Checkpoints: ParticleStates::Save/Load write and read the episode keys,
// parameters, momentum buffers and running batch-norm statistics of every
// particle (everything later losses depend on; step counters are the
// caller's t0), so a resumed run continues bit for bit.
//
// Divergence: a non-finite learning rate, weight or loss gives that particle
// a non-finite loss; nothing traps. Errors: a kernel that cannot be created
// or run, and memory that cannot be had, come back from NewStates / Unroll
// as a Status (the states are then unspecified). Thread safety: immutable after Create;
// Unroll and Reset on disjoint particle ranges may run concurrently. The
// kernel uses OpenMP over all cores, so one caller thread is efficient.
//
// Usage:
//   absl::StatusOr<CifarDataset> data = LoadCifar10();
//   CifarHpoConfig config = CifarHpoConfig::Fig23();
//   auto problem = CifarHpoProblem::Create(config, CifarView(data->train),
//                                          CifarView(data->validation));
//   auto est = MakeEstimator(problem->get(), spec);   // K = 20 for Fig. 23
#ifndef ES_SINGLE_INNER_CIFAR_CIFAR_HPO_PROBLEM_H_
#define ES_SINGLE_INNER_CIFAR_CIFAR_HPO_PROBLEM_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "estimators/unrolled_problem.h"
#include "inner/cifar/cifar_hpo_config.h"
#include "inner/data/cifar_reader.h"
#include "inner/mlp/mlp_hpo.h"  // MlpDataView

namespace es {

// A view of a CIFAR set (images [n, 3072]); `set` must outlive the view.
MlpDataView CifarView(const CifarImages& set);

class CifarHpoProblem : public UnrolledProblem {
 public:
  // Validates the config and the data (image size 3 * S * S floats, labels
  // in [0, C), at least one example; validation data needed only for
  // kSumValidationLoss) and checks that the kernel can be created.
  static absl::StatusOr<std::unique_ptr<CifarHpoProblem>> Create(
      const CifarHpoConfig& config, MlpDataView train, MlpDataView validation);

  ~CifarHpoProblem() override;

  // e.g. "cifar_hpo_myrtle32-64-128-256_global_valid".
  std::string name() const override;
  int theta_dim() const override { return CifarThetaDim(config_); }
  int64_t horizon() const override { return config_.horizon; }
  absl::StatusOr<std::unique_ptr<ParticleStates>> NewStates(
      int num_particles) const override;
  void Reset(ParticleStates* states, absl::Span<const int> particles,
             absl::Span<const uint64_t> episode_keys) const override;
  absl::Status Unroll(ParticleStates* states, int begin, int end,
                      const RowMatrixXd& thetas, const int64_t* t0,
                      int num_steps, double* losses) const override;

  const CifarHpoConfig& config() const { return config_; }
  std::vector<std::string> ThetaNames() const {
    return CifarThetaNames(config_);
  }
  // Convolution and matmul flops of one inner step of one particle at full
  // width (forward + backward, plus the validation forward).
  double FlopsPerParticleStep() const;
  int64_t params_per_particle() const;
  // Upper bound of the bytes NewStates(n) states hold once both of their
  // kernels (broadcast and per-particle minibatches) exist, from the shapes
  // alone (BatchedResNet::EstimateBytes plus the workspace arrays).
  double EstimateStateBytes(int64_t num_particles) const;
  // The limit NewStates checks it against (config().max_state_bytes, or
  // the physical memory when that is 0).
  int64_t max_state_bytes() const;

  // Training-set indices of minibatch t of episode `key` (B entries), and
  // of validation minibatch t.
  void TrainIndices(uint64_t key, int64_t t, int64_t* out) const;
  void ValidationIndices(uint64_t key, int64_t t, int64_t* out) const;

  // One network's parameters in particle-vector order (resnet_layout.h).
  std::vector<float> GetParticleParams(const ParticleStates& states,
                                       int particle) const;
  void SetParticleParams(ParticleStates* states, int particle,
                         absl::Span<const float> params) const;
  // Its zero-debiased running mean and variance at step counter t (the
  // values the validation loss uses), [sum_l Co_l] each.
  std::vector<float> GetRunningStats(const ParticleStates& states,
                                     int particle, int64_t t,
                                     bool variance) const;

  // Implementation detail, public only so that the .cc's helpers can name it.
  struct Workspace;

 private:
  CifarHpoProblem(const CifarHpoConfig& config, MlpDataView train,
                  MlpDataView validation);

  CifarHpoConfig config_;
  MlpDataView train_, validation_;
};

}  // namespace es

#endif  // ES_SINGLE_INNER_CIFAR_CIFAR_HPO_PROBLEM_H_
