// Tests of the oneDNN-RNN LSTM (lstm_rnn.h): forward against BatchedLstm
// (N = 1, both paths) and the double reference, backward against the
// reference's BPTT gradient, against central finite differences of its own
// float32 forward, and the reference against double finite differences.
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "inner/kernels/batched_lstm.h"
#include "inner/kernels/batched_lstm_reference.h"
#include "inner/kernels/lstm_rnn.h"

namespace es {
namespace {

constexpr double kEpsF = std::numeric_limits<float>::epsilon();

struct Window {
  LstmRnnConfig config;
  std::vector<double> theta;
  std::vector<int32_t> tokens, targets;  // [K, B]
  std::vector<float> h, c;               // [B, H]
};

Window MakeWindow(int64_t v, int64_t h, int64_t b, int64_t k, uint64_t seed,
                  double scale = 0.5) {
  Window w;
  w.config.shape = {v, h};
  w.config.batch_size = b;
  w.config.seq_length = k;
  w.theta = LstmTestValues(w.config.shape.num_params(), scale, seed);
  w.tokens = LstmTestTokens(k * b, v, seed + 1);
  w.targets = LstmTestTokens(k * b, v, seed + 2);
  const std::vector<double> h0 = LstmTestValues(b * h, 0.5, seed + 3);
  const std::vector<double> c0 = LstmTestValues(b * h, 1.0, seed + 4);
  w.h.assign(h0.begin(), h0.end());
  w.c.assign(c0.begin(), c0.end());
  return w;
}

LstmReferenceState RefState(const Window& w) {
  const int64_t b = w.config.batch_size, h = w.config.shape.hidden_size;
  LstmReferenceState s{Eigen::MatrixXd(b, h), Eigen::MatrixXd(b, h)};
  for (int64_t r = 0; r < b; ++r) {
    for (int64_t j = 0; j < h; ++j) {
      s.h(r, j) = w.h[r * h + j];
      s.c(r, j) = w.c[r * h + j];
    }
  }
  return s;
}

double MaxAbs(const std::vector<double>& v) {
  double m = 0.0;
  for (double x : v) m = std::max(m, std::abs(x));
  return m;
}

struct Shape {
  int64_t v, h, b, k;
};

class LstmRnnShapeTest : public ::testing::TestWithParam<Shape> {};

// Same weights, same tokens: the oneDNN RNN forward and BatchedLstm (N = 1,
// both paths) agree on the loss and the final state to float rounding.
TEST_P(LstmRnnShapeTest, ForwardMatchesBatchedKernelAndReference) {
  const Shape p = GetParam();
  Window w = MakeWindow(p.v, p.h, p.b, p.k, 21);
  auto rnn = LstmRnn::Create(w.config);
  ASSERT_TRUE(rnn.ok()) << rnn.status();
  std::vector<float> h = w.h, c = w.c;
  double loss = 0.0;
  std::vector<double> steps(p.k);
  ASSERT_TRUE((*rnn)->Forward(w.theta, w.tokens, w.targets, absl::MakeSpan(h),
                              absl::MakeSpan(c), &loss, absl::MakeSpan(steps))
                  .ok());
  LstmReferenceState ref = RefState(w);
  std::vector<double> ref_steps;
  const double ref_loss =
      LstmReferenceUnroll(w.config.shape, p.b, w.theta.data(), p.k,
                          w.tokens.data(), w.targets.data(), &ref, nullptr,
                          &ref_steps);
  const double tol = 4 * kEpsF * (p.h + p.v) * p.k;
  EXPECT_NEAR(loss, ref_loss, tol * std::max(1.0, ref_loss));
  for (int64_t t = 0; t < p.k; ++t) EXPECT_NEAR(steps[t], ref_steps[t], tol);
  for (int64_t j = 0; j < p.b * p.h; ++j) {
    ASSERT_NEAR(h[j], ref.h(j / p.h, j % p.h), tol) << j;
    ASSERT_NEAR(c[j], ref.c(j / p.h, j % p.h), tol * 4) << j;
  }
  for (LstmPath path : {LstmPath::kSoa, LstmPath::kOneDnn}) {
    BatchedLstmConfig bc;
    bc.shape = w.config.shape;
    bc.batch_size = p.b;
    bc.num_particles = 1;
    bc.path = path;
    auto lstm = BatchedLstm::Create(bc);
    ASSERT_TRUE(lstm.ok()) << lstm.status();
    std::vector<float> packed((*lstm)->packed_size());
    ASSERT_TRUE((*lstm)->Pack(w.theta, 0, 1, absl::MakeSpan(packed)).ok());
    std::vector<float> bh = w.h, bcs = w.c;
    std::vector<double> bl(1);
    ASSERT_TRUE((*lstm)
                    ->Unroll(packed, 0, 1, p.k, w.tokens, w.targets,
                             absl::MakeSpan(bh), absl::MakeSpan(bcs),
                             absl::MakeSpan(bl))
                    .ok());
    EXPECT_NEAR(bl[0], loss, 2 * tol * std::max(1.0, loss));
    for (int64_t j = 0; j < p.b * p.h; ++j) {
      ASSERT_NEAR(bh[j], h[j], 2 * tol) << j;
      ASSERT_NEAR(bcs[j], c[j], 8 * tol) << j;
    }
  }
}

// The oneDNN backward equals the reference BPTT gradient to float rounding:
// |g - g_ref| <= 16 eps_f (H + V) K max|g_ref| elementwise.
TEST_P(LstmRnnShapeTest, GradientMatchesReference) {
  const Shape p = GetParam();
  Window w = MakeWindow(p.v, p.h, p.b, p.k, 33);
  auto rnn = LstmRnn::Create(w.config);
  ASSERT_TRUE(rnn.ok()) << rnn.status();
  std::vector<double> grad(w.config.shape.num_params());
  double loss = 0.0;
  std::vector<float> h = w.h, c = w.c;
  ASSERT_TRUE((*rnn)
                  ->ForwardBackward(w.theta, w.tokens, w.targets,
                                    absl::MakeSpan(h), absl::MakeSpan(c),
                                    absl::MakeSpan(grad), &loss)
                  .ok());
  LstmReferenceState ref = RefState(w);
  std::vector<double> ref_grad;
  LstmReferenceUnroll(w.config.shape, p.b, w.theta.data(), p.k,
                      w.tokens.data(), w.targets.data(), &ref, &ref_grad);
  const double tol = 16 * kEpsF * (p.h + p.v) * p.k * MaxAbs(ref_grad);
  int bad = 0;
  for (size_t j = 0; j < grad.size(); ++j) {
    if (std::abs(grad[j] - ref_grad[j]) > tol) {
      if (++bad < 5) {
        ADD_FAILURE() << "grad[" << j << "] = " << grad[j] << ", reference "
                      << ref_grad[j] << ", tol " << tol;
      }
    }
  }
  EXPECT_EQ(bad, 0) << w.config.DebugString();
  // A second call with the same inputs gives the same bits (diff weights are
  // not accumulated across calls).
  std::vector<double> again(grad.size());
  h = w.h;
  c = w.c;
  ASSERT_TRUE((*rnn)
                  ->ForwardBackward(w.theta, w.tokens, w.targets,
                                    absl::MakeSpan(h), absl::MakeSpan(c),
                                    absl::MakeSpan(again), &loss)
                  .ok());
  EXPECT_EQ(again, grad);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, LstmRnnShapeTest,
    ::testing::Values(Shape{2, 1, 1, 1}, Shape{11, 9, 3, 4},
                      Shape{5, 16, 8, 3}, Shape{7, 17, 17, 2},
                      Shape{4, 100, 32, 5}, Shape{50, 5, 1, 6}),
    [](const auto& info) {
      const Shape& s = info.param;
      return absl::StrCat("V", s.v, "_H", s.h, "_B", s.b, "_K", s.k);
    });

// Central differences of the kernel's own float32 forward, step d = 2^-7.
// Error budget: the float32 loss (about K log V = 9 here) is rounded at
// ~1e-6 relative, i.e. noise ~1e-5 / (2d) ~ 7e-4 in the quotient; the
// truncation error d^2/6 |L'''| is ~1e-5. Tolerance 2e-3 absolute, and the
// whole gradient within 1% in relative norm. The theta offsets themselves
// are exact in float (d is a power of two and |theta| < 1 keeps theta +- d
// representable to within 2^-31, negligible against 2d).
TEST(LstmRnnTest, GradientMatchesFloatFiniteDifferences) {
  Window w = MakeWindow(5, 6, 4, 4, 7);
  auto rnn = LstmRnn::Create(w.config);
  ASSERT_TRUE(rnn.ok()) << rnn.status();
  std::vector<double> grad(w.config.shape.num_params());
  std::vector<float> h = w.h, c = w.c;
  double loss = 0.0;
  ASSERT_TRUE((*rnn)
                  ->ForwardBackward(w.theta, w.tokens, w.targets,
                                    absl::MakeSpan(h), absl::MakeSpan(c),
                                    absl::MakeSpan(grad), &loss)
                  .ok());
  const double d = 0x1.0p-7;
  auto forward = [&](const std::vector<double>& theta) {
    std::vector<float> hh = w.h, cc = w.c;
    double l = 0.0;
    EXPECT_TRUE((*rnn)->Forward(theta, w.tokens, w.targets,
                                absl::MakeSpan(hh), absl::MakeSpan(cc), &l)
                    .ok());
    return l;
  };
  double diff2 = 0.0, norm2 = 0.0;
  for (size_t j = 0; j < grad.size(); ++j) {
    std::vector<double> plus = w.theta, minus = w.theta;
    plus[j] += d;
    minus[j] -= d;
    const double fd = (forward(plus) - forward(minus)) / (2 * d);
    EXPECT_NEAR(grad[j], fd, 2e-3) << "parameter " << j;
    diff2 += (grad[j] - fd) * (grad[j] - fd);
    norm2 += grad[j] * grad[j];
  }
  EXPECT_LT(std::sqrt(diff2 / norm2), 1e-2);
}

// The double reference's BPTT against double central differences (h = 1e-6:
// rounding ~1e-16 * 10 / 1e-6 = 1e-9, truncation ~1e-12), tolerance 1e-7.
TEST(LstmRnnTest, ReferenceGradientMatchesDoubleFiniteDifferences) {
  Window w = MakeWindow(4, 5, 3, 4, 9);
  std::vector<double> grad;
  LstmReferenceState s = RefState(w);
  LstmReferenceUnroll(w.config.shape, 3, w.theta.data(), 4, w.tokens.data(),
                      w.targets.data(), &s, &grad);
  const double d = 1e-6;
  for (size_t j = 0; j < grad.size(); ++j) {
    std::vector<double> plus = w.theta, minus = w.theta;
    plus[j] += d;
    minus[j] -= d;
    LstmReferenceState sp = RefState(w), sm = RefState(w);
    const double lp = LstmReferenceUnroll(w.config.shape, 3, plus.data(), 4,
                                          w.tokens.data(), w.targets.data(),
                                          &sp);
    const double lm = LstmReferenceUnroll(w.config.shape, 3, minus.data(), 4,
                                          w.tokens.data(), w.targets.data(),
                                          &sm);
    EXPECT_NEAR(grad[j], (lp - lm) / (2 * d), 1e-7) << "parameter " << j;
  }
}

// Truncated BPTT: two windows with the state carried equal one reference
// run of 2K steps (forward), and each window's gradient is the reference's
// truncated gradient from the carried state.
TEST(LstmRnnTest, StateCarriesAcrossWindows) {
  Window w = MakeWindow(6, 8, 2, 3, 13);
  auto rnn = LstmRnn::Create(w.config);
  ASSERT_TRUE(rnn.ok()) << rnn.status();
  const std::vector<int32_t> tok2 = LstmTestTokens(6, 6, 99);
  const std::vector<int32_t> tgt2 = LstmTestTokens(6, 6, 98);
  std::vector<float> h = w.h, c = w.c;
  std::vector<double> g1(w.config.shape.num_params()), g2(g1.size());
  double l1 = 0.0, l2 = 0.0;
  ASSERT_TRUE((*rnn)->ForwardBackward(w.theta, w.tokens, w.targets,
                                      absl::MakeSpan(h), absl::MakeSpan(c),
                                      absl::MakeSpan(g1), &l1).ok());
  const std::vector<float> h_mid = h, c_mid = c;
  ASSERT_TRUE((*rnn)->ForwardBackward(w.theta, tok2, tgt2, absl::MakeSpan(h),
                                      absl::MakeSpan(c), absl::MakeSpan(g2),
                                      &l2).ok());
  std::vector<int32_t> all_tok = w.tokens, all_tgt = w.targets;
  all_tok.insert(all_tok.end(), tok2.begin(), tok2.end());
  all_tgt.insert(all_tgt.end(), tgt2.begin(), tgt2.end());
  LstmReferenceState s = RefState(w);
  const double ref = LstmReferenceUnroll(w.config.shape, 2, w.theta.data(), 6,
                                         all_tok.data(), all_tgt.data(), &s);
  EXPECT_NEAR(l1 + l2, ref, 1e-5);
  for (int j = 0; j < 16; ++j) EXPECT_NEAR(h[j], s.h(j / 8, j % 8), 1e-5);
  // Window 2's gradient: reference from the carried (float) mid state.
  Window w2 = w;
  w2.h = h_mid;
  w2.c = c_mid;
  LstmReferenceState s2 = RefState(w2);
  std::vector<double> ref_g2;
  LstmReferenceUnroll(w.config.shape, 2, w.theta.data(), 3, tok2.data(),
                      tgt2.data(), &s2, &ref_g2);
  for (size_t j = 0; j < g2.size(); ++j) {
    ASSERT_NEAR(g2[j], ref_g2[j], 1e-5) << j;
  }
}

TEST(LstmRnnTest, ErrorsNameTheBadValue) {
  LstmRnnConfig bad;
  bad.shape = {4, -1};
  EXPECT_NE(LstmRnn::Create(bad).status().message().find("H = -1"),
            std::string::npos);
  bad.shape = {4, 3};
  bad.seq_length = 0;
  EXPECT_NE(bad.Validate().message().find("seq_length K = 0"),
            std::string::npos);
  Window w = MakeWindow(4, 3, 2, 2, 1);
  auto rnn = LstmRnn::Create(w.config);
  ASSERT_TRUE(rnn.ok()) << rnn.status();
  double loss;
  std::vector<double> grad(w.config.shape.num_params());
  w.tokens[3] = 4;
  absl::Status s = (*rnn)->ForwardBackward(
      w.theta, w.tokens, w.targets, absl::MakeSpan(w.h), absl::MakeSpan(w.c),
      absl::MakeSpan(grad), &loss);
  EXPECT_NE(s.message().find("tokens[1][1] = 4"), std::string::npos) << s;
  w.tokens[3] = 0;
  s = (*rnn)->ForwardBackward(w.theta, w.tokens, w.targets,
                              absl::MakeSpan(w.h), absl::MakeSpan(w.c),
                              absl::MakeSpan(grad).subspan(2), &loss);
  EXPECT_NE(s.message().find("grad has"), std::string::npos) << s;
  s = (*rnn)->Forward(absl::MakeConstSpan(w.theta).subspan(1), w.tokens,
                      w.targets, absl::MakeSpan(w.h), absl::MakeSpan(w.c),
                      &loss);
  EXPECT_NE(s.message().find("theta has"), std::string::npos) << s;
}

TEST(LstmRnnTest, ReportsImplementations) {
  Window w = MakeWindow(4, 100, 32, 10, 1);
  auto rnn = LstmRnn::Create(w.config);
  ASSERT_TRUE(rnn.ok()) << rnn.status();
  const std::string info = (*rnn)->ImplementationInfo();
  EXPECT_NE(info.find("fwd="), std::string::npos) << info;
  std::printf("LstmRnn implementations: %s\n", info.c_str());
}

}  // namespace
}  // namespace es
