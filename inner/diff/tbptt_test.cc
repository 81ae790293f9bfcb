// TBPTT (tbptt.h): with K = T it is the exact gradient of the inner problem
// and equals RTRL at the end of the inner problem; with K < T it equals the
// gradient of the K-step loss from a frozen start state (checked by finite
// differences), and on influence balancing (Sec. 4.1) short truncations get
// the sign of the long-horizon gradient wrong.
#include "estimators/gradient/tbptt.h"

#include <cmath>

#include "estimators/gradient/rtrl.h"
#include "estimators/testing/gradient_testing_problems.h"
#include "gtest/gtest.h"
#include "inner/diff/influence_balancing_diff.h"
#include "inner/diff/toy2d_diff.h"

namespace es {
namespace {

void ExpectNearRelative(const Eigen::VectorXd& got, const Eigen::VectorXd& want,
                        double rtol) {
  ASSERT_EQ(got.size(), want.size());
  const double scale = std::max(1.0, want.cwiseAbs().maxCoeff());
  for (int i = 0; i < got.size(); ++i) {
    EXPECT_NEAR(got[i], want[i], rtol * scale) << "coordinate " << i;
  }
}

TEST(Tbptt, FullTruncationEqualsRtrl) {
  Toy2dDiff toy;
  test::TanhRnn rnn(20);
  const DifferentiableProblem* problems[] = {&toy, &rnn};
  for (const DifferentiableProblem* problem : problems) {
    const int T = static_cast<int>(problem->horizon());
    Eigen::VectorXd theta = Eigen::VectorXd::LinSpaced(
        problem->theta_dim(), -2.5, -1.5);
    auto tbptt = Tbptt::Create(problem, TbpttOptions{T});
    auto rtrl = Rtrl::Create(problem, RtrlOptions{T});
    ASSERT_TRUE(tbptt.ok() && rtrl.ok());
    EXPECT_EQ((*tbptt)->name(), "tbptt_k" + std::to_string(T));
    for (int episode = 0; episode < 2; ++episode) {
      auto a = (*tbptt)->Step(theta);
      auto b = (*rtrl)->Step(theta);
      ASSERT_TRUE(a.ok() && b.ok());
      SCOPED_TRACE(problem->name());
      ExpectNearRelative(a->gradient, b->gradient, 1e-12);
      EXPECT_DOUBLE_EQ(a->mean_loss, b->mean_loss);
    }
  }
}

TEST(Tbptt, TruncatedGradientFreezesTheStartState) {
  // Second unroll of K = 10 on toy 2D: the gradient of L_11 + .. + L_20 with
  // s_10 held fixed, by central differences from a frozen copy of s_10.
  Toy2dDiff problem;
  const Eigen::VectorXd theta = Eigen::Vector2d(-1.2, -0.8);
  auto est = Tbptt::Create(&problem, TbpttOptions{10});
  ASSERT_TRUE(est.ok());
  ASSERT_TRUE((*est)->Step(theta).ok());
  const Eigen::VectorXd s10 = (*est)->state();
  auto e = (*est)->Step(theta);
  ASSERT_TRUE(e.ok());
  auto unroll_loss = [&](const Eigen::VectorXd& th) {
    Eigen::VectorXd s = s10, next(2);
    double total = 0.0;
    for (int t = 10; t < 20; ++t) {
      total += problem.Advance(s, th, t, 0, next);
      s.swap(next);
    }
    return total;
  };
  Eigen::VectorXd fd(2);
  const double h = 1e-6;
  for (int i = 0; i < 2; ++i) {
    Eigen::VectorXd p = theta, m = theta;
    p[i] += h;
    m[i] -= h;
    fd[i] = (unroll_loss(p) - unroll_loss(m)) / (2 * h);
  }
  EXPECT_NEAR(e->mean_loss, unroll_loss(theta), 1e-12 * unroll_loss(theta));
  ExpectNearRelative(e->gradient, fd, 1e-6);
}

TEST(Tbptt, ShortTruncationHasTheWrongSignOnInfluenceBalancing) {
  // After a long warm-up at theta = 0.5 (s[0] near its steady state -3), the
  // true online gradient (RTRL) is positive (decreasing theta lowers the
  // loss), while TBPTT with K = 1 sees only the +theta on s[0] and says
  // "increase theta" (negative gradient). Fig. 5a: TBPTT moves the wrong way.
  InfluenceBalancingDiff problem;
  Eigen::VectorXd theta(1);
  theta[0] = 0.5;
  auto rtrl = Rtrl::Create(&problem, RtrlOptions{1});
  auto tbptt = Tbptt::Create(&problem, TbpttOptions{1});
  ASSERT_TRUE(rtrl.ok() && tbptt.ok());
  Estimate r, t;
  for (int i = 0; i < 200; ++i) {
    r = *(*rtrl)->Step(theta);
    t = *(*tbptt)->Step(theta);
  }
  EXPECT_GT(r.gradient[0], 0.0);
  EXPECT_LT(t.gradient[0], 0.0);
}

}  // namespace
}  // namespace es
