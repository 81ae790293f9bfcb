// Golden and behavioural tests of //experiments:fig19_meta_gradients (Fig.
// 19, PES vs ES-Single meta-gradients on a global learning rate): one --quick
// run (T = 40, K = 10, N = 4, 12 iterations = 3 inner problems, 2000 training
// images, minibatch 50, a 9-point grid; ~2 s) is compared with
// testdata/fig19_meta_gradients_quick{,_grads,_grid}.csv (1e-5 relative,
// float32 training) and checked for the layout the figure's plot relies on.
// Skips when MNIST is missing (experiments/figure_test.h; a failure under ES_CI=1).
//
//   ES_SINGLE_DATA_DIR=<data dir> bazel test //experiments:fig19_meta_gradients_test
#include <cmath>
#include <string>

#include "experiments/figure_test.h"
#include "gtest/gtest.h"

namespace es::experiments::test {
namespace {



// One gradient row per method and iteration; inner_step is where the
// iteration's K = 10-step unroll started, ((iteration - 1) * 10) mod 40, so
// inner problems begin at iterations 1, 5, 9 (lockstep).
TEST_F(FigureTest, GradientRowsFollowTheLockstepSchedule) {
  ASSERT_EQ(Output("_grads").header,
            (std::vector<std::string>{"method", "seed", "iteration",
                                      "inner_step", "gradient"}));
  ASSERT_EQ(Output("_grads").rows.size(), 2u * 12u);
  for (size_t r = 0; r < Output("_grads").rows.size(); ++r) {
    const auto& row = Output("_grads").rows[r];
    EXPECT_EQ(row[0], r < 12 ? "pes" : "es_single");
    const int it = std::stoi(row[2]);
    EXPECT_EQ(it, static_cast<int>(r % 12) + 1);
    EXPECT_EQ(std::stoi(row[3]), ((it - 1) * 10) % 40);
    EXPECT_TRUE(std::isfinite(std::stod(row[4])));
  }
}

// The per-iteration LR file ends where the trace ends, with alpha = exp(theta).
TEST_F(FigureTest, LearningRateFileMatchesTheTrace) {
  ASSERT_EQ(Output("_lr").rows.size(), 2u * 12u);
  for (const auto& row : Output("_lr").rows) {
    EXPECT_NEAR(std::stod(row[5]), std::exp(std::stod(row[4])),
                1e-10 * std::stod(row[5]));
  }
  EXPECT_EQ(std::stod(Output("_lr").rows[11][4]),
            FinalValues(Output(), "pes", 4, "theta_0").at(0));
  EXPECT_EQ(std::stod(Output("_lr").rows[23][4]),
            FinalValues(Output(), "es_single", 4, "theta_0").at(0));
}

// The grid search over log LR in [-8, 0]: an interior optimum; both methods
// start at log LR -6, below it, and move up.
TEST_F(FigureTest, GridHasAnInteriorOptimumAndMethodsMoveTowardsIt) {
  ASSERT_EQ(Output("_grid").header, (std::vector<std::string>{"theta_0", "meta_loss"}));
  ASSERT_EQ(Output("_grid").rows.size(), 9u);
  double best = 1e300, argmin = 0.0;
  for (const auto& r : Output("_grid").rows) {
    const double loss = std::stod(r[1]);
    if (std::isfinite(loss) && loss < best) {
      best = loss;
      argmin = std::stod(r[0]);
    }
  }
  EXPECT_GT(argmin, -6.0);
  EXPECT_LT(argmin, 0.0);
  for (const char* m : {"pes", "es_single"}) {
    EXPECT_EQ(InitialValues(Output(), m, 4, "theta_0").at(0), -6.0) << m;
    EXPECT_GT(FinalValues(Output(), m, 4, "theta_0").at(0), -6.0) << m;
  }
}

TEST_F(FigureTest, SidecarKeepsThePeersContract) {
  const std::string* json = &Sidecar();
  for (const char* m : {"es_single", "pes"}) {
    EXPECT_TRUE(JsonHasMethodSummary(*json, m)) << m << " in\n" << *json;
  }
  EXPECT_NE(json->find("\"grid_argmin_theta_0\""), std::string::npos);
}

}  // namespace
}  // namespace es::experiments::test

