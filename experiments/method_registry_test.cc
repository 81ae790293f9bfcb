// Tests of the method registry (experiments/method_registry.h) on the
// influence-balancing problem (run expansion: run_loop_test.cc).
#include "experiments/method_registry.h"

#include <cstdlib>

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

// A variant keeps the base method's factory with its own overrides.
TEST(MethodRegistryTest, AddEsVariantOverridesSettings) {
  InfluenceBalancing problem;
  MethodRegistry r;
  OptimizerOptions small;
  small.learning_rate = 1e-4;
  ASSERT_TRUE(AddEsVariant(&problem, "pes", "pes_small",
                           {.sigma = 0.5, .optimizer = small}, &r)
                  .ok());
  const MethodEntry* e = r.Find("pes_small");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(*e->sigma, 0.5);
  EXPECT_EQ(e->optimizer->learning_rate, 1e-4);
  EXPECT_FALSE(e->truncation.has_value());
  MethodSettings s;
  s.num_particles = 4;
  EXPECT_TRUE(e->factory(s).ok());
  small.learning_rate = -1;
  EXPECT_FALSE(AddEsVariant(&problem, "pes", "x", {.optimizer = small}, &r).ok());
  EXPECT_FALSE(AddEsVariant(&problem, "nope", "y", {}, &r).ok());
  EXPECT_FALSE(AddEsVariant(&problem, "pes", "pes_small", {}, &r).ok())
      << "a name may be registered once";
}

}  // namespace
}  // namespace es::experiments
