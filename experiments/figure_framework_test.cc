// Tests of the figure framework's promises (experiments/figure.h,
// docs/experiments.md) on real figure binaries: the flag-precedence rule,
// preset conflicts, rejected flags, exit codes, stale-output removal, and
// that a failed run leaves an earlier result untouched. fig5_influence and
// fig15_toy2d stand in for every figure (they all go through FigureMain).
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "experiments/figure_test_util.h"
#include "gtest/gtest.h"

namespace es::experiments::test {
namespace {

namespace fs = std::filesystem;

std::string g_fig5, g_fig15;

// Runs `binary` with `flags` into `dir` (stderr to dir/stderr.log).
int RunFigure(const std::string& binary, const std::string& dir,
        std::vector<std::string> flags) {
  fs::create_directories(dir);
  std::vector<std::string> argv = {binary, "--progress=false",
                                   "--out_dir=" + dir};
  argv.insert(argv.end(), flags.begin(), flags.end());
  return RunCommand(argv, dir + "/stderr.log");
}

std::string Stderr(const std::string& dir) {
  return ReadFile(dir + "/stderr.log").value_or("");
}

std::string Flag(const std::string& sidecar, const std::string& name) {
  const std::string key = "\"" + name + "\": \"";
  const size_t at = sidecar.find("\"flags\"");
  const size_t p = sidecar.find(key, at);
  if (at == std::string::npos || p == std::string::npos) return "<missing>";
  const size_t b = p + key.size();
  return sidecar.substr(b, sidecar.find('"', b) - b);
}

int64_t LastIteration(const std::string& csv_path) {
  auto t = ReadCsv(csv_path);
  EXPECT_TRUE(t.ok()) << t.status();
  if (!t.ok() || t->rows.empty()) return -1;
  return std::stoll(t->rows.back()[t->Column("iteration")]);
}

// The preset's value applies when the flag is not given; a flag given on
// the command line wins even when its value equals the paper default (the
// flaw of the old QuickOr rule, which treated such a flag as unset).
TEST(FigureFrameworkTest, CommandLineBeatsPresetEvenAtTheDefaultValue) {
  const std::string a = TestDir("precedence_preset");
  ASSERT_EQ(RunFigure(g_fig5, a, {"--quick", "--methods=es_single",
                            "--ablation_methods="}), 0) << Stderr(a);
  const std::string sa = *ReadFile(a + "/fig5_influence.json");
  EXPECT_EQ(Flag(sa, "iterations"), "2000");  // the quick preset's value
  EXPECT_EQ(Flag(sa, "seeds"), "0,1");
  EXPECT_EQ(LastIteration(a + "/fig5_influence.csv"), 2000);

  const std::string b = TestDir("precedence_cmdline");
  ASSERT_EQ(RunFigure(g_fig5, b, {"--quick", "--methods=es_single",
                            "--ablation_methods=", "--iterations=3000"}),
            0)
      << Stderr(b);
  const std::string sb = *ReadFile(b + "/fig5_influence.json");
  EXPECT_EQ(Flag(sb, "iterations"), "3000");  // = the paper preset's value
  EXPECT_EQ(LastIteration(b + "/fig5_influence.csv"), 3000);
  EXPECT_NE(sb.find("\"preset\": \"quick\""), std::string::npos);
}

TEST(FigureFrameworkTest, ContradictoryOrUnknownPresetsAreErrors) {
  const std::string d = TestDir("preset_conflict");
  EXPECT_EQ(RunFigure(g_fig5, d, {"--quick", "--preset=paper"}), 1);
  EXPECT_NE(Stderr(d).find("--quick contradicts --preset=paper"),
            std::string::npos)
      << Stderr(d);
  const std::string e = TestDir("preset_unknown");
  EXPECT_EQ(RunFigure(g_fig5, e, {"--preset=huge"}), 1);
  EXPECT_NE(Stderr(e).find("huge"), std::string::npos) << Stderr(e);
  EXPECT_FALSE(fs::exists(e + "/fig5_influence.csv"));
}

// fig15 has no data set: --data_dir is a shared flag it does not declare.
TEST(FigureFrameworkTest, UndeclaredSharedFlagIsRejected) {
  const std::string d = TestDir("undeclared");
  EXPECT_EQ(RunFigure(g_fig15, d, {"--quick", "--data_dir=/somewhere"}), 1);
  EXPECT_NE(Stderr(d).find("--data_dir is not a setting of fig15_toy2d"),
            std::string::npos)
      << Stderr(d);
  EXPECT_FALSE(fs::exists(d + "/fig15_toy2d.json"));
}

TEST(FigureFrameworkTest, BadValueIsAnErrorThatNamesItAndKeepsOldOutputs) {
  const std::string d = TestDir("bad_value");
  ASSERT_EQ(RunFigure(g_fig15, d, {"--quick"}), 0) << Stderr(d);
  const std::string before = *ReadFile(d + "/fig15_toy2d.csv");
  const std::string sidecar_before = *ReadFile(d + "/fig15_toy2d.json");
  EXPECT_EQ(RunFigure(g_fig15, d, {"--quick", "--sigma=-1"}), 1);
  EXPECT_NE(Stderr(d).find("-1"), std::string::npos) << Stderr(d);
  EXPECT_NE(Stderr(d).find("sigma"), std::string::npos) << Stderr(d);
  EXPECT_EQ(*ReadFile(d + "/fig15_toy2d.csv"), before);
  EXPECT_EQ(*ReadFile(d + "/fig15_toy2d.json"), sidecar_before);
}

TEST(FigureFrameworkTest, StaleOutputsOfThisBinaryAreRemoved) {
  const std::string d = TestDir("stale");
  fs::create_directories(d);
  std::ofstream(d + "/fig15_toy2d_obsolete.csv") << "x\n1\n";
  std::ofstream(d + "/fig15_toy2d_notes.txt") << "kept\n";
  ASSERT_EQ(RunFigure(g_fig15, d, {"--quick"}), 0) << Stderr(d);
  EXPECT_FALSE(fs::exists(d + "/fig15_toy2d_obsolete.csv"));
  EXPECT_TRUE(fs::exists(d + "/fig15_toy2d_notes.txt"));
  EXPECT_TRUE(fs::exists(d + "/fig15_toy2d_grid.csv"));
}

// sigma = 1e200 makes every perturbed loss overflow: every pair is dropped,
// theta stays where it started (never NaN), the outputs are written, and the
// exit code is 3 with the runs named.
TEST(FigureFrameworkTest, DivergenceIsExitCodeThreeWithFiniteTheta) {
  const std::string d = TestDir("diverge");
  EXPECT_EQ(RunFigure(g_fig5, d, {"--quick", "--methods=es_single",
                            "--ablation_methods=", "--sigma=1e200"}),
            3);
  EXPECT_NE(Stderr(d).find("diverged"), std::string::npos) << Stderr(d);
  const std::string sidecar = *ReadFile(d + "/fig5_influence.json");
  EXPECT_NE(sidecar.find("\"es_single N=1000 seed=0\""), std::string::npos);
  auto t = ReadCsv(d + "/fig5_influence.csv");
  ASSERT_TRUE(t.ok()) << t.status();
  for (const auto& [seed, theta] : FinalValues(*t, "es_single", 1000, "theta_0")) {
    EXPECT_EQ(theta, 0.5) << "seed " << seed;
  }
}

// Resource limits are errors before anything is allocated: the states of
// 1e9 particles do not fit in 1 MiB; an overflowing budget is rejected.
TEST(FigureFrameworkTest, ResourceLimitsAreErrorsNotAborts) {
  const std::string d = TestDir("memory");
  EXPECT_EQ(RunFigure(g_fig5, d, {"--quick", "--methods=es_single",
                                  "--ablation_methods=", "--max_memory_mb=1",
                                  "--num_particles=100000000"}),
            1);
  EXPECT_NE(Stderr(d).find("more than the limit of 1 MiB"), std::string::npos)
      << Stderr(d);
  EXPECT_EQ(RunFigure(g_fig5, d, {"--quick", "--max_memory_mb=-5"}), 1);
  EXPECT_NE(Stderr(d).find("--max_memory_mb must be >= 0"), std::string::npos)
      << Stderr(d);
  EXPECT_FALSE(fs::exists(d + "/fig5_influence.csv"));
}

// Values that would run forever or wrap around are rejected at validation.
TEST(FigureFrameworkTest, AbsurdSettingsAreRejectedAtValidation) {
  const std::string d = TestDir("absurd");
  const std::vector<std::string> base = {"--quick", "--methods=es_single",
                                         "--ablation_methods="};
  auto with = [&](const std::string& flag) {
    std::vector<std::string> f = base;
    f.push_back(flag);
    return f;
  };
  EXPECT_EQ(RunFigure(g_fig5, d, with("--seeds=-1")), 1);
  EXPECT_NE(Stderr(d).find("seeds must be >= 0, got -1"), std::string::npos)
      << Stderr(d);
  // Influence balancing never ends: no horizon bounds K.
  EXPECT_EQ(RunFigure(g_fig5, d, with("--truncation=2000000000")), 1);
  EXPECT_NE(Stderr(d).find("never-ending problem"), std::string::npos)
      << Stderr(d);
  EXPECT_EQ(RunFigure(g_fig5, d, with("--iterations=4611686018427387904")), 1);
  EXPECT_NE(Stderr(d).find("overflows a 64-bit integer"), std::string::npos)
      << Stderr(d);
  EXPECT_EQ(RunFigure(g_fig5, d, with("--num_particles=3")), 1);
  EXPECT_NE(Stderr(d).find("must be even"), std::string::npos) << Stderr(d);
  EXPECT_FALSE(fs::exists(d + "/fig5_influence.csv"));
}

}  // namespace
}  // namespace es::experiments::test

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--fig5=", 0) == 0) es::experiments::test::g_fig5 = a.substr(7);
    if (a.rfind("--fig15=", 0) == 0) es::experiments::test::g_fig15 = a.substr(8);
  }
  if (es::experiments::test::g_fig5.empty() || es::experiments::test::g_fig15.empty()) {
    std::fprintf(stderr, "usage: figure_framework_test --fig5=PATH --fig15=PATH\n");
    return 2;
  }
  return RUN_ALL_TESTS();
}
