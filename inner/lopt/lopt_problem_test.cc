// Tests of the learned-optimiser inner problem (lopt_problem.h), mostly on a
// small synthetic data set (16 features, 4 classes, labels from a fixed
// random linear map) so that each runs in milliseconds:
//   * config and data validation name the wrong value; shapes and names;
//     NewStates/Unroll errors are Statuses; checkpoints name their network
//     and a truncated one changes nothing;
//   * one Unroll step equals the double reference: the gradient of
//     inner/kernels/batched_mlp_reference.h fed to the LOLv2 step of
//     lopt_reference.h (momenta and weights);
//   * theta = 0 leaves the weights unchanged (d = 0);
//   * a hand-set optimiser implementing normalised SGD lowers the inner loss
//     (synthetic data, and FashionMNIST when available);
//   * sub-ranges leave other particles untouched and equal the same
//     particles unrolled alone (breakstep: mixed keys and step counters);
//   * same key same bits, different key different run; 1 vs 2 OpenMP threads
//     same bits; a huge step gives non-finite losses, never a crash;
//   * ES-Single runs on the problem and returns a finite gradient.
//
// Tolerance of the reference test: a parameter moves by ~1e-3 per step; the
// float kernel's gradient and MLP carry relative errors ~1e-6, so the float
// step must match the double one to 1e-4 of the largest step (plus the
// float rounding of the parameter itself, 2 u |p|).
#include "inner/lopt/lopt_problem.h"

#include <omp.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "estimators/estimator_factory.h"
#include "estimators/philox.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "inner/data/datasets.h"
#include "inner/kernels/batched_mlp_layout.h"
#include "inner/kernels/batched_mlp_reference.h"
#include "inner/lopt/features.h"
#include "inner/lopt/lopt_reference.h"

namespace es {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kFeatures = 16;
constexpr int64_t kClasses = 4;

struct Synthetic {
  std::vector<float> images;
  std::vector<int32_t> labels;
  MlpDataView view() const { return {images, labels, kFeatures}; }
};

// x uniform in [0, 1)^16, y = argmax A (x - 1/2) for a fixed random A.
Synthetic MakeData(int64_t n, uint64_t seed) {
  const RandomKey rk{seed, Stream::kUser};
  const RandomKey ak{12345, Stream::kUser};
  Synthetic d;
  d.images.resize(n * kFeatures);
  d.labels.resize(n);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t f = 0; f < kFeatures; ++f) {
      d.images[i * kFeatures + f] =
          static_cast<float>(UniformOpen(rk, i, 0, static_cast<uint32_t>(f)));
    }
    double best = -1e300;
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

LoptProblemConfig TinyConfig() {
  LoptProblemConfig c;
  c.hidden_sizes = {8};
  c.num_classes = kClasses;
  c.batch_size = 16;
  c.horizon = 200;
  c.rows_per_chunk = 48;  // 16*8+8 + 8*4+4 = 172 rows: 4 chunks, last partial
  return c;
}

std::unique_ptr<LoptProblem> Make(const LoptProblemConfig& c,
                                  MlpDataView data = Train().view()) {
  auto p = LoptProblem::Create(c, data);
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? std::move(*p) : nullptr;
}

std::unique_ptr<ParticleStates> States(const LoptProblem& p, int n) {
  auto s = p.NewStates(n);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *std::move(s) : nullptr;
}

void ResetAll(const LoptProblem& p, ParticleStates* s,
              const std::vector<uint64_t>& keys) {
  std::vector<int> idx(keys.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = static_cast<int>(i);
  p.Reset(s, idx, keys);
}

RowMatrixXd Rows(const Eigen::VectorXd& theta, int n) {
  RowMatrixXd m(n, theta.size());
  for (int i = 0; i < n; ++i) m.row(i) = theta.transpose();
  return m;
}

// A hand-set LOLv2 that outputs d = c * (normalised gradient), m = 0:
// h1 = (relu(x_g), relu(-x_g)), h2 = h1, d = c (h2_0 - h2_1) = c x_g.
// The step is then c * 1e-3 * g / rms_tensor(g): normalised SGD.
Eigen::VectorXd SgdTheta(const LoptMlpConfig& c, double scale) {
  Eigen::VectorXd theta = Eigen::VectorXd::Zero(c.theta_dim());
  const std::vector<int64_t> d = c.layer_sizes();         // 19, 32, 32, 2
  theta[c.theta_weight_offset(0) + 0 * d[1] + 0] = 1.0;   // feature g -> 0
  theta[c.theta_weight_offset(0) + 0 * d[1] + 1] = -1.0;  // feature g -> 1
  theta[c.theta_weight_offset(1) + 0 * d[2] + 0] = 1.0;
  theta[c.theta_weight_offset(1) + 1 * d[2] + 1] = 1.0;
  theta[c.theta_weight_offset(2) + 0 * d[3] + 0] = scale;
  theta[c.theta_weight_offset(2) + 1 * d[3] + 0] = -scale;
  return theta;
}

TEST(LoptProblemTest, BadConfigsAndDataNameTheValue) {
  auto error = [](LoptProblemConfig c, MlpDataView v = Train().view()) {
    return std::string(LoptProblem::Create(c, v).status().message());
  };
  LoptProblemConfig c = TinyConfig();
  c.hidden_sizes = {8, 0};
  EXPECT_THAT(error(c), HasSubstr("[1, 65536], got 8,0"));
  c = TinyConfig();
  c.batch_size = 0;
  EXPECT_THAT(error(c), HasSubstr("batch_size must be >= 1, got 0"));
  c = TinyConfig();
  c.horizon = -5;
  EXPECT_THAT(error(c), HasSubstr("horizon T must be >= 1, got -5"));
  c = TinyConfig();
  c.num_classes = 1;
  EXPECT_THAT(error(c), HasSubstr("num_classes must be >= 2, got 1"));
  c = TinyConfig();
  c.rows_per_chunk = 0;
  EXPECT_THAT(error(c),
              HasSubstr("rows_per_chunk must be in [1, 2^20], got 0"));
  c = TinyConfig();
  c.lopt_hidden_sizes = {};
  EXPECT_THAT(error(c), HasSubstr("lopt_hidden_sizes"));
  Synthetic bad = MakeData(10, 3);
  bad.labels[7] = 9;
  EXPECT_THAT(error(TinyConfig(), bad.view()),
              HasSubstr("training label 7 is 9; labels must be in [0, 4)"));
  bad.images.pop_back();
  EXPECT_THAT(error(TinyConfig(), bad.view()), HasSubstr("159 image floats"));
}

TEST(LoptProblemTest, ShapesAndNames) {
  auto p = Make(TinyConfig());
  EXPECT_EQ(p->theta_dim(), 1762);
  EXPECT_EQ(p->horizon(), 200);
  EXPECT_EQ(p->params_per_particle(), 16 * 8 + 8 + 8 * 4 + 4);
  EXPECT_EQ(p->name(), "lopt_16-8-4_B16_T200");
  EXPECT_EQ(p->SampleInitialTheta(3, 1).size(), 1762);
  LoptProblemConfig paper;
  EXPECT_EQ(paper.hidden_sizes, (std::vector<int64_t>{128, 128}));
  EXPECT_EQ(paper.batch_size, 128);
  EXPECT_EQ(paper.horizon, 5000);
  auto s = States(*p, 3);
  EXPECT_EQ(s->num_particles(), 3);
}

TEST(LoptProblemTest, NewStatesAndUnrollErrorsAreStatuses) {
  auto p = Make(TinyConfig());
  EXPECT_THAT(std::string(p->NewStates(0).status().message()),
              HasSubstr("at least one particle, got 0"));
  // Far more particles than the kernels allow: an error before anything
  // large is allocated, not an abort.
  EXPECT_THAT(std::string(p->NewStates(1 << 30).status().message()),
              HasSubstr("num_particles = 1073741824"));
  auto s = States(*p, 2);
  ResetAll(*p, s.get(), {1, 1});
  const int64_t t0[3] = {0, 0, 0};
  double losses[3];
  const RowMatrixXd three = Rows(Eigen::VectorXd::Zero(1762), 3);
  EXPECT_THAT(
      std::string(p->Unroll(s.get(), 0, 3, three, t0, 1, losses).message()),
      HasSubstr("particle range [0, 3)"));
  const RowMatrixXd narrow = Rows(Eigen::VectorXd::Zero(5), 2);
  EXPECT_THAT(
      std::string(p->Unroll(s.get(), 0, 2, narrow, t0, 1, losses).message()),
      HasSubstr("P = 1762"));
}

// A checkpoint restores only into states of the same inner network, and a
// truncated one is rejected before any particle changes.
TEST(LoptProblemTest, CheckpointsNameTheirNetwork) {
  auto p = Make(TinyConfig());
  auto s = States(*p, 2);
  ResetAll(*p, s.get(), {1, 2});
  StateWriter w;
  ASSERT_TRUE(s->Save(&w).ok());
  const std::string bytes = w.Take();

  LoptProblemConfig other = TinyConfig();
  other.hidden_sizes = {9};
  auto q = Make(other);
  auto t = States(*q, 2);
  StateReader r(bytes);
  EXPECT_THAT(std::string(t->Load(&r).message()),
              HasSubstr("lopt_problem 16-9-4"));

  auto u = States(*p, 2);
  ResetAll(*p, u.get(), {5, 6});
  const std::vector<float> before = p->GetParticleParams(*u, 1);
  StateReader cut(absl::string_view(bytes).substr(0, bytes.size() - 4));
  EXPECT_THAT(std::string(u->Load(&cut).message()), HasSubstr("truncated"));
  EXPECT_EQ(p->GetParticleParams(*u, 1), before);
  StateReader whole(bytes);
  ASSERT_TRUE(u->Load(&whole).ok());
  EXPECT_TRUE(whole.Finish().ok());
  EXPECT_EQ(p->GetParticleParams(*u, 1), p->GetParticleParams(*s, 1));
  EXPECT_EQ(p->GetParticleMomentum(*u, 0, 5), p->GetParticleMomentum(*s, 0, 5));
}

// One step from a fresh state against batched_mlp_reference + the LOLv2
// reference step, at a step counter t0 = 37 (time features nontrivial).
TEST(LoptProblemTest, OneStepMatchesTheDoubleReference) {
  auto p = Make(TinyConfig());
  const uint64_t key = MixKey(5, 1);
  auto s = States(*p, 1);
  ResetAll(*p, s.get(), {key});
  const std::vector<float> w0 = p->GetParticleParams(*s, 0);
  Eigen::VectorXd theta = 3.0 * p->SampleInitialTheta(9, 0);
  const int64_t t0 = 37;
  double loss = 0;
  ASSERT_TRUE(p->Unroll(s.get(), 0, 1, Rows(theta, 1), &t0, 1, &loss).ok());
  const std::vector<float> w1 = p->GetParticleParams(*s, 0);

  // Reference gradient on minibatch t0 of `key`.
  BatchedMlpConfig kc;
  kc.layer_sizes = p->layer_sizes();
  kc.batch_size = 16;
  std::vector<int64_t> idx(16);
  p->TrainIndices(key, t0, idx.data());
  std::vector<double> inputs, params(w0.begin(), w0.end());
  std::vector<int32_t> labels;
  for (int64_t e : idx) {
    for (int64_t f = 0; f < kFeatures; ++f) {
      inputs.push_back(Train().images[e * kFeatures + f]);
    }
    labels.push_back(Train().labels[e]);
  }
  auto ref = BatchedMlpReference(kc, params, inputs, labels, {});
  ASSERT_TRUE(ref.ok()) << ref.status();
  EXPECT_NEAR(loss, ref->loss[0], 1e-5 * ref->loss[0]);

  // Reference optimiser step, tensor by tensor ([W_0 | b_0 | W_1 | b_1]).
  std::vector<LoptReferenceTensor> tensors;
  int64_t at = 0;
  for (int l = 0; l < kc.num_layers(); ++l) {
    for (int64_t size :
         {kc.weight_size_per_particle(l), kc.bias_size_per_particle(l)}) {
      LoptReferenceTensor t;
      t.param = Eigen::VectorXd(size);
      t.grad = Eigen::VectorXd(size);
      for (int64_t j = 0; j < size; ++j) {
        t.param[j] = w0[at + j];
        t.grad[j] = ref->grads[at + j];
      }
      for (auto& m : t.momenta) m = Eigen::VectorXd::Zero(size);
      tensors.push_back(t);
      at += size;
    }
  }
  LoptReferenceStep(p->lopt_config(), theta, t0, &tensors);
  std::vector<double> want_params, want_m3;
  for (const auto& t : tensors) {
    want_params.insert(want_params.end(), t.param.data(),
                       t.param.data() + t.param.size());
    want_m3.insert(want_m3.end(), t.momenta[3].data(),
                   t.momenta[3].data() + t.momenta[3].size());
  }
  double max_step = 0;
  for (size_t j = 0; j < w0.size(); ++j) {
    max_step = std::max(max_step, std::abs(want_params[j] - w0[j]));
  }
  ASSERT_GT(max_step, 1e-5);  // the optimiser really moved the weights
  const double u = std::numeric_limits<float>::epsilon() / 2;
  const std::vector<float> m3 = p->GetParticleMomentum(*s, 0, 3);
  double max_m3 = 0;
  for (double v : want_m3) max_m3 = std::max(max_m3, std::abs(v));
  for (size_t j = 0; j < w0.size(); ++j) {
    ASSERT_NEAR(w1[j], want_params[j],
                1e-4 * max_step + 2 * u * std::abs(w0[j]))
        << "parameter " << j;
    ASSERT_NEAR(m3[j], want_m3[j], 1e-5 * max_m3) << "momentum 3 entry " << j;
  }
}

TEST(LoptProblemTest, ZeroThetaLeavesTheWeights) {
  auto p = Make(TinyConfig());
  auto s = States(*p, 2);
  ResetAll(*p, s.get(), {4, 4});
  const std::vector<float> w0 = p->GetParticleParams(*s, 1);
  const int64_t t0[2] = {0, 0};
  double losses[2];
  ASSERT_TRUE(p->Unroll(s.get(), 0, 2, Rows(Eigen::VectorXd::Zero(1762), 2), t0,
                        5, losses)
                  .ok());
  EXPECT_EQ(p->GetParticleParams(*s, 1), w0);
  EXPECT_EQ(losses[0], losses[1]);
  EXPECT_GT(p->GetParticleMomentum(*s, 1, 0)[0] != 0.0f, 0);
}

double MeanLoss(const LoptProblem& p, const Eigen::VectorXd& theta,
                int64_t from, int64_t steps, ParticleStates* s) {
  double loss = 0;
  const absl::Status st =
      p.Unroll(s, 0, 1, Rows(theta, 1), &from, static_cast<int>(steps), &loss);
  EXPECT_TRUE(st.ok()) << st;
  return loss / static_cast<double>(steps);
}

TEST(LoptProblemTest, HandSetSgdOptimiserLowersTheLoss) {
  auto p = Make(TinyConfig());
  auto s = States(*p, 1);
  ResetAll(*p, s.get(), {17});
  const Eigen::VectorXd sgd = SgdTheta(p->lopt_config(), 30.0);
  const double first = MeanLoss(*p, sgd, 0, 10, s.get());
  MeanLoss(*p, sgd, 10, 170, s.get());
  const double last = MeanLoss(*p, sgd, 180, 20, s.get());
  EXPECT_LT(last, 0.7 * first)
      << "first 10 steps " << first << ", last 20 steps " << last;
  // Evaluate is the sum of the per-step losses of a fresh run.
  auto e = p->Evaluate(sgd, 0, 17);
  ASSERT_TRUE(e.ok());
  EXPECT_TRUE(std::isfinite(*e));
  EXPECT_LT(*e / 200.0, first);
}

TEST(LoptProblemTest, FashionMnistWithTheHandSetOptimiser) {
  absl::StatusOr<Dataset> data = LoadFashionMnist();
  if (!data.ok()) {
    const char* ci = std::getenv("ES_CI");
    if (ci != nullptr && std::string(ci) == "1") {
      FAIL() << "ES_CI=1 and FashionMNIST is missing: " << data.status();
    }
    GTEST_SKIP() << "FashionMNIST not found (" << data.status()
                 << "); install dataset-fashion-mnist (tools/setup.sh)";
  }
  LoptProblemConfig c;
  c.hidden_sizes = {16};
  c.batch_size = 32;
  c.horizon = 60;
  const MlpDataView view{data->train.images, data->train.labels, 784};
  auto p = Make(c, view);
  auto s = States(*p, 1);
  ResetAll(*p, s.get(), {3});
  const Eigen::VectorXd sgd = SgdTheta(p->lopt_config(), 30.0);
  const double first = MeanLoss(*p, sgd, 0, 10, s.get());
  MeanLoss(*p, sgd, 10, 30, s.get());
  const double last = MeanLoss(*p, sgd, 40, 20, s.get());
  EXPECT_LT(last, 0.8 * first) << first << " -> " << last;
}

// Five particles, pairs on different keys and step counters (breakstep).
struct RunResult {
  std::vector<double> losses;
  std::vector<std::vector<float>> params;
};

const std::vector<uint64_t> kKeys = {10, 10, 11, 11, 12};
const std::vector<int64_t> kT0 = {0, 0, 30, 30, 7};

RowMatrixXd Thetas(const LoptProblem& p, int n) {
  RowMatrixXd th(n, p.theta_dim());
  for (int i = 0; i < n; ++i) {
    th.row(i) = 2.0 * p.SampleInitialTheta(6, i / 2).transpose();
  }
  return th;
}

RunResult RunRange(const LoptProblem& p, int begin, int end, int steps = 4) {
  auto s = States(p, 5);
  ResetAll(p, s.get(), kKeys);
  RunResult r;
  r.losses.assign(5, -1.0);
  const absl::Status st = p.Unroll(s.get(), begin, end, Thetas(p, 5),
                                   kT0.data(), steps, r.losses.data());
  EXPECT_TRUE(st.ok()) << st;
  for (int i = 0; i < 5; ++i) r.params.push_back(p.GetParticleParams(*s, i));
  return r;
}

TEST(LoptProblemTest, SubRangesLeaveOthersAndMatchTheFullBatch) {
  auto p = Make(TinyConfig());
  const RunResult full = RunRange(*p, 0, 5);
  const RunResult fresh = RunRange(*p, 0, 0);  // no steps: the initial weights
  const RunResult sub = RunRange(*p, 1, 4);    // chunks of 2 and 1 particles
  for (int i : {0, 4}) {
    EXPECT_EQ(sub.losses[i], -1.0) << i;
    EXPECT_EQ(sub.params[i], fresh.params[i]) << i;
  }
  for (int i = 1; i < 4; ++i) {
    EXPECT_EQ(sub.losses[i], full.losses[i]) << i;
    EXPECT_EQ(sub.params[i], full.params[i]) << i;
    EXPECT_NE(sub.params[i], fresh.params[i]) << i;
  }
  // Particles 2 and 3 alone, in a batch of their own.
  auto s = States(*p, 2);
  ResetAll(*p, s.get(), {11, 11});
  std::vector<double> alone(2);
  const RowMatrixXd th = Thetas(*p, 5).middleRows(2, 2);
  ASSERT_TRUE(
      p->Unroll(s.get(), 0, 2, th, kT0.data() + 2, 4, alone.data()).ok());
  EXPECT_EQ(alone[0], full.losses[2]);
  EXPECT_EQ(alone[1], full.losses[3]);
  EXPECT_EQ(p->GetParticleParams(*s, 1), full.params[3]);
}

TEST(LoptProblemTest, SameKeySameBitsDifferentKeyDifferentRun) {
  auto p = Make(TinyConfig());
  const RunResult a = RunRange(*p, 0, 5), b = RunRange(*p, 0, 5);
  EXPECT_EQ(a.losses, b.losses);
  EXPECT_EQ(a.params, b.params);
  // Pairs share key, step and theta: identical twins.
  EXPECT_EQ(a.losses[0], a.losses[1]);
  EXPECT_EQ(a.params[2], a.params[3]);
  EXPECT_NE(a.params[0], a.params[2]);
}

TEST(LoptProblemTest, OneAndTwoThreadsGiveIdenticalBits) {
  LoptProblemConfig c = TinyConfig();
  c.hidden_sizes = {40, 24};  // bigger tensors: several chunks per tensor
  auto p = Make(c);
  omp_set_num_threads(1);
  const RunResult one = RunRange(*p, 0, 5, 3);
  omp_set_num_threads(2);
  const RunResult two = RunRange(*p, 0, 5, 3);
  omp_set_num_threads(1);
  EXPECT_EQ(one.losses, two.losses);
  EXPECT_EQ(one.params, two.params);
}

TEST(LoptProblemTest, HugeStepsGiveNonFiniteLossesNotCrashes) {
  auto p = Make(TinyConfig());
  auto s = States(*p, 2);
  ResetAll(*p, s.get(), {1, 1});
  RowMatrixXd th = Rows(SgdTheta(p->lopt_config(), 1e30), 2);
  th.row(1) = SgdTheta(p->lopt_config(), 1.0).transpose();
  // A huge magnitude output as well: exp(1e-3 m) overflows.
  th(0, p->lopt_config().theta_bias_offset(2) + 1) = 1e9;
  const int64_t t0[2] = {0, 0};
  double losses[2];
  ASSERT_TRUE(p->Unroll(s.get(), 0, 2, th, t0, 6, losses).ok());
  EXPECT_FALSE(std::isfinite(losses[0]));
  EXPECT_TRUE(std::isfinite(losses[1]));
}

TEST(LoptProblemTest, EsSingleGivesAFiniteGradient) {
  auto p = Make(TinyConfig());
  EstimatorSpec spec;
  spec.method = "es_single";
  spec.es.num_particles = 4;
  spec.es.sigma = 0.01;
  spec.es.truncation = 10;
  spec.es.breakstep = true;
  auto est = MakeEstimator(p.get(), spec);
  ASSERT_TRUE(est.ok()) << est.status();
  const Eigen::VectorXd theta = p->SampleInitialTheta(0, 0);
  for (int it = 0; it < 2; ++it) {
    auto e = (*est)->Step(theta);
    ASSERT_TRUE(e.ok()) << e.status();
    EXPECT_EQ(e->gradient.size(), 1762);
    EXPECT_TRUE(e->gradient.allFinite());
    EXPECT_GT(e->gradient.norm(), 0.0);
  }
}

}  // namespace
}  // namespace es
