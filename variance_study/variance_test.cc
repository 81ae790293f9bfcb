// Statistical tests of the variance study (paper Sec. 3.1, Prop. 3.1, 3.2,
// G.1 and the App. G variance) on the linear-quadratic problems.
//
// Every test uses fixed seeds. Tolerances are z-scores against the
// Monte-Carlo standard error (variance.h): |measured - closed form| <= kZ * SE
// with kZ = 5, a two-sided false-failure rate of about 6e-7 per comparison
// for a Gaussian statistic (the SE of a variance estimate is itself
// estimated, so the real rate is somewhat higher but still negligible).
// Closed forms: closed_form.h, docs/derivations.md.
#include <cmath>

#include "gtest/gtest.h"
#include "variance_study/closed_form.h"
#include "estimators/testing/linear_quadratic_problem.h"
#include "variance_study/variance.h"

namespace es {
namespace {

constexpr double kZ = 5.0;

LinearQuadraticProblem MakeProblem(int dim, int64_t T, GradientScenario s) {
  LinearQuadraticOptions o;
  o.dim = dim;
  o.horizon = T;
  o.scenario = s;
  o.decay = 0.5;
  o.target_seed = 7;
  return LinearQuadraticProblem(o);
}

Eigen::VectorXd Theta(int dim) {
  Eigen::VectorXd theta(dim);
  for (int i = 0; i < dim; ++i) theta[i] = 0.3 * std::sin(1.0 + i);
  return theta;
}

EstimatorSpec Spec(const std::string& method, int K, double sigma = 0.1) {
  EstimatorSpec spec;
  spec.method = method;
  spec.es.num_particles = 2;  // one antithetic pair, as in Prop. 3.2
  spec.es.truncation = K;
  spec.es.sigma = sigma;
  return spec;
}

void ExpectUnbiased(const VarianceResult& r, const Eigen::VectorXd& grad,
                    const std::string& what) {
  for (int i = 0; i < grad.size(); ++i) {
    EXPECT_LE(std::abs(r.mean[i] - grad[i]), kZ * r.mean_stderr[i])
        << what << ": coordinate " << i << " mean " << r.mean[i]
        << " vs exact gradient " << grad[i] << " (SE " << r.mean_stderr[i]
        << ", R = " << r.repeats << ")";
  }
}

void ExpectVariance(const VarianceResult& r, double closed,
                    const std::string& what) {
  EXPECT_LE(std::abs(r.total_variance - closed), kZ * r.total_variance_stderr)
      << what << ": measured tr Var " << r.total_variance << " vs closed form "
      << closed << " (SE " << r.total_variance_stderr << ", R = " << r.repeats
      << ")";
}

// (a) Prop. 3.2 and (b) Prop. 3.1, for P in {1, 2, 10, 100}.
class EsSingleClosedFormTest : public ::testing::TestWithParam<int> {};

TEST_P(EsSingleClosedFormTest, VarianceIsPPlusOneTimesSquaredGradientNorm) {
  const int P = GetParam();
  auto problem = MakeProblem(P, 20, GradientScenario::kIid);
  const Eigen::VectorXd theta = Theta(P);
  const Eigen::VectorXd grad = problem.MetaGradient(theta);
  auto r = MeasureVariance(problem, Spec("es_single", 5), theta,
                           {.repeats = P >= 100 ? 6000 : 20000, .base_seed = 1000});
  ASSERT_TRUE(r.ok()) << r.status();
  ExpectVariance(*r, EsSingleTotalVariance(grad, 2), "ES-Single P=" + std::to_string(P));
  ExpectUnbiased(*r, grad, "ES-Single P=" + std::to_string(P));
}

INSTANTIATE_TEST_SUITE_P(Dims, EsSingleClosedFormTest,
                         ::testing::Values(1, 2, 10, 100));

// The App. G form reduces exactly to Prop. 3.2 at alpha = 1, beta = 0, and
// its mean is the exact gradient for every unbiased rule (Prop. G.1).
TEST(ClosedFormTest, AppGReducesToPropositionAtEsSingleEnd) {
  auto problem = MakeProblem(3, 12, GradientScenario::kCorrelated);
  const Eigen::VectorXd theta = Theta(3);
  const Eigen::VectorXd grad = problem.MetaGradient(theta);
  for (int K : {1, 3, 12}) {
    const int U = 12 / K;
    const auto blocks = problem.UnrollGradientBlocks(theta, K);
    EstimatorMoments m = GeneralisedMoments(blocks, U, 3, MakeEsSingle(), 2);
    EXPECT_NEAR(m.total_variance, EsSingleTotalVariance(grad, 2),
                1e-10 * EsSingleTotalVariance(grad, 2)) << "K=" << K;
    for (const OnlineEsRule& rule :
         {MakeEsSingle(), MakePes(), MakeEsGeneralised(2),
          MakeEsMixture(0.6, 0.8)}) {
      EstimatorMoments mm = GeneralisedMoments(blocks, U, 3, rule, 2);
      EXPECT_LT((mm.mean - grad).norm(), 1e-10 * grad.norm())
          << rule.name << " K=" << K;
    }
  }
}

TEST(ClosedFormTest, GradientBlocksSumToMetaGradient) {
  auto problem = MakeProblem(4, 20, GradientScenario::kIid);
  const Eigen::VectorXd theta = Theta(4);
  const auto blocks = problem.UnrollGradientBlocks(theta, 5);
  Eigen::VectorXd sum = Eigen::VectorXd::Zero(4);
  for (const auto& b : blocks) sum += b;
  EXPECT_LT((sum - problem.MetaGradient(theta)).norm(), 1e-10);
  // Central differences of the exact quadratic meta-loss.
  const double h = 1e-4;
  for (int i = 0; i < 4; ++i) {
    Eigen::VectorXd tp = theta, tm = theta;
    tp[i] += h;
    tm[i] -= h;
    const double fd = (problem.MetaLoss(tp) - problem.MetaLoss(tm)) / (2 * h);
    EXPECT_NEAR(fd, sum[i], 1e-6 * (1 + std::abs(fd)));
  }
}

// (c) Prop. G.1: PES, Alg. 4 and the App. G mixture are unbiased; and
// (e) the App. G variance agrees with Monte Carlo at its ES-Single
// (alpha=1, beta=0) and PES (alpha=0, beta=1) ends and in between.
struct RuleCase {
  std::string method;
  OnlineEsRule rule;
  EstimatorSpec spec;
};

class GeneralisedRuleTest : public ::testing::TestWithParam<int> {};

TEST_P(GeneralisedRuleTest, UnbiasedAndVarianceMatchesAppG) {
  const int P = 3, T = 20, K = 2, U = T / K;
  auto problem = MakeProblem(P, T, GradientScenario::kCorrelated);
  const Eigen::VectorXd theta = Theta(P);
  const Eigen::VectorXd grad = problem.MetaGradient(theta);
  std::vector<RuleCase> cases;
  {
    RuleCase c{"es_mix(1,0)", MakeEsMixture(1.0, 0.0), Spec("es_mix", K)};
    c.spec.alpha = 1.0; c.spec.beta = 0.0; cases.push_back(c);
  }
  {
    RuleCase c{"es_mix(0,1)", MakeEsMixture(0.0, 1.0), Spec("es_mix", K)};
    c.spec.alpha = 0.0; c.spec.beta = 1.0; cases.push_back(c);
  }
  {
    RuleCase c{"es_mix(0.6,0.8)", MakeEsMixture(0.6, 0.8), Spec("es_mix", K)};
    c.spec.alpha = 0.6; c.spec.beta = 0.8; cases.push_back(c);
  }
  cases.push_back({"pes", MakePes(), Spec("pes", K)});
  {
    RuleCase c{"es_gen(M=3)", MakeEsGeneralised(3), Spec("es_gen", K)};
    c.spec.resample_interval = 3; cases.push_back(c);
  }
  const RuleCase& c = cases[GetParam()];
  const auto blocks = problem.UnrollGradientBlocks(theta, K);
  EstimatorMoments closed = GeneralisedMoments(blocks, U, P, c.rule, 2);
  auto r = MeasureVariance(problem, c.spec, theta,
                           {.repeats = 20000, .base_seed = 77});
  ASSERT_TRUE(r.ok()) << r.status();
  ExpectUnbiased(*r, grad, c.method);
  ExpectVariance(*r, closed.total_variance, c.method);
}

INSTANTIATE_TEST_SUITE_P(Rules, GeneralisedRuleTest, ::testing::Range(0, 5));

// The closed form is not trivially "the gradient": truncated ES with a state
// per particle is biased, and Monte Carlo agrees with the closed-form mean
// and variance of that biased estimator.
TEST(GeneralisedRuleTest, TruncatedEsBiasMatchesClosedForm) {
  const int P = 2, T = 20, K = 2, U = T / K;
  auto problem = MakeProblem(P, T, GradientScenario::kIdentical);
  const Eigen::VectorXd theta = Theta(P);
  const Eigen::VectorXd grad = problem.MetaGradient(theta);
  const auto blocks = problem.UnrollGradientBlocks(theta, K);
  EstimatorMoments closed =
      GeneralisedMoments(blocks, U, P, MakeTruncatedEsPerParticle(), 2);
  EXPECT_GT((closed.mean - grad).norm(), 0.1 * grad.norm())
      << "decay 0.5 with K=2 must leave a visible truncation bias";
  auto r = MeasureVariance(problem, Spec("tes_particle", K), theta,
                           {.repeats = 20000, .base_seed = 5});
  ASSERT_TRUE(r.ok()) << r.status();
  ExpectUnbiased(*r, closed.mean, "tes_particle vs closed-form mean");
  ExpectVariance(*r, closed.total_variance, "tes_particle");
}

// (d) ES-Single's variance does not change with the number of unrolls T/K,
// while PES's grows in the i.i.d. scenario (Sec. 3.1, Fig. 1). theta sits
// near the optimum of the targets' mean, so that the per-unroll gradients
// are dominated by the i.i.d. target noise (far from it, a large common
// gradient component makes the scenario behave like "identical", where PES's
// variance falls with the number of unrolls; closed_form_check prints both).
TEST(UnrollSweepTest, EsSingleFlatPesGrowsIid) {
  const int P = 2;
  const int64_t T = 100;
  auto problem = MakeProblem(P, T, GradientScenario::kIid);
  const Eigen::VectorXd m = problem.targets().colwise().mean().transpose();
  const Eigen::VectorXd theta = 0.5 * m + 0.05 * Theta(P);  // s_inf = 2 theta
  const Eigen::VectorXd grad = problem.MetaGradient(theta);
  const std::vector<int> Ks = {1, 10, 100};
  const VarianceOptions vo{.repeats = 8000, .base_seed = 321};
  auto es_rows = SweepTruncation(problem, Spec("es_single", 1), theta, Ks, vo);
  auto pes_rows = SweepTruncation(problem, Spec("pes", 1), theta, Ks, vo);
  ASSERT_TRUE(es_rows.ok()) << es_rows.status();
  ASSERT_TRUE(pes_rows.ok()) << pes_rows.status();
  const double es_closed = EsSingleTotalVariance(grad, 2);
  for (const SweepRow& row : *es_rows) {
    ExpectVariance(row.result, es_closed,
                   "ES-Single K=" + std::to_string(row.truncation));
  }
  for (const SweepRow& row : *pes_rows) {
    const auto blocks = problem.UnrollGradientBlocks(theta, row.truncation);
    EstimatorMoments closed =
        GeneralisedMoments(blocks, row.num_unrolls, P, MakePes(), 2);
    ExpectVariance(row.result, closed.total_variance,
                   "PES K=" + std::to_string(row.truncation));
  }
  // PES with 100 unrolls per inner problem (K=1) vs 1 unroll (K=T, where it
  // equals ES-Single): the growth is large compared with the errors.
  const VarianceResult& many = (*pes_rows)[0].result;
  const VarianceResult& one = (*pes_rows)[2].result;
  EXPECT_GT(many.total_variance - 3.0 * one.total_variance,
            kZ * (many.total_variance_stderr + 3.0 * one.total_variance_stderr))
      << "PES variance at 100 unrolls " << many.total_variance
      << " should exceed 3x its 1-unroll variance " << one.total_variance;
}

TEST(VarianceOptionsTest, RejectsBadInput) {
  auto problem = MakeProblem(2, 10, GradientScenario::kIid);
  auto r = MeasureVariance(problem, Spec("es_single", 3), Theta(2), {.repeats = 10});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("K = 3 must divide T = 10"),
            std::string::npos) << r.status();
  r = MeasureVariance(problem, Spec("es_single", 5), Theta(2), {.repeats = 1});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("got 1"), std::string::npos) << r.status();
}

// A dropped pair contributes 0 to its estimate; a variance from such
// estimates would be biased towards 0, so it is refused. sigma = 1e200 makes
// every perturbed quadratic loss overflow.
TEST(VarianceOptionsTest, DroppedPairsAreRefusedNotAveraged) {
  auto problem = MakeProblem(2, 10, GradientScenario::kIid);
  EstimatorSpec spec = Spec("es_single", 5);
  spec.es.sigma = 1e200;
  auto r = MeasureVariance(problem, spec, Theta(2), {.repeats = 10});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("biased towards 0"), std::string::npos)
      << r.status();
}

}  // namespace
}  // namespace es
