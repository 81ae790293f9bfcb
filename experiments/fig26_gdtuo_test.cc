// Golden and behavioural tests of //experiments:fig26_gdtuo (Fig. 26,
// hypergradient descent / GDTUO vs truncated ES and ES-Single on the MNIST
// LR schedule task): one --quick run (T = Q = 40, K = 10, N = 4, 40
// iterations, 2000 training images, minibatch 50, a 4 x 4 grid; ~3 s) is
// compared with testdata/fig26_gdtuo_quick{,_online}.csv (1e-5 relative,
// float32 training) and checked for what the figure relies on. The
// hypergradient itself is tested in mnist_hypergradient_test. Skips when
// MNIST is missing (mnist_test_util.h).
//
//   ES_SINGLE_DATA_DIR=/work/shared/data bazel test //experiments:fig26_gdtuo_test
// Arguments (from BUILD): <binary> <golden csv> <golden online csv>.
#include <cmath>
#include <string>

#include "experiments/mnist_test_util.h"
#include "gtest/gtest.h"

namespace es::experiments::test {
namespace {

constexpr char kName[] = "fig26_gdtuo";

class Fig26Test : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(TestDir(kName));
    rc_ = RunQuick(MnistTestArgs()[0], *dir_);
    const std::string base = *dir_ + "/" + kName;
    if (auto t = ReadCsv(base + ".csv"); t.ok()) table_ = new CsvTable(*t);
    if (auto t = ReadCsv(base + "_online.csv"); t.ok()) online_ = new CsvTable(*t);
  }
  static void TearDownTestSuite() {
    delete table_;
    delete online_;
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
    ASSERT_NE(online_, nullptr);
  }
  static std::string* dir_;
  static int rc_;
  static CsvTable *table_, *online_;
};
std::string* Fig26Test::dir_ = nullptr;
int Fig26Test::rc_ = -1;
CsvTable* Fig26Test::table_ = nullptr;
CsvTable* Fig26Test::online_ = nullptr;

TEST_F(Fig26Test, MatchesGoldenCsvs) {
  const std::string base = *dir_ + "/" + kName;
  EXPECT_TRUE(MatchesGolden(MnistTestArgs()[1], base + ".csv"));
  EXPECT_TRUE(MatchesGolden(MnistTestArgs()[2], base + "_online.csv"));
}

// The hypergradient methods have no particles (N = 0) and report at the ES
// methods' iterations (iteration = inner steps / K): 0, 10, ..., 40.
TEST_F(Fig26Test, HypergradientRowsAlignWithTheEsIterations) {
  for (const char* m : {"gdtuo", "gdtuo_reset"}) {
    const auto its = Traces(*table_, m, 0, "iteration").at(0);
    EXPECT_EQ(its, (std::vector<double>{0, 10, 20, 30, 40})) << m;
  }
  const auto es_its = Traces(*table_, "es_single", 4, "iteration").at(0);
  EXPECT_EQ(es_its, (std::vector<double>{0, 10, 20, 30, 40}));
}

// Same start for all four methods; every method raises the too-small LR and
// lowers the fresh-unroll meta-loss.
TEST_F(Fig26Test, EveryMethodStartsTogetherAndImproves) {
  const double l0 = InitialValues(*table_, "es_single", 4, "meta_loss").at(0);
  EXPECT_EQ(InitialValues(*table_, "tes", 4, "meta_loss").at(0), l0);
  for (const char* m : {"gdtuo", "gdtuo_reset"}) {
    EXPECT_EQ(InitialValues(*table_, m, 0, "meta_loss").at(0), l0) << m;
    EXPECT_EQ(InitialValues(*table_, m, 0, "theta_0").at(0), -5.0) << m;
    EXPECT_LT(FinalValues(*table_, m, 0, "meta_loss").at(0), l0) << m;
    EXPECT_GT(FinalValues(*table_, m, 0, "theta_0").at(0), -5.0) << m;
  }
}

// Without resets one network trains for all 400 steps, so its online
// training loss ends far below that of the network reset every T = 40 steps.
TEST_F(Fig26Test, OnlineLossShowsTheResets) {
  ASSERT_EQ(online_->header,
            (std::vector<std::string>{"method", "seed", "iteration",
                                      "online_mean_train_loss"}));
  ASSERT_EQ(online_->rows.size(), 8u);
  const double no_reset = std::stod(online_->rows[3][3]);
  const double reset = std::stod(online_->rows[7][3]);
  EXPECT_EQ(online_->rows[3][0], "gdtuo");
  EXPECT_EQ(online_->rows[7][0], "gdtuo_reset");
  EXPECT_LT(no_reset, 0.5 * reset);
}

TEST_F(Fig26Test, SidecarKeepsThePeersContract) {
  auto json = ReadFile(*dir_ + "/" + kName + ".json");
  ASSERT_TRUE(json.ok()) << json.status();
  for (const char* m : {"es_single", "tes", "gdtuo", "gdtuo_reset"}) {
    EXPECT_TRUE(JsonHasMethodSummary(*json, m)) << m << " in\n" << *json;
  }
}

}  // namespace
}  // namespace es::experiments::test

int main(int argc, char** argv) {
  return es::experiments::test::MnistFigureTestMain(
      argc, argv, 3, "<binary> <golden csv> <golden online csv>");
}
