// Golden and behavioural tests of //experiments:fig22_swimmer (Fig. 22, a
// linear policy on the MuJoCo Swimmer, App. C.4). One --quick run: seeds 0
// and 1, N = 4, 20 outer iterations of K = 10-step unrolls of T = 100-step
// episodes, one evaluation episode every 5 iterations (about 1 s). Needs
// $ES_SINGLE_DATA_DIR/mujoco-swimmer/swimmer.xml (skips when it is missing,
// fails under ES_CI=1).
//
// A quick run is far too short to show the paper's comparison (ES-Single
// slightly ahead of PES with a smaller spread over seeds; see
// docs/results.md for the scaled run), and with 100-step episodes and N = 4
// the returns are noisy, so the behavioural checks here are of the
// mechanism the figure rests on, each of which a bug would break:
//   * every run starts from theta = 0 and is evaluated on the same episodes,
//     so iteration 0 has the zero policy's return in every run (the
//     sidecar's zero_policy_return_eval_key);
//   * particle steps per iteration are N K (PES, ES-Single) and (N + 1) K
//     (truncated ES, whose shared mean state is unrolled too);
//   * the _return table is the mean and population std over seeds of minus
//     the trace's meta_loss (recomputed here);
//   * the estimates move theta (every run ends with |theta|_2 > 0.1: all
//     pairs dropped or a zero estimate would leave it at 0);
//   * the particle threads change nothing: --threads=2 writes the same
//     bytes.
//
//   bazel test //experiments:fig22_swimmer_test
#include <cmath>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "experiments/figure_test.h"
#include "gtest/gtest.h"

namespace es::experiments::test {
namespace {

constexpr int kN = 4;
constexpr int kK = 10;
const std::vector<std::string> kMethods = {"tes", "pes", "es_single"};

TEST_F(FigureTest, OutputContract) {
  std::vector<std::string> header = {"method", "num_particles", "seed",
                                     "iteration", "meta_loss",
                                     "particle_steps"};
  for (int i = 0; i < 16; ++i) header.push_back("theta_" + std::to_string(i));
  EXPECT_EQ(Output().header, header);
  EXPECT_EQ(Output("_return").header,
            (std::vector<std::string>{"method", "num_particles", "iteration",
                                      "particle_steps", "num_seeds",
                                      "return_mean", "return_std"}));
  // 3 methods x 2 seeds x 5 log points (0, 5, ..., 20).
  EXPECT_EQ(Output().rows.size(), 30u);
  EXPECT_EQ(Output("_return").rows.size(), 15u);
  for (const std::string& m : kMethods) {
    EXPECT_TRUE(JsonHasMethodSummary(Sidecar(), m)) << m;
  }
  for (const char* key : {"\"env_steps_per_second_one_episode\"",
                          "\"training_env_steps_per_second\"",
                          "\"zero_policy_return_eval_key\""}) {
    EXPECT_NE(Sidecar().find(key), std::string::npos) << key;
  }
}

TEST_F(FigureTest, EveryRunStartsFromTheZeroPolicy) {
  // The zero policy's return, from the sidecar.
  const std::string& json = Sidecar();
  const std::string key = "\"zero_policy_return_eval_key\": ";
  const size_t at = json.find(key);
  ASSERT_NE(at, std::string::npos);
  const double zero_return = std::stod(json.substr(at + key.size()));
  for (const std::string& m : kMethods) {
    const auto initial = InitialValues(Output(), m, kN, "meta_loss");
    ASSERT_EQ(initial.size(), 2u) << m;
    for (const auto& [seed, loss] : initial) {
      EXPECT_EQ(-loss, zero_return) << m << " seed " << seed;
    }
  }
}

TEST_F(FigureTest, ParticleStepsCountTheUnrolls) {
  for (const std::string& m : kMethods) {
    const int per_iteration = (m == "tes" ? kN + 1 : kN) * kK;
    const auto steps = Traces(Output(), m, kN, "particle_steps");
    const auto iters = Traces(Output(), m, kN, "iteration");
    for (const auto& [seed, s] : steps) {
      for (size_t i = 0; i < s.size(); ++i) {
        EXPECT_EQ(s[i], iters.at(seed)[i] * per_iteration)
            << m << " seed " << seed;
      }
    }
  }
}

TEST_F(FigureTest, ReturnTableIsTheMeanAndStdOverSeeds) {
  const CsvTable& r = Output("_return");
  const int m = r.Column("method"), it = r.Column("iteration"),
            mean = r.Column("return_mean"), sd = r.Column("return_std");
  for (const auto& row : r.rows) {
    std::vector<double> v;
    for (const auto& [seed, trace] :
         Traces(Output(), row[m], kN, "meta_loss")) {
      const auto iters = Traces(Output(), row[m], kN, "iteration").at(seed);
      for (size_t i = 0; i < iters.size(); ++i) {
        if (iters[i] == std::stod(row[it])) v.push_back(-trace[i]);
      }
    }
    ASSERT_EQ(v.size(), 2u) << row[m] << " " << row[it];
    const double mu = (v[0] + v[1]) / 2;
    EXPECT_NEAR(std::stod(row[mean]), mu, 1e-12 * (1 + std::fabs(mu)));
    EXPECT_NEAR(std::stod(row[sd]), std::fabs(v[0] - v[1]) / 2,
                1e-12 * (1 + std::fabs(mu)));
  }
}

TEST_F(FigureTest, EstimatesMoveTheta) {
  for (const std::string& m : kMethods) {
    for (int seed : {0, 1}) {
      double norm2 = 0.0;
      for (int i = 0; i < 16; ++i) {
        const auto v =
            FinalValues(Output(), m, kN, "theta_" + std::to_string(i));
        norm2 += v.at(seed) * v.at(seed);
      }
      EXPECT_GT(std::sqrt(norm2), 0.1) << m << " seed " << seed;
    }
  }
}

TEST_F(FigureTest, TwoThreadsGiveTheSameBytes) {
  const std::string dir = OutDir() + "/threads2";
  ASSERT_EQ(RunBinary(dir, {"--threads=2"}), 0);
  for (const char* f : {"/fig22_swimmer.csv", "/fig22_swimmer_return.csv"}) {
    auto a = ReadFile(OutDir() + f);
    auto b = ReadFile(dir + f);
    ASSERT_TRUE(a.ok() && b.ok()) << f;
    EXPECT_EQ(*a, *b) << f;
  }
}

TEST_F(FigureTest, BadInputIsAnError) {
  const std::string base = OutDir() + "/bad";
  EXPECT_EQ(RunBinary(base + "1", {"--eval_episodes=0"}), 1);
  EXPECT_EQ(RunBinary(base + "2", {"--horizon=95"}), 1);  // K = 10 must divide T
  EXPECT_EQ(RunBinary(base + "3", {"--data_dir=/nonexistent/es_single"}), 1);
  auto log = ReadFile(base + "3/stderr.log");
  ASSERT_TRUE(log.ok());
  EXPECT_NE(log->find("/nonexistent/es_single"), std::string::npos) << *log;
  EXPECT_FALSE(std::filesystem::exists(base + "3/fig22_swimmer.csv"));
}

}  // namespace
}  // namespace es::experiments::test
