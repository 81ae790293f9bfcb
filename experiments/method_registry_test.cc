// Tests of the method registry (experiments/method_registry.h) and of run
// expansion (experiments/sweep.h), on the influence-balancing problem.
#include "experiments/method_registry.h"

#include <cstdlib>

#include "experiments/sweep.h"
#include "gtest/gtest.h"
#include "inner/influence_balancing.h"

namespace es::experiments {
namespace {

TEST(MethodRegistryTest, SelectsKnownMethodsAndRejectsOthers) {
  InfluenceBalancing problem;
  MethodRegistry r;
  ASSERT_TRUE(AddEsMethods(&problem, {"es_single", "pes"}, &r).ok());
  ASSERT_TRUE(AddPlaceholder("rtrl", "real-time recurrent learning", &r).ok());
  EXPECT_FALSE(AddPlaceholder("rtrl", "again", &r).ok());
  EXPECT_FALSE(AddEsMethods(&problem, {"not_a_method"}, &r).ok());
  EXPECT_EQ(r.names(), (std::vector<std::string>{"es_single", "pes", "rtrl"}));

  auto picked = r.Select({"pes", "es_single"});
  ASSERT_TRUE(picked.ok()) << picked.status();
  EXPECT_EQ((*picked)[0]->name, "pes");
  const auto unknown = r.Select({"es_single", "uoro"});
  EXPECT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("es_single, pes, rtrl"),
            std::string::npos);
  EXPECT_FALSE(r.Select({"pes", "pes"}).ok());
}

TEST(MethodRegistryTest, FactoriesBuildEstimatorsOrExplainWhyNot) {
  InfluenceBalancing problem;
  MethodRegistry r;
  ASSERT_TRUE(AddEsMethods(&problem, {"es_single"}, &r).ok());
  ASSERT_TRUE(AddPlaceholder("rtrl", "real-time recurrent learning", &r).ok());
  MethodSettings s;
  s.num_particles = 4;
  auto est = r.Find("es_single")->factory(s);
  ASSERT_TRUE(est.ok()) << est.status();
  EXPECT_EQ((*est)->name(), "es_single");
  s.num_particles = 3;  // odd: rejected by EsOptions::Validate
  EXPECT_FALSE(r.Find("es_single")->factory(s).ok());
  auto rtrl = r.Find("rtrl")->factory(s);
  EXPECT_EQ(rtrl.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_FALSE(r.Find("rtrl")->uses_particles);
}

TEST(SweepTest, AppendRunsExpandsAndDeduplicates) {
  InfluenceBalancing problem;
  MethodRegistry r;
  ASSERT_TRUE(AddEsMethods(&problem, {"es_single", "pes"}, &r).ok());
  ASSERT_TRUE(AddPlaceholder("rtrl", "rtrl", &r).ok());
  std::vector<RunSpec> runs;
  AppendRuns(*r.Select({"es_single", "rtrl"}), {1000}, {0, 1}, &runs);
  AppendRuns(*r.Select({"es_single", "pes"}), {4, 1000}, {0, 1}, &runs);
  // es_single x {1000} x 2, rtrl x {0} x 2, then es_single N=4 x 2 (N=1000
  // already there) and pes x {4, 1000} x 2.
  ASSERT_EQ(runs.size(), 2u + 2u + 2u + 4u);
  EXPECT_EQ(runs[2].method->name, "rtrl");
  EXPECT_EQ(runs[2].num_particles, 0);
  EXPECT_EQ(runs[4].method->name, "es_single");
  EXPECT_EQ(runs[4].num_particles, 4);
}

TEST(SweepTest, FailsBeforeRunningWhenAMethodIsNotBuilt) {
  InfluenceBalancing problem;
  MethodRegistry r;
  ASSERT_TRUE(AddEsMethods(&problem, {"es_single"}, &r).ok());
  ASSERT_TRUE(AddPlaceholder("uoro", "uoro", &r).ok());
  std::vector<RunSpec> runs;
  AppendRuns(*r.Select({"es_single", "uoro"}), {4}, {0}, &runs);
  SweepOptions o;
  o.problem = &problem;
  o.theta0 = Eigen::VectorXd::Constant(1, 0.5);
  o.meta.iterations = 10;
  o.meta.eval_length = 10;
  o.meta.progress = false;
  const std::string path =
      std::string(std::getenv("TEST_TMPDIR") ? std::getenv("TEST_TMPDIR") : "/tmp") +
      "/sweep.csv";
  auto csv = CsvWriter::Open(path, TraceColumns(1));
  ASSERT_TRUE(csv.ok());
  auto result = RunSweep(o, runs, csv->get());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnimplemented);
  // Without the placeholder the sweep runs: one run, 10 iterations.
  runs.pop_back();
  result = RunSweep(o, runs, csv->get());
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->size(), 1u);
  EXPECT_EQ((*result)[0].iterations, 10);
  EXPECT_EQ((*result)[0].particle_steps, 40);
}

}  // namespace
}  // namespace es::experiments
