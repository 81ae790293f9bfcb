// Tests of the theta codec of the MLP hyperparameter problem
// (inner/mlp/mlp_hpo_codec.h):
//   * the schedule factor is exactly 1 without decay and (1 + t / Q)^-decay
//     with it;
//   * the single learning rate the hypergradient baseline uses
//     (mlp::LearningRate) equals, bit for bit, every block's rate that
//     Decode gives the problem, and its gradient matches central
//     differences (double precision, tolerance 1e-7 relative: the step
//     1e-5 leaves an O(1e-10) truncation error);
//   * per-block decoding: exp, sigmoid, widths clamped to [min, max] units,
//     every unit for a non-finite logit;
//   * ThetaDim and ThetaNames agree; SampleInitialTheta stays in App. C's
//     ranges.
#include "inner/mlp/mlp_hpo_codec.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "gtest/gtest.h"

namespace es::mlp {
namespace {

using Parametrization = MlpHpoConfig::Parametrization;

const std::vector<int64_t> kLayers = {16, 8, 6, 4};  // L = 3, H = 2

MlpHpoConfig Config(Parametrization p) {
  MlpHpoConfig c;
  c.hidden_sizes = {8, 6};
  c.num_classes = 4;
  c.parametrization = p;
  c.schedule_q = 40.0;
  c.min_units = 3;
  return c;
}

TEST(MlpHpoCodecTest, ScheduleFactor) {
  EXPECT_EQ(ScheduleFactor(0.0, 123.0, 40.0), 1.0);
  EXPECT_EQ(ScheduleFactor(1.0, 40.0, 40.0), 0.5);
  EXPECT_EQ(ScheduleFactor(2.0, 0.0, 40.0), 1.0);
  EXPECT_DOUBLE_EQ(ScheduleFactor(0.7, 10.0, 40.0), std::pow(1.25, -0.7));
}

TEST(MlpHpoCodecTest, LearningRateIsEveryBlocksDecodedRate) {
  for (Parametrization p :
       {Parametrization::kLrSchedule, Parametrization::kGlobalLr}) {
    const MlpHpoConfig c = Config(p);
    Eigen::VectorXd theta(ThetaDim(c, kLayers));
    theta[0] = std::log(0.03);
    if (theta.size() > 1) theta[1] = std::log(1.7);
    for (int64_t t : {0, 1, 17, 40, 1000}) {
      const MlpHyperparameters h = Decode(c, kLayers, theta, t);
      ASSERT_EQ(h.learning_rate.size(), 6u);
      for (double lr : h.learning_rate) {
        EXPECT_EQ(lr, LearningRate(c, theta, t)) << "t=" << t;
      }
      for (double mu : h.momentum) EXPECT_EQ(mu, c.fixed_momentum);
      const double expected = p == Parametrization::kLrSchedule
                                  ? 0.03 * std::pow(1.0 + t / 40.0, -1.7)
                                  : 0.03;
      EXPECT_NEAR(LearningRate(c, theta, t), expected, 1e-14);
    }
  }
}

TEST(MlpHpoCodecTest, LearningRateGradientMatchesCentralDifferences) {
  const MlpHpoConfig c = Config(Parametrization::kLrSchedule);
  const Eigen::Vector2d theta(std::log(0.02), std::log(0.8));
  for (int64_t t : {0, 5, 39, 200}) {
    const Eigen::VectorXd d = LearningRateGradient(c, theta, t);
    for (int p = 0; p < 2; ++p) {
      const double h = 1e-5;
      Eigen::VectorXd a = theta, b = theta;
      a[p] += h;
      b[p] -= h;
      const double fd =
          (LearningRate(c, a, t) - LearningRate(c, b, t)) / (2 * h);
      EXPECT_NEAR(d[p], fd, 1e-7 * std::abs(d[0])) << "t=" << t << " p=" << p;
    }
  }
}

TEST(MlpHpoCodecTest, PerBlockDecode) {
  const MlpHpoConfig c = Config(Parametrization::kPerBlock);
  ASSERT_EQ(ThetaDim(c, kLayers), 4 * 3 + 2);
  Eigen::VectorXd theta(14);
  for (int b = 0; b < 6; ++b) {
    theta[b] = -1.0 - b;     // log LR
    theta[6 + b] = 0.3 * b;  // logit momentum
  }
  theta[12] = 0.0;    // sigmoid 0.5: round(0.5 * 8) = 4 units
  theta[13] = -50.0;  // sigmoid ~0: clamped to min_units = 3
  const MlpHyperparameters h = Decode(c, kLayers, theta, 1000);
  for (int b = 0; b < 6; ++b) {
    EXPECT_EQ(h.learning_rate[b], std::exp(-1.0 - b)) << "no schedule";
    EXPECT_EQ(h.momentum[b], Sigmoid(0.3 * b));
  }
  EXPECT_EQ(h.active_units, (std::vector<int32_t>{4, 3}));
  EXPECT_EQ(WidthFromLogit(50.0, 6, 3), 6);
  EXPECT_EQ(WidthFromLogit(std::numeric_limits<double>::quiet_NaN(), 6, 3), 6);
  EXPECT_EQ(WidthFromLogit(-50.0, 2, 3), 2) << "min above max: max";
  EXPECT_NEAR(Sigmoid(Logit(0.2)), 0.2, 1e-15);
}

TEST(MlpHpoCodecTest, NamesAndInitialTheta) {
  for (Parametrization p :
       {Parametrization::kLrSchedule, Parametrization::kGlobalLr,
        Parametrization::kPerBlock}) {
    const MlpHpoConfig c = Config(p);
    const int P = ThetaDim(c, kLayers);
    EXPECT_EQ(static_cast<int>(ThetaNames(c, kLayers).size()), P);
    for (uint64_t i = 0; i < 20; ++i) {
      const Eigen::VectorXd theta = SampleInitialTheta(c, kLayers, 3, i);
      ASSERT_EQ(theta.size(), P);
      // Every coordinate's range lies inside (log 1e-4, log 10).
      EXPECT_GT(theta.minCoeff(), std::log(1e-4));
      EXPECT_LT(theta.maxCoeff(), std::log(10.0));
      if (p == Parametrization::kPerBlock) {
        EXPECT_LT(theta.head(6).maxCoeff(), std::log(1e-2));
        EXPECT_GT(theta.tail(2).minCoeff(), Logit(0.2));
        EXPECT_LT(theta.tail(2).maxCoeff(), Logit(0.8));
      }
    }
  }
  const MlpHpoConfig c = Config(Parametrization::kPerBlock);
  const auto names = ThetaNames(c, kLayers);
  EXPECT_EQ(names.front(), "log_lr_W0");
  EXPECT_EQ(names[6], "logit_mom_W0");
  EXPECT_EQ(names.back(), "logit_width_h2");
}

}  // namespace
}  // namespace es::mlp
