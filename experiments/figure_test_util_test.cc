// Tests of the golden-test comparator (experiments/figure_test_util.h).
#include "experiments/figure_test_util.h"

#include <fstream>

#include "gtest/gtest.h"

namespace es::experiments::test {
namespace {

CsvTable Table(std::vector<std::vector<std::string>> rows) {
  CsvTable t;
  t.header = {"method", "num_particles", "seed", "iteration", "meta_loss"};
  t.rows = std::move(rows);
  return t;
}

TEST(FigureTestUtilTest, ComparesWithRelativeTolerance) {
  const CsvTable g = Table({{"pes", "4", "0", "0", "100"},
                            {"pes", "4", "0", "10", "nan"},
                            {"pes", "4", "0", "20", "-inf"}});
  EXPECT_TRUE(CompareCsv(g, g, 1e-6, 1e-9).ok());
  EXPECT_TRUE(CompareCsv(g, g, kGoldenRelTol, kGoldenAbsTol).ok());
  CsvTable a = g;
  a.rows[0][4] = "100.00005";  // 5e-7 relative: inside
  EXPECT_TRUE(CompareCsv(g, a, 1e-6, 1e-9).ok());
  EXPECT_FALSE(CompareCsv(g, a, kGoldenRelTol, kGoldenAbsTol).ok());  // exact
  a.rows[0][4] = "100.0002";  // 2e-6 relative: outside
  const absl::Status s = CompareCsv(g, a, 1e-6, 1e-9);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("column meta_loss"), std::string::npos) << s;
  EXPECT_NE(s.message().find("regenerate.sh"), std::string::npos) << s;
  a = g;
  a.rows[1][4] = "1";  // nan only matches nan
  EXPECT_FALSE(CompareCsv(g, a, 1e-6, 1e-9).ok());
  a = g;
  a.rows[2][4] = "inf";
  EXPECT_FALSE(CompareCsv(g, a, 1e-6, 1e-9).ok());
  a = g;
  a.rows[0][0] = "es_single";  // text cells match exactly
  EXPECT_FALSE(CompareCsv(g, a, 1e-6, 1e-9).ok());
  a = g;
  a.rows.pop_back();
  EXPECT_FALSE(CompareCsv(g, a, 1e-6, 1e-9).ok());
}

TEST(FigureTestUtilTest, PicksFirstAndLastIterationPerSeed) {
  const CsvTable t = Table({{"pes", "4", "0", "0", "9"},
                            {"pes", "4", "0", "10", "5"},
                            {"pes", "4", "1", "0", "8"},
                            {"pes", "4", "1", "10", "3"},
                            {"pes", "100", "0", "10", "1"}});
  EXPECT_EQ(FinalValues(t, "pes", 4, "meta_loss"),
            (std::map<int, double>{{0, 5.0}, {1, 3.0}}));
  EXPECT_EQ(InitialValues(t, "pes", 4, "meta_loss"),
            (std::map<int, double>{{0, 9.0}, {1, 8.0}}));
  EXPECT_TRUE(FinalValues(t, "es_single", 4, "meta_loss").empty());
}

TEST(FigureTestUtilTest, TracesAreInIterationOrderPerSeed) {
  const CsvTable t = Table({{"pes", "4", "0", "10", "5"},
                            {"pes", "4", "0", "0", "9"},
                            {"pes", "4", "1", "0", "8"},
                            {"pes", "4", "0", "20", "2"},
                            {"pes", "100", "0", "10", "1"}});
  EXPECT_EQ(Traces(t, "pes", 4, "meta_loss"),
            (std::map<int, std::vector<double>>{{0, {9.0, 5.0, 2.0}},
                                                {1, {8.0}}}));
  EXPECT_TRUE(Traces(t, "pes", 4, "no_such_column").empty());
}

TEST(FigureTestUtilTest, FindsMethodSummariesInJson) {
  const std::string json =
      "{\n  \"methods\": {\n    \"es_single\": {\n"
      "      \"seconds_per_estimate\": 5e-05,\n"
      "      \"final_meta_loss\": 564.5,\n      \"num_particles\": 100\n    }\n  },\n"
      "  \"runs\": []\n}\n";
  EXPECT_TRUE(JsonHasMethodSummary(json, "es_single"));
  EXPECT_FALSE(JsonHasMethodSummary(json, "pes"));
}

}  // namespace
}  // namespace es::experiments::test
