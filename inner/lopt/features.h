// features.h - per-parameter input features of the LOLv2 learned optimiser
// and the accumulators behind them (momenta), float32, vectorised over the
// flat elements of one inner-network tensor.
//
// Paper: Vicol, Kolter, Swersky, ICML 2023 (ES-Single), Sec. 4.4 and App. C.3
// meta-train "the LOLv2 architecture" of Metz et al., "Understanding and
// correcting pathologies in the training of learned optimizers" (ICML 2019,
// arXiv 1810.10180). The feature set, decays and constants are those of that
// optimiser as published in google/learned_optimization
// (learned_optimizers/mlp_lopt.py, "MLPLOpt ... also known as LOLv2"); every
// number and where it came from is listed in docs/lopt_notes.md.
//
// For one tensor (W_l or b_l of one inner network) with elements j and one
// inner step t (t = 0 for the first update), given the gradient g:
//   m_k[j] <- beta_k m_k[j] + (1 - beta_k) g[j],   k = 0..5,
//             beta = (0.1, 0.5, 0.9, 0.99, 0.999, 0.9999), m_k = 0 at reset
//   raw row features   x[j] = (g[j], p[j], m_0[j], ..., m_5[j])   (8 values,
//                      p = the parameter before this step's update, m after
//                      this step's accumulation)
//   normalised         x_f[j] * rsqrt(1e-5 + mean_j' x_f[j']^2)  per feature f,
//                      the mean over the elements of this tensor only
//   time features      tanh(t / s - 1), s = 1, 3, 10, 30, 100, 300, 1000,
//                      3000, 10000, 30000, 100000 (11 values, the same for
//                      every element of every tensor of a particle)
// giving kNumFeatures = 19 inputs per parameter (8 row + 11 time features,
// in that order).
//
// Precision: parameters, gradients, momenta and features are float32 (as in
// the JAX reference, which runs in float32). beta and 1 - beta are float32
// constants with 1 - beta computed in float32, as the reference does. The
// sums of squares behind the normalisers accumulate in double (a tensor has
// up to ~10^5 elements; float accumulation would lose ~3 digits), in a fixed
// order, so the result does not depend on the thread count.
//
// Usage (one tensor of one particle; momenta are arrays of the same size):
//   LoptTensor t{param, grad, {m0, m1, m2, m3, m4, m5}, size};
//   double sumsq[kNumRowFeatures];
//   UpdateMomentaAndSquares(t, sumsq);
//   float scale[kNumRowFeatures];
//   FeatureScales(sumsq, t.size, scale);
//   WriteRowFeatures(t, scale, /*begin=*/0, /*end=*/t.size, out, /*ld=*/9);
//   float time[kNumTimeFeatures];
//   TimeEmbedding(step, time);
//
// Thread safety: plain functions on caller memory; calls on disjoint tensors
// may run concurrently. Nothing allocates.
#ifndef ES_SINGLE_INNER_LOPT_FEATURES_H_
#define ES_SINGLE_INNER_LOPT_FEATURES_H_

#include <array>
#include <cstdint>

namespace es {

inline constexpr int kNumMomenta = 6;
// Momentum decays beta_k (mlp_lopt.py, MLPLOpt.opt_fn).
inline constexpr std::array<float, kNumMomenta> kMomentumDecays = {
    0.1f, 0.5f, 0.9f, 0.99f, 0.999f, 0.9999f};

inline constexpr int kNumTimeFeatures = 11;
// Timescales s of the tanh step embedding (mlp_lopt.py, _tanh_embedding).
inline constexpr std::array<double, kNumTimeFeatures> kTimescales = {
    1, 3, 10, 30, 100, 300, 1000, 3000, 10000, 30000, 100000};

// Per-element features: g, p, m_0..m_5.
inline constexpr int kNumRowFeatures = 2 + kNumMomenta;
// All inputs of the optimiser MLP: row features, then time features.
inline constexpr int kNumFeatures = kNumRowFeatures + kNumTimeFeatures;

// epsilon inside rsqrt(eps + mean(x^2)) (mlp_lopt.py,
// _second_moment_normalizer).
inline constexpr double kNormEpsilon = 1e-5;

// One tensor of one particle: `size` contiguous elements of each array.
struct LoptTensor {
  float* param = nullptr;       // p, read here (updated by the update rule)
  const float* grad = nullptr;  // g
  std::array<float*, kNumMomenta> momenta = {};  // m_k, updated in place
  int64_t size = 0;
};

// m_k <- beta_k m_k + (1 - beta_k) g for every element, and
// sumsq[f] = sum_j x_f[j]^2 for the 8 row features (g, p, m_0..m_5, the
// momenta after the update), accumulated in double.
void UpdateMomentaAndSquares(const LoptTensor& tensor,
                             double sumsq[kNumRowFeatures]);

// scale[f] = 1 / sqrt(kNormEpsilon + sumsq[f] / size) rounded to float (the
// second-moment normaliser of a tensor of `size` elements; size >= 1).
void FeatureScales(const double sumsq[kNumRowFeatures], int64_t size,
                   float scale[kNumRowFeatures]);

// Writes the normalised row features of elements [begin, end) of the tensor:
// out[(j - begin) * ld + f] = x_f[j] * scale[f], f = 0..7 (columns 8..ld-1
// are left alone). Requires ld >= kNumRowFeatures.
void WriteRowFeatures(const LoptTensor& tensor,
                      const float scale[kNumRowFeatures], int64_t begin,
                      int64_t end, float* out, int64_t ld);

// out[s] = tanh(t / kTimescales[s] - 1), computed in double, stored as float.
void TimeEmbedding(int64_t t, float out[kNumTimeFeatures]);

}  // namespace es

#endif  // ES_SINGLE_INNER_LOPT_FEATURES_H_
