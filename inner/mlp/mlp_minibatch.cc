// mlp_minibatch.cc - see mlp_minibatch.h.
#include "inner/mlp/mlp_minibatch.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "estimators/philox.h"

namespace es::mlp {

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

absl::Status ValidateMlpData(const MlpDataView& data, const char* what,
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

}  // namespace es::mlp
