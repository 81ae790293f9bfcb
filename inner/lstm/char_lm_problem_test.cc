// Tests of the tiny character-level LSTM language model problem
// (char_lm_problem.h): the three text sources and their keying, Unroll
// against the double reference on the documented symbols (input x_t, target
// x_{t+1}, offsets by t0), the horizon checks, the PES-style initial theta,
// errors, and the real PTB text (fails with ES_CI=1 and no data, else
// skips). The shared behaviour (keys, sub-ranges, threads, checkpoints,
// divergence) is in lstm_problems_conformance_test.
//
// Tolerance against the double reference: 8 eps_f (H + V) K max(1, |ref|)
// (the kernels' bound, inner/kernels/batched_lstm_test.cc, doubled).
#include "inner/lstm/char_lm_problem.h"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include <Eigen/SVD>

#include "estimators/estimator_factory.h"
#include "estimators/philox.h"
#include "gtest/gtest.h"
#include "inner/kernels/batched_lstm_reference.h"

namespace es {
namespace {

using Source = CharLmConfig::Source;
using Keying = CharLmConfig::Keying;

constexpr double kEpsF = std::numeric_limits<float>::epsilon();

std::vector<int32_t> SyntheticText(int64_t n, int64_t V) {
  std::vector<int32_t> t(n);
  for (int64_t k = 0; k < n; ++k) t[k] = static_cast<int32_t>((k * 7 + k / 3) % V);
  return t;
}

std::unique_ptr<CharLmProblem> Make(CharLmConfig config,
                                    std::vector<int32_t> text = {}) {
  auto p = config.source == Source::kPtb && !text.empty()
               ? CharLmProblem::CreateWithText(config, std::move(text))
               : CharLmProblem::Create(config);
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? *std::move(p) : nullptr;
}

TEST(CharLmProblemTest, DefaultsAreTheFig1Model) {
  CharLmConfig config;
  config.source = Source::kRandom;
  auto p = Make(config);
  EXPECT_EQ(p->theta_dim(), 1440);  // 4*5*(50+5) + 8*5 + 5*50 + 50
  EXPECT_EQ(p->horizon(), 1000);
  EXPECT_EQ(p->name(), "char_lm_random_V50_H5_B1_T1000");
  auto states = p->NewStates(16);
  ASSERT_TRUE(states.ok());
  EXPECT_EQ(p->ImplementationInfo(**states), "soa");  // H = 5: SoA path
}

TEST(CharLmProblemTest, RandomSymbolsAreTheDocumentedPhiloxWords) {
  CharLmConfig config;
  config.source = Source::kRandom;
  config.keying = Keying::kEpisodeKey;
  config.batch_size = 3;
  auto p = Make(config);
  for (uint64_t key : {0u, 9u}) {
    for (int64_t b : {0, 2}) {
      for (int64_t t : {0, 1, 3, 4, 999, 1000}) {
        const auto block = RandomBlock(RandomKey{key, Stream::kMinibatch}, b,
                                       0, static_cast<uint32_t>(t / 4));
        EXPECT_EQ(p->Symbol(key, b, t),
                  static_cast<int32_t>((uint64_t{block[t % 4]} * 50) >> 32));
      }
    }
  }
  EXPECT_NE(p->Symbol(0, 0, 5) * 1000 + p->Symbol(0, 0, 6),
            p->Symbol(1, 0, 5) * 1000 + p->Symbol(1, 0, 6));
  // Uniform over the 50 symbols: chi-square, 49 dof, critical value at
  // p = 1e-4 is 94.8 (Wilson-Hilferty).
  std::vector<int64_t> counts(50, 0);
  int64_t n = 0;
  for (uint64_t key = 0; key < 20; ++key) {
    for (int64_t t = 0; t <= 1000; ++t) {
      ++counts[p->Symbol(key, 1, t)];
      ++n;
    }
  }
  double chi2 = 0.0;
  for (int64_t c : counts) chi2 += (c - n / 50.0) * (c - n / 50.0) / (n / 50.0);
  EXPECT_LT(chi2, 94.8);
}

TEST(CharLmProblemTest, FixedKeyingIgnoresTheEpisodeKey) {
  CharLmConfig config;
  config.source = Source::kRandom;  // keying kFixed, data_seed 5
  auto p = Make(config);
  for (int64_t t = 0; t <= 1000; t += 37) {
    EXPECT_EQ(p->Symbol(0, 0, t), p->Symbol(12345, 0, t));
    const auto block = RandomBlock(RandomKey{5, Stream::kMinibatch}, 0, 0,
                                   static_cast<uint32_t>(t / 4));
    EXPECT_EQ(p->Symbol(0, 0, t),
              static_cast<int32_t>((uint64_t{block[t % 4]} * 50) >> 32));
  }
}

TEST(CharLmProblemTest, RepeatAndPtbSources) {
  CharLmConfig config;
  config.source = Source::kRepeat;
  config.horizon = 50;
  auto rep = Make(config);
  for (int64_t t = 0; t <= 50; ++t) EXPECT_EQ(rep->Symbol(3, 0, t), 24);

  const std::vector<int32_t> text = SyntheticText(5000, 50);
  config.source = Source::kPtb;
  config.batch_size = 2;
  config.ptb_offset = 100;
  auto fixed = Make(config, text);
  for (int64_t b = 0; b < 2; ++b) {
    for (int64_t t = 0; t <= 50; ++t) {
      EXPECT_EQ(fixed->Symbol(8, b, t), text[100 + b * 51 + t]);
    }
  }
  config.keying = Keying::kEpisodeKey;
  auto keyed = Make(config, text);
  std::map<int64_t, int> starts;
  for (uint64_t key = 0; key < 200; ++key) {
    const int64_t s = keyed->WindowStart(key);
    ASSERT_GE(s, 0);
    ASSERT_LE(s, 5000 - 2 * 51);
    ++starts[s];
    EXPECT_EQ(keyed->Symbol(key, 1, 7), text[s + 51 + 7]);
  }
  EXPECT_GT(starts.size(), 190u);  // spread over ~4900 offsets
}

// Unroll of particle i from t0 for K steps against the reference on the
// symbols Symbol() documents.
TEST(CharLmProblemTest, UnrollMatchesTheReferenceOnTheDocumentedSymbols) {
  for (Source source : {Source::kRandom, Source::kPtb}) {
    CharLmConfig config;
    config.source = source;
    config.keying = Keying::kEpisodeKey;
    config.horizon = 12;
    config.hidden_size = 7;
    config.batch_size = 3;
    auto p = Make(config, SyntheticText(400, 50));
    const int n = 2;
    const std::vector<uint64_t> keys = {21, 22};
    auto states = p->NewStates(n);
    ASSERT_TRUE(states.ok());
    p->Reset(states->get(), {0, 1}, keys);
    RowMatrixXd thetas(n, p->theta_dim());
    const std::vector<double> v = LstmTestValues(thetas.size(), 0.5, 3);
    std::copy(v.begin(), v.end(), thetas.data());
    const LstmShape shape = config.shape();
    const int64_t B = 3, H = 7, V = 50;
    std::vector<LstmReferenceState> ref(
        n, {Eigen::MatrixXd::Zero(B, H), Eigen::MatrixXd::Zero(B, H)});
    int64_t t = 0;
    for (int K : {5, 1, 6}) {
      std::vector<int64_t> t0(n, t);
      std::vector<double> loss(n);
      ASSERT_TRUE(p->Unroll(states->get(), 0, n, thetas, t0.data(), K,
                            loss.data()).ok());
      for (int i = 0; i < n; ++i) {
        std::vector<int32_t> x(K * B), y(K * B);
        for (int k = 0; k < K; ++k) {
          for (int64_t b = 0; b < B; ++b) {
            x[k * B + b] = p->Symbol(keys[i], b, t + k);
            y[k * B + b] = p->Symbol(keys[i], b, t + k + 1);
          }
        }
        const double r = LstmReferenceUnroll(shape, B, thetas.row(i).data(), K,
                                             x.data(), y.data(), &ref[i]);
        EXPECT_NEAR(loss[i], r, 8 * kEpsF * (H + V) * K * std::max(1.0, std::abs(r)))
            << CharLmSourceName(source) << " t " << t << " particle " << i;
      }
      t += K;
    }
    EXPECT_EQ(t, 12);
  }
}

TEST(CharLmProblemTest, StepsOutsideTheHorizonAreErrors) {
  CharLmConfig config;
  config.source = Source::kRepeat;
  config.horizon = 10;
  auto p = Make(config);
  auto states = p->NewStates(2);
  ASSERT_TRUE(states.ok());
  const RowMatrixXd thetas = RowMatrixXd::Zero(2, p->theta_dim());
  std::vector<double> loss(2);
  std::vector<int64_t> t0 = {0, 8};
  absl::Status s = p->Unroll(states->get(), 0, 2, thetas, t0.data(), 3, loss.data());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("t0 = 8"), std::string::npos) << s;
  t0 = {-1, 0};
  EXPECT_FALSE(p->Unroll(states->get(), 0, 2, thetas, t0.data(), 1, loss.data()).ok());
  t0 = {7, 7};
  EXPECT_TRUE(p->Unroll(states->get(), 0, 2, thetas, t0.data(), 3, loss.data()).ok());
  // A zero-weight model predicts uniformly: ln 50 nats per step.
  EXPECT_NEAR(loss[0], 3 * std::log(50.0), 1e-5);
}

TEST(CharLmProblemTest, InitialThetaFollowsThePesInitialisation) {
  CharLmConfig config;
  config.source = Source::kRandom;
  auto p = Make(config);
  const LstmShape s = config.shape();
  const Eigen::VectorXd theta = p->InitialTheta(42);
  EXPECT_EQ(theta, p->InitialTheta(42));
  EXPECT_NE(theta, p->InitialTheta(43));
  // Biases are zero.
  for (int64_t k = s.b_x_offset(); k < s.w_o_offset(); ++k) EXPECT_EQ(theta[k], 0.0);
  for (int64_t k = s.b_o_offset(); k < s.num_params(); ++k) EXPECT_EQ(theta[k], 0.0);
  // W_h and W_o: truncated normal, |w| <= 2 sigma, sigma = 1/sqrt(5).
  const double sigma = 1 / std::sqrt(5.0);
  for (int64_t k = s.w_h_offset(); k < s.b_x_offset(); ++k) {
    EXPECT_LE(std::abs(theta[k]), 2 * sigma);
  }
  // W_x = E W_i2h has rank <= 5 (the embedding width).
  Eigen::MatrixXd w_x(50, 20);
  for (int64_t k = 0; k < 1000; ++k) w_x(k / 20, k % 20) = theta[k];
  Eigen::JacobiSVD<Eigen::MatrixXd> svd(w_x);
  EXPECT_GT(svd.singularValues()[4], 1e-3);
  EXPECT_LT(svd.singularValues()[5], 1e-12 * svd.singularValues()[0]);

  // The spread of a truncated (2 sigma) normal is 0.8796 sigma: check on a
  // wider model (W_h has 4 H^2 = 10,000 entries; standard error ~0.7%).
  config.hidden_size = 50;
  auto wide = Make(config);
  const Eigen::VectorXd tw = wide->InitialTheta(1);
  const LstmShape ws = config.shape();
  const Eigen::VectorXd w_h = tw.segment(ws.w_h_offset(), 4 * 50 * 50);
  const double sd = std::sqrt(w_h.squaredNorm() / w_h.size());
  EXPECT_NEAR(sd, 0.8796 / std::sqrt(50.0), 0.04 * 0.8796 / std::sqrt(50.0));
}

TEST(CharLmProblemTest, ConfigErrorsNameTheBadValue) {
  CharLmConfig config;
  config.vocab_size = 40;  // PTB needs 50
  EXPECT_NE(CharLmProblem::Create(config).status().message().find("V = 50"),
            std::string::npos);
  config = {};
  config.source = Source::kRepeat;
  config.repeat_token = 50;
  EXPECT_NE(CharLmProblem::Create(config).status().message().find("repeat_token"),
            std::string::npos);
  config = {};
  config.horizon = 0;
  EXPECT_NE(CharLmProblem::Create(config).status().message().find("horizon"),
            std::string::npos);
  config = {};
  config.horizon = 100;
  auto short_text = CharLmProblem::CreateWithText(config, SyntheticText(100, 50));
  EXPECT_NE(short_text.status().message().find("101 are needed"),
            std::string::npos)
      << short_text.status();
  std::vector<int32_t> bad = SyntheticText(200, 50);
  bad[17] = 50;
  auto bad_text = CharLmProblem::CreateWithText(config, bad);
  EXPECT_NE(bad_text.status().message().find("symbol 17 is 50"),
            std::string::npos)
      << bad_text.status();
  config.data_dir = "no_such_directory";
  EXPECT_EQ(CharLmProblem::Create(config).status().code(),
            absl::StatusCode::kNotFound);
}

// The Fig. 1 protocol in miniature: theta fixed, the estimates of the T / K
// unrolls of one inner problem summed, for ES-Single and PES (lockstep and
// breakstep), with two estimator threads.
TEST(CharLmProblemTest, EstimatorsRunAWholeInnerProblem) {
  CharLmConfig config;
  config.source = Source::kRandom;
  config.horizon = 20;
  auto p = Make(config);
  const Eigen::VectorXd theta = p->InitialTheta(1);
  for (const char* method : {"es_single", "pes"}) {
    for (bool breakstep : {false, true}) {
      EstimatorSpec spec;
      spec.method = method;
      spec.es.num_particles = 4;
      spec.es.sigma = 1e-3;  // PES rnn_variance.py
      spec.es.truncation = 5;
      spec.es.breakstep = breakstep;
      spec.es.num_threads = 2;
      auto est = MakeEstimator(p.get(), spec);
      ASSERT_TRUE(est.ok()) << est.status();
      Eigen::VectorXd sum = Eigen::VectorXd::Zero(p->theta_dim());
      for (int u = 0; u < 4; ++u) {
        absl::StatusOr<Estimate> e = (*est)->Step(theta);
        ASSERT_TRUE(e.ok()) << e.status();
        sum += e->gradient;
        EXPECT_NEAR(e->mean_loss, 5 * std::log(50.0), 1.0) << method;
      }
      EXPECT_TRUE(sum.allFinite());
      EXPECT_GT(sum.norm(), 0.0);
    }
  }
}

// The real text. With ES_CI=1 missing data is a failure, otherwise a skip.
TEST(CharLmProblemTest, ReadsTheRealPtbText) {
  const char* dir = std::getenv("ES_SINGLE_DATA_DIR");
  const bool ci = std::getenv("ES_CI") != nullptr &&
                  std::string(std::getenv("ES_CI")) == "1";
  if (dir == nullptr || dir[0] == '\0') {
    if (ci) FAIL() << "ES_CI=1 but ES_SINGLE_DATA_DIR is not set";
    GTEST_SKIP() << "set ES_SINGLE_DATA_DIR to the data directory (with "
                    "ptb/ptb.char.train.txt) to run this test";
  }
  CharLmConfig config;  // PTB train, offset 0, T = 1000
  auto p = CharLmProblem::Create(config);
  if (!p.ok() && absl::IsNotFound(p.status()) && !ci) {
    GTEST_SKIP() << p.status();
  }
  ASSERT_TRUE(p.ok()) << p.status();
  // The training text starts "aer banknote berlitz ...".
  std::string start;
  for (int t = 0; t < 12; ++t) start += kPtbSymbols[(*p)->Symbol(0, 0, t)];
  EXPECT_EQ(start, "aer_banknote");
  // The paper's first scenario at the PES initial weights: about ln 50 per
  // character (an untrained model), finite.
  const Eigen::VectorXd theta = (*p)->InitialTheta(0);
  absl::StatusOr<double> e = (*p)->Evaluate(theta, 0, 0);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_NEAR(*e / 1000, std::log(50.0), 0.2);
}

}  // namespace
}  // namespace es
