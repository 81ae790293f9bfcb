// batched_lstm_config.cc - BatchedLstmConfig (declared in batched_lstm.h):
// validation, path choice, packed sizes and flop counts.
#include <algorithm>
#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "inner/kernels/batched_lstm.h"
#include "inner/kernels/batched_lstm_soa.h"

namespace es {

absl::Status BatchedLstmConfig::Validate() const {
  if (absl::Status s = shape.Validate(); !s.ok()) return s;
  if (batch_size < 1 || batch_size > (int64_t{1} << 20)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "BatchedLstm batch_size B = ", batch_size, " must be in [1, 2^20]"));
  }
  if (num_particles < 1 || num_particles > (int64_t{1} << 20)) {
    return absl::InvalidArgumentError(
        absl::StrCat("BatchedLstm num_particles N = ", num_particles,
                     " must be in [1, 2^20]"));
  }
  const int64_t h = shape.hidden_size;
  const int64_t widest = std::max({packed_params_per_particle(),
                                   batch_size * 4 * h,
                                   batch_size * shape.vocab_size});
  if (static_cast<double>(widest) * static_cast<double>(num_particles + 8) >
      static_cast<double>(int64_t{1} << 31)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "BatchedLstm ", DebugString(), " needs an array of ", widest,
        " x N floats; at most 2^31 floats per array are allowed"));
  }
  return absl::OkStatus();
}

std::string BatchedLstmConfig::DebugString() const {
  const char* p = path == LstmPath::kAuto     ? "auto"
                  : path == LstmPath::kOneDnn ? "onednn"
                                              : "soa";
  return absl::StrCat("V=", shape.vocab_size, " H=", shape.hidden_size,
                      " B=", batch_size, " N=", num_particles, " path=", p);
}

LstmPath BatchedLstmConfig::ResolvedPath() const {
  if (path != LstmPath::kAuto) return path;
  const int64_t h = shape.hidden_size;
  return h < kSoaMaxHidden && h * batch_size <= kSoaMaxHiddenTimesBatch
             ? LstmPath::kSoa
             : LstmPath::kOneDnn;
}

int64_t BatchedLstmConfig::packed_params_per_particle() const {
  const int64_t h = shape.hidden_size, v = shape.vocab_size;
  return 4 * h * v + 4 * h * h + h * v + v;
}

int64_t BatchedLstmConfig::packed_size() const {
  if (ResolvedPath() == LstmPath::kSoa) return lstm_soa::PackedSize(*this);
  return num_particles * packed_params_per_particle();
}

double BatchedLstmConfig::StepFlops() const {
  const double h = static_cast<double>(shape.hidden_size);
  return 2.0 * static_cast<double>(num_particles) *
         static_cast<double>(batch_size) * h *
         (4.0 * h + static_cast<double>(shape.vocab_size));
}

}  // namespace es
