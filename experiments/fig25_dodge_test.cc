// Golden and behavioural tests of //experiments:fig25_dodge (Fig. 25,
// ES-Single vs DODGE on toy 2D, App. C.6): one --quick run (1000 outer
// iterations = 10 inner problems, seeds 0 and 1, panel (b) with the full
// D = 1000 directions, a 21 x 21 grid; about half a second) is compared with
// testdata/fig25_dodge_quick.csv and checked for the paper's three claims:
//   (a) with a small sigma ES-Single tracks DODGE (same directions) and both
//       get stuck in the chaotic region;
//   (a) with a large sigma ES-Single crosses it into the optimal region;
//   (b) with 1000 directions DODGE and ES-Single come close to exact RTRL.
// Reference values: meta-loss 2490.56 at theta_0 = log(0.01, 0.01); the
// lowest value on the Fig. 15 grid is 555.5 at theta = (2.75, -1.75); the
// gradient-based methods stall near theta_0 = 0.1-0.2 at meta-loss ~2423.
//
//   bazel test //experiments:fig25_dodge_test
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "experiments/figure_test.h"
#include "gtest/gtest.h"

namespace es::experiments::test {
namespace {

constexpr double kInitialMetaLoss = 2490.556752179354;


// max over the trace points of max(|d theta_0|, |d theta_1|) between the
// runs (a_method, a_n) and (b_method, b_n) of `seed`.
double MaxThetaGap(const std::string& a_method, int a_n,
                   const std::string& b_method, int b_n, int seed) {
  double gap = 0.0;
  for (const char* c : {"theta_0", "theta_1"}) {
    const auto a = Traces(FigureTest::Output(), a_method, a_n, c).at(seed);
    const auto b = Traces(FigureTest::Output(), b_method, b_n, c).at(seed);
    EXPECT_EQ(a.size(), b.size());
    for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
      gap = std::max(gap, std::fabs(a[i] - b[i]));
    }
  }
  return gap;
}

TEST_F(FigureTest, OutputContract) {
  EXPECT_EQ(Output().header,
            (std::vector<std::string>{"method", "num_particles", "seed",
                                      "iteration", "meta_loss", "theta_0",
                                      "theta_1"}));
  // Every configuration ran for both quick seeds, from theta_0.
  for (const auto& [m, n] : std::vector<std::pair<std::string, int>>{
           {"rtrl", 0},
           {"dodge", 1},
           {"es_single_sigma0.0001", 2},
           {"es_single_sigma0.01", 2},
           {"es_single_sigma0.3", 2},
           {"es_single_sigma1", 2},
           {"dodge", 1000},
           {"es_single_sigma0.0001", 2000}}) {
    const auto initial = InitialValues(Output(), m, n, "meta_loss");
    ASSERT_EQ(initial.size(), 2u) << m << " N=" << n;
    for (const auto& [seed, loss] : initial) {
      EXPECT_NEAR(loss, kInitialMetaLoss, 1e-6) << m << " seed " << seed;
    }
  }
  const std::string* json = &Sidecar();
  for (const char* m : {"rtrl", "dodge", "es_single_sigma0.0001",
                        "es_single_sigma1"}) {
    EXPECT_TRUE(JsonHasMethodSummary(*json, m)) << m << " in\n" << *json;
  }
  EXPECT_NE(json->find("\"git_commit\""), std::string::npos);
  const CsvTable* grid = &Output("_grid");
  EXPECT_EQ(grid->rows.size(), 21u * 21u);
}

// Fig. 25a: with sigma = 1e-4 and the same direction per inner problem,
// ES-Single's antithetic finite difference is DODGE's directional
// derivative up to O(sigma^2) terms: the two trajectories coincide (observed
// gap 1.5e-7 over 1000 iterations; tolerance 1e-4). Both stall in the
// chaotic region: the meta-loss never gets below 2400 (it starts at 2490.6;
// the optimal region is below 600).
TEST_F(FigureTest, SmallSigmaEsSingleTracksDodgeAndStalls) {
  for (int seed : {0, 1}) {
    EXPECT_LT(MaxThetaGap("es_single_sigma0.0001", 2, "dodge", 1, seed), 1e-4)
        << "seed " << seed;
    for (const auto& [m, n] : std::vector<std::pair<std::string, int>>{
             {"dodge", 1}, {"es_single_sigma0.0001", 2}}) {
      const auto loss = Traces(Output(), m, n, "meta_loss").at(seed);
      EXPECT_GT(*std::min_element(loss.begin(), loss.end()), 2400.0)
          << m << " seed " << seed;
    }
  }
}

// Fig. 25a: with sigma = 1 ES-Single crosses the chaotic band (theta_0
// around 0..2) into the optimal valley (theta_0 about 2.7): every seed ends
// with theta_0 > 2 and a meta-loss below 1000 (observed 569 and 656).
TEST_F(FigureTest, LargeSigmaEsSingleCrossesTheChaos) {
  const auto theta = FinalValues(Output(), "es_single_sigma1", 2, "theta_0");
  const auto loss = FinalValues(Output(), "es_single_sigma1", 2, "meta_loss");
  ASSERT_EQ(theta.size(), 2u);
  for (const auto& [seed, t] : theta) {
    EXPECT_GT(t, 2.0) << "seed " << seed;
    EXPECT_LT(loss.at(seed), 1000.0) << "seed " << seed;
  }
}

// Fig. 25b: with D = 1000 directions DODGE (and ES-Single with 1000 pairs on
// the same directions) stays close to exact RTRL: within 0.3 in theta over
// the whole run (observed 0.06 and 0.21, the larger along the flat
// theta_1), whereas DODGE with one direction drifts more than 3 away
// (observed 4.7 and 8.4). ES-Single N = 2000 and DODGE D = 1000 coincide.
TEST_F(FigureTest, ManyDirectionsComeCloseToRtrl) {
  for (int seed : {0, 1}) {
    EXPECT_LT(MaxThetaGap("dodge", 1000, "rtrl", 0, seed), 0.3)
        << "seed " << seed;
    EXPECT_LT(MaxThetaGap("es_single_sigma0.0001", 2000, "rtrl", 0, seed), 0.3)
        << "seed " << seed;
    EXPECT_LT(
        MaxThetaGap("es_single_sigma0.0001", 2000, "dodge", 1000, seed), 1e-4)
        << "seed " << seed;
    EXPECT_GT(MaxThetaGap("dodge", 1, "rtrl", 0, seed), 3.0) << "seed " << seed;
  }
}

}  // namespace
}  // namespace es::experiments::test

