// Tests of the run loop (experiments/run_loop.h) on influence balancing:
// run expansion, fail-fast validation, the trace table, custom runners and
// checkpoint/resume. A run that is stopped (here by a step callback that
// fails, like a crash after the last checkpoint) and resumed from its
// checkpoint writes exactly the tables of an uninterrupted run. The
// kill -9 version on real figure binaries is //experiments:resume_test.
#include "experiments/run_loop.h"

#include <filesystem>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "gtest/gtest.h"
#include "inner/diff/influence_balancing_diff.h"
#include "inner/influence_balancing.h"

namespace es::experiments {
namespace {

const Figure& TestFigure() {
  static const Figure* f =
      new Figure{.binary = "loop_test", .presets = {{"paper", "", {}}}};
  return *f;
}

std::string Dir(const std::string& name) {
  const char* t = std::getenv("TEST_TMPDIR");
  const std::string d = std::string(t != nullptr ? t : "/tmp") + "/" + name;
  std::filesystem::remove_all(d);
  return d;
}

struct Fixture {
  InfluenceBalancing problem;
  InfluenceBalancingDiff twin;
  MethodRegistry registry;
  Fixture() {
    EXPECT_TRUE(AddEsMethods(&problem, {"es_single", "pes", "tes"}, &registry).ok());
    EXPECT_TRUE(AddGradientMethods(&twin, {"rtrl"}, &registry).ok());
  }
  LoopOptions Options() const {
    LoopOptions o;
    o.problem = &problem;
    o.theta0 = [](uint64_t) { return Eigen::VectorXd::Constant(1, 0.5); };
    o.optimizer.learning_rate = 1e-2;
    o.meta.iterations = 12;
    o.meta.eval_every = 4;
    o.meta.eval_length = 20;
    o.meta.progress = false;
    o.defaults.sigma = 0.1;
    o.defaults.truncation = 1;
    return o;
  }
};

TEST(RunLoopTest, AppendRunsExpandsAndDeduplicates) {
  Fixture f;
  std::vector<RunSpec> runs;
  AppendRuns(*f.registry.Select({"es_single", "rtrl"}), {1000}, {0, 1}, &runs);
  AppendRuns(*f.registry.Select({"es_single", "pes"}), {4, 1000}, {0, 1}, &runs);
  // es_single x {1000} x 2, rtrl x {0} x 2, then es_single N=4 x 2 (N=1000
  // already there) and pes x {4, 1000} x 2.
  ASSERT_EQ(runs.size(), 2u + 2u + 2u + 4u);
  EXPECT_EQ(runs[2].method->name, "rtrl");
  EXPECT_EQ(runs[2].num_particles, 0);
  EXPECT_EQ(runs[4].method->name, "es_single");
  EXPECT_EQ(runs[4].num_particles, 4);
}

// A run whose estimator cannot be built (N = 3, odd) stops the loop before
// any run starts; without it the loop runs and fills the trace.
TEST(RunLoopTest, FailsBeforeRunningAndWritesTheTrace) {
  Fixture f;
  FigureRun run(TestFigure(), "paper", Dir("fail_fast"));
  std::vector<RunSpec> runs;
  AppendRuns(*f.registry.Select({"es_single", "rtrl"}), {4}, {0}, &runs);
  AppendRuns(*f.registry.Select({"es_single"}), {3}, {0}, &runs);
  auto result = RunLoop(run, f.Options(), runs);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(result.status().message().find("es_single N=3 seed=0"),
            std::string::npos)
      << result.status();
  runs.pop_back();
  FigureRun ok_run(TestFigure(), "paper", Dir("ok"));
  result = RunLoop(ok_run, f.Options(), runs);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->size(), 2u);
  EXPECT_EQ((*result)[0].particle_steps, 48);  // N = 4, 12 iterations, K = 1
  EXPECT_EQ((*result)[1].method, "rtrl");
  EXPECT_EQ((*result)[1].num_particles, 0);
  const Table* trace = ok_run.outputs().FindTable("");
  ASSERT_NE(trace, nullptr);
  EXPECT_EQ(trace->columns(),
            (std::vector<std::string>{"method", "num_particles", "seed",
                                      "iteration", "meta_loss", "theta_0"}));
  EXPECT_EQ(trace->rows().size(), 2u * 4u);  // iterations 0, 4, 8, 12
  EXPECT_EQ(ok_run.runs().size(), 2u);
}

TEST(RunLoopTest, CustomRunnerAndTraceFormat) {
  Fixture f;
  MethodEntry custom{.name = "custom",
                     .runner = [](const CustomRunContext& c)
                         -> absl::StatusOr<CustomRunResult> {
                       CustomRunResult r;
                       for (int i = 1; i <= 3; ++i) {
                         r.trace.push_back({i, 10 * i, 5.0 - i, c.theta0});
                       }
                       r.trace[1].meta_loss = std::nan("");
                       r.final_theta = c.theta0;
                       r.final_meta_loss = 2.0;
                       r.iterations = 3;
                       return r;
                     },
                     .uses_particles = false};
  ASSERT_TRUE(f.registry.Add(custom).ok());
  FigureRun run(TestFigure(), "paper", Dir("custom"));
  LoopOptions o = f.Options();
  o.format = {.particle_steps = true, .best_so_far = true, .theta_columns = false};
  std::vector<RunSpec> runs;
  AppendRuns(*f.registry.Select({"custom"}), {8}, {3}, &runs);
  auto result = RunLoop(run, o, runs);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ((*result)[0].final_meta_loss, 2.0);
  const auto& rows = run.outputs().FindTable("")->rows();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"custom", "0", "3", "1", "4",
                                               "10", "4"}));
  EXPECT_EQ(rows[1][6], "4") << "NaN never counts as the best";
  EXPECT_EQ(rows[2][6], "2");
}

// Crash after a checkpoint, resume: the same tables as without the crash.
TEST(RunLoopTest, ResumeFromACheckpointGivesTheSameTables) {
  Fixture f;
  std::vector<RunSpec> runs;
  AppendRuns(*f.registry.Select({"es_single", "pes", "tes", "rtrl"}), {6},
             {0, 1}, &runs);
  auto log_table = [](FigureRun& run) {
    return run.outputs().AddTable("_log", {"method", "iteration", "gradient"});
  };
  // Uninterrupted.
  FigureRun straight(TestFigure(), "paper", Dir("straight"));
  Table* log = log_table(straight);
  LoopOptions o = f.Options();
  o.on_step = [&](const RunSpec& s, int64_t it, const Estimate& e,
                  const Eigen::VectorXd&) {
    return log->AddRow({s.method->name, absl::StrCat(it),
                        FormatDouble(e.gradient[0])});
  };
  ASSERT_TRUE(RunLoop(straight, o, runs).ok());

  for (int crash_run : {0, 3, 5}) {
    const std::string dir = Dir(absl::StrCat("crash", crash_run));
    absl::SetFlag(&FLAGS_checkpoint_every, 5);
    {
      FigureRun first(TestFigure(), "paper", dir);
      Table* l = log_table(first);
      int calls = 0;
      o.on_step = [&](const RunSpec& s, int64_t it, const Estimate& e,
                      const Eigen::VectorXd&) -> absl::Status {
        if (s.method == runs[crash_run].method &&
            s.seed == runs[crash_run].seed && it == 9) {
          return absl::AbortedError("simulated crash");
        }
        ++calls;
        return l->AddRow({s.method->name, absl::StrCat(it),
                          FormatDouble(e.gradient[0])});
      };
      EXPECT_EQ(RunLoop(first, o, runs).status().code(),
                absl::StatusCode::kAborted);
    }
    FigureRun resumed(TestFigure(), "paper", dir);
    ASSERT_TRUE(resumed.LoadResumeState().ok());
    Table* l = log_table(resumed);
    o.on_step = [&](const RunSpec& s, int64_t it, const Estimate& e,
                    const Eigen::VectorXd&) {
      return l->AddRow({s.method->name, absl::StrCat(it),
                        FormatDouble(e.gradient[0])});
    };
    auto result = RunLoop(resumed, o, runs);
    ASSERT_TRUE(result.ok()) << result.status();
    absl::SetFlag(&FLAGS_checkpoint_every, 0);
    EXPECT_EQ(resumed.outputs().FindTable("")->Text(),
              straight.outputs().FindTable("")->Text())
        << "crash in run " << crash_run;
    EXPECT_EQ(l->Text(), log->Text()) << "crash in run " << crash_run;
    ASSERT_EQ(result->size(), runs.size());
    for (size_t i = 0; i < runs.size(); ++i) {
      EXPECT_EQ((*result)[i].final_theta, straight.runs()[i].final_theta);
    }
  }
}

}  // namespace
}  // namespace es::experiments
