// Tests of the copy-task ES problem (copy_task_problem.h): parameter count,
// Unroll against the double reference on the documented token streams (both
// kernel paths), keys, sub-ranges, Save/Load continuing bit for bit,
// divergence, the shared curriculum and the mean model.
//
// Tolerance against the double reference: the kernels' own bound
// (inner/kernels/batched_lstm_test.cc), 4 eps_f (H + V) K max(1, |ref|),
// doubled because these tests chain two unrolls.
#include "inner/lstm/copy_task_problem.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "estimators/estimator_factory.h"
#include "estimators/optimizer.h"
#include "estimators/state_io.h"
#include "gtest/gtest.h"
#include "inner/kernels/batched_lstm_reference.h"
#include "inner/lstm/copy_task.h"

namespace es {
namespace {

constexpr double kEpsF = std::numeric_limits<float>::epsilon();

std::unique_ptr<CopyTaskProblem> MakeProblem(int64_t H, int64_t B,
                                             LstmPath path,
                                             CopyCurriculumOptions cur = {}) {
  CopyTaskConfig config;
  config.hidden_size = H;
  config.batch_size = B;
  config.path = path;
  config.curriculum = cur;
  auto p = CopyTaskProblem::Create(config);
  EXPECT_TRUE(p.ok()) << p.status();
  return *std::move(p);
}

std::unique_ptr<ParticleStates> MakeStates(const CopyTaskProblem& problem,
                                           int n,
                                           const std::vector<uint64_t>& keys) {
  auto s = problem.NewStates(n);
  EXPECT_TRUE(s.ok()) << s.status();
  std::vector<int> all(n);
  for (int i = 0; i < n; ++i) all[i] = i;
  problem.Reset(s->get(), all, keys);
  return *std::move(s);
}

RowMatrixXd RandomThetas(int n, int p, double scale, uint64_t seed) {
  const std::vector<double> v = LstmTestValues(int64_t{n} * p, scale, seed);
  RowMatrixXd m(n, p);
  for (int64_t k = 0; k < int64_t{n} * p; ++k) m.data()[k] = v[k];
  return m;
}

// A particle as the reference sees it: its streams and double state.
struct RefParticle {
  uint64_t key;
  std::vector<CopyStreamState> streams;
  LstmReferenceState state;
};

RefParticle StartRef(uint64_t key, int64_t B, int64_t H, int64_t T) {
  RefParticle r{key, {}, {Eigen::MatrixXd::Zero(B, H), Eigen::MatrixXd::Zero(B, H)}};
  for (int64_t b = 0; b < B; ++b) r.streams.push_back(StartCopyStream(key, b, T));
  return r;
}

double RefUnroll(const LstmShape& shape, int64_t B, const double* theta, int K,
                 int64_t T, RefParticle* r) {
  std::vector<int32_t> x(K * B), y(K * B);
  for (int64_t b = 0; b < B; ++b) {
    for (int k = 0; k < K; ++k) {
      CopyTokens(r->key, b, r->streams[b], &x[k * B + b], &y[k * B + b]);
      AdvanceCopyStream(r->key, b, T, 5, &r->streams[b]);
    }
  }
  return LstmReferenceUnroll(shape, B, theta, K, x.data(), y.data(), &r->state);
}

TEST(CopyTaskProblemTest, ParameterCountIsThePapers) {
  auto problem = MakeProblem(100, 32, LstmPath::kAuto);
  EXPECT_EQ(problem->theta_dim(), 42804);  // Sec. 4.3
  EXPECT_EQ(problem->horizon(), kNeverEnding);
  EXPECT_EQ(problem->name(), "copy_task_H100_B32");
  EXPECT_EQ(problem->curriculum().length(), 1);
  const Eigen::VectorXd theta = problem->InitialTheta(3);
  EXPECT_EQ(theta.size(), 42804);
  EXPECT_LE(theta.cwiseAbs().maxCoeff(), 0.1);  // U(-1/sqrt(100), 1/sqrt(100))
  EXPECT_GT(theta.cwiseAbs().maxCoeff(), 0.099);
  EXPECT_NEAR(theta.mean(), 0.0, 4 * 0.1 / std::sqrt(3.0 * 42804));
  EXPECT_EQ(theta, problem->InitialTheta(3));
  EXPECT_NE(theta, problem->InitialTheta(4));
}

class CopyTaskPathTest : public ::testing::TestWithParam<LstmPath> {};

TEST_P(CopyTaskPathTest, UnrollMatchesTheReferenceOnTheDocumentedStreams) {
  const int64_t H = 9, B = 5, V = kCopyVocabSize;
  const int n = 3, K = 7;
  CopyCurriculumOptions cur;
  cur.initial_length = 4;  // strings of 1..4 bits
  auto problem = MakeProblem(H, B, GetParam(), cur);
  const std::vector<uint64_t> keys = {10, 11, 10};
  auto states = MakeStates(*problem, n, keys);
  const RowMatrixXd thetas = RandomThetas(n, problem->theta_dim(), 0.5, 1);
  std::vector<RefParticle> ref;
  for (int i = 0; i < n; ++i) ref.push_back(StartRef(keys[i], B, H, 4));
  std::vector<int64_t> t0(n, 0);
  for (int round = 0; round < 2; ++round) {
    std::vector<double> loss(n, -1.0);
    ASSERT_TRUE(problem->Unroll(states.get(), 0, n, thetas, t0.data(), K,
                                loss.data())
                    .ok());
    for (int i = 0; i < n; ++i) {
      const double r = RefUnroll(problem->config().shape(), B,
                                 thetas.row(i).data(), K, 4, &ref[i]);
      const double tol = 8 * kEpsF * (H + V) * K * std::max(1.0, std::abs(r));
      EXPECT_NEAR(loss[i], r, tol) << "round " << round << " particle " << i;
      for (int64_t b = 0; b < B; ++b) {
        const CopyStreamState s = problem->StreamState(*states, i, b);
        EXPECT_EQ(s.sequence, ref[i].streams[b].sequence);
        EXPECT_EQ(s.length, ref[i].streams[b].length);
        EXPECT_EQ(s.position, ref[i].streams[b].position);
      }
      const float* h = problem->HiddenState(*states, i);
      for (int64_t k = 0; k < B * H; ++k) {
        EXPECT_NEAR(h[k], ref[i].state.h(k / H, k % H), 8 * kEpsF * (H + V) * K);
      }
    }
  }
}

TEST_P(CopyTaskPathTest, SubRangeEqualsThoseParticlesAlone) {
  const int64_t H = 6, B = 3;
  auto problem = MakeProblem(H, B, GetParam());
  const std::vector<uint64_t> keys = {1, 2, 3, 4, 5, 6, 7};
  auto all = MakeStates(*problem, 7, keys);
  auto alone = MakeStates(*problem, 3, {3, 4, 5});
  const RowMatrixXd thetas = RandomThetas(7, problem->theta_dim(), 0.5, 2);
  const RowMatrixXd sub = thetas.middleRows(2, 3);
  std::vector<int64_t> t0(7, 0);
  std::vector<double> l_all(7, -7.0), l_alone(3, -1.0);
  ASSERT_TRUE(problem->Unroll(all.get(), 2, 5, thetas, t0.data(), 4,
                              l_all.data()).ok());
  ASSERT_TRUE(problem->Unroll(alone.get(), 0, 3, sub, t0.data(), 4,
                              l_alone.data()).ok());
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(l_all[2 + i], l_alone[i]) << i;
    const float* h1 = problem->HiddenState(*all, 2 + i);
    const float* h2 = problem->HiddenState(*alone, i);
    for (int64_t k = 0; k < B * H; ++k) ASSERT_EQ(h1[k], h2[k]) << i << " " << k;
  }
  // Particles outside the range are untouched.
  EXPECT_EQ(l_all[0], -7.0);
  EXPECT_EQ(l_all[6], -7.0);
  for (int i : {0, 1, 5, 6}) {
    EXPECT_EQ(problem->StreamState(*all, i, 0).position, 0);
    EXPECT_EQ(problem->HiddenState(*all, i)[0], 0.0f);
  }
}

INSTANTIATE_TEST_SUITE_P(Paths, CopyTaskPathTest,
                         ::testing::Values(LstmPath::kOneDnn, LstmPath::kSoa),
                         [](const auto& info) {
                           return info.param == LstmPath::kSoa ? "soa"
                                                               : "onednn";
                         });

TEST(CopyTaskProblemTest, SameKeySameBitsAndStepCounterIsIgnored) {
  auto problem = MakeProblem(8, 4, LstmPath::kAuto);
  const RowMatrixXd thetas = RandomThetas(2, problem->theta_dim(), 0.3, 5);
  auto a = MakeStates(*problem, 2, {9, 9});
  auto b = MakeStates(*problem, 2, {9, 9});
  std::vector<int64_t> t0a = {0, 0}, t0b = {123, 7};
  std::vector<double> la(2), lb(2);
  ASSERT_TRUE(problem->Unroll(a.get(), 0, 2, thetas, t0a.data(), 6, la.data()).ok());
  ASSERT_TRUE(problem->Unroll(b.get(), 0, 2, thetas, t0b.data(), 6, lb.data()).ok());
  EXPECT_EQ(la, lb);
  // Same theta rows, same key: the two particles agree too.
  RowMatrixXd same(2, problem->theta_dim());
  same.row(0) = thetas.row(0);
  same.row(1) = thetas.row(0);
  ASSERT_TRUE(problem->Unroll(a.get(), 0, 2, same, t0a.data(), 1, la.data()).ok());
  ASSERT_TRUE(problem->Unroll(b.get(), 0, 2, same, t0a.data(), 1, lb.data()).ok());
  EXPECT_EQ(la, lb);
}

TEST(CopyTaskProblemTest, SaveLoadContinuesBitForBit) {
  CopyCurriculumOptions cur;
  cur.threshold_bits = 100.0;  // every observation raises T
  auto problem = MakeProblem(7, 3, LstmPath::kAuto, cur);
  const RowMatrixXd thetas = RandomThetas(4, problem->theta_dim(), 0.4, 8);
  std::vector<int64_t> t0(4, 0);
  std::vector<double> loss(4);
  auto states = MakeStates(*problem, 4, {1, 2, 3, 1});
  for (int r = 0; r < 3; ++r) {
    ASSERT_TRUE(problem->Unroll(states.get(), 0, 4, thetas, t0.data(), 5,
                                loss.data()).ok());
    problem->AdvanceCurriculum(loss[0], 5);
  }
  StateWriter w;
  ASSERT_TRUE(states->Save(&w).ok());
  const int64_t saved_T = problem->curriculum().length();
  std::vector<std::vector<double>> cont;
  for (int r = 0; r < 4; ++r) {
    ASSERT_TRUE(problem->Unroll(states.get(), 0, 4, thetas, t0.data(), 9,
                                loss.data()).ok());
    cont.push_back(loss);
    problem->AdvanceCurriculum(loss[0], 9);
  }
  EXPECT_GT(problem->curriculum().length(), saved_T);
  auto restored = MakeStates(*problem, 4, {0, 0, 0, 0});
  StateReader r(w.bytes());
  ASSERT_TRUE(restored->Load(&r).ok());
  ASSERT_TRUE(r.Finish().ok());
  EXPECT_EQ(problem->curriculum().length(), saved_T);  // restored too
  for (int k = 0; k < 4; ++k) {
    ASSERT_TRUE(problem->Unroll(restored.get(), 0, 4, thetas, t0.data(), 9,
                                loss.data()).ok());
    EXPECT_EQ(loss, cont[k]) << "round " << k;
    problem->AdvanceCurriculum(loss[0], 9);
  }
  // Damaged checkpoints are errors, never crashes.
  const std::string bytes = w.bytes();
  for (size_t cut : {size_t{0}, size_t{5}, bytes.size() / 2, bytes.size() - 1}) {
    StateReader shorter(absl::string_view(bytes).substr(0, cut));
    EXPECT_FALSE(restored->Load(&shorter).ok()) << cut;
  }
  auto other_size = MakeStates(*problem, 3, {0, 0, 0});
  StateReader again(bytes);
  EXPECT_FALSE(other_size->Load(&again).ok());
}

TEST(CopyTaskProblemTest, DivergingThetaGivesNonFiniteLossesNotACrash) {
  auto problem = MakeProblem(6, 4, LstmPath::kAuto);
  RowMatrixXd thetas = RandomThetas(4, problem->theta_dim(), 0.3, 3);
  thetas.row(1).setConstant(std::numeric_limits<double>::quiet_NaN());
  thetas.row(2).setConstant(std::numeric_limits<double>::infinity());
  thetas.row(3).setConstant(1e300);
  auto states = MakeStates(*problem, 4, {1, 1, 1, 1});
  std::vector<int64_t> t0(4, 0);
  std::vector<double> loss(4);
  for (int r = 0; r < 3; ++r) {
    ASSERT_TRUE(problem->Unroll(states.get(), 0, 4, thetas, t0.data(), 3,
                                loss.data()).ok());
    EXPECT_TRUE(std::isfinite(loss[0]));
    EXPECT_FALSE(std::isfinite(loss[1]));
    EXPECT_FALSE(std::isfinite(loss[2]));
    EXPECT_FALSE(std::isfinite(loss[3]));
  }
}

TEST(CopyTaskProblemTest, BadArgumentsAreStatusErrors) {
  auto problem = MakeProblem(4, 2, LstmPath::kAuto);
  auto states = MakeStates(*problem, 3, {0, 0, 0});
  std::vector<int64_t> t0(3, 0);
  std::vector<double> loss(3, 5.0);
  const RowMatrixXd two = RandomThetas(2, problem->theta_dim(), 0.1, 1);
  absl::Status s = problem->Unroll(states.get(), 0, 2, two, t0.data(), 1, loss.data());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  const RowMatrixXd three = RandomThetas(3, problem->theta_dim(), 0.1, 1);
  s = problem->Unroll(states.get(), 1, 4, three, t0.data(), 1, loss.data());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  // K = 0: zero losses, nothing moves.
  ASSERT_TRUE(problem->Unroll(states.get(), 0, 3, three, t0.data(), 0, loss.data()).ok());
  EXPECT_EQ(loss, std::vector<double>(3, 0.0));
  EXPECT_EQ(problem->StreamState(*states, 0, 0).position, 0);
  CopyTaskConfig bad;
  bad.hidden_size = 0;
  EXPECT_NE(CopyTaskProblem::Create(bad).status().message().find("hidden_size"),
            std::string::npos);
  bad = {};
  bad.curriculum.ema_decay = 2.0;
  EXPECT_NE(CopyTaskProblem::Create(bad).status().message().find("ema_decay"),
            std::string::npos);
}

TEST(CopyTaskProblemTest, NewStringsUseTheCurrentCurriculumLength) {
  CopyCurriculumOptions cur;
  cur.threshold_bits = 100.0;  // every observation raises T
  auto problem = MakeProblem(4, 8, LstmPath::kAuto, cur);
  auto states = MakeStates(*problem, 1, {4});
  for (int64_t b = 0; b < 8; ++b) {
    EXPECT_EQ(problem->StreamState(*states, 0, b).length, 1);  // T = 1
  }
  for (int k = 0; k < 19; ++k) problem->AdvanceCurriculum(0.0, 1);
  EXPECT_EQ(problem->curriculum().length(), 20);
  EXPECT_EQ(problem->curriculum().tokens(), 19 * 8);
  const RowMatrixXd thetas = RandomThetas(1, problem->theta_dim(), 0.1, 1);
  const int64_t t0 = 0;
  double loss;
  // Every T = 1 string takes 4 steps; after them all strings are new.
  ASSERT_TRUE(problem->Unroll(states.get(), 0, 1, thetas, &t0, 4, &loss).ok());
  for (int64_t b = 0; b < 8; ++b) {
    const CopyStreamState s = problem->StreamState(*states, 0, b);
    EXPECT_EQ(s.sequence, 1);
    EXPECT_EQ(s.position, 0);
    EXPECT_GE(s.length, 15);
    EXPECT_LE(s.length, 20);
    EXPECT_EQ(s.length, CopySequenceLength(4, b, 1, 20, 5));
  }
}

TEST(CopyTaskProblemTest, MeanModelUnrollsThetaAndFeedsTheCurriculum) {
  auto problem = MakeProblem(5, 4, LstmPath::kAuto);
  auto mean = CopyTaskMeanModel::Create(problem.get(), 77);
  ASSERT_TRUE(mean.ok()) << mean.status();
  const Eigen::VectorXd theta = problem->InitialTheta(1);
  auto alone = MakeStates(*problem, 1, {77});
  RowMatrixXd row = theta.transpose();
  const int64_t t0 = 0;
  double ema = 1.0;  // the EMA's start, then m <- d^K m + (1 - d^K) bits
  const double keep = std::pow(0.999, 4);
  for (int r = 0; r < 3; ++r) {
    absl::StatusOr<double> l = (*mean)->Advance(theta, 4);
    ASSERT_TRUE(l.ok()) << l.status();
    double want;
    ASSERT_TRUE(problem->Unroll(alone.get(), 0, 1, row, &t0, 4, &want).ok());
    EXPECT_EQ(*l, want);
    ema = keep * ema + (1 - keep) * (want / (4 * std::log(2.0)));
  }
  EXPECT_EQ(problem->curriculum().observations(), 3);
  EXPECT_EQ(problem->curriculum().tokens(), 3 * 4 * 4);
  EXPECT_NEAR(problem->curriculum().ema_bits(), ema, 1e-12);
  EXPECT_FALSE((*mean)->Advance(Eigen::VectorXd::Zero(3), 1).ok());
  EXPECT_FALSE((*mean)->Advance(theta, 0).ok());
  StateWriter w;
  ASSERT_TRUE((*mean)->Save(&w).ok());
  StateReader r(w.bytes());
  ASSERT_TRUE((*mean)->Load(&r).ok());
}

// The whole loop a figure runs: an ES estimator with K = 1 on the
// never-ending problem, Adam, and the mean model advancing the curriculum.
TEST(CopyTaskProblemTest, EstimatorsTrainOnItWithTheMeanModel) {
  for (const char* method : {"es_single", "pes", "tes"}) {
    CopyCurriculumOptions cur;
    cur.threshold_bits = 100.0;  // raise T on every observation
    auto problem = MakeProblem(8, 4, LstmPath::kAuto, cur);
    EstimatorSpec spec;
    spec.method = method;
    spec.es.num_particles = 6;
    spec.es.sigma = 0.01;
    spec.es.truncation = 1;
    spec.es.num_threads = 2;
    auto est = MakeEstimator(problem.get(), spec);
    ASSERT_TRUE(est.ok()) << est.status();
    auto opt = MakeOptimizer({.kind = "adam", .learning_rate = 1e-3},
                             problem->theta_dim());
    auto mean = CopyTaskMeanModel::Create(problem.get(), 5);
    ASSERT_TRUE(mean.ok());
    Eigen::VectorXd theta = problem->InitialTheta(0);
    for (int step = 0; step < 4; ++step) {
      absl::StatusOr<Estimate> e = (*est)->Step(theta);
      ASSERT_TRUE(e.ok()) << method << ": " << e.status();
      ASSERT_TRUE(e->gradient.allFinite());
      ASSERT_TRUE((*opt)->Update(e->gradient, &theta).ok());
      ASSERT_TRUE((*mean)->Advance(theta, 1).ok());
    }
    EXPECT_EQ(problem->curriculum().observations(), 4) << method;
    EXPECT_EQ(problem->curriculum().length(), 5) << method;
    EXPECT_EQ(problem->curriculum().tokens(), 4 * 4) << method;
  }
}

}  // namespace
}  // namespace es
