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
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>

#include "experiments/figure_test.h"
#include "gtest/gtest.h"

namespace es::experiments::test {
namespace {

constexpr double kRelTol = kOneDnnRelTol;
constexpr double kAbsTol = kOneDnnAbsTol;
constexpr char kData[] = "/usr/share/datasets/fashion-mnist";


// Every method starts at --initial_theta (-5, 2) with the same
// meta-loss, and the meta-loss is a final cross-entropy (about log 10 at a
// tiny LR), not a sum over 40 steps: the telescoping sum collapses.
TEST_F(FigureTest, StartsTogetherAndTargetsTheFinalLoss) {
  const auto tes = InitialValues(Output(), "tes", 4, "meta_loss");
  const auto pes = InitialValues(Output(), "pes", 4, "meta_loss");
  const auto single = InitialValues(Output(), "es_single", 4, "meta_loss");
  ASSERT_EQ(single.size(), 1u);
  EXPECT_EQ(tes.at(0), single.at(0));
  EXPECT_EQ(pes.at(0), single.at(0));
  EXPECT_GT(single.at(0), 0.1);
  EXPECT_LT(single.at(0), 2.5);
  EXPECT_EQ(InitialValues(Output(), "es_single", 4, "theta_0").at(0), -5.0);
  EXPECT_EQ(InitialValues(Output(), "es_single", 4, "theta_1").at(0), 2.0);
}

// From a too-small learning rate every method raises theta_0 and lowers
// the final training loss.
TEST_F(FigureTest, EveryMethodRaisesTheLearningRate) {
  for (const char* m : {"tes", "pes", "es_single"}) {
    const double l0 = InitialValues(Output(), m, 4, "meta_loss").at(0);
    const double l1 = FinalValues(Output(), m, 4, "meta_loss").at(0);
    const double t0 = FinalValues(Output(), m, 4, "theta_0").at(0);
    EXPECT_LT(l1, l0) << m;
    EXPECT_GT(t0, -5.0) << m;
  }
}

// The 4 x 4 grid over log init LR [-6, 0] x log decay [-3, 3]: the largest
// LR (exp(0) with momentum 0.9) is worse than the best grid point, and the
// best point is interior in theta_0.
TEST_F(FigureTest, GridCoversTheLandscape) {
  ASSERT_EQ(Output("_grid").header,
            (std::vector<std::string>{"theta_0", "theta_1", "meta_loss"}));
  ASSERT_EQ(Output("_grid").rows.size(), 16u);
  double best = 1e300, best_t0 = 0.0, worst_at_max_lr = 0.0;
  for (const auto& r : Output("_grid").rows) {
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

TEST_F(FigureTest, SidecarKeepsThePeersContract) {
  const std::string* json = &Sidecar();
  for (const char* m : {"es_single", "pes", "tes"}) {
    EXPECT_TRUE(JsonHasMethodSummary(*json, m)) << m << " in\n" << *json;
  }
}

}  // namespace
}  // namespace es::experiments::test

