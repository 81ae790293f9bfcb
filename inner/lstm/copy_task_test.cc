// Tests of the copy-task data and curriculum (copy_task.h): the encoding on
// hand-checked examples, the length distribution (chi-square against the
// paper's rule, Sec. 4.3), determinism of the keyed streams, and the
// curriculum raising T exactly when the EMA crosses 0.15 bits.
#include "inner/lstm/copy_task.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "estimators/philox.h"
#include "estimators/state_io.h"
#include "gtest/gtest.h"

namespace es {
namespace {

// Bits 0..15 of string 0 of stream 0 for key 1 (regenerate only if the
// documented keying in copy_task.h changes on purpose).
constexpr char kGoldenBits[] = "1111001111101010";

// The (input, target) pairs of the first `steps` steps of one stream with a
// fixed curriculum length.
void RunStream(uint64_t key, int64_t stream, int64_t T, int steps,
         std::vector<int32_t>* x, std::vector<int32_t>* y) {
  CopyStreamState s = StartCopyStream(key, stream, T);
  x->clear();
  y->clear();
  for (int k = 0; k < steps; ++k) {
    int32_t a, b;
    CopyTokens(key, stream, s, &a, &b);
    x->push_back(a);
    y->push_back(b);
    AdvanceCopyStream(key, stream, T, 5, &s);
  }
}

TEST(CopyTaskTest, EncodingOfOneBitStrings) {
  // T = 1: every string has length 1 and takes 4 steps: x = D b _ _,
  // y = _ _ D b.
  std::vector<int32_t> x, y;
  RunStream(/*key=*/7, /*stream=*/3, /*T=*/1, 12, &x, &y);
  for (int j = 0; j < 3; ++j) {
    const int32_t b = CopySequenceBit(7, 3, j, 0);
    ASSERT_TRUE(b == 0 || b == 1);
    const std::vector<int32_t> want_x = {kCopyDelimiter, b, kCopyBlank,
                                         kCopyBlank};
    const std::vector<int32_t> want_y = {kCopyBlank, kCopyBlank,
                                         kCopyDelimiter, b};
    for (int k = 0; k < 4; ++k) {
      EXPECT_EQ(x[4 * j + k], want_x[k]) << "string " << j << " step " << k;
      EXPECT_EQ(y[4 * j + k], want_y[k]) << "string " << j << " step " << k;
    }
  }
}

TEST(CopyTaskTest, EncodingOfALongerString) {
  // Find a string of length 3 at T = 3 and check all 8 of its steps:
  // x = D b1 b2 b3 _ _ _ _, y = _ _ _ _ D b1 b2 b3.
  const uint64_t key = 11;
  CopyStreamState s = StartCopyStream(key, 0, 3);
  while (s.length != 3) {
    const int64_t steps = CopyStringSteps(s.length);
    for (int64_t k = 0; k < steps; ++k) AdvanceCopyStream(key, 0, 3, 5, &s);
  }
  ASSERT_EQ(s.position, 0);
  const int32_t b1 = CopySequenceBit(key, 0, s.sequence, 0);
  const int32_t b2 = CopySequenceBit(key, 0, s.sequence, 1);
  const int32_t b3 = CopySequenceBit(key, 0, s.sequence, 2);
  const int32_t D = kCopyDelimiter, _ = kCopyBlank;
  const std::vector<int32_t> want_x = {D, b1, b2, b3, _, _, _, _};
  const std::vector<int32_t> want_y = {_, _, _, _, D, b1, b2, b3};
  for (int k = 0; k < 8; ++k) {
    ASSERT_TRUE(IsValidCopyStreamState(s));
    int32_t a, b;
    CopyTokens(key, 0, s, &a, &b);
    EXPECT_EQ(a, want_x[k]) << "step " << k;
    EXPECT_EQ(b, want_y[k]) << "step " << k;
    AdvanceCopyStream(key, 0, 3, 5, &s);
  }
  EXPECT_EQ(s.position, 0);  // the next string starts
  EXPECT_FALSE(IsValidCopyStreamState({0, 3, 8}));
  EXPECT_FALSE(IsValidCopyStreamState({0, 0, 0}));
  EXPECT_FALSE(IsValidCopyStreamState({-1, 3, 0}));
}

TEST(CopyTaskTest, BitsAndLengthsAreTheDocumentedPhiloxWords) {
  const RandomKey rk{42, Stream::kMinibatch};
  for (int64_t stream : {0, 1, 31}) {
    for (int64_t seq : {0, 5, 1000}) {
      for (int64_t p : {0, 1, 31, 32, 127, 128, 300}) {
        const auto block = RandomBlock(rk, seq, static_cast<uint32_t>(2 * stream),
                                       static_cast<uint32_t>(p / 128));
        EXPECT_EQ(CopySequenceBit(42, stream, seq, p),
                  static_cast<int32_t>((block[(p / 32) % 4] >> (p % 32)) & 1));
      }
      const uint32_t u =
          RandomBlock(rk, seq, static_cast<uint32_t>(2 * stream + 1), 0)[0];
      const int64_t off = static_cast<int64_t>((uint64_t{u} * 6) >> 32);
      EXPECT_EQ(CopySequenceLength(42, stream, seq, 20, 5), 15 + off);
    }
  }
  // Golden values: a change here changes every copy-task figure.
  std::string bits;
  for (int p = 0; p < 16; ++p) bits += char('0' + CopySequenceBit(1, 0, 0, p));
  EXPECT_EQ(bits, kGoldenBits);
}

// Chi-square statistic of counts against expected probabilities.
double ChiSquare(const std::map<int32_t, int64_t>& counts,
                 const std::map<int32_t, double>& probs, int64_t n) {
  double chi2 = 0.0;
  for (const auto& [value, p] : probs) {
    const auto it = counts.find(value);
    const double observed = it == counts.end() ? 0.0 : it->second;
    chi2 += (observed - n * p) * (observed - n * p) / (n * p);
  }
  return chi2;
}

TEST(CopyTaskTest, LengthsAreUniformOverTheLastSixAndClampedAtOne) {
  // Paper Sec. 4.3: uniform over {T-5, ..., T}, 1 where that is below 1.
  // Chi-square critical values at p = 1e-4 (false-failure rate 1e-4 each):
  // 25.74 (5 dof), 18.42 (2 dof).
  struct Case {
    int64_t T;
    std::map<int32_t, double> probs;
    double critical;
  };
  const std::vector<Case> cases = {
      {10, {{5, 1 / 6.}, {6, 1 / 6.}, {7, 1 / 6.}, {8, 1 / 6.}, {9, 1 / 6.},
            {10, 1 / 6.}}, 25.74},
      {3, {{1, 4 / 6.}, {2, 1 / 6.}, {3, 1 / 6.}}, 18.42},
      {1, {{1, 1.0}}, 0.0},
  };
  for (const Case& c : cases) {
    std::map<int32_t, int64_t> counts;
    int64_t n = 0;
    for (int64_t stream = 0; stream < 32; ++stream) {
      for (int64_t seq = 0; seq < 1000; ++seq) {
        ++counts[CopySequenceLength(/*key=*/123, stream, seq, c.T, 5)];
        ++n;
      }
    }
    for (const auto& [value, count] : counts) {
      EXPECT_TRUE(c.probs.count(value)) << "T = " << c.T << " gave " << value;
    }
    EXPECT_LE(ChiSquare(counts, c.probs, n), c.critical) << "T = " << c.T;
  }
}

TEST(CopyTaskTest, SameKeySameStreamDifferentKeyDifferentStream) {
  std::vector<int32_t> x1, y1, x2, y2, x3, y3;
  RunStream(5, 2, 12, 500, &x1, &y1);
  RunStream(5, 2, 12, 500, &x2, &y2);
  RunStream(6, 2, 12, 500, &x3, &y3);
  EXPECT_EQ(x1, x2);
  EXPECT_EQ(y1, y2);
  EXPECT_NE(x1, x3);
}

TEST(CopyTaskTest, CurriculumRaisesExactlyWhenTheEmaCrossesTheThreshold) {
  // Constant 0.1 bits from m_0 = 1 with d = 0.999: m_n = 0.1 + 0.9 * 0.999^n
  // < 0.15 first at n = ceil(ln 18 / -ln 0.999) = 2889 (2888.93...).
  CopyCurriculum c;
  EXPECT_EQ(c.length(), 1);
  EXPECT_EQ(c.max_copied_length(), 0);
  EXPECT_EQ(c.ema_bits(), 1.0);
  double m = 1.0;
  for (int n = 1; n <= 2888; ++n) {
    m = 0.999 * m + (1 - 0.999) * 0.1;
    ASSERT_FALSE(c.Observe(0.1, 1, 32)) << "observation " << n;
    ASSERT_NEAR(c.ema_bits(), m, 1e-12) << n;
    ASSERT_GE(m, 0.15);
  }
  EXPECT_TRUE(c.Observe(0.1, 1, 32));
  EXPECT_EQ(c.length(), 2);
  EXPECT_EQ(c.max_copied_length(), 1);
  EXPECT_EQ(c.raises(), 1);
  EXPECT_EQ(c.ema_bits(), 0.3);  // restarted for the new length
  EXPECT_EQ(c.tokens(), 2889 * 32);
  EXPECT_EQ(c.observations(), 2889);
}

TEST(CopyTaskTest, CurriculumOnAScriptedLossSequence) {
  // d = 0.5, threshold 0.15, start and restart at 1: the EMA after each
  // observation is written out by hand.
  CopyCurriculumOptions o;
  o.ema_decay = 0.5;
  o.ema_initial_bits = 1.0;
  o.ema_reset_bits = 1.0;
  CopyCurriculum c(o);
  struct Obs {
    double x;
    double ema_after;  // before any restart
    bool raised;
  };
  const std::vector<Obs> script = {
      {0.5, 0.75, false},     // 0.5 * 1 + 0.5 * 0.5
      {0.1, 0.425, false},
      {0.0, 0.2125, false},
      {0.1, 0.15625, false},  // just above 0.15: no raise
      {0.14, 0.148125, true}, // crosses: T 1 -> 2, EMA restarts at 1
      {0.0, 0.5, false},
      {std::numeric_limits<double>::quiet_NaN(), 0.5, false},  // skipped
      {0.0, 0.25, false},
      {0.0, 0.125, true},     // T 2 -> 3
  };
  int64_t T = 1;
  for (size_t k = 0; k < script.size(); ++k) {
    const bool raised = c.Observe(script[k].x, 1, 1);
    EXPECT_EQ(raised, script[k].raised) << "observation " << k;
    if (raised) ++T;
    EXPECT_EQ(c.length(), T) << k;
    EXPECT_DOUBLE_EQ(c.ema_bits(), raised ? 1.0 : script[k].ema_after) << k;
  }
  EXPECT_EQ(c.skipped_observations(), 1);
}

TEST(CopyTaskTest, CurriculumDecayIsPerStep) {
  // One observation of K steps = K observations of one step (up to rounding).
  CopyCurriculum a, b;
  a.Observe(0.4, 10, 320);
  for (int k = 0; k < 10; ++k) b.Observe(0.4, 1, 32);
  EXPECT_NEAR(a.ema_bits(), b.ema_bits(), 1e-14);
  EXPECT_EQ(a.tokens(), b.tokens());
}

TEST(CopyTaskTest, CurriculumStopsAtMaxLength) {
  CopyCurriculumOptions o;
  o.max_length = 2;
  o.ema_decay = 0.0;
  CopyCurriculum c(o);
  EXPECT_TRUE(c.Observe(0.0, 1, 1));
  EXPECT_FALSE(c.Observe(0.0, 1, 1));
  EXPECT_EQ(c.length(), 2);
}

TEST(CopyTaskTest, CurriculumSaveLoadRoundTripAndDamage) {
  CopyCurriculum c;
  for (int k = 0; k < 3000; ++k) c.Observe(0.05, 1, 32);
  StateWriter w;
  c.Save(&w);
  CopyCurriculum d;
  StateReader r(w.bytes());
  ASSERT_TRUE(d.Load(&r).ok());
  ASSERT_TRUE(r.Finish().ok());
  EXPECT_EQ(d.length(), c.length());
  EXPECT_EQ(d.ema_bits(), c.ema_bits());
  EXPECT_EQ(d.tokens(), c.tokens());
  // Truncated and out-of-range states are errors, not crashes.
  const std::string bytes = w.bytes();
  StateReader shorter(absl::string_view(bytes).substr(0, bytes.size() - 3));
  EXPECT_FALSE(d.Load(&shorter).ok());
  StateWriter bad;
  bad.Tag("copy_curriculum");
  bad.Pod(int64_t{0});  // T = 0
  for (int k = 0; k < 5; ++k) bad.Pod(int64_t{0});
  StateReader bad_reader(bad.bytes());
  const absl::Status s = d.Load(&bad_reader);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
}

TEST(CopyTaskTest, OptionsValidateNamesTheBadValue) {
  CopyCurriculumOptions o;
  EXPECT_TRUE(o.Validate().ok());
  o.ema_decay = 1.0;
  EXPECT_NE(o.Validate().message().find("ema_decay"), std::string::npos);
  o = {};
  o.threshold_bits = 0;
  EXPECT_NE(o.Validate().message().find("threshold_bits"), std::string::npos);
  o = {};
  o.initial_length = 0;
  EXPECT_NE(o.Validate().message().find("initial_length"), std::string::npos);
  o = {};
  o.ema_initial_bits = -1;
  EXPECT_NE(o.Validate().message().find("ema_initial_bits"), std::string::npos);
  o = {};
  o.length_spread = -1;
  EXPECT_NE(o.Validate().message().find("length_spread"), std::string::npos);
}

}  // namespace
}  // namespace es
