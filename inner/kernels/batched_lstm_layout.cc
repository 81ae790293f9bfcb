// batched_lstm_layout.cc - see batched_lstm_layout.h.
#include "inner/kernels/batched_lstm_layout.h"

#include "absl/strings/str_cat.h"

namespace es {

absl::Status LstmShape::Validate() const {
  if (vocab_size < 2 || vocab_size > (int64_t{1} << 16)) {
    return absl::InvalidArgumentError(
        absl::StrCat("LSTM vocab_size V = ", vocab_size,
                     " is not allowed; V must be in [2, 65536]"));
  }
  if (hidden_size < 1 || hidden_size > (int64_t{1} << 14)) {
    return absl::InvalidArgumentError(
        absl::StrCat("LSTM hidden_size H = ", hidden_size,
                     " is not allowed; H must be in [1, 16384]"));
  }
  return absl::OkStatus();
}

absl::Status ValidateTokenIds(absl::string_view what,
                              absl::Span<const int32_t> ids, int64_t row_width,
                              int64_t vocab_size, int64_t first_row) {
  for (size_t k = 0; k < ids.size(); ++k) {
    const int32_t id = ids[k];
    if (id < 0 || id >= vocab_size) {
      const int64_t row = first_row + static_cast<int64_t>(k) / row_width;
      const int64_t col = static_cast<int64_t>(k) % row_width;
      return absl::InvalidArgumentError(
          absl::StrCat(what, "[", row, "][", col, "] = ", id,
                       " is not a token id in [0, V = ", vocab_size, ")"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateSize(absl::string_view what, int64_t actual,
                          int64_t expected, absl::string_view shape) {
  if (actual != expected) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " has ", actual, " entries; ", shape, " needs ", expected));
  }
  return absl::OkStatus();
}

}  // namespace es
