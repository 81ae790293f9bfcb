// Golden and behavioural tests of //experiments:fig24_cifar_many_hparams
// (Fig. 24, 24 hyperparameters of a ResNet on CIFAR-10).
//
// CIFAR-10 is on no machine of this project, so the harness's --quick run
// (widths 4-8-8-16, T = 8, K = 2, N = 4, 6 iterations, seeds 0 and 1) uses
// --synthetic_data (200 / 100 generated 8x8 images; es_figure extra_flags):
// the numbers are a regression check of the pipeline, not CIFAR-10 results.
// Golden tolerance 1e-5 relative (float32 on oneDNN; experiments/testdata/
// regenerate_cifar.sh says when regenerating is legitimate). The binary runs
// with OMP_NUM_THREADS=1 (same numbers for any thread count). The real-data
// code path (files in CIFAR-10's binary format) and the descent mechanism
// are tested in fig23_cifar_lr_momentum_test: both binaries share
// experiments/cifar_common.
//
//   bazel test //experiments:fig24_cifar_many_hparams_test
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "experiments/figure_test.h"
#include "gtest/gtest.h"

namespace es::experiments::test {
namespace {

constexpr int kN = 4, kK = 2, kIterations = 6;
constexpr char kBinary[] = "fig24_cifar_many_hparams";

double Sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

std::vector<const std::vector<std::string>*> RowsOf(const CsvTable& t,
                                                   const std::string& method,
                                                   const std::string& seed) {
  std::vector<const std::vector<std::string>*> out;
  for (const auto& r : t.rows) {
    if (r[0] == method && r[2] == seed) out.push_back(&r);
  }
  return out;
}

std::string ReadOrEmpty(const std::string& path) {
  auto s = ReadFile(path);
  return s.ok() ? *s : "";
}

// P = 24 > 8: no theta columns. particle_steps = iteration x N K
// ((N + 1) K for truncated ES); best_meta_loss = running minimum; every
// method of a seed starts at the same meta-objective (same App. C draw,
// same evaluation inner problem).
TEST_F(FigureTest, ComputeBestSoFarAndSharedStart) {
  ASSERT_EQ(Output().header,
            (std::vector<std::string>{"method", "num_particles", "seed",
                                      "iteration", "meta_loss",
                                      "particle_steps", "best_meta_loss"}));
  for (const char* seed : {"0", "1"}) {
    const std::string start = (*RowsOf(Output(), "es_single", seed)[0])[4];
    for (const char* m : {"tes", "pes", "es_single"}) {
      const auto rows = RowsOf(Output(), m, seed);
      ASSERT_EQ(rows.size(), 3u) << m << " seed " << seed;
      EXPECT_EQ((*rows[0])[4], start) << m;
      const long long per_it = (std::string(m) == "tes" ? kN + 1 : kN) * kK;
      double best = INFINITY;
      for (const auto* r : rows) {
        const double loss = std::stod((*r)[4]);
        ASSERT_TRUE(std::isfinite(loss)) << m;
        best = std::min(best, loss);
        EXPECT_EQ(std::stod((*r)[6]), best) << m;
        EXPECT_EQ(std::stoll((*r)[5]), std::stoll((*r)[3]) * per_it) << m;
      }
      EXPECT_EQ(std::stoll((*rows.back())[3]), kIterations);
    }
  }
}

// _theta.csv: 24 coordinates per run in the documented order (9 log
// learning rates, 9 logit momenta, 6 logit width fractions), decoded as
// exp, sigmoid and channels = clamp(round(sigmoid * max), max(1,
// round(0.1 max)), max) of the width group's layers (quick widths 4-8-8-16:
// prep 4; layer1, res1a, layer2 8; layer3, res3a 16).
TEST_F(FigureTest, ThetaFileDecodesTheTwentyFourHyperparameters) {
  const CsvTable& t = Output("_theta");
  ASSERT_EQ(t.rows.size(), 3u * 2u * 24u);
  const std::vector<std::string> blocks = {"prep",  "layer1", "res1a",
                                           "res1b", "layer2", "layer3",
                                           "res3a", "res3b",  "fc"};
  const std::vector<std::string> groups = {"prep",   "layer1", "res1a",
                                           "layer2", "layer3", "res3a"};
  const std::vector<int> max_channels = {4, 8, 8, 8, 16, 16};
  for (const auto& r : t.rows) {
    const int i = std::stoi(r[2]);
    const double theta = std::stod(r[4]), value = std::stod(r[5]);
    if (i < 9) {
      EXPECT_EQ(r[3], "log_lr_" + blocks[i]);
      EXPECT_NEAR(value, std::exp(theta), 1e-12 * std::exp(theta));
    } else if (i < 18) {
      EXPECT_EQ(r[3], "logit_mom_" + blocks[i - 9]);
      EXPECT_NEAR(value, Sigmoid(theta), 1e-12);
    } else {
      const int g = i - 18;
      EXPECT_EQ(r[3], "logit_width_" + groups[g]);
      const int max = max_channels[g];
      const long lo = std::max(1L, std::lround(0.1 * max));
      const long want =
          std::clamp(std::lround(Sigmoid(theta) * max), lo, long{max});
      EXPECT_EQ(value, static_cast<double>(want)) << r[3] << " theta " << theta;
    }
  }
}

TEST_F(FigureTest, SyntheticDataIsLabelled) {
  EXPECT_NE(Sidecar().find("\"data\": \"synthetic\""), std::string::npos);
  EXPECT_NE(Sidecar().find("NOT CIFAR-10"), std::string::npos);
  const CsvTable& d = Output("_data");
  ASSERT_EQ(d.rows.size(), 1u);
  EXPECT_EQ(d.rows[0][0], "synthetic");
  EXPECT_NE(ReadOrEmpty(OutDir() + "/stderr.log").find("WARNING: --synthetic_data"),
            std::string::npos);
}

TEST_F(FigureTest, MissingCifarFailsNamingThePathAndWritesNothing) {
  const std::string dir = TestDir("fig24_missing");
  const std::string data = dir + "/no_such_dir";
  ASSERT_EQ(RunBinary(dir, {"--synthetic_data=false", "--data_dir=" + data}), 1);
  const std::string err = ReadOrEmpty(dir + "/stderr.log");
  EXPECT_NE(err.find(data + "/cifar10/data_batch_1.bin"), std::string::npos)
      << err;
  EXPECT_NE(err.find("tools/fetch_cifar10.sh"), std::string::npos) << err;
  EXPECT_FALSE(std::filesystem::exists(dir + "/" + kBinary + ".csv"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/" + kBinary + ".json"));
}

// Files unpacked under the archive's own folder name are pointed out.
TEST_F(FigureTest, ArchiveFolderNameIsPointedOut) {
  const std::string dir = TestDir("fig24_archive_name");
  const std::string data = dir + "/data";
  std::filesystem::create_directories(data + "/cifar-10-batches-bin");
  { std::ofstream(data + "/cifar-10-batches-bin/data_batch_1.bin") << "x"; }
  ASSERT_EQ(RunBinary(dir, {"--synthetic_data=false", "--data_dir=" + data}), 1);
  const std::string err = ReadOrEmpty(dir + "/stderr.log");
  EXPECT_NE(err.find(data + "/cifar-10-batches-bin exists"), std::string::npos)
      << err;
  EXPECT_NE(err.find(data + "/cifar10/data_batch_1.bin"), std::string::npos);
}

TEST_F(FigureTest, SidecarRecordsTheSetting) {
  for (const char* key : {"\"theta_dim\": 24", "\"theta_names\"",
                          "\"flops_per_particle_step\"",
                          "\"best_meta_loss_mean_es_single\"",
                          "\"final_meta_loss_mean_pes\""}) {
    EXPECT_NE(Sidecar().find(key), std::string::npos) << key;
  }
  for (const char* m : {"es_single", "pes", "tes"}) {
    EXPECT_TRUE(JsonHasMethodSummary(Sidecar(), m)) << m;
  }
}

}  // namespace
}  // namespace es::experiments::test
