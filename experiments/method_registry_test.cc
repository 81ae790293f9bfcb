// Tests of the method registry (experiments/method_registry.h) and of run
// expansion (experiments/sweep.h), on the influence-balancing problem.
#include "experiments/method_registry.h"

#include <cstdlib>

#include "experiments/sweep.h"
#include "gtest/gtest.h"
#include "inner/diff/influence_balancing_diff.h"
#include "inner/influence_balancing.h"

namespace es::experiments {
namespace {

TEST(MethodRegistryTest, SelectsKnownMethodsAndRejectsOthers) {
  InfluenceBalancing problem;
  InfluenceBalancingDiff twin;
  MethodRegistry r;
  ASSERT_TRUE(AddEsMethods(&problem, {"es_single", "pes"}, &r).ok());
  ASSERT_TRUE(AddGradientMethods(&twin, {"rtrl"}, &r).ok());
  EXPECT_FALSE(AddGradientMethods(&twin, {"rtrl"}, &r).ok());  // twice
  EXPECT_FALSE(AddEsMethods(&problem, {"not_a_method"}, &r).ok());
  for (const char* bad : {"rtlr", "tbptt_k0", "tbptt_k", "tbptt_kx", "pes"}) {
    const auto s = AddGradientMethods(&twin, {bad}, &r);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(s.message().find("is not a gradient-based method"),
              std::string::npos)
        << s;
  }
  EXPECT_FALSE(AddGradientMethods(nullptr, {"rtrl"}, &r).ok());
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
  InfluenceBalancingDiff twin;
  MethodRegistry r;
  ASSERT_TRUE(AddEsMethods(&problem, {"es_single"}, &r).ok());
  ASSERT_TRUE(AddGradientMethods(
                  &twin, {"rtrl", "tbptt_k10", "uoro", "dodge"}, &r)
                  .ok());
  MethodSettings s;
  s.num_particles = 4;
  auto est = r.Find("es_single")->factory(s);
  ASSERT_TRUE(est.ok()) << est.status();
  EXPECT_EQ((*est)->name(), "es_single");
  s.num_particles = 3;  // odd: rejected by EsOptions::Validate
  EXPECT_FALSE(r.Find("es_single")->factory(s).ok());
  for (const char* m : {"rtrl", "tbptt_k10", "uoro"}) {
    EXPECT_FALSE(r.Find(m)->uses_particles) << m;
    auto g = r.Find(m)->factory(s);
    ASSERT_TRUE(g.ok()) << m << ": " << g.status();
    EXPECT_EQ((*g)->name(), m);
  }
  // tbptt_k<K> takes K from its name, the others from the settings: one
  // Step advances the trajectory by that many inner steps.
  s.truncation = 3;
  const Eigen::VectorXd theta = Eigen::VectorXd::Constant(1, 0.5);
  EXPECT_EQ((*r.Find("tbptt_k10")->factory(s))->Step(theta)->particle_steps, 10);
  EXPECT_EQ((*r.Find("rtrl")->factory(s))->Step(theta)->particle_steps, 3);
  // DODGE's N is its number of directions D.
  EXPECT_TRUE(r.Find("dodge")->uses_particles);
  s.num_particles = 0;
  EXPECT_FALSE(r.Find("dodge")->factory(s).ok());  // D must be >= 1
}

TEST(SweepTest, AppendRunsExpandsAndDeduplicates) {
  InfluenceBalancing problem;
  InfluenceBalancingDiff twin;
  MethodRegistry r;
  ASSERT_TRUE(AddEsMethods(&problem, {"es_single", "pes"}, &r).ok());
  ASSERT_TRUE(AddGradientMethods(&twin, {"rtrl"}, &r).ok());
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

// A run whose estimator cannot be built (here: N = 3, odd) stops the sweep
// before any run starts, so nothing is written for the good runs either.
TEST(SweepTest, FailsBeforeRunningWhenARunCannotBeBuilt) {
  InfluenceBalancing problem;
  InfluenceBalancingDiff twin;
  MethodRegistry r;
  ASSERT_TRUE(AddEsMethods(&problem, {"es_single"}, &r).ok());
  ASSERT_TRUE(AddGradientMethods(&twin, {"rtrl"}, &r).ok());
  std::vector<RunSpec> runs;
  AppendRuns(*r.Select({"es_single", "rtrl"}), {4}, {0}, &runs);
  AppendRuns(*r.Select({"es_single"}), {3}, {0}, &runs);
  ASSERT_EQ(runs.size(), 3u);
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
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(result.status().message().find("es_single N=3 seed=0"),
            std::string::npos)
      << result.status();
  // Without the bad run the sweep runs: ES-Single (N = 4) and RTRL (one
  // trajectory, N = 0), 10 iterations of K = 1 each.
  runs.pop_back();
  result = RunSweep(o, runs, csv->get());
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->size(), 2u);
  EXPECT_EQ((*result)[0].iterations, 10);
  EXPECT_EQ((*result)[0].particle_steps, 40);
  EXPECT_EQ((*result)[1].method, "rtrl");
  EXPECT_EQ((*result)[1].num_particles, 0);
  EXPECT_EQ((*result)[1].particle_steps, 10);
}

}  // namespace
}  // namespace es::experiments
