// lopt_workspace.cc - see lopt_workspace.h.
#include "inner/lopt/lopt_workspace.h"

#include <algorithm>
#include <cstring>
#include <new>
#include <stdexcept>
#include <utility>

#include "absl/strings/str_cat.h"
#include "estimators/philox.h"
#include "inner/lopt/features.h"

namespace es {
namespace {

std::vector<LoptTensorInfo> Tensors(const BatchedMlpConfig& c) {
  std::vector<LoptTensorInfo> t;
  int64_t row = 0;
  for (int l = 0; l < c.num_layers(); ++l) {
    t.push_back({c.weight_offset(l), c.weight_size_per_particle(l), row});
    row += c.weight_size_per_particle(l);
    t.push_back({c.bias_offset(l), c.bias_size_per_particle(l), row});
    row += c.bias_size_per_particle(l);
  }
  return t;
}

LoptTensor TensorOf(LoptWorkspace* ws, const LoptTensorInfo& t, int i) {
  LoptTensor v;
  const int64_t at = t.offset + i * t.size;
  v.param = ws->params.data() + at;
  v.grad = ws->grads.data() + at;
  for (int k = 0; k < kNumMomenta; ++k)
    v.momenta[k] = ws->momenta[k].data() + at;
  v.size = t.size;
  return v;
}

}  // namespace

absl::StatusOr<std::unique_ptr<LoptWorkspace>> MakeLoptWorkspace(
    const std::vector<int64_t>& layer_sizes, int64_t batch_size,
    const LoptMlpConfig& lopt_config, int n) try {
  auto ws = std::make_unique<LoptWorkspace>();
  ws->n = n;
  BatchedMlpConfig& c = ws->shared_config;
  c.layer_sizes = layer_sizes;
  c.num_particles = n;
  c.batch_size = batch_size;
  c.input_mode = InputMode::kShared;
  ws->per_particle_config = c;
  ws->per_particle_config.input_mode = InputMode::kPerParticle;
  auto shared = BatchedMlp::Create(c);
  if (!shared.ok()) return shared.status();
  ws->shared = *std::move(shared);
  LoptMlpConfig lc = lopt_config;
  lc.num_particles = n;
  auto lopt = LoptMlp::Create(lc);
  if (!lopt.ok()) return lopt.status();
  ws->lopt = *std::move(lopt);
  ws->params.assign(c.num_params(), 0.0f);
  ws->grads.assign(c.num_params(), 0.0f);
  ws->momenta.assign(kNumMomenta, std::vector<float>(c.num_params(), 0.0f));
  ws->images.assign(c.inputs_size(), 0.0f);
  ws->labels.assign(c.labels_size(), 0);
  ws->indices.assign(batch_size, 0);
  ws->step_loss.assign(n, 0.0);
  ws->total_loss.assign(n, 0.0);
  ws->scales.assign(
      static_cast<size_t>(n) * 2 * c.num_layers() * kNumRowFeatures, 0.0f);
  ws->time_features.assign(static_cast<size_t>(n) * kNumTimeFeatures, 0.0f);
  ws->outputs.assign(static_cast<size_t>(n) * lc.rows * 2, 0.0f);
  ws->thetas.assign(static_cast<size_t>(n) * lc.theta_dim(), 0.0);
  ws->tensors = Tensors(c);
  return ws;
} catch (const std::bad_alloc&) {
  return absl::ResourceExhaustedError(absl::StrCat(
      "lopt_problem: not enough memory for the buffers of ", n, " particles"));
} catch (const std::length_error&) {
  return absl::ResourceExhaustedError(absl::StrCat(
      "lopt_problem: not enough memory for the buffers of ", n, " particles"));
}

namespace {

absl::Status EnsurePerParticle(LoptWorkspace* ws) try {
  if (ws->per_particle != nullptr) return absl::OkStatus();
  auto kernel = BatchedMlp::Create(ws->per_particle_config);
  if (!kernel.ok()) return kernel.status();
  ws->pp_images.assign(ws->per_particle_config.inputs_size(), 0.0f);
  ws->pp_labels.assign(ws->per_particle_config.labels_size(), 0);
  ws->per_particle = *std::move(kernel);  // last: marks the buffers as made
  return absl::OkStatus();
} catch (const std::bad_alloc&) {
  return absl::ResourceExhaustedError(absl::StrCat(
      "lopt_problem: not enough memory for per-particle minibatches of ", ws->n,
      " particles"));
} catch (const std::length_error&) {
  return absl::ResourceExhaustedError(absl::StrCat(
      "lopt_problem: not enough memory for per-particle minibatches of ", ws->n,
      " particles"));
}

}  // namespace

void CopyLoptSlices(LoptWorkspace* big, LoptWorkspace* small, int first,
                    bool to_small) {
  for (size_t k = 0; k < big->tensors.size(); ++k) {
    const LoptTensorInfo& t = big->tensors[k];
    for (int a = 0; a <= kNumMomenta; ++a) {
      float* b = (a == 0 ? big->params : big->momenta[a - 1]).data() +
                 t.offset + first * t.size;
      float* s = (a == 0 ? small->params : small->momenta[a - 1]).data() +
                 small->tensors[k].offset;
      const size_t bytes =
          static_cast<size_t>(small->n) * t.size * sizeof(float);
      if (to_small) {
        std::memcpy(s, b, bytes);
      } else {
        std::memcpy(b, s, bytes);
      }
    }
  }
}

void LoptTrainIndices(uint64_t key, int64_t t, int64_t count, int64_t n,
                      int64_t* out) {
  const RandomKey rk{key, Stream::kMinibatch};
  const uint64_t draw = static_cast<uint64_t>(t);
  for (int64_t j = 0; j < count; j += 4) {
    const auto block = RandomBlock(rk, draw, 0, static_cast<uint32_t>(j / 4));
    for (int64_t w = 0; w < 4 && j + w < count; ++w) {
      out[j + w] = static_cast<int64_t>(
          (static_cast<uint64_t>(block[w]) * static_cast<uint64_t>(n)) >> 32);
    }
  }
}

namespace {

// Minibatch of step t0[i] + k into ws->images (shared) or ws->pp_images.
void GatherBatch(const LoptStepContext& ctx, LoptWorkspace* ws,
                 const uint64_t* keys, const int64_t* t0, int k, bool shared) {
  const int64_t B = ctx.batch_size, d = ctx.train->num_features;
  auto gather = [&](uint64_t key, int64_t t, float* img, int32_t* lab) {
    LoptTrainIndices(key, t, B, ctx.train->num_examples(), ws->indices.data());
    for (int64_t b = 0; b < B; ++b) {
      const int64_t e = ws->indices[b];
      std::memcpy(img + b * d, ctx.train->images.data() + e * d,
                  d * sizeof(float));
      lab[b] = ctx.train->labels[e];
    }
  };
  if (shared) {
    gather(keys[0], t0[0] + k, ws->images.data(), ws->labels.data());
    return;
  }
  for (int i = 0; i < ws->n; ++i) {
    float* img = ws->pp_images.data() + static_cast<size_t>(i) * B * d;
    int32_t* lab = ws->pp_labels.data() + static_cast<size_t>(i) * B;
    if (i > 0 && keys[i] == keys[i - 1] && t0[i] == t0[i - 1]) {
      std::memcpy(img, img - B * d, B * d * sizeof(float));
      std::memcpy(lab, lab - B, B * sizeof(int32_t));
    } else {
      gather(keys[i], t0[i] + k, img, lab);
    }
  }
}

// The LOLv2 step for every particle of the workspace at steps t0[i] + k,
// from ws->grads: momenta, normalisers, time features, then the optimiser
// MLP and the update chunk by chunk.
absl::Status OptimiserStep(const LoptStepContext& ctx, LoptWorkspace* ws,
                           const int64_t* t0, int k) {
  const int n = ws->n;
  const std::vector<LoptTensorInfo>& tensors = ws->tensors;
  const int num_tensors = static_cast<int>(tensors.size());
#pragma omp parallel for schedule(dynamic)
  for (int task = 0; task < n * num_tensors; ++task) {
    const int i = task / num_tensors, t = task % num_tensors;
    double sumsq[kNumRowFeatures];
    const LoptTensor view = TensorOf(ws, tensors[t], i);
    UpdateMomentaAndSquares(view, sumsq);
    FeatureScales(
        sumsq, view.size,
        ws->scales.data() + static_cast<size_t>(task) * kNumRowFeatures);
  }
  for (int i = 0; i < n; ++i) {
    TimeEmbedding(t0[i] + k, ws->time_features.data() + i * kNumTimeFeatures);
  }
  if (absl::Status s = ws->lopt->SetParticleFeatures(ws->time_features);
      !s.ok()) {
    return s;
  }
  const int64_t M = ctx.rows, C = ctx.chunk, ld = kNumRowFeatures + 1;
  float* input = ws->lopt->input().data();
  for (int64_t lo = 0; lo < M; lo += C) {
    const int64_t hi = std::min(M, lo + C);
#pragma omp parallel for schedule(static)
    for (int i = 0; i < n; ++i) {
      float* in = input + static_cast<size_t>(i) * C * ld;
      for (int t = 0; t < num_tensors; ++t) {
        const LoptTensorInfo& info = tensors[t];
        const int64_t a = std::max(lo, info.first_row);
        const int64_t b = std::min(hi, info.first_row + info.size);
        if (a >= b) continue;
        WriteRowFeatures(
            TensorOf(ws, info, i),
            ws->scales.data() +
                (static_cast<size_t>(i) * num_tensors + t) * kNumRowFeatures,
            a - info.first_row, b - info.first_row, in + (a - lo) * ld, ld);
      }
      if (hi - lo < C) {
        std::memset(in + (hi - lo) * ld, 0,
                    (C - (hi - lo)) * ld * sizeof(float));
      }
    }
    if (absl::Status s = ws->lopt->Run(absl::MakeSpan(ws->outputs)); !s.ok()) {
      return s;
    }
#pragma omp parallel for schedule(static)
    for (int i = 0; i < n; ++i) {
      const float* out = ws->outputs.data() + static_cast<size_t>(i) * C * 2;
      for (int t = 0; t < num_tensors; ++t) {
        const LoptTensorInfo& info = tensors[t];
        const int64_t a = std::max(lo, info.first_row);
        const int64_t b = std::min(hi, info.first_row + info.size);
        if (a >= b) continue;
        ApplyLoptUpdate(out + (a - lo) * 2, b - a,
                        ws->params.data() + info.offset + i * info.size +
                            (a - info.first_row));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status RunChunk(const LoptStepContext& ctx, LoptWorkspace* ws,
                      const uint64_t* keys, const RowMatrixXd& thetas,
                      int first, const int64_t* t0, int num_steps,
                      double* losses) {
  const int n = ws->n;
  bool shared = true;
  for (int i = 1; i < n; ++i) {
    shared = shared && keys[i] == keys[0] && t0[i] == t0[0];
  }
  if (!shared) {
    if (absl::Status s = EnsurePerParticle(ws); !s.ok()) return s;
  }
  BatchedMlp* kernel = shared ? ws->shared.get() : ws->per_particle.get();
  const int64_t P = thetas.cols();
  for (int i = 0; i < n; ++i) {
    for (int64_t j = 0; j < P; ++j)
      ws->thetas[i * P + j] = thetas(first + i, j);
  }
  if (absl::Status s = ws->lopt->SetWeights(ws->thetas); !s.ok()) return s;
  std::fill(ws->total_loss.begin(), ws->total_loss.end(), 0.0);
  const absl::Span<const float> inputs =
      shared ? absl::Span<const float>(ws->images)
             : absl::Span<const float>(ws->pp_images);
  const absl::Span<const int32_t> labels =
      shared ? absl::Span<const int32_t>(ws->labels)
             : absl::Span<const int32_t>(ws->pp_labels);
  for (int k = 0; k < num_steps; ++k) {
    GatherBatch(ctx, ws, keys, t0, k, shared);
    if (absl::Status s = kernel->ForwardBackward(ws->params, inputs, labels,
                                                 absl::MakeSpan(ws->step_loss),
                                                 absl::MakeSpan(ws->grads));
        !s.ok()) {
      return s;
    }
    for (int i = 0; i < n; ++i) ws->total_loss[i] += ws->step_loss[i];
    if (absl::Status s = OptimiserStep(ctx, ws, t0, k); !s.ok()) return s;
  }
  for (int i = 0; i < n; ++i) losses[i] = ws->total_loss[i];
  return absl::OkStatus();
}

}  // namespace

absl::Status RunLoptSteps(const LoptStepContext& ctx, LoptWorkspace* ws,
                          const uint64_t* keys, const RowMatrixXd& thetas,
                          int first, const int64_t* t0, int num_steps,
                          double* losses) {
  return RunChunk(ctx, ws, keys, thetas, first, t0, num_steps, losses);
}

}  // namespace es
