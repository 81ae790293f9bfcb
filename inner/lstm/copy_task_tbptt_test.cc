// Tests of the copy task's TBPTT path (copy_task_tbptt.h): its forward
// agrees with the ES problem's forward for the same weights and key, its
// gradient equals central finite differences on a tiny instance and the
// double reference's BPTT gradient, windows carry the state, training with
// Adam feeds the curriculum, divergence skips the update, and Save/Load
// continues bit for bit.
//
// Tolerances: forward, ES kernel vs oneDNN RNN (both float32, different
// summation orders): 8 eps_f (H + V) K max(1, |loss|), twice the kernels'
// bound against the double reference (inner/kernels/lstm_rnn_test.cc).
// Gradient vs the double reference: 16 eps_f (H + V) K max|g_ref| per entry
// (the kernels' bound). Finite differences of the float32 forward, step
// h = 2^-6: a loss of ~K ln 4 has rounding noise ~1e-6, so noise / h ~1e-4,
// truncation O(h^2) ~1e-4: we allow 2e-3 per entry and 1% in relative norm.
#include "inner/lstm/copy_task_tbptt.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "estimators/optimizer.h"
#include "estimators/state_io.h"
#include "gtest/gtest.h"
#include "inner/kernels/batched_lstm_reference.h"
#include "inner/lstm/copy_task.h"
#include "inner/lstm/copy_task_problem.h"

namespace es {
namespace {

constexpr double kEpsF = std::numeric_limits<float>::epsilon();

CopyTaskConfig Config(int64_t H, int64_t B, int64_t initial_length = 3) {
  CopyTaskConfig c;
  c.hidden_size = H;
  c.batch_size = B;
  c.curriculum.initial_length = initial_length;
  return c;
}

std::unique_ptr<CopyTaskTbptt> Make(const CopyTaskConfig& config, int K,
                                    uint64_t key) {
  auto t = CopyTaskTbptt::Create(config, K, key);
  EXPECT_TRUE(t.ok()) << t.status();
  return *std::move(t);
}

TEST(CopyTaskTbpttTest, ForwardAgreesWithTheEsProblem) {
  for (int64_t H : {100, 9}) {
    const CopyTaskConfig config = Config(H, H == 100 ? 32 : 5);
    const int K = 6;
    auto tbptt = Make(config, K, /*key=*/31);
    auto problem = CopyTaskProblem::Create(config);
    ASSERT_TRUE(problem.ok());
    auto states = (*problem)->NewStates(1);
    ASSERT_TRUE(states.ok());
    (*problem)->Reset(states->get(), {0}, {31});
    const Eigen::VectorXd theta = CopyTaskInitialTheta(config.shape(), 2) * 3.0;
    const RowMatrixXd row = theta.transpose();
    const int64_t t0 = 0;
    const int64_t V = kCopyVocabSize;
    for (int w = 0; w < 3; ++w) {
      double l_es = 0, l_rnn = 0;
      ASSERT_TRUE((*problem)->Unroll(states->get(), 0, 1, row, &t0, K, &l_es).ok());
      ASSERT_TRUE(tbptt->Forward(theta, &l_rnn).ok());
      EXPECT_NEAR(l_rnn, l_es, 8 * kEpsF * (H + V) * K * std::max(1.0, l_es))
          << "H " << H << " window " << w;
      for (int64_t b = 0; b < config.batch_size; ++b) {
        const CopyStreamState s = (*problem)->StreamState(**states, 0, b);
        EXPECT_EQ(tbptt->stream(b).sequence, s.sequence);
        EXPECT_EQ(tbptt->stream(b).position, s.position);
        EXPECT_EQ(tbptt->stream(b).length, s.length);
      }
      const float* h = (*problem)->HiddenState(**states, 0);
      for (size_t k = 0; k < tbptt->h().size(); ++k) {
        ASSERT_NEAR(tbptt->h()[k], h[k], 8 * kEpsF * (H + V) * K) << k;
      }
    }
  }
}

// The window's tokens, regenerated from a saved state of the object.
void WindowTokens(const CopyTaskTbptt& t, std::vector<int32_t>* x,
                  std::vector<int32_t>* y) {
  const int64_t B = t.config().batch_size, K = t.truncation();
  x->assign(K * B, 0);
  y->assign(K * B, 0);
  for (int64_t b = 0; b < B; ++b) {
    CopyStreamState s = t.stream(static_cast<int>(b));
    for (int64_t k = 0; k < K; ++k) {
      CopyTokens(t.key(), b, s, &(*x)[k * B + b], &(*y)[k * B + b]);
      AdvanceCopyStream(t.key(), b, t.curriculum().length(), 5, &s);
    }
  }
}

TEST(CopyTaskTbpttTest, GradientEqualsFiniteDifferencesAndTheReference) {
  const CopyTaskConfig config = Config(/*H=*/3, /*B=*/2, /*T=*/2);
  const int K = 4;
  auto t = Make(config, K, /*key=*/5);
  const LstmShape shape = config.shape();
  const int P = static_cast<int>(shape.num_params());
  ASSERT_EQ(P, 4 * 3 * 7 + 24 + 12 + 4);
  // Start the window from a non-zero carried state.
  Eigen::VectorXd theta = CopyTaskInitialTheta(shape, 9) * 4.0;
  double loss = 0;
  ASSERT_TRUE(t->Forward(theta, &loss).ok());
  StateWriter w;
  t->Save(&w);
  const std::string at_window = w.Take();
  auto restore = [&] {
    StateReader r(at_window);
    ASSERT_TRUE(t->Load(&r).ok());
  };

  // Reference BPTT on the same window from the same (float) state.
  std::vector<int32_t> x, y;
  WindowTokens(*t, &x, &y);
  LstmReferenceState ref{Eigen::MatrixXd(2, 3), Eigen::MatrixXd(2, 3)};
  for (int k = 0; k < 6; ++k) {
    ref.h(k / 3, k % 3) = t->h()[k];
    ref.c(k / 3, k % 3) = t->c()[k];
  }
  std::vector<double> g_ref;
  const double l_ref = LstmReferenceUnroll(shape, 2, theta.data(), K, x.data(),
                                           y.data(), &ref, &g_ref);

  Eigen::VectorXd grad;
  ASSERT_TRUE(t->Window(theta, &grad, &loss).ok());
  EXPECT_NEAR(loss, l_ref, 4 * kEpsF * 7 * K * std::max(1.0, l_ref));
  const double g_max =
      Eigen::Map<const Eigen::VectorXd>(g_ref.data(), P).cwiseAbs().maxCoeff();
  for (int p = 0; p < P; ++p) {
    EXPECT_NEAR(grad[p], g_ref[p], 16 * kEpsF * 7 * K * g_max) << "param " << p;
  }

  const double h = 1.0 / 64;
  Eigen::VectorXd fd(P);
  for (int p = 0; p < P; ++p) {
    double lp, lm;
    Eigen::VectorXd tp = theta, tm = theta;
    tp[p] += h;
    tm[p] -= h;
    restore();
    ASSERT_TRUE(t->Forward(tp, &lp).ok());
    restore();
    ASSERT_TRUE(t->Forward(tm, &lm).ok());
    fd[p] = (lp - lm) / (2 * h);
    EXPECT_NEAR(grad[p], fd[p], 2e-3) << "param " << p;
  }
  EXPECT_LT((grad - fd).norm(), 0.01 * fd.norm());
}

TEST(CopyTaskTbpttTest, WindowsCarryTheState) {
  // Two windows of K = the same stream and a 2K reference forward.
  const CopyTaskConfig config = Config(8, 3);
  auto t = Make(config, 5, 44);
  const Eigen::VectorXd theta = CopyTaskInitialTheta(config.shape(), 4) * 2.0;
  std::vector<int32_t> x1, y1, x2, y2;
  WindowTokens(*t, &x1, &y1);
  Eigen::VectorXd g;
  double l1 = 0, l2 = 0;
  ASSERT_TRUE(t->Window(theta, &g, &l1).ok());
  WindowTokens(*t, &x2, &y2);
  ASSERT_TRUE(t->Window(theta, &g, &l2).ok());
  x1.insert(x1.end(), x2.begin(), x2.end());
  y1.insert(y1.end(), y2.begin(), y2.end());
  LstmReferenceState ref{Eigen::MatrixXd::Zero(3, 8), Eigen::MatrixXd::Zero(3, 8)};
  const double l = LstmReferenceUnroll(config.shape(), 3, theta.data(), 10,
                                       x1.data(), y1.data(), &ref);
  EXPECT_NEAR(l1 + l2, l, 4 * kEpsF * 12 * 10 * std::max(1.0, l));
  for (int k = 0; k < 24; ++k) {
    EXPECT_NEAR(t->h()[k], ref.h(k / 8, k % 8), 4 * kEpsF * 12 * 10);
  }
}

TEST(CopyTaskTbpttTest, AdamTrainingFeedsTheCurriculumAndLearns) {
  // A small model learns to copy 1-bit strings: T rises above 1 within the
  // step budget (observed: a few hundred steps), and data time counts K * B
  // characters per step.
  CopyTaskConfig config = Config(16, 8, 1);
  const int K = 10;
  auto t = Make(config, K, 3);
  auto opt = MakeOptimizer({.kind = "adam", .learning_rate = 1e-2},
                           t->theta_dim());
  ASSERT_TRUE(opt.ok());
  Eigen::VectorXd theta = CopyTaskInitialTheta(config.shape(), 0);
  const Eigen::VectorXd theta0 = theta;
  int steps = 0;
  while (t->curriculum().length() < 2 && steps < 3000) {
    auto r = t->TrainStep(opt->get(), &theta);
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_FALSE(r->skipped);
    ++steps;
  }
  EXPECT_EQ(t->curriculum().length(), 2) << "after " << steps << " steps";
  RecordProperty("steps", steps);
  EXPECT_EQ(t->curriculum().tokens(), int64_t{steps} * K * 8);
  EXPECT_EQ(t->curriculum().observations(), steps);
  EXPECT_NE(theta, theta0);
}

TEST(CopyTaskTbpttTest, DivergenceSkipsTheUpdate) {
  const CopyTaskConfig config = Config(4, 2);
  auto t = Make(config, 3, 1);
  auto opt = MakeOptimizer({.kind = "adam", .learning_rate = 1e-2},
                           t->theta_dim());
  Eigen::VectorXd theta = Eigen::VectorXd::Constant(
      t->theta_dim(), std::numeric_limits<double>::quiet_NaN());
  auto r = t->TrainStep(opt->get(), &theta);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->skipped);
  EXPECT_EQ(t->skipped_updates(), 1);
  EXPECT_EQ(t->curriculum().skipped_observations(), 1);
  EXPECT_FALSE(t->Forward(Eigen::VectorXd::Zero(5), nullptr).ok());
  EXPECT_FALSE(CopyTaskTbptt::Create(config, 0, 1).ok());
}

TEST(CopyTaskTbpttTest, SaveLoadContinuesBitForBit) {
  const CopyTaskConfig config = Config(6, 3);
  auto a = Make(config, 4, 8);
  auto opt_a = MakeOptimizer({.kind = "sgd", .learning_rate = 0.1}, a->theta_dim());
  Eigen::VectorXd theta = CopyTaskInitialTheta(config.shape(), 1);
  for (int k = 0; k < 5; ++k) ASSERT_TRUE(a->TrainStep(opt_a->get(), &theta).ok());
  StateWriter w;
  a->Save(&w);
  const Eigen::VectorXd saved_theta = theta;
  std::vector<double> cont;
  for (int k = 0; k < 5; ++k) cont.push_back(a->TrainStep(opt_a->get(), &theta)->loss);
  auto b = Make(config, 4, 999);
  StateReader r(w.bytes());
  ASSERT_TRUE(b->Load(&r).ok());
  ASSERT_TRUE(r.Finish().ok());
  auto opt_b = MakeOptimizer({.kind = "sgd", .learning_rate = 0.1}, b->theta_dim());
  Eigen::VectorXd theta_b = saved_theta;
  for (int k = 0; k < 5; ++k) {
    EXPECT_EQ(b->TrainStep(opt_b->get(), &theta_b)->loss, cont[k]) << k;
  }
  EXPECT_EQ(theta_b, theta);
  const std::string bytes = w.bytes();
  StateReader shorter(absl::string_view(bytes).substr(0, bytes.size() / 2));
  EXPECT_FALSE(b->Load(&shorter).ok());
}

}  // namespace
}  // namespace es
