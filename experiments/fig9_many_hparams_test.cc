// Golden and behavioural tests of //experiments:fig9_many_hparams (Fig. 9,
// 29 hyperparameters of a 5x100 MLP on FashionMNIST): one --quick run (five
// hidden layers of 32 units, T = 20, N = 4, 20 iterations, seeds 0 and 1,
// 2000 training / 500 validation images; a few seconds) is compared with
// testdata/fig9_many_hparams_quick.csv and checked for the bookkeeping the
// figure's "best meta-objective against total compute" relies on.
//
// The binary runs with OMP_NUM_THREADS=1 (same numbers for any thread count;
// one thread avoids OpenMP barrier stalls under `bazel test`). Golden
// tolerance 1e-5 relative (float32 training; experiments/testdata/
// regenerate_hpo.sh says when regenerating is legitimate). Skips when
// FashionMNIST is missing.
//
//   bazel test //experiments:fig9_many_hparams_test
// Arguments (from BUILD): <binary> <golden csv>.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <utility>

#include "experiments/figure_test_util.h"
#include "gtest/gtest.h"

namespace es::experiments::test {
namespace {

constexpr double kRelTol = kOneDnnRelTol;
constexpr double kAbsTol = kOneDnnAbsTol;
constexpr char kData[] = "/usr/share/datasets/fashion-mnist";
constexpr int kN = 4, kK = 10, kT = 20, kIterations = 20;

std::string g_binary, g_golden;

class Fig9Test : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!std::filesystem::exists(kData)) return;
    dir_ = new std::string(TestDir("fig9_many_hparams"));
    rc_ = RunCommand({g_binary, "--quick", "--progress=false",
                      "--out_dir=" + *dir_},
                     *dir_ + "/stderr.log");
    auto t = ReadCsv(*dir_ + "/fig9_many_hparams.csv");
    if (t.ok()) table_ = new CsvTable(*t);
    auto th = ReadCsv(*dir_ + "/fig9_many_hparams_theta.csv");
    if (th.ok()) theta_ = new CsvTable(*th);
  }
  static void TearDownTestSuite() {
    delete table_;
    delete theta_;
    delete dir_;
  }
  void SetUp() override {
    if (!std::filesystem::exists(kData)) {
      GTEST_SKIP() << "FashionMNIST not installed at " << kData
                   << " (Debian package dataset-fashion-mnist)";
    }
    ASSERT_EQ(rc_, 0) << "command: " << g_binary << " --quick --out_dir="
                      << *dir_ << " (stderr in " << *dir_ << "/stderr.log)";
    ASSERT_NE(table_, nullptr);
    ASSERT_NE(theta_, nullptr);
  }
  // Rows of (method, seed) in file order.
  static std::vector<const std::vector<std::string>*> RowsOf(
      const std::string& method, const std::string& seed) {
    std::vector<const std::vector<std::string>*> out;
    for (const auto& r : table_->rows) {
      if (r[0] == method && r[2] == seed) out.push_back(&r);
    }
    return out;
  }
  static std::string* dir_;
  static int rc_;
  static CsvTable* table_;
  static CsvTable* theta_;
};
std::string* Fig9Test::dir_ = nullptr;
int Fig9Test::rc_ = -1;
CsvTable* Fig9Test::table_ = nullptr;
CsvTable* Fig9Test::theta_ = nullptr;

TEST_F(Fig9Test, MatchesGoldenCsv) {
  auto golden = ReadCsv(g_golden);
  ASSERT_TRUE(golden.ok()) << golden.status();
  const absl::Status s = CompareCsv(*golden, *table_, kRelTol, kAbsTol);
  EXPECT_TRUE(s.ok()) << s.message()
                      << " (goldens: experiments/testdata/regenerate_hpo.sh)";
}

// best_meta_loss is the running minimum of meta_loss; compute is N K per ES
// iteration ((N + 1) K for truncated ES, whose mean state is unrolled too)
// and T per random-search configuration, and random search gets the compute
// of one ES-Single/PES run (20 iterations x 4 x 10 = 800 = 40
// configurations of T = 20).
TEST_F(Fig9Test, BestSoFarAndComputeBookkeeping) {
  ASSERT_EQ(table_->header,
            (std::vector<std::string>{"method", "num_particles", "seed",
                                      "iteration", "meta_loss",
                                      "particle_steps", "best_meta_loss"}));
  for (const char* m : {"random_search", "tes", "pes", "es_single"}) {
    for (const char* seed : {"0", "1"}) {
      const auto rows = RowsOf(m, seed);
      ASSERT_FALSE(rows.empty()) << m << " seed " << seed;
      // Truncated ES also advances its shared mean state: (N + 1) K steps.
      const long long per_iteration = (std::string(m) == "tes" ? kN + 1 : kN) * kK;
      double best = INFINITY;
      for (const auto* r : rows) {
        const double loss = std::stod((*r)[4]);
        if (std::isfinite(loss)) best = std::min(best, loss);
        EXPECT_EQ(std::stod((*r)[6]), best) << m;
        const long long it = std::stoll((*r)[3]);
        const long long steps = std::stoll((*r)[5]);
        if (std::string(m) == "random_search") {
          EXPECT_EQ((*r)[1], "0");
          EXPECT_EQ(steps, it * kT);
        } else {
          EXPECT_EQ((*r)[1], "4");
          EXPECT_EQ(steps, it * per_iteration) << m;
        }
      }
      EXPECT_EQ(std::stoll((*rows.back())[5]),
                std::string(m) == "random_search" ? kIterations * kN * kK
                                                  : kIterations * per_iteration)
          << m;
    }
  }
}

// All methods of a seed start from the same App. C draw: random search's
// first configuration is the ES start, with the same meta-objective (up to
// float differences between a batch of 10 and a batch of 1).
TEST_F(Fig9Test, MethodsShareTheStart) {
  for (const char* seed : {"0", "1"}) {
    const double rs = std::stod((*RowsOf("random_search", seed)[0])[4]);
    for (const char* m : {"tes", "pes", "es_single"}) {
      const auto rows = RowsOf(m, seed);
      ASSERT_EQ((*rows[0])[3], "0");
      EXPECT_NEAR(std::stod((*rows[0])[4]), rs, 1e-5 * rs) << m;
    }
  }
}

// The theta file: 29 coordinates per run, decoded to LRs > 0, momenta in
// (0, 1) and widths in [10, 32] (the quick run's layers have 32 units).
TEST_F(Fig9Test, ThetaFileDecodesTheHyperparameters) {
  ASSERT_EQ(theta_->rows.size(), 4u * 2u * 29u);
  for (const auto& r : theta_->rows) {
    const int index = std::stoi(r[2]);
    const double value = std::stod(r[5]);
    if (index < 12) {
      EXPECT_EQ(r[3].rfind("log_lr_", 0), 0u);
      EXPECT_GT(value, 0.0);
    } else if (index < 24) {
      EXPECT_EQ(r[3].rfind("logit_mom_", 0), 0u);
      EXPECT_GT(value, 0.0);
      EXPECT_LT(value, 1.0);
    } else {
      EXPECT_EQ(r[3].rfind("logit_width_h", 0), 0u);
      EXPECT_GE(value, 10.0);
      EXPECT_LE(value, 32.0);
    }
  }
}

TEST_F(Fig9Test, SidecarKeepsThePeersContract) {
  auto json = ReadFile(*dir_ + "/fig9_many_hparams.json");
  ASSERT_TRUE(json.ok()) << json.status();
  for (const char* m : {"random_search", "es_single", "pes", "tes"}) {
    EXPECT_TRUE(JsonHasMethodSummary(*json, m)) << m << " in\n" << *json;
  }
  EXPECT_NE(json->find("\"best_meta_loss_mean\""), std::string::npos);
}

}  // namespace
}  // namespace es::experiments::test

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s <binary> <golden csv>\n", argv[0]);
    return 2;
  }
  es::experiments::test::g_binary = argv[1];
  es::experiments::test::g_golden = argv[2];
  setenv("OMP_NUM_THREADS", "1", 1);
  return RUN_ALL_TESTS();
}
