// Golden and behavioural tests of //experiments:fig15_toy2d (Fig. 15, toy
// 2D regression): one --quick run (600 iterations, seeds 0 and 1, the ES
// methods and TBPTT K = 10, RTRL, UORO, a 21 x 21 grid, about 0.3 s) is
// compared with testdata/fig15_toy2d_quick.csv and checked for the paper's
// qualitative claims and the JSON contract benchmarks/peers/ relies on.
//
//   bazel test //experiments:fig15_toy2d_test
// Arguments (from BUILD): <binary> <golden csv>.
#include <cmath>
#include <cstdio>
#include <string>

#include "experiments/figure_test_util.h"
#include "gtest/gtest.h"

namespace es::experiments::test {
namespace {

std::string g_binary, g_golden;

class Fig15Toy2dTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(TestDir("fig15_toy2d"));
    rc_ = RunCommand({g_binary, "--quick", "--progress=false",
                      "--out_dir=" + *dir_},
                     *dir_ + "/stderr.log");
    auto t = ReadCsv(*dir_ + "/fig15_toy2d.csv");
    if (t.ok()) table_ = new CsvTable(*t);
  }
  static void TearDownTestSuite() {
    delete table_;
    delete dir_;
  }
  void SetUp() override {
    ASSERT_EQ(rc_, 0) << "command: " << g_binary << " --quick --out_dir="
                      << *dir_ << " (stderr in " << *dir_ << "/stderr.log)";
    ASSERT_NE(table_, nullptr);
  }
  static std::string* dir_;
  static int rc_;
  static CsvTable* table_;
};
std::string* Fig15Toy2dTest::dir_ = nullptr;
int Fig15Toy2dTest::rc_ = -1;
CsvTable* Fig15Toy2dTest::table_ = nullptr;

TEST_F(Fig15Toy2dTest, MatchesGoldenCsv) {
  auto golden = ReadCsv(g_golden);
  ASSERT_TRUE(golden.ok()) << golden.status();
  const absl::Status s =
      CompareCsv(*golden, *table_, kGoldenRelTol, kGoldenAbsTol);
  EXPECT_TRUE(s.ok()) << s.message();
}

// The landscape grid: 21 x 21 points of (theta_0, theta_1, meta_loss); at
// the corner (-8, -8) the learning rate is tiny and the meta-loss is close
// to 100 f(1, 1) = 2497.4.
TEST_F(Fig15Toy2dTest, WritesLandscapeGrid) {
  auto grid = ReadCsv(*dir_ + "/fig15_toy2d_grid.csv");
  ASSERT_TRUE(grid.ok()) << grid.status();
  EXPECT_EQ(grid->header,
            (std::vector<std::string>{"theta_0", "theta_1", "meta_loss"}));
  ASSERT_EQ(grid->rows.size(), 21u * 21u);
  EXPECT_EQ(grid->rows[0][0], "-8");
  EXPECT_EQ(grid->rows[0][1], "-8");
  EXPECT_NEAR(std::stod(grid->rows[0][2]), 2497.0, 2.0);
}

// benchmarks/peers/ reads methods.<name>.{seconds_per_estimate,
// final_meta_loss} from the sidecar.
TEST_F(Fig15Toy2dTest, SidecarKeepsThePeersContract) {
  auto json = ReadFile(*dir_ + "/fig15_toy2d.json");
  ASSERT_TRUE(json.ok()) << json.status();
  for (const char* m : {"es_single", "pes", "tes", "tbptt_k10", "rtrl",
                        "uoro"}) {
    EXPECT_TRUE(JsonHasMethodSummary(*json, m)) << m << " in\n" << *json;
  }
}

// ES-Single leaves the flat start region: the meta-loss (2490.6 at
// theta_0 = log(0.01, 0.01)) falls by more than a quarter for every seed.
TEST_F(Fig15Toy2dTest, EsSingleReducesMetaLoss) {
  const auto initial = InitialValues(*table_, "es_single", 100, "meta_loss");
  const auto final = FinalValues(*table_, "es_single", 100, "meta_loss");
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
TEST_F(Fig15Toy2dTest, GradientMethodsStallInTheChaos) {
  for (const char* m : {"tbptt_k10", "rtrl", "uoro"}) {
    const auto theta = FinalValues(*table_, m, 0, "theta_0");
    const auto loss = FinalValues(*table_, m, 0, "meta_loss");
    ASSERT_EQ(theta.size(), 2u) << m;
    for (const auto& [seed, t] : theta) {
      EXPECT_LT(t, 1.0) << m << " seed " << seed;
      EXPECT_GT(loss.at(seed), 2400.0) << m << " seed " << seed;
    }
  }
}

}  // namespace
}  // namespace es::experiments::test

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s <fig15_toy2d binary> <golden csv>\n",
                 argv[0]);
    return 2;
  }
  es::experiments::test::g_binary = argv[1];
  es::experiments::test::g_golden = argv[2];
  return RUN_ALL_TESTS();
}
