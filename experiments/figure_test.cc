// figure_test.cc - see figure_test.h. Holds main().
#include "experiments/figure_test.h"

#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace es::experiments::test {
namespace {

struct Harness {
  std::string binary, mpi_binary, name, tolerance = "exact", data = "none",
      dir, mpi_tolerance = "exact";
  std::vector<std::pair<std::string, std::string>> goldens;  // suffix, path
  std::vector<std::string> extra_flags;
  std::string skip;  // why the tests skip, if they do
  int rc = -1;
  std::map<std::string, CsvTable> outputs;
  std::string sidecar;
};

Harness* g = nullptr;

// Empty when the data set the figure needs is present.
std::string MissingData(const std::string& data) {
  if (data == "none") return "";
  if (data == "fashion_mnist") {
    const char* dir = std::getenv("ES_SINGLE_FASHION_MNIST_DIR");
    const std::string d = dir != nullptr && dir[0] != '\0'
                              ? dir
                              : "/usr/share/datasets/fashion-mnist";
    if (std::filesystem::exists(d + "/train-images-idx3-ubyte.gz") ||
        std::filesystem::exists(d + "/train-images-idx3-ubyte")) {
      return "";
    }
    return absl::StrCat("FashionMNIST missing in ", d,
                        " (Debian package dataset-fashion-mnist; "
                        "tools/setup.sh installs it)");
  }
  const char* dir = std::getenv("ES_SINGLE_DATA_DIR");
  if (dir == nullptr || dir[0] == '\0') {
    return "ES_SINGLE_DATA_DIR is unset (run with ES_SINGLE_DATA_DIR=<data "
           "dir> bazel test ...; see the README, \"Data\")";
  }
  // One file per data set whose presence means the set is there.
  static const std::map<std::string, std::string> kMarker = {
      {"mnist", "mnist/train-images-idx3-ubyte.gz"},
      {"ptb", "ptb/ptb.char.train.txt"},
      {"yacht", "yacht/yacht_hydrodynamics.data"},
      {"mujoco-swimmer", "mujoco-swimmer/swimmer.xml"},
  };
  const auto it = kMarker.find(data);
  if (it == kMarker.end()) {
    return absl::StrCat("unknown --data=", data,
                        " (allowed: none, fashion_mnist, mnist, ptb, yacht, "
                        "mujoco-swimmer)");
  }
  std::string path = absl::StrCat(dir, "/", it->second);
  if (data == "mnist" && !std::filesystem::exists(path)) {
    path.resize(path.size() - 3);  // the raw IDX file also does
  }
  if (!std::filesystem::exists(path)) {
    return absl::StrCat(data, " missing: ", path, " does not exist");
  }
  return "";
}

std::vector<std::string> QuickArgs(const std::string& dir) {
  std::vector<std::string> a = {g->binary, "--quick", "--progress=false",
                                "--out_dir=" + dir};
  a.insert(a.end(), g->extra_flags.begin(), g->extra_flags.end());
  return a;
}

void RunOnce() {
  g->skip = MissingData(g->data);
  if (!g->skip.empty()) return;
  g->dir = TestDir(g->name);
  g->rc = RunCommand(QuickArgs(g->dir), g->dir + "/stderr.log");
  if (g->rc != 0) return;
  for (const auto& entry : std::filesystem::directory_iterator(g->dir)) {
    const std::string file = entry.path().filename().string();
    if (absl::StartsWith(file, g->name) && absl::EndsWith(file, ".csv")) {
      auto t = ReadCsv(entry.path().string());
      if (t.ok()) {
        g->outputs[file.substr(g->name.size(),
                               file.size() - g->name.size() - 4)] = *t;
      }
    }
  }
  auto json = ReadFile(absl::StrCat(g->dir, "/", g->name, ".json"));
  if (json.ok()) g->sidecar = *json;
}

class FigureGolden : public FigureTest {};

TEST_F(FigureGolden, OutputsMatchTheGoldens) {
  ASSERT_FALSE(g->goldens.empty()) << "the es_figure rule declares no golden";
  const bool exact = g->tolerance == "exact";
  for (const auto& [suffix, path] : g->goldens) {
    auto golden = ReadCsv(path);
    ASSERT_TRUE(golden.ok()) << golden.status();
    const absl::Status s = CompareCsv(*golden, Output(suffix),
                                      exact ? kGoldenRelTol : kOneDnnRelTol,
                                      exact ? kGoldenAbsTol : kOneDnnAbsTol);
    EXPECT_TRUE(s.ok()) << g->name << suffix << ".csv vs " << path << ": "
                        << s.message();
  }
}

// The *_mpi binary under `mpirun -np 2` writes the same bytes as the
// one-process quick run (within 1e-5 relative for --mpi_tolerance=onednn,
// see figure.bzl; docs/scaling.md). Without mpirun: skip outside CI,
// failure with ES_CI=1.
TEST_F(FigureGolden, TwoMpiRanksWriteTheSameBytes) {
  ASSERT_FALSE(g->mpi_binary.empty()) << "the es_figure rule gives no *_mpi binary";
  const std::string mpirun = FindMpirun();
  if (mpirun.empty()) {
    const char* ci = std::getenv("ES_CI");
    if (ci != nullptr && std::string(ci) == "1") {
      FAIL() << "mpirun not found in CI ($MPIRUN or $PATH; tools/setup.sh "
                "installs openmpi-bin)";
    }
    GTEST_SKIP() << "mpirun not found ($MPIRUN or $PATH): install openmpi-bin";
  }
  const std::string dir = g->dir + "/mpi2";
  std::filesystem::create_directories(dir);
  std::vector<std::string> a = MpirunPrefix(mpirun, 2, 600);
  std::vector<std::string> quick = QuickArgs(dir);
  quick[0] = g->mpi_binary;
  a.insert(a.end(), quick.begin(), quick.end());
  ASSERT_EQ(RunCommand(a, dir + "/stderr.log"), 0)
      << ReadFile(dir + "/stderr.log").value_or("");
  int n = 0;
  for (const auto& entry : std::filesystem::directory_iterator(g->dir)) {
    if (entry.path().extension() != ".csv") continue;
    ++n;
    const std::string other = dir + "/" + entry.path().filename().string();
    if (g->mpi_tolerance == "exact") {
      auto one = ReadFile(entry.path().string());
      auto two = ReadFile(other);
      ASSERT_TRUE(one.ok() && two.ok()) << entry.path();
      EXPECT_TRUE(*one == *two) << entry.path().filename()
                                << ": 2 MPI ranks differ from one process";
    } else {
      ASSERT_EQ(g->mpi_tolerance, "onednn");
      auto one = ReadCsv(entry.path().string());
      auto two = ReadCsv(other);
      ASSERT_TRUE(one.ok() && two.ok()) << entry.path();
      const absl::Status s =
          CompareCsv(*one, *two, kOneDnnRelTol, kOneDnnAbsTol);
      EXPECT_TRUE(s.ok()) << entry.path().filename() << ": " << s.message();
    }
  }
  EXPECT_GT(n, 0);
  EXPECT_NE(ReadFile(dir + "/" + g->name + ".json").value_or("").find(
                "\"ranks\": 2"),
            std::string::npos);
}

// The sidecar keeps the contract benchmarks/peers/ and tools/ rely on.
TEST_F(FigureGolden, SidecarHasTheContract) {
  for (const char* key : {"\"binary\"", "\"preset\": \"quick\"", "\"git_commit\"",
                          "\"library_versions\"", "\"onednn_isa\"", "\"flags\"",
                          "\"presets\"", "\"settings\"", "\"methods\"", "\"runs\"",
                          "\"divergence\": []", "\"outputs\""}) {
    EXPECT_NE(Sidecar().find(key), std::string::npos) << key << " in\n"
                                                      << Sidecar();
  }
}

}  // namespace

void FigureTest::SetUp() {
  if (!g->skip.empty()) {
    const char* ci = std::getenv("ES_CI");
    if (ci != nullptr && std::string(ci) == "1") {
      FAIL() << "data missing in CI (ES_CI=1): " << g->skip;
    }
    GTEST_SKIP() << g->skip;
  }
  ASSERT_EQ(g->rc, 0) << "the quick run failed; reproduce with: "
                      << g->binary << " --quick --out_dir=/tmp/" << g->name
                      << " (its stderr is in " << g->dir << "/stderr.log)";
}

const CsvTable& FigureTest::Output(const std::string& suffix) {
  static const CsvTable* empty = new CsvTable();
  auto it = g->outputs.find(suffix);
  EXPECT_NE(it, g->outputs.end()) << "no output " << g->name << suffix << ".csv";
  return it == g->outputs.end() ? *empty : it->second;
}

const std::string& FigureTest::Sidecar() { return g->sidecar; }
const std::string& FigureTest::OutDir() { return g->dir; }
const std::string& FigureTest::Binary() { return g->binary; }

int FigureTest::RunBinary(const std::string& dir,
                          const std::vector<std::string>& extra) {
  std::vector<std::string> a = QuickArgs(dir);
  a.insert(a.end(), extra.begin(), extra.end());
  std::filesystem::create_directories(dir);
  return RunCommand(a, dir + "/stderr.log");
}

}  // namespace es::experiments::test

int main(int argc, char** argv) {
  using es::experiments::test::g;
  ::testing::InitGoogleTest(&argc, argv);
  g = new es::experiments::test::Harness();
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&](const char* prefix) { return a.substr(std::strlen(prefix)); };
    if (absl::StartsWith(a, "--binary=")) {
      g->binary = value("--binary=");
    } else if (absl::StartsWith(a, "--tolerance=")) {
      g->tolerance = value("--tolerance=");
    } else if (absl::StartsWith(a, "--data=")) {
      g->data = value("--data=");
    } else if (absl::StartsWith(a, "--golden=")) {
      const std::string v = value("--golden=");
      const size_t colon = v.find(':');
      g->goldens.emplace_back(v.substr(0, colon), v.substr(colon + 1));
    } else if (absl::StartsWith(a, "--mpi_tolerance=")) {
      g->mpi_tolerance = value("--mpi_tolerance=");
    } else if (absl::StartsWith(a, "--mpi_binary=")) {
      g->mpi_binary = value("--mpi_binary=");
    } else if (absl::StartsWith(a, "--extra_flag=")) {
      g->extra_flags.push_back(value("--extra_flag="));
    } else {
      std::fprintf(stderr, "unknown argument %s\n", a.c_str());
      return 2;
    }
  }
  g->name = std::filesystem::path(g->binary).filename().string();
  setenv("OMP_NUM_THREADS", "1", 1);  // numbers do not depend on it
  // Open MPI keeps its session directory under $TMPDIR; Bazel's test
  // directories are too long for the Unix sockets it creates there.
  setenv("TMPDIR", "/tmp", 1);
  es::experiments::test::RunOnce();
  return RUN_ALL_TESTS();
}
