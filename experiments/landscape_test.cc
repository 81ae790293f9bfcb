// Tests of experiments/landscape.h: the grid layout (theta_0 slowest, both
// ends included), that each grid value equals the problem's own Evaluate at
// that theta, and the input checks.
#include "experiments/landscape.h"

#include <cmath>
#include <string>

#include "experiments/figure_test_util.h"
#include "gtest/gtest.h"
#include "inner/influence_balancing.h"
#include "inner/toy2d.h"

namespace es::experiments {
namespace {

TEST(Landscape, GridLayoutAndValuesMatchEvaluate) {
  Toy2d problem;
  const std::string path = test::TestDir("landscape") + "/grid.csv";
  ASSERT_TRUE(WriteLandscapeGrid(problem, 5, -8.0, -2.0, path).ok());
  auto grid = test::ReadCsv(path);
  ASSERT_TRUE(grid.ok()) << grid.status();
  EXPECT_EQ(grid->header,
            (std::vector<std::string>{"theta_0", "theta_1", "meta_loss"}));
  ASSERT_EQ(grid->rows.size(), 25u);
  for (int a = 0; a < 5; ++a) {
    for (int b = 0; b < 5; ++b) {
      const auto& row = grid->rows[a * 5 + b];
      const Eigen::Vector2d theta(-8.0 + 1.5 * a, -8.0 + 1.5 * b);
      EXPECT_EQ(std::stod(row[0]), theta[0]);
      EXPECT_EQ(std::stod(row[1]), theta[1]);
      // Outside the chaotic band (theta_0 >= 0) the batched unroll and the
      // one-particle Evaluate agree to rounding; the CSV keeps 12 digits.
      const double expected = *problem.Evaluate(theta, 0, 0);
      EXPECT_NEAR(std::stod(row[2]), expected, 1e-11 * std::fabs(expected))
          << "theta (" << theta[0] << ", " << theta[1] << ")";
    }
  }
}

TEST(Landscape, RejectsBadInput) {
  Toy2d toy;
  InfluenceBalancing never_ending;  // P = 1, never ends
  const std::string path = test::TestDir("landscape") + "/bad.csv";
  EXPECT_FALSE(WriteLandscapeGrid(never_ending, 5, -1.0, 1.0, path).ok());
  EXPECT_FALSE(WriteLandscapeGrid(toy, 0, -1.0, 1.0, path).ok());
  EXPECT_FALSE(WriteLandscapeGrid(toy, 2001, -1.0, 1.0, path).ok());
  EXPECT_FALSE(WriteLandscapeGrid(toy, 5, 1.0, 1.0, path).ok());
  EXPECT_FALSE(WriteLandscapeGrid(toy, 5, -1.0, 1.0, "/nonexistent/dir/x.csv").ok());
}

}  // namespace
}  // namespace es::experiments
