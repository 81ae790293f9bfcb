// "Same seed, same bits - whatever the thread count" for the LSTM kernels:
// BatchedLstm (both paths, at the copy-task and Fig. 1 widths) and LstmRnn
// (oneDNN's RNN primitives, forward and backward) give identical bits with 1
// and 2 OpenMP threads. (.bazelrc sets OMP_NUM_THREADS=1 for tests; this test
// sets the count itself with omp_set_num_threads.)
#include <omp.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "gtest/gtest.h"
#include "inner/kernels/batched_lstm.h"
#include "inner/kernels/batched_lstm_reference.h"
#include "inner/kernels/lstm_rnn.h"

namespace es {
namespace {

struct Out {
  std::vector<double> loss;
  std::vector<float> h, c;
};

Out RunBatched(const BatchedLstmConfig& config, int threads, int64_t begin,
               int64_t end) {
  omp_set_num_threads(threads);
  const int64_t n = config.num_particles, b = config.batch_size;
  const int64_t hb = n * b * config.shape.hidden_size;
  const int k = 3;
  auto lstm = BatchedLstm::Create(config);
  EXPECT_TRUE(lstm.ok()) << lstm.status();
  const std::vector<double> thetas =
      LstmTestValues(n * config.shape.num_params(), 0.3, 1);
  const std::vector<int32_t> tokens =
      LstmTestTokens(k * n * b, config.shape.vocab_size, 2);
  const std::vector<int32_t> targets =
      LstmTestTokens(k * n * b, config.shape.vocab_size, 3);
  const std::vector<double> h0 = LstmTestValues(hb, 0.5, 4);
  Out out{std::vector<double>(n), std::vector<float>(h0.begin(), h0.end()),
          std::vector<float>(h0.rbegin(), h0.rend())};
  std::vector<float> packed((*lstm)->packed_size());
  EXPECT_TRUE((*lstm)->Pack(thetas, 0, n, absl::MakeSpan(packed)).ok());
  EXPECT_TRUE((*lstm)
                  ->Unroll(packed, begin, end, k, tokens, targets,
                           absl::MakeSpan(out.h), absl::MakeSpan(out.c),
                           absl::MakeSpan(out.loss))
                  .ok());
  return out;
}

void ExpectSameBits(const Out& a, const Out& b) {
  EXPECT_EQ(a.loss, b.loss);
  EXPECT_EQ(a.h, b.h);
  EXPECT_EQ(a.c, b.c);
}

TEST(BatchedLstmThreadsTest, OneDnnPathCopyTaskWidths) {
  BatchedLstmConfig config;
  config.shape = {4, 100};
  config.batch_size = 32;
  config.num_particles = 45;  // more than one cache chunk (40 particles)
  ASSERT_EQ(config.ResolvedPath(), LstmPath::kOneDnn);
  ExpectSameBits(RunBatched(config, 1, 0, 45), RunBatched(config, 2, 0, 45));
  // A sub-range runs as power-of-two chunks (32 + 8 + 2 + 1).
  ExpectSameBits(RunBatched(config, 1, 2, 45), RunBatched(config, 2, 2, 45));
  omp_set_num_threads(omp_get_num_procs());
}

TEST(BatchedLstmThreadsTest, SoaPathFigure1Widths) {
  BatchedLstmConfig config;
  config.shape = {50, 5};
  config.batch_size = 4;
  config.num_particles = 37;
  ASSERT_EQ(config.ResolvedPath(), LstmPath::kSoa);
  ExpectSameBits(RunBatched(config, 1, 0, 37), RunBatched(config, 2, 0, 37));
  ExpectSameBits(RunBatched(config, 1, 3, 30), RunBatched(config, 2, 3, 30));
  omp_set_num_threads(omp_get_num_procs());
}

struct RnnOut {
  double loss = 0.0;
  std::vector<double> grad;
  std::vector<float> h, c;
};

RnnOut RunRnn(int threads) {
  omp_set_num_threads(threads);
  LstmRnnConfig config;
  config.shape = {4, 100};
  config.batch_size = 32;
  config.seq_length = 10;
  auto rnn = LstmRnn::Create(config);
  EXPECT_TRUE(rnn.ok()) << rnn.status();
  const std::vector<double> theta =
      LstmTestValues(config.shape.num_params(), 0.3, 5);
  const std::vector<int32_t> tokens = LstmTestTokens(320, 4, 6);
  const std::vector<int32_t> targets = LstmTestTokens(320, 4, 7);
  RnnOut out;
  out.h.assign(3200, 0.1f);
  out.c.assign(3200, -0.2f);
  out.grad.resize(config.shape.num_params());
  EXPECT_TRUE((*rnn)
                  ->ForwardBackward(theta, tokens, targets,
                                    absl::MakeSpan(out.h),
                                    absl::MakeSpan(out.c),
                                    absl::MakeSpan(out.grad), &out.loss)
                  .ok());
  return out;
}

TEST(LstmRnnThreadsTest, OneAndTwoThreadsGiveIdenticalBits) {
  const RnnOut one = RunRnn(1);
  const RnnOut two = RunRnn(2);
  omp_set_num_threads(omp_get_num_procs());
  EXPECT_EQ(one.loss, two.loss);
  EXPECT_EQ(one.h, two.h);
  EXPECT_EQ(one.c, two.c);
  size_t mismatches = 0;
  for (size_t j = 0; j < one.grad.size(); ++j) {
    mismatches += one.grad[j] != two.grad[j];
  }
  EXPECT_EQ(mismatches, 0u) << "of " << one.grad.size() << " gradient entries";
}

}  // namespace
}  // namespace es
