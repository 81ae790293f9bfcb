// The figures' *_mpi binaries under `mpirun -np R --oversubscribe` write
// CSVs byte-identical to the one-process binaries (docs/scaling.md):
// fig15_toy2d (double precision) and fig9_many_hparams (float32 MLP on
// oneDNN) with ES-Single, PES and truncated ES, R = 2 and an uneven R = 3;
// a *_mpi binary started without mpirun runs as one process; a rank that
// fails takes the job down with a message naming it (never a hang); and a
// job killed with SIGKILL resumes with --resume to the same bytes as an
// uninterrupted run.
//
// mpirun: $MPIRUN, else `mpirun` on $PATH (Debian's openmpi-bin, installed by
// tools/setup.sh). Missing, the test skips outside CI and fails with
// ES_CI=1. As root it passes --allow-run-as-root.
//
//   bazel test //experiments:mpi_test
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "experiments/figure_test_util.h"
#include "gtest/gtest.h"

namespace es::experiments::test {
namespace {

namespace fs = std::filesystem;

std::string g_fig15, g_fig15_mpi, g_fig9, g_fig9_mpi;

class MpiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    mpirun_ = FindMpirun();
    if (mpirun_.empty()) {
      const char* ci = std::getenv("ES_CI");
      if (ci != nullptr && std::string(ci) == "1") {
        FAIL() << "mpirun not found ($MPIRUN or $PATH); tools/setup.sh "
                  "installs openmpi-bin";
      }
      GTEST_SKIP() << "mpirun not found ($MPIRUN or $PATH): install "
                      "openmpi-bin (tools/setup.sh)";
    }
    dir_ = fs::path(std::getenv("TEST_TMPDIR") != nullptr
                        ? std::getenv("TEST_TMPDIR")
                        : "/tmp") /
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }

  // mpirun -np `ranks` binary --quick --out_dir=dir_/name flags...,
  // under `timeout` so that a hang fails instead of blocking.
  std::vector<std::string> MpiArgv(int ranks, const std::string& binary,
                                   const std::string& name,
                                   const std::vector<std::string>& flags) {
    std::vector<std::string> a = MpirunPrefix(mpirun_, ranks, 300);
    a.push_back(binary);
    for (const auto& f : Flags(name, flags)) a.push_back(f);
    return a;
  }
  std::vector<std::string> Flags(const std::string& name,
                                 const std::vector<std::string>& flags) {
    std::vector<std::string> a = {"--quick", "--progress=false",
                                  "--out_dir=" + (dir_ / name).string()};
    a.insert(a.end(), flags.begin(), flags.end());
    return a;
  }
  int RunSingle(const std::string& binary, const std::string& name,
                const std::vector<std::string>& flags) {
    std::vector<std::string> a = {binary};
    for (const auto& f : Flags(name, flags)) a.push_back(f);
    return RunCommand(a, (dir_ / (name + ".log")).string());
  }
  int RunMpi(int ranks, const std::string& binary, const std::string& name,
             const std::vector<std::string>& flags) {
    return RunCommand(MpiArgv(ranks, binary, name, flags),
                      (dir_ / (name + ".log")).string());
  }
  std::string Log(const std::string& name) {
    return ReadFile((dir_ / (name + ".log")).string()).value_or("");
  }
  // Every CSV of run `a` is byte-identical to the same file of run `b`
  // (and there is at least one).
  void ExpectSameCsvs(const std::string& a, const std::string& b) {
    int n = 0;
    for (const auto& e : fs::directory_iterator(dir_ / a)) {
      if (e.path().extension() != ".csv") continue;
      ++n;
      auto x = ReadFile(e.path().string());
      auto y = ReadFile((dir_ / b / e.path().filename()).string());
      ASSERT_TRUE(x.ok() && y.ok()) << e.path();
      EXPECT_TRUE(*x == *y) << e.path().filename() << " of " << b
                            << " differs from " << a;
    }
    EXPECT_GT(n, 0) << "no CSV in " << a;
  }
  void ExpectIdentical(const std::string& single, const std::string& mpi,
                       const std::vector<std::string>& flags, int ranks,
                       const std::string& tag) {
    ASSERT_EQ(RunSingle(single, tag + "_1", flags), 0) << Log(tag + "_1");
    ASSERT_EQ(RunMpi(ranks, mpi, tag + "_mpi", flags), 0) << Log(tag + "_mpi");
    ExpectSameCsvs(tag + "_1", tag + "_mpi");
    // The sidecar records the ranks.
    const std::string json =
        ReadFile((dir_ / (tag + "_mpi")).string() + "/" +
                 fs::path(single).filename().string() + ".json")
            .value_or("");
    EXPECT_NE(json.find(absl::StrCat("\"ranks\": ", ranks)), std::string::npos)
        << json.substr(0, 400);
  }

  std::string mpirun_;
  fs::path dir_;
};

const std::vector<std::string> kEs = {"--methods=es_single,pes,tes"};

TEST_F(MpiTest, Toy2dIdenticalOnTwoRanks) {
  ExpectIdentical(g_fig15, g_fig15_mpi, {}, 2, "fig15");
}

TEST_F(MpiTest, Toy2dIdenticalOnThreeRanksWithUnevenPairs) {
  // 7 pairs over 3 ranks: 2, 2, 3.
  ExpectIdentical(g_fig15, g_fig15_mpi, {"--num_particles=14"}, 3, "fig15_r3");
}

TEST_F(MpiTest, MlpHpoIdenticalOnTwoAndThreeRanks) {
  ExpectIdentical(g_fig9, g_fig9_mpi, kEs, 2, "fig9");
  ExpectIdentical(g_fig9, g_fig9_mpi, kEs, 3, "fig9_r3");
}

TEST_F(MpiTest, MpiBinaryStartedByHandRunsAsOneProcess) {
  ASSERT_EQ(RunSingle(g_fig15, "plain", {}), 0) << Log("plain");
  ASSERT_EQ(RunSingle(g_fig15_mpi, "by_hand", {}), 0) << Log("by_hand");
  ExpectSameCsvs("plain", "by_hand");
  EXPECT_NE(ReadFile((dir_ / "by_hand" / "fig15_toy2d.json").string())
                .value_or("")
                .find("\"ranks\": 1"),
            std::string::npos);
}

TEST_F(MpiTest, AFailingRankTakesTheJobDownNamingIt) {
  // Rank 1 cannot write its checkpoint: its file and the .prev it would be
  // kept as are non-empty directories. Rank 0 writes fine.
  const fs::path out = dir_ / "fail";
  for (const char* p : {"fig15_toy2d.checkpoint.rank1of2",
                        "fig15_toy2d.checkpoint.rank1of2.prev"}) {
    fs::create_directories(out / p / "occupied");
  }
  const auto start = std::chrono::steady_clock::now();
  const int rc = RunMpi(2, g_fig15_mpi, "fail", {"--checkpoint_every=5"});
  const double seconds = std::chrono::duration<double>(
                             std::chrono::steady_clock::now() - start)
                             .count();
  EXPECT_NE(rc, 0);
  EXPECT_NE(rc, 124) << "timed out: the job hung";
  EXPECT_LT(seconds, 120);
  EXPECT_TRUE(absl::StrContains(Log("fail"), "fig15_toy2d (rank 1 of 2): "))
      << Log("fail");
  EXPECT_FALSE(fs::exists(out / "fig15_toy2d.csv")) << "no outputs on failure";
}

// `pid` and all its descendants (Open MPI puts each rank in a process group
// of its own, so killing mpirun's group does not reach them).
std::vector<pid_t> ProcessTree(pid_t pid) {
  std::vector<pid_t> all = {pid};
  for (size_t i = 0; i < all.size(); ++i) {
    std::error_code ec;
    const fs::path tasks = fs::path("/proc") / std::to_string(all[i]) / "task";
    for (const auto& t : fs::directory_iterator(tasks, ec)) {
      std::ifstream in(t.path() / "children");
      pid_t child;
      while (in >> child) all.push_back(child);
    }
  }
  return all;
}

// Gone, or a zombie nobody has reaped yet.
bool Dead(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return true;
  const size_t paren = line.rfind(')');
  return paren != std::string::npos && paren + 2 < line.size() &&
         line[paren + 2] == 'Z';
}

TEST_F(MpiTest, KilledJobResumesToTheSameBytes) {
  const std::vector<std::string> flags = {"--methods=es_single,pes,tes",
                                          "--checkpoint_every=3"};
  ASSERT_EQ(RunSingle(g_fig15, "whole", flags), 0) << Log("whole");
  // Kill point: after both ranks' first checkpoints exist, a delay from
  // std::mt19937(seed 20261203) in [0, max_ms); halved and retried when the
  // job finished first.
  std::mt19937 rng(20261203);
  int max_ms = 400;
  bool killed = false;
  for (int attempt = 0; attempt < 6 && !killed; ++attempt, max_ms /= 2) {
    const std::string name = absl::StrCat("killed", attempt);
    const fs::path out = dir_ / name;
    const pid_t pid = Spawn(MpiArgv(2, g_fig15_mpi, name, flags),
                                 (dir_ / (name + ".log")).string());
    ASSERT_GT(pid, 0);
    int status = 0;
    bool exited = false;
    while (!(fs::exists(out / "fig15_toy2d.checkpoint.rank0of2") &&
             fs::exists(out / "fig15_toy2d.checkpoint.rank1of2"))) {
      if (waitpid(pid, &status, WNOHANG) == pid) {
        exited = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (!exited) {
      std::this_thread::sleep_for(std::chrono::milliseconds(
          std::uniform_int_distribution<int>(0, std::max(max_ms, 1) - 1)(rng)));
      if (waitpid(pid, &status, WNOHANG) != pid) {
        const std::vector<pid_t> tree = ProcessTree(pid);
        for (pid_t p : tree) kill(p, SIGKILL);
        waitpid(pid, &status, 0);
        for (pid_t p : tree) {
          for (int i = 0; i < 5000 && !Dead(p); ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
          }
          ASSERT_TRUE(Dead(p)) << "process " << p << " survived SIGKILL";
        }
        killed = true;
      }
    }
    if (!killed) continue;
    ASSERT_FALSE(fs::exists(out / "fig15_toy2d.csv"));
    std::vector<std::string> resume = flags;
    resume.push_back("--resume");
    ASSERT_EQ(RunMpi(2, g_fig15_mpi, name, resume), 0) << Log(name);
    ExpectSameCsvs("whole", name);
  }
  EXPECT_TRUE(killed) << "every attempt finished before the kill";
}

}  // namespace
}  // namespace es::experiments::test

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    for (auto [flag, target] :
         {std::pair{"--fig15=", &es::experiments::test::g_fig15},
          std::pair{"--fig15_mpi=", &es::experiments::test::g_fig15_mpi},
          std::pair{"--fig9=", &es::experiments::test::g_fig9},
          std::pair{"--fig9_mpi=", &es::experiments::test::g_fig9_mpi}}) {
      if (a.rfind(flag, 0) == 0) *target = a.substr(std::string(flag).size());
    }
  }
  // Open MPI keeps its session directory under $TMPDIR; Bazel's test
  // directories are too long for the Unix sockets it creates there.
  setenv("TMPDIR", "/tmp", 1);
  return RUN_ALL_TESTS();
}
