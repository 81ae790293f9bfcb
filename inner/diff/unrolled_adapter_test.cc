// DifferentiableUnrolledProblem (unrolled_adapter.h): the batched view of a
// DifferentiableProblem reproduces the problem's own full-unroll loss, in any
// chunking of the unroll, per particle with its own theta and step counter.
#include "estimators/gradient/unrolled_adapter.h"

#include <cmath>
#include <vector>

#include "estimators/testing/gradient_testing_problems.h"
#include "gtest/gtest.h"
#include "inner/diff/toy2d_diff.h"

namespace es {
namespace {

TEST(DifferentiableUnrolledProblem, EvaluateMatchesFullUnroll) {
  Toy2dDiff toy;
  DifferentiableUnrolledProblem batched(&toy);
  EXPECT_EQ(batched.theta_dim(), 2);
  EXPECT_EQ(batched.horizon(), 100);
  EXPECT_EQ(batched.name(), "toy2d");
  const Eigen::Vector2d theta(-2.0, -1.0);
  auto loss = batched.Evaluate(theta, 0, 0);
  ASSERT_TRUE(loss.ok());
  EXPECT_DOUBLE_EQ(*loss, toy.MetaLoss(theta));
}

TEST(DifferentiableUnrolledProblem, ParticlesAreIndependentAndChunkable) {
  test::TanhRnn rnn(20);
  DifferentiableUnrolledProblem batched(&rnn);
  constexpr int N = 3;
  auto states = *batched.NewStates(N);
  ASSERT_EQ(states->num_particles(), N);
  const std::vector<int> all = {0, 1, 2};
  const std::vector<uint64_t> keys = {0, 0, 0};
  batched.Reset(states.get(), all, keys);
  RowMatrixXd thetas(N, 4);
  for (int i = 0; i < N; ++i) thetas.row(i).setConstant(0.1 * (i + 1));
  std::vector<int64_t> t0 = {0, 0, 0};
  std::vector<double> total(N, 0.0), losses(N);
  for (int chunk : {5, 7, 8}) {  // 20 steps in uneven chunks
    EXPECT_TRUE(batched.Unroll(states.get(), 0, N, thetas, t0.data(), chunk, losses.data()).ok());
    for (int i = 0; i < N; ++i) {
      total[i] += losses[i];
      t0[i] += chunk;
    }
  }
  for (int i = 0; i < N; ++i) {
    const Eigen::VectorXd theta = thetas.row(i).transpose();
    EXPECT_NEAR(total[i], test::FullUnrollLoss(rnn, theta, 20),
                1e-12 * total[i])
        << "particle " << i;
  }
}

}  // namespace
}  // namespace es
