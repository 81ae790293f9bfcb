// lopt_workspace.h - internal to lopt_problem.cc: the buffers and kernels
// of the learned-optimiser inner problem for n particles, and the K-step
// loop (inner forward/backward, momenta and features, optimiser MLP, update)
// that runs on them. See lopt_problem.h for the maths and the batching; this
// header only exists to keep each file to one job.
//
// Usage (what LoptProblem does):
//   auto ws = MakeLoptWorkspace(layer_sizes, batch_size, lopt_config, n);
//   if (!ws.ok()) return ws.status();
//   LoptStepContext ctx{&train, batch_size, rows, chunk};
//   absl::Status s = RunLoptSteps(ctx, ws->get(), keys, thetas, first, t0,
//                                 num_steps, losses);
#ifndef ES_SINGLE_INNER_LOPT_LOPT_WORKSPACE_H_
#define ES_SINGLE_INNER_LOPT_LOPT_WORKSPACE_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "estimators/unrolled_problem.h"
#include "inner/kernels/batched_mlp.h"
#include "inner/kernels/batched_mlp_layout.h"
#include "inner/lopt/lopt_mlp.h"
#include "inner/mlp/mlp_hpo.h"

namespace es {

// One tensor (W_l or b_l) of the inner network: where particle i's copy
// starts in the kernel layout and where its rows start among the particle's
// optimiser rows.
struct LoptTensorInfo {
  int64_t offset;  // of particle 0
  int64_t size;    // per particle (also the stride between particles)
  int64_t first_row;
};

// Buffers and kernels for n particles. The states' main workspace (n = N)
// holds the canonical weights and momenta; the others are scratch for
// sub-ranges.
struct LoptWorkspace {
  int n = 0;
  BatchedMlpConfig shared_config, per_particle_config;
  std::unique_ptr<BatchedMlp> shared;         // InputMode::kShared
  std::unique_ptr<BatchedMlp> per_particle;   // created on first need
  std::unique_ptr<LoptMlp> lopt;              // n particles x chunk rows
  std::vector<float> params, grads;           // kernel layout, n particles
  std::vector<std::vector<float>> momenta;    // kNumMomenta, kernel layout
  std::vector<float> images, pp_images;       // [B, d_0], [n, B, d_0]
  std::vector<int32_t> labels, pp_labels;     // [B], [n, B]
  std::vector<int64_t> indices;               // [B]
  std::vector<double> step_loss, total_loss;  // [n]
  std::vector<float> scales;                  // [n, tensors, 8]
  std::vector<float> time_features;           // [n, 11]
  std::vector<float> outputs;                 // [n, chunk, 2]
  std::vector<double> thetas;                 // [n, P]
  std::vector<LoptTensorInfo> tensors;        // offsets for n particles
};

// Creates every buffer and kernel for n particles; a kernel that oneDNN
// refuses comes back as its Status, an allocation failure as
// ResourceExhausted. The per-particle-minibatch kernel and its buffers are
// made on first need by RunLoptSteps (same errors).
absl::StatusOr<std::unique_ptr<LoptWorkspace>> MakeLoptWorkspace(
    const std::vector<int64_t>& layer_sizes, int64_t batch_size,
    const LoptMlpConfig& lopt_config, int n);

// Copies particles [first, first + small->n) of `big` into `small`
// (to_small) or back: weights and momenta.
void CopyLoptSlices(LoptWorkspace* big, LoptWorkspace* small, int first,
                    bool to_small);

// Training-set indices of minibatch t of episode `key`: count indices in
// [0, n) with replacement (the sampler of inner/mlp/mlp_hpo.cc: Philox on
// Stream::kMinibatch, draw t, pair 0).
void LoptTrainIndices(uint64_t key, int64_t t, int64_t count, int64_t n,
                      int64_t* out);

struct LoptStepContext {
  const MlpDataView* train;
  int64_t batch_size;  // B
  int64_t rows;        // M, optimiser rows per particle
  int64_t chunk;       // rows per particle per optimiser-MLP call
};

// num_steps steps for the workspace's particles, which are particles
// [first, first + ws->n) of thetas, keys and t0 indexed from `first`
// (keys, t0 and losses point at the workspace's first particle). A kernel
// or allocation failure is returned; the weights may then be part-updated.
absl::Status RunLoptSteps(const LoptStepContext& ctx, LoptWorkspace* ws,
                          const uint64_t* keys, const RowMatrixXd& thetas,
                          int first, const int64_t* t0, int num_steps,
                          double* losses);

}  // namespace es

#endif  // ES_SINGLE_INNER_LOPT_LOPT_WORKSPACE_H_
