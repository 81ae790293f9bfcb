// Tests of experiments/mnist_common.h without MNIST itself:
//   * the data directory precedence (--data_dir, $ES_SINGLE_DATA_DIR,
//     <workspace>/../shared/data) and errors that name the path tried;
//   (grids: grid_test.cc; ES variants: method_registry_test.cc).
#include "experiments/mnist_common.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "absl/flags/flag.h"
#include "estimators/philox.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace es::experiments {
namespace {

using ::testing::HasSubstr;

namespace fs = std::filesystem;

std::string Tmp(const std::string& name) {
  const char* t = std::getenv("TEST_TMPDIR");
  const fs::path p = fs::path(t != nullptr ? t : "/tmp") / name;
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

void FakeMnist(const std::string& data_dir) {
  fs::create_directories(data_dir + "/mnist");
  std::ofstream(data_dir + "/mnist/train-images-idx3-ubyte.gz") << "x";
}

class DataDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    unsetenv("ES_SINGLE_DATA_DIR");
    unsetenv("BUILD_WORKSPACE_DIRECTORY");
  }
};

TEST_F(DataDirTest, FlagWinsAndIsChecked) {
  const std::string a = Tmp("flag_a"), b = Tmp("flag_b");
  FakeMnist(a);
  FakeMnist(b);
  setenv("ES_SINGLE_DATA_DIR", b.c_str(), 1);
  auto d = ResolveMnistDataDir(a);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(*d, a);
  auto missing = ResolveMnistDataDir(a + "/nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(),
              HasSubstr(a + "/nope/mnist/train-images-idx3-ubyte"));
  EXPECT_THAT(missing.status().message(), HasSubstr("--data_dir"));
}

// A data directory that is a symlink loop is "not found", not an exception.
TEST_F(DataDirTest, SymlinkLoopIsNotFoundNotACrash) {
  const std::string root = Tmp("loop");
  fs::create_symlink(root + "/a", root + "/b");
  fs::create_symlink(root + "/b", root + "/a");
  auto d = ResolveMnistDataDir(root + "/a");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(d.status().message(), HasSubstr(root + "/a/mnist"));
}

TEST_F(DataDirTest, EnvironmentThenWorkspaceFallback) {
  const std::string env = Tmp("env_dir");
  FakeMnist(env);
  setenv("ES_SINGLE_DATA_DIR", env.c_str(), 1);
  auto d = ResolveMnistDataDir("");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(*d, env);

  unsetenv("ES_SINGLE_DATA_DIR");
  const std::string root = Tmp("layout");
  fs::create_directories(root + "/main");
  FakeMnist(root + "/shared/data");
  setenv("BUILD_WORKSPACE_DIRECTORY", (root + "/main").c_str(), 1);
  d = ResolveMnistDataDir("");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(*d, root + "/main/../shared/data");

  const std::string bare = Tmp("bare");
  fs::create_directories(bare + "/main");
  setenv("BUILD_WORKSPACE_DIRECTORY", (bare + "/main").c_str(), 1);
  auto none = ResolveMnistDataDir("");
  ASSERT_FALSE(none.ok());
  EXPECT_THAT(none.status().message(), HasSubstr(bare + "/main/../shared/data"));
  EXPECT_THAT(none.status().message(), HasSubstr("ES_SINGLE_DATA_DIR"));
}

}  // namespace
}  // namespace es::experiments
