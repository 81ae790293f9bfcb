// Golden and behavioural tests of //experiments:fig17_18_mnist_k1 (Figs. 17
// and 18, MNIST LR schedule with K = 1): one --quick run (T = Q = 40, N = 4,
// 160 iterations = 4 inner problems, 2000 training images, minibatch 50, a
// 4 x 4 grid; ~3 s) is compared with testdata/fig17_18_mnist_k1_quick{,_grid}
// .csv (1e-5 relative, float32 training) and checked for what the figures
// rely on. Skips when MNIST is missing (mnist_test_util.h).
//
//   ES_SINGLE_DATA_DIR=/work/shared/data bazel test //experiments:fig17_18_mnist_k1_test
// Arguments (from BUILD): <binary> <golden csv> <golden grid csv>.
#include <cmath>
#include <string>

#include "experiments/mnist_test_util.h"
#include "gtest/gtest.h"

namespace es::experiments::test {
namespace {

constexpr char kName[] = "fig17_18_mnist_k1";

class Fig17Test : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(TestDir(kName));
    rc_ = RunQuick(MnistTestArgs()[0], *dir_);
    auto t = ReadCsv(*dir_ + "/" + kName + ".csv");
    if (t.ok()) table_ = new CsvTable(*t);
  }
  static void TearDownTestSuite() {
    delete table_;
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
  }
  double Moved(const char* method) const {
    const double d0 = FinalValues(*table_, method, 4, "theta_0").at(0) -
                      InitialValues(*table_, method, 4, "theta_0").at(0);
    const double d1 = FinalValues(*table_, method, 4, "theta_1").at(0) -
                      InitialValues(*table_, method, 4, "theta_1").at(0);
    return std::hypot(d0, d1);
  }
  static std::string* dir_;
  static int rc_;
  static CsvTable* table_;
};
std::string* Fig17Test::dir_ = nullptr;
int Fig17Test::rc_ = -1;
CsvTable* Fig17Test::table_ = nullptr;

TEST_F(Fig17Test, MatchesGoldenCsvs) {
  EXPECT_TRUE(MatchesGolden(MnistTestArgs()[1], *dir_ + "/" + kName + ".csv"));
  EXPECT_TRUE(
      MatchesGolden(MnistTestArgs()[2], *dir_ + "/" + kName + "_grid.csv"));
}

// Truncated ES with K = 1 sees no signal at all: every particle starts the
// 1-step unroll from the shared mean state, and the unroll's loss l_t is
// measured at the weights the update starts from (inner/mlp_hpo.h), so
// L(theta + eps) = L(theta - eps) exactly, the estimate is exactly 0 and
// Adam never moves theta. (The paper: "The ES curve makes very little
// progress", Fig. 18.)
TEST_F(Fig17Test, TruncatedEsCannotMoveWithKOne) {
  for (const char* col : {"theta_0", "theta_1"}) {
    const auto trace = Traces(*table_, "tes", 4, col).at(0);
    ASSERT_EQ(trace.size(), 5u);
    for (double v : trace) EXPECT_EQ(v, trace.front()) << col;
  }
}

// Fig. 18: PES at outer LR 1e-3 moves theta about 10x less far than at 1e-2
// over the same iterations (Adam's step is proportional to its LR).
TEST_F(Fig17Test, SmallOuterLearningRateIsSlow) {
  EXPECT_GT(Moved("pes"), 0.3);
  EXPECT_LT(Moved("pes_lr_small"), 0.3 * Moved("pes"));
  EXPECT_GT(Moved("pes_lr_small"), 0.0);
}

TEST_F(Fig17Test, EsSingleLowersTheMetaLoss) {
  const double l0 = InitialValues(*table_, "es_single", 4, "meta_loss").at(0);
  for (const char* m : {"pes", "pes_lr_small", "tes"}) {
    EXPECT_EQ(InitialValues(*table_, m, 4, "meta_loss").at(0), l0) << m;
  }
  EXPECT_LT(FinalValues(*table_, "es_single", 4, "meta_loss").at(0), 0.8 * l0);
  EXPECT_GT(FinalValues(*table_, "es_single", 4, "theta_0").at(0), -5.0);
}

TEST_F(Fig17Test, SidecarKeepsThePeersContract) {
  auto json = ReadFile(*dir_ + "/" + kName + ".json");
  ASSERT_TRUE(json.ok()) << json.status();
  for (const char* m : {"es_single", "pes", "pes_lr_small", "tes"}) {
    EXPECT_TRUE(JsonHasMethodSummary(*json, m)) << m << " in\n" << *json;
  }
  EXPECT_NE(json->find("\"small_learning_rate\": 0.001"), std::string::npos)
      << *json;
}

}  // namespace
}  // namespace es::experiments::test

int main(int argc, char** argv) {
  return es::experiments::test::MnistFigureTestMain(
      argc, argv, 3, "<binary> <golden csv> <golden grid csv>");
}
