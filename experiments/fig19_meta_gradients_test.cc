// Golden and behavioural tests of //experiments:fig19_meta_gradients (Fig.
// 19, PES vs ES-Single meta-gradients on a global learning rate): one --quick
// run (T = 40, K = 10, N = 4, 12 iterations = 3 inner problems, 2000 training
// images, minibatch 50, a 9-point grid; ~2 s) is compared with
// testdata/fig19_meta_gradients_quick{,_grads,_grid}.csv (1e-5 relative,
// float32 training) and checked for the layout the figure's plot relies on.
// Skips when MNIST is missing (mnist_test_util.h).
//
//   ES_SINGLE_DATA_DIR=/work/shared/data bazel test //experiments:fig19_meta_gradients_test
// Arguments (from BUILD): <binary> <golden csv> <golden grads csv>
// <golden grid csv>.
#include <cmath>
#include <string>

#include "experiments/mnist_test_util.h"
#include "gtest/gtest.h"

namespace es::experiments::test {
namespace {

constexpr char kName[] = "fig19_meta_gradients";

class Fig19Test : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(TestDir(kName));
    rc_ = RunQuick(MnistTestArgs()[0], *dir_);
    const std::string base = *dir_ + "/" + kName;
    if (auto t = ReadCsv(base + ".csv"); t.ok()) table_ = new CsvTable(*t);
    if (auto t = ReadCsv(base + "_grads.csv"); t.ok()) grads_ = new CsvTable(*t);
    if (auto t = ReadCsv(base + "_lr.csv"); t.ok()) lrs_ = new CsvTable(*t);
    if (auto t = ReadCsv(base + "_grid.csv"); t.ok()) grid_ = new CsvTable(*t);
  }
  static void TearDownTestSuite() {
    delete table_;
    delete grads_;
    delete lrs_;
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
    ASSERT_NE(grads_, nullptr);
    ASSERT_NE(lrs_, nullptr);
    ASSERT_NE(grid_, nullptr);
  }
  static std::string* dir_;
  static int rc_;
  static CsvTable *table_, *grads_, *lrs_, *grid_;
};
std::string* Fig19Test::dir_ = nullptr;
int Fig19Test::rc_ = -1;
CsvTable* Fig19Test::table_ = nullptr;
CsvTable* Fig19Test::grads_ = nullptr;
CsvTable* Fig19Test::lrs_ = nullptr;
CsvTable* Fig19Test::grid_ = nullptr;

TEST_F(Fig19Test, MatchesGoldenCsvs) {
  const std::string base = *dir_ + "/" + kName;
  EXPECT_TRUE(MatchesGolden(MnistTestArgs()[1], base + ".csv"));
  EXPECT_TRUE(MatchesGolden(MnistTestArgs()[2], base + "_grads.csv"));
  EXPECT_TRUE(MatchesGolden(MnistTestArgs()[3], base + "_grid.csv"));
}

// One gradient row per method and iteration; inner_step is where the
// iteration's K = 10-step unroll started, ((iteration - 1) * 10) mod 40, so
// inner problems begin at iterations 1, 5, 9 (lockstep).
TEST_F(Fig19Test, GradientRowsFollowTheLockstepSchedule) {
  ASSERT_EQ(grads_->header,
            (std::vector<std::string>{"method", "seed", "iteration",
                                      "inner_step", "gradient"}));
  ASSERT_EQ(grads_->rows.size(), 2u * 12u);
  for (size_t r = 0; r < grads_->rows.size(); ++r) {
    const auto& row = grads_->rows[r];
    EXPECT_EQ(row[0], r < 12 ? "pes" : "es_single");
    const int it = std::stoi(row[2]);
    EXPECT_EQ(it, static_cast<int>(r % 12) + 1);
    EXPECT_EQ(std::stoi(row[3]), ((it - 1) * 10) % 40);
    EXPECT_TRUE(std::isfinite(std::stod(row[4])));
  }
}

// The per-iteration LR file ends where the trace ends, with alpha = exp(theta).
TEST_F(Fig19Test, LearningRateFileMatchesTheTrace) {
  ASSERT_EQ(lrs_->rows.size(), 2u * 12u);
  for (const auto& row : lrs_->rows) {
    EXPECT_NEAR(std::stod(row[5]), std::exp(std::stod(row[4])),
                1e-10 * std::stod(row[5]));
  }
  EXPECT_EQ(std::stod(lrs_->rows[11][4]),
            FinalValues(*table_, "pes", 4, "theta_0").at(0));
  EXPECT_EQ(std::stod(lrs_->rows[23][4]),
            FinalValues(*table_, "es_single", 4, "theta_0").at(0));
}

// The grid search over log LR in [-8, 0]: an interior optimum; both methods
// start at log LR -6, below it, and move up.
TEST_F(Fig19Test, GridHasAnInteriorOptimumAndMethodsMoveTowardsIt) {
  ASSERT_EQ(grid_->header, (std::vector<std::string>{"theta_0", "meta_loss"}));
  ASSERT_EQ(grid_->rows.size(), 9u);
  double best = 1e300, argmin = 0.0;
  for (const auto& r : grid_->rows) {
    const double loss = std::stod(r[1]);
    if (std::isfinite(loss) && loss < best) {
      best = loss;
      argmin = std::stod(r[0]);
    }
  }
  EXPECT_GT(argmin, -6.0);
  EXPECT_LT(argmin, 0.0);
  for (const char* m : {"pes", "es_single"}) {
    EXPECT_EQ(InitialValues(*table_, m, 4, "theta_0").at(0), -6.0) << m;
    EXPECT_GT(FinalValues(*table_, m, 4, "theta_0").at(0), -6.0) << m;
  }
}

TEST_F(Fig19Test, SidecarKeepsThePeersContract) {
  auto json = ReadFile(*dir_ + "/" + kName + ".json");
  ASSERT_TRUE(json.ok()) << json.status();
  for (const char* m : {"es_single", "pes"}) {
    EXPECT_TRUE(JsonHasMethodSummary(*json, m)) << m << " in\n" << *json;
  }
  EXPECT_NE(json->find("\"grid_argmin_theta_0\""), std::string::npos);
}

}  // namespace
}  // namespace es::experiments::test

int main(int argc, char** argv) {
  return es::experiments::test::MnistFigureTestMain(
      argc, argv, 4, "<binary> <golden csv> <golden grads csv> <golden grid csv>");
}
