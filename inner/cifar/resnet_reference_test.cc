// resnet_reference_test.cc - the double-precision reference
// (resnet_reference.h) checked against central finite differences, layer by
// layer and for the whole network, so that the oneDNN kernel's tests
// (batched_resnet_test.cc) compare against a verified ground truth.
//
// Step and tolerance (double): h = 1e-6 gives a rounding error of about
// 1e-16 / 1e-6 = 1e-10 relative and a truncation error of about h^2 = 1e-12;
// ReLU and max-pool kinks are crossed only if a pre-activation or a pool
// margin is within 1e-6 of a tie, which the fixed random data avoid. The
// tolerance 1e-6 * (|analytic| + |g| |u| / sqrt(dim)) + 1e-9 is loose by
// three orders of magnitude against those, and tight against any real error.
#include "inner/cifar/resnet_reference.h"

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "estimators/philox.h"
#include "gtest/gtest.h"
#include "inner/cifar/resnet_test_util.h"

namespace es {
namespace {

DVec Normals(uint64_t seed, int64_t n, double scale = 1.0) {
  DVec v(n);
  StandardNormals(RandomKey{seed, Stream::kUser}, 0, 0, static_cast<int>(n),
                  v.data());
  for (double& x : v) x *= scale;
  return v;
}

double Dot(const DVec& a, const DVec& b) {
  double s = 0.0;
  for (size_t j = 0; j < a.size(); ++j) s += a[j] * b[j];
  return s;
}

// Checks the directional derivative of f along u at x against grad . u.
void CheckDirection(const std::function<double(const DVec&)>& f,
                    const DVec& x, const DVec& grad, const DVec& u,
                    const std::string& what) {
  const double h = 1e-6;
  DVec plus = x, minus = x;
  for (size_t j = 0; j < x.size(); ++j) {
    plus[j] += h * u[j];
    minus[j] -= h * u[j];
  }
  const double fd = (f(plus) - f(minus)) / (2 * h);
  const double gu = Dot(grad, u);
  const double tol =
      1e-6 * (std::abs(gu) + std::sqrt(Dot(grad, grad) * Dot(u, u) /
                                       static_cast<double>(x.size()))) +
      1e-9;
  EXPECT_NEAR(fd, gu, tol) << what;
}

TEST(ResNetReferenceTest, ConvBackwardMatchesFiniteDifferences) {
  const Shape4 xs{2, 3, 5, 4};
  const int64_t co = 4;
  const DVec x = Normals(1, xs.size()), w = Normals(2, co * xs.c * 9, 0.3);
  const DVec r = Normals(3, xs.b * co * xs.h * xs.w);  // L = r . conv(x, w)
  const DVec dx = RefConv3x3BackwardData(r, xs, w, co);
  const DVec dw = RefConv3x3BackwardWeights(x, xs, r, co);
  CheckDirection([&](const DVec& v) { return Dot(r, RefConv3x3(v, xs, w, co)); },
                 x, dx, Normals(4, x.size()), "dx");
  CheckDirection([&](const DVec& v) { return Dot(r, RefConv3x3(x, xs, v, co)); },
                 w, dw, Normals(5, w.size()), "dw");
  // One entry by hand: y[0, 0, 0, 0] = sum over the 2x2 in-image window.
  const DVec y = RefConv3x3(x, xs, w, co);
  double expect = 0.0;
  for (int64_t i = 0; i < xs.c; ++i)
    for (int64_t kh = 1; kh < 3; ++kh)
      for (int64_t kw = 1; kw < 3; ++kw)
        expect += x[(i * xs.h + kh - 1) * xs.w + kw - 1] *
                  w[(i * 3 + kh) * 3 + kw];
  EXPECT_NEAR(y[0], expect, 1e-12);
}

TEST(ResNetReferenceTest, BatchNormReluBackwardMatchesFiniteDifferences) {
  const Shape4 s{3, 4, 3, 2};
  const DVec z = Normals(11, s.size(), 2.0);
  const DVec gamma = {1.1, -0.7, 0.9, 1.3}, beta = {0.2, 0.1, -0.3, 0.4};
  const DVec r = Normals(12, s.size());
  for (int64_t active : {4, 2}) {
    auto loss = [&](const DVec& zz, const DVec& g, const DVec& b) {
      return Dot(r, RefBatchNormRelu(zz, s, g, b, 1e-5, active).y);
    };
    const RefBnGrads g =
        RefBatchNormReluBackward(z, s, gamma, beta, 1e-5, active, r);
    CheckDirection([&](const DVec& v) { return loss(v, gamma, beta); }, z, g.dz,
                   Normals(13, z.size()), "dz");
    CheckDirection([&](const DVec& v) { return loss(z, v, beta); }, gamma,
                   g.dgamma, Normals(14, 4), "dgamma");
    CheckDirection([&](const DVec& v) { return loss(z, gamma, v); }, beta,
                   g.dbeta, Normals(15, 4), "dbeta");
    for (int64_t c = active; c < 4; ++c) {
      EXPECT_EQ(g.dgamma[c], 0.0);
      EXPECT_EQ(g.dbeta[c], 0.0);
    }
  }
  // Statistics: biased variance over (b, h, w).
  const RefBnOutput out = RefBatchNormRelu(z, s, gamma, beta, 1e-5, 4);
  double mean = 0.0, sq = 0.0;
  for (int64_t b = 0; b < 3; ++b)
    for (int64_t j = 0; j < 6; ++j) mean += z[(b * 4 + 1) * 6 + j] / 18.0;
  for (int64_t b = 0; b < 3; ++b)
    for (int64_t j = 0; j < 6; ++j) {
      const double d = z[(b * 4 + 1) * 6 + j] - mean;
      sq += d * d / 18.0;
    }
  EXPECT_NEAR(out.mean[1], mean, 1e-12);
  EXPECT_NEAR(out.var[1], sq, 1e-12);
}

TEST(ResNetReferenceTest, MaxPoolBackwardRoutesToTheMaximum) {
  const Shape4 s{1, 1, 2, 4};
  const DVec x = {1, 5, -2, 0, 3, 2, 4, 7};
  const RefPoolOutput p = RefMaxPool(x, s, 2);
  EXPECT_EQ(p.y, (DVec{5, 7}));
  EXPECT_EQ(RefMaxPoolBackward({10, 20}, p.argmax, 8),
            (DVec{0, 10, 0, 0, 0, 0, 0, 20}));
}

// The whole network: every parameter tensor along a random direction, with
// and without masks, training mode.
TEST(ResNetReferenceTest, NetworkGradientMatchesFiniteDifferences) {
  ResNetConfig config;
  config.widths = {2, 3, 2, 4};
  config.image_size = 16;
  config.batch_size = 3;
  const std::vector<float> pf = RandomResNetParams(config, 21);
  const DVec params(pf.begin(), pf.end());
  const std::vector<float> xf = RandomResNetInputs(config, 22);
  const DVec images(xf.begin(), xf.end());
  const std::vector<int32_t> labels = ResNetLabels(config);
  for (const std::vector<int32_t>& active :
       {std::vector<int32_t>{}, std::vector<int32_t>{1, 2, 2, 3, 1, 2, 1, 3}}) {
    SCOPED_TRACE(active.empty() ? "no masks" : "masks");
    auto loss = [&](const DVec& p) {
      return ReferenceResNet(config, p, images, labels, active,
                             ReferenceMode::kTrain, false)
          .loss;
    };
    const ReferenceOutput out = ReferenceResNet(
        config, params, images, labels, active, ReferenceMode::kTrain, true);
    ASSERT_EQ(out.grads.size(), params.size());
    for (int blk = 0; blk < kResNetParamBlocks; ++blk) {
      const int64_t off = config.particle_block_offset(blk);
      const int64_t size = config.particle_block_size(blk);
      DVec u(params.size(), 0.0);
      const DVec d = Normals(30 + blk, size, 0.1);
      std::copy(d.begin(), d.end(), u.begin() + off);
      CheckDirection(loss, params, out.grads, u,
                     absl::StrCat("block ", blk));
    }
  }
}

}  // namespace
}  // namespace es
