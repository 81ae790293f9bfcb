// truncated_normal.cc - see truncated_normal.h.
#include "inner/lopt/truncated_normal.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "estimators/check.h"

namespace es {
namespace {

constexpr int64_t kChunk = 4096;
constexpr uint32_t kRedrawStride = uint32_t{1} << 16;
constexpr int kMaxRedraws = 64;
constexpr double kBound = 2.0;

template <typename T>
void Fill(const RandomKey& key, uint64_t draw, double stddev,
          absl::Span<T> out) {
  const int64_t n = static_cast<int64_t>(out.size());
  ES_CHECK_MSG(n <= kMaxTruncatedNormals, "too many truncated normals");
  std::array<double, kChunk> z;
  for (int64_t start = 0; start < n; start += kChunk) {
    const int count = static_cast<int>(std::min(kChunk, n - start));
    const uint32_t chunk = static_cast<uint32_t>(start / kChunk);
    StandardNormals(key, draw, chunk, count, z.data());
    for (int c = 0; c < count; ++c) {
      double v = z[c];
      for (int a = 1; std::abs(v) > kBound; ++a) {
        if (a > kMaxRedraws) {
          v = 0.0;
          break;
        }
        v = StandardNormal(key, draw, chunk + a * kRedrawStride,
                           static_cast<uint32_t>(c));
      }
      out[start + c] = static_cast<T>(stddev * v);
    }
  }
}

}  // namespace

void FillTruncatedNormal(const RandomKey& key, uint64_t draw, double stddev,
                         absl::Span<float> out) {
  Fill(key, draw, stddev, out);
}

void FillTruncatedNormal(const RandomKey& key, uint64_t draw, double stddev,
                         absl::Span<double> out) {
  Fill(key, draw, stddev, out);
}

}  // namespace es
