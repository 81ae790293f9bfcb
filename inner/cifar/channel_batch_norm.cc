// channel_batch_norm.cc - see channel_batch_norm.h.
#include "inner/cifar/channel_batch_norm.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace es {
namespace {

constexpr int kMaxBlock = 64;

// Calls fn(offset) for every (b, h, w) of channel block cb in the fixed
// order b, h, w; offset points at lane 0 of the block.
template <typename Fn>
void ForEachPosition(const ChannelLayout& l, int64_t cb, Fn fn) {
  for (int64_t b = 0; b < l.b; ++b) {
    for (int64_t h = 0; h < l.h; ++h) {
      const int64_t row = b * l.sb + cb * l.scb + h * l.sh;
      for (int64_t w = 0; w < l.w; ++w) fn(row + w * l.sw);
    }
  }
}

int64_t NumBlocks(const ChannelLayout& l) { return (l.c + l.blk - 1) / l.blk; }
int64_t Lanes(const ChannelLayout& l, int64_t cb) {
  return std::min(l.blk, l.c - cb * l.blk);
}

}  // namespace

absl::StatusOr<ChannelLayout> ChannelLayoutOf(const dnnl::memory::desc& md) {
  const dnnl_memory_desc_t& d = md.data;
  if (d.ndims != 4 || d.data_type != dnnl_f32 ||
      d.format_kind != dnnl_blocked) {
    return absl::UnimplementedError(absl::StrCat(
        "channel batch norm: need a 4-D f32 blocked memory desc, got ndims ",
        d.ndims, " format kind ", static_cast<int>(d.format_kind)));
  }
  const dnnl_blocking_desc_t& blk = d.format_desc.blocking;
  ChannelLayout l;
  l.b = d.dims[0];
  l.c = d.dims[1];
  l.h = d.dims[2];
  l.w = d.dims[3];
  if (blk.inner_nblks == 1 && blk.inner_idxs[0] == 1 &&
      blk.inner_blks[0] <= kMaxBlock) {
    l.blk = blk.inner_blks[0];
  } else if (blk.inner_nblks != 0) {
    return absl::UnimplementedError(absl::StrCat(
        "channel batch norm: unsupported blocking (", blk.inner_nblks,
        " inner blocks)"));
  }
  l.sb = blk.strides[0];
  l.scb = blk.strides[1];
  l.sh = blk.strides[2];
  l.sw = blk.strides[3];
  return l;
}

namespace {

// Block bodies, templated on the lane count so that full 16- and 8-lane
// blocks (nChw16c / nChw8c) vectorise over a compile-time width; kL = 0 is
// the generic version (partial blocks, plain layouts).
template <int kL>
void ForwardBlock(const ChannelLayout& l, int64_t cb, const float* z,
                  const float* gamma, const float* beta, float eps,
                  float* mean, float* var, float* y) {
  const int64_t lanes = kL > 0 ? kL : Lanes(l, cb), c0 = cb * l.blk;
  const double m = static_cast<double>(l.b * l.h * l.w);
  double sum[kMaxBlock] = {0}, sq[kMaxBlock] = {0};
  ForEachPosition(l, cb, [&](int64_t o) {
#pragma omp simd
    for (int64_t k = 0; k < lanes; ++k) sum[k] += z[o + k];
  });
  for (int64_t k = 0; k < lanes; ++k) sum[k] /= m;
  ForEachPosition(l, cb, [&](int64_t o) {
#pragma omp simd
    for (int64_t k = 0; k < lanes; ++k) {
      const double d = z[o + k] - sum[k];
      sq[k] += d * d;
    }
  });
  float a[kMaxBlock], s[kMaxBlock];
  for (int64_t k = 0; k < lanes; ++k) {
    mean[c0 + k] = static_cast<float>(sum[k]);
    var[c0 + k] = static_cast<float>(sq[k] / m);
    const double inv = 1.0 / std::sqrt(sq[k] / m + eps);
    a[k] = static_cast<float>(gamma[c0 + k] * inv);
    s[k] = static_cast<float>(beta[c0 + k] - sum[k] * gamma[c0 + k] * inv);
  }
  ForEachPosition(l, cb, [&](int64_t o) {
#pragma omp simd
    for (int64_t k = 0; k < lanes; ++k) {
      y[o + k] = std::max(0.0f, a[k] * z[o + k] + s[k]);
    }
  });
}

template <int kL>
void BackwardBlock(const ChannelLayout& l, int64_t cb, const float* z,
                   const float* y, const float* dy, const float* gamma,
                   const float* mean, const float* var, float eps, float* dz,
                   float* dgamma, float* dbeta) {
  const int64_t lanes = kL > 0 ? kL : Lanes(l, cb), c0 = cb * l.blk;
  const double m = static_cast<double>(l.b * l.h * l.w);
  double db[kMaxBlock] = {0}, dg[kMaxBlock] = {0};
  float inv[kMaxBlock], mu[kMaxBlock];
  for (int64_t k = 0; k < lanes; ++k) {
    inv[k] = static_cast<float>(
        1.0 / std::sqrt(static_cast<double>(var[c0 + k]) + eps));
    mu[k] = mean[c0 + k];
  }
  ForEachPosition(l, cb, [&](int64_t o) {
#pragma omp simd
    for (int64_t k = 0; k < lanes; ++k) {
      const float dpre = y[o + k] > 0.0f ? dy[o + k] : 0.0f;
      db[k] += dpre;
      dg[k] += static_cast<double>(dpre * ((z[o + k] - mu[k]) * inv[k]));
    }
  });
  float c1[kMaxBlock], c2[kMaxBlock], c3[kMaxBlock];
  for (int64_t k = 0; k < lanes; ++k) {
    dgamma[c0 + k] = static_cast<float>(dg[k]);
    dbeta[c0 + k] = static_cast<float>(db[k]);
    c1[k] = gamma[c0 + k] * inv[k];
    c2[k] = static_cast<float>(db[k] / m);
    c3[k] = static_cast<float>(dg[k] / m);
  }
  ForEachPosition(l, cb, [&](int64_t o) {
#pragma omp simd
    for (int64_t k = 0; k < lanes; ++k) {
      const float dpre = y[o + k] > 0.0f ? dy[o + k] : 0.0f;
      const float xhat = (z[o + k] - mu[k]) * inv[k];
      dz[o + k] = c1[k] * (dpre - c2[k] - xhat * c3[k]);
    }
    for (int64_t k = lanes; k < l.blk; ++k) dz[o + k] = 0.0f;
  });
}

}  // namespace

void BatchNormReluForward(const ChannelLayout& l, const float* z,
                          const float* gamma, const float* beta, float eps,
                          float* mean, float* var, float* y) {
  const int64_t blocks = NumBlocks(l);
#pragma omp parallel for schedule(static)
  for (int64_t cb = 0; cb < blocks; ++cb) {
    const int64_t lanes = Lanes(l, cb);
    if (l.blk == 16 && lanes == 16) {
      ForwardBlock<16>(l, cb, z, gamma, beta, eps, mean, var, y);
    } else if (l.blk == 8 && lanes == 8) {
      ForwardBlock<8>(l, cb, z, gamma, beta, eps, mean, var, y);
    } else {
      ForwardBlock<0>(l, cb, z, gamma, beta, eps, mean, var, y);
    }
  }
}

void BatchNormReluInference(const ChannelLayout& l, const float* z,
                            const float* gamma, const float* beta,
                            const float* mean, const float* var, float eps,
                            float* y) {
  const int64_t blocks = NumBlocks(l);
#pragma omp parallel for schedule(static)
  for (int64_t cb = 0; cb < blocks; ++cb) {
    const int64_t lanes = Lanes(l, cb), c0 = cb * l.blk;
    float a[kMaxBlock], s[kMaxBlock];
    for (int64_t k = 0; k < lanes; ++k) {
      const double inv =
          1.0 / std::sqrt(static_cast<double>(var[c0 + k]) + eps);
      a[k] = static_cast<float>(gamma[c0 + k] * inv);
      s[k] = static_cast<float>(beta[c0 + k] -
                                static_cast<double>(mean[c0 + k]) *
                                    gamma[c0 + k] * inv);
    }
    ForEachPosition(l, cb, [&](int64_t o) {
#pragma omp simd
      for (int64_t k = 0; k < lanes; ++k) {
        y[o + k] = std::max(0.0f, a[k] * z[o + k] + s[k]);
      }
    });
  }
}

void BatchNormReluBackward(const ChannelLayout& l, const float* z,
                           const float* y, const float* dy, const float* gamma,
                           const float* mean, const float* var, float eps,
                           float* dz, float* dgamma, float* dbeta) {
  const int64_t blocks = NumBlocks(l);
#pragma omp parallel for schedule(static)
  for (int64_t cb = 0; cb < blocks; ++cb) {
    const int64_t lanes = Lanes(l, cb);
    if (l.blk == 16 && lanes == 16) {
      BackwardBlock<16>(l, cb, z, y, dy, gamma, mean, var, eps, dz, dgamma,
                        dbeta);
    } else if (l.blk == 8 && lanes == 8) {
      BackwardBlock<8>(l, cb, z, y, dy, gamma, mean, var, eps, dz, dgamma,
                       dbeta);
    } else {
      BackwardBlock<0>(l, cb, z, y, dy, gamma, mean, var, eps, dz, dgamma,
                       dbeta);
    }
  }
}

}  // namespace es
