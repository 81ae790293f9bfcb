// mnist_lr_schedule.cc - see mnist_lr_schedule.h.
#include "experiments/mnist_lr_schedule.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "experiments/mnist_common.h"
#include "experiments/sweep.h"

namespace es::experiments {
namespace {

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

absl::StatusOr<Sidecar> RunLrScheduleExperiment(const LrScheduleExperiment& x) {
  const auto start = std::chrono::steady_clock::now();
  if (x.theta0.size() != 2) {
    return absl::InvalidArgumentError(absl::StrCat(
        "initial theta must have 2 entries (log init LR, log LR decay), got ",
        x.theta0.size()));
  }
  auto data = LoadMnistSplits(x.data_dir, x.train_examples);
  if (!data.ok()) return data.status();
  const MlpDataView train = ViewOf(data->train);
  auto problem = MlpHpoProblem::Create(x.config, train, MlpDataView{});
  if (!problem.ok()) return problem.status();

  MethodRegistry registry;
  if (auto s = AddEsMethods(problem->get(),
                            {"es_single", "pes", "tes", "tes_particle", "full_es"},
                            &registry);
      !s.ok()) {
    return s;
  }
  if (x.register_methods) {
    if (auto s = x.register_methods(problem->get(), &registry); !s.ok()) return s;
  }
  std::vector<std::string> es_names, extra_names;
  for (const std::string& m : x.methods) {
    if (Contains(x.extra_method_names, m)) {
      if (Contains(extra_names, m)) {
        return absl::InvalidArgumentError(
            absl::StrCat("--methods: \"", m, "\" is listed twice"));
      }
      extra_names.push_back(m);
    } else if (registry.Find(m) != nullptr) {
      es_names.push_back(m);
    } else {
      std::vector<std::string> known = registry.names();
      known.insert(known.end(), x.extra_method_names.begin(),
                   x.extra_method_names.end());
      return absl::InvalidArgumentError(
          absl::StrCat("--methods: unknown method \"", m,
                       "\"; this binary knows: ", absl::StrJoin(known, ", ")));
    }
  }
  auto entries = registry.Select(es_names);
  if (!entries.ok()) return entries.status();
  std::vector<RunSpec> runs;
  AppendRuns(*entries, {x.num_particles}, x.seeds, &runs);

  SweepOptions options;
  options.problem = problem->get();
  options.theta0 = x.theta0;
  options.optimizer = x.optimizer;
  if (auto s = options.optimizer.Validate(); !s.ok()) return s;
  options.meta.iterations = x.iterations;
  options.meta.eval_every = x.eval_every;
  options.meta.eval_length = 0;
  options.meta.eval_key = x.eval_key;
  options.meta.progress = x.progress;
  if (auto s = options.meta.Validate(); !s.ok()) return s;
  options.defaults.sigma = x.sigma;
  options.defaults.truncation = x.truncation;
  options.defaults.num_threads = x.threads;

  auto csv = CsvWriter::Open(absl::StrCat(x.out_dir, "/", x.binary, ".csv"),
                             TraceColumns(2));
  if (!csv.ok()) return csv.status();
  std::vector<RunSummary> summaries;
  // Extra methods (cheap hypergradient baselines) first: their failures
  // show before the long ES runs.
  const LrScheduleContext context{problem->get(), train, csv->get(), x.out_dir,
                                  &x};
  for (const std::string& m : extra_names) {
    for (int64_t seed : x.seeds) {
      auto r = x.run_extra(m, static_cast<uint64_t>(seed), context);
      if (!r.ok()) return r.status();
      summaries.push_back(*r);
    }
  }
  auto es_runs = RunSweep(options, runs, csv->get());
  if (!es_runs.ok()) return es_runs.status();
  summaries.insert(summaries.end(), es_runs->begin(), es_runs->end());
  if (auto s = (*csv)->Close(); !s.ok()) return s;

  GridResult grid;
  if (!x.axis_0.empty() && !x.axis_1.empty()) {
    auto g = EvaluateGrid(**problem, Grid2d(x.axis_0, x.axis_1), {x.eval_key},
                          x.grid_batch, x.progress);
    if (!g.ok()) return g.status();
    grid = std::move(*g);
    if (auto s = WriteGridCsv(
            absl::StrCat(x.out_dir, "/", x.binary, "_grid.csv"), grid);
        !s.ok()) {
      return s;
    }
  }
  auto initial = (*problem)->Evaluate(x.theta0, 0, x.eval_key);
  if (!initial.ok()) return initial.status();

  Sidecar sc;
  sc.binary = x.binary;
  sc.figure = x.figure;
  sc.description = x.description;
  sc.flags = x.flags;
  sc.seeds = x.seeds;
  const double nan = std::nan("");
  sc.settings = {
      {"num_particles", absl::StrCat(x.num_particles)},
      {"truncation", absl::StrCat(x.truncation)},
      {"sigma", JsonNumber(x.sigma)},
      {"outer_optimizer", JsonString(x.optimizer.kind)},
      {"outer_learning_rate", JsonNumber(x.optimizer.learning_rate)},
      {"iterations", absl::StrCat(x.iterations)},
      {"eval_every", absl::StrCat(x.eval_every)},
      {"eval_key", absl::StrCat(x.eval_key)},
      {"horizon", absl::StrCat(x.config.horizon)},
      {"schedule_q", JsonNumber(x.config.schedule_q)},
      {"momentum", JsonNumber(x.config.fixed_momentum)},
      {"batch_size", absl::StrCat(x.config.batch_size)},
      {"hidden_sizes", JsonString(absl::StrJoin(x.config.hidden_sizes, ","))},
      {"train_examples", absl::StrCat(data->train.num_examples())},
      {"data_dir", JsonString(data->data_dir)},
      {"initial_theta_0", JsonNumber(x.theta0[0])},
      {"initial_theta_1", JsonNumber(x.theta0[1])},
      {"initial_meta_loss", JsonNumber(*initial)},
      {"grid_points", absl::StrCat(grid.meta_loss.size())},
      {"grid_seconds", JsonNumber(grid.seconds)},
      {"grid_min_meta_loss",
       JsonNumber(grid.argmin >= 0 ? grid.meta_loss[grid.argmin] : nan)},
      {"grid_argmin_theta_0",
       JsonNumber(grid.argmin >= 0 ? grid.thetas(grid.argmin, 0) : nan)},
      {"grid_argmin_theta_1",
       JsonNumber(grid.argmin >= 0 ? grid.thetas(grid.argmin, 1) : nan)},
      {"flops_per_particle_step",
       JsonNumber((*problem)->FlopsPerParticleStep())}};
  sc.settings.insert(sc.settings.end(), x.settings.begin(), x.settings.end());
  sc.runs = summaries;
  sc.methods = SummarizeMethods(summaries, [&](const std::string& m) {
    return Contains(x.extra_method_names, m) ? 0 : x.num_particles;
  });
  sc.wall_seconds = std::chrono::duration<double>(
                        std::chrono::steady_clock::now() - start)
                        .count();
  if (auto s = WriteSidecar(absl::StrCat(x.out_dir, "/", x.binary, ".json"), sc);
      !s.ok()) {
    return s;
  }
  std::printf("%s", SummaryTable(sc.methods).c_str());
  std::printf("(initial meta_loss %.6g at (%.4g, %.4g)", *initial, x.theta0[0],
              x.theta0[1]);
  if (grid.argmin >= 0) {
    std::printf("; grid min %.6g at (%.4g, %.4g)", grid.meta_loss[grid.argmin],
                grid.thetas(grid.argmin, 0), grid.thetas(grid.argmin, 1));
  }
  std::printf("; wall %.1f s)\nwrote %s/%s{.csv,.json%s}\n", sc.wall_seconds,
              x.out_dir.c_str(), x.binary.c_str(),
              grid.argmin >= 0 ? ",_grid.csv" : "");
  return sc;
}

}  // namespace es::experiments
