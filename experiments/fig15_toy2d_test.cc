// Golden and behavioural tests of //experiments:fig15_toy2d (Fig. 15, toy
// 2D regression): one --quick run (600 iterations, seeds 0 and 1, the ES
// methods and TBPTT K = 10, RTRL, UORO, a 21 x 21 grid, about 0.3 s) is
// compared with testdata/fig15_toy2d_quick.csv and checked for the paper's
// qualitative claims and the JSON contract benchmarks/peers/ relies on.
//
//   bazel test //experiments:fig15_toy2d_test
#include <cmath>
#include <cstdio>
#include <string>

#include "experiments/figure_test.h"
#include "gtest/gtest.h"

namespace es::experiments::test {
namespace {


// The landscape grid: 21 x 21 points of (theta_0, theta_1, meta_loss); at
// the corner (-8, -8) the learning rate is tiny and the meta-loss is close
// to 100 f(1, 1) = 2497.4.
TEST_F(FigureTest, WritesLandscapeGrid) {
  const CsvTable* grid = &Output("_grid");
  EXPECT_EQ(grid->header,
            (std::vector<std::string>{"theta_0", "theta_1", "meta_loss"}));
  ASSERT_EQ(grid->rows.size(), 21u * 21u);
  EXPECT_EQ(grid->rows[0][0], "-8");
  EXPECT_EQ(grid->rows[0][1], "-8");
  EXPECT_NEAR(std::stod(grid->rows[0][2]), 2497.0, 2.0);
}

// benchmarks/peers/ reads methods.<name>.{seconds_per_estimate,
// final_meta_loss} from the sidecar.
TEST_F(FigureTest, SidecarKeepsThePeersContract) {
  const std::string* json = &Sidecar();
  for (const char* m : {"es_single", "pes", "tes", "tbptt_k10", "rtrl",
                        "uoro"}) {
    EXPECT_TRUE(JsonHasMethodSummary(*json, m)) << m << " in\n" << *json;
  }
}

// ES-Single leaves the flat start region: the meta-loss (2490.6 at
// theta_0 = log(0.01, 0.01)) falls by more than a quarter for every seed.
TEST_F(FigureTest, EsSingleReducesMetaLoss) {
  const auto initial = InitialValues(Output(), "es_single", 100, "meta_loss");
  const auto final = FinalValues(Output(), "es_single", 100, "meta_loss");
  ASSERT_EQ(final.size(), 2u);
  for (const auto& [seed, loss] : final) {
    EXPECT_NEAR(initial.at(seed), 2490.556752179354, 1e-6);
    EXPECT_LT(loss, 0.75 * initial.at(seed)) << "seed " << seed;
  }
}

// The gradient-based baselines (TBPTT K = 10, RTRL, UORO) do not get past
// the chaotic band: every seed ends with theta_0 < 1 (the valley is at
// theta_0 about 2.7) and a meta-loss above 2400 (quick run: 2423-2428),
// while ES-Single has cut it by a quarter (test above).
TEST_F(FigureTest, GradientMethodsStallInTheChaos) {
  for (const char* m : {"tbptt_k10", "rtrl", "uoro"}) {
    const auto theta = FinalValues(Output(), m, 0, "theta_0");
    const auto loss = FinalValues(Output(), m, 0, "meta_loss");
    ASSERT_EQ(theta.size(), 2u) << m;
    for (const auto& [seed, t] : theta) {
      EXPECT_LT(t, 1.0) << m << " seed " << seed;
      EXPECT_GT(loss.at(seed), 2400.0) << m << " seed " << seed;
    }
  }
}

// --precision=float32: the same run on the SLEEF float32 problem starts at
// the float32 meta-loss (within inner/toy2d_test's 1e-5 relative of
// float64's 2490.5568) and ES-Single still cuts it by a quarter.
TEST_F(FigureTest, Float32PrecisionRunsAndLearns) {
  const std::string dir = TestDir("float32");
  ASSERT_EQ(RunBinary(dir, {"--precision=float32", "--methods=es_single",
                            "--grid_size=0"}),
            0);
  auto table = ReadCsv(dir + "/fig15_toy2d.csv");
  ASSERT_TRUE(table.ok()) << table.status();
  const auto initial = InitialValues(*table, "es_single", 100, "meta_loss");
  const auto final = FinalValues(*table, "es_single", 100, "meta_loss");
  ASSERT_EQ(final.size(), 2u);
  for (const auto& [seed, loss] : final) {
    EXPECT_NEAR(initial.at(seed), 2490.556752179354, 1e-5 * 2490.6);
    EXPECT_NE(initial.at(seed), 2490.556752179354);  // really float32
    EXPECT_LT(loss, 0.75 * initial.at(seed)) << "seed " << seed;
  }
}

// Bad input names the value and what is allowed.
TEST_F(FigureTest, RejectsUnknownPrecision) {
  const std::string dir = TestDir("bad_precision");
  EXPECT_EQ(RunBinary(dir, {"--precision=float16"}), 1);
  auto log = ReadFile(dir + "/stderr.log");
  ASSERT_TRUE(log.ok());
  EXPECT_NE(log->find("--precision must be float64 or float32, got \"float16\""),
            std::string::npos)
      << *log;
}

}  // namespace
}  // namespace es::experiments::test

