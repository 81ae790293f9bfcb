// Golden and behavioural tests of //experiments:fig7_mnist_lr_schedule
// (Fig. 7, MNIST LR schedule, K = 10): one --quick run (T = Q = 40, N = 4,
// 40 iterations, 2000 training images, minibatch 50, a 4 x 4 grid; ~2 s) is
// compared with testdata/fig7_mnist_lr_schedule_quick{,_grid}.csv (1e-5
// relative, float32 training) and checked for what the figure relies on.
// Skips when MNIST is missing (experiments/figure_test.h; a failure under ES_CI=1).
//
//   ES_SINGLE_DATA_DIR=<data dir> bazel test //experiments:fig7_mnist_lr_schedule_test
#include <cmath>
#include <string>

#include "experiments/figure_test.h"
#include "gtest/gtest.h"

namespace es::experiments::test {
namespace {



// Every method starts at --initial_theta (-5, -1) on the same evaluation
// inner problem, so with the same meta-loss: a sum of 40 cross-entropies,
// each below log 10 at this small LR.
TEST_F(FigureTest, MethodsStartTogether) {
  const double l0 = InitialValues(Output(), "es_single", 4, "meta_loss").at(0);
  for (const char* m : {"tes", "pes"}) {
    EXPECT_EQ(InitialValues(Output(), m, 4, "meta_loss").at(0), l0) << m;
  }
  EXPECT_GT(l0, 40 * 1.0);
  EXPECT_LT(l0, 40 * std::log(10.0));
  EXPECT_EQ(InitialValues(Output(), "es_single", 4, "theta_0").at(0), -5.0);
  EXPECT_EQ(InitialValues(Output(), "es_single", 4, "theta_1").at(0), -1.0);
}

// From a too-small learning rate every method raises the initial LR and
// lowers the meta-loss (in 40 iterations of one quick run).
TEST_F(FigureTest, EveryMethodRaisesTheLearningRate) {
  for (const char* m : {"tes", "pes", "es_single"}) {
    const double l0 = InitialValues(Output(), m, 4, "meta_loss").at(0);
    const double l1 = FinalValues(Output(), m, 4, "meta_loss").at(0);
    EXPECT_LT(l1, l0) << m;
    EXPECT_GT(FinalValues(Output(), m, 4, "theta_0").at(0), -5.0) << m;
  }
}

// The 4 x 4 grid over log init LR [-6, 0] x log decay [-3, 3]: the best
// point has an interior learning rate and beats the start; the largest LR
// (exp(0) = 1 with momentum 0.9) is far worse.
TEST_F(FigureTest, GridCoversTheLandscape) {
  ASSERT_EQ(Output("_grid").header,
            (std::vector<std::string>{"theta_0", "theta_1", "meta_loss"}));
  ASSERT_EQ(Output("_grid").rows.size(), 16u);
  double best = 1e300, best_t0 = 0.0, worst_at_max_lr = 0.0;
  for (const auto& r : Output("_grid").rows) {
    const double t0 = std::stod(r[0]), loss = std::stod(r[2]);
    if (std::isfinite(loss) && loss < best) {
      best = loss;
      best_t0 = t0;
    }
    if (t0 == 0.0) worst_at_max_lr = std::max(worst_at_max_lr, loss);
  }
  EXPECT_GT(best_t0, -6.0);
  EXPECT_LT(best_t0, 0.0);
  EXPECT_LT(best, InitialValues(Output(), "es_single", 4, "meta_loss").at(0));
  EXPECT_GT(worst_at_max_lr, 1.5 * best);
}

TEST_F(FigureTest, SidecarKeepsThePeersContract) {
  const std::string* json = &Sidecar();
  for (const char* m : {"es_single", "pes", "tes"}) {
    EXPECT_TRUE(JsonHasMethodSummary(*json, m)) << m << " in\n" << *json;
  }
}

// A network that cannot fit is refused with both numbers before training
// (docs/reliability.md), not an abort or a swap storm.
TEST_F(FigureTest, NetworkTooLargeForMemoryIsAnError) {
  const std::string dir = TestDir("fig7_too_large");
  EXPECT_EQ(RunBinary(dir, {"--hidden_sizes=65536,65536"}), 1);
  const std::string err = *ReadFile(dir + "/stderr.log");
  EXPECT_NE(err.find("4347133962 parameters each"), std::string::npos) << err;
  EXPECT_NE(err.find("--max_memory_mb"), std::string::npos) << err;
}

}  // namespace
}  // namespace es::experiments::test

