// Crash-safety of the figure binaries: a run killed with SIGKILL at an
// arbitrary point after its first checkpoint and continued with --resume
// writes byte-identical CSVs to an uninterrupted run (docs/experiments.md).
// Runs fig15_toy2d (double precision; es_single, pes, tes) and
// fig9_many_hparams (the float32 MLP on oneDNN, random search included).
//
// The kill point: after the checkpoint file first appears, a delay drawn
// from std::mt19937(seed 20261203) in [0, max_delay) ms. If the child has
// already finished, the attempt is repeated with half the delay; the test
// requires at least one real mid-run kill per binary.
//
//   bazel test //experiments:resume_test
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "experiments/figure_test_util.h"
#include "gtest/gtest.h"

namespace es::experiments::test {
namespace {

namespace fs = std::filesystem;

std::string g_fig15, g_fig9;

std::vector<std::string> Argv(const std::string& binary, const std::string& dir,
                               const std::vector<std::string>& flags) {
  std::vector<std::string> a = {binary, "--quick", "--progress=false",
                                "--out_dir=" + dir};
  a.insert(a.end(), flags.begin(), flags.end());
  return a;
}

// Kills the run at a point after its first checkpoint. Returns true if the
// kill landed mid-run (the child died of SIGKILL), false if it finished
// first.
bool KillMidRun(const std::vector<std::string>& argv, const std::string& dir,
                const std::string& checkpoint, int delay_ms) {
  const pid_t pid = Spawn(argv, dir + "/child.log");
  EXPECT_GT(pid, 0);
  int status = 0;
  while (!fs::exists(checkpoint)) {
    if (waitpid(pid, &status, WNOHANG) == pid) return false;  // done already
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

void CheckResume(const std::string& binary, const std::string& name,
                 const std::vector<std::string>& flags,
                 const std::vector<std::string>& csvs, int max_delay_ms) {
  // The uninterrupted reference.
  const std::string ref = TestDir(name + "_ref");
  ASSERT_EQ(RunCommand(Argv(binary, ref, flags), ref + "/stderr.log"), 0)
      << ReadFile(ref + "/stderr.log").value_or("");

  std::mt19937 rng(20261203);
  const std::string dir = TestDir(name + "_killed");
  const std::string checkpoint = dir + "/" + name + ".checkpoint";
  std::vector<std::string> cflags = flags;
  cflags.push_back("--checkpoint_every=1");
  bool killed = false;
  for (int attempt = 0; attempt < 8 && !killed; ++attempt) {
    fs::remove_all(dir);
    fs::create_directories(dir);
    const int delay = std::uniform_int_distribution<int>(
        0, std::max(0, (max_delay_ms >> attempt) - 1))(rng);
    killed = KillMidRun(Argv(binary, dir, cflags), dir, checkpoint, delay);
    if (killed) {
      std::printf("%s: killed %d ms after the first checkpoint (attempt %d)\n",
                  name.c_str(), delay, attempt);
    }
  }
  ASSERT_TRUE(killed) << "the run always finished before the kill";
  ASSERT_TRUE(fs::exists(checkpoint));
  EXPECT_FALSE(fs::exists(dir + "/" + name + ".json"))
      << "outputs must not exist before the run completes";

  // Resuming with other settings is refused and leaves the checkpoint.
  std::vector<std::string> other = cflags;
  other.push_back("--resume");
  other.push_back("--seeds=7");
  EXPECT_EQ(RunCommand(Argv(binary, dir, other), dir + "/refused.log"), 1);
  EXPECT_NE(ReadFile(dir + "/refused.log")->find("other settings"),
            std::string::npos)
      << *ReadFile(dir + "/refused.log");
  ASSERT_TRUE(fs::exists(checkpoint));

  std::vector<std::string> resume = cflags;
  resume.push_back("--resume");
  ASSERT_EQ(RunCommand(Argv(binary, dir, resume), dir + "/resume.log"), 0)
      << *ReadFile(dir + "/resume.log");
  for (const std::string& csv : csvs) {
    const auto a = ReadFile(ref + "/" + csv);
    const auto b = ReadFile(dir + "/" + csv);
    ASSERT_TRUE(a.ok() && b.ok()) << csv;
    EXPECT_EQ(*a, *b) << csv << " differs after kill -9 and --resume";
  }
  EXPECT_FALSE(fs::exists(checkpoint)) << "a finished run removes its checkpoint";
}

TEST(ResumeTest, ResumeWithoutACheckpointIsAnError) {
  const std::string dir = TestDir("no_checkpoint");
  EXPECT_EQ(RunCommand(Argv(g_fig15, dir, {"--resume"}), dir + "/log"), 1);
  EXPECT_NE(ReadFile(dir + "/log")->find("no checkpoint"), std::string::npos);
}

TEST(ResumeTest, Toy2dKilledAndResumedIsByteIdentical) {
  CheckResume(g_fig15, "fig15_toy2d", {"--methods=es_single,pes,tes"},
              {"fig15_toy2d.csv", "fig15_toy2d_grid.csv"}, 40);
}

TEST(ResumeTest, MlpKilledAndResumedIsByteIdentical) {
  const char* fm = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz";
  if (!fs::exists(fm)) {
    if (std::getenv("ES_CI") != nullptr) FAIL() << fm << " missing";
    GTEST_SKIP() << fm << " missing (dataset-fashion-mnist)";
  }
  CheckResume(g_fig9, "fig9_many_hparams", {}, {"fig9_many_hparams.csv", "fig9_many_hparams_theta.csv"}, 400);
}

}  // namespace
}  // namespace es::experiments::test

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--fig15=", 0) == 0) es::experiments::test::g_fig15 = a.substr(8);
    if (a.rfind("--fig9=", 0) == 0) es::experiments::test::g_fig9 = a.substr(7);
  }
  if (es::experiments::test::g_fig15.empty() || es::experiments::test::g_fig9.empty()) {
    std::fprintf(stderr, "usage: resume_test --fig15=PATH --fig9=PATH\n");
    return 2;
  }
  return RUN_ALL_TESTS();
}
