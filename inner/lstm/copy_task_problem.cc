// copy_task_problem.cc - see copy_task_problem.h.
#include "inner/lstm/copy_task_problem.h"

#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "estimators/check.h"
#include "estimators/philox.h"
#include "inner/lstm/lstm_batch.h"

namespace es {
namespace {

constexpr double kLn2 = 0.69314718055994530941723212145818;

class CopyTaskStates : public ParticleStates {
 public:
  CopyTaskStates(std::unique_ptr<LstmBatch> batch, CopyCurriculum* curriculum)
      : batch(std::move(batch)), curriculum(curriculum) {
    const int n = this->batch->num_particles();
    keys.assign(n, 0);
    streams.resize(static_cast<size_t>(n) * batch_size());
  }

  int num_particles() const override { return batch->num_particles(); }
  int64_t batch_size() const { return batch->config().batch_size; }

  void CopyParticle(int from, int to) override {
    ES_CHECK(from >= 0 && from < num_particles() && to >= 0 &&
             to < num_particles());
    batch->CopyState(from, to);
    keys[to] = keys[from];
    const int64_t B = batch_size();
    for (int64_t b = 0; b < B; ++b) streams[to * B + b] = streams[from * B + b];
  }

  absl::Status Save(StateWriter* out) const override {
    out->Tag("copy_task");
    out->Vector(keys);
    out->Vector(streams);
    batch->Save(out);
    curriculum->Save(out);
    return absl::OkStatus();
  }

  absl::Status Load(StateReader* in) override {
    if (auto s = in->Tag("copy_task"); !s.ok()) return s;
    std::vector<uint64_t> new_keys;
    std::vector<CopyStreamState> new_streams;
    if (auto s = in->Vector(&new_keys, num_particles()); !s.ok()) return s;
    if (auto s = in->Vector(&new_streams, static_cast<int64_t>(streams.size()));
        !s.ok()) {
      return s;
    }
    for (size_t k = 0; k < new_streams.size(); ++k) {
      const CopyStreamState& st = new_streams[k];
      if (!IsValidCopyStreamState(st)) {
        return absl::DataLossError(absl::StrCat(
            "checkpoint state: copy-task stream ", k, " is at string ",
            st.sequence, " of length ", st.length, ", position ", st.position,
            " (need length >= 1 and position in [0, 2 length + 2))"));
      }
    }
    // Keys and streams are checked before anything changes; a failure in
    // the (h, c) or curriculum sections leaves the states unspecified.
    CopyCurriculum new_curriculum = *curriculum;
    if (auto s = batch->Load(in); !s.ok()) return s;
    if (auto s = new_curriculum.Load(in); !s.ok()) return s;
    keys = std::move(new_keys);
    streams = std::move(new_streams);
    *curriculum = new_curriculum;
    return absl::OkStatus();
  }

  std::unique_ptr<LstmBatch> batch;
  CopyCurriculum* curriculum;         // the problem's, shared
  std::vector<uint64_t> keys;         // [N]
  std::vector<CopyStreamState> streams;  // [N, B]
};

CopyTaskStates* Cast(ParticleStates* states) {
  ES_CHECK(states != nullptr);
  auto* s = dynamic_cast<CopyTaskStates*>(states);
  ES_CHECK_MSG(s != nullptr, "states were not created by CopyTaskProblem");
  return s;
}
const CopyTaskStates& Cast(const ParticleStates& states) {
  auto* s = dynamic_cast<const CopyTaskStates*>(&states);
  ES_CHECK_MSG(s != nullptr, "states were not created by CopyTaskProblem");
  return *s;
}

}  // namespace

absl::Status CopyTaskConfig::Validate() const {
  if (hidden_size < 1 || hidden_size > (int64_t{1} << 14)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "copy task: hidden_size H must be in [1, 16384], got ", hidden_size));
  }
  if (batch_size < 1 || batch_size > (int64_t{1} << 16)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "copy task: batch_size B must be in [1, 65536], got ", batch_size));
  }
  return curriculum.Validate();
}

Eigen::VectorXd CopyTaskInitialTheta(const LstmShape& shape, uint64_t seed) {
  const int64_t P = shape.num_params();
  const double bound = 1.0 / std::sqrt(static_cast<double>(shape.hidden_size));
  const RandomKey key{seed, Stream::kInit};
  Eigen::VectorXd theta(P);
  for (int64_t c = 0; c < P; ++c) {
    theta[c] =
        bound * (2.0 * UniformOpen(key, 0, 0, static_cast<uint32_t>(c)) - 1.0);
  }
  return theta;
}

CopyTaskProblem::CopyTaskProblem(const CopyTaskConfig& config)
    : config_(config),
      curriculum_(std::make_unique<CopyCurriculum>(config.curriculum)) {}

absl::StatusOr<std::unique_ptr<CopyTaskProblem>> CopyTaskProblem::Create(
    const CopyTaskConfig& config) {
  if (absl::Status s = config.Validate(); !s.ok()) return s;
  return std::unique_ptr<CopyTaskProblem>(new CopyTaskProblem(config));
}

std::string CopyTaskProblem::name() const {
  return absl::StrCat("copy_task_H", config_.hidden_size, "_B",
                      config_.batch_size);
}

absl::StatusOr<std::unique_ptr<ParticleStates>> CopyTaskProblem::NewStates(
    int num_particles) const {
  absl::Status made = absl::OkStatus();
  auto states = MakeParticleStates(
      name(), num_particles, [&]() -> std::unique_ptr<ParticleStates> {
        BatchedLstmConfig kc;
        kc.shape = config_.shape();
        kc.batch_size = config_.batch_size;
        kc.num_particles = num_particles;
        kc.path = config_.path;
        absl::StatusOr<std::unique_ptr<LstmBatch>> batch = LstmBatch::Create(kc);
        if (!batch.ok()) {
          made = batch.status();
          return nullptr;
        }
        auto s = std::make_unique<CopyTaskStates>(*std::move(batch),
                                                  curriculum_.get());
        std::vector<int> all(num_particles);
        for (int i = 0; i < num_particles; ++i) all[i] = i;
        const std::vector<uint64_t> keys(num_particles, 0);
        Reset(s.get(), all, keys);
        return s;
      });
  if (!made.ok()) return made;
  return states;
}

void CopyTaskProblem::Reset(ParticleStates* states,
                            absl::Span<const int> particles,
                            absl::Span<const uint64_t> episode_keys) const {
  ES_CHECK(particles.size() == episode_keys.size());
  CopyTaskStates* s = Cast(states);
  const int64_t B = config_.batch_size;
  const int64_t T = curriculum_->length();
  for (size_t k = 0; k < particles.size(); ++k) {
    const int i = particles[k];
    ES_CHECK(i >= 0 && i < s->num_particles());
    s->batch->ZeroState(i);
    s->keys[i] = episode_keys[k];
    for (int64_t b = 0; b < B; ++b) {
      s->streams[i * B + b] = StartCopyStream(
          episode_keys[k], b, T, config_.curriculum.length_spread);
    }
  }
}

absl::Status CopyTaskProblem::Unroll(ParticleStates* states, int begin,
                                     int end, const RowMatrixXd& thetas,
                                     const int64_t* /*t0*/, int num_steps,
                                     double* losses) const {
  CopyTaskStates* s = Cast(states);
  if (absl::Status st =
          ValidateUnrollArgs(*this, *s, begin, end, thetas, num_steps);
      !st.ok()) {
    return st;
  }
  if (thetas.rows() < s->num_particles()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "problem '", name(), "': thetas has ", thetas.rows(),
        " rows; the batch has ", s->num_particles(),
        " particles and thetas must cover all of them"));
  }
  const int64_t N = s->num_particles(), B = config_.batch_size;
  const int64_t T = curriculum_->length();
  const int64_t spread = config_.curriculum.length_spread;
  return s->batch->Unroll(
      thetas, begin, end, num_steps,
      [&](int32_t* tokens, int32_t* targets) {
        for (int64_t i = begin; i < end; ++i) {
          const uint64_t key = s->keys[i];
          for (int64_t b = 0; b < B; ++b) {
            CopyStreamState st = s->streams[i * B + b];
            for (int k = 0; k < num_steps; ++k) {
              const int64_t at = (k * N + i) * B + b;
              CopyTokens(key, b, st, &tokens[at], &targets[at]);
              AdvanceCopyStream(key, b, T, spread, &st);
            }
            s->streams[i * B + b] = st;
          }
        }
      },
      losses);
}

bool CopyTaskProblem::AdvanceCurriculum(double loss_sum, int num_steps) {
  ES_CHECK(num_steps >= 1);
  return curriculum_->Observe(loss_sum / (num_steps * kLn2), num_steps,
                              num_steps * config_.batch_size);
}

CopyStreamState CopyTaskProblem::StreamState(const ParticleStates& states,
                                             int particle, int stream) const {
  const CopyTaskStates& s = Cast(states);
  ES_CHECK(particle >= 0 && particle < s.num_particles() && stream >= 0 &&
           stream < config_.batch_size);
  return s.streams[particle * config_.batch_size + stream];
}

uint64_t CopyTaskProblem::EpisodeKey(const ParticleStates& states,
                                     int particle) const {
  const CopyTaskStates& s = Cast(states);
  ES_CHECK(particle >= 0 && particle < s.num_particles());
  return s.keys[particle];
}

const float* CopyTaskProblem::HiddenState(const ParticleStates& states,
                                          int particle) const {
  const CopyTaskStates& s = Cast(states);
  ES_CHECK(particle >= 0 && particle < s.num_particles());
  return s.batch->h(particle);
}

const float* CopyTaskProblem::CellState(const ParticleStates& states,
                                        int particle) const {
  const CopyTaskStates& s = Cast(states);
  ES_CHECK(particle >= 0 && particle < s.num_particles());
  return s.batch->c(particle);
}

std::string CopyTaskProblem::ImplementationInfo(
    const ParticleStates& states) const {
  return Cast(states).batch->ImplementationInfo();
}

// ---------------------------------------------------------------------------
// Mean model.

CopyTaskMeanModel::CopyTaskMeanModel(CopyTaskProblem* problem,
                                     std::unique_ptr<ParticleStates> states,
                                     uint64_t key)
    : problem_(problem),
      states_(std::move(states)),
      key_(key),
      theta_row_(1, problem->theta_dim()) {
  Reset();
}

absl::StatusOr<std::unique_ptr<CopyTaskMeanModel>> CopyTaskMeanModel::Create(
    CopyTaskProblem* problem, uint64_t key) {
  if (problem == nullptr) {
    return absl::InvalidArgumentError("CopyTaskMeanModel: problem is null");
  }
  absl::StatusOr<std::unique_ptr<ParticleStates>> states = problem->NewStates(1);
  if (!states.ok()) return states.status();
  return std::unique_ptr<CopyTaskMeanModel>(
      new CopyTaskMeanModel(problem, *std::move(states), key));
}

void CopyTaskMeanModel::Reset() {
  const int particle = 0;
  problem_->Reset(states_.get(), absl::MakeConstSpan(&particle, 1),
                  absl::MakeConstSpan(&key_, 1));
}

absl::StatusOr<double> CopyTaskMeanModel::Advance(const Eigen::VectorXd& theta,
                                                  int num_steps) {
  if (theta.size() != problem_->theta_dim()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "CopyTaskMeanModel: theta has ", theta.size(), " entries; need P = ",
        problem_->theta_dim()));
  }
  if (num_steps < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "CopyTaskMeanModel: num_steps must be >= 1, got ", num_steps));
  }
  theta_row_.row(0) = theta.transpose();
  const int64_t t0 = 0;
  double loss = 0.0;
  if (absl::Status s = problem_->Unroll(states_.get(), 0, 1, theta_row_, &t0,
                                        num_steps, &loss);
      !s.ok()) {
    return s;
  }
  problem_->AdvanceCurriculum(loss, num_steps);
  return loss;
}

absl::Status CopyTaskMeanModel::Save(StateWriter* out) const {
  out->Tag("copy_task_mean_model");
  out->Pod(key_);
  return states_->Save(out);
}

absl::Status CopyTaskMeanModel::Load(StateReader* in) {
  if (auto s = in->Tag("copy_task_mean_model"); !s.ok()) return s;
  uint64_t key = 0;
  if (auto s = in->Pod(&key); !s.ok()) return s;
  if (auto s = states_->Load(in); !s.ok()) return s;
  key_ = key;
  return absl::OkStatus();
}

}  // namespace es
