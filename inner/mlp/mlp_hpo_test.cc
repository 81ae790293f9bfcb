// Tests of the MLP hyperparameter-optimisation problem (inner/mlp/mlp_hpo.h) on
// a small synthetic data set (16 features, 4 classes, labels from a fixed
// random linear map, so the task is learnable):
//   * config and data validation name the wrong value;
//   * the SGD-with-momentum step uses the gradient of the double-precision
//     Eigen reference (inner/kernels/batched_mlp_reference.h), per block
//     learning rates and momentum as decoded from theta, and the nested-
//     dropout masks (inactive units keep their weights);
//   * training lowers the loss; the LR schedule follows Sec. 4.2's formula;
//   * same episode key => same bits; antithetic twins with identical theta
//     get identical losses; sub-ranges, mixed keys and mixed step counters
//     give the same numbers as the full lockstep batch;
//   * Evaluate / EvaluateBatch / MeasureLoss / the telescoping wrapper agree;
//   * a huge learning rate gives non-finite losses, never a crash, and the
//     ES estimators drop those pairs with theta staying finite.
//
// Float tolerances: the kernel computes in float32 with reductions of depth
// at most F = 16 + 8 + 6 (fan-ins); 1e-4 relative to the largest magnitude
// is ~800 float epsilons, far above rounding and far below any real error
// (a wrong gradient block or a missing momentum term changes values by O(1)).
#include "inner/mlp/mlp_hpo.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "estimators/estimator_factory.h"
#include "estimators/optimizer.h"
#include "estimators/philox.h"
#include "estimators/telescoping.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "inner/kernels/batched_mlp_layout.h"
#include "inner/kernels/batched_mlp_reference.h"

namespace es {
namespace {

using ::testing::HasSubstr;
using Parametrization = MlpHpoConfig::Parametrization;
using Objective = MlpHpoConfig::Objective;

constexpr int64_t kFeatures = 16;
constexpr int64_t kClasses = 4;

// A learnable synthetic set: x uniform in [0, 1)^16, y = argmax A (x - 1/2)
// for a fixed random A.
struct Synthetic {
  std::vector<float> images;
  std::vector<int32_t> labels;
  MlpDataView view() const { return {images, labels, kFeatures}; }
};

Synthetic MakeData(int64_t n, uint64_t seed) {
  const RandomKey rk{seed, Stream::kUser};
  const RandomKey ak{12345, Stream::kUser};
  Synthetic d;
  d.images.resize(n * kFeatures);
  d.labels.resize(n);
  for (int64_t i = 0; i < n; ++i) {
    double best = -1e300;
    for (int64_t f = 0; f < kFeatures; ++f) {
      d.images[i * kFeatures + f] =
          static_cast<float>(UniformOpen(rk, i, 0, static_cast<uint32_t>(f)));
    }
    for (int c = 0; c < kClasses; ++c) {
      double z = 0.0;
      for (int64_t f = 0; f < kFeatures; ++f) {
        z += (UniformOpen(ak, c, 0, static_cast<uint32_t>(f)) - 0.5) *
             (d.images[i * kFeatures + f] - 0.5);
      }
      if (z > best) {
        best = z;
        d.labels[i] = c;
      }
    }
  }
  return d;
}

const Synthetic& Train() {
  static const Synthetic* d = new Synthetic(MakeData(512, 1));
  return *d;
}
const Synthetic& Valid() {
  static const Synthetic* d = new Synthetic(MakeData(128, 2));
  return *d;
}

MlpHpoConfig TinyConfig(Parametrization p, Objective o = Objective::kSumTrainLoss) {
  MlpHpoConfig c;
  c.hidden_sizes = {8, 6};
  c.num_classes = kClasses;
  c.batch_size = 8;
  c.horizon = 40;
  c.parametrization = p;
  c.objective = o;
  c.schedule_q = 10.0;
  c.min_units = 2;
  c.measure_batch_size = 32;
  return c;
}

std::unique_ptr<MlpHpoProblem> Make(const MlpHpoConfig& c) {
  auto p = MlpHpoProblem::Create(c, Train().view(), Valid().view());
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? std::move(*p) : nullptr;
}

void ResetAll(const MlpHpoProblem& p, ParticleStates* s,
              const std::vector<uint64_t>& keys) {
  std::vector<int> particles(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) particles[i] = static_cast<int>(i);
  p.Reset(s, particles, keys);
}

RowMatrixXd Rows(const Eigen::VectorXd& theta, int n) {
  RowMatrixXd m(n, theta.size());
  for (int i = 0; i < n; ++i) m.row(i) = theta.transpose();
  return m;
}

// Reference gradient and loss of one network at `params` on training
// minibatch t of `key`.
BatchedMlpReferenceResult Reference(const MlpHpoProblem& p,
                                    const std::vector<float>& params,
                                    const std::vector<int64_t>& idx,
                                    const std::vector<int32_t>& active = {}) {
  BatchedMlpConfig c;
  c.layer_sizes = p.layer_sizes();
  c.num_particles = 1;
  c.batch_size = static_cast<int64_t>(idx.size());
  std::vector<double> pd(params.begin(), params.end());
  std::vector<double> x(idx.size() * kFeatures);
  std::vector<int32_t> y(idx.size());
  for (size_t b = 0; b < idx.size(); ++b) {
    for (int64_t f = 0; f < kFeatures; ++f) {
      x[b * kFeatures + f] = Train().images[idx[b] * kFeatures + f];
    }
    y[b] = Train().labels[idx[b]];
  }
  auto r = BatchedMlpReference(c, pd, x, y, active);
  EXPECT_TRUE(r.ok()) << r.status();
  return *r;
}

std::vector<int64_t> TrainIdx(const MlpHpoProblem& p, uint64_t key, int64_t t) {
  std::vector<int64_t> idx(p.config().batch_size);
  p.TrainIndices(key, t, idx.data());
  return idx;
}

double MaxAbs(const std::vector<double>& v) {
  double m = 0.0;
  for (double x : v) m = std::max(m, std::abs(x));
  return m;
}

// ---------------------------------------------------------------------------

TEST(MlpHpoConfigTest, RejectsBadValuesWithTheValue) {
  MlpHpoConfig c = TinyConfig(Parametrization::kGlobalLr);
  EXPECT_TRUE(c.Validate().ok());
  auto bad = [&](auto mutate, const char* text) {
    MlpHpoConfig b = c;
    mutate(&b);
    const absl::Status s = b.Validate();
    EXPECT_FALSE(s.ok()) << text;
    EXPECT_THAT(std::string(s.message()), HasSubstr(text));
  };
  bad([](MlpHpoConfig* b) { b->hidden_sizes = {}; }, "hidden_sizes");
  bad([](MlpHpoConfig* b) { b->batch_size = 0; }, "batch_size must be >= 1, got 0");
  bad([](MlpHpoConfig* b) { b->horizon = -3; }, "got -3");
  bad([](MlpHpoConfig* b) { b->fixed_momentum = 1.0; }, "fixed_momentum");
  bad([](MlpHpoConfig* b) { b->schedule_q = 0; }, "schedule_q");
  bad([](MlpHpoConfig* b) { b->measure_batch_size = 30; }, "multiple of");
  bad([](MlpHpoConfig* b) { b->num_classes = 1; }, "num_classes");
}

TEST(MlpHpoConfigTest, RejectsBadData) {
  const MlpHpoConfig c = TinyConfig(Parametrization::kGlobalLr);
  Synthetic d = MakeData(10, 3);
  d.labels[4] = 7;
  auto p = MlpHpoProblem::Create(c, d.view(), Valid().view());
  ASSERT_FALSE(p.ok());
  EXPECT_THAT(std::string(p.status().message()), HasSubstr("label 4 is 7"));
  MlpDataView wrong = Train().view();
  wrong.num_features = 15;
  EXPECT_FALSE(MlpHpoProblem::Create(c, wrong, Valid().view()).ok());
  // Validation data are only required for the validation objective.
  EXPECT_TRUE(MlpHpoProblem::Create(c, Train().view(), MlpDataView{}).ok());
  EXPECT_FALSE(MlpHpoProblem::Create(
                   TinyConfig(Parametrization::kGlobalLr,
                              Objective::kSumValidationLoss),
                   Train().view(), MlpDataView{})
                   .ok());
}

TEST(MlpHpoTest, ShapesAndNames) {
  auto lr = Make(TinyConfig(Parametrization::kLrSchedule));
  EXPECT_EQ(lr->theta_dim(), 2);
  EXPECT_EQ(lr->horizon(), 40);
  EXPECT_EQ(lr->name(), "mlp_hpo_16-8-6-4_lr_schedule_train");
  EXPECT_EQ(lr->params_per_particle(), 17 * 8 + 9 * 6 + 7 * 4);
  auto g = Make(TinyConfig(Parametrization::kGlobalLr));
  EXPECT_EQ(g->theta_dim(), 1);
  // Fig. 9: five hidden layers -> 6 weight matrices, 6 bias vectors: 24 LRs
  // and momenta + 5 widths = 29 (App. C).
  MlpHpoConfig many = TinyConfig(Parametrization::kPerBlock);
  many.hidden_sizes = {8, 8, 8, 8, 8};
  auto m = Make(many);
  EXPECT_EQ(m->theta_dim(), 29);
  const auto names = m->ThetaNames();
  ASSERT_EQ(names.size(), 29u);
  EXPECT_EQ(names[0], "log_lr_W0");
  EXPECT_EQ(names[1], "log_lr_b0");
  EXPECT_EQ(names[12], "logit_mom_W0");
  EXPECT_EQ(names[24], "logit_width_h1");
  EXPECT_EQ(names[28], "logit_width_h5");
  EXPECT_EQ(MlpHpoConfig::ManyHyperparameters().hidden_sizes.size(), 5u);
}

// alpha_t = exp(theta_0) / (1 + t / Q)^exp(theta_1) (Sec. 4.2).
TEST(MlpHpoTest, DecodesTheLrSchedule) {
  auto p = Make(TinyConfig(Parametrization::kLrSchedule));
  const Eigen::Vector2d theta(std::log(0.2), std::log(1.5));
  for (int64_t t : {0, 5, 10, 39}) {
    const MlpHyperparameters h = p->Decode(theta, t);
    const double expected = 0.2 / std::pow(1.0 + t / 10.0, 1.5);
    for (double lr : h.learning_rate) EXPECT_NEAR(lr, expected, 1e-12 * expected);
    for (double mu : h.momentum) EXPECT_EQ(mu, 0.9);
  }
}

TEST(MlpHpoTest, DecodesPerBlockHyperparameters) {
  auto p = Make(TinyConfig(Parametrization::kPerBlock));
  ASSERT_EQ(p->theta_dim(), 4 * 3 + 2);
  Eigen::VectorXd theta(14);
  for (int b = 0; b < 6; ++b) {
    theta[b] = std::log(0.01 * (b + 1));
    theta[6 + b] = b - 2.5;
  }
  theta[12] = 0.0;     // sigmoid 0.5 of 8 units -> 4
  theta[13] = -100.0;  // -> clamped to min_units = 2
  const MlpHyperparameters h = p->Decode(theta, 17);
  for (int b = 0; b < 6; ++b) {
    EXPECT_NEAR(h.learning_rate[b], 0.01 * (b + 1), 1e-15);
    EXPECT_NEAR(h.momentum[b], 1.0 / (1.0 + std::exp(-(b - 2.5))), 1e-15);
  }
  EXPECT_EQ(h.active_units, (std::vector<int32_t>{4, 2}));
  theta[12] = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(p->Decode(theta, 0).active_units[0], 8);
}

// App. C init ranges: LR in (1e-4, 1e-2), momentum in (0.01, 0.9), width
// fraction in (0.2, 0.8); different indices give different thetas.
TEST(MlpHpoTest, SamplesInitialThetaInTheAppendixRanges) {
  MlpHpoConfig many = TinyConfig(Parametrization::kPerBlock);
  many.hidden_sizes = {8, 8, 8, 8, 8};
  auto p = Make(many);
  for (uint64_t i = 0; i < 20; ++i) {
    const Eigen::VectorXd th = p->SampleInitialTheta(7, i);
    const MlpHyperparameters h = p->Decode(th, 0);
    for (double lr : h.learning_rate) {
      EXPECT_GT(lr, 1e-4);
      EXPECT_LT(lr, 1e-2);
    }
    for (double mu : h.momentum) {
      EXPECT_GT(mu, 0.01);
      EXPECT_LT(mu, 0.9);
    }
    for (int k = 0; k < 5; ++k) {
      const double f = 1.0 / (1.0 + std::exp(-th[24 + k]));
      EXPECT_GT(f, 0.2);
      EXPECT_LT(f, 0.8);
    }
  }
  EXPECT_NE(p->SampleInitialTheta(7, 0), p->SampleInitialTheta(7, 1));
  EXPECT_EQ(p->SampleInitialTheta(7, 3), p->SampleInitialTheta(7, 3));
}

// One SGD step without momentum: (w_0 - w_1) / lr is the reference gradient
// at w_0 on training minibatch 0, and the reported loss is the reference
// loss (L_t = loss of minibatch t before its update).
TEST(MlpHpoTest, StepUsesTheReferenceGradient) {
  MlpHpoConfig c = TinyConfig(Parametrization::kGlobalLr);
  c.fixed_momentum = 0.0;
  auto p = Make(c);
  auto s = *p->NewStates(3);
  const uint64_t key = MixKey(5, 0);
  ResetAll(*p, s.get(), {key, key, key});
  const std::vector<float> w0 = p->GetParticleParams(*s, 2);
  const double lr = 0.5;
  const RowMatrixXd th = Rows(Eigen::VectorXd::Constant(1, std::log(lr)), 3);
  const int64_t t0[3] = {0, 0, 0};
  double losses[3];
  EXPECT_TRUE(p->Unroll(s.get(), 0, 3, th, t0, 1, losses).ok());
  const std::vector<float> w1 = p->GetParticleParams(*s, 2);
  const auto ref = Reference(*p, w0, TrainIdx(*p, key, 0));
  const double scale = MaxAbs(ref.grads);
  ASSERT_GT(scale, 1e-3);
  for (size_t j = 0; j < w0.size(); ++j) {
    const double g = (static_cast<double>(w0[j]) - w1[j]) / lr;
    ASSERT_NEAR(g, ref.grads[j], 1e-4 * scale + 1e-6) << "param " << j;
  }
  EXPECT_NEAR(losses[2], ref.loss[0], 1e-5 * ref.loss[0]);
  EXPECT_EQ(losses[0], losses[2]);
}

// Two steps with momentum mu: w_2 = w_1 - lr (mu g_0 + g_1).
TEST(MlpHpoTest, MomentumFollowsTheHeavyBallRule) {
  MlpHpoConfig c = TinyConfig(Parametrization::kGlobalLr);
  c.fixed_momentum = 0.5;
  auto p = Make(c);
  auto s = *p->NewStates(2);
  const uint64_t key = MixKey(6, 0);
  ResetAll(*p, s.get(), {key, key});
  const double lr = 0.3;
  const RowMatrixXd th = Rows(Eigen::VectorXd::Constant(1, std::log(lr)), 2);
  const std::vector<float> w0 = p->GetParticleParams(*s, 0);
  int64_t t0[2] = {0, 0};
  double losses[2];
  EXPECT_TRUE(p->Unroll(s.get(), 0, 2, th, t0, 1, losses).ok());
  const std::vector<float> w1 = p->GetParticleParams(*s, 0);
  t0[0] = t0[1] = 1;
  EXPECT_TRUE(p->Unroll(s.get(), 0, 2, th, t0, 1, losses).ok());
  const std::vector<float> w2 = p->GetParticleParams(*s, 0);
  const auto g0 = Reference(*p, w0, TrainIdx(*p, key, 0));
  const auto g1 = Reference(*p, w1, TrainIdx(*p, key, 1));
  const double scale = std::max(MaxAbs(g0.grads), MaxAbs(g1.grads));
  for (size_t j = 0; j < w0.size(); ++j) {
    const double expected = w1[j] - lr * (0.5 * g0.grads[j] + g1.grads[j]);
    ASSERT_NEAR(w2[j], expected, 1e-4 * lr * scale + 1e-6) << "param " << j;
  }
  EXPECT_NEAR(losses[0], g1.loss[0], 1e-5 * g1.loss[0]);
}

// Per-block LRs and the nested-dropout widths of kPerBlock: each block moves
// by lr_b * g_b with g from the reference with the same active units, and
// the inactive units' incoming weights, biases and outgoing weights stay.
TEST(MlpHpoTest, PerBlockRatesAndMasks) {
  auto p = Make(TinyConfig(Parametrization::kPerBlock));
  Eigen::VectorXd theta(14);
  for (int b = 0; b < 6; ++b) {
    theta[b] = std::log(0.05 * (b + 1));
    theta[6 + b] = -40.0;  // momentum ~ 4e-18: one plain SGD step
  }
  theta[12] = std::log(0.75 / 0.25);  // sigmoid = 0.75 -> 6 of 8 units
  theta[13] = 0.0;                    // 0.5 -> 3 of 6 units
  const MlpHyperparameters h = p->Decode(theta, 0);
  ASSERT_EQ(h.active_units, (std::vector<int32_t>{6, 3}));
  auto s = *p->NewStates(2);
  const uint64_t key = MixKey(8, 1);
  ResetAll(*p, s.get(), {key, key});
  const std::vector<float> w0 = p->GetParticleParams(*s, 1);
  const RowMatrixXd th = Rows(theta, 2);
  const int64_t t0[2] = {0, 0};
  double losses[2];
  EXPECT_TRUE(p->Unroll(s.get(), 0, 2, th, t0, 1, losses).ok());
  const std::vector<float> w1 = p->GetParticleParams(*s, 1);
  const auto ref = Reference(*p, w0, TrainIdx(*p, key, 0), h.active_units);
  EXPECT_NEAR(losses[1], ref.loss[0], 1e-5 * ref.loss[0]);
  const double scale = MaxAbs(ref.grads);
  // Walk the per-particle layout [W_0 | b_0 | W_1 | b_1 | W_2 | b_2].
  const std::vector<int64_t>& d = p->layer_sizes();
  size_t j = 0;
  for (int l = 0; l < 3; ++l) {
    for (int bias = 0; bias < 2; ++bias) {
      const double lr = 0.05 * (2 * l + bias + 1);
      const int64_t rows = bias ? 1 : d[l], cols = d[l + 1];
      for (int64_t r = 0; r < rows; ++r) {
        for (int64_t col = 0; col < cols; ++col, ++j) {
          const double expected = w0[j] - lr * ref.grads[j];
          ASSERT_NEAR(w1[j], expected, 1e-4 * lr * scale + 1e-6)
              << "layer " << l << (bias ? " bias" : " weight") << " (" << r
              << ", " << col << ")";
          // Masked: unit col of hidden layer l+1 inactive, or input row r of
          // hidden layer l inactive.
          const bool dead_out = l < 2 && col >= h.active_units[l];
          const bool dead_in = !bias && l > 0 && r >= h.active_units[l - 1];
          if (dead_out || dead_in) {
            ASSERT_EQ(w1[j], w0[j]) << "masked weight moved, layer " << l;
          }
        }
      }
    }
  }
  ASSERT_EQ(j, w0.size());
}

TEST(MlpHpoTest, TrainingLowersTheLoss) {
  MlpHpoConfig c = TinyConfig(Parametrization::kGlobalLr);
  c.horizon = 400;
  auto p = Make(c);
  auto s = *p->NewStates(2);
  ResetAll(*p, s.get(), {MixKey(9, 0), MixKey(9, 0)});
  const RowMatrixXd th = Rows(Eigen::VectorXd::Constant(1, std::log(0.05)), 2);
  int64_t t0[2] = {0, 0};
  double first[2], last[2];
  EXPECT_TRUE(p->Unroll(s.get(), 0, 2, th, t0, 20, first).ok());
  t0[0] = t0[1] = 20;
  double mid[2];
  EXPECT_TRUE(p->Unroll(s.get(), 0, 2, th, t0, 360, mid).ok());
  t0[0] = t0[1] = 380;
  EXPECT_TRUE(p->Unroll(s.get(), 0, 2, th, t0, 20, last).ok());
  // Mean loss starts near log(4) = 1.386 and falls well below it.
  EXPECT_GT(first[0] / 20, 1.0);
  EXPECT_LT(last[0] / 20, 0.7 * first[0] / 20);  // measured: 1.43 -> 0.77
}

TEST(MlpHpoTest, SameKeySameBitsDifferentKeyDifferentRun) {
  auto p = Make(TinyConfig(Parametrization::kLrSchedule,
                           Objective::kSumValidationLoss));
  const Eigen::Vector2d theta(std::log(0.1), 0.0);
  auto run = [&](uint64_t key) {
    auto s = *p->NewStates(2);
    ResetAll(*p, s.get(), {key, key});
    const int64_t t0[2] = {0, 0};
    double losses[2];
    EXPECT_TRUE(p->Unroll(s.get(), 0, 2, Rows(theta, 2), t0, 10, losses).ok());
    return std::make_pair(losses[0], p->GetParticleParams(*s, 0));
  };
  const auto a = run(11), b = run(11), c = run(12);
  EXPECT_EQ(a.first, b.first);
  EXPECT_EQ(a.second, b.second);
  EXPECT_NE(a.first, c.first);
  EXPECT_NE(a.second, c.second);
}

// Particles 0, 1 (and 2, 3) are antithetic twins with identical theta: their
// losses are bit-identical; the two pairs differ.
TEST(MlpHpoTest, TwinsWithIdenticalThetaGetIdenticalLosses) {
  auto p = Make(TinyConfig(Parametrization::kPerBlock,
                           Objective::kSumValidationLoss));
  auto s = *p->NewStates(4);
  const uint64_t key = MixKey(13, 0);
  ResetAll(*p, s.get(), {key, key, key, key});
  RowMatrixXd th(4, p->theta_dim());
  th.row(0) = th.row(1) = p->SampleInitialTheta(1, 0).transpose();
  th.row(2) = th.row(3) = p->SampleInitialTheta(1, 1).transpose();
  const int64_t t0[4] = {0, 0, 0, 0};
  double losses[4];
  EXPECT_TRUE(p->Unroll(s.get(), 0, 4, th, t0, 10, losses).ok());
  EXPECT_EQ(losses[0], losses[1]);
  EXPECT_EQ(losses[2], losses[3]);
  EXPECT_NE(losses[0], losses[2]);
  EXPECT_EQ(p->GetParticleParams(*s, 0), p->GetParticleParams(*s, 1));
}

// The same particles run as one lockstep batch, as sub-ranges (power-of-two
// workspaces), and with another pair on a different key and step counter
// (per-particle minibatches) give the same losses and weights.
TEST(MlpHpoTest, SubRangesAndMixedBatchesMatchLockstep) {
  auto p = Make(TinyConfig(Parametrization::kPerBlock,
                           Objective::kSumValidationLoss));
  const int n = 6;
  RowMatrixXd th(n, p->theta_dim());
  for (int i = 0; i < n; ++i) {
    th.row(i) = p->SampleInitialTheta(2, i / 2).transpose();
    th.row(i).head(12).array() += 3.0;  // larger LRs: weights move visibly
  }
  const uint64_t key = MixKey(14, 0);
  const std::vector<uint64_t> keys(n, key);
  std::vector<int64_t> t0(n, 0);
  std::vector<double> full(n), split(n, -1.0);

  auto a = *p->NewStates(n);
  ResetAll(*p, a.get(), keys);
  EXPECT_TRUE(p->Unroll(a.get(), 0, n, th, t0.data(), 5, full.data()).ok());

  auto b = *p->NewStates(n);
  ResetAll(*p, b.get(), keys);
  EXPECT_TRUE(p->Unroll(b.get(), 0, 2, th, t0.data(), 5, split.data()).ok());
  // chunks 2 + 1
  EXPECT_TRUE(p->Unroll(b.get(), 2, 5, th, t0.data(), 5, split.data()).ok());
  EXPECT_TRUE(p->Unroll(b.get(), 5, 6, th, t0.data(), 5, split.data()).ok());
  for (int i = 0; i < n; ++i) {
    EXPECT_NEAR(split[i], full[i], 1e-6 * std::abs(full[i])) << "particle " << i;
    const auto wa = p->GetParticleParams(*a, i), wb = p->GetParticleParams(*b, i);
    for (size_t j = 0; j < wa.size(); ++j) {
      ASSERT_NEAR(wa[j], wb[j], 1e-5 * (1 + std::abs(wa[j]))) << i << " " << j;
    }
  }

  // Pair (2, 3) on another key, started 7 steps in: particles 0, 1, 4, 5
  // still see the lockstep numbers; (2, 3) matches a lockstep run of its own.
  auto c = *p->NewStates(n);
  std::vector<uint64_t> mixed = keys;
  mixed[2] = mixed[3] = MixKey(14, 1);
  ResetAll(*p, c.get(), mixed);
  std::vector<int64_t> t_mixed(n, 0);
  std::vector<double> warm(n);
  EXPECT_TRUE(p->Unroll(c.get(), 2, 4, th, t_mixed.data(), 7, warm.data()).ok());
  t_mixed[2] = t_mixed[3] = 7;
  std::vector<double> mixed_losses(n);
  EXPECT_TRUE(p->Unroll(c.get(), 0, n, th, t_mixed.data(), 5, mixed_losses.data()).ok());
  for (int i : {0, 1, 4, 5}) {
    EXPECT_NEAR(mixed_losses[i], full[i], 1e-6 * std::abs(full[i])) << i;
  }
  auto d = *p->NewStates(2);
  ResetAll(*p, d.get(), {mixed[2], mixed[2]});
  RowMatrixXd th_pair = th.middleRows(2, 2);
  std::vector<int64_t> td(2, 0);
  std::vector<double> ld(2);
  EXPECT_TRUE(p->Unroll(d.get(), 0, 2, th_pair, td.data(), 7, ld.data()).ok());
  td[0] = td[1] = 7;
  EXPECT_TRUE(p->Unroll(d.get(), 0, 2, th_pair, td.data(), 5, ld.data()).ok());
  EXPECT_NEAR(mixed_losses[2], ld[0], 1e-6 * std::abs(ld[0]));
  EXPECT_NEAR(mixed_losses[3], ld[1], 1e-6 * std::abs(ld[1]));
}

TEST(MlpHpoTest, CopyParticleCopiesWeightsMomentumAndKey) {
  auto p = Make(TinyConfig(Parametrization::kGlobalLr));
  auto s = *p->NewStates(3);
  ResetAll(*p, s.get(), {1, 1, 2});
  const RowMatrixXd th = Rows(Eigen::VectorXd::Constant(1, std::log(0.1)), 3);
  int64_t t0[3] = {0, 0, 0};
  double losses[3];
  EXPECT_TRUE(p->Unroll(s.get(), 0, 3, th, t0, 3, losses).ok());
  s->CopyParticle(0, 2);
  EXPECT_EQ(p->GetParticleParams(*s, 2), p->GetParticleParams(*s, 0));
  t0[0] = t0[1] = t0[2] = 3;
  EXPECT_TRUE(p->Unroll(s.get(), 0, 3, th, t0, 3, losses).ok());
  EXPECT_EQ(losses[2], losses[0]);  // same momentum, key and minibatches
}

// Evaluate = sum of the per-step losses of a full unroll from a fresh state;
// EvaluateBatch agrees row by row whatever the batch split, and its final
// loss is MeasureLoss of the end state.
TEST(MlpHpoTest, EvaluateAgreesWithUnrollAndMeasureLoss) {
  auto p = Make(TinyConfig(Parametrization::kLrSchedule));
  const Eigen::Vector2d theta(std::log(0.1), std::log(0.5));
  const uint64_t key = 21;
  auto s = *p->NewStates(1);
  ResetAll(*p, s.get(), {key});
  const RowMatrixXd th = theta.transpose();
  double a, b;
  int64_t t0 = 0;
  EXPECT_TRUE(p->Unroll(s.get(), 0, 1, th, &t0, 15, &a).ok());
  t0 = 15;
  EXPECT_TRUE(p->Unroll(s.get(), 0, 1, th, &t0, 25, &b).ok());
  double measured;
  ASSERT_TRUE(p->MeasureLoss(s.get(), 0, 1, th, &measured).ok());
  auto e = p->Evaluate(theta, 0, key);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_NEAR(*e, a + b, 1e-9 * std::abs(*e));

  RowMatrixXd many(5, 2);
  for (int i = 0; i < 5; ++i) many.row(i) = Eigen::RowVector2d(std::log(0.02 * (i + 1)), 0.0);
  many.row(3) = theta.transpose();
  auto all = p->EvaluateBatch(many, 0, key, 64);
  auto split = p->EvaluateBatch(many, 0, key, 2);
  ASSERT_TRUE(all.ok() && split.ok());
  for (int i = 0; i < 5; ++i) {
    EXPECT_NEAR(all->sum_loss[i], split->sum_loss[i], 1e-6 * all->sum_loss[i]);
    EXPECT_NEAR(all->final_loss[i], split->final_loss[i], 1e-6);
  }
  EXPECT_NEAR(all->sum_loss[3], *e, 1e-6 * *e);
  EXPECT_NEAR(all->final_loss[3], measured, 1e-6);
  // Length checks.
  EXPECT_FALSE(p->EvaluateBatch(many, 41, key).ok());
  EXPECT_FALSE(p->Evaluate(Eigen::VectorXd::Zero(3), 0, key).ok());
}

// MeasureLoss = reference loss on the fixed measurement set of the episode.
TEST(MlpHpoTest, MeasureLossUsesTheFixedMeasurementSet) {
  auto p = Make(TinyConfig(Parametrization::kGlobalLr));
  auto s = *p->NewStates(2);
  ResetAll(*p, s.get(), {31, 32});
  const RowMatrixXd th = Rows(Eigen::VectorXd::Constant(1, std::log(0.1)), 2);
  double losses[2];
  ASSERT_TRUE(p->MeasureLoss(s.get(), 0, 2, th, losses).ok());
  for (int i = 0; i < 2; ++i) {
    std::vector<int64_t> idx(32);
    p->MeasureIndices(31 + i, idx.data());
    const auto ref = Reference(*p, p->GetParticleParams(*s, i), idx);
    EXPECT_NEAR(losses[i], ref.loss[0], 1e-5 * ref.loss[0]) << i;
  }
  EXPECT_FALSE(p->MeasureLoss(s.get(), 0, 3, th, losses).ok());
}

// Telescoping (eq. 6): the per-unroll differences sum to the final
// measurement loss L_T.
TEST(MlpHpoTest, TelescopingTargetsTheFinalLoss) {
  auto p = Make(TinyConfig(Parametrization::kLrSchedule));
  TelescopingProblem tele(p.get());
  const Eigen::Vector2d theta(std::log(0.1), 0.0);
  auto sum = tele.Evaluate(theta, 0, 5);
  auto direct = p->EvaluateBatch(RowMatrixXd(theta.transpose()), 0, 5);
  ASSERT_TRUE(sum.ok() && direct.ok());
  EXPECT_NEAR(*sum, direct->final_loss[0], 1e-9);
  // And unroll by unroll with an estimator-style loop.
  auto s = *tele.NewStates(2);
  const std::vector<int> ps = {0, 1};
  const std::vector<uint64_t> ks = {5, 5};
  tele.Reset(s.get(), ps, ks);
  double total = 0.0;
  for (int64_t t = 0; t < 40; t += 10) {
    const int64_t t0[2] = {t, t};
    double l[2];
    EXPECT_TRUE(tele.Unroll(s.get(), 0, 2, Rows(theta, 2), t0, 10, l).ok());
    EXPECT_EQ(l[0], l[1]);
    total += l[0];
  }
  EXPECT_NEAR(total, direct->final_loss[0], 1e-6);
}

// A huge learning rate: non-finite losses, no crash; ES-Single drops every
// pair and the outer step leaves theta finite.
TEST(MlpHpoTest, DivergenceGivesNonFiniteLossesAndDroppedPairs) {
  MlpHpoConfig c = TinyConfig(Parametrization::kGlobalLr);
  auto p = Make(c);
  auto s = *p->NewStates(2);
  ResetAll(*p, s.get(), {3, 3});
  RowMatrixXd th(2, 1);
  th << std::log(1e30), std::log(0.05);
  const int64_t t0[2] = {0, 0};
  double losses[2];
  EXPECT_TRUE(p->Unroll(s.get(), 0, 2, th, t0, 10, losses).ok());
  EXPECT_FALSE(std::isfinite(losses[0]));
  EXPECT_TRUE(std::isfinite(losses[1]));
  double measured[2];
  ASSERT_TRUE(p->MeasureLoss(s.get(), 0, 2, th, measured).ok());
  EXPECT_FALSE(std::isfinite(measured[0]));
  // Infinite learning rate from an overflowing exp.
  th(0, 0) = 1000.0;
  ResetAll(*p, s.get(), {3, 3});
  EXPECT_TRUE(p->Unroll(s.get(), 0, 2, th, t0, 3, losses).ok());
  EXPECT_FALSE(std::isfinite(losses[0]));

  for (const char* method : {"es_single", "pes"}) {
    EstimatorSpec spec;
    spec.method = method;
    spec.es.num_particles = 4;
    spec.es.sigma = 0.1;
    spec.es.truncation = 10;
    auto est = MakeEstimator(p.get(), spec);
    ASSERT_TRUE(est.ok()) << est.status();
    auto opt = MakeOptimizer(OptimizerOptions{}, 1);
    ASSERT_TRUE(opt.ok());
    Eigen::VectorXd theta = Eigen::VectorXd::Constant(1, std::log(1e30));
    auto e = (*est)->Step(theta);
    ASSERT_TRUE(e.ok()) << e.status();
    EXPECT_EQ(e->dropped_pairs, 2) << method;
    EXPECT_TRUE(e->gradient.allFinite());
    ASSERT_TRUE((*opt)->Update(e->gradient, &theta).ok());
    EXPECT_TRUE(theta.allFinite());
  }
}

// ES-Single on the LR-schedule problem lowers the meta-loss from a too-small
// learning rate (a smoke test of the whole stack; seeds fixed).
TEST(MlpHpoTest, EsSingleImprovesATooSmallLearningRate) {
  MlpHpoConfig c = TinyConfig(Parametrization::kGlobalLr);
  c.horizon = 20;
  auto p = Make(c);
  EstimatorSpec spec;
  spec.method = "es_single";
  spec.es.num_particles = 8;
  spec.es.sigma = 0.3;
  spec.es.truncation = 5;
  auto est = MakeEstimator(p.get(), spec);
  ASSERT_TRUE(est.ok());
  OptimizerOptions oo;
  oo.learning_rate = 0.1;
  auto opt = MakeOptimizer(oo, 1);
  Eigen::VectorXd theta = Eigen::VectorXd::Constant(1, std::log(1e-3));
  const double before = *p->Evaluate(theta, 0, 99);
  for (int it = 0; it < 60; ++it) {
    auto e = (*est)->Step(theta);
    ASSERT_TRUE(e.ok());
    ASSERT_TRUE((*opt)->Update(e->gradient, &theta).ok());
  }
  const double after = *p->Evaluate(theta, 0, 99);
  EXPECT_GT(theta[0], std::log(1e-3) + 1.0);
  EXPECT_LT(after, before);
}

}  // namespace
}  // namespace es
