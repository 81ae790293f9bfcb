// cifar_hpo_problem.cc - see cifar_hpo_problem.h.
#include "inner/cifar/cifar_hpo_problem.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "estimators/check.h"
#include "inner/cifar/cifar_hpo_step.h"

namespace es {
namespace {

using cifar_internal::Workspace;
using Objective = CifarHpoConfig::Objective;

absl::Status ValidateData(const MlpDataView& data, const char* what,
                          const CifarHpoConfig& config) {
  const int64_t d = 3 * config.image_size * config.image_size;
  if (data.num_examples() <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("cifar_hpo: the ", what, " set has no examples"));
  }
  if (data.num_features != d ||
      static_cast<int64_t>(data.images.size()) != data.num_examples() * d) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cifar_hpo: the ", what, " set has ", data.images.size(),
        " image floats for ", data.num_examples(), " labels and ",
        data.num_features, " features per image; need 3 * ",
        config.image_size, " * ", config.image_size, " = ", d,
        " floats per image"));
  }
  for (int64_t i = 0; i < data.num_examples(); ++i) {
    if (data.labels[i] < 0 || data.labels[i] >= config.num_classes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cifar_hpo: ", what, " label ", i, " is ", data.labels[i],
          "; labels must be in [0, ", config.num_classes, ")"));
    }
  }
  return absl::OkStatus();
}

class CifarHpoStates : public ParticleStates {
 public:
  int num_particles() const override { return n; }
  void CopyParticle(int from, int to) override {
    ES_CHECK(from >= 0 && from < n && to >= 0 && to < n);
    if (from == to) return;
    cifar_internal::CopyParticleState(*main, from, main.get(), to);
    keys[to] = keys[from];
  }

  // Checkpoint: the episode keys, parameters, momentum buffers and running
  // batch-norm statistics (EMA hidden values) of every particle, in the
  // kernel layout. Step counters belong to the caller (Unroll's t0); the
  // rest of the workspaces (gradients, minibatches, debiased statistics,
  // kernels, sub-range pools) is scratch, rewritten before it is read.
  absl::Status Save(StateWriter* out) const override {
    out->Tag("cifar_hpo");
    out->Vector(keys);
    out->Vector(main->params);
    out->Vector(main->momentum);
    out->Vector(main->run_mean);
    out->Vector(main->run_var);
    return absl::OkStatus();
  }
  // Reads into temporaries first: a damaged or foreign state leaves these
  // states as they were.
  absl::Status Load(StateReader* in) override {
    if (auto s = in->Tag("cifar_hpo"); !s.ok()) return s;
    std::vector<uint64_t> k;
    std::vector<float> w, v, m, h;
    const int64_t num_params = static_cast<int64_t>(main->params.size());
    const int64_t num_stats = static_cast<int64_t>(main->run_mean.size());
    if (auto s = in->Vector(&k, n); !s.ok()) return s;
    if (auto s = in->Vector(&w, num_params); !s.ok()) return s;
    if (auto s = in->Vector(&v, num_params); !s.ok()) return s;
    if (auto s = in->Vector(&m, num_stats); !s.ok()) return s;
    if (auto s = in->Vector(&h, num_stats); !s.ok()) return s;
    keys = std::move(k);
    main->params = std::move(w);
    main->momentum = std::move(v);
    main->run_mean = std::move(m);
    main->run_var = std::move(h);
    return absl::OkStatus();
  }

  int n = 0;
  std::vector<uint64_t> keys;
  std::unique_ptr<Workspace> main;
  // Estimated bytes of main and the pool, and the limit they must respect.
  double held_bytes = 0.0;
  int64_t limit_bytes = 0;
  // Power-of-two workspaces for sub-ranges, created on first need.
  std::mutex pool_mutex;
  std::vector<std::unique_ptr<Workspace>> pool;
  std::vector<char> busy;
};

// "1234567890 bytes (1.15 GiB)".
std::string FormatBytes(double bytes) {
  return absl::StrFormat("%.0f bytes (%.3g GiB)", bytes,
                         bytes / (1024.0 * 1024.0 * 1024.0));
}

int64_t PhysicalMemoryBytes() {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page_size <= 0) {
    return std::numeric_limits<int64_t>::max();  // unknown: no limit
  }
  return static_cast<int64_t>(pages) * static_cast<int64_t>(page_size);
}

int LargestPowerOfTwoAtMost(int n) {
  int p = 1;
  while (p * 2 <= n) p *= 2;
  return p;
}

// Runs fn(workspace, first particle) -> Status over [begin, end): in place
// on the main workspace for the full range, else over power-of-two chunks
// copied into pooled workspaces and back (not back after an error). Stops at
// the first error.
template <typename Fn>
absl::Status ForEachChunk(CifarHpoStates* s, const CifarHpoConfig& config,
                          int begin, int end, Fn fn) {
  if (begin == 0 && end == s->n) return fn(s->main.get(), 0);
  for (int first = begin; first < end;) {
    const int size = LargestPowerOfTwoAtMost(end - first);
    Workspace* ws = nullptr;
    size_t slot = 0;
    {
      std::lock_guard<std::mutex> lock(s->pool_mutex);
      for (slot = 0; slot < s->pool.size(); ++slot) {
        if (!s->busy[slot] && s->pool[slot]->n == size) break;
      }
      if (slot == s->pool.size()) {
        const double need = cifar_internal::EstimateWorkspaceBytes(config, size);
        if (s->held_bytes + need > static_cast<double>(s->limit_bytes)) {
          return absl::ResourceExhaustedError(absl::StrCat(
              "cifar_hpo: unrolling particles [", begin, ", ", end,
              ") needs a workspace for ", size, " particles (about ",
              FormatBytes(need), ") on top of the ", FormatBytes(s->held_bytes),
              " these states hold; the limit is ",
              FormatBytes(static_cast<double>(s->limit_bytes)),
              " (CifarHpoConfig::max_state_bytes; 0 = physical memory). "
              "Unroll the full range, or allow more memory"));
        }
        auto made = cifar_internal::MakeWorkspace(config, size);
        if (!made.ok()) return made.status();
        s->pool.push_back(*std::move(made));
        s->held_bytes += need;
        s->busy.push_back(0);
      }
      s->busy[slot] = 1;
      ws = s->pool[slot].get();
    }
    for (int i = 0; i < size; ++i) {
      cifar_internal::CopyParticleState(*s->main, first + i, ws, i);
    }
    const absl::Status status = fn(ws, first);
    if (status.ok()) {
      for (int i = 0; i < size; ++i) {
        cifar_internal::CopyParticleState(*ws, i, s->main.get(), first + i);
      }
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

bool Uniform(const uint64_t* keys, const int64_t* t0, int n) {
  for (int i = 1; i < n; ++i) {
    if (keys[i] != keys[0] || t0[i] != t0[0]) return false;
  }
  return true;
}

// Advances the n particles of `ws` (rows first.. of thetas) by num_steps.
absl::Status RunChunk(const CifarHpoConfig& config, const MlpDataView& train,
                      const MlpDataView& validation, Workspace* ws,
                      const uint64_t* keys, const RowMatrixXd& thetas,
                      int first, const int64_t* t0, int num_steps,
                      double* losses) {
  const int n = ws->n;
  const bool shared = Uniform(keys, t0, n);
  BatchedResNet* kernel = ws->shared.get();
  if (!shared) {
    absl::StatusOr<BatchedResNet*> pp = cifar_internal::PerParticleKernel(ws);
    if (!pp.ok()) return pp.status();
    kernel = *pp;
  }
  for (int i = 0; i < n; ++i) {
    // Row-major: row first + i is contiguous (no copy, no allocation).
    const CifarHyperparameters h =
        DecodeCifarTheta(config, thetas.row(first + i).data());
    for (int b = 0; b < kResNetParamBlocks; ++b) {
      ws->lr[i * kResNetParamBlocks + b] = h.learning_rate[b];
      ws->mom[i * kResNetParamBlocks + b] = h.momentum[b];
    }
    std::copy(h.active_channels.begin(), h.active_channels.end(),
              ws->active.begin() + i * kResNetConvLayers);
  }
  if (config.parametrization == CifarHpoConfig::Parametrization::kPerBlock) {
    if (absl::Status s = kernel->SetActiveChannels(ws->active); !s.ok()) {
      return s;
    }
  } else {
    kernel->ClearActiveChannels();
  }
  const absl::Span<const float> inputs =
      shared ? absl::Span<const float>(ws->images)
             : absl::Span<const float>(ws->pp_images);
  const absl::Span<const int32_t> labels =
      shared ? absl::Span<const int32_t>(ws->labels)
             : absl::Span<const int32_t>(ws->pp_labels);
  const bool validation_loss = config.objective == Objective::kSumValidationLoss;
  std::fill(ws->total_loss.begin(), ws->total_loss.end(), 0.0);
  for (int k = 0; k < num_steps; ++k) {
    cifar_internal::GatherMinibatch(config, train, cifar_internal::kTrainPair,
                                    keys, t0, k, shared, ws);
    if (absl::Status s = kernel->ForwardBackward(
            ws->params, inputs, labels, absl::MakeSpan(ws->step_loss),
            absl::MakeSpan(ws->grads));
        !s.ok()) {
      return s;
    }
    if (!validation_loss) {
      for (int i = 0; i < n; ++i) ws->total_loss[i] += ws->step_loss[i];
    }
    cifar_internal::UpdateRunningStats(config.bn_momentum, *kernel, ws);
    cifar_internal::SgdMomentumUpdate(ws);
    if (validation_loss) {
      cifar_internal::DebiasRunningStats(config, t0, k, ws);
      cifar_internal::GatherMinibatch(config, validation,
                                      cifar_internal::kValidationPair, keys, t0,
                                      k, shared, ws);
      if (absl::Status s = kernel->ForwardInference(
              ws->params, inputs, labels, ws->avg_mean, ws->avg_var,
              absl::MakeSpan(ws->step_loss));
          !s.ok()) {
        return s;
      }
      for (int i = 0; i < n; ++i) ws->total_loss[i] += ws->step_loss[i];
    }
  }
  for (int i = 0; i < n; ++i) losses[i] = ws->total_loss[i];
  return absl::OkStatus();
}

}  // namespace

MlpDataView CifarView(const CifarImages& set) {
  return MlpDataView{set.images, set.labels, kCifarImageBytes};
}

CifarHpoProblem::CifarHpoProblem(const CifarHpoConfig& config,
                                 MlpDataView train, MlpDataView validation)
    : config_(config), train_(train), validation_(validation) {}

CifarHpoProblem::~CifarHpoProblem() = default;

absl::StatusOr<std::unique_ptr<CifarHpoProblem>> CifarHpoProblem::Create(
    const CifarHpoConfig& config, MlpDataView train, MlpDataView validation) {
  if (absl::Status s = config.Validate(); !s.ok()) return s;
  if (absl::Status s = ValidateData(train, "training", config); !s.ok()) {
    return s;
  }
  if (config.objective == Objective::kSumValidationLoss) {
    if (absl::Status s = ValidateData(validation, "validation", config);
        !s.ok()) {
      return s;
    }
  }
  auto kernel = BatchedResNet::Create(config.KernelConfig(1, InputMode::kShared));
  if (!kernel.ok()) return kernel.status();
  return std::unique_ptr<CifarHpoProblem>(
      new CifarHpoProblem(config, train, validation));
}

std::string CifarHpoProblem::name() const {
  return absl::StrCat(
      "cifar_hpo_myrtle", absl::StrJoin(config_.widths, "-"), "_",
      config_.parametrization == CifarHpoConfig::Parametrization::kGlobal
          ? "global"
          : "per_block",
      "_", config_.objective == Objective::kSumValidationLoss ? "valid" : "train");
}

double CifarHpoProblem::FlopsPerParticleStep() const {
  const ResNetConfig c = config_.KernelConfig(1, InputMode::kShared);
  double flops = c.ForwardFlops() + c.BackwardFlops();
  if (config_.objective == Objective::kSumValidationLoss) {
    flops += c.ForwardFlops();
  }
  return flops;
}

int64_t CifarHpoProblem::params_per_particle() const {
  return config_.KernelConfig(1, InputMode::kShared).params_per_particle();
}

void CifarHpoProblem::TrainIndices(uint64_t key, int64_t t,
                                   int64_t* out) const {
  cifar_internal::SampleIndices(key, static_cast<uint64_t>(t),
                                cifar_internal::kTrainPair, config_.batch_size,
                                train_.num_examples(), out);
}

void CifarHpoProblem::ValidationIndices(uint64_t key, int64_t t,
                                        int64_t* out) const {
  cifar_internal::SampleIndices(key, static_cast<uint64_t>(t),
                                cifar_internal::kValidationPair,
                                config_.batch_size, validation_.num_examples(),
                                out);
}

double CifarHpoProblem::EstimateStateBytes(int64_t num_particles) const {
  return cifar_internal::EstimateWorkspaceBytes(config_, num_particles);
}

int64_t CifarHpoProblem::max_state_bytes() const {
  return config_.max_state_bytes > 0 ? config_.max_state_bytes
                                     : PhysicalMemoryBytes();
}

absl::StatusOr<std::unique_ptr<ParticleStates>> CifarHpoProblem::NewStates(
    int num_particles) const {
  const double need =
      num_particles >= 1 ? EstimateStateBytes(num_particles) : 0.0;
  const int64_t limit = max_state_bytes();
  if (need > static_cast<double>(limit)) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "problem '", name(), "': NewStates(", num_particles,
        ") would need about ", FormatBytes(need), " (both kernels and the "
        "buffers at B = ", config_.batch_size, "), more than the limit of ",
        FormatBytes(static_cast<double>(limit)),
        " (CifarHpoConfig::max_state_bytes; 0 = physical memory). Use fewer "
        "particles, narrower widths or a smaller minibatch"));
  }
  absl::Status made = absl::OkStatus();
  absl::StatusOr<std::unique_ptr<ParticleStates>> states = MakeParticleStates(
      name(), num_particles, [&]() -> std::unique_ptr<ParticleStates> {
        auto s = std::make_unique<CifarHpoStates>();
        s->n = num_particles;
        s->keys.assign(num_particles, 0);
        auto ws = cifar_internal::MakeWorkspace(config_, num_particles);
        if (!ws.ok()) {
          made = ws.status();
          return nullptr;
        }
        s->main = *std::move(ws);
        s->held_bytes = need;
        s->limit_bytes = limit;
        return s;
      });
  if (!made.ok()) return made;
  return states;
}

void CifarHpoProblem::Reset(ParticleStates* states,
                            absl::Span<const int> particles,
                            absl::Span<const uint64_t> episode_keys) const {
  auto* s = static_cast<CifarHpoStates*>(states);
  ES_CHECK(particles.size() == episode_keys.size());
  for (size_t k = 0; k < particles.size(); ++k) {
    const int p = particles[k];
    ES_CHECK(p >= 0 && p < s->n);
    // A particle reset earlier in this call with the same key has the same
    // initial state: copy it instead of drawing it again.
    int source = -1;
    for (size_t q = 0; q < k && source < 0; ++q) {
      if (episode_keys[q] == episode_keys[k]) source = particles[q];
    }
    if (source >= 0) {
      if (source != p) {
        cifar_internal::CopyParticleState(*s->main, source, s->main.get(), p);
      }
    } else {
      cifar_internal::InitParticle(config_, episode_keys[k], p, s->main.get());
    }
    s->keys[p] = episode_keys[k];
  }
}

absl::Status CifarHpoProblem::Unroll(ParticleStates* states, int begin,
                                     int end, const RowMatrixXd& thetas,
                                     const int64_t* t0, int num_steps,
                                     double* losses) const {
  auto* s = static_cast<CifarHpoStates*>(states);
  if (absl::Status st =
          ValidateUnrollArgs(*this, *s, begin, end, thetas, num_steps);
      !st.ok()) {
    return st;
  }
  if (begin == end) return absl::OkStatus();
  return ForEachChunk(s, config_, begin, end, [&](Workspace* ws, int first) {
    return RunChunk(config_, train_, validation_, ws, s->keys.data() + first,
                    thetas, first, t0 + first, num_steps, losses + first);
  });
}

std::vector<float> CifarHpoProblem::GetParticleParams(
    const ParticleStates& states, int particle) const {
  const auto& s = static_cast<const CifarHpoStates&>(states);
  ES_CHECK(particle >= 0 && particle < s.n);
  const ResNetConfig& c = s.main->shared_config;
  std::vector<float> out(c.params_per_particle());
  ExtractParticle(c, s.main->params, particle, absl::MakeSpan(out));
  return out;
}

void CifarHpoProblem::SetParticleParams(ParticleStates* states, int particle,
                                        absl::Span<const float> params) const {
  auto* s = static_cast<CifarHpoStates*>(states);
  ES_CHECK(particle >= 0 && particle < s->n);
  const ResNetConfig& c = s->main->shared_config;
  ES_CHECK(static_cast<int64_t>(params.size()) == c.params_per_particle());
  InsertParticle(c, params, particle, absl::MakeSpan(s->main->params));
}

std::vector<float> CifarHpoProblem::GetRunningStats(
    const ParticleStates& states, int particle, int64_t t,
    bool variance) const {
  const auto& s = static_cast<const CifarHpoStates&>(states);
  ES_CHECK(particle >= 0 && particle < s.n);
  const ResNetConfig& c = s.main->shared_config;
  const std::vector<float>& h = variance ? s.main->run_var : s.main->run_mean;
  const double scale =
      t > 0 ? 1.0 / (1.0 - std::pow(config_.bn_momentum,
                                    static_cast<double>(t)))
            : 0.0;
  std::vector<float> out;
  for (int l = 0; l < kResNetConvLayers; ++l) {
    const int64_t co = c.conv_out(l), off = c.stats_offset(l) + particle * co;
    for (int64_t ch = 0; ch < co; ++ch) {
      out.push_back(static_cast<float>(h[off + ch] * scale));
    }
  }
  return out;
}

}  // namespace es
