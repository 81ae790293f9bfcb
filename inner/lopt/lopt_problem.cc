// lopt_problem.cc - see lopt_problem.h.
#include "inner/lopt/lopt_problem.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <mutex>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "estimators/check.h"
#include "estimators/philox.h"
#include "inner/kernels/batched_mlp.h"
#include "inner/kernels/batched_mlp_layout.h"
#include "inner/lopt/features.h"
#include "inner/lopt/lopt_workspace.h"
#include "inner/lopt/truncated_normal.h"

namespace es {
namespace {

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
    for (const LoptTensorInfo& t : main->tensors) {
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

  // Checkpoint: episode keys, weights and the six momenta of every particle,
  // in the main workspace's layout. That is the whole state: the step
  // counters are the caller's (t0), the optimiser weights come with every
  // Unroll, and the pooled workspaces, gradients and feature buffers are
  // scratch rewritten before they are read.
  absl::Status Save(StateWriter* out) const override {
    out->Tag(tag);
    out->Vector(keys);
    out->Vector(main->params);
    for (const std::vector<float>& m : main->momenta) out->Vector(m);
    return absl::OkStatus();
  }
  // Checks the whole section's length first, so a truncated stream is an
  // error before any particle changes; a stream of another layout fails on
  // its tag or a vector length (then the states are unspecified).
  absl::Status Load(StateReader* in) override {
    const size_t floats = main->params.size();
    const size_t need =
        sizeof(uint32_t) + tag.size() + sizeof(uint64_t) +
        keys.size() * sizeof(uint64_t) +
        (1 + kNumMomenta) * (sizeof(uint64_t) + floats * sizeof(float));
    if (in->remaining() < need) {
      return absl::DataLossError(
          absl::StrCat("checkpoint state of '", tag, "' for ", n,
                       " particles needs ", need, " bytes, ", in->remaining(),
                       " are left (truncated, or saved with "
                       "fewer particles?)"));
    }
    if (auto s = in->Tag(tag); !s.ok()) return s;
    if (auto s = in->Vector(&keys, n); !s.ok()) return s;
    const int64_t size = static_cast<int64_t>(floats);
    if (auto s = in->Vector(&main->params, size); !s.ok()) return s;
    for (std::vector<float>& m : main->momenta) {
      if (auto s = in->Vector(&m, size); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

  std::string tag;  // "lopt_problem <layer sizes>": the layout of the state
  int n = 0;
  std::vector<uint64_t> keys;
  std::unique_ptr<LoptWorkspace> main;
  std::mutex pool_mutex;
  std::vector<std::unique_ptr<LoptWorkspace>> pool;
  std::vector<char> busy;
};

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
    return absl::InvalidArgumentError(
        absl::StrCat("lopt_problem: rows_per_chunk must be in [1, 2^20], got ",
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
  // Computed once: Unroll asks for theta_dim() and must not allocate.
  lopt_config_.hidden_sizes = config_.lopt_hidden_sizes;
  lopt_config_.rows = chunk_;
  theta_dim_ = static_cast<int>(lopt_config_.theta_dim());
}

LoptProblem::~LoptProblem() = default;

absl::StatusOr<std::unique_ptr<LoptProblem>> LoptProblem::Create(
    const LoptProblemConfig& config, MlpDataView train) {
  if (absl::Status s = config.Validate(); !s.ok()) return s;
  if (train.num_examples() <= 0 || train.num_features <= 0 ||
      static_cast<int64_t>(train.images.size()) !=
          train.num_examples() * train.num_features) {
    return absl::InvalidArgumentError(
        absl::StrCat("lopt_problem: the training set has ", train.images.size(),
                     " image floats for ", train.num_examples(), " labels and ",
                     train.num_features,
                     " features; need at least one example and "
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

int LoptProblem::theta_dim() const { return theta_dim_; }

double LoptProblem::FlopsPerParticleStep() const {
  BatchedMlpConfig c;
  c.layer_sizes = layer_sizes_;
  c.batch_size = config_.batch_size;
  return c.ForwardFlops() + c.BackwardFlops() +
         lopt_config().FlopsPerRow() *
             static_cast<double>(params_per_particle_);
}

Eigen::VectorXd LoptProblem::SampleInitialTheta(uint64_t seed,
                                                uint64_t index) const {
  const std::vector<double> t = LoptMlpInitialTheta(lopt_config(), seed, index);
  return Eigen::Map<const Eigen::VectorXd>(t.data(), t.size());
}

void LoptProblem::TrainIndices(uint64_t key, int64_t t, int64_t* out) const {
  LoptTrainIndices(key, t, config_.batch_size, train_.num_examples(), out);
}

// ---------------------------------------------------------------------------
// States.

absl::StatusOr<std::unique_ptr<ParticleStates>> LoptProblem::NewStates(
    int num_particles) const {
  absl::Status made = absl::OkStatus();
  absl::StatusOr<std::unique_ptr<ParticleStates>> states = MakeParticleStates(
      name(), num_particles, [&]() -> std::unique_ptr<ParticleStates> {
        auto s = std::make_unique<LoptStates>();
        s->tag =
            absl::StrCat("lopt_problem ", absl::StrJoin(layer_sizes_, "-"));
        s->n = num_particles;
        // The workspace first: its kernels validate the particle count
        // before anything of size N is allocated.
        auto ws = MakeLoptWorkspace(layer_sizes_, config_.batch_size,
                                    lopt_config(), num_particles);
        if (!ws.ok()) {
          made = ws.status();
          return nullptr;
        }
        s->main = *std::move(ws);
        s->keys.assign(num_particles, 0);
        return s;
      });
  if (!made.ok()) return made;
  return states;
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
    for (const LoptTensorInfo& t : s->main->tensors) {
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
  for (const LoptTensorInfo& t : s.main->tensors) {
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

absl::Status LoptProblem::Unroll(ParticleStates* states, int begin, int end,
                                 const RowMatrixXd& thetas, const int64_t* t0,
                                 int num_steps, double* losses) const {
  auto* s = static_cast<LoptStates*>(states);
  if (absl::Status st =
          ValidateUnrollArgs(*this, *s, begin, end, thetas, num_steps);
      !st.ok()) {
    return st;
  }
  if (begin == end) return absl::OkStatus();
  const LoptStepContext ctx{&train_, config_.batch_size, params_per_particle_,
                            chunk_};
  auto run = [&](LoptWorkspace* ws, int first) {
    return RunLoptSteps(ctx, ws, s->keys.data() + first, thetas, first,
                        t0 + first, num_steps, losses + first);
  };
  if (begin == 0 && end == s->n) return run(s->main.get(), 0);
  // Other ranges: power-of-two chunks on pooled workspaces, made on first
  // need and reused.
  for (int first = begin; first < end;) {
    const int size = static_cast<int>(LargestPowerOfTwoAtMost(end - first));
    LoptWorkspace* ws = nullptr;
    size_t slot = 0;
    {
      std::lock_guard<std::mutex> lock(s->pool_mutex);
      for (slot = 0; slot < s->pool.size(); ++slot) {
        if (!s->busy[slot] && s->pool[slot]->n == size) break;
      }
      if (slot == s->pool.size()) {
        auto made = MakeLoptWorkspace(layer_sizes_, config_.batch_size,
                                      lopt_config(), size);
        if (!made.ok()) return made.status();
        s->pool.push_back(*std::move(made));
        s->busy.push_back(0);
      }
      s->busy[slot] = 1;
      ws = s->pool[slot].get();
    }
    CopyLoptSlices(s->main.get(), ws, first, /*to_small=*/true);
    const absl::Status status = run(ws, first);
    if (status.ok()) {
      CopyLoptSlices(s->main.get(), ws, first, /*to_small=*/false);
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

}  // namespace es
