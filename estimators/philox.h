// philox.h - counter-based random numbers (Philox4x32-10, Salmon et al.,
// "Parallel random numbers: as easy as 1, 2, 3", SC 2011).
//
// Every random number in this project is a pure function of a key and a
// counter, never of a hidden stream position. That gives:
//   * the same bits whatever the thread count or evaluation order;
//   * O(1) memory for perturbations: a particle's eps can be regenerated from
//     (seed, stream, draw, pair, coordinate) instead of being stored;
//   * distributed workers that exchange only losses.
//
// Usage:
//   RandomKey key{.seed = 42, .stream = Stream::kPerturbation};
//   double z = StandardNormal(key, /*draw=*/episode, /*pair=*/j, /*coord=*/c);
//   uint32_t u = RandomBits(key, draw, index, word);
//
// Layout: key words = the 64-bit seed; counter words = (index / 2 for
// normals or the raw index for bits, pair, low 32 bits of draw,
// stream << 24 | bits 32..55 of draw). Draw indices must stay below 2^56.
#ifndef ES_SINGLE_ESTIMATORS_PHILOX_H_
#define ES_SINGLE_ESTIMATORS_PHILOX_H_

#include <array>
#include <cstdint>

namespace es {

// Independent streams of randomness for one seed.
enum class Stream : uint32_t {
  kSinglePerturbation = 1,  // eps fixed for a whole inner problem (ES-Single)
  kBlockPerturbation = 2,   // eps resampled per unroll/block (PES, Alg. 4)
  kEpisode = 3,             // inner-problem instances (data order, init)
  kMinibatch = 4,           // per-step minibatch sampling inside problems
  kInit = 5,                // parameter initialisation inside problems
  kDirection = 6,           // DODGE / UORO directions
  kUser = 64,               // first id free for experiment-specific use
};

struct RandomKey {
  uint64_t seed = 0;
  Stream stream = Stream::kUser;
};

// One Philox4x32-10 block (Random123's reference implementation).
std::array<uint32_t, 4> Philox4x32(std::array<uint32_t, 4> counter,
                                   std::array<uint32_t, 2> key);

// Four raw 32-bit words for (key, draw, pair, index).
std::array<uint32_t, 4> RandomBlock(const RandomKey& key, uint64_t draw,
                                    uint32_t pair, uint32_t index);

// Uniform double in (0, 1) (53 random bits, never exactly 0 or 1).
double UniformOpen(const RandomKey& key, uint64_t draw, uint32_t pair,
                   uint32_t index);

// Standard normal N(0, 1) for coordinate `coord`, by Box-Muller on one
// Philox block (coordinates 2k and 2k+1 share a block).
double StandardNormal(const RandomKey& key, uint64_t draw, uint32_t pair,
                      uint32_t coord);

// Fills out[0..n) with StandardNormal(key, draw, pair, c), c = 0..n-1,
// computing each Philox block once.
void StandardNormals(const RandomKey& key, uint64_t draw, uint32_t pair,
                     int n, double* out);

// Mixes several 64-bit words into one (SplitMix64 finaliser chain); used to
// derive sub-keys such as an episode key from (seed, episode, pair).
uint64_t MixKey(uint64_t a, uint64_t b, uint64_t c = 0);

}  // namespace es

#endif  // ES_SINGLE_ESTIMATORS_PHILOX_H_
