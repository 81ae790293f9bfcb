// Golden and behavioural tests of //experiments:fig10_copy_task (Figs. 10
// and 16, the LSTM copy task with the Mujika et al. curriculum). One --quick
// run (H = 16, N = 16, B = 32, 200,000 tokens per run, seed 0; ES-Single and
// PES with K = 1, truncated ES with K = 2, TBPTT with K = 1 and 10; about
// 7 s of CPU) is compared with testdata/fig10_copy_task_quick.csv (oneDNN
// float32 kernels at H = 16, B = 32: tolerance "onednn") and checked for the
// paper's ordering and the curriculum's data-time mechanics.
//
// The quick outcomes are seeded and deterministic; the behavioural margins
// were also observed for seeds 1-3 at the same setting (max T copied:
// ES-Single 2, 2, 2; truncated ES K = 2: 1, 0, 1; TBPTT K = 1: 1, 1, 1;
// TBPTT K = 10: 4, 4, 4), so they are not one lucky seed.
//
//   bazel test //experiments:fig10_copy_task_test
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "experiments/figure_test.h"
#include "gtest/gtest.h"

namespace es::experiments::test {
namespace {

constexpr int kB = 32;

// Rows of one run (method, seed 0), as the trace holds them.
struct Row {
  long long iteration, tokens, length, max_copied;
  double ema;
};

std::vector<Row> RunRows(const std::string& method) {
  const CsvTable& t = FigureTest::Output();
  const int m = t.Column("method"), it = t.Column("iteration"),
            tok = t.Column("tokens"), len = t.Column("length"),
            mc = t.Column("max_copied_length"), ema = t.Column("ema_bits");
  std::vector<Row> rows;
  for (const auto& r : t.rows) {
    if (r[m] != method) continue;
    rows.push_back({std::stoll(r[it]), std::stoll(r[tok]), std::stoll(r[len]),
                    std::stoll(r[mc]), std::stod(r[ema])});
  }
  return rows;
}

long long FinalMaxCopied(const std::string& method) {
  const auto rows = RunRows(method);
  EXPECT_FALSE(rows.empty()) << method;
  return rows.empty() ? -1 : rows.back().max_copied;
}

TEST_F(FigureTest, OutputContract) {
  EXPECT_EQ(Output().header,
            (std::vector<std::string>{"method", "num_particles", "seed",
                                      "learning_rate", "sigma", "iteration",
                                      "tokens", "length", "max_copied_length",
                                      "ema_bits"}));
  for (const char* m : {"es_single", "pes", "tes_k2", "tbptt_k1", "tbptt_k10"}) {
    EXPECT_TRUE(JsonHasMethodSummary(Sidecar(), m)) << m;
    const auto rows = RunRows(m);
    ASSERT_FALSE(rows.empty()) << m;
    EXPECT_EQ(rows.front().iteration, 0) << m;
    EXPECT_EQ(rows.front().length, 1) << m;
    EXPECT_GE(rows.back().tokens, 200000) << m;
  }
  EXPECT_NE(Sidecar().find("\"data_tokens_per_second\""), std::string::npos);
}

// Data time is the paper's: every outer iteration (ES: one estimate and the
// mean model's K-step observation; TBPTT: one K-step window) reads K * B
// characters; T only grows, one at a time, and max_copied = T - 1.
TEST_F(FigureTest, DataTimeAndCurriculumAreThePapers) {
  for (const auto& [m, k] : std::vector<std::pair<std::string, int>>{
           {"es_single", 1}, {"pes", 1}, {"tes_k2", 2}, {"tbptt_k1", 1},
           {"tbptt_k10", 10}}) {
    const auto rows = RunRows(m);
    for (size_t i = 0; i < rows.size(); ++i) {
      EXPECT_EQ(rows[i].tokens, rows[i].iteration * k * kB) << m << " row " << i;
      EXPECT_EQ(rows[i].max_copied, rows[i].length - 1) << m;
      if (i > 0) {
        EXPECT_GE(rows[i].length, rows[i - 1].length) << m;
        EXPECT_LE(rows[i].length, rows[i - 1].length + 1) << m;
      }
    }
  }
}

// The curriculum's EMA starts at 1 bit and decays by 0.999 per data step, so
// even a perfect model needs ln(0.15) / ln(0.999) = 1896.2, i.e. 1,897 data
// steps (60,704 characters at B = 32) before the first raise: no run may
// raise T earlier (a check that data time is counted per data step, not per
// particle or per estimate).
TEST_F(FigureTest, NoRaiseBeforeTheEmaCanCross) {
  for (const char* m : {"es_single", "pes", "tes_k2", "tbptt_k1", "tbptt_k10"}) {
    for (const Row& r : RunRows(m)) {
      if (r.length > 1) EXPECT_GE(r.tokens, 1897 * kB) << m;
    }
  }
}

// Fig. 10's ordering: ES-Single (K = 1, online) copies longer strings than
// truncated ES, which cannot learn dependencies longer than its truncation
// (the quick analogue of K in {25, 50}: K = 2). Fig. 16's: TBPTT plateaus by
// its truncation, a longer window copies longer strings (K = 10 vs K = 1).
TEST_F(FigureTest, EsSingleBeatsTruncatedEsAndTbpttGrowsWithTruncation) {
  EXPECT_GT(FinalMaxCopied("es_single"), FinalMaxCopied("tes_k2"));
  EXPECT_GE(FinalMaxCopied("es_single"), 1);
  EXPECT_GT(FinalMaxCopied("tbptt_k10"), FinalMaxCopied("tbptt_k1"));
}

// Bad input names the value and what is allowed.
TEST_F(FigureTest, RejectsUnknownMethod) {
  const std::string dir = TestDir("bad_method");
  EXPECT_EQ(RunBinary(dir, {"--methods=tes_kx"}), 1);
  auto log = ReadFile(dir + "/stderr.log");
  ASSERT_TRUE(log.ok());
  EXPECT_NE(log->find("unknown method 'tes_kx'"), std::string::npos) << *log;
}

}  // namespace
}  // namespace es::experiments::test
