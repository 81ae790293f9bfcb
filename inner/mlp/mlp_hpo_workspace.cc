// mlp_hpo_workspace.cc - see mlp_hpo_workspace.h.
#include "inner/mlp/mlp_hpo_workspace.h"

#include <algorithm>
#include <cstring>
#include <new>

#include "absl/strings/str_cat.h"
#include "estimators/check.h"

namespace es::mlp {

absl::StatusOr<std::unique_ptr<Workspace>> MakeWorkspace(
    const std::vector<int64_t>& layer_sizes, const MlpHpoConfig& config,
    int n) try {
  auto ws = std::make_unique<Workspace>();
  ws->n = n;
  BatchedMlpConfig& c = ws->shared_config;
  c.layer_sizes = layer_sizes;
  c.num_particles = n;
  c.batch_size = config.batch_size;
  c.input_mode = InputMode::kShared;
  ws->per_particle_config = c;
  ws->per_particle_config.input_mode = InputMode::kPerParticle;
  auto kernel = BatchedMlp::Create(c);
  if (!kernel.ok()) return kernel.status();
  ws->shared = std::move(*kernel);
  ws->params.assign(c.num_params(), 0.0f);
  ws->momentum.assign(c.num_params(), 0.0f);
  ws->grads.assign(c.num_params(), 0.0f);
  ws->images.assign(c.inputs_size(), 0.0f);
  ws->labels.assign(c.labels_size(), 0);
  ws->indices.assign(std::max(config.batch_size, config.measure_batch_size), 0);
  ws->step_loss.assign(n, 0.0);
  ws->total_loss.assign(n, 0.0);
  const int L = c.num_layers();
  ws->active.assign(static_cast<size_t>(n) * (L - 1), 0);
  ws->base_lr.assign(static_cast<size_t>(n) * 2 * L, 0.0);
  ws->mom.assign(static_cast<size_t>(n) * 2 * L, 0.0);
  ws->decay.assign(n, 0.0);
  return ws;
} catch (const std::bad_alloc&) {
  return absl::ResourceExhaustedError(absl::StrCat(
      "mlp_hpo: not enough memory for the buffers of ", n, " particles"));
}

absl::Status EnsurePerParticle(Workspace* ws) try {
  if (ws->per_particle != nullptr) return absl::OkStatus();
  auto kernel = BatchedMlp::Create(ws->per_particle_config);
  if (!kernel.ok()) return kernel.status();
  ws->per_particle = std::move(*kernel);
  ws->pp_images.assign(ws->per_particle_config.inputs_size(), 0.0f);
  ws->pp_labels.assign(ws->per_particle_config.labels_size(), 0);
  return absl::OkStatus();
} catch (const std::bad_alloc&) {
  return absl::ResourceExhaustedError(absl::StrCat(
      "mlp_hpo: not enough memory for per-particle minibatches of ", ws->n,
      " particles"));
}

void CopySlices(const BatchedMlpConfig& big, std::vector<float>* big_array,
                const BatchedMlpConfig& small, std::vector<float>* small_array,
                int first, bool to_small) {
  for (int l = 0; l < big.num_layers(); ++l) {
    const int64_t ws = big.weight_size_per_particle(l);
    const int64_t bs = big.bias_size_per_particle(l);
    const int64_t n = small.num_particles;
    float* bw = big_array->data() + big.weight_offset(l) + first * ws;
    float* sw = small_array->data() + small.weight_offset(l);
    float* bb = big_array->data() + big.bias_offset(l) + first * bs;
    float* sb = small_array->data() + small.bias_offset(l);
    if (to_small) {
      std::memcpy(sw, bw, n * ws * sizeof(float));
      std::memcpy(sb, bb, n * bs * sizeof(float));
    } else {
      std::memcpy(bw, sw, n * ws * sizeof(float));
      std::memcpy(bb, sb, n * bs * sizeof(float));
    }
  }
}

void MlpHpoStates::CopyParticle(int from, int to) {
  ES_CHECK(from >= 0 && from < n && to >= 0 && to < n);
  if (from == to) return;
  const BatchedMlpConfig& c = main->shared_config;
  for (int l = 0; l < c.num_layers(); ++l) {
    const int64_t ws = c.weight_size_per_particle(l);
    const int64_t bs = c.bias_size_per_particle(l);
    for (std::vector<float>* a : {&main->params, &main->momentum}) {
      float* w = a->data() + c.weight_offset(l);
      std::memcpy(w + to * ws, w + from * ws, ws * sizeof(float));
      float* b = a->data() + c.bias_offset(l);
      std::memcpy(b + to * bs, b + from * bs, bs * sizeof(float));
    }
  }
  keys[to] = keys[from];
}

absl::Status MlpHpoStates::Save(StateWriter* out) const {
  out->Tag("mlp_hpo");
  out->Vector(keys);
  out->Vector(main->params);
  out->Vector(main->momentum);
  return absl::OkStatus();
}

absl::Status MlpHpoStates::Load(StateReader* in) {
  if (auto s = in->Tag("mlp_hpo"); !s.ok()) return s;
  if (auto s = in->Vector(&keys, n); !s.ok()) return s;
  const int64_t size = static_cast<int64_t>(main->params.size());
  if (auto s = in->Vector(&main->params, size); !s.ok()) return s;
  return in->Vector(&main->momentum, size);
}

}  // namespace es::mlp
