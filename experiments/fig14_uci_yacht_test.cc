// Golden and behavioural tests of //experiments:fig14_uci_yacht (Fig. 14,
// a global L2 coefficient for linear regression on UCI Yacht, App. C). One
// --quick run: the paper's settings (Adam 3e-3, sigma 0.01, N = 4, K = 1,
// 50000 outer iterations, estimator seed 0) from two initial thetas, 5 and
// -5, logged every 1000 iterations, with a 161-point grid over [-8, 8]
// (step 0.1); about a second. Needs $ES_SINGLE_DATA_DIR/yacht (skips when
// it is missing, fails under ES_CI=1).
//
// The claims checked: the grid optimum lies at the PES authors' value 1.33;
// ES-Single converges to it and stays there; PES converges more slowly and
// less stably; truncated ES is driven away by truncation bias. Tolerances
// come from a paper-setting run with seeds 0, 1, 2 and all six initial
// thetas (docs/results.md, "Fig. 14"): ES-Single was within 0.1 of 1.33 at
// every log point after iteration 7100 in all 18 runs, and within 0.014
// after 40000; PES's largest deviation after 40000 was 0.33 or more in every
// run; truncated ES ended below -16 in every run.
//
//   bazel test //experiments:fig14_uci_yacht_test
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "experiments/figure_test.h"
#include "gtest/gtest.h"

namespace es::experiments::test {
namespace {

constexpr int kN = 4;
const std::vector<std::string> kInits = {"5", "-5"};

// The grid's argmin (theta, loss), from the _grid table.
std::pair<double, double> GridOptimum() {
  const CsvTable& g = FigureTest::Output("_grid");
  const int t = g.Column("theta_0"), l = g.Column("long_run_val_loss");
  double best_theta = std::numeric_limits<double>::quiet_NaN();
  double best = std::numeric_limits<double>::infinity();
  for (const auto& row : g.rows) {
    const double v = std::stod(row[l]);
    if (v < best) {
      best = v;
      best_theta = std::stod(row[t]);
    }
  }
  return {best_theta, best};
}

// (iteration, theta) of seed 0's run of `method`.
std::vector<std::pair<int64_t, double>> Theta(const std::string& method) {
  const CsvTable& t = FigureTest::Output();
  const int m = t.Column("method"), it = t.Column("iteration"),
            th = t.Column("theta_0");
  std::vector<std::pair<int64_t, double>> out;
  for (const auto& row : t.rows) {
    if (row[m] == method) out.push_back({std::stoll(row[it]), std::stod(row[th])});
  }
  return out;
}

// The first log iteration from which theta stays within `tol` of `opt`
// (max int64 if it never settles).
int64_t SettledAt(const std::vector<std::pair<int64_t, double>>& trace,
                  double opt, double tol) {
  int64_t settled = std::numeric_limits<int64_t>::max();
  for (auto it = trace.rbegin(); it != trace.rend(); ++it) {
    if (std::fabs(it->second - opt) > tol) break;
    settled = it->first;
  }
  return settled;
}

// Mean |theta - opt| over log points at iteration >= from.
double MeanDeviation(const std::vector<std::pair<int64_t, double>>& trace,
                     double opt, int64_t from) {
  double sum = 0.0;
  int n = 0;
  for (const auto& [it, th] : trace) {
    if (it < from) continue;
    sum += std::fabs(th - opt);
    ++n;
  }
  return n == 0 ? std::numeric_limits<double>::quiet_NaN() : sum / n;
}

TEST_F(FigureTest, OutputContract) {
  EXPECT_EQ(Output().header,
            (std::vector<std::string>{"method", "num_particles", "seed",
                                      "iteration", "meta_loss",
                                      "particle_steps", "theta_0"}));
  EXPECT_EQ(Output("_val").header,
            (std::vector<std::string>{"method", "num_particles", "seed",
                                      "iteration", "particle_steps",
                                      "val_loss", "theta_0"}));
  EXPECT_EQ(Output("_grid").rows.size(), 161u);
  // 3 methods x 2 initial thetas, 51 log points each (0, 1000, ..., 50000),
  // in both tables.
  EXPECT_EQ(Output().rows.size(), 6u * 51u);
  EXPECT_EQ(Output("_val").rows.size(), 6u * 51u);
  for (const char* m : {"tes", "pes", "es_single"}) {
    for (const std::string& init : kInits) {
      const std::string name = std::string(m) + "_init" + init;
      const auto trace = Theta(name);
      ASSERT_EQ(trace.size(), 51u) << name;
      EXPECT_EQ(trace.front().second, std::stod(init)) << name;
      EXPECT_EQ(trace.back().first, 50000) << name;
      EXPECT_TRUE(JsonHasMethodSummary(Sidecar(), name)) << name;
    }
  }
  EXPECT_NE(Sidecar().find("\"grid_optimal_theta\""), std::string::npos);
}

// The dashed line: the PES plotting script draws theta* = 1.33; on the
// quick grid (step 0.1) the argmin must be 1.3 or 1.4, with the long-run
// validation loss 14.0744 (docs/rl_uci_notes.md: 14.07437 at 1.33) within
// 1e-3 (the loss is flat near the optimum).
TEST_F(FigureTest, GridOptimumIsThePesValue) {
  const auto [theta, loss] = GridOptimum();
  EXPECT_NEAR(theta, 1.33, 0.071);
  EXPECT_NEAR(loss, 14.0744, 1e-3);
}

// ES-Single reaches the optimum from both sides and stays within 0.1 of it
// from iteration 10000 on (observed in 18 paper-setting runs: settled by
// 7100), and the validation loss of its mean state ends within 0.005 of the
// optimal long-run loss (observed 0.0006).
TEST_F(FigureTest, EsSingleConvergesToTheOptimum) {
  const auto [opt, opt_loss] = GridOptimum();
  for (const std::string& init : kInits) {
    const auto trace = Theta("es_single_init" + init);
    EXPECT_LE(SettledAt(trace, opt, 0.1), 10000) << "init " << init;
    const auto val = FinalValues(Output("_val"), "es_single_init" + init, kN,
                                 "val_loss");
    ASSERT_EQ(val.count(0), 1u);
    EXPECT_NEAR(val.at(0), opt_loss, 0.005) << "init " << init;
  }
}

// "ES-Single converged to the optimal L2 value more rapidly and stably than
// PES": PES settles later than ES-Single (here it never stays within 0.1),
// and after iteration 10000 its mean distance from the optimum is at least
// 3 times ES-Single's (observed: 0.04 for ES-Single; 0.3 and 6 for PES).
TEST_F(FigureTest, PesIsSlowerAndLessStable) {
  const auto [opt, opt_loss] = GridOptimum();
  for (const std::string& init : kInits) {
    const auto es = Theta("es_single_init" + init);
    const auto pes = Theta("pes_init" + init);
    EXPECT_LT(SettledAt(es, opt, 0.1), SettledAt(pes, opt, 0.1))
        << "init " << init;
    EXPECT_GT(MeanDeviation(pes, opt, 10000),
              3.0 * MeanDeviation(es, opt, 10000))
        << "init " << init;
  }
}

// Truncated ES with K = 1 sees only the one-step effect of the penalty and
// drives theta towards no regularisation: below -10 at the end from both
// sides (observed -16.4 and -17.6), with a long-run validation loss at
// least 0.1 above the optimum (observed 14.294 vs 14.074).
TEST_F(FigureTest, TruncatedEsIsBiasedAway) {
  const auto [opt, opt_loss] = GridOptimum();
  for (const std::string& init : kInits) {
    const auto theta = FinalValues(Output(), "tes_init" + init, kN, "theta_0");
    const auto loss = FinalValues(Output(), "tes_init" + init, kN, "meta_loss");
    ASSERT_EQ(theta.count(0), 1u);
    EXPECT_LT(theta.at(0), -10.0) << "init " << init;
    EXPECT_GT(loss.at(0), opt_loss + 0.1) << "init " << init;
  }
}

// Bad input: checkpoints are refused (the mean state is not checkpointed),
// a bad initial theta is named, and a missing data directory is an error
// naming the file; each exits with 1.
TEST_F(FigureTest, BadInputIsAnError) {
  const std::string base = OutDir() + "/bad";
  EXPECT_EQ(RunBinary(base + "1", {"--checkpoint_every=100"}), 1);
  EXPECT_EQ(RunBinary(base + "2", {"--init_thetas=1,nan"}), 1);
  EXPECT_EQ(RunBinary(base + "3", {"--data_dir=/nonexistent/es_single"}), 1);
  auto log = ReadFile(base + "3/stderr.log");
  ASSERT_TRUE(log.ok());
  EXPECT_NE(log->find("/nonexistent/es_single"), std::string::npos) << *log;
  EXPECT_FALSE(std::filesystem::exists(base + "3/fig14_uci_yacht.csv"));
}

}  // namespace
}  // namespace es::experiments::test
