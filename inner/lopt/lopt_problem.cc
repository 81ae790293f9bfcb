// lopt_problem.cc - see lopt_problem.h.
#include "inner/lopt/lopt_problem.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <mutex>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "estimators/check.h"
#include "estimators/philox.h"
#include "inner/kernels/batched_mlp.h"
#include "inner/kernels/batched_mlp_layout.h"
#include "inner/lopt/features.h"
#include "inner/lopt/truncated_normal.h"

namespace es {

namespace {

// One tensor (W_l or b_l) of the inner network: where particle i's copy
// starts in the kernel layout and where its rows start among the particle's
// optimiser rows.
struct TensorInfo {
  int64_t offset;  // of particle 0
  int64_t size;    // per particle (also the stride between particles)
  int64_t first_row;
};

}  // namespace

// Buffers and kernels for n particles. The states' main workspace (n = N)
// holds the canonical weights and momenta; the others are scratch for
// sub-ranges.
struct LoptProblem::Workspace {
  int n = 0;
  BatchedMlpConfig shared_config, per_particle_config;
  std::unique_ptr<BatchedMlp> shared;        // InputMode::kShared
  std::unique_ptr<BatchedMlp> per_particle;  // created on first need
  std::unique_ptr<LoptMlp> lopt;             // n particles x chunk rows
  std::vector<float> params, grads;          // kernel layout, n particles
  std::vector<std::vector<float>> momenta;   // kNumMomenta, kernel layout
  std::vector<float> images, pp_images;      // [B, d_0], [n, B, d_0]
  std::vector<int32_t> labels, pp_labels;    // [B], [n, B]
  std::vector<int64_t> indices;              // [B]
  std::vector<double> step_loss, total_loss;  // [n]
  std::vector<float> scales;                 // [n, tensors, 8]
  std::vector<float> time_features;          // [n, 11]
  std::vector<float> outputs;                // [n, chunk, 2]
  std::vector<double> thetas;                // [n, P]
  std::vector<TensorInfo> tensors;           // offsets for n particles
};

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::vector<TensorInfo> Tensors(const BatchedMlpConfig& c) {
  std::vector<TensorInfo> t;
  int64_t row = 0;
  for (int l = 0; l < c.num_layers(); ++l) {
    t.push_back({c.weight_offset(l), c.weight_size_per_particle(l), row});
    row += c.weight_size_per_particle(l);
    t.push_back({c.bias_offset(l), c.bias_size_per_particle(l), row});
    row += c.bias_size_per_particle(l);
  }
  return t;
}

LoptTensor TensorOf(LoptProblem::Workspace* ws, const TensorInfo& t, int i) {
  LoptTensor v;
  const int64_t at = t.offset + i * t.size;
  v.param = ws->params.data() + at;
  v.grad = ws->grads.data() + at;
  for (int k = 0; k < kNumMomenta; ++k) v.momenta[k] = ws->momenta[k].data() + at;
  v.size = t.size;
  return v;
}

void ReportKernelError(const absl::Status& status) {
  static std::atomic<bool> reported{false};
  if (!reported.exchange(true)) {
    std::fprintf(stderr, "lopt_problem: kernel failed: %s\n",
                 status.ToString().c_str());
  }
}

template <typename T>
std::unique_ptr<T> OrDie(absl::StatusOr<std::unique_ptr<T>> made,
                         const std::string& what) {
  if (!made.ok()) {
    // NewStates cannot return a status (yet); Create() built these shapes.
    std::fprintf(stderr, "lopt_problem: cannot create %s: %s\n", what.c_str(),
                 made.status().ToString().c_str());
    std::abort();
  }
  return std::move(*made);
}

int64_t LargestPowerOfTwoAtMost(int64_t n) {
  int64_t p = 1;
  while (p * 2 <= n) p *= 2;
  return p;
}

class LoptStates : public ParticleStates {
 public:
  int num_particles() const override { return n; }
  void CopyParticle(int from, int to) override {
    ES_CHECK(from >= 0 && from < n && to >= 0 && to < n);
    if (from == to) return;
    for (const TensorInfo& t : main->tensors) {
      std::vector<float>* arrays[kNumMomenta + 1];
      arrays[0] = &main->params;
      for (int k = 0; k < kNumMomenta; ++k) arrays[k + 1] = &main->momenta[k];
      for (std::vector<float>* a : arrays) {
        float* base = a->data() + t.offset;
        std::memcpy(base + to * t.size, base + from * t.size,
                    t.size * sizeof(float));
      }
    }
    keys[to] = keys[from];
  }

  int n = 0;
  std::vector<uint64_t> keys;
  std::unique_ptr<LoptProblem::Workspace> main;
  std::mutex pool_mutex;
  std::vector<std::unique_ptr<LoptProblem::Workspace>> pool;
  std::vector<char> busy;
};

// Copies particles [first, first + small.n) between the main workspace and a
// smaller one (weights and momenta).
void CopySlices(LoptProblem::Workspace* big, LoptProblem::Workspace* small,
                int first, bool to_small) {
  for (size_t k = 0; k < big->tensors.size(); ++k) {
    const TensorInfo& t = big->tensors[k];
    for (int a = 0; a <= kNumMomenta; ++a) {
      float* b = (a == 0 ? big->params : big->momenta[a - 1]).data() +
                 t.offset + first * t.size;
      float* s = (a == 0 ? small->params : small->momenta[a - 1]).data() +
                 small->tensors[k].offset;
      const size_t bytes = static_cast<size_t>(small->n) * t.size * sizeof(float);
      if (to_small) {
        std::memcpy(s, b, bytes);
      } else {
        std::memcpy(b, s, bytes);
      }
    }
  }
}

// Same sampler as inner/mlp_hpo.cc (indices with replacement, keyed by
// (key, t) on Stream::kMinibatch, pair 0).
void SampleIndices(uint64_t key, uint64_t draw, int64_t count, int64_t n,
                   int64_t* out) {
  const RandomKey rk{key, Stream::kMinibatch};
  for (int64_t j = 0; j < count; j += 4) {
    const auto block = RandomBlock(rk, draw, 0, static_cast<uint32_t>(j / 4));
    for (int64_t w = 0; w < 4 && j + w < count; ++w) {
      out[j + w] = static_cast<int64_t>(
          (static_cast<uint64_t>(block[w]) * static_cast<uint64_t>(n)) >> 32);
    }
  }
}

}  // namespace

// ---------------------------------------------------------------------------
// Config and construction.

absl::Status LoptProblemConfig::Validate() const {
  if (hidden_sizes.empty()) {
    return absl::InvalidArgumentError(
        "lopt_problem: hidden_sizes must name at least one hidden layer");
  }
  for (int64_t h : hidden_sizes) {
    if (h < 1 || h > (int64_t{1} << 16)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "lopt_problem: every hidden size must be in [1, 65536], got ",
          absl::StrJoin(hidden_sizes, ",")));
    }
  }
  if (num_classes < 2) {
    return absl::InvalidArgumentError(absl::StrCat(
        "lopt_problem: num_classes must be >= 2, got ", num_classes));
  }
  if (batch_size < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "lopt_problem: batch_size must be >= 1, got ", batch_size));
  }
  if (horizon < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("lopt_problem: horizon T must be >= 1, got ", horizon));
  }
  if (rows_per_chunk < 1 || rows_per_chunk > (int64_t{1} << 20)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "lopt_problem: rows_per_chunk must be in [1, 2^20], got ",
        rows_per_chunk));
  }
  LoptMlpConfig lopt;
  lopt.hidden_sizes = lopt_hidden_sizes;
  if (absl::Status s = lopt.Validate(); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("lopt_problem: lopt_hidden_sizes: ", s.message()));
  }
  return absl::OkStatus();
}

LoptProblem::LoptProblem(const LoptProblemConfig& config, MlpDataView train)
    : config_(config), train_(train) {
  layer_sizes_.push_back(train.num_features);
  for (int64_t h : config.hidden_sizes) layer_sizes_.push_back(h);
  layer_sizes_.push_back(config.num_classes);
  for (size_t l = 0; l + 1 < layer_sizes_.size(); ++l) {
    params_per_particle_ += (layer_sizes_[l] + 1) * layer_sizes_[l + 1];
  }
  chunk_ = std::min(config.rows_per_chunk, params_per_particle_);
}

LoptProblem::~LoptProblem() = default;

absl::StatusOr<std::unique_ptr<LoptProblem>> LoptProblem::Create(
    const LoptProblemConfig& config, MlpDataView train) {
  if (absl::Status s = config.Validate(); !s.ok()) return s;
  if (train.num_examples() <= 0 || train.num_features <= 0 ||
      static_cast<int64_t>(train.images.size()) !=
          train.num_examples() * train.num_features) {
    return absl::InvalidArgumentError(absl::StrCat(
        "lopt_problem: the training set has ", train.images.size(),
        " image floats for ", train.num_examples(), " labels and ",
        train.num_features, " features; need at least one example and "
        "labels * features floats"));
  }
  for (int64_t i = 0; i < train.num_examples(); ++i) {
    if (train.labels[i] < 0 || train.labels[i] >= config.num_classes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "lopt_problem: training label ", i, " is ", train.labels[i],
          "; labels must be in [0, ", config.num_classes, ")"));
    }
  }
  auto problem = std::unique_ptr<LoptProblem>(new LoptProblem(config, train));
  BatchedMlpConfig kc;
  kc.layer_sizes = problem->layer_sizes_;
  kc.batch_size = config.batch_size;
  if (auto k = BatchedMlp::Create(kc); !k.ok()) return k.status();
  if (auto k = LoptMlp::Create(problem->lopt_config()); !k.ok()) {
    return k.status();
  }
  return problem;
}

std::string LoptProblem::name() const {
  return absl::StrCat("lopt_", absl::StrJoin(layer_sizes_, "-"), "_B",
                      config_.batch_size, "_T", config_.horizon);
}

LoptMlpConfig LoptProblem::lopt_config() const {
  LoptMlpConfig c;
  c.hidden_sizes = config_.lopt_hidden_sizes;
  c.rows = chunk_;
  return c;
}

int LoptProblem::theta_dim() const {
  return static_cast<int>(lopt_config().theta_dim());
}

double LoptProblem::FlopsPerParticleStep() const {
  BatchedMlpConfig c;
  c.layer_sizes = layer_sizes_;
  c.batch_size = config_.batch_size;
  return c.ForwardFlops() + c.BackwardFlops() +
         lopt_config().FlopsPerRow() * static_cast<double>(params_per_particle_);
}

Eigen::VectorXd LoptProblem::SampleInitialTheta(uint64_t seed,
                                                uint64_t index) const {
  const std::vector<double> t = LoptMlpInitialTheta(lopt_config(), seed, index);
  return Eigen::Map<const Eigen::VectorXd>(t.data(), t.size());
}

void LoptProblem::TrainIndices(uint64_t key, int64_t t, int64_t* out) const {
  SampleIndices(key, static_cast<uint64_t>(t), config_.batch_size,
                train_.num_examples(), out);
}

// ---------------------------------------------------------------------------
// States.

namespace {

std::unique_ptr<LoptProblem::Workspace> MakeWorkspace(
    const std::vector<int64_t>& layer_sizes, const LoptProblemConfig& config,
    const LoptMlpConfig& lopt_config, int n) {
  auto ws = std::make_unique<LoptProblem::Workspace>();
  ws->n = n;
  BatchedMlpConfig& c = ws->shared_config;
  c.layer_sizes = layer_sizes;
  c.num_particles = n;
  c.batch_size = config.batch_size;
  c.input_mode = InputMode::kShared;
  ws->per_particle_config = c;
  ws->per_particle_config.input_mode = InputMode::kPerParticle;
  ws->shared = OrDie(BatchedMlp::Create(c), c.DebugString());
  LoptMlpConfig lc = lopt_config;
  lc.num_particles = n;
  ws->lopt = OrDie(LoptMlp::Create(lc), lc.DebugString());
  ws->params.assign(c.num_params(), 0.0f);
  ws->grads.assign(c.num_params(), 0.0f);
  ws->momenta.assign(kNumMomenta, std::vector<float>(c.num_params(), 0.0f));
  ws->images.assign(c.inputs_size(), 0.0f);
  ws->labels.assign(c.labels_size(), 0);
  ws->indices.assign(config.batch_size, 0);
  ws->step_loss.assign(n, 0.0);
  ws->total_loss.assign(n, 0.0);
  ws->scales.assign(static_cast<size_t>(n) * 2 * c.num_layers() *
                        kNumRowFeatures, 0.0f);
  ws->time_features.assign(static_cast<size_t>(n) * kNumTimeFeatures, 0.0f);
  ws->outputs.assign(static_cast<size_t>(n) * lc.rows * 2, 0.0f);
  ws->thetas.assign(static_cast<size_t>(n) * lc.theta_dim(), 0.0);
  ws->tensors = Tensors(c);
  return ws;
}

void EnsurePerParticle(LoptProblem::Workspace* ws) {
  if (ws->per_particle != nullptr) return;
  ws->per_particle = OrDie(BatchedMlp::Create(ws->per_particle_config),
                           ws->per_particle_config.DebugString());
  ws->pp_images.assign(ws->per_particle_config.inputs_size(), 0.0f);
  ws->pp_labels.assign(ws->per_particle_config.labels_size(), 0);
}

}  // namespace

std::unique_ptr<ParticleStates> LoptProblem::NewStates(
    int num_particles) const {
  ES_CHECK_MSG(num_particles >= 1, "NewStates needs at least one particle");
  auto s = std::make_unique<LoptStates>();
  s->n = num_particles;
  s->keys.assign(num_particles, 0);
  s->main = MakeWorkspace(layer_sizes_, config_, lopt_config(), num_particles);
  return s;
}

void LoptProblem::Reset(ParticleStates* states, absl::Span<const int> particles,
                        absl::Span<const uint64_t> episode_keys) const {
  auto* s = static_cast<LoptStates*>(states);
  ES_CHECK(particles.size() == episode_keys.size());
  const BatchedMlpConfig& c = s->main->shared_config;
  for (size_t k = 0; k < particles.size(); ++k) {
    const int p = particles[k];
    ES_CHECK(p >= 0 && p < s->n);
    const uint64_t key = episode_keys[k];
    for (const TensorInfo& t : s->main->tensors) {
      for (int m = 0; m < kNumMomenta; ++m) {
        std::memset(s->main->momenta[m].data() + t.offset + p * t.size, 0,
                    t.size * sizeof(float));
      }
    }
    for (int l = 0; l < c.num_layers(); ++l) {
      const int64_t ws = c.weight_size_per_particle(l);
      const int64_t bs = c.bias_size_per_particle(l);
      FillTruncatedNormal(
          RandomKey{key, Stream::kInit}, static_cast<uint64_t>(l),
          1.0 / std::sqrt(static_cast<double>(layer_sizes_[l])),
          absl::MakeSpan(s->main->params.data() + c.weight_offset(l) + p * ws,
                         ws));
      std::memset(s->main->params.data() + c.bias_offset(l) + p * bs, 0,
                  bs * sizeof(float));
    }
    s->keys[p] = key;
  }
}

std::vector<float> LoptProblem::GetParticleMomentum(
    const ParticleStates& states, int particle, int k) const {
  const auto& s = static_cast<const LoptStates&>(states);
  ES_CHECK(particle >= 0 && particle < s.n && k >= -1 && k < kNumMomenta);
  const std::vector<float>& a = k < 0 ? s.main->params : s.main->momenta[k];
  std::vector<float> out;
  for (const TensorInfo& t : s.main->tensors) {
    const float* src = a.data() + t.offset + particle * t.size;
    out.insert(out.end(), src, src + t.size);
  }
  return out;
}

std::vector<float> LoptProblem::GetParticleParams(const ParticleStates& states,
                                                  int particle) const {
  return GetParticleMomentum(states, particle, -1);
}

// ---------------------------------------------------------------------------
// Unroll.

namespace {

struct StepContext {
  const LoptProblem* problem;
  const MlpDataView* train;
  int64_t batch_size;
  int64_t rows;   // M
  int64_t chunk;  // rows per particle per optimiser call
};

// Minibatch of step t0[i] + k into ws->images (shared) or ws->pp_images.
void GatherBatch(const StepContext& ctx, LoptProblem::Workspace* ws,
                 const uint64_t* keys, const int64_t* t0, int k, bool shared) {
  const int64_t B = ctx.batch_size, d = ctx.train->num_features;
  auto gather = [&](uint64_t key, int64_t t, float* img, int32_t* lab) {
    ctx.problem->TrainIndices(key, t, ws->indices.data());
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
absl::Status OptimiserStep(const StepContext& ctx, LoptProblem::Workspace* ws,
                           const int64_t* t0, int k) {
  const int n = ws->n;
  const std::vector<TensorInfo>& tensors = ws->tensors;
  const int num_tensors = static_cast<int>(tensors.size());
#pragma omp parallel for schedule(dynamic)
  for (int task = 0; task < n * num_tensors; ++task) {
    const int i = task / num_tensors, t = task % num_tensors;
    double sumsq[kNumRowFeatures];
    const LoptTensor view = TensorOf(ws, tensors[t], i);
    UpdateMomentaAndSquares(view, sumsq);
    FeatureScales(sumsq, view.size, ws->scales.data() +
                                        static_cast<size_t>(task) * kNumRowFeatures);
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
        const TensorInfo& info = tensors[t];
        const int64_t a = std::max(lo, info.first_row);
        const int64_t b = std::min(hi, info.first_row + info.size);
        if (a >= b) continue;
        WriteRowFeatures(TensorOf(ws, info, i),
                         ws->scales.data() +
                             (static_cast<size_t>(i) * num_tensors + t) *
                                 kNumRowFeatures,
                         a - info.first_row, b - info.first_row,
                         in + (a - lo) * ld, ld);
      }
      if (hi - lo < C) {
        std::memset(in + (hi - lo) * ld, 0, (C - (hi - lo)) * ld * sizeof(float));
      }
    }
    if (absl::Status s = ws->lopt->Run(absl::MakeSpan(ws->outputs)); !s.ok()) {
      return s;
    }
#pragma omp parallel for schedule(static)
    for (int i = 0; i < n; ++i) {
      const float* out = ws->outputs.data() + static_cast<size_t>(i) * C * 2;
      for (int t = 0; t < num_tensors; ++t) {
        const TensorInfo& info = tensors[t];
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

absl::Status RunChunk(const StepContext& ctx, LoptProblem::Workspace* ws,
                      const uint64_t* keys, const RowMatrixXd& thetas,
                      int first, const int64_t* t0, int num_steps,
                      double* losses) {
  const int n = ws->n;
  bool shared = true;
  for (int i = 1; i < n; ++i) {
    shared = shared && keys[i] == keys[0] && t0[i] == t0[0];
  }
  if (!shared) EnsurePerParticle(ws);
  BatchedMlp* kernel = shared ? ws->shared.get() : ws->per_particle.get();
  const int64_t P = thetas.cols();
  for (int i = 0; i < n; ++i) {
    for (int64_t j = 0; j < P; ++j) ws->thetas[i * P + j] = thetas(first + i, j);
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
    if (absl::Status s = kernel->ForwardBackward(
            ws->params, inputs, labels, absl::MakeSpan(ws->step_loss),
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

void LoptProblem::Unroll(ParticleStates* states, int begin, int end,
                         const RowMatrixXd& thetas, const int64_t* t0,
                         int num_steps, double* losses) const {
  auto* s = static_cast<LoptStates*>(states);
  ES_CHECK(begin >= 0 && begin <= end && end <= s->n);
  ES_CHECK(thetas.rows() >= end && thetas.cols() == theta_dim());
  if (begin == end) return;
  const StepContext ctx{this, &train_, config_.batch_size,
                        params_per_particle_, chunk_};
  auto run = [&](Workspace* ws, int first) {
    const absl::Status st =
        RunChunk(ctx, ws, s->keys.data() + first, thetas, first, t0 + first,
                 num_steps, losses + first);
    if (!st.ok()) {
      ReportKernelError(st);
      for (int i = 0; i < ws->n; ++i) losses[first + i] = kNaN;
    }
  };
  if (begin == 0 && end == s->n) {
    run(s->main.get(), 0);
    return;
  }
  // Other ranges: power-of-two chunks on pooled workspaces.
  for (int first = begin; first < end;) {
    const int size = static_cast<int>(LargestPowerOfTwoAtMost(end - first));
    Workspace* ws = nullptr;
    size_t slot = 0;
    {
      std::lock_guard<std::mutex> lock(s->pool_mutex);
      for (slot = 0; slot < s->pool.size(); ++slot) {
        if (!s->busy[slot] && s->pool[slot]->n == size) break;
      }
      if (slot == s->pool.size()) {
        s->pool.push_back(
            MakeWorkspace(layer_sizes_, config_, lopt_config(), size));
        s->busy.push_back(0);
      }
      s->busy[slot] = 1;
      ws = s->pool[slot].get();
    }
    CopySlices(s->main.get(), ws, first, /*to_small=*/true);
    run(ws, first);
    CopySlices(s->main.get(), ws, first, /*to_small=*/false);
    {
      std::lock_guard<std::mutex> lock(s->pool_mutex);
      s->busy[slot] = 0;
    }
    first += size;
  }
}

}  // namespace es
