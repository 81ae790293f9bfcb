// Tests of the batched LSTM kernel (batched_lstm.h) against the double
// reference (batched_lstm_reference.h): both paths, sizes around the 8-lane
// vector width (N, H, B in {1, 3, 5, 8, 9, 16, 17}), sub-ranges, Unroll vs
// Step, and the error messages.
//
// Tolerance: every value is a float32 computation of depth ~ H + V (a dot
// product of length H, a softmax over V) per step, repeated K times, so we
// allow kTolFactor * eps_f * (H + V) * K * max(1, |reference|). With weights
// in [-0.5, 0.5] the observed errors are ~20x below it; a broken kernel
// (e.g. a swapped gate) fails by orders of magnitude.
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "inner/kernels/batched_lstm.h"
#include "inner/kernels/batched_lstm_layout.h"
#include "inner/kernels/batched_lstm_reference.h"

namespace es {
namespace {

constexpr double kEpsF = std::numeric_limits<float>::epsilon();
constexpr double kTolFactor = 4.0;

struct Case {
  int64_t n, h, b, v;
  LstmPath path;
  std::string Name() const {
    return absl::StrCat("N", n, "_H", h, "_B", b, "_V", v, "_",
                        path == LstmPath::kSoa ? "soa" : "onednn");
  }
};

BatchedLstmConfig ConfigOf(const Case& c) {
  BatchedLstmConfig config;
  config.shape = {c.v, c.h};
  config.batch_size = c.b;
  config.num_particles = c.n;
  config.path = c.path;
  return config;
}

// Inputs for K steps of a config, and the kernel's and reference's outputs.
struct LstmRun {
  std::vector<double> thetas;
  std::vector<int32_t> tokens, targets;
  std::vector<float> h, c;      // kernel state (float)
  std::vector<double> hd, cd;   // reference state (double)
  std::vector<double> loss, ref_loss;
};

LstmRun MakeRun(const BatchedLstmConfig& config, int k, uint64_t seed) {
  const int64_t n = config.num_particles, b = config.batch_size;
  const int64_t hb = n * b * config.shape.hidden_size;
  LstmRun r;
  r.thetas = LstmTestValues(n * config.shape.num_params(), 0.5, seed);
  r.tokens = LstmTestTokens(k * n * b, config.shape.vocab_size, seed + 1);
  r.targets = LstmTestTokens(k * n * b, config.shape.vocab_size, seed + 2);
  r.hd = LstmTestValues(hb, 0.5, seed + 3);
  r.cd = LstmTestValues(hb, 1.0, seed + 4);
  r.h.assign(r.hd.begin(), r.hd.end());
  r.c.assign(r.cd.begin(), r.cd.end());
  // The reference starts from exactly the kernel's float state.
  r.hd.assign(r.h.begin(), r.h.end());
  r.cd.assign(r.c.begin(), r.c.end());
  r.loss.assign(n, -1.0);
  r.ref_loss.assign(n, -1.0);
  return r;
}

double Tol(const BatchedLstmConfig& config, int k, double ref) {
  return kTolFactor * kEpsF *
         static_cast<double>(config.shape.hidden_size +
                             config.shape.vocab_size) *
         k * std::max(1.0, std::abs(ref));
}

class BatchedLstmSweepTest : public ::testing::TestWithParam<Case> {};

TEST_P(BatchedLstmSweepTest, UnrollMatchesReference) {
  const BatchedLstmConfig config = ConfigOf(GetParam());
  const int k = 3;
  auto lstm = BatchedLstm::Create(config);
  ASSERT_TRUE(lstm.ok()) << lstm.status();
  ASSERT_EQ((*lstm)->path(), GetParam().path);
  LstmRun r = MakeRun(config, k, 11);
  std::vector<float> packed((*lstm)->packed_size());
  const int64_t n = config.num_particles;
  ASSERT_TRUE((*lstm)->Pack(r.thetas, 0, n, absl::MakeSpan(packed)).ok());
  ASSERT_TRUE((*lstm)
                  ->Unroll(packed, 0, n, k, r.tokens, r.targets,
                           absl::MakeSpan(r.h), absl::MakeSpan(r.c),
                           absl::MakeSpan(r.loss))
                  .ok());
  LstmReferenceBatchedUnroll(config.shape, config.batch_size, n, 0, n,
                             r.thetas.data(), k, r.tokens.data(),
                             r.targets.data(), r.hd.data(), r.cd.data(),
                             r.ref_loss.data());
  const std::string repro = absl::StrCat(
      config.DebugString(), "; rerun with --gtest_filter=*", GetParam().Name());
  for (int64_t i = 0; i < n; ++i) {
    EXPECT_NEAR(r.loss[i], r.ref_loss[i], Tol(config, k, r.ref_loss[i]))
        << "particle " << i << ", " << repro;
  }
  int bad = 0;
  for (size_t j = 0; j < r.h.size(); ++j) {
    bad += std::abs(r.h[j] - r.hd[j]) > Tol(config, k, r.hd[j]);
    bad += std::abs(r.c[j] - r.cd[j]) > Tol(config, k, r.cd[j]);
  }
  EXPECT_EQ(bad, 0) << "state entries off, " << repro;
}

std::vector<Case> SweepCases() {
  std::vector<Case> out;
  const int64_t bs[] = {1, 5, 8, 9, 16, 17};
  const int64_t vs[] = {2, 5, 11};
  int idx = 0;
  for (LstmPath path : {LstmPath::kSoa, LstmPath::kOneDnn}) {
    for (int64_t n : {1, 3, 8, 9, 16, 17}) {
      for (int64_t h : {5, 8, 9, 16, 17}) {
        out.push_back({n, h, bs[idx % 6], vs[idx % 3], path});
        ++idx;
      }
    }
  }
  out.push_back({9, 100, 4, 4, LstmPath::kOneDnn});  // copy-task widths
  // More particles than one cache chunk (40 at B = 32, H = 100): the step
  // runs as chunks of 32 + 8 + 4 + 1.
  out.push_back({45, 100, 32, 4, LstmPath::kOneDnn});
  out.push_back({9, 5, 2, 50, LstmPath::kSoa});      // Fig. 1 widths
  return out;
}

INSTANTIATE_TEST_SUITE_P(Shapes, BatchedLstmSweepTest,
                         ::testing::ValuesIn(SweepCases()),
                         [](const auto& info) { return info.param.Name(); });

// Unroll(K) equals K Step() calls (bit for bit), and a sub-range leaves every
// other particle untouched and gives its particles the full-range results.
class BatchedLstmPathTest : public ::testing::TestWithParam<LstmPath> {};

TEST_P(BatchedLstmPathTest, UnrollEqualsStepsAndSubRangesAreIsolated) {
  const BatchedLstmConfig config = ConfigOf({19, 9, 3, 7, GetParam()});
  const int64_t n = config.num_particles, b = config.batch_size;
  const int k = 4;
  auto lstm = BatchedLstm::Create(config);
  ASSERT_TRUE(lstm.ok()) << lstm.status();
  const LstmRun start = MakeRun(config, k, 5);
  std::vector<float> packed((*lstm)->packed_size());
  ASSERT_TRUE((*lstm)->Pack(start.thetas, 0, n, absl::MakeSpan(packed)).ok());

  LstmRun full = start;
  ASSERT_TRUE((*lstm)
                  ->Unroll(packed, 0, n, k, full.tokens, full.targets,
                           absl::MakeSpan(full.h), absl::MakeSpan(full.c),
                           absl::MakeSpan(full.loss))
                  .ok());
  LstmRun steps = start;
  std::vector<double> sum(n, 0.0), step_loss(n);
  for (int t = 0; t < k; ++t) {
    const absl::Span<const int32_t> tok =
        absl::MakeConstSpan(steps.tokens).subspan(t * n * b, n * b);
    const absl::Span<const int32_t> tgt =
        absl::MakeConstSpan(steps.targets).subspan(t * n * b, n * b);
    ASSERT_TRUE((*lstm)
                    ->Step(packed, 0, n, tok, tgt, absl::MakeSpan(steps.h),
                           absl::MakeSpan(steps.c), absl::MakeSpan(step_loss))
                    .ok());
    for (int64_t i = 0; i < n; ++i) sum[i] += step_loss[i];
  }
  EXPECT_EQ(sum, full.loss);
  EXPECT_EQ(steps.h, full.h);
  EXPECT_EQ(steps.c, full.c);

  // Ranges that start and end inside an 8-lane block and across blocks.
  for (auto [begin, end] : {std::pair<int64_t, int64_t>{3, 11}, {0, 1},
                            {18, 19}, {5, 18}, {7, 7}}) {
    LstmRun part = start;
    // A separately packed buffer holding only this range's particles.
    std::vector<float> packed_part((*lstm)->packed_size(), 0.0f);
    ASSERT_TRUE(
        (*lstm)->Pack(start.thetas, begin, end, absl::MakeSpan(packed_part))
            .ok());
    ASSERT_TRUE((*lstm)
                    ->Unroll(packed_part, begin, end, k, part.tokens,
                             part.targets, absl::MakeSpan(part.h),
                             absl::MakeSpan(part.c), absl::MakeSpan(part.loss))
                    .ok());
    const std::string where = absl::StrCat("range [", begin, ", ", end, ")");
    for (int64_t i = 0; i < n; ++i) {
      const bool in = i >= begin && i < end;
      const LstmRun& want = in ? full : start;
      EXPECT_EQ(part.loss[i], want.loss[i]) << where << " particle " << i;
      for (int64_t j = i * b * 9; j < (i + 1) * b * 9; ++j) {
        ASSERT_EQ(part.h[j], want.h[j]) << where << " particle " << i;
        ASSERT_EQ(part.c[j], want.c[j]) << where << " particle " << i;
      }
    }
  }
}

TEST_P(BatchedLstmPathTest, ErrorsNameTheBadValue) {
  BatchedLstmConfig config = ConfigOf({4, 6, 2, 4, GetParam()});
  auto lstm = BatchedLstm::Create(config);
  ASSERT_TRUE(lstm.ok()) << lstm.status();
  LstmRun r = MakeRun(config, 1, 3);
  std::vector<float> packed((*lstm)->packed_size());
  ASSERT_TRUE((*lstm)->Pack(r.thetas, 0, 4, absl::MakeSpan(packed)).ok());
  auto step = [&](int64_t begin, int64_t end) {
    return (*lstm)->Step(packed, begin, end, r.tokens, r.targets,
                         absl::MakeSpan(r.h), absl::MakeSpan(r.c),
                         absl::MakeSpan(r.loss));
  };
  r.tokens[5] = 4;  // particle 2, stream 1
  absl::Status s = step(0, 4);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("tokens[step 0][2][1] = 4"), std::string::npos)
      << s;
  EXPECT_NE(s.message().find("V = 4"), std::string::npos) << s;
  // Outside the range, a bad id is not read.
  EXPECT_TRUE(step(0, 2).ok());
  r.tokens[5] = 0;
  r.targets[0] = -1;
  s = step(0, 4);
  EXPECT_NE(s.message().find("targets[step 0][0][0] = -1"), std::string::npos)
      << s;
  r.targets[0] = 0;
  s = step(2, 5);
  EXPECT_NE(s.message().find("[2, 5)"), std::string::npos) << s;
  s = (*lstm)->Step(packed, 0, 4, r.tokens, r.targets,
                    absl::MakeSpan(r.h).subspan(1), absl::MakeSpan(r.c),
                    absl::MakeSpan(r.loss));
  EXPECT_NE(s.message().find("h has 47 entries"), std::string::npos) << s;
  s = (*lstm)->Unroll(packed, 0, 4, 2, r.tokens, r.targets, absl::MakeSpan(r.h),
                      absl::MakeSpan(r.c), absl::MakeSpan(r.loss));
  EXPECT_NE(s.message().find("tokens has 8 entries"), std::string::npos) << s;
  s = (*lstm)->Unroll(packed, 0, 4, 0, r.tokens, r.targets, absl::MakeSpan(r.h),
                      absl::MakeSpan(r.c), absl::MakeSpan(r.loss));
  EXPECT_NE(s.message().find("num_steps = 0"), std::string::npos) << s;
  s = (*lstm)->Pack(absl::MakeConstSpan(r.thetas).subspan(1), 0, 4,
                    absl::MakeSpan(packed));
  EXPECT_NE(s.message().find("thetas has"), std::string::npos) << s;
  EXPECT_TRUE(step(0, 4).ok());
}

INSTANTIATE_TEST_SUITE_P(Paths, BatchedLstmPathTest,
                         ::testing::Values(LstmPath::kSoa, LstmPath::kOneDnn),
                         [](const auto& info) {
                           return info.param == LstmPath::kSoa ? "soa"
                                                               : "onednn";
                         });

TEST(BatchedLstmConfigTest, BadConfigsNameTheValue) {
  BatchedLstmConfig config;
  config.shape = {4, 0};
  absl::Status s = config.Validate();
  EXPECT_NE(s.message().find("hidden_size H = 0"), std::string::npos) << s;
  config.shape = {1, 5};
  s = BatchedLstm::Create(config).status();
  EXPECT_NE(s.message().find("vocab_size V = 1"), std::string::npos) << s;
  config.shape = {4, 5};
  config.batch_size = 0;
  s = config.Validate();
  EXPECT_NE(s.message().find("batch_size B = 0"), std::string::npos) << s;
  config.batch_size = 1;
  config.num_particles = -3;
  s = config.Validate();
  EXPECT_NE(s.message().find("num_particles N = -3"), std::string::npos) << s;
}

TEST(BatchedLstmConfigTest, PaperSizesAndPaths) {
  LstmShape copy{4, 100};
  EXPECT_EQ(copy.num_params(), 42804);  // Sec. 4.3 of the paper
  BatchedLstmConfig config;
  config.shape = copy;
  EXPECT_EQ(config.ResolvedPath(), LstmPath::kOneDnn);
  config.shape = {50, 5};  // Fig. 1
  EXPECT_EQ(config.ResolvedPath(), LstmPath::kSoa);
  config.shape = {50, 24};
  EXPECT_EQ(config.ResolvedPath(), LstmPath::kSoa);
  config.batch_size = 32;
  EXPECT_EQ(config.ResolvedPath(), LstmPath::kOneDnn);
  config.shape = {50, 8};
  EXPECT_EQ(config.ResolvedPath(), LstmPath::kSoa);
}

TEST(BatchedLstmConfigTest, CopyTaskShapeUsesOptimisedKernels) {
  BatchedLstmConfig config;
  config.shape = {4, 100};
  config.batch_size = 32;
  config.num_particles = 100;
  auto lstm = BatchedLstm::Create(config);
  ASSERT_TRUE(lstm.ok()) << lstm.status();
  const std::string info = (*lstm)->ImplementationInfo();
  EXPECT_EQ(info.find("ref"), std::string::npos) << info;
}

}  // namespace
}  // namespace es
