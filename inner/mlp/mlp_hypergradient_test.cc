// Tests of the hypergradient-descent baseline (inner/mlp/
// mlp_hypergradient.h; Baydin et al. 2017, Chandra et al. 2022, the
// ES-Single paper's App. C.7) on a small synthetic data set (16 features, 4
// classes, labels from a fixed random linear map), so they need no MNIST:
//   * d alpha_t / d theta matches central differences of the schedule
//     (closed form in the header; double precision, tolerance 1e-7 relative);
//   * with the hyperparameters frozen (the estimate ignored), the estimator
//     trains exactly the network MlpHpoProblem::Evaluate trains: same initial
//     weights, minibatches and update, so the sum of its per-step losses
//     equals Evaluate's meta-loss on episode key MixKey(seed, 0);
//   * the 1-step-lookahead hypergradient -g_{t+1}.v_{t+1} * d alpha_t/d theta
//     matches central differences of l_{t+1} in theta_0 and theta_1 (float32
//     training: tolerance 3% relative plus a small absolute term, see the
//     test);
//   * resets: gdtuo_reset restarts after T steps, gdtuo keeps training;
//   * bad configurations are rejected with messages naming the problem;
//   * a diverging learning rate drops the step (zero gradient) and restarts.
#include "inner/mlp/mlp_hypergradient.h"

#include <cmath>
#include <cstdint>
#include <vector>

#include "estimators/philox.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace es {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kFeatures = 16;
constexpr int kClasses = 4;

struct Synthetic {
  std::vector<float> images;
  std::vector<int32_t> labels;
  MlpDataView view() const { return {images, labels, kFeatures}; }
};

Synthetic MakeData(int64_t n) {
  const RandomKey rk{7, Stream::kUser};
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

MlpHpoConfig SmallConfig(int64_t horizon) {
  MlpHpoConfig c = MlpHpoConfig::LrSchedule();
  c.hidden_sizes = {12, 8};
  c.num_classes = kClasses;
  c.batch_size = 16;
  c.measure_batch_size = 16;
  c.horizon = horizon;
  c.schedule_q = 20.0;
  return c;
}

class HypergradientTest : public ::testing::Test {
 protected:
  void SetUp() override { data_ = MakeData(512); }
  std::unique_ptr<MlpHpoProblem> Problem(const MlpHpoConfig& c) {
    auto p = MlpHpoProblem::Create(c, data_.view(), MlpDataView{});
    EXPECT_TRUE(p.ok()) << p.status();
    return std::move(*p);
  }
  std::unique_ptr<HypergradientEstimator> Estimator(const MlpHpoProblem* p,
                                                    bool reset, uint64_t seed) {
    HypergradientOptions o;
    o.reset_inner_problem = reset;
    o.seed = seed;
    auto e = HypergradientEstimator::Create(p, data_.view(), o);
    EXPECT_TRUE(e.ok()) << e.status();
    return std::move(*e);
  }
  Synthetic data_;
};

// d alpha / d theta against central differences, h = 1e-5: truncation error
// O(h^2) ~ 1e-10 relative, rounding ~1e-16 / h ~ 1e-11.
TEST_F(HypergradientTest, LearningRateGradientMatchesFiniteDifferences) {
  const MlpHpoConfig c = SmallConfig(40);
  for (int64_t t : {0, 1, 7, 39, 500}) {
    const Eigen::Vector2d theta(-2.3, 0.4);
    const Eigen::VectorXd d =
        HypergradientEstimator::LearningRateGradient(c, theta, t);
    for (int p = 0; p < 2; ++p) {
      const double h = 1e-5;
      Eigen::VectorXd a = theta, b = theta;
      a[p] += h;
      b[p] -= h;
      const double fd = (HypergradientEstimator::LearningRate(c, a, t) -
                         HypergradientEstimator::LearningRate(c, b, t)) /
                        (2 * h);
      EXPECT_NEAR(d[p], fd, 1e-7 * std::abs(fd) + 1e-15) << "t=" << t << " p=" << p;
    }
    // The schedule itself (Sec. 4.2): exp(theta_0) / (1 + t/Q)^exp(theta_1).
    EXPECT_NEAR(HypergradientEstimator::LearningRate(c, theta, t),
                std::exp(-2.3) / std::pow(1.0 + t / 20.0, std::exp(0.4)),
                1e-15);
  }
  MlpHpoConfig g = c;
  g.parametrization = MlpHpoConfig::Parametrization::kGlobalLr;
  const Eigen::VectorXd d = HypergradientEstimator::LearningRateGradient(
      g, Eigen::VectorXd::Constant(1, -1.0), 9);
  ASSERT_EQ(d.size(), 1);
  EXPECT_DOUBLE_EQ(d[0], std::exp(-1.0));
}

// Frozen theta: the estimator's network is MlpHpoProblem's network.
TEST_F(HypergradientTest, FrozenThetaTrainsTheProblemsNetwork) {
  const int64_t T = 30;
  auto problem = Problem(SmallConfig(T));
  const uint64_t seed = 3;
  auto est = Estimator(problem.get(), /*reset=*/true, seed);
  const Eigen::Vector2d theta(-1.5, 0.2);
  double sum = 0.0;
  for (int64_t t = 0; t < T; ++t) {
    auto e = est->Step(theta);
    ASSERT_TRUE(e.ok()) << e.status();
    EXPECT_EQ(e->episodes_started, t == 0 ? 1 : 0);
    EXPECT_EQ(e->particle_steps, 1);
    sum += e->mean_loss;
  }
  auto ref = problem->Evaluate(theta, T, MixKey(seed, 0));
  ASSERT_TRUE(ref.ok()) << ref.status();
  EXPECT_NEAR(sum, *ref, 1e-9 * std::abs(*ref)) << "sum of l_t over " << T
                                                << " steps";
  EXPECT_LT(sum / T, std::log(static_cast<double>(kClasses)));
}

// The 1-step lookahead: the hypergradient returned by step t equals
// d l_{t+1} / d theta with every other step's theta held fixed. l_{t+1} is
// the loss the NEXT step reports (at w_{t+1}, before its update). Central
// differences in theta with h = 2e-3: curvature error O(h^2) ~ 4e-6
// relative; float32 rounding of l (~2e-7 relative of l ~ 1) divided by 2h
// gives ~5e-5 absolute; the 3% + 2e-4 tolerance is far below the error of a
// missing momentum term or a wrong sign (O(100%)).
TEST_F(HypergradientTest, HypergradientMatchesFiniteDifferences) {
  auto problem = Problem(SmallConfig(40));
  const Eigen::Vector2d base(-1.2, 0.3);
  auto loss_after = [&](int64_t t, const Eigen::VectorXd& theta_t,
                        Eigen::VectorXd* gradient) {
    auto est = Estimator(problem.get(), true, 11);
    for (int64_t s = 0; s < t; ++s) EXPECT_TRUE(est->Step(base).ok());
    auto e = est->Step(theta_t);
    EXPECT_TRUE(e.ok());
    if (gradient != nullptr) *gradient = e->gradient;
    auto next = est->Step(base);
    EXPECT_TRUE(next.ok());
    return next->mean_loss;
  };
  for (int64_t t : {0, 5, 17}) {
    Eigen::VectorXd g;
    loss_after(t, base, &g);
    ASSERT_EQ(g.size(), 2);
    for (int p = 0; p < 2; ++p) {
      if (t == 0 && p == 1) {
        EXPECT_EQ(g[1], 0.0) << "alpha_0 does not depend on the decay";
        continue;
      }
      const double h = 2e-3;
      Eigen::VectorXd a = base, b = base;
      a[p] += h;
      b[p] -= h;
      const double fd = (loss_after(t, a, nullptr) - loss_after(t, b, nullptr)) / (2 * h);
      EXPECT_NEAR(g[p], fd, 0.03 * std::abs(fd) + 2e-4)
          << "t=" << t << " theta_" << p << " hypergradient " << g[p]
          << " vs central difference " << fd;
      EXPECT_GT(std::abs(fd), 1e-3) << "the test needs a non-trivial slope";
    }
  }
}

TEST_F(HypergradientTest, ResetsOnlyWhenAskedTo) {
  const int64_t T = 8;
  auto problem = Problem(SmallConfig(T));
  const Eigen::Vector2d theta(-1.5, 0.0);
  auto with_reset = Estimator(problem.get(), true, 0);
  auto online = Estimator(problem.get(), false, 0);
  EXPECT_EQ(with_reset->name(), "gdtuo_reset");
  EXPECT_EQ(online->name(), "gdtuo");
  for (int64_t s = 0; s < 3 * T; ++s) {
    auto a = with_reset->Step(theta);
    auto b = online->Step(theta);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(a->episodes_started, s % T == 0 ? 1 : 0) << "step " << s;
    EXPECT_EQ(b->episodes_started, s == 0 ? 1 : 0) << "step " << s;
    if (s < T) {
      EXPECT_EQ(a->mean_loss, b->mean_loss) << "same first episode, step " << s;
    }
  }
  EXPECT_EQ(with_reset->step(), T);
  EXPECT_EQ(online->step(), 3 * T);
  // A restarted episode begins with v = 0.
  with_reset->RestartInnerProblems();
  ASSERT_TRUE(with_reset->Step(theta).ok());
  EXPECT_EQ(with_reset->step(), 1);
}

TEST_F(HypergradientTest, RejectsWhatItCannotDifferentiate) {
  MlpHpoConfig per_block = SmallConfig(10);
  per_block.parametrization = MlpHpoConfig::Parametrization::kPerBlock;
  auto p1 = Problem(per_block);
  auto e1 = HypergradientEstimator::Create(p1.get(), data_.view(), {});
  ASSERT_FALSE(e1.ok());
  EXPECT_THAT(e1.status().message(), HasSubstr("kPerBlock"));

  MlpHpoConfig valid = SmallConfig(10);
  valid.objective = MlpHpoConfig::Objective::kSumValidationLoss;
  auto p2 = MlpHpoProblem::Create(valid, data_.view(), data_.view());
  ASSERT_TRUE(p2.ok());
  auto e2 = HypergradientEstimator::Create(p2->get(), data_.view(), {});
  ASSERT_FALSE(e2.ok());
  EXPECT_THAT(e2.status().message(), HasSubstr("kSumTrainLoss"));

  auto p3 = Problem(SmallConfig(10));
  Synthetic other = data_;
  MlpDataView wrong{other.images, other.labels, 8};
  auto e3 = HypergradientEstimator::Create(p3.get(), wrong, {});
  ASSERT_FALSE(e3.ok());
  EXPECT_THAT(e3.status().message(), HasSubstr("features"));
  auto e4 = HypergradientEstimator::Create(nullptr, data_.view(), {});
  EXPECT_FALSE(e4.ok());
}

// alpha = 1e30 blows the weights up to inf within a few steps:
// the step is dropped (zero gradient, finite), the network restarts.
TEST_F(HypergradientTest, DivergenceDropsTheStepAndRestarts) {
  auto problem = Problem(SmallConfig(50));
  auto est = Estimator(problem.get(), true, 0);
  const Eigen::Vector2d theta(std::log(1e30), 0.0);
  bool dropped = false;
  for (int s = 0; s < 50 && !dropped; ++s) {
    auto e = est->Step(theta);
    ASSERT_TRUE(e.ok()) << e.status();
    ASSERT_TRUE(e->gradient.allFinite());
    if (e->dropped_pairs == 1) {
      dropped = true;
      EXPECT_EQ(e->gradient.norm(), 0.0);
    }
  }
  ASSERT_TRUE(dropped) << "alpha = 1e30 never diverged";
  EXPECT_EQ(est->total_dropped_pairs(), 1);
  auto e = est->Step(Eigen::Vector2d(-2.0, 0.0));
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->episodes_started, 1);
  EXPECT_TRUE(std::isfinite(e->mean_loss));
}

}  // namespace
}  // namespace es
