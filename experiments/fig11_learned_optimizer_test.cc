// Golden and behavioural tests of //experiments:fig11_learned_optimizer
// (Fig. 11, meta-training the LOLv2 learned optimiser): one --quick run
// (784-16-10 optimisee on the first 2000 FashionMNIST training images,
// B = 32, T = 40, K = 10, N = 4 breakstep particles, 30 Adam iterations at
// 1e-2, sigma = 0.01, seed 0; a few seconds) is compared with
// testdata/fig11_learned_optimizer_quick{,_inner}.csv and checked for what
// the figure shows: ES-Single meta-trains the optimiser (its meta-loss falls
// and the meta-trained optimiser trains the network where the initial one
// makes the loss grow), and the bookkeeping the plots rely on.
//
// The run is deterministic (counter-based randomness, same bits for any
// thread count), so the behavioural thresholds are not statistical: they are
// margins below the values this seed gives (stated at each test), loose
// enough for float32 differences between CPUs, tight enough that an
// estimator that does not descend fails. Golden tolerance 1e-5 relative
// (float32 on oneDNN; regenerate with experiments/testdata/regenerate_lopt.sh
// only after a deliberate change of the problem or the estimators). Skips
// when FashionMNIST is missing (fails under ES_CI=1).
//
//   bazel test //experiments:fig11_learned_optimizer_test
#include <cmath>
#include <map>
#include <numeric>
#include <string>
#include <vector>

#include "experiments/figure_test.h"
#include "gtest/gtest.h"

namespace es::experiments::test {
namespace {

constexpr int kN = 4, kK = 10, kT = 40, kIterations = 30;
const char* const kMethods[] = {"tes_particle", "pes", "es_single"};

// The inner curve (losses at steps K, 2K, ..., T) of `method`, seed 0.
std::vector<double> Curve(const std::string& method) {
  std::vector<double> out;
  for (const auto& r : FigureTest::Output("_inner").rows) {
    if (r[0] == method && r[1] == "0") out.push_back(std::stod(r[3]));
  }
  return out;
}

double Mean(const std::vector<double>& v) {
  return std::accumulate(v.begin(), v.end(), 0.0) / v.size();
}

// Every method starts from the same Haiku-initialised optimiser; particle
// steps count N K per outer iteration (breakstep, a state per particle for
// truncated ES); evaluations at 0, 10, 20, 30.
TEST_F(FigureTest, TraceBookkeeping) {
  ASSERT_EQ(Output().header,
            (std::vector<std::string>{"method", "num_particles", "seed",
                                      "iteration", "meta_loss",
                                      "particle_steps"}));
  const double start = InitialValues(Output(), "es_single", kN, "meta_loss")[0];
  for (const char* m : kMethods) {
    const auto trace = Traces(Output(), m, kN, "meta_loss");
    ASSERT_EQ(trace.size(), 1u) << m;
    ASSERT_EQ(trace.at(0).size(), 4u) << m;
    EXPECT_EQ(trace.at(0)[0], start) << m;
    EXPECT_EQ(FinalValues(Output(), m, kN, "particle_steps")[0],
              static_cast<double>(kIterations) * kN * kK)
        << m;
  }
}

// The figure's claim in miniature: ES-Single lowers the meta-objective (seed
// 0: 2.529 -> 2.104, -17%; required: below 95% of the start).
TEST_F(FigureTest, EsSingleLowersTheMetaLoss) {
  const double start = InitialValues(Output(), "es_single", kN, "meta_loss")[0];
  const double end = FinalValues(Output(), "es_single", kN, "meta_loss")[0];
  EXPECT_LT(end, 0.95 * start) << "start " << start << " end " << end;
}

// ... and ends below truncated ES and PES (seed 0: 2.104 against 2.268 and
// 2.302; one seed of a tiny setting, so this checks the ordering the quick
// run has, not a statistical claim; the scaled run in docs/results.md is
// the evidence).
TEST_F(FigureTest, EsSingleEndsBelowTruncatedEsAndPes) {
  const double es = FinalValues(Output(), "es_single", kN, "meta_loss")[0];
  EXPECT_LT(es, FinalValues(Output(), "pes", kN, "meta_loss")[0]);
  EXPECT_LT(es, FinalValues(Output(), "tes_particle", kN, "meta_loss")[0]);
}

// The inner curves: T / K windows per curve; the mean of a curve is that
// theta's meta-loss (the trace's first row for "initial", the last row for
// each method), which ties the table to the evaluation inner problem.
TEST_F(FigureTest, InnerCurvesAreTheEvaluationProblem) {
  ASSERT_EQ(Output("_inner").header,
            (std::vector<std::string>{"method", "seed", "step", "loss"}));
  const std::vector<double> initial = Curve("initial");
  ASSERT_EQ(initial.size(), static_cast<size_t>(kT / kK));
  const double start = InitialValues(Output(), "es_single", kN, "meta_loss")[0];
  EXPECT_NEAR(Mean(initial), start, 1e-9 * start);
  for (const char* m : kMethods) {
    const std::vector<double> c = Curve(m);
    ASSERT_EQ(c.size(), static_cast<size_t>(kT / kK)) << m;
    const double end = FinalValues(Output(), m, kN, "meta_loss")[0];
    EXPECT_NEAR(Mean(c), end, 1e-9 * end) << m;
  }
}

// The meta-trained optimiser trains the network: the initial optimiser makes
// the training loss grow over the T steps (seed 0: 2.33 -> 2.80), the one
// ES-Single meta-trained lowers it (2.25 -> 1.96; required: its last window
// below its first and below the initial optimiser's last window).
TEST_F(FigureTest, MetaTrainedOptimiserLowersTheInnerLoss) {
  const std::vector<double> initial = Curve("initial");
  const std::vector<double> trained = Curve("es_single");
  ASSERT_FALSE(initial.empty());
  ASSERT_FALSE(trained.empty());
  EXPECT_LT(trained.back(), trained.front());
  EXPECT_LT(trained.back(), initial.back());
}

// The Adam reference: one curve of T / K windows per rate of the default
// grid (1e-4 .. 3e-2), each starting from the evaluation problem's initial
// network, so the first windows of every rate and of the "initial" curve
// differ only by one K-step window of training; the sidecar's tuned rate is
// the one with the lowest mean loss, and that mean is the curve's mean.
// Tuned Adam trains the network (seed-independent: 1.76 -> 0.84 at lr 1e-2).
TEST_F(FigureTest, AdamReferenceIsTheTunedRate) {
  const CsvTable& adam = Output("_adam");
  ASSERT_EQ(adam.header, (std::vector<std::string>{"lr", "step", "loss"}));
  std::map<std::string, std::vector<double>> by_lr;
  for (const auto& r : adam.rows) by_lr[r[0]].push_back(std::stod(r[2]));
  ASSERT_EQ(by_lr.size(), 6u);
  std::string best;
  for (const auto& [lr, c] : by_lr) {
    ASSERT_EQ(c.size(), static_cast<size_t>(kT / kK)) << lr;
    if (best.empty() || Mean(c) < Mean(by_lr[best])) best = lr;
  }
  const std::string& json = Sidecar();
  EXPECT_NE(json.find("\"adam_best_lr\": " + best), std::string::npos)
      << best;
  const std::vector<double>& tuned = by_lr[best];
  EXPECT_LT(tuned.back(), 0.75 * tuned.front());
}

TEST_F(FigureTest, SidecarRecordsTheSetting) {
  const std::string& json = Sidecar();
  for (const char* m : kMethods) {
    EXPECT_TRUE(JsonHasMethodSummary(json, m)) << m;
    EXPECT_NE(json.find(std::string("\"final_meta_loss_mean_") + m + "\""),
              std::string::npos)
        << m;
  }
  EXPECT_NE(json.find("\"particles\": \"breakstep (App. C.2)\""),
            std::string::npos);
  EXPECT_NE(json.find("\"theta_dim\": 1762"), std::string::npos);
  EXPECT_NE(json.find("\"initial_meta_loss_seed0\""), std::string::npos);
}

// Bad input is an error naming the value, and nothing is written.
TEST_F(FigureTest, BadTruncationIsRejected) {
  const std::string dir = TestDir("fig11_bad_truncation");
  EXPECT_EQ(RunBinary(dir, {"--truncation=7"}), 1);
  EXPECT_FALSE(ReadFile(dir + "/fig11_learned_optimizer.csv").ok());
  auto log = ReadFile(dir + "/stderr.log");
  ASSERT_TRUE(log.ok());
  EXPECT_NE(log->find("--truncation must be >= 1 and divide --horizon = 40, got 7"),
            std::string::npos)
      << *log;
}

TEST_F(FigureTest, MissingDataIsAnError) {
  const std::string dir = TestDir("fig11_missing_data");
  EXPECT_EQ(RunBinary(dir, {"--data_dir=" + dir + "/nowhere"}), 1);
  auto log = ReadFile(dir + "/stderr.log");
  ASSERT_TRUE(log.ok());
  EXPECT_NE(log->find(dir + "/nowhere"), std::string::npos) << *log;
}

}  // namespace
}  // namespace es::experiments::test
