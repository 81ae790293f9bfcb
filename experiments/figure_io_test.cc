// Tests of the figure output contract (experiments/figure_io.h).
#include "experiments/figure_io.h"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "gtest/gtest.h"

namespace es::experiments {
namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string TmpDir() {
  const char* t = std::getenv("TEST_TMPDIR");
  return t ? t : "/tmp";
}

TEST(FigureIoTest, OutDirDefaultsToResultsBinaryUnderTheWorkspace) {
  EXPECT_EQ(OutDirPath("", "fig5_influence", nullptr), "results/fig5_influence");
  EXPECT_EQ(OutDirPath("", "fig5_influence", ""), "results/fig5_influence");
  EXPECT_EQ(OutDirPath("", "fig5_influence", "/ws"), "/ws/results/fig5_influence");
  EXPECT_EQ(OutDirPath("out/x", "b", "/ws"), "/ws/out/x");
  EXPECT_EQ(OutDirPath("/abs/dir", "b", "/ws"), "/abs/dir");
  EXPECT_EQ(OutDirPath("out/./x/../y", "b", nullptr), "out/y");
}

TEST(FigureIoTest, ResolveOutDirCreatesTheDirectory) {
  const std::string dir = TmpDir() + "/figure_io_test/a/b";
  auto resolved = ResolveOutDir(dir + "/", "ignored");
  ASSERT_TRUE(resolved.ok()) << resolved.status();
  EXPECT_EQ(*resolved, dir);
  EXPECT_TRUE(std::filesystem::is_directory(dir));
}

TEST(FigureIoTest, FormatsNumbers) {
  EXPECT_EQ(FormatDouble(0.5), "0.5");
  EXPECT_EQ(FormatDouble(-1.0 / 6.0), "-0.16666666666666666");
  EXPECT_EQ(FormatDouble(1e-4), "0.0001");
  EXPECT_EQ(FormatDouble(0.1 + 0.2), "0.30000000000000004");
  // Every double reads back to itself.
  for (double v : {1.0 / 3.0, 2490.556752179354, 5e-324, 1.7976931348623157e308,
                   -123456789.123456789}) {
    EXPECT_EQ(std::strtod(FormatDouble(v).c_str(), nullptr), v) << v;
  }
  EXPECT_EQ(FormatDouble(std::nan("")), "nan");
  EXPECT_EQ(FormatDouble(INFINITY), "inf");
  EXPECT_EQ(FormatDouble(-INFINITY), "-inf");
}

TEST(FigureIoTest, ParsesLists) {
  EXPECT_EQ(*ParseIntList("0, 1,2", "seeds"), (std::vector<int64_t>{0, 1, 2}));
  EXPECT_FALSE(ParseIntList("0,,1", "seeds").ok());
  EXPECT_FALSE(ParseIntList("0,x", "seeds").ok());
  EXPECT_EQ(ParseIntList("0,x", "seeds").status().message().find("--seeds"), 0u);
  EXPECT_EQ(*ParseDoubleList("0.01,1e-2", "lr"), (std::vector<double>{0.01, 0.01}));
  EXPECT_FALSE(ParseDoubleList("inf", "lr").ok());
  EXPECT_EQ(*ParseNameList("es_single,pes", "methods"),
            (std::vector<std::string>{"es_single", "pes"}));
}

TEST(FigureIoTest, SummarizesMethodsOverSeedsAtThePrimaryN) {
  std::vector<RunSummary> runs(4);
  runs[0] = {"es_single", 100, 0, 10, 1.0, 2.0, 10.0, {1.0}, 0, 0};
  runs[1] = {"es_single", 100, 1, 10, 3.0, 2.0, 20.0, {3.0}, 0, 0};
  runs[2] = {"es_single", 4, 0, 10, 9.0, 2.0, 99.0, {9.0}, 0, 0};
  runs[3] = {"pes", 100, 0, 10, 5.0, 2.0, 7.0, {-1.0}, 0, 0};
  const auto m = SummarizeMethods(runs, [](const std::string&) { return 100; });
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].method, "es_single");
  EXPECT_EQ(m[0].seconds_per_estimate, 2.0);
  EXPECT_EQ(m[0].final_meta_loss, 15.0);
  EXPECT_EQ(m[0].final_meta_loss_per_seed, (std::vector<double>{10.0, 20.0}));
  EXPECT_EQ(m[0].final_theta_mean, (std::vector<double>{2.0}));
  EXPECT_EQ(m[1].method, "pes");
  EXPECT_EQ(m[1].final_meta_loss, 7.0);
}

}  // namespace
}  // namespace es::experiments
