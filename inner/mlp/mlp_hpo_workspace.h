// mlp_hpo_workspace.h - internal to MlpHpoProblem (mlp_hpo.h): the buffers
// and oneDNN kernels of a group of particles, the problem's ParticleStates,
// and the chunking of a particle range onto power-of-two workspaces.
//
// The states' main workspace (n = N) holds the canonical parameters and
// momentum of every particle in the kernel's layout; the pooled workspaces
// are scratch for sub-ranges [begin, end) other than [0, N): ForEachChunk
// splits such a range into chunks of power-of-two sizes, copies each
// chunk's parameters and momentum into a free pooled workspace of that size
// (created on first need), runs the work there and copies them back.
// Thread safety: calls on disjoint particle ranges of one MlpHpoStates may
// run concurrently (the pool is guarded by a mutex).
#ifndef ES_SINGLE_INNER_MLP_MLP_HPO_WORKSPACE_H_
#define ES_SINGLE_INNER_MLP_MLP_HPO_WORKSPACE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "estimators/unrolled_problem.h"
#include "inner/kernels/batched_mlp.h"
#include "inner/kernels/batched_mlp_layout.h"
#include "inner/mlp/mlp_hpo_config.h"

namespace es::mlp {

// Buffers and kernels for n particles.
struct Workspace {
  int n = 0;
  BatchedMlpConfig shared_config;
  BatchedMlpConfig per_particle_config;
  std::unique_ptr<BatchedMlp> shared;        // InputMode::kShared
  std::unique_ptr<BatchedMlp> per_particle;  // created on first need
  std::vector<float> params, momentum, grads;  // kernel layout, n particles
  std::vector<float> images;                   // [B, d_0]
  std::vector<int32_t> labels;                 // [B]
  std::vector<float> pp_images;                // [n, B, d_0] (on first need)
  std::vector<int32_t> pp_labels;              // [n, B]
  std::vector<int64_t> indices;                // max(B, measure set)
  std::vector<double> step_loss, total_loss;   // [n]
  std::vector<int32_t> active;                 // [n, H]
  std::vector<double> base_lr, mom;            // [n, 2L]
  std::vector<double> decay;                   // [n] schedule exponent
};

// Creates a workspace for n particles: a kernel failure comes back as its
// Status, an allocation failure as ResourceExhausted.
absl::StatusOr<std::unique_ptr<Workspace>> MakeWorkspace(
    const std::vector<int64_t>& layer_sizes, const MlpHpoConfig& config,
    int n);

// Creates the per-particle-input kernel and minibatch buffers of `ws` if it
// has none yet.
absl::Status EnsurePerParticle(Workspace* ws);

// Copies particles [first, first + small.num_particles) of `big_array` into
// `small_array` (to_small) or back.
void CopySlices(const BatchedMlpConfig& big, std::vector<float>* big_array,
                const BatchedMlpConfig& small, std::vector<float>* small_array,
                int first, bool to_small);

class MlpHpoStates : public ParticleStates {
 public:
  int num_particles() const override { return n; }
  void CopyParticle(int from, int to) override;
  // Checkpoint: episode keys, parameters and momentum of every particle
  // (the pooled workspaces are scratch).
  absl::Status Save(StateWriter* out) const override;
  absl::Status Load(StateReader* in) override;

  int n = 0;
  std::vector<uint64_t> keys;
  std::unique_ptr<Workspace> main;
  // Power-of-two workspaces for sub-ranges, created on first need.
  std::mutex pool_mutex;
  std::vector<std::unique_ptr<Workspace>> pool;
  std::vector<char> busy;
};

inline int64_t LargestPowerOfTwoAtMost(int64_t n) {
  int64_t p = 1;
  while (p * 2 <= n) p *= 2;
  return p;
}

// Runs fn(workspace, first particle) -> Status over [begin, end): in place
// on the main workspace for the full range, else over power-of-two chunks
// gathered into pooled workspaces (parameters and momentum copied in, and
// back out when write_back). Stops at the first error.
template <typename Fn>
absl::Status ForEachChunk(MlpHpoStates* s,
                          const std::vector<int64_t>& layer_sizes,
                          const MlpHpoConfig& config, int begin, int end,
                          bool write_back, Fn fn) {
  if (begin == 0 && end == s->n) return fn(s->main.get(), 0);
  int first = begin;
  while (first < end) {
    const int size = static_cast<int>(LargestPowerOfTwoAtMost(end - first));
    Workspace* ws = nullptr;
    size_t slot = 0;
    {
      std::lock_guard<std::mutex> lock(s->pool_mutex);
      for (slot = 0; slot < s->pool.size(); ++slot) {
        if (!s->busy[slot] && s->pool[slot]->n == size) break;
      }
      if (slot == s->pool.size()) {
        auto made = MakeWorkspace(layer_sizes, config, size);
        if (!made.ok()) return made.status();
        s->pool.push_back(*std::move(made));
        s->busy.push_back(0);
      }
      s->busy[slot] = 1;
      ws = s->pool[slot].get();
    }
    const BatchedMlpConfig& big = s->main->shared_config;
    CopySlices(big, &s->main->params, ws->shared_config, &ws->params, first,
               true);
    CopySlices(big, &s->main->momentum, ws->shared_config, &ws->momentum,
               first, true);
    const absl::Status status = fn(ws, first);
    if (write_back && status.ok()) {
      CopySlices(big, &s->main->params, ws->shared_config, &ws->params, first,
                 false);
      CopySlices(big, &s->main->momentum, ws->shared_config, &ws->momentum,
                 first, false);
    }
    {
      std::lock_guard<std::mutex> lock(s->pool_mutex);
      s->busy[slot] = 0;
    }
    if (!status.ok()) return status;
    first += size;
  }
  return absl::OkStatus();
}

}  // namespace es::mlp

#endif  // ES_SINGLE_INNER_MLP_MLP_HPO_WORKSPACE_H_
