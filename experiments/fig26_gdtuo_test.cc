// Golden and behavioural tests of //experiments:fig26_gdtuo (Fig. 26,
// hypergradient descent / GDTUO vs truncated ES and ES-Single on the MNIST LR
// schedule task): one --quick run (T = Q = 40, K = 10, N = 4, 40 iterations,
// 2000 training images, minibatch 50, a 4 x 4 grid; ~3 s) is compared with
// testdata/fig26_gdtuo_quick{,_online}.csv (1e-5 relative, float32 training)
// and checked for what the figure relies on. The hypergradient itself is tested
// in //inner/mlp:mlp_hypergradient_test. Skips when MNIST is missing
// (experiments/figure_test.h; a failure under ES_CI=1).
//
//   ES_SINGLE_DATA_DIR=<data dir> bazel test //experiments:fig26_gdtuo_test
#include <cmath>
#include <string>

#include "experiments/figure_test.h"
#include "gtest/gtest.h"

namespace es::experiments::test {
namespace {



// The hypergradient methods have no particles (N = 0) and report at the ES
// methods' iterations (iteration = inner steps / K): 0, 10, ..., 40.
TEST_F(FigureTest, HypergradientRowsAlignWithTheEsIterations) {
  for (const char* m : {"gdtuo", "gdtuo_reset"}) {
    const auto its = Traces(Output(), m, 0, "iteration").at(0);
    EXPECT_EQ(its, (std::vector<double>{0, 10, 20, 30, 40})) << m;
  }
  const auto es_its = Traces(Output(), "es_single", 4, "iteration").at(0);
  EXPECT_EQ(es_its, (std::vector<double>{0, 10, 20, 30, 40}));
}

// Same start for all four methods; every method raises the too-small LR and
// lowers the fresh-unroll meta-loss.
TEST_F(FigureTest, EveryMethodStartsTogetherAndImproves) {
  const double l0 = InitialValues(Output(), "es_single", 4, "meta_loss").at(0);
  EXPECT_EQ(InitialValues(Output(), "tes", 4, "meta_loss").at(0), l0);
  for (const char* m : {"gdtuo", "gdtuo_reset"}) {
    EXPECT_EQ(InitialValues(Output(), m, 0, "meta_loss").at(0), l0) << m;
    EXPECT_EQ(InitialValues(Output(), m, 0, "theta_0").at(0), -5.0) << m;
    EXPECT_LT(FinalValues(Output(), m, 0, "meta_loss").at(0), l0) << m;
    EXPECT_GT(FinalValues(Output(), m, 0, "theta_0").at(0), -5.0) << m;
  }
}

// Without resets one network trains for all 400 steps, so its online
// training loss ends far below that of the network reset every T = 40 steps.
TEST_F(FigureTest, OnlineLossShowsTheResets) {
  ASSERT_EQ(Output("_online").header,
            (std::vector<std::string>{"method", "seed", "iteration",
                                      "online_mean_train_loss"}));
  ASSERT_EQ(Output("_online").rows.size(), 8u);
  const double no_reset = std::stod(Output("_online").rows[3][3]);
  const double reset = std::stod(Output("_online").rows[7][3]);
  EXPECT_EQ(Output("_online").rows[3][0], "gdtuo");
  EXPECT_EQ(Output("_online").rows[7][0], "gdtuo_reset");
  EXPECT_LT(no_reset, 0.5 * reset);
}

// Fig. 26's claim at quick scale: ES-Single ends with a lower fresh-unroll
// meta-loss than the online hypergradient baseline (GDTUO without resets),
// whose 1-step lookahead carries the short-horizon bias. (At this scale the
// reset variant and truncated ES are not yet separated from ES-Single;
// docs/results.md gives the scaled run.) The quick run is deterministic, so
// the comparison is exact; it fails if either method's trajectory changes
// enough to reverse the order (quick: 72.29 vs 75.65).
TEST_F(FigureTest, EsSingleEndsBelowTheOnlineHypergradientBaseline) {
  const double es = FinalValues(Output(), "es_single", 4, "meta_loss").at(0);
  const double gd = FinalValues(Output(), "gdtuo", 0, "meta_loss").at(0);
  EXPECT_LT(es, gd) << "es_single " << es << " vs gdtuo " << gd;
}

TEST_F(FigureTest, SidecarKeepsThePeersContract) {
  const std::string* json = &Sidecar();
  for (const char* m : {"es_single", "tes", "gdtuo", "gdtuo_reset"}) {
    EXPECT_TRUE(JsonHasMethodSummary(*json, m)) << m << " in\n" << *json;
  }
}

}  // namespace
}  // namespace es::experiments::test

