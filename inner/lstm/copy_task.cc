// copy_task.cc - see copy_task.h.
#include "inner/lstm/copy_task.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "estimators/check.h"
#include "estimators/philox.h"

namespace es {
namespace {

RandomKey DataKey(uint64_t key) { return RandomKey{key, Stream::kMinibatch}; }

uint32_t PairOf(int64_t stream, bool length) {
  return static_cast<uint32_t>(2 * stream + (length ? 1 : 0));
}

}  // namespace

int32_t CopySequenceLength(uint64_t key, int64_t stream, int64_t sequence,
                           int64_t curriculum_length, int64_t length_spread) {
  const uint32_t u = RandomBlock(DataKey(key), static_cast<uint64_t>(sequence),
                                 PairOf(stream, true), 0)[0];
  const int64_t offset = static_cast<int64_t>(
      (static_cast<uint64_t>(u) * static_cast<uint64_t>(length_spread + 1)) >>
      32);
  return static_cast<int32_t>(
      std::max<int64_t>(1, curriculum_length - length_spread + offset));
}

int32_t CopySequenceBit(uint64_t key, int64_t stream, int64_t sequence,
                        int64_t p) {
  const auto block =
      RandomBlock(DataKey(key), static_cast<uint64_t>(sequence),
                  PairOf(stream, false), static_cast<uint32_t>(p / 128));
  return static_cast<int32_t>((block[(p / 32) % 4] >> (p % 32)) & 1u);
}

CopyStreamState StartCopyStream(uint64_t key, int64_t stream,
                                int64_t curriculum_length,
                                int64_t length_spread) {
  CopyStreamState s;
  s.sequence = 0;
  s.position = 0;
  s.length =
      CopySequenceLength(key, stream, 0, curriculum_length, length_spread);
  return s;
}

void CopyTokens(uint64_t key, int64_t stream, const CopyStreamState& state,
                int32_t* input, int32_t* target) {
  const int32_t L = state.length, p = state.position;
  if (p == 0) {
    *input = kCopyDelimiter;
    *target = kCopyBlank;
  } else if (p <= L) {
    *input = CopySequenceBit(key, stream, state.sequence, p - 1);
    *target = kCopyBlank;
  } else if (p == L + 1) {
    *input = kCopyBlank;
    *target = kCopyDelimiter;
  } else {
    *input = kCopyBlank;
    *target = CopySequenceBit(key, stream, state.sequence, p - L - 2);
  }
}

void AdvanceCopyStream(uint64_t key, int64_t stream, int64_t curriculum_length,
                       int64_t length_spread, CopyStreamState* state) {
  if (++state->position < CopyStringSteps(state->length)) return;
  ++state->sequence;
  state->position = 0;
  state->length = CopySequenceLength(key, stream, state->sequence,
                                     curriculum_length, length_spread);
}

absl::Status CopyCurriculumOptions::Validate() const {
  if (!(threshold_bits > 0) || !std::isfinite(threshold_bits)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "copy task: threshold_bits must be finite and > 0, got ",
        threshold_bits));
  }
  if (!(ema_decay >= 0 && ema_decay < 1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "copy task: ema_decay must be in [0, 1), got ", ema_decay));
  }
  if (!(ema_initial_bits >= 0) || !std::isfinite(ema_initial_bits)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "copy task: ema_initial_bits must be finite and >= 0, got ",
        ema_initial_bits));
  }
  if (!(ema_reset_bits >= 0) || !std::isfinite(ema_reset_bits)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "copy task: ema_reset_bits must be finite and >= 0, got ",
        ema_reset_bits));
  }
  if (max_length < 1 || max_length > (int64_t{1} << 30)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "copy task: max_length must be in [1, 2^30], got ", max_length));
  }
  if (initial_length < 1 || initial_length > max_length) {
    return absl::InvalidArgumentError(
        absl::StrCat("copy task: initial_length must be in [1, max_length = ",
                     max_length, "], got ", initial_length));
  }
  if (length_spread < 0 || length_spread > (int64_t{1} << 20)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "copy task: length_spread must be in [0, 2^20], got ", length_spread));
  }
  return absl::OkStatus();
}

CopyCurriculum::CopyCurriculum(const CopyCurriculumOptions& options)
    : options_(options) {
  ES_CHECK_MSG(options.Validate().ok(), "invalid CopyCurriculumOptions");
  length_ = options.initial_length;
  ema_ = options.ema_initial_bits;
}

bool CopyCurriculum::Observe(double bits_per_char, int64_t num_steps,
                             int64_t tokens) {
  ES_CHECK(num_steps >= 1 && tokens >= 0);
  tokens_ += tokens;
  ++observations_;
  if (!std::isfinite(bits_per_char)) {
    ++skipped_;
    return false;
  }
  const double keep = std::pow(options_.ema_decay, static_cast<double>(num_steps));
  ema_ = keep * ema_ + (1.0 - keep) * bits_per_char;
  if (ema_ < options_.threshold_bits && length_ < options_.max_length) {
    ++length_;
    ++raises_;
    ema_ = options_.ema_reset_bits;
    return true;
  }
  return false;
}

void CopyCurriculum::Save(StateWriter* out) const {
  out->Tag("copy_curriculum");
  out->Pod(length_);
  out->Pod(ema_);
  out->Pod(raises_);
  out->Pod(tokens_);
  out->Pod(observations_);
  out->Pod(skipped_);
}

absl::Status CopyCurriculum::Load(StateReader* in) {
  if (auto s = in->Tag("copy_curriculum"); !s.ok()) return s;
  int64_t length = 0, raises = 0, tokens = 0, observations = 0, skipped = 0;
  double ema = 0.0;
  for (absl::Status s : {in->Pod(&length), in->Pod(&ema), in->Pod(&raises),
                         in->Pod(&tokens), in->Pod(&observations),
                         in->Pod(&skipped)}) {
    if (!s.ok()) return s;
  }
  if (length < 1 || length > options_.max_length || !std::isfinite(ema) ||
      raises < 0 || tokens < 0 || observations < 0 || skipped < 0) {
    return absl::DataLossError(absl::StrCat(
        "checkpoint state: copy-task curriculum with length T = ", length,
        " (allowed [1, ", options_.max_length, "]), EMA ", ema,
        ", counters ", raises, "/", tokens, "/", observations, "/", skipped,
        " is not valid"));
  }
  length_ = length;
  ema_ = ema;
  raises_ = raises;
  tokens_ = tokens;
  observations_ = observations;
  skipped_ = skipped;
  return absl::OkStatus();
}

}  // namespace es
