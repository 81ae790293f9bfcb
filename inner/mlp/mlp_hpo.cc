// mlp_hpo.cc - see mlp_hpo.h. The problem itself: creation, states, the
// initial weights, the chunked unroll (minibatches, forward-backward, the
// SGD-momentum update, validation losses) and the measurement loss. The
// theta codec is in mlp_hpo_codec.h, the update of one block in
// mlp_sgd_step.h, the minibatch sampler in mlp_minibatch.h and the
// workspaces and ParticleStates in mlp_hpo_workspace.h.
#include "inner/mlp/mlp_hpo.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "estimators/check.h"
#include "estimators/philox.h"
#include "inner/kernels/batched_mlp.h"
#include "inner/kernels/batched_mlp_layout.h"
#include "inner/mlp/mlp_hpo_workspace.h"
#include "inner/mlp/mlp_sgd_step.h"

namespace es {
namespace {

using Parametrization = MlpHpoConfig::Parametrization;
using Objective = MlpHpoConfig::Objective;
using mlp::MlpHpoStates;
using mlp::Workspace;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// Normals for the initial weights are drawn in chunks of this many
// coordinates (the Philox "pair" word is the chunk index).
constexpr int64_t kInitChunk = 4096;

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
  if (auto s = mlp::ValidateMlpData(train, "training", config.num_classes);
      !s.ok()) {
    return s;
  }
  if (config.objective == Objective::kSumValidationLoss) {
    if (auto s =
            mlp::ValidateMlpData(validation, "validation", config.num_classes);
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
  return mlp::ThetaDim(config_, layer_sizes_);
}

std::vector<std::string> MlpHpoProblem::ThetaNames() const {
  return mlp::ThetaNames(config_, layer_sizes_);
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

double MlpHpoProblem::BytesPerParticle() const {
  double units = 0.0;
  for (int64_t n : layer_sizes_) units += static_cast<double>(n);
  return 3.0 * sizeof(float) * static_cast<double>(params_per_particle_) +
         2.0 * sizeof(float) * static_cast<double>(config_.batch_size) * units;
}

void MlpHpoProblem::TrainIndices(uint64_t key, int64_t t, int64_t* out) const {
  mlp::SampleIndices(key, static_cast<uint64_t>(t), mlp::kTrainPair,
                     config_.batch_size, train_.num_examples(), out);
}

void MlpHpoProblem::ValidationIndices(uint64_t key, int64_t t,
                                      int64_t* out) const {
  mlp::SampleIndices(key, static_cast<uint64_t>(t), mlp::kValidationPair,
                     config_.batch_size, validation_.num_examples(), out);
}

void MlpHpoProblem::MeasureIndices(uint64_t key, int64_t* out) const {
  mlp::SampleIndices(key, 0, mlp::kMeasurePair, config_.measure_batch_size,
                     train_.num_examples(), out);
}

MlpHyperparameters MlpHpoProblem::Decode(const Eigen::VectorXd& theta,
                                         int64_t t) const {
  return mlp::Decode(config_, layer_sizes_, theta, t);
}

Eigen::VectorXd MlpHpoProblem::SampleInitialTheta(uint64_t seed,
                                                  uint64_t index) const {
  return mlp::SampleInitialTheta(config_, layer_sizes_, seed, index);
}

absl::StatusOr<std::unique_ptr<ParticleStates>> MlpHpoProblem::NewStates(
    int num_particles) const {
  absl::Status made = absl::OkStatus();
  absl::StatusOr<std::unique_ptr<ParticleStates>> states =
      MakeParticleStates(name(), num_particles,
                         [&]() -> std::unique_ptr<ParticleStates> {
                           auto s = std::make_unique<MlpHpoStates>();
                           s->n = num_particles;
                           s->keys.assign(num_particles, 0);
                           auto ws = mlp::MakeWorkspace(layer_sizes_, config_,
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
// active (mlp_hpo_codec.h) and sets the masks on `kernel`.
void DecodeRows(const ChunkContext& ctx, Workspace* ws,
                const RowMatrixXd& thetas, int first, BatchedMlp* kernel) {
  const int n = ws->n;
  const int L = static_cast<int>(ctx.layer_sizes->size()) - 1;
  const int H = L - 1;
  const MlpHpoConfig& config = *ctx.config;
  for (int i = 0; i < n; ++i) {
    mlp::DecodeRow(config, *ctx.layer_sizes, &thetas(first + i, 0),
                   ws->base_lr.data() + static_cast<size_t>(i) * 2 * L,
                   ws->mom.data() + static_cast<size_t>(i) * 2 * L,
                   &ws->decay[i],
                   ws->active.data() + static_cast<size_t>(i) * H);
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

// v <- mu v + g; w <- w - alpha_t v per block, for every particle
// (mlp_sgd_step.h).
void SgdMomentumUpdate(const ChunkContext& ctx, Workspace* ws,
                       const int64_t* t0, int k) {
  const BatchedMlpConfig& c = ws->shared_config;
  const int L = c.num_layers();
  const int n = ws->n;
  const double q = ctx.config->schedule_q;
#pragma omp parallel for schedule(static) if (n > 1)
  for (int i = 0; i < n; ++i) {
    const double t = static_cast<double>(t0[i] + k);
    const double factor = mlp::ScheduleFactor(ws->decay[i], t, q);
    for (int l = 0; l < L; ++l) {
      for (int bias = 0; bias < 2; ++bias) {
        const int64_t size = bias ? c.bias_size_per_particle(l)
                                  : c.weight_size_per_particle(l);
        const int64_t offset =
            (bias ? c.bias_offset(l) : c.weight_offset(l)) + i * size;
        const size_t block = static_cast<size_t>(i) * 2 * L + 2 * l + bias;
        const float lr = static_cast<float>(ws->base_lr[block] * factor);
        const float mu = static_cast<float>(ws->mom[block]);
        mlp::SgdMomentumStep(lr, mu, size, ws->grads.data() + offset,
                             ws->params.data() + offset,
                             ws->momentum.data() + offset);
      }
    }
  }
}

enum class Batch { kTrain, kValidation };

// Fills the chunk's minibatch for step t0 + k: ws->images/labels (shared) or
// ws->pp_images/pp_labels (per particle).
void GatherBatch(const ChunkContext& ctx, Workspace* ws, const uint64_t* keys,
                 const int64_t* t0, int k, bool shared, Batch which) {
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
    mlp::GatherRows(data, ws->indices.data(), B, ws->images.data(),
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
    mlp::GatherRows(data, ws->indices.data(), B, img, lab);
  }
}

absl::Status RunChunk(const ChunkContext& ctx, Workspace* ws,
                      const uint64_t* keys, const RowMatrixXd& thetas,
                      int first, const int64_t* t0, int num_steps,
                      double* losses) {
  const int n = ws->n;
  const bool shared = Uniform(keys, t0, n);
  if (!shared) {
    if (absl::Status st = mlp::EnsurePerParticle(ws); !st.ok()) return st;
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

absl::Status MeasureChunk(const ChunkContext& ctx, Workspace* ws,
                          const uint64_t* keys, const RowMatrixXd& thetas,
                          int first, double* losses) {
  const int n = ws->n;
  bool shared = true;
  for (int i = 1; i < n; ++i) shared = shared && keys[i] == keys[0];
  if (!shared) {
    if (absl::Status st = mlp::EnsurePerParticle(ws); !st.ok()) return st;
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
      mlp::GatherRows(*ctx.train, ws->indices.data() + start, B,
                      ws->images.data(), ws->labels.data());
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
        mlp::GatherRows(*ctx.train, ws->indices.data() + start, B, img, lab);
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
  return mlp::ForEachChunk(s, layer_sizes_, config_, begin, end,
                           /*write_back=*/true, [&](Workspace* ws, int first) {
                             return RunChunk(ctx, ws, s->keys.data() + first,
                                             thetas, first, t0 + first,
                                             num_steps, losses + first);
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
  return mlp::ForEachChunk(s, layer_sizes_, config_, begin, end,
                           /*write_back=*/false, [&](Workspace* ws, int first) {
                             return MeasureChunk(ctx, ws,
                                                 s->keys.data() + first, thetas,
                                                 first, losses + first);
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
