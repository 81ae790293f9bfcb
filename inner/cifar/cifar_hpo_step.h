// cifar_hpo_step.h - the per-step pieces of the CIFAR-10 hyperparameter
// problem (cifar_hpo_problem.h), on a workspace of n particles: initial
// weights, minibatch sampling and gathering, the running-statistics update,
// SGD with momentum, and copies of particle slices between workspaces.
// Internal to inner/cifar; the maths is documented in cifar_hpo_problem.h.
#ifndef ES_SINGLE_INNER_CIFAR_CIFAR_HPO_STEP_H_
#define ES_SINGLE_INNER_CIFAR_CIFAR_HPO_STEP_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "inner/cifar/batched_resnet.h"
#include "inner/cifar/cifar_hpo_config.h"
#include "inner/cifar/cifar_hpo_problem.h"

namespace es {

// Everything n particles need: the canonical state (params, momentum,
// running statistics) for the states' main workspace, scratch otherwise.
struct CifarHpoProblem::Workspace {
  int n = 0;
  ResNetConfig shared_config, per_particle_config;
  std::unique_ptr<BatchedResNet> shared;        // InputMode::kShared
  std::unique_ptr<BatchedResNet> per_particle;  // created on first need
  std::vector<float> params, momentum, grads;   // kernel layout
  std::vector<float> run_mean, run_var;         // EMA hidden values
  std::vector<float> avg_mean, avg_var;         // zero-debiased, per call
  std::vector<float> images;                    // [B, 3, S, S]
  std::vector<int32_t> labels;                  // [B]
  std::vector<float> pp_images;                 // [B, n, 3, S, S]
  std::vector<int32_t> pp_labels;               // [n, B]
  std::vector<int64_t> indices;                 // [B]
  std::vector<double> step_loss, total_loss;    // [n]
  std::vector<double> lr, mom;                  // [n, 9]
  std::vector<int32_t> active;                  // [n, 8]
};

namespace cifar_internal {

using Workspace = CifarHpoProblem::Workspace;

// Creates a workspace for n particles: a kernel failure comes back as its
// status, an allocation failure as ResourceExhausted.
absl::StatusOr<std::unique_ptr<Workspace>> MakeWorkspace(
    const CifarHpoConfig& config, int n);
// Upper bound of the bytes a workspace for n particles holds once both of
// its kernels exist (BatchedResNet::EstimateBytes plus its arrays).
double EstimateWorkspaceBytes(const CifarHpoConfig& config, int64_t n);
// The per-particle-minibatch kernel of `ws`, created (with its input
// buffers) on first need; failures as in MakeWorkspace.
absl::StatusOr<BatchedResNet*> PerParticleKernel(Workspace* ws);

// Initial weights of episode `key` into particle p of `ws` (momentum and
// running statistics zeroed).
void InitParticle(const CifarHpoConfig& config, uint64_t key, int p,
                  Workspace* ws);
// Copies particle `from` of `src` onto particle `to` of `dst` (parameters,
// momentum, running statistics).
void CopyParticleState(const Workspace& src, int from, Workspace* dst, int to);

// count indices in [0, n) drawn with replacement from (key, draw, pair).
void SampleIndices(uint64_t key, uint64_t draw, uint32_t pair, int64_t count,
                   int64_t n, int64_t* out);
inline constexpr uint32_t kTrainPair = 0;
inline constexpr uint32_t kValidationPair = 1;

// Fills the minibatch of step t0[i] + k of each particle from `data` (pair
// says which set): ws->images/labels when `shared`, else pp_images/labels.
void GatherMinibatch(const CifarHpoConfig& config, const MlpDataView& data,
                     uint32_t pair, const uint64_t* keys, const int64_t* t0,
                     int k, bool shared, Workspace* ws);

// h <- m h + (1 - m) batch statistics of `kernel`'s last training forward.
void UpdateRunningStats(double momentum, const BatchedResNet& kernel,
                        Workspace* ws);
// avg = h / (1 - m^(t0[i] + k + 1)) per particle.
void DebiasRunningStats(const CifarHpoConfig& config, const int64_t* t0, int k,
                        Workspace* ws);
// v <- mu v + g; w <- w - lr v with ws->lr / ws->mom per particle and block.
void SgdMomentumUpdate(Workspace* ws);

}  // namespace cifar_internal
}  // namespace es

#endif  // ES_SINGLE_INNER_CIFAR_CIFAR_HPO_STEP_H_
