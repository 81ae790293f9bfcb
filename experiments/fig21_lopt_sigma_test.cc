// Golden and behavioural tests of //experiments:fig21_lopt_sigma (Fig. 21,
// ES-Single meta-training the LOLv2 learned optimiser at several sigma):
// one --quick run (fig11_learned_optimizer's quick task: 784-16-10 optimisee,
// B = 32, T = 40, K = 10, N = 4 breakstep particles, 30 Adam iterations at
// 1e-2, seed 0; sigma in {1e-6, 1e-2}) is compared with
// testdata/fig21_lopt_sigma_quick{,_inner}.csv and checked for the
// mechanism: each method runs ES-Single at its own sigma from the same start.
//
// What the quick run does NOT show: the paper's "sigma = 1e-6 makes no
// progress". On this short (T = 40) inner problem the meta-loss is smooth
// and sigma = 1e-6 descends as well as 1e-2 (seed 0: 2.529 -> 2.047 and
// 2.104), so no test claims it; docs/results.md reports what the scaled run
// shows.
//
// Deterministic run; thresholds are margins below this seed's values.
// Golden tolerance 1e-5 relative (float32 on oneDNN). Skips when
// FashionMNIST is missing (fails under ES_CI=1).
//
//   bazel test //experiments:fig21_lopt_sigma_test
#include <string>
#include <vector>

#include "experiments/figure_test.h"
#include "gtest/gtest.h"

namespace es::experiments::test {
namespace {

constexpr int kN = 4;
const char* const kMethods[] = {"es_single_sigma1e-06", "es_single_sigma0.01"};

// Both start from the same optimiser; the sigmas give different runs.
TEST_F(FigureTest, EachSigmaIsItsOwnRun) {
  const double a = InitialValues(Output(), kMethods[0], kN, "meta_loss")[0];
  const double b = InitialValues(Output(), kMethods[1], kN, "meta_loss")[0];
  EXPECT_EQ(a, b);
  EXPECT_NE(FinalValues(Output(), kMethods[0], kN, "meta_loss")[0],
            FinalValues(Output(), kMethods[1], kN, "meta_loss")[0]);
  const std::string& json = Sidecar();
  EXPECT_NE(json.find("\"sigma_es_single_sigma1e-06\": 1e-06"),
            std::string::npos);
  EXPECT_NE(json.find("\"sigma_es_single_sigma0.01\": 0.01"),
            std::string::npos);
  EXPECT_NE(json.find("\"particles\": \"breakstep (App. C.2)\""),
            std::string::npos);
  for (const char* m : kMethods) EXPECT_TRUE(JsonHasMethodSummary(json, m)) << m;
}

// The paper's working scale meta-trains the optimiser (seed 0:
// 2.529 -> 2.104, -17%; required: below 95% of the start).
TEST_F(FigureTest, SigmaOneHundredthLowersTheMetaLoss) {
  const double start = InitialValues(Output(), kMethods[1], kN, "meta_loss")[0];
  const double end = FinalValues(Output(), kMethods[1], kN, "meta_loss")[0];
  EXPECT_LT(end, 0.95 * start) << "start " << start << " end " << end;
}

TEST_F(FigureTest, BadSigmasAreRejected) {
  for (const std::string& bad : {"0", "-0.01", "0.01,0.01", "x"}) {
    const std::string dir = TestDir("fig21_bad_sigmas");
    EXPECT_EQ(RunBinary(dir, {"--sigmas=" + bad}), 1) << bad;
    auto log = ReadFile(dir + "/stderr.log");
    ASSERT_TRUE(log.ok());
    EXPECT_NE(log->find("--sigmas"), std::string::npos) << bad << ": " << *log;
  }
}

}  // namespace
}  // namespace es::experiments::test
