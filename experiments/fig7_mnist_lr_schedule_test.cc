// Golden and behavioural tests of //experiments:fig7_mnist_lr_schedule
// (Fig. 7, MNIST LR schedule, K = 10): one --quick run (T = Q = 40, N = 4,
// 40 iterations, 2000 training images, minibatch 50, a 4 x 4 grid; ~2 s) is
// compared with testdata/fig7_mnist_lr_schedule_quick{,_grid}.csv (1e-5
// relative, float32 training) and checked for what the figure relies on.
// Skips when MNIST is missing (mnist_test_util.h).
//
//   ES_SINGLE_DATA_DIR=/work/shared/data bazel test //experiments:fig7_mnist_lr_schedule_test
// Arguments (from BUILD): <binary> <golden csv> <golden grid csv>.
#include <cmath>
#include <string>

#include "experiments/mnist_test_util.h"
#include "gtest/gtest.h"

namespace es::experiments::test {
namespace {

constexpr char kName[] = "fig7_mnist_lr_schedule";

class Fig7Test : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(TestDir(kName));
    rc_ = RunQuick(MnistTestArgs()[0], *dir_);
    auto t = ReadCsv(*dir_ + "/" + kName + ".csv");
    if (t.ok()) table_ = new CsvTable(*t);
    auto g = ReadCsv(*dir_ + "/" + kName + "_grid.csv");
    if (g.ok()) grid_ = new CsvTable(*g);
  }
  static void TearDownTestSuite() {
    delete table_;
    delete grid_;
    delete dir_;
  }
  void SetUp() override {
    if (const std::string why = MnistSkipReason(); !why.empty()) {
      GTEST_SKIP() << why;
    }
    ASSERT_EQ(rc_, 0) << "command: " << MnistTestArgs()[0]
                      << " --quick --out_dir=" << *dir_ << " (stderr in "
                      << *dir_ << "/stderr.log)";
    ASSERT_NE(table_, nullptr);
    ASSERT_NE(grid_, nullptr);
  }
  static std::string* dir_;
  static int rc_;
  static CsvTable* table_;
  static CsvTable* grid_;
};
std::string* Fig7Test::dir_ = nullptr;
int Fig7Test::rc_ = -1;
CsvTable* Fig7Test::table_ = nullptr;
CsvTable* Fig7Test::grid_ = nullptr;

TEST_F(Fig7Test, MatchesGoldenCsvs) {
  EXPECT_TRUE(MatchesGolden(MnistTestArgs()[1], *dir_ + "/" + kName + ".csv"));
  EXPECT_TRUE(
      MatchesGolden(MnistTestArgs()[2], *dir_ + "/" + kName + "_grid.csv"));
}

// Every method starts at --initial_theta (-5, -1) on the same evaluation
// inner problem, so with the same meta-loss: a sum of 40 cross-entropies,
// each below log 10 at this small LR.
TEST_F(Fig7Test, MethodsStartTogether) {
  const double l0 = InitialValues(*table_, "es_single", 4, "meta_loss").at(0);
  for (const char* m : {"tes", "pes"}) {
    EXPECT_EQ(InitialValues(*table_, m, 4, "meta_loss").at(0), l0) << m;
  }
  EXPECT_GT(l0, 40 * 1.0);
  EXPECT_LT(l0, 40 * std::log(10.0));
  EXPECT_EQ(InitialValues(*table_, "es_single", 4, "theta_0").at(0), -5.0);
  EXPECT_EQ(InitialValues(*table_, "es_single", 4, "theta_1").at(0), -1.0);
}

// From a too-small learning rate every method raises the initial LR and
// lowers the meta-loss (in 40 iterations of one quick run).
TEST_F(Fig7Test, EveryMethodRaisesTheLearningRate) {
  for (const char* m : {"tes", "pes", "es_single"}) {
    const double l0 = InitialValues(*table_, m, 4, "meta_loss").at(0);
    const double l1 = FinalValues(*table_, m, 4, "meta_loss").at(0);
    EXPECT_LT(l1, l0) << m;
    EXPECT_GT(FinalValues(*table_, m, 4, "theta_0").at(0), -5.0) << m;
  }
}

// The 4 x 4 grid over log init LR [-6, 0] x log decay [-3, 3]: the best
// point has an interior learning rate and beats the start; the largest LR
// (exp(0) = 1 with momentum 0.9) is far worse.
TEST_F(Fig7Test, GridCoversTheLandscape) {
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
  EXPECT_LT(best, InitialValues(*table_, "es_single", 4, "meta_loss").at(0));
  EXPECT_GT(worst_at_max_lr, 1.5 * best);
}

TEST_F(Fig7Test, SidecarKeepsThePeersContract) {
  auto json = ReadFile(*dir_ + "/" + kName + ".json");
  ASSERT_TRUE(json.ok()) << json.status();
  for (const char* m : {"es_single", "pes", "tes"}) {
    EXPECT_TRUE(JsonHasMethodSummary(*json, m)) << m << " in\n" << *json;
  }
}

}  // namespace
}  // namespace es::experiments::test

int main(int argc, char** argv) {
  return es::experiments::test::MnistFigureTestMain(
      argc, argv, 3, "<binary> <golden csv> <golden grid csv>");
}
