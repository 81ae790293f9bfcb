// mnist_test_util.cc - see mnist_test_util.h.
#include "experiments/mnist_test_util.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace es::experiments::test {
namespace {

std::vector<std::string>* g_args = new std::vector<std::string>();

}  // namespace

std::string MnistSkipReason() {
  const char* dir = std::getenv("ES_SINGLE_DATA_DIR");
  if (dir == nullptr || dir[0] == '\0') {
    return "ES_SINGLE_DATA_DIR is unset (run with "
           "ES_SINGLE_DATA_DIR=/work/shared/data bazel test ...)";
  }
  const std::string base =
      absl::StrCat(dir, "/mnist/train-images-idx3-ubyte");
  if (!std::filesystem::exists(base + ".gz") && !std::filesystem::exists(base)) {
    return absl::StrCat("MNIST missing: ", base, "(.gz) does not exist");
  }
  return "";
}

int RunQuick(const std::string& binary, const std::string& dir,
             const std::vector<std::string>& extra) {
  if (!MnistSkipReason().empty()) return -1;
  std::vector<std::string> argv = {binary, "--quick", "--progress=false",
                                   "--out_dir=" + dir};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return RunCommand(argv, dir + "/stderr.log");
}

const std::vector<std::string>& MnistTestArgs() { return *g_args; }

int MnistFigureTestMain(int argc, char** argv, int num_args,
                        const char* usage) {
  ::testing::InitGoogleTest(&argc, argv);
  if (argc != num_args + 1) {
    std::fprintf(stderr, "usage: %s %s\n", argv[0], usage);
    return 2;
  }
  g_args->assign(argv + 1, argv + argc);
  setenv("OMP_NUM_THREADS", "1", 1);
  return RUN_ALL_TESTS();
}

::testing::AssertionResult MatchesGolden(const std::string& golden_path,
                                         const std::string& actual_path) {
  auto golden = ReadCsv(golden_path);
  if (!golden.ok()) {
    return ::testing::AssertionFailure() << golden.status().ToString();
  }
  auto actual = ReadCsv(actual_path);
  if (!actual.ok()) {
    return ::testing::AssertionFailure() << actual.status().ToString();
  }
  const absl::Status s = CompareCsv(*golden, *actual, kOneDnnRelTol, kOneDnnAbsTol);
  if (s.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << actual_path << " vs " << golden_path << ": " << s.message()
         << " (regenerate: experiments/testdata/regenerate_mnist.sh, only when "
            "the change is meant to alter the numbers)";
}

}  // namespace es::experiments::test
