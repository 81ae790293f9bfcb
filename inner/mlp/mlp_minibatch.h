// mlp_minibatch.h - the data side of the MLP hyperparameter problem
// (mlp_hpo.h) and of the hypergradient baseline (mlp_hypergradient.h): a
// non-owning view of a labelled data set, its validation, and the keyed
// minibatch sampler both use.
//
// Minibatch indices (estimators/philox.h): count indices in [0, n), drawn
// with replacement from RandomKey{key, Stream::kMinibatch}, draw = `draw`
// (the step t), pair = `pair` (kTrainPair, kValidationPair, kMeasurePair);
// block j / 4 of the Philox stream gives indices j .. j + 3, each
// (32 random bits * n) >> 32. So every (episode key, t) names one minibatch,
// whoever draws it.
#ifndef ES_SINGLE_INNER_MLP_MLP_MINIBATCH_H_
#define ES_SINGLE_INNER_MLP_MLP_MINIBATCH_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/types/span.h"

namespace es {

// A non-owning view of a labelled data set, row = example.
struct MlpDataView {
  absl::Span<const float> images;    // [num_examples, num_features]
  absl::Span<const int32_t> labels;  // [num_examples]
  int64_t num_features = 0;

  int64_t num_examples() const { return static_cast<int64_t>(labels.size()); }
};

namespace mlp {

// Philox pair word of each minibatch purpose.
inline constexpr uint32_t kTrainPair = 0;
inline constexpr uint32_t kValidationPair = 1;
inline constexpr uint32_t kMeasurePair = 2;

// Writes `count` indices in [0, n) for (key, draw, pair) to out[0, count).
void SampleIndices(uint64_t key, uint64_t draw, uint32_t pair, int64_t count,
                   int64_t n, int64_t* out);

// Copies rows idx[0, count) of `data` to images [count, d] and labels
// [count]. The indices must be in range.
void GatherRows(const MlpDataView& data, const int64_t* idx, int64_t count,
                float* images, int32_t* labels);

// At least one example, images.size() == examples * features, every label in
// [0, num_classes). The error names `what` ("training", "validation") and the
// wrong value.
absl::Status ValidateMlpData(const MlpDataView& data, const char* what,
                             int64_t num_classes);

}  // namespace mlp
}  // namespace es

#endif  // ES_SINGLE_INNER_MLP_MLP_MINIBATCH_H_
