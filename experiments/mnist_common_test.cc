// Tests of experiments/mnist_common.h without MNIST itself:
//   * the data directory precedence (--data_dir, $ES_SINGLE_DATA_DIR,
//     <workspace>/../shared/data) and errors that name the path tried;
//   * grid helpers (Linspace, Grid2d) and EvaluateGrid against
//     MlpHpoProblem::EvaluateBatch on a small synthetic problem (same
//     function, so equal to 1e-12 relative), with the mean over keys;
//   * WriteGridCsv's layout; AddEsMethodWithOptimizer's override.
#include "experiments/mnist_common.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "absl/flags/flag.h"
#include "estimators/philox.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

ABSL_FLAG(int, test_horizon, 5000, "a flag for QuickScaledOr");
ABSL_FLAG(int, test_other, 7, "a flag nobody sets");

namespace es::experiments {
namespace {

using ::testing::HasSubstr;

// A flag given on the command line wins even at its default value (so
// "--scaled --horizon=5000" keeps T = 5000); others take the preset.
TEST(PresetTest, CommandLineFlagsWinOverPresets) {
  std::vector<std::string> args = {"bin", "--test_horizon=5000", "--scaled",
                                   "--nofoo", "--", "--test_other=1"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  RecordCommandLineFlags(static_cast<int>(argv.size()), argv.data());
  EXPECT_TRUE(CommandLineRecorded());
  EXPECT_TRUE(OnCommandLine("test_horizon"));
  EXPECT_TRUE(OnCommandLine("scaled"));
  EXPECT_TRUE(OnCommandLine("foo"));
  EXPECT_FALSE(OnCommandLine("test_other")) << "after a bare --";
  EXPECT_EQ(QuickScaledOr(FLAGS_test_horizon, false, 40, true, 1000), 5000);
  EXPECT_EQ(QuickScaledOr(FLAGS_test_other, false, 1, true, 2), 2);
  EXPECT_EQ(QuickScaledOr(FLAGS_test_other, true, 1, true, 2), 1);
  EXPECT_EQ(QuickScaledOr(FLAGS_test_other, false, 1, false, 2), 7);
  EXPECT_EQ(QuickOnlyOr(FLAGS_test_other, false, 1), 7);
}
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

TEST(GridTest, LinspaceAndGrid2d) {
  EXPECT_EQ(Linspace(-1, 1, 5), (std::vector<double>{-1, -0.5, 0, 0.5, 1}));
  EXPECT_EQ(Linspace(2, 3, 1), (std::vector<double>{2}));
  EXPECT_TRUE(Linspace(0, 1, 0).empty());
  const RowMatrixXd g = Grid2d({1, 2}, {10, 20, 30});
  ASSERT_EQ(g.rows(), 6);
  EXPECT_EQ(g(0, 0), 1);
  EXPECT_EQ(g(0, 1), 10);
  EXPECT_EQ(g(4, 0), 2);
  EXPECT_EQ(g(4, 1), 20);
  auto r = ParseRange("-3,1", "r");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->first, -3);
  EXPECT_FALSE(ParseRange("1,-3", "r").ok());
  EXPECT_FALSE(ParseRange("1", "r").ok());
}

struct Synthetic {
  std::vector<float> images;
  std::vector<int32_t> labels;
};

Synthetic MakeData(int64_t n, int64_t d) {
  const RandomKey rk{5, Stream::kUser};
  Synthetic s;
  s.images.resize(n * d);
  s.labels.resize(n);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t f = 0; f < d; ++f) {
      s.images[i * d + f] =
          static_cast<float>(UniformOpen(rk, i, 0, static_cast<uint32_t>(f)));
    }
    s.labels[i] = s.images[i * d] > 0.5f ? 1 : 0;
  }
  return s;
}

TEST(GridTest, EvaluateGridAveragesEvaluateBatchOverKeys) {
  const Synthetic data = MakeData(256, 8);
  MlpHpoConfig c = MlpHpoConfig::LrSchedule();
  c.hidden_sizes = {6};
  c.num_classes = 2;
  c.batch_size = 8;
  c.measure_batch_size = 8;
  c.horizon = 12;
  c.schedule_q = 12;
  auto p = MlpHpoProblem::Create(c, {data.images, data.labels, 8}, {});
  ASSERT_TRUE(p.ok()) << p.status();
  const RowMatrixXd thetas = Grid2d({-4, -1, 3}, {-1, 1});
  auto g = EvaluateGrid(**p, thetas, {7, 8}, 4, false);
  ASSERT_TRUE(g.ok()) << g.status();
  auto a = (*p)->EvaluateBatch(thetas, 0, 7, 64);
  auto b = (*p)->EvaluateBatch(thetas, 0, 8, 64);
  ASSERT_TRUE(a.ok() && b.ok());
  double best = 1e300;
  int argmin = -1;
  for (int r = 0; r < thetas.rows(); ++r) {
    const double want = 0.5 * (a->sum_loss[r] + b->sum_loss[r]);
    if (std::isfinite(want)) {
      EXPECT_NEAR(g->meta_loss[r], want, 1e-12 * std::abs(want)) << "row " << r;
    }
    if (std::isfinite(want) && want < best) {
      best = want;
      argmin = r;
    }
  }
  EXPECT_EQ(g->argmin, argmin);
  EXPECT_FALSE(EvaluateGrid(**p, thetas, {}, 4, false).ok());

  const std::string path = Tmp("grid") + "/g.csv";
  ASSERT_TRUE(WriteGridCsv(path, *g).ok());
  std::ifstream in(path);
  std::string header;
  std::getline(in, header);
  EXPECT_EQ(header, "theta_0,theta_1,meta_loss");
}

TEST(RegistryTest, AddEsMethodWithOptimizerOverridesTheLearningRate) {
  const Synthetic data = MakeData(64, 8);
  MlpHpoConfig c = MlpHpoConfig::LrSchedule();
  c.hidden_sizes = {4};
  c.num_classes = 2;
  c.batch_size = 8;
  c.measure_batch_size = 8;
  c.horizon = 10;
  auto p = MlpHpoProblem::Create(c, {data.images, data.labels, 8}, {});
  ASSERT_TRUE(p.ok());
  MethodRegistry registry;
  OptimizerOptions o;
  o.learning_rate = 1e-3;
  ASSERT_TRUE(AddEsMethodWithOptimizer(p->get(), "pes", "pes_lr_small", o,
                                       &registry)
                  .ok());
  const MethodEntry* e = registry.Find("pes_lr_small");
  ASSERT_NE(e, nullptr);
  ASSERT_TRUE(e->optimizer.has_value());
  EXPECT_EQ(e->optimizer->learning_rate, 1e-3);
  MethodSettings s;
  s.num_particles = 2;
  s.truncation = 1;
  auto est = e->factory(s);
  ASSERT_TRUE(est.ok()) << est.status();
  EXPECT_EQ((*est)->name(), "pes");
  o.learning_rate = -1;
  auto bad = AddEsMethodWithOptimizer(p->get(), "pes", "x", o, &registry);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.message(), HasSubstr("learning rate"));
  o.learning_rate = 1e-3;
  EXPECT_FALSE(
      AddEsMethodWithOptimizer(p->get(), "nope", "y", o, &registry).ok());
}

}  // namespace
}  // namespace es::experiments
