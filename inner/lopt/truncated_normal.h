// truncated_normal.h - counter-based normals truncated to [-2, 2], for the
// initial weights of the learned optimiser and of its inner networks.
//
// Haiku's default initialiser for a Linear layer (used by the reference
// learned optimiser, google/learned_optimization mlp_lopt.py, and by its
// FashionMNIST MLP task, tasks/fixed/image_mlp.py) draws weights from a
// normal truncated at two standard deviations, scaled by 1/sqrt(fan_in)
// (without variance correction), and sets biases to 0. Here the normal comes
// from Philox (estimators/philox.h) and values outside [-2, 2] are redrawn
// from further counters, so every value is a pure function of (key, draw,
// coordinate): thread count and call order never change it.
//
// Counters: coordinate c lives in chunk c / 4096 (Philox "pair" word = chunk
// index, so at most 2^16 chunks = 2^28 coordinates per draw), and redraw
// number a >= 1 uses pair = chunk + a * 2^16 (up to 64 redraws; the chance of
// needing more is 0.0455^64, never; the value is then 0).
//
// Usage:
//   std::vector<float> w(fan_in * fan_out);
//   FillTruncatedNormal(RandomKey{key, Stream::kInit}, /*draw=*/layer,
//                       1.0 / std::sqrt(fan_in), absl::MakeSpan(w));
#ifndef ES_SINGLE_INNER_LOPT_TRUNCATED_NORMAL_H_
#define ES_SINGLE_INNER_LOPT_TRUNCATED_NORMAL_H_

#include <cstdint>

#include "absl/types/span.h"
#include "estimators/philox.h"

namespace es {

// Largest number of coordinates one draw can hold (2^16 chunks of 4096).
inline constexpr int64_t kMaxTruncatedNormals = int64_t{1} << 28;

// out[c] = stddev * z_c, z_c ~ N(0, 1) truncated to [-2, 2];
// out.size() <= kMaxTruncatedNormals (checked).
void FillTruncatedNormal(const RandomKey& key, uint64_t draw, double stddev,
                         absl::Span<float> out);
void FillTruncatedNormal(const RandomKey& key, uint64_t draw, double stddev,
                         absl::Span<double> out);

}  // namespace es

#endif  // ES_SINGLE_INNER_LOPT_TRUNCATED_NORMAL_H_
