// Golden and behavioural tests of //experiments:fig17_18_mnist_k1 (Figs. 17
// and 18, MNIST LR schedule with K = 1): one --quick run (T = Q = 40, N = 4,
// 160 iterations = 4 inner problems, 2000 training images, minibatch 50, a
// 4 x 4 grid; ~3 s) is compared with testdata/fig17_18_mnist_k1_quick{,_grid}
// .csv (1e-5 relative, float32 training) and checked for what the figures
// rely on. Skips when MNIST is missing (experiments/figure_test.h; a failure under ES_CI=1).
//
//   ES_SINGLE_DATA_DIR=<data dir> bazel test //experiments:fig17_18_mnist_k1_test
#include <cmath>
#include <string>

#include "experiments/figure_test.h"
#include "gtest/gtest.h"

namespace es::experiments::test {
namespace {


// Distance theta moved from its initial to its final value (N = 4).
double Moved(const char* method) {
  const auto& table = FigureTest::Output();
  const double d0 = FinalValues(table, method, 4, "theta_0").at(0) -
                    InitialValues(table, method, 4, "theta_0").at(0);
  const double d1 = FinalValues(table, method, 4, "theta_1").at(0) -
                    InitialValues(table, method, 4, "theta_1").at(0);
  return std::hypot(d0, d1);
}


// Truncated ES with K = 1 sees no signal at all: every particle starts the
// 1-step unroll from the shared mean state, and the unroll's loss l_t is
// measured at the weights the update starts from (inner/mlp/mlp_hpo.h), so
// L(theta + eps) = L(theta - eps) exactly, the estimate is exactly 0 and
// Adam never moves theta. (The paper: "The ES curve makes very little
// progress", Fig. 18.)
TEST_F(FigureTest, TruncatedEsCannotMoveWithKOne) {
  for (const char* col : {"theta_0", "theta_1"}) {
    const auto trace = Traces(Output(), "tes", 4, col).at(0);
    ASSERT_EQ(trace.size(), 5u);
    for (double v : trace) EXPECT_EQ(v, trace.front()) << col;
  }
}

// Fig. 18: PES at outer LR 1e-3 moves theta about 10x less far than at 1e-2
// over the same iterations (Adam's step is proportional to its LR).
TEST_F(FigureTest, SmallOuterLearningRateIsSlow) {
  EXPECT_GT(Moved("pes"), 0.3);
  EXPECT_LT(Moved("pes_lr_small"), 0.3 * Moved("pes"));
  EXPECT_GT(Moved("pes_lr_small"), 0.0);
}

TEST_F(FigureTest, EsSingleLowersTheMetaLoss) {
  const double l0 = InitialValues(Output(), "es_single", 4, "meta_loss").at(0);
  for (const char* m : {"pes", "pes_lr_small", "tes"}) {
    EXPECT_EQ(InitialValues(Output(), m, 4, "meta_loss").at(0), l0) << m;
  }
  EXPECT_LT(FinalValues(Output(), "es_single", 4, "meta_loss").at(0), 0.8 * l0);
  EXPECT_GT(FinalValues(Output(), "es_single", 4, "theta_0").at(0), -5.0);
}

TEST_F(FigureTest, SidecarKeepsThePeersContract) {
  const std::string* json = &Sidecar();
  for (const char* m : {"es_single", "pes", "pes_lr_small", "tes"}) {
    EXPECT_TRUE(JsonHasMethodSummary(*json, m)) << m << " in\n" << *json;
  }
  EXPECT_NE(json->find("\"small_learning_rate\": 0.001"), std::string::npos)
      << *json;
}

}  // namespace
}  // namespace es::experiments::test

