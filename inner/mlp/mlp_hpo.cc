// mlp_hpo.cc - see mlp_hpo.h.
#include "inner/mlp/mlp_hpo.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
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

namespace es {
namespace {

using Parametrization = MlpHpoConfig::Parametrization;
using Objective = MlpHpoConfig::Objective;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// Normals for the initial weights are drawn in chunks of this many
// coordinates (the Philox "pair" word is the chunk index).
constexpr int64_t kInitChunk = 4096;
// Minibatch draws: Philox pair word per purpose.
constexpr uint32_t kTrainPair = 0;
constexpr uint32_t kValidationPair = 1;
constexpr uint32_t kMeasurePair = 2;

double Sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
double Logit(double p) { return std::log(p / (1.0 - p)); }

// count indices in [0, n), drawn with replacement from (key, draw, pair).
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

void GatherRows(const MlpDataView& data, const int64_t* idx, int64_t count,
                float* images, int32_t* labels) {
  const int64_t d = data.num_features;
  for (int64_t b = 0; b < count; ++b) {
    std::memcpy(images + b * d, data.images.data() + idx[b] * d,
                d * sizeof(float));
    labels[b] = data.labels[idx[b]];
  }
}

absl::Status ValidateData(const MlpDataView& data, const char* what,
                          int64_t num_classes) {
  if (data.num_examples() <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("mlp_hpo: the ", what, " set has no examples"));
  }
  if (data.num_features <= 0 ||
      static_cast<int64_t>(data.images.size()) !=
          data.num_examples() * data.num_features) {
    return absl::InvalidArgumentError(absl::StrCat(
        "mlp_hpo: the ", what, " set has ", data.images.size(),
        " image floats for ", data.num_examples(), " labels and ",
        data.num_features, " features; need labels * features"));
  }
  for (int64_t i = 0; i < data.num_examples(); ++i) {
    if (data.labels[i] < 0 || data.labels[i] >= num_classes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "mlp_hpo: ", what, " label ", i, " is ", data.labels[i],
          "; labels must be in [0, ", num_classes, ")"));
    }
  }
  return absl::OkStatus();
}

int64_t LargestPowerOfTwoAtMost(int64_t n) {
  int64_t p = 1;
  while (p * 2 <= n) p *= 2;
  return p;
}

}  // namespace

// ---------------------------------------------------------------------------
// Config.

absl::Status MlpHpoConfig::Validate() const {
  if (hidden_sizes.empty()) {
    return absl::InvalidArgumentError(
        "mlp_hpo: hidden_sizes must name at least one hidden layer");
  }
  for (int64_t h : hidden_sizes) {
    if (h < 1 || h > (int64_t{1} << 16)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "mlp_hpo: every hidden size must be in [1, 65536], got ",
          absl::StrJoin(hidden_sizes, ",")));
    }
  }
  if (num_classes < 2) {
    return absl::InvalidArgumentError(absl::StrCat(
        "mlp_hpo: num_classes must be >= 2, got ", num_classes));
  }
  if (batch_size < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("mlp_hpo: batch_size must be >= 1, got ", batch_size));
  }
  if (horizon < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("mlp_hpo: horizon T must be >= 1, got ", horizon));
  }
  if (!(schedule_q > 0) || !std::isfinite(schedule_q)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "mlp_hpo: schedule_q (Q) must be finite and > 0, got ", schedule_q));
  }
  if (!(fixed_momentum >= 0 && fixed_momentum < 1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "mlp_hpo: fixed_momentum must be in [0, 1), got ", fixed_momentum));
  }
  if (min_units < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("mlp_hpo: min_units must be >= 1, got ", min_units));
  }
  if (measure_batch_size < batch_size ||
      measure_batch_size % batch_size != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "mlp_hpo: measure_batch_size must be a positive multiple of "
        "batch_size = ", batch_size, ", got ", measure_batch_size));
  }
  return absl::OkStatus();
}

MlpHpoConfig MlpHpoConfig::ManyHyperparameters() {
  MlpHpoConfig c;
  c.hidden_sizes = {100, 100, 100, 100, 100};
  c.horizon = 1000;
  c.parametrization = Parametrization::kPerBlock;
  c.objective = Objective::kSumValidationLoss;
  return c;
}

MlpHpoConfig MlpHpoConfig::LrSchedule() { return MlpHpoConfig(); }

// ---------------------------------------------------------------------------
// Workspaces and states.

// Buffers and kernels for n particles. The states' main workspace (n = N)
// holds the canonical parameters and momentum; the others are scratch for
// sub-ranges.
struct MlpHpoProblem::Workspace {
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

namespace {

class MlpHpoStates : public ParticleStates {
 public:
  int num_particles() const override { return n; }
  void CopyParticle(int from, int to) override {
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

  // Checkpoint: episode keys, parameters and momentum of every particle
  // (the pooled workspaces are scratch).
  absl::Status Save(StateWriter* out) const override {
    out->Tag("mlp_hpo");
    out->Vector(keys);
    out->Vector(main->params);
    out->Vector(main->momentum);
    return absl::OkStatus();
  }
  absl::Status Load(StateReader* in) override {
    if (auto s = in->Tag("mlp_hpo"); !s.ok()) return s;
    if (auto s = in->Vector(&keys, n); !s.ok()) return s;
    const int64_t size = static_cast<int64_t>(main->params.size());
    if (auto s = in->Vector(&main->params, size); !s.ok()) return s;
    return in->Vector(&main->momentum, size);
  }

  int n = 0;
  std::vector<uint64_t> keys;
  std::unique_ptr<MlpHpoProblem::Workspace> main;
  // Power-of-two workspaces for sub-ranges, created on first need.
  std::mutex pool_mutex;
  std::vector<std::unique_ptr<MlpHpoProblem::Workspace>> pool;
  std::vector<char> busy;
};

// Copies particles [first, first + ws->n) of `main` into `ws` (or back).
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

}  // namespace

// ---------------------------------------------------------------------------
// The problem.

MlpHpoProblem::MlpHpoProblem(const MlpHpoConfig& config, MlpDataView train,
                             MlpDataView validation)
    : config_(config), train_(train), validation_(validation) {
  layer_sizes_.push_back(train.num_features);
  for (int64_t h : config.hidden_sizes) layer_sizes_.push_back(h);
  layer_sizes_.push_back(config.num_classes);
  params_per_particle_ = 0;
  for (size_t l = 0; l + 1 < layer_sizes_.size(); ++l) {
    params_per_particle_ += (layer_sizes_[l] + 1) * layer_sizes_[l + 1];
  }
}

MlpHpoProblem::~MlpHpoProblem() = default;

absl::StatusOr<std::unique_ptr<MlpHpoProblem>> MlpHpoProblem::Create(
    const MlpHpoConfig& config, MlpDataView train, MlpDataView validation) {
  if (auto s = config.Validate(); !s.ok()) return s;
  if (auto s = ValidateData(train, "training", config.num_classes); !s.ok()) {
    return s;
  }
  if (config.objective == Objective::kSumValidationLoss) {
    if (auto s = ValidateData(validation, "validation", config.num_classes);
        !s.ok()) {
      return s;
    }
    if (validation.num_features != train.num_features) {
      return absl::InvalidArgumentError(absl::StrCat(
          "mlp_hpo: validation examples have ", validation.num_features,
          " features, training examples ", train.num_features));
    }
  }
  auto problem = std::unique_ptr<MlpHpoProblem>(
      new MlpHpoProblem(config, train, validation));
  BatchedMlpConfig kc;
  kc.layer_sizes = problem->layer_sizes_;
  kc.num_particles = 1;
  kc.batch_size = config.batch_size;
  kc.input_mode = InputMode::kShared;
  if (auto k = BatchedMlp::Create(kc); !k.ok()) return k.status();
  return problem;
}

std::string MlpHpoProblem::name() const {
  const char* p = config_.parametrization == Parametrization::kLrSchedule
                      ? "lr_schedule"
                  : config_.parametrization == Parametrization::kGlobalLr
                      ? "global_lr"
                      : "per_block";
  const char* o =
      config_.objective == Objective::kSumTrainLoss ? "train" : "valid";
  return absl::StrCat("mlp_hpo_", absl::StrJoin(layer_sizes_, "-"), "_", p,
                      "_", o);
}

int MlpHpoProblem::theta_dim() const {
  const int L = static_cast<int>(layer_sizes_.size()) - 1;
  switch (config_.parametrization) {
    case Parametrization::kLrSchedule:
      return 2;
    case Parametrization::kGlobalLr:
      return 1;
    case Parametrization::kPerBlock:
      return 4 * L + (L - 1);
  }
  return 0;
}

std::vector<std::string> MlpHpoProblem::ThetaNames() const {
  switch (config_.parametrization) {
    case Parametrization::kLrSchedule:
      return {"log_init_lr", "log_lr_decay"};
    case Parametrization::kGlobalLr:
      return {"log_lr"};
    case Parametrization::kPerBlock:
      break;
  }
  const int L = static_cast<int>(layer_sizes_.size()) - 1;
  std::vector<std::string> names;
  for (const char* kind : {"log_lr", "logit_mom"}) {
    for (int l = 0; l < L; ++l) {
      names.push_back(absl::StrCat(kind, "_W", l));
      names.push_back(absl::StrCat(kind, "_b", l));
    }
  }
  for (int h = 1; h < L; ++h) names.push_back(absl::StrCat("logit_width_h", h));
  return names;
}

double MlpHpoProblem::FlopsPerParticleStep() const {
  BatchedMlpConfig c;
  c.layer_sizes = layer_sizes_;
  c.num_particles = 1;
  c.batch_size = config_.batch_size;
  double flops = c.ForwardFlops() + c.BackwardFlops();
  if (config_.objective == Objective::kSumValidationLoss) {
    flops += c.ForwardFlops();
  }
  return flops;
}

void MlpHpoProblem::TrainIndices(uint64_t key, int64_t t, int64_t* out) const {
  SampleIndices(key, static_cast<uint64_t>(t), kTrainPair, config_.batch_size,
                train_.num_examples(), out);
}

void MlpHpoProblem::ValidationIndices(uint64_t key, int64_t t,
                                      int64_t* out) const {
  SampleIndices(key, static_cast<uint64_t>(t), kValidationPair,
                config_.batch_size, validation_.num_examples(), out);
}

void MlpHpoProblem::MeasureIndices(uint64_t key, int64_t* out) const {
  SampleIndices(key, 0, kMeasurePair, config_.measure_batch_size,
                train_.num_examples(), out);
}

namespace {

int32_t WidthFromLogit(double logit, int64_t max_units, int64_t min_units) {
  const double f = Sigmoid(logit);
  if (!std::isfinite(f)) return static_cast<int32_t>(max_units);
  const int64_t k = std::llround(f * static_cast<double>(max_units));
  return static_cast<int32_t>(
      std::clamp<int64_t>(k, std::min(min_units, max_units), max_units));
}

}  // namespace

MlpHyperparameters MlpHpoProblem::Decode(const Eigen::VectorXd& theta,
                                         int64_t t) const {
  ES_CHECK(theta.size() == theta_dim());
  const int L = static_cast<int>(layer_sizes_.size()) - 1;
  MlpHyperparameters h;
  h.learning_rate.assign(2 * L, 0.0);
  h.momentum.assign(2 * L, config_.fixed_momentum);
  for (int l = 0; l + 1 < L; ++l) {
    h.active_units.push_back(static_cast<int32_t>(layer_sizes_[l + 1]));
  }
  switch (config_.parametrization) {
    case Parametrization::kLrSchedule: {
      const double lr =
          std::exp(theta[0]) *
          std::pow(1.0 + static_cast<double>(t) / config_.schedule_q,
                   -std::exp(theta[1]));
      std::fill(h.learning_rate.begin(), h.learning_rate.end(), lr);
      break;
    }
    case Parametrization::kGlobalLr:
      std::fill(h.learning_rate.begin(), h.learning_rate.end(),
                std::exp(theta[0]));
      break;
    case Parametrization::kPerBlock:
      for (int b = 0; b < 2 * L; ++b) {
        h.learning_rate[b] = std::exp(theta[b]);
        h.momentum[b] = Sigmoid(theta[2 * L + b]);
      }
      for (int l = 0; l + 1 < L; ++l) {
        h.active_units[l] = WidthFromLogit(theta[4 * L + l],
                                           layer_sizes_[l + 1],
                                           config_.min_units);
      }
      break;
  }
  return h;
}

Eigen::VectorXd MlpHpoProblem::SampleInitialTheta(uint64_t seed,
                                                  uint64_t index) const {
  const RandomKey rk{seed, Stream::kUser};
  auto uniform = [&](int coord, double lo, double hi) {
    return lo + (hi - lo) * UniformOpen(rk, index, 0, coord);
  };
  const int P = theta_dim();
  Eigen::VectorXd theta(P);
  const double lr_lo = std::log(1e-4), lr_hi = std::log(1e-2);
  switch (config_.parametrization) {
    case Parametrization::kLrSchedule:
      theta[0] = uniform(0, lr_lo, lr_hi);
      theta[1] = uniform(1, std::log(0.1), std::log(10.0));
      break;
    case Parametrization::kGlobalLr:
      theta[0] = uniform(0, lr_lo, lr_hi);
      break;
    case Parametrization::kPerBlock: {
      const int L = static_cast<int>(layer_sizes_.size()) - 1;
      for (int b = 0; b < 2 * L; ++b) {
        theta[b] = uniform(b, lr_lo, lr_hi);
        theta[2 * L + b] = uniform(2 * L + b, Logit(0.01), Logit(0.9));
      }
      for (int h = 0; h + 1 < L; ++h) {
        theta[4 * L + h] = uniform(4 * L + h, Logit(0.2), Logit(0.8));
      }
      break;
    }
  }
  return theta;
}

namespace {

// Creates a workspace for n particles: a kernel failure comes back as its
// Status, an allocation failure as ResourceExhausted.
absl::StatusOr<std::unique_ptr<MlpHpoProblem::Workspace>> MakeWorkspace(
    const std::vector<int64_t>& layer_sizes, const MlpHpoConfig& config,
    int n) try {
  auto ws = std::make_unique<MlpHpoProblem::Workspace>();
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

absl::Status EnsurePerParticle(MlpHpoProblem::Workspace* ws) try {
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
    MlpHpoProblem::Workspace* ws = nullptr;
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

}  // namespace

absl::StatusOr<std::unique_ptr<ParticleStates>> MlpHpoProblem::NewStates(
    int num_particles) const {
  absl::Status made = absl::OkStatus();
  absl::StatusOr<std::unique_ptr<ParticleStates>> states =
      MakeParticleStates(name(), num_particles,
                         [&]() -> std::unique_ptr<ParticleStates> {
                           auto s = std::make_unique<MlpHpoStates>();
                           s->n = num_particles;
                           s->keys.assign(num_particles, 0);
                           auto ws = MakeWorkspace(layer_sizes_, config_,
                                                   num_particles);
                           if (!ws.ok()) {
                             made = ws.status();
                             return nullptr;
                           }
                           s->main = *std::move(ws);
                           return s;
                         });
  if (!made.ok()) return made;
  return states;
}

void MlpHpoProblem::Reset(ParticleStates* states,
                          absl::Span<const int> particles,
                          absl::Span<const uint64_t> episode_keys) const {
  auto* s = static_cast<MlpHpoStates*>(states);
  ES_CHECK(particles.size() == episode_keys.size());
  const BatchedMlpConfig& c = s->main->shared_config;
  const int L = c.num_layers();
  std::array<double, kInitChunk> normals;
  for (size_t k = 0; k < particles.size(); ++k) {
    const int p = particles[k];
    ES_CHECK(p >= 0 && p < s->n);
    const uint64_t key = episode_keys[k];
    // A particle reset earlier in this call with the same key has the same
    // initial weights: copy them instead of drawing them again.
    int source = -1;
    for (size_t q = 0; q < k; ++q) {
      if (episode_keys[q] == key) {
        source = particles[q];
        break;
      }
    }
    for (int l = 0; l < L; ++l) {
      const int64_t ws = c.weight_size_per_particle(l);
      const int64_t bs = c.bias_size_per_particle(l);
      float* w = s->main->params.data() + c.weight_offset(l);
      float* b = s->main->params.data() + c.bias_offset(l);
      std::memset(s->main->momentum.data() + c.weight_offset(l) + p * ws, 0,
                  ws * sizeof(float));
      std::memset(s->main->momentum.data() + c.bias_offset(l) + p * bs, 0,
                  bs * sizeof(float));
      if (source >= 0) {
        if (source != p) {
          std::memcpy(w + p * ws, w + source * ws, ws * sizeof(float));
          std::memcpy(b + p * bs, b + source * bs, bs * sizeof(float));
        }
        continue;
      }
      const bool output = l + 1 == L;
      const double scale =
          std::sqrt((output ? 1.0 : 2.0) / static_cast<double>(layer_sizes_[l]));
      const RandomKey rk{key, Stream::kInit};
      for (int64_t start = 0; start < ws; start += kInitChunk) {
        const int count = static_cast<int>(std::min(kInitChunk, ws - start));
        StandardNormals(rk, static_cast<uint64_t>(l),
                        static_cast<uint32_t>(start / kInitChunk), count,
                        normals.data());
        float* dst = w + p * ws + start;
        for (int j = 0; j < count; ++j) {
          dst[j] = static_cast<float>(scale * normals[j]);
        }
      }
      std::memset(b + p * bs, 0, bs * sizeof(float));
    }
    s->keys[p] = key;
  }
}

namespace {

// What one chunk's computation needs from the problem (keeps the helpers
// below free functions).
struct ChunkContext {
  const MlpHpoConfig* config;
  const std::vector<int64_t>* layer_sizes;
  const MlpDataView* train;
  const MlpDataView* validation;
  const MlpHpoProblem* problem;
};

// Decodes rows [first, first + n) of thetas into ws->base_lr, mom, decay,
// active and sets the masks on `kernel`.
void DecodeRows(const ChunkContext& ctx, MlpHpoProblem::Workspace* ws,
                const RowMatrixXd& thetas, int first, BatchedMlp* kernel) {
  const int n = ws->n;
  const int L = static_cast<int>(ctx.layer_sizes->size()) - 1;
  const int H = L - 1;
  const MlpHpoConfig& config = *ctx.config;
  for (int i = 0; i < n; ++i) {
    const auto row = thetas.row(first + i);
    double* lr = ws->base_lr.data() + static_cast<size_t>(i) * 2 * L;
    double* mom = ws->mom.data() + static_cast<size_t>(i) * 2 * L;
    int32_t* active = ws->active.data() + static_cast<size_t>(i) * H;
    ws->decay[i] = 0.0;
    for (int h = 0; h < H; ++h) {
      active[h] = static_cast<int32_t>((*ctx.layer_sizes)[h + 1]);
    }
    switch (config.parametrization) {
      case Parametrization::kLrSchedule:
        std::fill(lr, lr + 2 * L, std::exp(row[0]));
        std::fill(mom, mom + 2 * L, config.fixed_momentum);
        ws->decay[i] = std::exp(row[1]);
        break;
      case Parametrization::kGlobalLr:
        std::fill(lr, lr + 2 * L, std::exp(row[0]));
        std::fill(mom, mom + 2 * L, config.fixed_momentum);
        break;
      case Parametrization::kPerBlock:
        for (int b = 0; b < 2 * L; ++b) {
          lr[b] = std::exp(row[b]);
          mom[b] = Sigmoid(row[2 * L + b]);
        }
        for (int h = 0; h < H; ++h) {
          active[h] = WidthFromLogit(row[4 * L + h],
                                     (*ctx.layer_sizes)[h + 1],
                                     config.min_units);
        }
        break;
    }
  }
  if (config.parametrization == Parametrization::kPerBlock) {
    const absl::Status st = kernel->SetActiveUnits(ws->active);
    ES_CHECK_MSG(st.ok(), "active units out of range (a bug in WidthFromLogit)");
  } else {
    kernel->ClearActiveUnits();
  }
}

// True if particles [0, n) of the chunk share (episode key, step).
bool Uniform(const uint64_t* keys, const int64_t* t0, int n) {
  for (int i = 1; i < n; ++i) {
    if (keys[i] != keys[0] || t0[i] != t0[0]) return false;
  }
  return true;
}

// v <- mu v + g; w <- w - alpha_t v per block, for every particle.
void SgdMomentumUpdate(const ChunkContext& ctx, MlpHpoProblem::Workspace* ws,
                       const int64_t* t0, int k) {
  const BatchedMlpConfig& c = ws->shared_config;
  const int L = c.num_layers();
  const int n = ws->n;
  const double q = ctx.config->schedule_q;
#pragma omp parallel for schedule(static) if (n > 1)
  for (int i = 0; i < n; ++i) {
    const double t = static_cast<double>(t0[i] + k);
    const double factor =
        ws->decay[i] == 0.0 ? 1.0 : std::pow(1.0 + t / q, -ws->decay[i]);
    for (int l = 0; l < L; ++l) {
      for (int bias = 0; bias < 2; ++bias) {
        const int64_t size = bias ? c.bias_size_per_particle(l)
                                  : c.weight_size_per_particle(l);
        const int64_t offset =
            (bias ? c.bias_offset(l) : c.weight_offset(l)) + i * size;
        const size_t block = static_cast<size_t>(i) * 2 * L + 2 * l + bias;
        const float lr = static_cast<float>(ws->base_lr[block] * factor);
        const float mu = static_cast<float>(ws->mom[block]);
        float* w = ws->params.data() + offset;
        float* v = ws->momentum.data() + offset;
        const float* g = ws->grads.data() + offset;
#pragma omp simd
        for (int64_t j = 0; j < size; ++j) {
          const float vj = mu * v[j] + g[j];
          v[j] = vj;
          w[j] -= lr * vj;
        }
      }
    }
  }
}

enum class Batch { kTrain, kValidation };

// Fills the chunk's minibatch for step t0 + k: ws->images/labels (shared) or
// ws->pp_images/pp_labels (per particle).
void GatherBatch(const ChunkContext& ctx, MlpHpoProblem::Workspace* ws,
                 const uint64_t* keys, const int64_t* t0, int k, bool shared,
                 Batch which) {
  const MlpDataView& data =
      which == Batch::kTrain ? *ctx.train : *ctx.validation;
  const int64_t B = ctx.config->batch_size;
  const int64_t d = data.num_features;
  auto indices = [&](uint64_t key, int64_t t) {
    if (which == Batch::kTrain) {
      ctx.problem->TrainIndices(key, t, ws->indices.data());
    } else {
      ctx.problem->ValidationIndices(key, t, ws->indices.data());
    }
  };
  if (shared) {
    indices(keys[0], t0[0] + k);
    GatherRows(data, ws->indices.data(), B, ws->images.data(),
               ws->labels.data());
    return;
  }
  for (int i = 0; i < ws->n; ++i) {
    float* img = ws->pp_images.data() + static_cast<size_t>(i) * B * d;
    int32_t* lab = ws->pp_labels.data() + static_cast<size_t>(i) * B;
    if (i > 0 && keys[i] == keys[i - 1] && t0[i] == t0[i - 1]) {
      std::memcpy(img, img - B * d, B * d * sizeof(float));
      std::memcpy(lab, lab - B, B * sizeof(int32_t));
      continue;
    }
    indices(keys[i], t0[i] + k);
    GatherRows(data, ws->indices.data(), B, img, lab);
  }
}

absl::Status RunChunk(const ChunkContext& ctx, MlpHpoProblem::Workspace* ws,
                      const uint64_t* keys, const RowMatrixXd& thetas,
                      int first, const int64_t* t0, int num_steps,
                      double* losses) {
  const int n = ws->n;
  const bool shared = Uniform(keys, t0, n);
  if (!shared) {
    if (absl::Status st = EnsurePerParticle(ws); !st.ok()) return st;
  }
  BatchedMlp* kernel = shared ? ws->shared.get() : ws->per_particle.get();
  DecodeRows(ctx, ws, thetas, first, kernel);
  const bool validation =
      ctx.config->objective == Objective::kSumValidationLoss;
  std::fill(ws->total_loss.begin(), ws->total_loss.end(), 0.0);
  const absl::Span<const float> inputs =
      shared ? absl::Span<const float>(ws->images)
             : absl::Span<const float>(ws->pp_images);
  const absl::Span<const int32_t> labels =
      shared ? absl::Span<const int32_t>(ws->labels)
             : absl::Span<const int32_t>(ws->pp_labels);
  for (int k = 0; k < num_steps; ++k) {
    GatherBatch(ctx, ws, keys, t0, k, shared, Batch::kTrain);
    absl::Status st = kernel->ForwardBackward(ws->params, inputs, labels,
                                              absl::MakeSpan(ws->step_loss),
                                              absl::MakeSpan(ws->grads));
    if (!st.ok()) return st;
    if (!validation) {
      for (int i = 0; i < n; ++i) ws->total_loss[i] += ws->step_loss[i];
    }
    SgdMomentumUpdate(ctx, ws, t0, k);
    if (validation) {
      GatherBatch(ctx, ws, keys, t0, k, shared, Batch::kValidation);
      st = kernel->Forward(ws->params, inputs, labels,
                           absl::MakeSpan(ws->step_loss));
      if (!st.ok()) return st;
      for (int i = 0; i < n; ++i) ws->total_loss[i] += ws->step_loss[i];
    }
  }
  for (int i = 0; i < n; ++i) losses[i] = ws->total_loss[i];
  return absl::OkStatus();
}

absl::Status MeasureChunk(const ChunkContext& ctx,
                          MlpHpoProblem::Workspace* ws, const uint64_t* keys,
                          const RowMatrixXd& thetas, int first,
                          double* losses) {
  const int n = ws->n;
  bool shared = true;
  for (int i = 1; i < n; ++i) shared = shared && keys[i] == keys[0];
  if (!shared) {
    if (absl::Status st = EnsurePerParticle(ws); !st.ok()) return st;
  }
  BatchedMlp* kernel = shared ? ws->shared.get() : ws->per_particle.get();
  DecodeRows(ctx, ws, thetas, first, kernel);
  const int64_t B = ctx.config->batch_size;
  const int64_t M = ctx.config->measure_batch_size;
  const int64_t d = ctx.train->num_features;
  std::fill(ws->total_loss.begin(), ws->total_loss.end(), 0.0);
  const absl::Span<const float> inputs =
      shared ? absl::Span<const float>(ws->images)
             : absl::Span<const float>(ws->pp_images);
  const absl::Span<const int32_t> labels =
      shared ? absl::Span<const int32_t>(ws->labels)
             : absl::Span<const int32_t>(ws->pp_labels);
  if (shared) ctx.problem->MeasureIndices(keys[0], ws->indices.data());
  for (int64_t start = 0; start < M; start += B) {
    if (shared) {
      GatherRows(*ctx.train, ws->indices.data() + start, B, ws->images.data(),
                 ws->labels.data());
    } else {
      for (int i = 0; i < n; ++i) {
        float* img = ws->pp_images.data() + static_cast<size_t>(i) * B * d;
        int32_t* lab = ws->pp_labels.data() + static_cast<size_t>(i) * B;
        if (i > 0 && keys[i] == keys[i - 1]) {
          std::memcpy(img, img - B * d, B * d * sizeof(float));
          std::memcpy(lab, lab - B, B * sizeof(int32_t));
          continue;
        }
        ctx.problem->MeasureIndices(keys[i], ws->indices.data());
        GatherRows(*ctx.train, ws->indices.data() + start, B, img, lab);
      }
    }
    const absl::Status st =
        kernel->Forward(ws->params, inputs, labels, absl::MakeSpan(ws->step_loss));
    if (!st.ok()) return st;
    for (int i = 0; i < n; ++i) ws->total_loss[i] += ws->step_loss[i];
  }
  const double chunks = static_cast<double>(M / B);
  for (int i = 0; i < n; ++i) losses[i] = ws->total_loss[i] / chunks;
  return absl::OkStatus();
}

}  // namespace

absl::Status MlpHpoProblem::Unroll(ParticleStates* states, int begin,
                                   int end, const RowMatrixXd& thetas,
                                   const int64_t* t0, int num_steps,
                                   double* losses) const {
  auto* s = static_cast<MlpHpoStates*>(states);
  if (absl::Status st =
          ValidateUnrollArgs(*this, *s, begin, end, thetas, num_steps);
      !st.ok()) {
    return st;
  }
  if (begin == end) return absl::OkStatus();
  const ChunkContext ctx{&config_, &layer_sizes_, &train_, &validation_, this};
  return ForEachChunk(s, layer_sizes_, config_, begin, end,
                      /*write_back=*/true, [&](Workspace* ws, int first) {
                        return RunChunk(ctx, ws, s->keys.data() + first,
                                        thetas, first, t0 + first, num_steps,
                                        losses + first);
                      });
}

absl::Status MlpHpoProblem::MeasureLoss(ParticleStates* states, int begin,
                                        int end, const RowMatrixXd& thetas,
                                        double* losses) const {
  auto* s = static_cast<MlpHpoStates*>(states);
  if (begin < 0 || begin > end || end > s->n || thetas.rows() < end ||
      thetas.cols() != theta_dim()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "MeasureLoss: range [", begin, ", ", end, ") with ", thetas.rows(),
        " x ", thetas.cols(), " thetas does not fit ", s->n,
        " particles of P = ", theta_dim()));
  }
  if (begin == end) return absl::OkStatus();
  const ChunkContext ctx{&config_, &layer_sizes_, &train_, &validation_, this};
  return ForEachChunk(s, layer_sizes_, config_, begin, end,
                      /*write_back=*/false, [&](Workspace* ws, int first) {
                        return MeasureChunk(ctx, ws, s->keys.data() + first,
                                            thetas, first, losses + first);
                      });
}

absl::StatusOr<MlpEvaluation> MlpHpoProblem::EvaluateBatch(
    const RowMatrixXd& thetas, int64_t length, uint64_t key,
    int max_batch) const {
  if (thetas.cols() != theta_dim()) {
    return absl::InvalidArgumentError(
        absl::StrCat("EvaluateBatch: thetas have ", thetas.cols(),
                     " columns; problem '", name(), "' needs P = ", theta_dim()));
  }
  if (length <= 0) length = horizon();
  if (length > horizon()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "EvaluateBatch: length ", length, " exceeds the horizon T = ",
        horizon()));
  }
  if (max_batch < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("EvaluateBatch: max_batch must be >= 1, got ", max_batch));
  }
  const int rows = static_cast<int>(thetas.rows());
  MlpEvaluation out;
  out.sum_loss.assign(rows, kNaN);
  out.final_loss.assign(rows, kNaN);
  std::unique_ptr<ParticleStates> states;
  for (int r = 0; r < rows; r += max_batch) {
    const int nb = std::min(max_batch, rows - r);
    if (states == nullptr || states->num_particles() != nb) {
      auto made = NewStates(nb);
      if (!made.ok()) return made.status();
      states = *std::move(made);
    }
    std::vector<int> particles(nb);
    for (int i = 0; i < nb; ++i) particles[i] = i;
    const std::vector<uint64_t> keys(nb, key);
    Reset(states.get(), particles, keys);
    const RowMatrixXd block = thetas.middleRows(r, nb);
    const std::vector<int64_t> t0(nb, 0);
    if (auto s = Unroll(states.get(), 0, nb, block, t0.data(),
                        static_cast<int>(length), out.sum_loss.data() + r);
        !s.ok()) {
      return s;
    }
    if (auto s = MeasureLoss(states.get(), 0, nb, block,
                             out.final_loss.data() + r);
        !s.ok()) {
      return s;
    }
  }
  return out;
}

absl::StatusOr<double> MlpHpoProblem::Evaluate(const Eigen::VectorXd& theta,
                                               int64_t length,
                                               uint64_t key) const {
  if (theta.size() != theta_dim()) {
    return absl::InvalidArgumentError(
        absl::StrCat("Evaluate: theta has ", theta.size(), " entries; problem '",
                     name(), "' needs P = ", theta_dim()));
  }
  RowMatrixXd row = theta.transpose();
  auto e = EvaluateBatch(row, length, key, 1);
  if (!e.ok()) return e.status();
  return e->sum_loss[0];
}

std::vector<float> MlpHpoProblem::GetParticleParams(
    const ParticleStates& states, int particle) const {
  const auto& s = static_cast<const MlpHpoStates&>(states);
  ES_CHECK(particle >= 0 && particle < s.n);
  const BatchedMlpConfig& c = s.main->shared_config;
  std::vector<float> out;
  out.reserve(params_per_particle_);
  for (int l = 0; l < c.num_layers(); ++l) {
    const int64_t ws = c.weight_size_per_particle(l);
    const int64_t bs = c.bias_size_per_particle(l);
    const float* w = s.main->params.data() + c.weight_offset(l) + particle * ws;
    const float* b = s.main->params.data() + c.bias_offset(l) + particle * bs;
    out.insert(out.end(), w, w + ws);
    out.insert(out.end(), b, b + bs);
  }
  return out;
}

void MlpHpoProblem::SetParticleParams(ParticleStates* states, int particle,
                                      absl::Span<const float> params) const {
  auto* s = static_cast<MlpHpoStates*>(states);
  ES_CHECK(particle >= 0 && particle < s->n);
  ES_CHECK(static_cast<int64_t>(params.size()) == params_per_particle_);
  const BatchedMlpConfig& c = s->main->shared_config;
  const float* src = params.data();
  for (int l = 0; l < c.num_layers(); ++l) {
    const int64_t ws = c.weight_size_per_particle(l);
    const int64_t bs = c.bias_size_per_particle(l);
    std::memcpy(s->main->params.data() + c.weight_offset(l) + particle * ws,
                src, ws * sizeof(float));
    src += ws;
    std::memcpy(s->main->params.data() + c.bias_offset(l) + particle * bs, src,
                bs * sizeof(float));
    src += bs;
  }
}

}  // namespace es
