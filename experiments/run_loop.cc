// run_loop.cc - see run_loop.h.
#include "experiments/run_loop.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"

namespace es::experiments {
namespace {

std::string Label(const RunSpec& run) {
  return absl::StrCat(run.method->name, " N=", run.num_particles,
                      " seed=", run.seed);
}

absl::Status Prefixed(const RunSpec& run, const absl::Status& s) {
  return absl::Status(s.code(), absl::StrCat(Label(run), ": ", s.message()));
}

MethodSettings SettingsFor(const LoopOptions& o, const RunSpec& run) {
  MethodSettings s = o.defaults;
  s.num_particles = run.num_particles;
  s.seed = run.seed;
  if (run.method->sigma) s.sigma = *run.method->sigma;
  if (run.method->truncation) s.truncation = *run.method->truncation;
  return s;
}

absl::Status WriteTraceRows(Table* table, const TraceFormat& f,
                            const RunSpec& run,
                            const std::vector<TracePoint>& trace) {
  double best = std::numeric_limits<double>::infinity();
  for (const TracePoint& p : trace) {
    std::vector<std::string> row = {run.method->name,
                                    absl::StrCat(run.num_particles),
                                    absl::StrCat(run.seed),
                                    absl::StrCat(p.iteration),
                                    FormatDouble(p.meta_loss)};
    if (f.particle_steps) row.push_back(absl::StrCat(p.particle_steps));
    if (f.best_so_far) {
      if (std::isfinite(p.meta_loss)) best = std::min(best, p.meta_loss);
      row.push_back(FormatDouble(best));
    }
    if (f.theta_columns) {
      for (int i = 0; i < p.theta.size(); ++i) {
        row.push_back(FormatDouble(p.theta[i]));
      }
    }
    if (auto s = table->AddRow(std::move(row)); !s.ok()) return s;
  }
  return absl::OkStatus();
}

// Where a resumed loop starts.
struct ResumePoint {
  std::vector<RunSummary> done;  // finished runs of the interrupted loop
  int64_t next_run = 0;
  std::optional<std::string> trainer;  // state of run next_run, if started
};

// Reads the loop-independent head of the checkpoint once: the index of the
// interrupted loop and the summaries of the loops before it.
absl::Status ReadResumeHead(FigureRun& run, int* resume_loop) {
  StateReader* in = run.resume_state();
  int32_t k = 0;
  uint64_t loops = 0;
  if (auto s = in->Pod(&k); !s.ok()) return s;
  if (auto s = in->Pod(&loops); !s.ok()) return s;
  if (loops != static_cast<uint64_t>(k) || loops > in->remaining()) {
    return absl::DataLossError("checkpoint: the loop table is corrupt");
  }
  for (uint64_t l = 0; l < loops; ++l) {
    uint64_t n = 0;
    if (auto s = in->Pod(&n); !s.ok()) return s;
    if (n > in->remaining()) {
      return absl::DataLossError("checkpoint: a loop's run list is corrupt");
    }
    std::vector<RunSummary> summaries(n);
    for (RunSummary& r : summaries) {
      if (auto s = LoadRunSummary(in, &r); !s.ok()) return s;
    }
    run.finished_loops().push_back(std::move(summaries));
  }
  *resume_loop = k;
  return absl::OkStatus();
}

absl::StatusOr<ResumePoint> ReadResumeLoop(FigureRun& run) {
  StateReader* in = run.resume_state();
  if (auto s = run.outputs().LoadTables(in); !s.ok()) return s;
  ResumePoint p;
  uint64_t n = 0;
  if (auto s = in->Pod(&n); !s.ok()) return s;
  if (n > in->remaining()) {
    return absl::DataLossError("checkpoint: the run list is corrupt");
  }
  p.done.resize(n);
  for (RunSummary& r : p.done) {
    if (auto s = LoadRunSummary(in, &r); !s.ok()) return s;
  }
  if (auto s = in->Pod(&p.next_run); !s.ok()) return s;
  bool has_trainer = false;
  if (auto s = in->Pod(&has_trainer); !s.ok()) return s;
  if (has_trainer) {
    std::string bytes;
    if (auto s = in->String(&bytes); !s.ok()) return s;
    p.trainer = std::move(bytes);
  }
  if (auto s = in->Finish(); !s.ok()) return s;
  return p;
}

absl::Status WriteLoopCheckpoint(FigureRun& run, int loop,
                                 const std::vector<RunSummary>& done,
                                 int64_t next_run, const MetaTrainer* trainer) {
  StateWriter w;
  w.Pod(static_cast<int32_t>(loop));
  w.Pod(static_cast<uint64_t>(loop));
  for (int l = 0; l < loop; ++l) {
    const auto& summaries = run.finished_loops()[l];
    w.Pod(static_cast<uint64_t>(summaries.size()));
    for (const RunSummary& r : summaries) SaveRunSummary(r, &w);
  }
  run.outputs().SaveTables(&w);
  w.Pod(static_cast<uint64_t>(done.size()));
  for (const RunSummary& r : done) SaveRunSummary(r, &w);
  w.Pod(next_run);
  w.Pod(trainer != nullptr);
  if (trainer != nullptr) {
    StateWriter t;
    if (auto s = trainer->Save(&t); !s.ok()) return s;
    w.String(t.Take());
  }
  return run.WriteCheckpoint(w.Take());
}

RunSummary Summarize(const RunSpec& run, int64_t iterations,
                     const MetaTrainingResult& r) {
  RunSummary s;
  s.method = run.method->name;
  s.num_particles = run.num_particles;
  s.seed = run.seed;
  s.iterations = iterations;
  s.seconds_per_estimate = r.seconds_per_step;
  s.wall_seconds = r.wall_seconds;
  s.final_meta_loss = r.trace.empty()
                          ? std::numeric_limits<double>::quiet_NaN()
                          : r.trace.back().meta_loss;
  s.final_theta.assign(r.final_theta.data(),
                       r.final_theta.data() + r.final_theta.size());
  s.particle_steps = r.particle_steps;
  s.dropped_pairs = r.dropped_pairs;
  s.all_dropped_estimates = r.all_dropped_estimates;
  return s;
}

}  // namespace

void AppendRuns(const std::vector<const MethodEntry*>& methods,
                const std::vector<int>& particles,
                const std::vector<int64_t>& seeds, std::vector<RunSpec>* runs) {
  for (const MethodEntry* m : methods) {
    std::vector<int> ns = m->uses_particles ? particles : std::vector<int>{0};
    for (int n : ns) {
      for (int64_t seed : seeds) {
        RunSpec spec{m, n, static_cast<uint64_t>(seed)};
        const bool seen =
            std::any_of(runs->begin(), runs->end(), [&](const RunSpec& r) {
              return r.method == m && r.num_particles == n &&
                     r.seed == spec.seed;
            });
        if (!seen) runs->push_back(spec);
      }
    }
  }
}

std::vector<std::string> TraceColumns(const TraceFormat& f, int theta_dim) {
  std::vector<std::string> c = {"method", "num_particles", "seed", "iteration",
                                "meta_loss"};
  if (f.particle_steps) c.push_back("particle_steps");
  if (f.best_so_far) c.push_back("best_meta_loss");
  if (f.theta_columns) {
    for (int i = 0; i < theta_dim; ++i) c.push_back(absl::StrCat("theta_", i));
  }
  return c;
}

absl::StatusOr<LoopOptions> DefaultLoopOptions(const FigureRun& run,
                                               const UnrolledProblem* problem) {
  LoopOptions o;
  o.problem = problem;
  auto optimizer = run.Optimizer();
  if (!optimizer.ok()) return optimizer.status();
  o.optimizer = *optimizer;
  o.meta = run.MetaOptions();
  if (auto s = o.meta.Validate(); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("flags: ", s.message()));
  }
  o.defaults.sigma = absl::GetFlag(FLAGS_sigma);
  o.defaults.truncation = absl::GetFlag(FLAGS_truncation);
  o.defaults.num_threads = absl::GetFlag(FLAGS_threads);
  return o;
}

absl::StatusOr<std::vector<RunSummary>> RunLoop(
    FigureRun& run, const LoopOptions& options,
    const std::vector<RunSpec>& runs) {
  if (options.problem == nullptr || !options.theta0) {
    return absl::InternalError("RunLoop: problem and theta0 must be set");
  }
  const int loop = run.NextLoopIndex();
  Table* trace = run.outputs().FindTable("");
  const std::vector<std::string> columns =
      TraceColumns(options.format, options.problem->theta_dim());
  if (trace == nullptr) {
    trace = run.outputs().AddTable("", columns);
  } else if (trace->columns() != columns) {
    return absl::InternalError("RunLoop: two loops with different trace columns");
  }

  // --resume: finished loops return their summaries, the interrupted loop
  // picks up where it stopped.
  std::optional<ResumePoint> resume;
  if (run.resume_state() != nullptr) {
    if (loop == 0) {
      if (auto s = ReadResumeHead(run, &run.resume_loop()); !s.ok()) return s;
    }
    if (loop < run.resume_loop()) {
      const std::vector<RunSummary>& done = run.finished_loops()[loop];
      run.AddRuns(done);
      return done;
    }
    if (loop == run.resume_loop()) {
      auto p = ReadResumeLoop(run);
      if (!p.ok()) return p.status();
      resume = std::move(*p);
      run.ClearResumeState();
    }
  }
  // Fail fast: every estimator is cheap to build, and the largest run must
  // fit in memory (UnrolledProblem::BytesPerParticle).
  for (const RunSpec& spec : runs) {
    // The problem's states plus the estimator's per-particle arrays
    // (perturbed thetas, perturbations, PES accumulators, losses).
    const double bytes =
        (options.problem->BytesPerParticle() +
         8.0 * (4.0 * options.problem->theta_dim() + 8.0)) *
        std::max(1, spec.num_particles);
    if (auto s = run.CheckMemory(
            bytes, absl::StrCat("the states of ", std::max(1, spec.num_particles),
                                " particle(s) of ", options.problem->name()));
        !s.ok()) {
      return Prefixed(spec, s);
    }
    const MethodSettings ms = SettingsFor(options, spec);
    if (options.problem->horizon() == kNeverEnding &&
        ms.truncation > kMaxNeverEndingTruncation) {
      return Prefixed(spec, absl::InvalidArgumentError(absl::StrCat(
          "truncation K = ", ms.truncation, " on the never-ending problem ",
          options.problem->name(), " exceeds ", kMaxNeverEndingTruncation,
          " steps per unroll (no horizon bounds it; lower --truncation)")));
    }
    if (auto total = CheckedProduct(
            {options.meta.iterations, std::max(1, ms.truncation),
             std::max(1, spec.num_particles)},
            "iterations x truncation x particles (inner steps of one run)");
        !total.ok()) {
      return Prefixed(spec, total.status());
    }
    if (!spec.method->factory) continue;
    auto e = spec.method->factory(SettingsFor(options, spec));
    if (!e.ok()) return Prefixed(spec, e.status());
  }
  std::vector<RunSummary> done = resume ? resume->done : std::vector<RunSummary>{};
  const int64_t every = run.checkpoint_every();
  for (size_t i = resume ? resume->next_run : 0; i < runs.size(); ++i) {
    const RunSpec& spec = runs[i];
    const MethodEntry& m = *spec.method;
    MetaTrainingOptions meta = options.meta;
    meta.label = Label(spec);
    const Eigen::VectorXd theta0 = options.theta0(spec.seed);
    MetaTrainingResult result;
    std::optional<double> final_loss;
    int64_t iterations = meta.iterations;
    if (m.runner) {
      auto r = m.runner({options.problem, theta0, meta, SettingsFor(options, spec)});
      if (!r.ok()) return Prefixed(spec, r.status());
      result.trace = std::move(r->trace);
      result.final_theta = r->final_theta;
      result.particle_steps = r->particle_steps;
      result.seconds_per_step = r->seconds_per_estimate;
      result.wall_seconds = r->wall_seconds;
      final_loss = r->final_meta_loss;
      iterations = r->iterations;
    } else {
      auto estimator = m.factory(SettingsFor(options, spec));
      if (!estimator.ok()) return Prefixed(spec, estimator.status());
      auto optimizer = MakeOptimizer(m.optimizer ? *m.optimizer : options.optimizer,
                                     options.problem->theta_dim());
      if (!optimizer.ok()) return Prefixed(spec, optimizer.status());
      StepCallback on_step;
      if (options.on_step) {
        on_step = [&](int64_t it, const Estimate& e, const Eigen::VectorXd& th) {
          return options.on_step(spec, it, e, th);
        };
      }
      MetaTrainer trainer(*options.problem, estimator->get(), optimizer->get(),
                          theta0, meta, on_step);
      if (resume && resume->trainer && i == static_cast<size_t>(resume->next_run)) {
        StateReader in(*resume->trainer);
        if (auto s = trainer.Load(&in); !s.ok()) return Prefixed(spec, s);
        if (auto s = in.Finish(); !s.ok()) return Prefixed(spec, s);
      }
      while (!trainer.done()) {
        const int64_t until = every > 0 ? trainer.iteration() + every
                                        : meta.iterations;
        if (auto s = trainer.RunUntil(until); !s.ok()) return Prefixed(spec, s);
        if (every > 0 && !trainer.done()) {
          if (auto s = WriteLoopCheckpoint(run, loop, done, i, &trainer);
              !s.ok()) {
            return s;
          }
        }
      }
      result = trainer.Result();
    }
    if (auto s = WriteTraceRows(trace, options.format, spec, result.trace);
        !s.ok()) {
      return s;
    }
    RunSummary summary = Summarize(spec, iterations, result);
    if (final_loss) summary.final_meta_loss = *final_loss;
    done.push_back(std::move(summary));
    if (every > 0) {
      if (auto s = WriteLoopCheckpoint(run, loop, done, i + 1, nullptr);
          !s.ok()) {
        return s;
      }
    }
  }
  run.finished_loops().push_back(done);
  run.AddRuns(done);
  return done;
}

}  // namespace es::experiments
