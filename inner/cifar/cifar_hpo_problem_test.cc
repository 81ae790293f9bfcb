// Tests of the CIFAR-10 ResNet hyperparameter problem
// (inner/cifar/cifar_hpo_problem.h) on small generated data (16x16 images
// whose class is written into them, narrow widths, B = 6), in seconds:
//   * theta decoding (Fig. 23: 2 hyperparameters; Fig. 24: 24) and config /
//     data validation;
//   * two SGD-momentum steps against the double reference
//     (resnet_reference.h): the loss, per-block learning rates and momenta,
//     channel masks, and the validation loss with zero-debiased running
//     statistics;
//   * same key => same bits; antithetic twins; sub-ranges and mixed keys /
//     step counters agree with the full lockstep batch;
//   * training lowers the loss; a huge learning rate gives non-finite
//     losses (never a crash) and ES-Single drops those pairs;
//   * the memory limit: NewStates and sub-range Unrolls past
//     max_state_bytes give ResourceExhausted naming the numbers;
//   * data read by inner/data/cifar_reader.h from generated CIFAR files.
//
// Float tolerances: the kernel is float32 and matches the reference to
// 5e-5 relative per tensor (batched_resnet_test.cc); after an SGD step with
// learning rate 0.1 and weights of order 0.3 the parameters agree to about
// 1e-6 absolute, so 2e-5 absolute (params) and 2e-4 relative (losses) are
// far above rounding and far below any real error (a wrong block's
// learning rate or a missing momentum term moves parameters by ~1e-3).
#include "inner/cifar/cifar_hpo_problem.h"

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "estimators/estimator_factory.h"
#include "estimators/philox.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "inner/cifar/resnet_reference.h"

namespace es {
namespace {

using ::testing::HasSubstr;
using Parametrization = CifarHpoConfig::Parametrization;
using Objective = CifarHpoConfig::Objective;

constexpr int64_t kSize = 16;
constexpr int64_t kFeatures = 3 * kSize * kSize;

// Learnable synthetic images: N(0, 1) noise plus a colour tint that
// identifies the class (channel c shifted by 1.5 cos(2 pi (y / 10 + c / 3))).
struct Synthetic {
  std::vector<float> images;
  std::vector<int32_t> labels;
  MlpDataView view() const { return {images, labels, kFeatures}; }
};

Synthetic MakeData(int64_t n, uint64_t seed) {
  Synthetic d;
  d.images.resize(n * kFeatures);
  d.labels.resize(n);
  const RandomKey rk{seed, Stream::kUser};
  std::vector<double> noise(kFeatures);
  for (int64_t i = 0; i < n; ++i) {
    const int32_t y = static_cast<int32_t>((i * 7 + seed) % 10);
    d.labels[i] = y;
    StandardNormals(rk, i, 0, kFeatures, noise.data());
    float* img = d.images.data() + i * kFeatures;
    for (int64_t j = 0; j < kFeatures; ++j) img[j] = static_cast<float>(noise[j]);
    for (int ch = 0; ch < 3; ++ch) {
      const float tint = static_cast<float>(
          1.5 * std::cos(2.0 * M_PI * (y / 10.0 + ch / 3.0)));
      for (int64_t j = 0; j < kSize * kSize; ++j) {
        img[ch * kSize * kSize + j] += tint;
      }
    }
  }
  return d;
}

CifarHpoConfig Tiny(Parametrization p, Objective o) {
  CifarHpoConfig c;
  c.widths = {4, 6, 6, 8};
  c.image_size = kSize;
  c.batch_size = 6;
  c.horizon = 40;
  c.parametrization = p;
  c.objective = o;
  return c;
}

struct Fixture {
  Synthetic train = MakeData(64, 1);
  Synthetic valid = MakeData(32, 2);
  std::unique_ptr<CifarHpoProblem> Make(const CifarHpoConfig& c) const {
    auto p = CifarHpoProblem::Create(c, train.view(), valid.view());
    EXPECT_TRUE(p.ok()) << p.status();
    return p.ok() ? std::move(*p) : nullptr;
  }
};

// NewStates(n), or null (and a test failure) on an error.
std::unique_ptr<ParticleStates> States(const CifarHpoProblem& p, int n) {
  auto s = p.NewStates(n);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? std::move(*s) : nullptr;
}

void ResetAll(const CifarHpoProblem& p, ParticleStates* s,
              const std::vector<uint64_t>& keys) {
  std::vector<int> idx(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) idx[i] = static_cast<int>(i);
  p.Reset(s, idx, keys);
}

RowMatrixXd Rows(const std::vector<Eigen::VectorXd>& thetas) {
  RowMatrixXd m(thetas.size(), thetas[0].size());
  for (size_t i = 0; i < thetas.size(); ++i) m.row(i) = thetas[i].transpose();
  return m;
}

// Per-block theta (Fig. 24 layout) with distinct learning rates / momenta
// per block and the given width logits.
Eigen::VectorXd PerBlockTheta(double width_logit) {
  Eigen::VectorXd th(24);
  for (int b = 0; b < 9; ++b) {
    th[b] = std::log(0.02 + 0.01 * b);
    th[9 + b] = std::log((0.5 + 0.04 * b) / (0.5 - 0.04 * b));
  }
  for (int g = 0; g < 6; ++g) th[18 + g] = width_logit;
  return th;
}

DVec ToD(const std::vector<float>& v) { return DVec(v.begin(), v.end()); }

// The reference's view of minibatch t of episode `key`.
void Minibatch(const CifarHpoProblem& p, const Synthetic& data, uint64_t key,
               int64_t t, bool validation, DVec* images,
               std::vector<int32_t>* labels) {
  const int64_t B = p.config().batch_size;
  std::vector<int64_t> idx(B);
  if (validation) {
    p.ValidationIndices(key, t, idx.data());
  } else {
    p.TrainIndices(key, t, idx.data());
  }
  images->clear();
  labels->clear();
  for (int64_t b = 0; b < B; ++b) {
    images->insert(images->end(), data.images.begin() + idx[b] * kFeatures,
                   data.images.begin() + (idx[b] + 1) * kFeatures);
    labels->push_back(data.labels[idx[b]]);
  }
}

TEST(CifarHpoConfigTest, DecodesThePapersParametrisations) {
  CifarHpoConfig f23 = CifarHpoConfig::Fig23();
  EXPECT_EQ(f23.horizon, 5000);
  EXPECT_EQ(CifarThetaDim(f23), 2);
  EXPECT_EQ(CifarThetaNames(f23), (std::vector<std::string>{"log_lr", "logit_mom"}));
  const double th23[2] = {std::log(0.05), std::log(0.9 / 0.1)};
  const CifarHyperparameters h23 = DecodeCifarTheta(f23, th23);
  for (int b = 0; b < 9; ++b) {
    EXPECT_NEAR(h23.learning_rate[b], 0.05, 1e-15);
    EXPECT_NEAR(h23.momentum[b], 0.9, 1e-15);
  }
  EXPECT_EQ(h23.active_channels[7], 256);

  CifarHpoConfig f24 = CifarHpoConfig::Fig24();
  EXPECT_EQ(f24.horizon, 2000);
  EXPECT_EQ(CifarThetaDim(f24), 24);
  const std::vector<std::string> names = CifarThetaNames(f24);
  ASSERT_EQ(names.size(), 24u);
  EXPECT_EQ(names[0], "log_lr_prep");
  EXPECT_EQ(names[8], "log_lr_fc");
  EXPECT_EQ(names[17], "logit_mom_fc");
  EXPECT_EQ(names[23], "logit_width_res3a");
  Eigen::VectorXd th = PerBlockTheta(0.0);
  th[18 + 1] = std::log(0.25 / 0.75);  // layer1 (and res1b): 25%
  th[18 + 5] = -100.0;                  // res3a: clamped at 10%
  const CifarHyperparameters h = DecodeCifarTheta(f24, th.data());
  EXPECT_NEAR(h.learning_rate[4], 0.06, 1e-12);
  EXPECT_NEAR(h.momentum[4], 0.66, 1e-12);
  EXPECT_EQ(h.active_channels[0], 16);   // 50% of 32
  EXPECT_EQ(h.active_channels[1], 16);   // 25% of 64
  EXPECT_EQ(h.active_channels[3], 16);   // tied to layer1
  EXPECT_EQ(h.active_channels[2], 32);   // res1a 50%
  EXPECT_EQ(h.active_channels[6], 26);   // round(0.1 * 256)
  EXPECT_EQ(h.active_channels[5], h.active_channels[7]);
  const Eigen::VectorXd s = SampleCifarTheta(f24, 3, 0);
  for (int b = 0; b < 9; ++b) {
    EXPECT_GT(s[b], std::log(1e-4));
    EXPECT_LT(s[b], std::log(1e-2));
  }
}

TEST(CifarHpoProblemTest, RejectsBadConfigsAndData) {
  Fixture f;
  CifarHpoConfig c = Tiny(Parametrization::kGlobal, Objective::kSumValidationLoss);
  c.bn_momentum = 1.0;
  EXPECT_THAT(std::string(CifarHpoProblem::Create(c, f.train.view(),
                                                  f.valid.view())
                              .status()
                              .message()),
              HasSubstr("bn_momentum"));
  c = Tiny(Parametrization::kGlobal, Objective::kSumValidationLoss);
  MlpDataView wrong = f.train.view();
  wrong.num_features = 3072;
  EXPECT_THAT(std::string(
                  CifarHpoProblem::Create(c, wrong, f.valid.view()).status().message()),
              HasSubstr("3 * 16 * 16 = 768"));
  Synthetic bad = MakeData(8, 5);
  bad.labels[3] = 10;
  EXPECT_THAT(std::string(
                  CifarHpoProblem::Create(c, f.train.view(), bad.view()).status().message()),
              HasSubstr("validation label 3 is 10"));
}

// Two steps of particle 0 against the double reference: per-block learning
// rates and momenta, channel masks, running statistics.
TEST(CifarHpoProblemTest, TwoStepsMatchTheReference) {
  Fixture f;
  for (Objective o : {Objective::kSumTrainLoss, Objective::kSumValidationLoss}) {
    const CifarHpoConfig c = Tiny(Parametrization::kPerBlock, o);
    SCOPED_TRACE(o == Objective::kSumTrainLoss ? "train" : "validation");
    auto p = f.Make(c);
    ASSERT_NE(p, nullptr);
    auto s = States(*p, 2);
    ResetAll(*p, s.get(), {7, 7});
    const Eigen::VectorXd th = PerBlockTheta(0.4);  // 60% of the channels
    const RowMatrixXd thetas = Rows({th, th});
    const CifarHyperparameters h = DecodeCifarTheta(c, th.data());
    const std::vector<int32_t> active(h.active_channels.begin(),
                                      h.active_channels.end());
    EXPECT_EQ(active[2], 4);  // round(0.6 * 6)
    const ResNetConfig rc = c.KernelConfig(1, InputMode::kShared);
    DVec w = ToD(p->GetParticleParams(*s, 0));
    DVec v(w.size(), 0.0);
    for (int64_t t = 0; t < 2; ++t) {
      DVec images;
      std::vector<int32_t> labels;
      Minibatch(*p, f.train, 7, t, false, &images, &labels);
      const ReferenceOutput ref = ReferenceResNet(
          rc, w, images, labels, active, ReferenceMode::kTrain, true);
      for (int b = 0; b < kResNetParamBlocks; ++b) {
        const int64_t off = rc.particle_block_offset(b);
        for (int64_t j = off; j < off + rc.particle_block_size(b); ++j) {
          v[j] = h.momentum[b] * v[j] + ref.grads[j];
          w[j] -= h.learning_rate[b] * v[j];
        }
      }
      double expect = ref.loss;
      if (o == Objective::kSumValidationLoss) {
        // After t + 1 updates of an EMA started at 0 the debiased running
        // statistics are the step-weighted batch statistics; after one
        // step they are exactly the batch statistics of step 0.
        DVec vi;
        std::vector<int32_t> vl;
        Minibatch(*p, f.valid, 7, t, true, &vi, &vl);
        const DVec rm = ToD(p->GetRunningStats(*s, 0, t, false));
        const DVec rv = ToD(p->GetRunningStats(*s, 0, t, true));
        // Running stats after this step, computed from the state before it.
        DVec mean(ref.mean.size()), var(ref.var.size());
        const double m = c.bn_momentum;
        const double before = t > 0 ? 1.0 - std::pow(m, t) : 0.0;
        const double after = 1.0 - std::pow(m, t + 1);
        for (size_t j = 0; j < mean.size(); ++j) {
          mean[j] = (m * rm[j] * before + (1 - m) * ref.mean[j]) / after;
          var[j] = (m * rv[j] * before + (1 - m) * ref.var[j]) / after;
        }
        expect = ReferenceResNet(rc, w, vi, vl, active,
                                 ReferenceMode::kInference, false, mean, var)
                     .loss;
      }
      double losses[2];
      const int64_t t0[2] = {t, t};
      ASSERT_TRUE(p->Unroll(s.get(), 0, 2, thetas, t0, 1, losses).ok());
      EXPECT_NEAR(losses[0], expect, 2e-4 * std::abs(expect)) << "step " << t;
      EXPECT_EQ(losses[0], losses[1]);
      const std::vector<float> got = p->GetParticleParams(*s, 0);
      double worst = 0.0;
      for (size_t j = 0; j < got.size(); ++j) {
        worst = std::max(worst, std::abs(got[j] - w[j]));
      }
      EXPECT_LT(worst, 2e-5) << "step " << t;
      // Masked channels keep their initial weights: gamma of prep's last
      // channel is still 1 and its beta 0.
      EXPECT_EQ(got[rc.conv_weight_size_per_particle(0) + 3], 1.0f);
      EXPECT_EQ(got[rc.conv_weight_size_per_particle(0) + 4 + 3], 0.0f);
    }
  }
}

TEST(CifarHpoProblemTest, SameKeySameBitsAndRangesAgree) {
  Fixture f;
  const CifarHpoConfig c = Tiny(Parametrization::kGlobal, Objective::kSumValidationLoss);
  auto p = f.Make(c);
  Eigen::VectorXd a(2), b(2);
  a << std::log(0.05), 1.0;
  b << std::log(0.02), 2.0;
  const RowMatrixXd thetas = Rows({a, b, a, b});
  const int64_t t0[4] = {0, 0, 0, 0};
  auto run = [&](int begin, int end, const std::vector<uint64_t>& keys,
                 const int64_t* t) {
    auto s = States(*p, 4);
    ResetAll(*p, s.get(), keys);
    std::vector<double> l(4, 0.0);
    EXPECT_TRUE(p->Unroll(s.get(), begin, end, thetas, t, 3, l.data()).ok());
    return l;
  };
  const std::vector<double> full = run(0, 4, {5, 5, 5, 5}, t0);
  EXPECT_EQ(full, run(0, 4, {5, 5, 5, 5}, t0));  // same bits
  EXPECT_EQ(full[0], full[2]);                    // identical twins
  EXPECT_NE(full[0], full[1]);
  for (double x : full) EXPECT_TRUE(std::isfinite(x));
  // A sub-range on its own workspace (a 2-particle kernel).
  const std::vector<double> sub = run(1, 3, {5, 5, 5, 5}, t0);
  EXPECT_NEAR(sub[1], full[1], 1e-5 * std::abs(full[1]));
  EXPECT_NEAR(sub[2], full[2], 1e-5 * std::abs(full[2]));
  // Mixed keys run the per-particle-input kernel; particles with key 5
  // still see the same data and weights as in the lockstep batch.
  const std::vector<double> mixed = run(0, 4, {5, 9, 5, 9}, t0);
  EXPECT_NEAR(mixed[0], full[0], 1e-5 * std::abs(full[0]));
  EXPECT_NEAR(mixed[2], full[2], 1e-5 * std::abs(full[2]));
  EXPECT_NE(mixed[1], full[1]);
  // Mixed step counters: particle 1 starting at t = 3 sees minibatches
  // 3, 4, 5.
  const int64_t shifted[4] = {0, 3, 0, 0};
  const std::vector<double> later = run(0, 4, {5, 5, 5, 5}, shifted);
  EXPECT_NEAR(later[0], full[0], 1e-5 * std::abs(full[0]));
  EXPECT_NE(later[1], full[1]);
}

TEST(CifarHpoProblemTest, TrainingLowersTheLossAndDivergenceIsContained) {
  Fixture f;
  // B = 16: with B = 6 the batch-norm noise makes 100 steps too few to
  // show a clear trend (measured: 2.2 -> 1.2 in 200 steps).
  CifarHpoConfig c = Tiny(Parametrization::kGlobal, Objective::kSumTrainLoss);
  c.batch_size = 16;
  c.horizon = 100;
  auto p = f.Make(c);
  auto s = States(*p, 2);
  ResetAll(*p, s.get(), {3, 3});
  Eigen::VectorXd good(2), huge(2);
  good << std::log(0.1), std::log(0.9 / 0.1);
  huge << 1000.0, 0.0;  // exp overflows to an infinite learning rate
  const RowMatrixXd thetas = Rows({good, huge});
  double first[2], mid[2], last[2];
  int64_t t0[2] = {0, 0};
  ASSERT_TRUE(p->Unroll(s.get(), 0, 2, thetas, t0, 20, first).ok());
  t0[0] = t0[1] = 20;
  ASSERT_TRUE(p->Unroll(s.get(), 0, 2, thetas, t0, 60, mid).ok());
  t0[0] = t0[1] = 80;
  ASSERT_TRUE(p->Unroll(s.get(), 0, 2, thetas, t0, 20, last).ok());
  // Measured: mean loss 2.12 over the first 20 steps, ~0.9 over the last.
  EXPECT_LT(last[0], 0.7 * first[0]) << first[0] << " -> " << last[0];
  EXPECT_FALSE(std::isfinite(last[1]));

  // ES-Single drops the diverging pairs and keeps theta finite.
  EstimatorSpec spec;
  spec.method = "es_single";
  spec.es.num_particles = 2;
  spec.es.sigma = 0.1;
  spec.es.truncation = 4;
  auto est = MakeEstimator(p.get(), spec);
  ASSERT_TRUE(est.ok()) << est.status();
  auto e = (*est)->Step(huge);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->dropped_pairs, 1);
  EXPECT_TRUE(e->gradient.allFinite());
  e = (*est)->Step(good);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_TRUE(e->gradient.allFinite());
  EXPECT_EQ(e->particle_steps, 8);
}

// NewStates checks its estimate against max_state_bytes before allocating;
// Unroll checks a new sub-range workspace against what is left.
TEST(CifarHpoProblemTest, MemoryLimitGivesResourceExhausted) {
  Fixture f;
  CifarHpoConfig c = Tiny(Parametrization::kGlobal, Objective::kSumValidationLoss);
  auto unlimited = f.Make(c);
  ASSERT_NE(unlimited, nullptr);
  EXPECT_GT(unlimited->max_state_bytes(), int64_t{1} << 28);  // physical
  // Far more than any machine: refused without allocating anything.
  auto huge = unlimited->NewStates(1 << 30);
  EXPECT_EQ(huge.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(huge.status().message()),
              HasSubstr("NewStates(1073741824) would need about"));

  c.max_state_bytes = static_cast<int64_t>(unlimited->EstimateStateBytes(4));
  auto p = f.Make(c);
  ASSERT_NE(p, nullptr);
  auto five = p->NewStates(5);
  EXPECT_EQ(five.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(five.status().message()),
              HasSubstr(absl::StrCat("limit of ", c.max_state_bytes)));
  auto s = States(*p, 4);
  ASSERT_NE(s, nullptr);
  ResetAll(*p, s.get(), {1, 1, 1, 1});
  RowMatrixXd thetas(4, 2);
  thetas.col(0).setConstant(std::log(0.05));
  thetas.col(1).setConstant(1.0);
  const int64_t t0[4] = {0, 0, 0, 0};
  double l[4];
  EXPECT_TRUE(p->Unroll(s.get(), 0, 4, thetas, t0, 1, l).ok());
  // [1, 3) needs a 2-particle workspace on top of the 4-particle one.
  const absl::Status sub = p->Unroll(s.get(), 1, 3, thetas, t0, 1, l);
  EXPECT_EQ(sub.code(), absl::StatusCode::kResourceExhausted) << sub;
  EXPECT_THAT(std::string(sub.message()), HasSubstr("workspace for 2"));
}

// The problem on data read from generated CIFAR-10 files (32x32).
TEST(CifarHpoProblemTest, RunsOnDataFromTheReader) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string dir = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/data");
  std::filesystem::create_directories(dir + "/cifar10");
  for (const char* name : {"data_batch_1", "data_batch_2", "data_batch_3",
                           "data_batch_4", "data_batch_5", "test_batch"}) {
    std::string bytes;
    for (int r = 0; r < 3; ++r) {
      bytes.push_back(static_cast<char>(r + name[5]) % 10);
      for (int j = 0; j < 3072; ++j) {
        bytes.push_back(static_cast<char>((j * 7 + r * 13) % 256));
      }
    }
    std::ofstream(absl::StrCat(dir, "/cifar10/", name, ".bin"),
                  std::ios::binary)
        << bytes;
  }
  CifarOptions options;
  options.records_per_file = 3;
  options.num_validation = 3;
  absl::StatusOr<CifarDataset> data = LoadCifar10(dir, options);
  ASSERT_TRUE(data.ok()) << data.status();
  CifarHpoConfig c = CifarHpoConfig::Fig24();
  c.widths = {2, 2, 2, 2};
  c.batch_size = 2;
  c.horizon = 2;
  auto p = CifarHpoProblem::Create(c, CifarView(data->train),
                                   CifarView(data->validation));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ((*p)->name(), "cifar_hpo_myrtle2-2-2-2_per_block_valid");
  const absl::StatusOr<double> loss =
      (*p)->Evaluate(SampleCifarTheta(c, 1, 0), 0, 11);
  ASSERT_TRUE(loss.ok()) << loss.status();
  EXPECT_TRUE(std::isfinite(*loss));
  EXPECT_GT(*loss, 0.0);
}

}  // namespace
}  // namespace es
