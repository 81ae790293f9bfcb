// copy_task_tbptt.cc - see copy_task_tbptt.h.
#include "inner/lstm/copy_task_tbptt.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "estimators/check.h"

namespace es {
namespace {

constexpr double kLn2 = 0.69314718055994530941723212145818;

}  // namespace

CopyTaskTbptt::CopyTaskTbptt(const CopyTaskConfig& config, int truncation,
                             uint64_t key, std::unique_ptr<LstmRnn> rnn)
    : config_(config),
      shape_(config.shape()),
      truncation_(truncation),
      key_(key),
      rnn_(std::move(rnn)),
      curriculum_(config.curriculum) {
  const int64_t B = config.batch_size, H = config.hidden_size;
  streams_.resize(B);
  h_.assign(B * H, 0.0f);
  c_.assign(B * H, 0.0f);
  tokens_.assign(static_cast<size_t>(truncation) * B, 0);
  targets_.assign(static_cast<size_t>(truncation) * B, 0);
  grad_.setZero(shape_.num_params());
  Reset(key);
}

CopyTaskTbptt::~CopyTaskTbptt() = default;

absl::StatusOr<std::unique_ptr<CopyTaskTbptt>> CopyTaskTbptt::Create(
    const CopyTaskConfig& config, int truncation, uint64_t key) {
  if (absl::Status s = config.Validate(); !s.ok()) return s;
  if (truncation < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "copy task TBPTT: truncation K must be >= 1, got ", truncation));
  }
  LstmRnnConfig rc;
  rc.shape = config.shape();
  rc.batch_size = config.batch_size;
  rc.seq_length = truncation;
  absl::StatusOr<std::unique_ptr<LstmRnn>> rnn = LstmRnn::Create(rc);
  if (!rnn.ok()) return rnn.status();
  return std::unique_ptr<CopyTaskTbptt>(
      new CopyTaskTbptt(config, truncation, key, *std::move(rnn)));
}

void CopyTaskTbptt::Reset(uint64_t key) {
  key_ = key;
  std::fill(h_.begin(), h_.end(), 0.0f);
  std::fill(c_.begin(), c_.end(), 0.0f);
  for (int64_t b = 0; b < config_.batch_size; ++b) {
    streams_[b] = StartCopyStream(key, b, curriculum_.length(),
                                  config_.curriculum.length_spread);
  }
}

void CopyTaskTbptt::FillWindow() {
  const int64_t B = config_.batch_size, T = curriculum_.length();
  const int64_t spread = config_.curriculum.length_spread;
  for (int64_t b = 0; b < B; ++b) {
    CopyStreamState st = streams_[b];
    for (int k = 0; k < truncation_; ++k) {
      CopyTokens(key_, b, st, &tokens_[k * B + b], &targets_[k * B + b]);
      AdvanceCopyStream(key_, b, T, spread, &st);
    }
    streams_[b] = st;
  }
}

absl::Status CopyTaskTbptt::CheckTheta(const Eigen::VectorXd& theta) const {
  if (theta.size() != shape_.num_params()) {
    return absl::InvalidArgumentError(
        absl::StrCat("copy task TBPTT: theta has ", theta.size(),
                     " entries; need P = ", shape_.num_params()));
  }
  return absl::OkStatus();
}

absl::Status CopyTaskTbptt::Window(const Eigen::VectorXd& theta,
                                   Eigen::VectorXd* grad, double* loss) {
  if (absl::Status s = CheckTheta(theta); !s.ok()) return s;
  ES_CHECK(grad != nullptr && loss != nullptr);
  grad->resize(shape_.num_params());
  FillWindow();
  return rnn_->ForwardBackward(
      absl::MakeConstSpan(theta.data(), theta.size()), tokens_, targets_,
      absl::MakeSpan(h_), absl::MakeSpan(c_),
      absl::MakeSpan(grad->data(), grad->size()), loss);
}

absl::Status CopyTaskTbptt::Forward(const Eigen::VectorXd& theta,
                                    double* loss) {
  if (absl::Status s = CheckTheta(theta); !s.ok()) return s;
  ES_CHECK(loss != nullptr);
  FillWindow();
  return rnn_->Forward(absl::MakeConstSpan(theta.data(), theta.size()),
                       tokens_, targets_, absl::MakeSpan(h_),
                       absl::MakeSpan(c_), loss);
}

absl::StatusOr<TbpttStepResult> CopyTaskTbptt::TrainStep(
    OuterOptimizer* optimizer, Eigen::VectorXd* theta) {
  if (optimizer == nullptr || theta == nullptr) {
    return absl::InvalidArgumentError(
        "copy task TBPTT: TrainStep needs an optimizer and theta");
  }
  TbpttStepResult r;
  if (absl::Status s = Window(*theta, &grad_, &r.loss); !s.ok()) return s;
  r.bits_per_char = r.loss / (truncation_ * kLn2);
  r.skipped = !std::isfinite(r.loss) || !grad_.allFinite();
  if (r.skipped) {
    ++skipped_;
  } else if (absl::Status s = optimizer->Update(grad_, theta); !s.ok()) {
    return s;
  }
  r.raised = curriculum_.Observe(r.bits_per_char, truncation_,
                                 truncation_ * config_.batch_size);
  return r;
}

void CopyTaskTbptt::Save(StateWriter* out) const {
  out->Tag("copy_task_tbptt");
  out->Pod(key_);
  out->Pod(skipped_);
  out->Vector(streams_);
  out->Vector(h_);
  out->Vector(c_);
  curriculum_.Save(out);
}

absl::Status CopyTaskTbptt::Load(StateReader* in) {
  if (auto s = in->Tag("copy_task_tbptt"); !s.ok()) return s;
  uint64_t key = 0;
  int64_t skipped = 0;
  std::vector<CopyStreamState> streams;
  std::vector<float> h, c;
  const int64_t B = config_.batch_size;
  if (auto s = in->Pod(&key); !s.ok()) return s;
  if (auto s = in->Pod(&skipped); !s.ok()) return s;
  if (auto s = in->Vector(&streams, B); !s.ok()) return s;
  if (auto s = in->Vector(&h, static_cast<int64_t>(h_.size())); !s.ok()) {
    return s;
  }
  if (auto s = in->Vector(&c, static_cast<int64_t>(c_.size())); !s.ok()) {
    return s;
  }
  for (const CopyStreamState& st : streams) {
    if (!IsValidCopyStreamState(st)) {
      return absl::DataLossError(absl::StrCat(
          "checkpoint state: a copy-task TBPTT stream is at string ",
          st.sequence, " of length ", st.length, ", position ", st.position));
    }
  }
  CopyCurriculum curriculum = curriculum_;
  if (auto s = curriculum.Load(in); !s.ok()) return s;
  key_ = key;
  skipped_ = skipped;
  streams_ = std::move(streams);
  h_ = std::move(h);
  c_ = std::move(c);
  curriculum_ = curriculum;
  return absl::OkStatus();
}

}  // namespace es
