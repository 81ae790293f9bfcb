// batched_lstm_soa.cc - see batched_lstm_soa.h.
#include "inner/kernels/batched_lstm_soa.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "inner/kernels/batched_lstm_simd.h"

namespace es {
namespace lstm_soa {
namespace {

struct Dims {
  int64_t n, b, h, v, g, p;
  explicit Dims(const BatchedLstmConfig& c)
      : n(c.num_particles),
        b(c.batch_size),
        h(c.shape.hidden_size),
        v(c.shape.vocab_size),
        g(4 * c.shape.hidden_size),
        p(c.packed_params_per_particle()) {}
};

}  // namespace

int64_t PackedSize(const BatchedLstmConfig& c) {
  return NumBlocks(c) * c.packed_params_per_particle() * kLanes;
}

int64_t ScratchSize(const BatchedLstmConfig& c) {
  const int64_t h = c.shape.hidden_size;
  return NumBlocks(c) * (2 * c.batch_size * h + 4 * h + c.shape.vocab_size) *
         kLanes;
}

void Pack(const BatchedLstmConfig& c, const double* thetas, int64_t begin,
          int64_t end, float* packed) {
  const Dims d(c);
  const LstmShape& s = c.shape;
  const int64_t theta_p = s.num_params();
  const int64_t first_block = begin / kLanes;
  const int64_t last_block = (end - 1) / kLanes;
#pragma omp parallel for schedule(static)
  for (int64_t blk = first_block; blk <= last_block; ++blk) {
    float* dst = packed + blk * d.p * kLanes;
    for (int64_t lane = 0; lane < kLanes; ++lane) {
      const int64_t i = blk * kLanes + lane;
      if (i >= d.n) {
        for (int64_t q = 0; q < d.p; ++q) dst[q * kLanes + lane] = 0.0f;
        continue;
      }
      if (i < begin || i >= end) continue;
      const double* row = thetas + i * theta_p;
      const double* wx = row + s.w_x_offset();
      const double* bx = row + s.b_x_offset();
      const double* bh = row + s.b_h_offset();
      int64_t q = 0;
      for (int64_t v = 0; v < d.v; ++v) {
        for (int64_t j = 0; j < d.g; ++j, ++q) {
          dst[q * kLanes + lane] =
              static_cast<float>(wx[v * d.g + j] + (bx[j] + bh[j]));
        }
      }
      const double* wh = row + s.w_h_offset();
      for (int64_t k = 0; k < d.h * d.g; ++k, ++q) {
        dst[q * kLanes + lane] = static_cast<float>(wh[k]);
      }
      const double* wo = row + s.w_o_offset();  // W_o then b_o, contiguous
      for (int64_t k = 0; k < d.h * d.v + d.v; ++k, ++q) {
        dst[q * kLanes + lane] = static_cast<float>(wo[k]);
      }
    }
  }
}

void Unroll(const BatchedLstmConfig& c, const float* packed, int64_t begin,
            int64_t end, int num_steps, const int32_t* tokens,
            const int32_t* targets, float* h, float* c_state, double* loss,
            float* scratch) {
  const Dims d(c);
  const int64_t first_block = begin / kLanes;
  const int64_t last_block = (end - 1) / kLanes;
  const int64_t scratch_per_block = (2 * d.b * d.h + d.g + d.v) * kLanes;
#pragma omp parallel for schedule(static)
  for (int64_t blk = first_block; blk <= last_block; ++blk) {
    const int64_t base = blk * kLanes;
    const int64_t lo = std::max(begin, base) - base;
    const int64_t hi = std::min(end, base + kLanes) - base;
    const float* w_a = packed + blk * d.p * kLanes;  // [V][G][8]
    const float* w_h = w_a + d.v * d.g * kLanes;      // [H][G][8]
    const float* w_o = w_h + d.h * d.g * kLanes;      // [H][V][8]
    const float* b_o = w_o + d.h * d.v * kLanes;      // [V][8]
    float* hs = scratch + blk * scratch_per_block;    // [B][H][8]
    float* cs = hs + d.b * d.h * kLanes;              // [B][H][8]
    float* gates = cs + d.b * d.h * kLanes;           // [G][8]
    float* z = gates + d.g * kLanes;                  // [V][8]

    // Load the state of the lanes in range; other lanes start at zero.
    std::memset(hs, 0, 2 * d.b * d.h * kLanes * sizeof(float));
    for (int64_t l = lo; l < hi; ++l) {
      const int64_t i = base + l;
      for (int64_t bj = 0; bj < d.b * d.h; ++bj) {
        hs[bj * kLanes + l] = h[i * d.b * d.h + bj];
        cs[bj * kLanes + l] = c_state[i * d.b * d.h + bj];
      }
    }
    double total[kLanes] = {};
    for (int t = 0; t < num_steps; ++t) {
      double step[kLanes] = {};
      for (int64_t b = 0; b < d.b; ++b) {
        alignas(32) int32_t gather_index[kLanes];
        int32_t y[kLanes];
        for (int64_t l = 0; l < kLanes; ++l) {
          const bool in = l >= lo && l < hi;
          const int64_t at = (t * d.n + base + l) * d.b + b;
          const int32_t tok = in ? tokens[at] : 0;
          y[l] = in ? targets[at] : 0;
          gather_index[l] = static_cast<int32_t>(tok * d.g * kLanes + l);
        }
        // gates = A[token] (one row per lane) + h W_h.
        const __m256i idx0 =
            _mm256_load_si256(reinterpret_cast<const __m256i*>(gather_index));
        for (int64_t j = 0; j < d.g; ++j) {
          const __m256i idx = _mm256_add_epi32(
              idx0, _mm256_set1_epi32(static_cast<int32_t>(j * kLanes)));
          _mm256_store_ps(gates + j * kLanes,
                          _mm256_i32gather_ps(w_a, idx, sizeof(float)));
        }
        float* hb = hs + b * d.h * kLanes;
        float* cb = cs + b * d.h * kLanes;
        for (int64_t k = 0; k < d.h; ++k) {
          const __m256 hk = _mm256_loadu_ps(hb + k * kLanes);
          const float* wk = w_h + k * d.g * kLanes;
          for (int64_t j = 0; j < d.g; ++j) {
            const __m256 acc = _mm256_load_ps(gates + j * kLanes);
            _mm256_store_ps(
                gates + j * kLanes,
                _mm256_add_ps(acc, _mm256_mul_ps(
                                       hk, _mm256_loadu_ps(wk + j * kLanes))));
          }
        }
        for (int64_t j = 0; j < d.h; ++j) {
          lstm_simd::Cell8(lstm_simd::Load(gates + j * kLanes),
                           lstm_simd::Load(gates + (d.h + j) * kLanes),
                           lstm_simd::Load(gates + (2 * d.h + j) * kLanes),
                           lstm_simd::Load(gates + (3 * d.h + j) * kLanes),
                           cb + j * kLanes, hb + j * kLanes);
        }
        // z = h W_o + b_o.
        for (int64_t v = 0; v < d.v; ++v) {
          _mm256_store_ps(z + v * kLanes, _mm256_loadu_ps(b_o + v * kLanes));
        }
        for (int64_t k = 0; k < d.h; ++k) {
          const __m256 hk = _mm256_loadu_ps(hb + k * kLanes);
          const float* wk = w_o + k * d.v * kLanes;
          for (int64_t v = 0; v < d.v; ++v) {
            const __m256 acc = _mm256_load_ps(z + v * kLanes);
            _mm256_store_ps(
                z + v * kLanes,
                _mm256_add_ps(acc, _mm256_mul_ps(
                                       hk, _mm256_loadu_ps(wk + v * kLanes))));
          }
        }
        // Softmax cross-entropy per lane: m + log(sum exp(z - m)) - z[y].
        __m256 m = _mm256_load_ps(z);
        for (int64_t v = 1; v < d.v; ++v) {
          m = _mm256_max_ps(m, _mm256_load_ps(z + v * kLanes));
        }
        __m256 s = _mm256_setzero_ps();
        for (int64_t v = 0; v < d.v; ++v) {
          s = _mm256_add_ps(
              s, lstm_simd::Exp8(_mm256_sub_ps(_mm256_load_ps(z + v * kLanes),
                                               m)));
        }
        alignas(32) float ms[kLanes], ss[kLanes];
        _mm256_store_ps(ms, m);
        _mm256_store_ps(ss, s);
        for (int64_t l = 0; l < kLanes; ++l) {
          step[l] += static_cast<double>(ms[l]) +
                     std::log(static_cast<double>(ss[l])) -
                     static_cast<double>(z[y[l] * kLanes + l]);
        }
      }
      for (int64_t l = 0; l < kLanes; ++l) {
        total[l] += step[l] / static_cast<double>(d.b);
      }
    }
    for (int64_t l = lo; l < hi; ++l) {
      const int64_t i = base + l;
      loss[i] = total[l];
      for (int64_t bj = 0; bj < d.b * d.h; ++bj) {
        h[i * d.b * d.h + bj] = hs[bj * kLanes + l];
        c_state[i * d.b * d.h + bj] = cs[bj * kLanes + l];
      }
    }
  }
}

}  // namespace lstm_soa
}  // namespace es
