// Golden and behavioural tests of //experiments:fig8_fmnist_telescoping
// (Fig. 8, FashionMNIST LR schedule with a telescoping final-loss target):
// one --quick run (T = Q = 40, N = 4, 40 iterations, 2000 training images, a
// 4 x 4 grid; a few seconds) is compared with
// testdata/fig8_fmnist_telescoping_quick{,_grid}.csv and checked for the
// properties the figure relies on.
//
// The binary runs with OMP_NUM_THREADS=1: its numbers do not depend on the
// thread count (checked when the goldens were made), and one thread avoids
// OpenMP barrier stalls when `bazel test` runs other tests on the 2 cores.
// Golden tolerance: 1e-5 relative (float32 training; see regenerate_hpo.sh
// for when regenerating is legitimate). Skips when FashionMNIST is missing.
//
//   bazel test //experiments:fig8_fmnist_telescoping_test
// Arguments (from BUILD): <binary> <golden csv> <golden grid csv>.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>

#include "experiments/figure_test_util.h"
#include "gtest/gtest.h"

namespace es::experiments::test {
namespace {

constexpr double kRelTol = kOneDnnRelTol;
constexpr double kAbsTol = kOneDnnAbsTol;
constexpr char kData[] = "/usr/share/datasets/fashion-mnist";

std::string g_binary, g_golden, g_golden_grid;

class Fig8Test : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!std::filesystem::exists(kData)) return;
    dir_ = new std::string(TestDir("fig8_fmnist_telescoping"));
    rc_ = RunCommand({g_binary, "--quick", "--progress=false",
                      "--out_dir=" + *dir_},
                     *dir_ + "/stderr.log");
    auto t = ReadCsv(*dir_ + "/fig8_fmnist_telescoping.csv");
    if (t.ok()) table_ = new CsvTable(*t);
    auto g = ReadCsv(*dir_ + "/fig8_fmnist_telescoping_grid.csv");
    if (g.ok()) grid_ = new CsvTable(*g);
  }
  static void TearDownTestSuite() {
    delete table_;
    delete grid_;
    delete dir_;
  }
  void SetUp() override {
    if (!std::filesystem::exists(kData)) {
      GTEST_SKIP() << "FashionMNIST not installed at " << kData
                   << " (Debian package dataset-fashion-mnist)";
    }
    ASSERT_EQ(rc_, 0) << "command: " << g_binary << " --quick --out_dir="
                      << *dir_ << " (stderr in " << *dir_ << "/stderr.log)";
    ASSERT_NE(table_, nullptr);
    ASSERT_NE(grid_, nullptr);
  }
  static std::string* dir_;
  static int rc_;
  static CsvTable* table_;
  static CsvTable* grid_;
};
std::string* Fig8Test::dir_ = nullptr;
int Fig8Test::rc_ = -1;
CsvTable* Fig8Test::table_ = nullptr;
CsvTable* Fig8Test::grid_ = nullptr;

TEST_F(Fig8Test, MatchesGoldenCsvs) {
  auto golden = ReadCsv(g_golden);
  ASSERT_TRUE(golden.ok()) << golden.status();
  absl::Status s = CompareCsv(*golden, *table_, kRelTol, kAbsTol);
  EXPECT_TRUE(s.ok()) << s.message()
                      << " (goldens: experiments/testdata/regenerate_hpo.sh)";
  auto golden_grid = ReadCsv(g_golden_grid);
  ASSERT_TRUE(golden_grid.ok()) << golden_grid.status();
  s = CompareCsv(*golden_grid, *grid_, kRelTol, kAbsTol);
  EXPECT_TRUE(s.ok()) << s.message()
                      << " (goldens: experiments/testdata/regenerate_hpo.sh)";
}

// Every method starts at --initial_theta (-5, 2) with the same
// meta-loss, and the meta-loss is a final cross-entropy (about log 10 at a
// tiny LR), not a sum over 40 steps: the telescoping sum collapses.
TEST_F(Fig8Test, StartsTogetherAndTargetsTheFinalLoss) {
  const auto tes = InitialValues(*table_, "tes", 4, "meta_loss");
  const auto pes = InitialValues(*table_, "pes", 4, "meta_loss");
  const auto single = InitialValues(*table_, "es_single", 4, "meta_loss");
  ASSERT_EQ(single.size(), 1u);
  EXPECT_EQ(tes.at(0), single.at(0));
  EXPECT_EQ(pes.at(0), single.at(0));
  EXPECT_GT(single.at(0), 0.1);
  EXPECT_LT(single.at(0), 2.5);
  EXPECT_EQ(InitialValues(*table_, "es_single", 4, "theta_0").at(0), -5.0);
  EXPECT_EQ(InitialValues(*table_, "es_single", 4, "theta_1").at(0), 2.0);
}

// From a too-small learning rate every method raises theta_0 and lowers
// the final training loss.
TEST_F(Fig8Test, EveryMethodRaisesTheLearningRate) {
  for (const char* m : {"tes", "pes", "es_single"}) {
    const double l0 = InitialValues(*table_, m, 4, "meta_loss").at(0);
    const double l1 = FinalValues(*table_, m, 4, "meta_loss").at(0);
    const double t0 = FinalValues(*table_, m, 4, "theta_0").at(0);
    EXPECT_LT(l1, l0) << m;
    EXPECT_GT(t0, -5.0) << m;
  }
}

// The 4 x 4 grid over log init LR [-6, 0] x log decay [-3, 3]: the largest
// LR (exp(0) with momentum 0.9) is worse than the best grid point, and the
// best point is interior in theta_0.
TEST_F(Fig8Test, GridCoversTheLandscape) {
  ASSERT_EQ(grid_->header,
            (std::vector<std::string>{"theta_0", "theta_1", "meta_loss"}));
  ASSERT_EQ(grid_->rows.size(), 16u);
  double best = 1e300, best_t0 = 0.0, worst_at_max_lr = 0.0;
  for (const auto& r : grid_->rows) {
    const double t0 = std::stod(r[0]), loss = std::stod(r[2]);
    if (std::isfinite(loss) && loss < best) {
      best = loss;
      best_t0 = t0;
    }
    if (t0 == 0.0) worst_at_max_lr = std::max(worst_at_max_lr, loss);
  }
  EXPECT_GT(best_t0, -6.0);
  EXPECT_LT(best_t0, 0.0);
  EXPECT_GT(worst_at_max_lr, 1.5 * best);
}

TEST_F(Fig8Test, SidecarKeepsThePeersContract) {
  auto json = ReadFile(*dir_ + "/fig8_fmnist_telescoping.json");
  ASSERT_TRUE(json.ok()) << json.status();
  for (const char* m : {"es_single", "pes", "tes"}) {
    EXPECT_TRUE(JsonHasMethodSummary(*json, m)) << m << " in\n" << *json;
  }
}

}  // namespace
}  // namespace es::experiments::test

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s <binary> <golden csv> <golden grid csv>\n",
                 argv[0]);
    return 2;
  }
  es::experiments::test::g_binary = argv[1];
  es::experiments::test::g_golden = argv[2];
  es::experiments::test::g_golden_grid = argv[3];
  setenv("OMP_NUM_THREADS", "1", 1);
  return RUN_ALL_TESTS();
}
