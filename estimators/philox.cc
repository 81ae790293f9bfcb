#include "estimators/philox.h"

#include <cmath>

#include <Random123/philox.h>

#include "estimators/check.h"

namespace es {
namespace {

constexpr double kTwoPi = 6.283185307179586476925286766559;

inline double ToUnitOpen(uint32_t hi, uint32_t lo) {
  // 53 bits -> (0, 1): (k + 0.5) / 2^53.
  const uint64_t k = ((static_cast<uint64_t>(hi) << 32) | lo) >> 11;
  return (static_cast<double>(k) + 0.5) * 0x1.0p-53;
}

}  // namespace

// The reference implementation (Random123 1.14, Debian librandom123-dev),
// 10 rounds.
std::array<uint32_t, 4> Philox4x32(std::array<uint32_t, 4> c,
                                   std::array<uint32_t, 2> k) {
  const r123::Philox4x32_R<10>::ctr_type ctr = {{c[0], c[1], c[2], c[3]}};
  const r123::Philox4x32_R<10>::key_type key = {{k[0], k[1]}};
  const r123::Philox4x32_R<10>::ctr_type out = r123::Philox4x32_R<10>()(ctr, key);
  return {out[0], out[1], out[2], out[3]};
}

std::array<uint32_t, 4> RandomBlock(const RandomKey& key, uint64_t draw,
                                    uint32_t pair, uint32_t index) {
  ES_CHECK_MSG(draw < (uint64_t{1} << 56), "draw index must be < 2^56");
  const uint32_t stream = static_cast<uint32_t>(key.stream) & 0xFFu;
  const std::array<uint32_t, 4> counter = {
      index, pair, static_cast<uint32_t>(draw),
      (stream << 24) | static_cast<uint32_t>((draw >> 32) & 0xFFFFFFu)};
  const std::array<uint32_t, 2> k = {static_cast<uint32_t>(key.seed),
                                     static_cast<uint32_t>(key.seed >> 32)};
  return Philox4x32(counter, k);
}

double UniformOpen(const RandomKey& key, uint64_t draw, uint32_t pair,
                   uint32_t index) {
  const auto b = RandomBlock(key, draw, pair, index);
  return ToUnitOpen(b[0], b[1]);
}

namespace {
inline void NormalPair(const std::array<uint32_t, 4>& b, double* z0,
                       double* z1) {
  const double u1 = ToUnitOpen(b[0], b[1]);
  const double u2 = ToUnitOpen(b[2], b[3]);
  const double r = std::sqrt(-2.0 * std::log(u1));
  const double a = kTwoPi * u2;
  *z0 = r * std::cos(a);
  *z1 = r * std::sin(a);
}
}  // namespace

double StandardNormal(const RandomKey& key, uint64_t draw, uint32_t pair,
                      uint32_t coord) {
  double z0, z1;
  NormalPair(RandomBlock(key, draw, pair, coord / 2), &z0, &z1);
  return (coord % 2 == 0) ? z0 : z1;
}

void StandardNormals(const RandomKey& key, uint64_t draw, uint32_t pair, int n,
                     double* out) {
  for (int c = 0; c < n; c += 2) {
    double z0, z1;
    NormalPair(RandomBlock(key, draw, pair, static_cast<uint32_t>(c / 2)), &z0,
               &z1);
    out[c] = z0;
    if (c + 1 < n) out[c + 1] = z1;
  }
}

uint64_t MixKey(uint64_t a, uint64_t b, uint64_t c) {
  auto mix = [](uint64_t z) {
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  };
  return mix(mix(mix(a) ^ b) ^ c);
}

}  // namespace es
