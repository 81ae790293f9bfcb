// "Same seed, same bits - whatever the thread count": the batched MLP step
// (oneDNN matmuls + OpenMP loops) must not change a single bit between 1 and
// 2 OpenMP threads, at the paper's shapes (784-100-100-10 and the 5x100 MLP,
// minibatch 100), where oneDNN could otherwise split reductions by thread.
#include <omp.h>

#include <cmath>
#include <memory>
#include <tuple>
#include <vector>

#include "gtest/gtest.h"
#include "inner/kernels/batched_mlp.h"

namespace es {
namespace {

struct Result {
  std::vector<double> loss;
  std::vector<float> grads;
};

Result RunStep(const BatchedMlpConfig& config, int threads) {
  omp_set_num_threads(threads);
  auto mlp = BatchedMlp::Create(config);
  EXPECT_TRUE(mlp.ok()) << mlp.status();
  const int64_t n_in = config.layer_sizes.front();
  std::vector<float> params(config.num_params());
  for (size_t i = 0; i < params.size(); ++i) {
    params[i] = 0.05f * std::sin(0.37f * static_cast<float>(i));
  }
  std::vector<float> inputs(config.batch_size * n_in);
  for (size_t i = 0; i < inputs.size(); ++i) {
    inputs[i] = 0.5f + 0.5f * std::cos(0.11f * static_cast<float>(i));
  }
  std::vector<int32_t> labels(config.batch_size);
  for (int b = 0; b < config.batch_size; ++b) labels[b] = (7 * b) % 10;
  Result r;
  r.loss.resize(config.num_particles);
  r.grads.resize(config.num_params());
  EXPECT_TRUE((*mlp)
                  ->ForwardBackward(params, inputs, labels, absl::MakeSpan(r.loss),
                                    absl::MakeSpan(r.grads))
                  .ok());
  return r;
}

// (shape: 0 = 784-100-100-10, 1 = 784-100x5-10, 2 = the Fig. 9 quick
// 784-32x5-10 with minibatch 50; particles). One particle is
// what a meta-loss evaluation runs, and what truncated ES's mean state runs
// alone on an MPI rank.
class ThreadCountTest
    : public ::testing::TestWithParam<std::tuple<int, int>> {};

TEST_P(ThreadCountTest, OneAndTwoThreadsGiveIdenticalBits) {
  BatchedMlpConfig config;
  const int shape = std::get<0>(GetParam());
  config.layer_sizes =
      shape == 0   ? std::vector<int64_t>{784, 100, 100, 10}
      : shape == 1 ? std::vector<int64_t>{784, 100, 100, 100, 100, 100, 10}
                   : std::vector<int64_t>{784, 32, 32, 32, 32, 32, 10};
  config.num_particles = std::get<1>(GetParam());
  config.batch_size = shape == 2 ? 50 : 100;
  const Result one = RunStep(config, 1);
  const Result two = RunStep(config, 2);
  omp_set_num_threads(omp_get_num_procs());
  ASSERT_EQ(one.loss.size(), two.loss.size());
  for (size_t i = 0; i < one.loss.size(); ++i) {
    EXPECT_EQ(one.loss[i], two.loss[i]) << "particle " << i;
  }
  size_t mismatches = 0;
  for (size_t i = 0; i < one.grads.size(); ++i) mismatches += one.grads[i] != two.grads[i];
  EXPECT_EQ(mismatches, 0u) << "of " << one.grads.size() << " gradient entries";
}

INSTANTIATE_TEST_SUITE_P(PaperShapes, ThreadCountTest,
                         ::testing::Combine(::testing::Values(0, 1, 2),
                                            ::testing::Values(1, 3, 10)));

}  // namespace
}  // namespace es
