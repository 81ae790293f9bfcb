// mnist_lr_schedule.cc - see mnist_lr_schedule.h.
#include "experiments/mnist_lr_schedule.h"

#include <algorithm>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "estimators/telescoping.h"
#include "experiments/grid.h"
#include "experiments/mnist_common.h"
#include "experiments/run_loop.h"

ABSL_FLAG(std::string, initial_theta, "-5,-1",
          "Start (log init LR, log LR decay) (our choice: a small LR, "
          "exp(-5) = 0.0067, with a slow decay, away from the optimum).");
ABSL_FLAG(int, grid_size, 11, "Grid points per axis; 0 = no grid.");
ABSL_FLAG(std::string, grid_range_lr, "-6,0",
          "min,max of log init LR (theta_0) on the grid.");
ABSL_FLAG(std::string, grid_range_decay, "-3,3",
          "min,max of log LR decay (theta_1) on the grid.");

namespace es::experiments {

std::vector<Preset> LrSchedulePresets(PresetValues paper, PresetValues scaled,
                                      PresetValues quick) {
  auto join = [](PresetValues base, const PresetValues& extra) {
    base.insert(base.end(), extra.begin(), extra.end());
    return base;
  };
  return {
      {"paper", "App. C: T = Q = 5000, N = 1000, sigma 0.1, Adam 1e-2",
       join({{"seeds", "0"},
             {"num_particles", "1000"},
             {"sigma", "0.1"},
             {"optimizer", "adam"},
             {"learning_rate", "0.01"},
             {"eval_key", "1000003"},
             {"eval_length", "0"},
             {"data_dir", ""}},
            paper)},
      {"scaled", "the reduced run of docs/results.md",
       join({{"seeds", "0,1"},
             {"horizon", "1000"},
             {"schedule_q", "1000"},
             {"num_particles", "20"},
             {"grid_size", "9"}},
            scaled)},
      {"quick", "seconds, for tests",
       join({{"horizon", "40"},
             {"schedule_q", "40"},
             {"num_particles", "4"},
             {"batch_size", "50"},
             {"train_examples", "2000"},
             {"grid_size", "4"}},
            quick)}};
}

absl::Status RunLrScheduleFigure(FigureRun& run, const LrScheduleFigure& x) {
  auto init = ParseDoubleList(absl::GetFlag(FLAGS_initial_theta), "initial_theta");
  if (!init.ok()) return init.status();
  if (init->size() != 2) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--initial_theta must be two numbers (log init LR, log LR decay), "
        "got \"", absl::GetFlag(FLAGS_initial_theta), "\""));
  }
  const Eigen::Vector2d theta0((*init)[0], (*init)[1]);
  auto range_lr = ParseRange(absl::GetFlag(FLAGS_grid_range_lr), "grid_range_lr");
  if (!range_lr.ok()) return range_lr.status();
  auto range_decay =
      ParseRange(absl::GetFlag(FLAGS_grid_range_decay), "grid_range_decay");
  if (!range_decay.ok()) return range_decay.status();
  const int grid_size = absl::GetFlag(FLAGS_grid_size);
  if (grid_size < 0 || grid_size > 200) {
    return absl::InvalidArgumentError(
        absl::StrCat("--grid_size must be in [0, 200], got ", grid_size));
  }
  auto seeds = run.Seeds();
  if (!seeds.ok()) return seeds.status();
  auto names = run.Methods();
  if (!names.ok()) return names.status();

  auto task = BuildMlpTask(run, MlpHpoConfig::LrSchedule(),
                           x.fashion_mnist_telescoping ? MlpData::kFashionMnist
                                                       : MlpData::kMnist,
                           /*measure=*/x.fashion_mnist_telescoping);
  if (!task.ok()) return task.status();
  const MlpHpoProblem* problem = (*task)->problem.get();
  const MnistSplits& data = (*task)->data;
  const MlpDataView train = ViewOf(data.train);
  TelescopingProblem telescoping(problem);
  const UnrolledProblem* target =
      x.fashion_mnist_telescoping
          ? static_cast<const UnrolledProblem*>(&telescoping)
          : problem;

  MethodRegistry registry;
  if (auto s = AddEsMethods(target,
                            {"es_single", "pes", "tes", "tes_particle", "full_es"},
                            &registry);
      !s.ok()) {
    return s;
  }
  if (x.register_methods) {
    if (auto s = x.register_methods(problem, train, &registry); !s.ok()) {
      return s;
    }
  }
  auto methods = registry.Select(*names);
  if (!methods.ok()) return methods.status();
  // Runner methods (cheap baselines) first: their failures show before the
  // long ES runs.
  std::stable_partition(methods->begin(), methods->end(),
                        [](const MethodEntry* m) { return m->runner != nullptr; });
  std::vector<RunSpec> runs;
  AppendRuns(*methods, {absl::GetFlag(FLAGS_num_particles)}, *seeds, &runs);

  auto options = DefaultLoopOptions(run, target);
  if (!options.ok()) return options.status();
  options->theta0 = [&](uint64_t) { return Eigen::VectorXd(theta0); };
  auto initial = target->Evaluate(theta0, 0, options->meta.eval_key);
  if (!initial.ok()) return initial.status();
  run.Setting("initial_meta_loss", *initial);
  run.Setting("train_examples", data.train.num_examples());
  run.Setting("data_dir", data.data_dir);
  run.Setting("flops_per_particle_step", problem->FlopsPerParticleStep());
  if (auto s = RunLoop(run, *options, runs); !s.ok()) return s.status();
  if (grid_size == 0) return absl::OkStatus();
  auto grid = EvaluateGrid(
      *target,
      Grid2d(Linspace(range_lr->first, range_lr->second, grid_size),
             Linspace(range_decay->first, range_decay->second, grid_size)),
      {options->meta.eval_key}, 32, options->meta.progress);
  if (!grid.ok()) return grid.status();
  return AddGridOutput(run, *grid);
}

}  // namespace es::experiments
