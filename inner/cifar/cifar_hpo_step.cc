// cifar_hpo_step.cc - see cifar_hpo_step.h.
#include "inner/cifar/cifar_hpo_step.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <new>
#include <utility>

#include "absl/strings/str_cat.h"
#include "estimators/check.h"
#include "estimators/philox.h"

namespace es {
namespace cifar_internal {
namespace {

// Haiku's VarianceScaling(1, fan_in, truncated_normal) divides the standard
// deviation by the sd of a standard normal truncated to [-2, 2].
constexpr double kTruncatedSd = 0.87962566103423978;

// out[j] ~ N(0, 1) truncated to [-2, 2]: coordinate j's first draw is
// (draw, pair 0, j); values outside are redrawn from pairs 1, 2, ...
void TruncatedNormals(const RandomKey& rk, uint64_t draw, int64_t count,
                      double* out) {
  StandardNormals(rk, draw, 0, static_cast<int>(count), out);
  for (int64_t j = 0; j < count; ++j) {
    for (uint32_t attempt = 1; std::abs(out[j]) > 2.0; ++attempt) {
      out[j] = StandardNormal(rk, draw, attempt, static_cast<uint32_t>(j));
    }
  }
}

// Calls fn(offset, size) for every tensor of particle p: W_l, gamma_l,
// beta_l for each conv l, then W_fc (offsets into the kernel layout).
template <typename Fn>
void ForEachTensor(const ResNetConfig& c, int64_t p, Fn fn) {
  for (int l = 0; l < kResNetConvLayers; ++l) {
    const int64_t ws = c.conv_weight_size_per_particle(l), co = c.conv_out(l);
    fn(l, c.conv_weight_offset(l) + p * ws, ws);
    fn(l, c.bn_scale_offset(l) + p * co, co);
    fn(l, c.bn_shift_offset(l) + p * co, co);
  }
  const int64_t fs = c.fc_weight_size_per_particle();
  fn(kResNetConvLayers, c.fc_offset() + p * fs, fs);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Workspace>> MakeWorkspace(
    const CifarHpoConfig& config, int n) try {
  auto ws = std::make_unique<Workspace>();
  ws->n = n;
  ws->shared_config = config.KernelConfig(n, InputMode::kShared);
  ws->per_particle_config = config.KernelConfig(n, InputMode::kPerParticle);
  auto kernel = BatchedResNet::Create(ws->shared_config);
  if (!kernel.ok()) return kernel.status();
  ws->shared = std::move(*kernel);
  const ResNetConfig& c = ws->shared_config;
  ws->params.assign(c.num_params(), 0.0f);
  ws->momentum.assign(c.num_params(), 0.0f);
  ws->grads.assign(c.num_params(), 0.0f);
  for (auto* v : {&ws->run_mean, &ws->run_var, &ws->avg_mean, &ws->avg_var}) {
    v->assign(c.stats_size(), 0.0f);
  }
  ws->images.assign(c.inputs_size(), 0.0f);
  ws->labels.assign(c.labels_size(), 0);
  ws->indices.assign(config.batch_size, 0);
  ws->step_loss.assign(n, 0.0);
  ws->total_loss.assign(n, 0.0);
  ws->lr.assign(static_cast<size_t>(n) * kResNetParamBlocks, 0.0);
  ws->mom.assign(static_cast<size_t>(n) * kResNetParamBlocks, 0.0);
  ws->active.assign(c.active_channels_size(), 0);
  return ws;
} catch (const std::bad_alloc&) {
  return absl::ResourceExhaustedError(absl::StrCat(
      "cifar_hpo: not enough memory for the buffers of ", n, " particles"));
}

double EstimateWorkspaceBytes(const CifarHpoConfig& config, int64_t n) {
  const ResNetConfig shared = config.KernelConfig(n, InputMode::kShared);
  const ResNetConfig pp = config.KernelConfig(n, InputMode::kPerParticle);
  const double N = static_cast<double>(n);
  // params, momentum, grads; running, debiased and (inside each kernel's
  // estimate) batch statistics; broadcast and per-particle minibatches and
  // labels; the [n] and [n, 9] per-particle arrays.
  const double floats =
      3.0 * static_cast<double>(shared.num_params()) +
      4.0 * static_cast<double>(shared.stats_size()) +
      static_cast<double>(shared.inputs_size()) +
      static_cast<double>(pp.inputs_size()) +
      static_cast<double>(shared.labels_size() + pp.labels_size()) +
      N * (2.0 * 2.0 + 2.0 * 2.0 * kResNetParamBlocks + kResNetConvLayers);
  return 4.0 * floats + static_cast<double>(BatchedResNet::EstimateBytes(shared)) +
         static_cast<double>(BatchedResNet::EstimateBytes(pp));
}

absl::StatusOr<BatchedResNet*> PerParticleKernel(Workspace* ws) try {
  if (ws->per_particle == nullptr) {
    auto kernel = BatchedResNet::Create(ws->per_particle_config);
    if (!kernel.ok()) return kernel.status();
    ws->pp_images.assign(ws->per_particle_config.inputs_size(), 0.0f);
    ws->pp_labels.assign(ws->per_particle_config.labels_size(), 0);
    ws->per_particle = std::move(*kernel);
  }
  return ws->per_particle.get();
} catch (const std::bad_alloc&) {
  return absl::ResourceExhaustedError(absl::StrCat(
      "cifar_hpo: not enough memory for the per-particle minibatches of ",
      ws->n, " particles"));
}

void InitParticle(const CifarHpoConfig& config, uint64_t key, int p,
                  Workspace* ws) {
  (void)config;
  const ResNetConfig& c = ws->shared_config;
  const RandomKey rk{key, Stream::kInit};
  std::vector<double> normals;
  int index = 0;  // 0..2 within a conv layer: W, gamma, beta
  ForEachTensor(c, p, [&](int layer, int64_t offset, int64_t size) {
    float* w = ws->params.data() + offset;
    std::memset(ws->momentum.data() + offset, 0, size * sizeof(float));
    const int which = layer == kResNetConvLayers ? 0 : index++ % 3;
    if (which == 1 || which == 2) {
      std::fill(w, w + size, which == 1 ? 1.0f : 0.0f);
      return;
    }
    const double sd =
        layer == kResNetConvLayers
            ? 1.0 / std::sqrt(static_cast<double>(c.fc_in()))
            : std::sqrt(1.0 / (9.0 * c.conv_in(layer))) / kTruncatedSd;
    normals.resize(size);
    TruncatedNormals(rk, static_cast<uint64_t>(layer), size, normals.data());
    for (int64_t j = 0; j < size; ++j) w[j] = static_cast<float>(sd * normals[j]);
  });
  for (int l = 0; l < kResNetConvLayers; ++l) {
    const int64_t co = c.conv_out(l), off = c.stats_offset(l) + p * co;
    std::fill(ws->run_mean.begin() + off, ws->run_mean.begin() + off + co, 0.0f);
    std::fill(ws->run_var.begin() + off, ws->run_var.begin() + off + co, 0.0f);
  }
}

void CopyParticleState(const Workspace& src, int from, Workspace* dst,
                       int to) {
  const ResNetConfig& a = src.shared_config;
  const ResNetConfig& b = dst->shared_config;
  std::vector<int64_t> src_off, dst_off, sizes;
  ForEachTensor(a, from, [&](int, int64_t o, int64_t s) {
    src_off.push_back(o);
    sizes.push_back(s);
  });
  ForEachTensor(b, to, [&](int, int64_t o, int64_t) { dst_off.push_back(o); });
  for (size_t t = 0; t < sizes.size(); ++t) {
    std::memcpy(dst->params.data() + dst_off[t], src.params.data() + src_off[t],
                sizes[t] * sizeof(float));
    std::memcpy(dst->momentum.data() + dst_off[t],
                src.momentum.data() + src_off[t], sizes[t] * sizeof(float));
  }
  for (int l = 0; l < kResNetConvLayers; ++l) {
    const int64_t co = a.conv_out(l);
    const int64_t s = a.stats_offset(l) + from * co;
    const int64_t d = b.stats_offset(l) + to * co;
    std::memcpy(dst->run_mean.data() + d, src.run_mean.data() + s,
                co * sizeof(float));
    std::memcpy(dst->run_var.data() + d, src.run_var.data() + s,
                co * sizeof(float));
  }
}

void SampleIndices(uint64_t key, uint64_t draw, uint32_t pair, int64_t count,
                   int64_t n, int64_t* out) {
  const RandomKey rk{key, Stream::kMinibatch};
  for (int64_t j = 0; j < count; j += 4) {
    const auto block = RandomBlock(rk, draw, pair, static_cast<uint32_t>(j / 4));
    for (int64_t w = 0; w < 4 && j + w < count; ++w) {
      out[j + w] = static_cast<int64_t>(
          (static_cast<uint64_t>(block[w]) * static_cast<uint64_t>(n)) >> 32);
    }
  }
}

void GatherMinibatch(const CifarHpoConfig& config, const MlpDataView& data,
                     uint32_t pair, const uint64_t* keys, const int64_t* t0,
                     int k, bool shared, Workspace* ws) {
  const int64_t B = config.batch_size, D = data.num_features;
  const int64_t n = ws->n;
  for (int64_t i = 0; i < (shared ? 1 : n); ++i) {
    SampleIndices(keys[i], static_cast<uint64_t>(t0[i] + k), pair, B,
                  data.num_examples(), ws->indices.data());
    for (int64_t b = 0; b < B; ++b) {
      const int64_t row = ws->indices[b];
      float* dst = shared ? ws->images.data() + b * D
                          : ws->pp_images.data() + (b * n + i) * D;
      std::memcpy(dst, data.images.data() + row * D, D * sizeof(float));
      if (shared) {
        ws->labels[b] = data.labels[row];
      } else {
        ws->pp_labels[i * B + b] = data.labels[row];
      }
    }
  }
}

void UpdateRunningStats(double momentum, const BatchedResNet& kernel,
                        Workspace* ws) {
  const absl::Span<const float> mean = kernel.batch_mean();
  const absl::Span<const float> var = kernel.batch_variance();
  const double keep = momentum, add = 1.0 - momentum;
  for (size_t j = 0; j < ws->run_mean.size(); ++j) {
    ws->run_mean[j] = static_cast<float>(keep * ws->run_mean[j] + add * mean[j]);
    ws->run_var[j] = static_cast<float>(keep * ws->run_var[j] + add * var[j]);
  }
}

void DebiasRunningStats(const CifarHpoConfig& config, const int64_t* t0, int k,
                        Workspace* ws) {
  const ResNetConfig& c = ws->shared_config;
  for (int64_t i = 0; i < ws->n; ++i) {
    const double updates = static_cast<double>(t0[i] + k + 1);
    const double scale = 1.0 / (1.0 - std::pow(config.bn_momentum, updates));
    for (int l = 0; l < kResNetConvLayers; ++l) {
      const int64_t co = c.conv_out(l), off = c.stats_offset(l) + i * co;
      for (int64_t ch = 0; ch < co; ++ch) {
        ws->avg_mean[off + ch] = static_cast<float>(ws->run_mean[off + ch] * scale);
        ws->avg_var[off + ch] = static_cast<float>(ws->run_var[off + ch] * scale);
      }
    }
  }
}

void SgdMomentumUpdate(Workspace* ws) {
  const ResNetConfig& c = ws->shared_config;
  const int n = ws->n;
#pragma omp parallel for schedule(static) if (n > 1)
  for (int i = 0; i < n; ++i) {
    ForEachTensor(c, i, [&](int block, int64_t offset, int64_t size) {
      const size_t hb = static_cast<size_t>(i) * kResNetParamBlocks + block;
      const float lr = static_cast<float>(ws->lr[hb]);
      const float mu = static_cast<float>(ws->mom[hb]);
      float* w = ws->params.data() + offset;
      float* v = ws->momentum.data() + offset;
      const float* g = ws->grads.data() + offset;
#pragma omp simd
      for (int64_t j = 0; j < size; ++j) {
        const float vj = mu * v[j] + g[j];
        v[j] = vj;
        w[j] -= lr * vj;
      }
    });
  }
}

}  // namespace cifar_internal
}  // namespace es
