// batched_resnet_properties_test.cc - properties of the oneDNN batched
// ResNet (batched_resnet.h) beyond the reference sweep: its float32 gradient
// against central finite differences of its own loss, particles independent
// bit for bit, masked channels with exactly zero gradient, repeatability,
// and a status for every bad input.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "estimators/philox.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "inner/cifar/batched_resnet.h"
#include "inner/cifar/resnet_test_util.h"

namespace es {
namespace {

using ::testing::HasSubstr;

ResNetConfig Tiny(int64_t n, InputMode mode) {
  ResNetConfig config;
  config.widths = {2, 3, 2, 4};
  config.image_size = 16;
  config.num_particles = n;
  config.batch_size = 3;
  config.input_mode = mode;
  return config;
}

struct Outputs {
  std::vector<double> loss;
  std::vector<float> grads, logits, mean, var;
};

Outputs RunStep(BatchedResNet* net, const std::vector<float>& params,
            const std::vector<float>& inputs,
            const std::vector<int32_t>& labels) {
  const ResNetConfig& c = net->config();
  Outputs o;
  o.loss.resize(c.num_particles);
  o.grads.resize(c.num_params());
  const absl::Status s = net->ForwardBackward(
      params, inputs, labels, absl::MakeSpan(o.loss), absl::MakeSpan(o.grads));
  EXPECT_TRUE(s.ok()) << s;
  o.logits.assign(net->logits().begin(), net->logits().end());
  o.mean.assign(net->batch_mean().begin(), net->batch_mean().end());
  o.var.assign(net->batch_variance().begin(), net->batch_variance().end());
  return o;
}

// Central differences of the float32 kernel's loss along random directions,
// one direction per tensor (W_l, gamma_l, beta_l, W_fc) per particle, both
// input modes (100 checks), against the kernel's gradient:
//   fd = (L(p + h u) - L(p - h u)) / 2h   vs   g . u,
// u ~ N(0, 1) per coordinate scaled to the tensor's typical magnitude (0.3
// for gamma, whose entries are about 1; 0.1 for the rest).
//
// Step and tolerance for float32. The loss is computed in float32 (summed in
// double only at the end), so it carries rounding noise of order 1e-7 to
// 1e-6; the central difference's rounding error is that over h, its
// truncation error ~h^2 |L'''|. But the loss is only piecewise smooth: every
// ReLU and max-pool decision is a kink, a tiny network has thousands of
// them, and float32 cannot use the h ~ 1e-6 that steps between kinks (the
// double reference does: resnet_reference_test.cc checks its gradient with
// h = 1e-6 to 1e-6 relative, and batched_resnet_test.cc checks this kernel
// against that reference to 5e-5). Measured relative errors |fd - g.u| /
// (|g.u| + 1e-3) over these 100 checks:
//   h        median   90th pct   max
//   1e-2     5.5e-4   0.16       1.6
//   3e-3     9.9e-4   1.4e-2     1.3
//   1e-3     1.5e-3   1.4e-2     0.15
//   3e-4     4.2e-3   2.5e-2     0.11   (rounding noise takes over)
// So h = 1e-3, and the test asks for the median below 5e-3 and the 90th
// percentile below 5e-2 (about 3x and 4x the measured values): a robust
// statistic, because kink crossings are rare, random and of either sign,
// while a wrong gradient shifts most checks (checked by mutation: scaling
// the softmax part of d loss / d logits by 1.1 moves the median to 4.6e-2
// and the 90th percentile to 0.15).
TEST(BatchedResNetGradientTest, MatchesCentralFiniteDifferences) {
  std::vector<double> errors;
  std::string worst;
  double worst_error = 0.0;
  for (InputMode mode : {InputMode::kShared, InputMode::kPerParticle}) {
    const ResNetConfig config = Tiny(2, mode);
    SCOPED_TRACE(config.DebugString());
    auto net = BatchedResNet::Create(config);
    ASSERT_TRUE(net.ok()) << net.status();
    std::vector<float> params = RandomResNetParams(config, 21);
    const std::vector<float> inputs = RandomResNetInputs(config, 22);
    const std::vector<int32_t> labels = ResNetLabels(config);
    const Outputs base = RunStep(net->get(), params, inputs, labels);
    const double h = 1e-3;
    std::vector<double> loss(config.num_particles);
    auto loss_at = [&](const std::vector<float>& p, int64_t i) {
      EXPECT_TRUE((*net)->Forward(p, inputs, labels, absl::MakeSpan(loss)).ok());
      return loss[i];
    };
    struct Tensor {
      std::string name;
      int64_t offset, size;  // per particle
      double scale;
    };
    std::vector<Tensor> tensors;
    for (int l = 0; l < kResNetConvLayers; ++l) {
      tensors.push_back({absl::StrCat("W", l), config.conv_weight_offset(l),
                         config.conv_weight_size_per_particle(l), 0.1});
      tensors.push_back({absl::StrCat("gamma", l), config.bn_scale_offset(l),
                         config.conv_out(l), 0.3});
      tensors.push_back({absl::StrCat("beta", l), config.bn_shift_offset(l),
                         config.conv_out(l), 0.1});
    }
    tensors.push_back({"Wfc", config.fc_offset(),
                       config.fc_weight_size_per_particle(), 0.1});
    const RandomKey key{23, Stream::kUser};
    for (int64_t i = 0; i < config.num_particles; ++i) {
      for (size_t t = 0; t < tensors.size(); ++t) {
        const Tensor& T = tensors[t];
        const int64_t start = T.offset + i * T.size;
        std::vector<double> u(T.size);
        StandardNormals(key, i, static_cast<uint32_t>(t),
                        static_cast<int>(T.size), u.data());
        double gu = 0.0;
        for (int64_t j = 0; j < T.size; ++j) {
          u[j] *= T.scale;
          gu += base.grads[start + j] * u[j];
        }
        std::vector<float> plus = params, minus = params;
        for (int64_t j = 0; j < T.size; ++j) {
          plus[start + j] += static_cast<float>(h * u[j]);
          minus[start + j] -= static_cast<float>(h * u[j]);
        }
        const double fd = (loss_at(plus, i) - loss_at(minus, i)) / (2 * h);
        const double e = std::abs(fd - gu) / (std::abs(gu) + 1e-3);
        errors.push_back(e);
        if (e > worst_error) {
          worst_error = e;
          worst = absl::StrCat(config.DebugString(), " particle ", i, " ",
                               T.name, ": fd ", fd, " gradient ", gu);
        }
      }
    }
  }
  ASSERT_EQ(errors.size(), 100u);
  std::sort(errors.begin(), errors.end());
  EXPECT_LE(errors[errors.size() / 2], 5e-3) << "median; worst: " << worst;
  EXPECT_LE(errors[errors.size() * 9 / 10], 5e-2)
      << "90th percentile; worst: " << worst;
}

// Changing particle 1's weights (and, with per-particle inputs, its images
// and labels) leaves particles 0 and 2 bit-identical: no shared reduction,
// no cross-talk through groups, batch norm or the final matmul.
TEST(BatchedResNetIndependenceTest, OtherParticlesAreBitIdentical) {
  for (InputMode mode : {InputMode::kShared, InputMode::kPerParticle}) {
    for (const std::array<int64_t, 4>& widths :
         {std::array<int64_t, 4>{3, 5, 7, 9},
          std::array<int64_t, 4>{16, 32, 16, 48}}) {
      ResNetConfig config = Tiny(3, mode);
      config.widths = widths;
      SCOPED_TRACE(config.DebugString());
      auto net = BatchedResNet::Create(config);
      ASSERT_TRUE(net.ok()) << net.status();
      std::vector<float> params = RandomResNetParams(config, 31);
      std::vector<float> inputs = RandomResNetInputs(config, 32);
      std::vector<int32_t> labels = ResNetLabels(config);
      const Outputs a = RunStep(net->get(), params, inputs, labels);
      std::vector<float> p1(config.params_per_particle());
      ExtractParticle(config, params, 1, absl::MakeSpan(p1));
      for (float& v : p1) v = 0.5f * v + 0.01f;
      InsertParticle(config, p1, 1, absl::MakeSpan(params));
      if (mode == InputMode::kPerParticle) {
        const int64_t D = config.image_floats();
        for (int64_t b = 0; b < config.batch_size; ++b) {
          for (int64_t k = 0; k < D; ++k) {
            inputs[(b * 3 + 1) * D + k] *= -0.7f;
          }
          labels[config.batch_size + b] = (labels[config.batch_size + b] + 1) %
                                          static_cast<int32_t>(config.num_classes);
        }
      }
      const Outputs b = RunStep(net->get(), params, inputs, labels);
      EXPECT_NE(a.loss[1], b.loss[1]);
      const int64_t BC = config.batch_size * config.num_classes;
      const int64_t P = config.params_per_particle();
      for (int64_t i : {0, 2}) {
        EXPECT_EQ(a.loss[i], b.loss[i]) << "particle " << i;
        for (int64_t j = 0; j < BC; ++j) {
          ASSERT_EQ(a.logits[i * BC + j], b.logits[i * BC + j]) << i << " " << j;
        }
        std::vector<float> ga(P), gb(P);
        ExtractParticle(config, a.grads, i, absl::MakeSpan(ga));
        ExtractParticle(config, b.grads, i, absl::MakeSpan(gb));
        int64_t mismatches = 0;
        for (int64_t j = 0; j < P; ++j) mismatches += ga[j] != gb[j];
        EXPECT_EQ(mismatches, 0) << "particle " << i << ", of " << P;
        for (int l = 0; l < kResNetConvLayers; ++l) {
          const int64_t co = config.conv_out(l);
          const int64_t off = config.stats_offset(l) + i * co;
          for (int64_t c = 0; c < co; ++c) {
            ASSERT_EQ(a.mean[off + c], b.mean[off + c]);
            ASSERT_EQ(a.var[off + c], b.var[off + c]);
          }
        }
      }
    }
  }
}

// Masked channels: gamma, beta and the outgoing conv weights of a masked
// channel get exactly 0, and so do the weights that read it (where the
// next layer's input is that conv's output alone), and the fc rows of
// channels masked in both residual branches.
TEST(BatchedResNetMaskTest, MaskedChannelsGetExactlyZeroGradient) {
  ResNetConfig config = Tiny(2, InputMode::kShared);
  config.widths = {4, 6, 5, 7};
  auto net = BatchedResNet::Create(config);
  ASSERT_TRUE(net.ok()) << net.status();
  std::vector<int32_t> active(config.active_channels_size());
  for (int64_t i = 0; i < 2; ++i) {
    for (int l = 0; l < kResNetConvLayers; ++l) {
      active[i * 8 + l] = static_cast<int32_t>(config.conv_out(l) - 1 - i);
    }
  }
  ASSERT_TRUE((*net)->SetActiveChannels(active).ok());
  const Outputs o =
      RunStep(net->get(), RandomResNetParams(config, 41),
          RandomResNetInputs(config, 42), ResNetLabels(config));
  // Which conv feeds conv l directly (through at most a pool).
  const int kFeeder[kResNetConvLayers] = {-1, 0, 1, 2, -1, 4, 5, 6};
  int64_t zeros_checked = 0;
  for (int64_t i = 0; i < 2; ++i) {
    for (int l = 0; l < kResNetConvLayers; ++l) {
      const int64_t co = config.conv_out(l), ci = config.conv_in(l);
      const int64_t k = active[i * 8 + l];
      const float* w = o.grads.data() + config.conv_weight_offset(l) +
                       i * config.conv_weight_size_per_particle(l);
      const float* gamma = o.grads.data() + config.bn_scale_offset(l) + i * co;
      const float* beta = o.grads.data() + config.bn_shift_offset(l) + i * co;
      for (int64_t c = 0; c < co; ++c) {
        const bool masked = c >= k;
        if (masked) {
          EXPECT_EQ(gamma[c], 0.0f) << "conv " << l << " channel " << c;
          EXPECT_EQ(beta[c], 0.0f) << "conv " << l << " channel " << c;
          for (int64_t j = 0; j < ci * 9; ++j) {
            ASSERT_EQ(w[c * ci * 9 + j], 0.0f) << "conv " << l << " out " << c;
          }
          zeros_checked += 2 + ci * 9;
        } else {
          EXPECT_NE(beta[c], 0.0f) << "conv " << l << " channel " << c;
        }
      }
      if (kFeeder[l] < 0) continue;
      const int64_t kin = active[i * 8 + kFeeder[l]];
      for (int64_t o_ch = 0; o_ch < co; ++o_ch) {
        for (int64_t c = kin; c < ci; ++c) {
          for (int j = 0; j < 9; ++j) {
            ASSERT_EQ(w[(o_ch * ci + c) * 9 + j], 0.0f)
                << "conv " << l << " input channel " << c;
          }
          zeros_checked += 9;
        }
      }
    }
    const int64_t kfc = std::max(active[i * 8 + 5], active[i * 8 + 7]);
    const float* fc = o.grads.data() + config.fc_offset() +
                      i * config.fc_weight_size_per_particle();
    for (int64_t c = kfc; c < config.fc_in(); ++c) {
      for (int64_t k = 0; k < config.num_classes; ++k) {
        ASSERT_EQ(fc[c * config.num_classes + k], 0.0f);
      }
    }
  }
  EXPECT_GT(zeros_checked, 500);
}

TEST(BatchedResNetTest, RepeatedCallsGiveIdenticalBits) {
  const ResNetConfig config = Tiny(3, InputMode::kShared);
  auto net = BatchedResNet::Create(config);
  ASSERT_TRUE(net.ok());
  const std::vector<float> params = RandomResNetParams(config, 51);
  const std::vector<float> inputs = RandomResNetInputs(config, 52);
  const std::vector<int32_t> labels = ResNetLabels(config);
  const Outputs a = RunStep(net->get(), params, inputs, labels);
  const Outputs b = RunStep(net->get(), params, inputs, labels);
  EXPECT_EQ(a.loss, b.loss);
  EXPECT_EQ(a.grads, b.grads);
  EXPECT_EQ(a.mean, b.mean);
}

// EstimateBytes (what memory limits are checked against before Create) is
// an upper bound of what Create allocates, and not a loose one, over odd
// and blocked widths, both input modes, both batch norms, N = 1 and 5, and
// the paper's widths at a small minibatch.
TEST(BatchedResNetTest, EstimateBytesBoundsTheAllocation) {
  struct Case {
    std::array<int64_t, 4> widths;
    int64_t n, b;
    InputMode mode;
    BatchNormImpl bn;
  };
  const std::vector<Case> cases = {
      {{3, 5, 7, 9}, 1, 3, InputMode::kShared, BatchNormImpl::kDeterministic},
      {{3, 5, 7, 9}, 5, 3, InputMode::kPerParticle,
       BatchNormImpl::kDeterministic},
      {{16, 32, 16, 48}, 5, 5, InputMode::kShared, BatchNormImpl::kOneDnn},
      {{16, 32, 16, 48}, 5, 5, InputMode::kPerParticle,
       BatchNormImpl::kDeterministic},
      {kMyrtleMed, 1, 4, InputMode::kShared, BatchNormImpl::kDeterministic},
      {kMyrtleMed, 2, 4, InputMode::kPerParticle,
       BatchNormImpl::kDeterministic},
  };
  for (const Case& k : cases) {
    ResNetConfig config;
    config.widths = k.widths;
    config.image_size = 16;
    config.num_particles = k.n;
    config.batch_size = k.b;
    config.input_mode = k.mode;
    config.batch_norm = k.bn;
    auto net = BatchedResNet::Create(config);
    ASSERT_TRUE(net.ok()) << net.status();
    const int64_t got = (*net)->allocated_bytes();
    const int64_t estimate = BatchedResNet::EstimateBytes(config);
    std::printf("%s: allocated %lld, estimate %lld (%.2f)\n",
                config.DebugString().c_str(), static_cast<long long>(got),
                static_cast<long long>(estimate),
                static_cast<double>(estimate) / got);
    EXPECT_GE(estimate, got) << config.DebugString();
    // Tiny odd widths are padded to 16 channels by the estimate (up to
    // 3x); at real widths it is within 25% (seen 1.05-1.3).
    EXPECT_LE(estimate, 4 * got) << config.DebugString();
  }
}

TEST(BatchedResNetTest, RejectsBadConfigsAndInputs) {
  ResNetConfig bad = Tiny(1, InputMode::kShared);
  bad.image_size = 12;
  EXPECT_THAT(std::string(BatchedResNet::Create(bad).status().message()),
              HasSubstr("image_size = 12"));
  bad = Tiny(1, InputMode::kShared);
  bad.widths[2] = 0;
  EXPECT_THAT(std::string(BatchedResNet::Create(bad).status().message()),
              HasSubstr("widths[2] = 0"));

  const ResNetConfig config = Tiny(2, InputMode::kShared);
  auto net = BatchedResNet::Create(config);
  ASSERT_TRUE(net.ok());
  std::vector<float> params = RandomResNetParams(config, 61);
  std::vector<float> inputs = RandomResNetInputs(config, 62);
  std::vector<int32_t> labels = ResNetLabels(config);
  std::vector<double> loss(2);
  std::vector<float> grads(config.num_params());
  auto msg = [](const absl::Status& s) { return std::string(s.message()); };

  EXPECT_EQ((*net)->Backward(params, inputs, absl::MakeSpan(grads)).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(msg((*net)->Forward(absl::MakeConstSpan(params).subspan(1),
                                  inputs, labels, absl::MakeSpan(loss))),
              HasSubstr("params has"));
  EXPECT_THAT(msg((*net)->Forward(params,
                                  absl::MakeConstSpan(inputs).subspan(3),
                                  labels, absl::MakeSpan(loss))),
              HasSubstr("inputs has"));
  labels[1] = 10;
  EXPECT_THAT(msg((*net)->Forward(params, inputs, labels,
                                  absl::MakeSpan(loss))),
              HasSubstr("labels[1] = 10"));
  labels[1] = 0;
  EXPECT_THAT(msg((*net)->Forward(params, inputs, labels,
                                  absl::MakeSpan(loss).subspan(1))),
              HasSubstr("loss has 1"));
  ASSERT_TRUE((*net)->Forward(params, inputs, labels, absl::MakeSpan(loss)).ok());
  EXPECT_THAT(msg((*net)->Backward(params, inputs,
                                   absl::MakeSpan(grads).subspan(1))),
              HasSubstr("grads has"));
  const std::vector<float> copy = params;
  EXPECT_EQ((*net)->Backward(copy, inputs, absl::MakeSpan(grads)).code(),
            absl::StatusCode::kFailedPrecondition);
  const std::vector<float> mean = RandomResNetStats(config, 63, false);
  const std::vector<float> var = RandomResNetStats(config, 64, true);
  EXPECT_THAT(msg((*net)->ForwardInference(
                  params, inputs, labels, absl::MakeConstSpan(mean).subspan(1),
                  var, absl::MakeSpan(loss))),
              HasSubstr("mean / variance / loss"));
  ASSERT_TRUE((*net)
                  ->ForwardInference(params, inputs, labels, mean, var,
                                     absl::MakeSpan(loss))
                  .ok());
  EXPECT_EQ((*net)->Backward(params, inputs, absl::MakeSpan(grads)).code(),
            absl::StatusCode::kFailedPrecondition);

  std::vector<int32_t> active(config.active_channels_size(), 1);
  EXPECT_THAT(msg((*net)->SetActiveChannels(
                  absl::MakeConstSpan(active).subspan(1))),
              HasSubstr("needs N * 8"));
  active[9] = 99;
  EXPECT_THAT(msg((*net)->SetActiveChannels(active)),
              HasSubstr("active_channels[9] (particle 1, conv 1) = 99"));
}

}  // namespace
}  // namespace es
