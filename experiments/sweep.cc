#include "experiments/sweep.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace es::experiments {

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
              return r.method == m && r.num_particles == n && r.seed == spec.seed;
            });
        if (!seen) runs->push_back(spec);
      }
    }
  }
}

absl::StatusOr<std::vector<RunSummary>> RunSweep(
    const SweepOptions& options, const std::vector<RunSpec>& runs,
    CsvWriter* csv) {
  if (options.problem == nullptr) {
    return absl::InvalidArgumentError("RunSweep: problem is null");
  }
  auto settings = [&](const RunSpec& run) {
    const MethodEntry& m = *run.method;
    MethodSettings s = options.defaults;
    s.num_particles = run.num_particles;
    s.seed = run.seed;
    if (m.sigma) s.sigma = *m.sigma;
    if (m.truncation) s.truncation = *m.truncation;
    return s;
  };
  auto label = [](const RunSpec& run) {
    return absl::StrCat(run.method->name, " N=", run.num_particles,
                        " seed=", run.seed);
  };
  // Fail fast: build every run's estimator once before the first run, so a
  // bad setting or a method that is not built yet stops the sweep before any
  // time is spent (estimators are cheap to construct).
  for (const RunSpec& run : runs) {
    auto estimator = run.method->factory(settings(run));
    if (!estimator.ok()) {
      return absl::Status(estimator.status().code(),
                          absl::StrCat(label(run), ": ",
                                       estimator.status().message()));
    }
  }
  std::vector<RunSummary> out;
  for (const RunSpec& run : runs) {
    const MethodEntry& m = *run.method;
    auto estimator = m.factory(settings(run));
    if (!estimator.ok()) {
      return absl::Status(estimator.status().code(),
                          absl::StrCat(label(run), ": ",
                                       estimator.status().message()));
    }
    auto optimizer = MakeOptimizer(m.optimizer ? *m.optimizer : options.optimizer,
                                   options.problem->theta_dim());
    if (!optimizer.ok()) {
      return absl::Status(optimizer.status().code(),
                          absl::StrCat(label(run), ": ", optimizer.status().message()));
    }
    MetaTrainingOptions meta = options.meta;
    meta.label = label(run);
    auto result = RunMetaTraining(*options.problem, estimator->get(),
                                  optimizer->get(), options.theta0, meta);
    if (!result.ok()) {
      return absl::Status(result.status().code(),
                          absl::StrCat(label(run), ": ", result.status().message()));
    }
    if (auto st = WriteTrace(csv, m.name, run.num_particles, run.seed,
                             result->trace);
        !st.ok()) {
      return st;
    }
    RunSummary r;
    r.method = m.name;
    r.num_particles = run.num_particles;
    r.seed = run.seed;
    r.iterations = meta.iterations;
    r.seconds_per_estimate = result->seconds_per_step;
    r.wall_seconds = result->wall_seconds;
    r.final_meta_loss = result->trace.back().meta_loss;
    r.final_theta.assign(result->final_theta.data(),
                         result->final_theta.data() + result->final_theta.size());
    r.particle_steps = result->particle_steps;
    r.dropped_pairs = result->dropped_pairs;
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace es::experiments
