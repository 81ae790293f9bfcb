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
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <utility>

#include "experiments/figure_test.h"
#include "gtest/gtest.h"

namespace es::experiments::test {
namespace {

constexpr double kRelTol = kOneDnnRelTol;
constexpr double kAbsTol = kOneDnnAbsTol;
constexpr char kData[] = "/usr/share/datasets/fashion-mnist";
constexpr int kN = 4, kK = 10, kT = 20, kIterations = 20;


// best_meta_loss is the running minimum of meta_loss; compute is N K per ES
// iteration ((N + 1) K for truncated ES, whose mean state is unrolled too)
// and T per random-search configuration, and random search gets the compute
// of one ES-Single/PES run (20 iterations x 4 x 10 = 800 = 40
// configurations of T = 20).
std::vector<const std::vector<std::string>*> RowsOf(const std::string& method,
                                                   const std::string& seed) {
  std::vector<const std::vector<std::string>*> out;
  for (const auto& r : FigureTest::Output().rows) {
    if (r[0] == method && r[2] == seed) out.push_back(&r);
  }
  return out;
}

TEST_F(FigureTest, BestSoFarAndComputeBookkeeping) {
  ASSERT_EQ(Output().header,
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
TEST_F(FigureTest, MethodsShareTheStart) {
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
TEST_F(FigureTest, ThetaFileDecodesTheHyperparameters) {
  ASSERT_EQ(Output("_theta").rows.size(), 4u * 2u * 29u);
  for (const auto& r : Output("_theta").rows) {
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

TEST_F(FigureTest, SidecarKeepsThePeersContract) {
  const std::string* json = &Sidecar();
  for (const char* m : {"random_search", "es_single", "pes", "tes"}) {
    EXPECT_TRUE(JsonHasMethodSummary(*json, m)) << m << " in\n" << *json;
  }
  for (const char* m : {"random_search", "es_single", "pes", "tes"}) {
    EXPECT_NE(json->find(std::string("\"best_meta_loss_mean_") + m + "\""),
              std::string::npos)
        << m;
  }
}

// Budgets that overflow and random searches that cannot fit are refused
// before anything runs (docs/reliability.md).
TEST_F(FigureTest, OverflowingBudgetAndHugeRandomSearchAreErrors) {
  const std::string dir = TestDir("fig9_limits");
  EXPECT_EQ(RunBinary(dir, {"--iterations=9000000000000000000"}), 1);
  EXPECT_NE(ReadFile(dir + "/stderr.log")->find("overflows a 64-bit integer"),
            std::string::npos);
  EXPECT_EQ(RunBinary(dir, {"--rs_configs=1000000000", "--max_memory_mb=4096"}),
            1);
  EXPECT_NE(ReadFile(dir + "/stderr.log")->find("random search over 1000000000"),
            std::string::npos)
      << *ReadFile(dir + "/stderr.log");
}

}  // namespace
}  // namespace es::experiments::test

