// Tests of experiments/grid.h: axes and layout, that every grid value is the
// problem's own Evaluate at that theta bit for bit (toy 2D: double precision;
// the MLP problem with one key), that several keys average, and the input
// checks.
#include "experiments/grid.h"

#include <cmath>
#include <string>
#include <vector>

#include "estimators/philox.h"
#include "gtest/gtest.h"
#include "inner/influence_balancing.h"
#include "inner/mlp/mlp_hpo.h"
#include "inner/toy2d.h"

namespace es::experiments {
namespace {

TEST(GridTest, LinspaceGrid2dAndParseRange) {
  EXPECT_EQ(Linspace(-1, 1, 5), (std::vector<double>{-1, -0.5, 0, 0.5, 1}));
  EXPECT_EQ(Linspace(2, 3, 1), (std::vector<double>{2}));
  EXPECT_TRUE(Linspace(0, 1, 0).empty());
  const RowMatrixXd g = Grid2d({1, 2}, {10, 20, 30});
  ASSERT_EQ(g.rows(), 6);
  EXPECT_EQ(g(0, 0), 1);
  EXPECT_EQ(g(0, 1), 10);
  EXPECT_EQ(g(4, 0), 2);
  EXPECT_EQ(g(4, 1), 20);
  auto r = ParseRange("-3,1", "r");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->first, -3);
  EXPECT_FALSE(ParseRange("1,-3", "r").ok());
  EXPECT_FALSE(ParseRange("1,1", "r").ok());
  EXPECT_FALSE(ParseRange("1", "r").ok());
}

TEST(GridTest, Toy2dValuesAreEvaluateBitForBit) {
  Toy2d problem;
  const RowMatrixXd thetas = Grid2d(Linspace(-8, -2, 5), Linspace(-8, -2, 5));
  for (int batch : {25, 7}) {
    auto g = EvaluateGrid(problem, thetas, {0}, batch, false);
    ASSERT_TRUE(g.ok()) << g.status();
    for (int r = 0; r < thetas.rows(); ++r) {
      EXPECT_EQ(g->meta_loss[r],
                *problem.Evaluate(thetas.row(r).transpose(), 0, 0))
          << "row " << r << " batch " << batch;
    }
  }
}

TEST(GridTest, MlpGridAveragesOverKeys) {
  constexpr int kN = 128, kD = 8;
  std::vector<float> images(kN * kD);
  std::vector<int32_t> labels(kN);
  const RandomKey rk{5, Stream::kUser};
  for (int i = 0; i < kN; ++i) {
    for (int f = 0; f < kD; ++f) images[i * kD + f] = UniformOpen(rk, i, 0, f);
    labels[i] = images[i * kD] > 0.5f ? 1 : 0;
  }
  MlpHpoConfig c = MlpHpoConfig::LrSchedule();
  c.hidden_sizes = {6};
  c.num_classes = 2;
  c.batch_size = 8;
  c.measure_batch_size = 8;
  c.horizon = 12;
  c.schedule_q = 12;
  auto p = MlpHpoProblem::Create(c, {images, labels, kD}, {});
  ASSERT_TRUE(p.ok()) << p.status();
  const RowMatrixXd thetas = Grid2d({-4, -1, 3}, {-1, 1});
  auto one = EvaluateGrid(**p, thetas, {7}, 64, false);
  auto two = EvaluateGrid(**p, thetas, {7, 8}, 4, false);
  ASSERT_TRUE(one.ok() && two.ok());
  auto b = (*p)->EvaluateBatch(thetas, 0, 8, 64);
  ASSERT_TRUE(b.ok());
  for (int r = 0; r < thetas.rows(); ++r) {
    const double a = *(*p)->Evaluate(thetas.row(r).transpose(), 0, 7);
    if (!std::isfinite(a)) continue;
    // One key, one batch: the same kernel calls as EvaluateBatch.
    EXPECT_NEAR(one->meta_loss[r], a, 1e-6 * std::fabs(a)) << "row " << r;
    const double want = 0.5 * (one->meta_loss[r] + b->sum_loss[r]);
    EXPECT_NEAR(two->meta_loss[r], want, 1e-6 * std::fabs(want)) << "row " << r;
  }
}

TEST(GridTest, RejectsBadInput) {
  Toy2d toy;
  InfluenceBalancing never_ending;
  const RowMatrixXd two = Grid2d({0}, {0});
  EXPECT_FALSE(EvaluateGrid(never_ending, RowMatrixXd::Zero(1, 1), {0}, 4, false).ok());
  EXPECT_FALSE(EvaluateGrid(toy, two, {}, 4, false).ok());
  EXPECT_FALSE(EvaluateGrid(toy, two, {0}, 0, false).ok());
  EXPECT_FALSE(EvaluateGrid(toy, RowMatrixXd::Zero(1, 3), {0}, 4, false).ok());
}

}  // namespace
}  // namespace es::experiments
