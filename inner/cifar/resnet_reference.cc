// resnet_reference.cc - see resnet_reference.h.
#include "inner/cifar/resnet_reference.h"

#include <algorithm>
#include <cassert>
#include <cmath>

namespace es {
namespace {

int64_t Idx(Shape4 s, int64_t b, int64_t c, int64_t h, int64_t w) {
  return ((b * s.c + c) * s.h + h) * s.w + w;
}

}  // namespace

DVec RefConv3x3(const DVec& x, Shape4 xs, const DVec& w, int64_t co) {
  const Shape4 ys{xs.b, co, xs.h, xs.w};
  DVec y(ys.size(), 0.0);
  for (int64_t b = 0; b < xs.b; ++b)
    for (int64_t o = 0; o < co; ++o)
      for (int64_t h = 0; h < xs.h; ++h)
        for (int64_t v = 0; v < xs.w; ++v) {
          double sum = 0.0;
          for (int64_t i = 0; i < xs.c; ++i)
            for (int64_t kh = 0; kh < 3; ++kh)
              for (int64_t kw = 0; kw < 3; ++kw) {
                const int64_t ih = h + kh - 1, iw = v + kw - 1;
                if (ih < 0 || ih >= xs.h || iw < 0 || iw >= xs.w) continue;
                sum += x[Idx(xs, b, i, ih, iw)] *
                       w[((o * xs.c + i) * 3 + kh) * 3 + kw];
              }
          y[Idx(ys, b, o, h, v)] = sum;
        }
  return y;
}

DVec RefConv3x3BackwardData(const DVec& dy, Shape4 xs, const DVec& w,
                            int64_t co) {
  const Shape4 ys{xs.b, co, xs.h, xs.w};
  DVec dx(xs.size(), 0.0);
  for (int64_t b = 0; b < xs.b; ++b)
    for (int64_t o = 0; o < co; ++o)
      for (int64_t h = 0; h < xs.h; ++h)
        for (int64_t v = 0; v < xs.w; ++v) {
          const double g = dy[Idx(ys, b, o, h, v)];
          for (int64_t i = 0; i < xs.c; ++i)
            for (int64_t kh = 0; kh < 3; ++kh)
              for (int64_t kw = 0; kw < 3; ++kw) {
                const int64_t ih = h + kh - 1, iw = v + kw - 1;
                if (ih < 0 || ih >= xs.h || iw < 0 || iw >= xs.w) continue;
                dx[Idx(xs, b, i, ih, iw)] +=
                    g * w[((o * xs.c + i) * 3 + kh) * 3 + kw];
              }
        }
  return dx;
}

DVec RefConv3x3BackwardWeights(const DVec& x, Shape4 xs, const DVec& dy,
                               int64_t co) {
  const Shape4 ys{xs.b, co, xs.h, xs.w};
  DVec dw(co * xs.c * 9, 0.0);
  for (int64_t b = 0; b < xs.b; ++b)
    for (int64_t o = 0; o < co; ++o)
      for (int64_t h = 0; h < xs.h; ++h)
        for (int64_t v = 0; v < xs.w; ++v) {
          const double g = dy[Idx(ys, b, o, h, v)];
          for (int64_t i = 0; i < xs.c; ++i)
            for (int64_t kh = 0; kh < 3; ++kh)
              for (int64_t kw = 0; kw < 3; ++kw) {
                const int64_t ih = h + kh - 1, iw = v + kw - 1;
                if (ih < 0 || ih >= xs.h || iw < 0 || iw >= xs.w) continue;
                dw[((o * xs.c + i) * 3 + kh) * 3 + kw] +=
                    g * x[Idx(xs, b, i, ih, iw)];
              }
        }
  return dw;
}

namespace {

void Statistics(const DVec& z, Shape4 s, DVec* mean, DVec* var) {
  const double m = static_cast<double>(s.b * s.h * s.w);
  mean->assign(s.c, 0.0);
  var->assign(s.c, 0.0);
  for (int64_t c = 0; c < s.c; ++c) {
    double sum = 0.0;
    for (int64_t b = 0; b < s.b; ++b)
      for (int64_t j = 0; j < s.h * s.w; ++j) sum += z[Idx(s, b, c, 0, 0) + j];
    const double mu = sum / m;
    double sq = 0.0;
    for (int64_t b = 0; b < s.b; ++b)
      for (int64_t j = 0; j < s.h * s.w; ++j) {
        const double d = z[Idx(s, b, c, 0, 0) + j] - mu;
        sq += d * d;
      }
    (*mean)[c] = mu;
    (*var)[c] = sq / m;
  }
}

DVec Normalise(const DVec& z, Shape4 s, const DVec& gamma, const DVec& beta,
               const DVec& mean, const DVec& var, double eps, int64_t active) {
  DVec y(z.size());
  for (int64_t b = 0; b < s.b; ++b)
    for (int64_t c = 0; c < s.c; ++c) {
      const double inv = 1.0 / std::sqrt(var[c] + eps);
      for (int64_t j = 0; j < s.h * s.w; ++j) {
        const int64_t k = Idx(s, b, c, 0, 0) + j;
        const double pre = gamma[c] * (z[k] - mean[c]) * inv + beta[c];
        y[k] = c < active ? std::max(pre, 0.0) : 0.0;
      }
    }
  return y;
}

}  // namespace

RefBnOutput RefBatchNormRelu(const DVec& z, Shape4 s, const DVec& gamma,
                             const DVec& beta, double eps, int64_t active) {
  RefBnOutput out;
  Statistics(z, s, &out.mean, &out.var);
  out.y = Normalise(z, s, gamma, beta, out.mean, out.var, eps, active);
  return out;
}

DVec RefBatchNormReluInference(const DVec& z, Shape4 s, const DVec& gamma,
                               const DVec& beta, const DVec& mean,
                               const DVec& var, double eps, int64_t active) {
  return Normalise(z, s, gamma, beta, mean, var, eps, active);
}

RefBnGrads RefBatchNormReluBackward(const DVec& z, Shape4 s, const DVec& gamma,
                                    const DVec& beta, double eps,
                                    int64_t active, const DVec& dy) {
  DVec mean, var;
  Statistics(z, s, &mean, &var);
  const double m = static_cast<double>(s.b * s.h * s.w);
  RefBnGrads g;
  g.dz.assign(z.size(), 0.0);
  g.dgamma.assign(s.c, 0.0);
  g.dbeta.assign(s.c, 0.0);
  DVec dpre(z.size(), 0.0);
  for (int64_t c = 0; c < s.c; ++c) {
    if (c >= active) continue;  // masked: output 0 whatever z, gamma, beta
    const double inv = 1.0 / std::sqrt(var[c] + eps);
    for (int64_t b = 0; b < s.b; ++b)
      for (int64_t j = 0; j < s.h * s.w; ++j) {
        const int64_t k = Idx(s, b, c, 0, 0) + j;
        const double xhat = (z[k] - mean[c]) * inv;
        const double pre = gamma[c] * xhat + beta[c];
        dpre[k] = pre > 0.0 ? dy[k] : 0.0;
        g.dbeta[c] += dpre[k];
        g.dgamma[c] += dpre[k] * xhat;
      }
    for (int64_t b = 0; b < s.b; ++b)
      for (int64_t j = 0; j < s.h * s.w; ++j) {
        const int64_t k = Idx(s, b, c, 0, 0) + j;
        const double xhat = (z[k] - mean[c]) * inv;
        g.dz[k] = gamma[c] * inv / m *
                  (m * dpre[k] - g.dbeta[c] - xhat * g.dgamma[c]);
      }
  }
  return g;
}

RefPoolOutput RefMaxPool(const DVec& x, Shape4 s, int64_t k) {
  assert(s.h % k == 0 && s.w % k == 0);
  const Shape4 ys{s.b, s.c, s.h / k, s.w / k};
  RefPoolOutput out;
  out.y.assign(ys.size(), 0.0);
  out.argmax.assign(ys.size(), 0);
  for (int64_t b = 0; b < s.b; ++b)
    for (int64_t c = 0; c < s.c; ++c)
      for (int64_t h = 0; h < ys.h; ++h)
        for (int64_t v = 0; v < ys.w; ++v) {
          int64_t best = Idx(s, b, c, h * k, v * k);
          for (int64_t i = 0; i < k; ++i)
            for (int64_t j = 0; j < k; ++j) {
              const int64_t at = Idx(s, b, c, h * k + i, v * k + j);
              if (x[at] > x[best]) best = at;
            }
          const int64_t o = Idx(ys, b, c, h, v);
          out.y[o] = x[best];
          out.argmax[o] = best;
        }
  return out;
}

DVec RefMaxPoolBackward(const DVec& dy, const std::vector<int64_t>& argmax,
                        int64_t x_size) {
  DVec dx(x_size, 0.0);
  for (size_t j = 0; j < dy.size(); ++j) dx[argmax[j]] += dy[j];
  return dx;
}

ReferenceOutput ReferenceResNet(const ResNetConfig& config, const DVec& params,
                                const DVec& images,
                                const std::vector<int32_t>& labels,
                                const std::vector<int32_t>& active,
                                ReferenceMode mode, bool backward,
                                const DVec& run_mean, const DVec& run_var) {
  constexpr int L = kResNetConvLayers;
  const int64_t B = config.batch_size;
  const int64_t C = config.num_classes;
  const double eps = config.bn_epsilon;
  assert(static_cast<int64_t>(params.size()) == config.params_per_particle());
  assert(static_cast<int64_t>(images.size()) == B * config.image_floats());

  // Views of the particle vector.
  std::vector<DVec> w(L), gamma(L), beta(L);
  std::vector<int64_t> stat_off(L + 1, 0);
  const double* p = params.data();
  for (int l = 0; l < L; ++l) {
    const int64_t co = config.conv_out(l);
    w[l].assign(p, p + config.conv_weight_size_per_particle(l));
    p += w[l].size();
    gamma[l].assign(p, p + co);
    p += co;
    beta[l].assign(p, p + co);
    p += co;
    stat_off[l + 1] = stat_off[l] + co;
  }
  const DVec wfc(p, p + config.fc_weight_size_per_particle());
  auto shape = [&](int l, bool out) {
    const int64_t hw = config.conv_size(l);
    return Shape4{B, out ? config.conv_out(l) : config.conv_in(l), hw, hw};
  };
  auto act = [&](int l) {
    return active.empty() ? config.conv_out(l) : int64_t{active[l]};
  };

  ReferenceOutput out;
  out.mean.assign(stat_off[L], 0.0);
  out.var.assign(stat_off[L], 0.0);
  std::vector<DVec> x(L), z(L), a(L);  // conv input, conv output, CBR output
  auto cbr = [&](int l, const DVec& in) {
    x[l] = in;
    z[l] = RefConv3x3(in, shape(l, false), w[l], config.conv_out(l));
    if (mode == ReferenceMode::kTrain) {
      RefBnOutput bn = RefBatchNormRelu(z[l], shape(l, true), gamma[l],
                                        beta[l], eps, act(l));
      std::copy(bn.mean.begin(), bn.mean.end(), out.mean.begin() + stat_off[l]);
      std::copy(bn.var.begin(), bn.var.end(), out.var.begin() + stat_off[l]);
      a[l] = std::move(bn.y);
    } else {
      const DVec mean(run_mean.begin() + stat_off[l],
                      run_mean.begin() + stat_off[l + 1]);
      const DVec var(run_var.begin() + stat_off[l],
                     run_var.begin() + stat_off[l + 1]);
      a[l] = RefBatchNormReluInference(z[l], shape(l, true), gamma[l], beta[l],
                                       mean, var, eps, act(l));
    }
    return a[l];
  };
  auto add = [](DVec u, const DVec& v) {
    for (size_t j = 0; j < u.size(); ++j) u[j] += v[j];
    return u;
  };

  cbr(0, images);
  const RefPoolOutput p1 = RefMaxPool(cbr(1, a[0]), shape(1, true), 2);
  cbr(2, p1.y);
  const DVec r1 = add(p1.y, cbr(3, a[2]));
  const RefPoolOutput p2 = RefMaxPool(cbr(4, r1), shape(4, true), 2);
  const RefPoolOutput p3 = RefMaxPool(cbr(5, p2.y), shape(5, true), 2);
  cbr(6, p3.y);
  const DVec r3 = add(p3.y, cbr(7, a[6]));
  const Shape4 r3s = shape(7, true);
  const RefPoolOutput g = RefMaxPool(r3, r3s, r3s.h);  // [B, w3]
  const int64_t F = config.fc_in();

  out.logits.assign(B * C, 0.0);
  DVec dlogits(B * C, 0.0);
  double loss = 0.0;
  for (int64_t b = 0; b < B; ++b) {
    double* row = out.logits.data() + b * C;
    for (int64_t c = 0; c < C; ++c) {
      double sum = 0.0;
      for (int64_t k = 0; k < F; ++k) sum += g.y[b * F + k] * wfc[k * C + c];
      row[c] = config.logit_scale * sum;
    }
    const double max = *std::max_element(row, row + C);
    double total = 0.0;
    for (int64_t c = 0; c < C; ++c) total += std::exp(row[c] - max);
    loss += max + std::log(total) - row[labels[b]];
    for (int64_t c = 0; c < C; ++c) {
      dlogits[b * C + c] = std::exp(row[c] - max) / total / B;
    }
    dlogits[b * C + labels[b]] -= 1.0 / B;
  }
  out.loss = loss / B;
  if (!backward) return out;

  // Backward.
  std::vector<DVec> dw(L), dgamma(L), dbeta(L);
  DVec dwfc(F * C, 0.0), dg(B * F, 0.0);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t c = 0; c < C; ++c) {
      const double d = config.logit_scale * dlogits[b * C + c];
      for (int64_t k = 0; k < F; ++k) {
        dwfc[k * C + c] += g.y[b * F + k] * d;
        dg[b * F + k] += d * wfc[k * C + c];
      }
    }
  // Back through CBR l given dL/da_l; returns dL/dx_l.
  auto cbr_back = [&](int l, const DVec& da) {
    RefBnGrads bn = RefBatchNormReluBackward(z[l], shape(l, true), gamma[l],
                                             beta[l], eps, act(l), da);
    dgamma[l] = bn.dgamma;
    dbeta[l] = bn.dbeta;
    dw[l] = RefConv3x3BackwardWeights(x[l], shape(l, false), bn.dz,
                                      config.conv_out(l));
    return RefConv3x3BackwardData(bn.dz, shape(l, false), w[l],
                                  config.conv_out(l));
  };
  const DVec dr3 = RefMaxPoolBackward(dg, g.argmax, r3s.size());
  const DVec dp3 = add(dr3, cbr_back(6, cbr_back(7, dr3)));
  const DVec dp2 = cbr_back(5, RefMaxPoolBackward(dp3, p3.argmax,
                                                  shape(5, true).size()));
  const DVec dr1 = cbr_back(4, RefMaxPoolBackward(dp2, p2.argmax,
                                                  shape(4, true).size()));
  const DVec dp1 = add(dr1, cbr_back(2, cbr_back(3, dr1)));
  cbr_back(0, cbr_back(1, RefMaxPoolBackward(dp1, p1.argmax,
                                             shape(1, true).size())));

  out.grads.reserve(params.size());
  for (int l = 0; l < L; ++l) {
    out.grads.insert(out.grads.end(), dw[l].begin(), dw[l].end());
    out.grads.insert(out.grads.end(), dgamma[l].begin(), dgamma[l].end());
    out.grads.insert(out.grads.end(), dbeta[l].begin(), dbeta[l].end());
  }
  out.grads.insert(out.grads.end(), dwfc.begin(), dwfc.end());
  return out;
}

}  // namespace es
