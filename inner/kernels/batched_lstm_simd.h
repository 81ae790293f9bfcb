// batched_lstm_simd.h - 8-wide (AVX2) elementwise pieces of the LSTM kernels:
// the gate nonlinearities and state update, and softmax cross-entropy.
//
// Used by batched_lstm.cc (one row of one particle at a time), the
// structure-of-arrays path batched_lstm_soa.cc (8 particles in the 8 lanes)
// and lstm_rnn.cc (softmax cross-entropy). exp and tanh come from SLEEF's AVX2
// variants (Sleef_expf8_u10avx2, max error 1.0 ulp; Sleef_tanhf8_u35avx2,
// max error 3.5 ulp and 2.2x faster than the 1-ulp tanh, measured here),
// named explicitly so that the same code runs on every x86-64-v3 CPU rather
// than whatever SLEEF's dispatcher picks. Every function is elementwise per
// lane, so a value's result does not depend on its position (a tail handled
// through a padded copy gives the same bits as a full vector).
//
//   sigm(x) = 1 / (1 + exp(-x))     (exp(-x) = inf gives exactly 0)
//   c' = f * c + i * g,  h' = o * tanh(c')
//
// Usage:
//   LstmCellRow(hw_row, gathered_row, /*H=*/100, c_row, h_row);
//   double ce = SoftmaxCrossEntropy(logits, V, target);
#ifndef ES_SINGLE_INNER_KERNELS_BATCHED_LSTM_SIMD_H_
#define ES_SINGLE_INNER_KERNELS_BATCHED_LSTM_SIMD_H_

#include <immintrin.h>
#include <sleef.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

namespace es {
namespace lstm_simd {

inline __m256 Sigmoid8(__m256 x) {
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 e = Sleef_expf8_u10avx2(_mm256_sub_ps(_mm256_setzero_ps(), x));
  return _mm256_div_ps(one, _mm256_add_ps(one, e));
}

inline __m256 Tanh8(__m256 x) { return Sleef_tanhf8_u35avx2(x); }
inline __m256 Exp8(__m256 x) { return Sleef_expf8_u10avx2(x); }

// One LSTM cell update on 8 lanes from pre-activations ai, af, ag, ao; c is
// read and written, h written. Lanes are independent.
inline void Cell8(__m256 ai, __m256 af, __m256 ag, __m256 ao, float* c,
                  float* h) {
  const __m256 i = Sigmoid8(ai);
  const __m256 f = Sigmoid8(af);
  const __m256 g = Tanh8(ag);
  const __m256 o = Sigmoid8(ao);
  const __m256 c_new = _mm256_add_ps(_mm256_mul_ps(f, _mm256_loadu_ps(c)),
                                     _mm256_mul_ps(i, g));
  _mm256_storeu_ps(c, c_new);
  _mm256_storeu_ps(h, _mm256_mul_ps(o, Tanh8(c_new)));
}

inline __m256 Load(const float* p) { return _mm256_loadu_ps(p); }
inline __m256 Add(const float* p, const float* q) {
  return _mm256_add_ps(_mm256_loadu_ps(p), _mm256_loadu_ps(q));
}

// The cell update of one row whose pre-activations are a + e (both [4H],
// gate-major i, f, g, o; e is the gathered row W_x[token] + b_x + b_h, a the
// product h W_h); c and h = [H] are updated in place.
inline void LstmCellRow(const float* a, const float* e, int64_t hidden,
                        float* c, float* h) {
  const int64_t H = hidden;
  int64_t j = 0;
  for (; j + 8 <= H; j += 8) {
    Cell8(Add(a + j, e + j), Add(a + H + j, e + H + j),
          Add(a + 2 * H + j, e + 2 * H + j), Add(a + 3 * H + j, e + 3 * H + j),
          c + j, h + j);
  }
  const int64_t rest = H - j;
  if (rest == 0) return;
  alignas(32) float t[6][8] = {};
  alignas(32) float u[4][8] = {};
  for (int64_t r = 0; r < rest; ++r) {
    for (int gate = 0; gate < 4; ++gate) {
      t[gate][r] = a[gate * H + j + r];
      u[gate][r] = e[gate * H + j + r];
    }
    t[4][r] = c[j + r];
  }
  Cell8(Add(t[0], u[0]), Add(t[1], u[1]), Add(t[2], u[2]), Add(t[3], u[3]),
        t[4], t[5]);
  for (int64_t r = 0; r < rest; ++r) {
    c[j + r] = t[4][r];
    h[j + r] = t[5][r];
  }
}

// Horizontal sum of 8 lanes in a fixed order.
inline float Sum8(__m256 v) {
  alignas(32) float t[8];
  _mm256_store_ps(t, v);
  return ((t[0] + t[1]) + (t[2] + t[3])) + ((t[4] + t[5]) + (t[6] + t[7]));
}

// Loads z[j..j+n) (n <= 8) into a vector padded with `fill`.
inline __m256 LoadPartial(const float* z, int64_t n, float fill) {
  alignas(32) float t[8];
  for (int r = 0; r < 8; ++r) t[r] = r < n ? z[r] : fill;
  return _mm256_load_ps(t);
}

// logsumexp(z) - z[y] for one row of V logits, in double from float exps:
// max m in float, s = sum exp(z - m) in float (8 partial sums + fixed-order
// reduction), result m + log(s) - z[y] in double. If `grad` is not null,
// also writes grad[v] = scale * (exp(z[v] - m) / s - [v == y]).
inline double SoftmaxCrossEntropy(const float* z, int64_t vocab, int32_t y,
                                  float* grad = nullptr, float scale = 1.0f) {
  float m = z[0];
  for (int64_t v = 1; v < vocab; ++v) m = z[v] > m ? z[v] : m;
  const __m256 mv = _mm256_set1_ps(m);
  __m256 acc = _mm256_setzero_ps();
  const float neg_inf = -std::numeric_limits<float>::infinity();
  int64_t v = 0;
  for (; v + 8 <= vocab; v += 8) {
    const __m256 e = Exp8(_mm256_sub_ps(_mm256_loadu_ps(z + v), mv));
    acc = _mm256_add_ps(acc, e);
    if (grad != nullptr) _mm256_storeu_ps(grad + v, e);
  }
  if (v < vocab) {
    const __m256 e =
        Exp8(_mm256_sub_ps(LoadPartial(z + v, vocab - v, neg_inf), mv));
    acc = _mm256_add_ps(acc, e);
    if (grad != nullptr) {
      alignas(32) float t[8];
      _mm256_store_ps(t, e);
      for (int64_t r = 0; v + r < vocab; ++r) grad[v + r] = t[r];
    }
  }
  const float s = Sum8(acc);
  if (grad != nullptr) {
    const float k = scale / s;
    for (int64_t u = 0; u < vocab; ++u) grad[u] *= k;
    grad[y] -= scale;
  }
  return static_cast<double>(m) + std::log(static_cast<double>(s)) -
         static_cast<double>(z[y]);
}

}  // namespace lstm_simd
}  // namespace es

#endif  // ES_SINGLE_INNER_KERNELS_BATCHED_LSTM_SIMD_H_
