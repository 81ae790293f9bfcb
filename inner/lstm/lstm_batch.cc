// lstm_batch.cc - see lstm_batch.h.
#include "inner/lstm/lstm_batch.h"

#include <algorithm>
#include <cstring>
#include <new>
#include <stdexcept>

#include "absl/strings/str_cat.h"
#include "estimators/check.h"

namespace es {

LstmBatch::LstmBatch(std::unique_ptr<BatchedLstm> kernel)
    : kernel_(std::move(kernel)) {
  const BatchedLstmConfig& c = kernel_->config();
  stride_ = c.batch_size * c.shape.hidden_size;
  h_.assign(c.num_particles * stride_, 0.0f);
  c_.assign(c.num_particles * stride_, 0.0f);
  packed_.assign(kernel_->packed_size(), 0.0f);
}

absl::StatusOr<std::unique_ptr<LstmBatch>> LstmBatch::Create(
    const BatchedLstmConfig& config) {
  absl::StatusOr<std::unique_ptr<BatchedLstm>> kernel =
      BatchedLstm::Create(config);
  if (!kernel.ok()) return kernel.status();
  try {
    return std::unique_ptr<LstmBatch>(new LstmBatch(*std::move(kernel)));
  } catch (const std::bad_alloc&) {
  } catch (const std::length_error&) {
  }
  return absl::ResourceExhaustedError(absl::StrCat(
      "LSTM problem: not enough memory for the state and packed weights of ",
      config.DebugString()));
}

absl::Status LstmBatch::Unroll(
    const RowMatrixXd& thetas, int begin, int end, int num_steps,
    absl::FunctionRef<void(int32_t* tokens, int32_t* targets)> fill,
    double* losses) {
  const BatchedLstmConfig& cfg = kernel_->config();
  const int64_t N = cfg.num_particles, B = cfg.batch_size;
  const int64_t P = cfg.shape.num_params();
  ES_CHECK(begin >= 0 && begin <= end && end <= N);
  ES_CHECK(thetas.rows() >= N && thetas.cols() == P);
  if (begin == end) return absl::OkStatus();
  if (num_steps == 0) {
    std::fill(losses + begin, losses + end, 0.0);
    return absl::OkStatus();
  }
  std::lock_guard<std::mutex> lock(mutex_);
  const size_t ids = static_cast<size_t>(num_steps) * N * B;
  if (tokens_.size() < ids) {
    try {
      tokens_.resize(ids);
      targets_.resize(ids);
    } catch (const std::bad_alloc&) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "LSTM problem: no memory for the tokens of K = ", num_steps,
          " steps of ", cfg.DebugString()));
    }
  }
  fill(tokens_.data(), targets_.data());
  if (absl::Status s = kernel_->Pack(
          absl::MakeConstSpan(thetas.data(), static_cast<size_t>(N * P)),
          begin, end, absl::MakeSpan(packed_));
      !s.ok()) {
    return s;
  }
  return kernel_->Unroll(absl::MakeConstSpan(packed_), begin, end, num_steps,
                         absl::MakeConstSpan(tokens_.data(), ids),
                         absl::MakeConstSpan(targets_.data(), ids),
                         absl::MakeSpan(h_), absl::MakeSpan(c_),
                         absl::MakeSpan(losses, static_cast<size_t>(N)));
}

void LstmBatch::ZeroState(int particle) {
  ES_CHECK(particle >= 0 && particle < num_particles());
  std::fill(h(particle), h(particle) + stride_, 0.0f);
  std::fill(c(particle), c(particle) + stride_, 0.0f);
}

void LstmBatch::CopyState(int from, int to) {
  ES_CHECK(from >= 0 && from < num_particles() && to >= 0 &&
           to < num_particles());
  if (from == to) return;
  std::memcpy(h(to), h(from), stride_ * sizeof(float));
  std::memcpy(c(to), c(from), stride_ * sizeof(float));
}

void LstmBatch::Save(StateWriter* out) const {
  out->Tag("lstm_batch");
  out->Vector(h_);
  out->Vector(c_);
}

absl::Status LstmBatch::Load(StateReader* in) {
  if (auto s = in->Tag("lstm_batch"); !s.ok()) return s;
  const int64_t size = static_cast<int64_t>(h_.size());
  if (auto s = in->Vector(&h_, size); !s.ok()) return s;
  return in->Vector(&c_, size);
}

}  // namespace es
