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
  std::string binary, name, tolerance = "exact", data = "none", dir;
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
    } else if (absl::StartsWith(a, "--extra_flag=")) {
      g->extra_flags.push_back(value("--extra_flag="));
    } else {
      std::fprintf(stderr, "unknown argument %s\n", a.c_str());
      return 2;
    }
  }
  g->name = std::filesystem::path(g->binary).filename().string();
  setenv("OMP_NUM_THREADS", "1", 1);  // numbers do not depend on it
  es::experiments::test::RunOnce();
  return RUN_ALL_TESTS();
}
