// fig9_many_hparams - Figure 9 of the ES-Single paper (Vicol, Kolter,
// Swersky, ICML 2023, Sec. 4.2 "Tuning Many Hyperparameters" and App. C):
// tuning 29 hyperparameters of a 5-hidden-layer MLP on FashionMNIST, with the
// sum of validation losses along the inner optimisation as the meta-objective.
//
// What it measures: for random search, truncated ES ("tes", vanilla ES with
// one shared mean state), PES and ES-Single, the meta-objective of the
// current hyperparameters (the sum over the T steps of the validation-
// minibatch loss after each SGD step, on one fixed evaluation inner problem,
// --eval_key) and the best value found so far, against the total compute:
// inner SGD steps summed over particles (N x K per ES estimate; T per random-
// search configuration). Evaluation unrolls are not counted as compute.
//
// Setup (App. C, the flag defaults): 784-100-100-100-100-100-10 ReLU MLP,
// SGD with momentum, minibatches of 100, T = 1000, K = 10, N = 10, sigma =
// 0.3, Adam with learning rate 1e-2, 4 seeds. theta (29 numbers, inner/
// mlp_hpo.h kPerBlock): log learning rate and logit momentum of each of the 6
// weight matrices and 6 bias vectors, and the logit of the fraction of the
// 100 units used by each hidden layer (nested dropout, 10-100 units).
// Initialisation (App. C): log LRs uniform in (log 1e-4, log 1e-2), momenta
// uniform in logit space over (0.01, 0.9), width fractions uniform in logit
// space over (0.2, 0.8); all methods of one seed start from the same draw.
// Our choices where the paper is silent: 2000 outer iterations (20 inner
// problems, 2e5 particle-steps per run), evaluation every 100 iterations (one
// inner problem), random search sampling from the same initialisation
// distribution with the same compute budget as one ES run (200 configs of T
// steps), data split 50000 training / 10000 validation images
// (inner/data/datasets.h), lockstep particles.
//
// Paper's result: ES-Single substantially outperforms random search, vanilla
// ES and PES, reaching a lower meta-loss with less compute than PES.
//
// Output (experiments/figure.h): <out_dir>/fig9_many_hparams.csv with
// columns method,num_particles,seed,iteration,meta_loss,particle_steps,
// best_meta_loss (P = 29 > 8, so no theta columns; random search has
// num_particles 0 and iteration = configurations evaluated);
// <out_dir>/fig9_many_hparams_theta.csv with each run's final (random search:
// best) theta and the decoded hyperparameter (method,seed,index,name,theta,
// value); <out_dir>/fig9_many_hparams.json. Plot:
// /usr/bin/python3 tools/plot_hpo_figures.py --figure fig9.
//
//   bazel run //experiments:fig9_many_hparams                # paper settings
//   bazel run //experiments:fig9_many_hparams -- --quick     # seconds
#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "experiments/figure.h"
#include "experiments/method_registry.h"
#include "experiments/mnist_common.h"
#include "experiments/random_search.h"
#include "experiments/run_loop.h"
#include "inner/mlp/mlp_hpo.h"

ABSL_FLAG(int64_t, rs_configs, 0,
          "Random-search configurations per seed; 0 = the compute of one ES "
          "run (iterations * N * K / T).");
ABSL_FLAG(int, rs_batch, 10, "Random-search configurations unrolled together.");
ABSL_FLAG(int64_t, min_units, 10, "Fewest units of a hidden layer (Sec. 4.2: 10).");

namespace es::experiments {
namespace {

// <binary>_theta.csv: each run's final (random search: best) theta and its
// decoded hyperparameter.
absl::Status AddThetaTable(FigureRun& run, const MlpHpoProblem& p) {
  Table* t = run.outputs().AddTable(
      "_theta", {"method", "seed", "index", "name", "theta", "value"});
  const std::vector<std::string> names = p.ThetaNames();
  for (const RunSummary& r : run.runs()) {
    const Eigen::VectorXd theta = Eigen::Map<const Eigen::VectorXd>(
        r.final_theta.data(), static_cast<int>(r.final_theta.size()));
    const MlpHyperparameters h = p.Decode(theta, 0);
    const int blocks = static_cast<int>(h.learning_rate.size());
    for (int i = 0; i < theta.size(); ++i) {
      const double value = i < blocks       ? h.learning_rate[i]
                           : i < 2 * blocks ? h.momentum[i - blocks]
                                            : h.active_units[i - 2 * blocks];
      if (auto s = t->AddRow({r.method, absl::StrCat(r.seed), absl::StrCat(i),
                              names[i], FormatDouble(theta[i]),
                              FormatDouble(value)});
          !s.ok()) {
        return s;
      }
    }
  }
  return absl::OkStatus();
}

absl::Status Run(FigureRun& run) {
  auto seeds = run.Seeds();
  if (!seeds.ok()) return seeds.status();
  auto names = run.Methods();
  if (!names.ok()) return names.status();
  MlpHpoConfig config = MlpHpoConfig::ManyHyperparameters();
  config.min_units = absl::GetFlag(FLAGS_min_units);
  auto task = BuildMlpTask(run, config, MlpData::kFashionMnist, /*measure=*/false);
  if (!task.ok()) return task.status();
  const MlpHpoProblem& p = *(*task)->problem;
  const MnistSplits& data = (*task)->data;

  const int n = absl::GetFlag(FLAGS_num_particles);
  auto budget_or = CheckedProduct(
      {absl::GetFlag(FLAGS_iterations), n, absl::GetFlag(FLAGS_truncation)},
      "the compute budget --iterations x --num_particles x --truncation");
  if (!budget_or.ok()) return budget_or.status();
  const int64_t budget = *budget_or;
  int64_t rs_configs = absl::GetFlag(FLAGS_rs_configs);
  if (rs_configs <= 0) rs_configs = std::max<int64_t>(1, budget / p.horizon());
  // Random search keeps every configuration's theta and trace row.
  if (auto s = run.CheckMemory(
          static_cast<double>(rs_configs) * (16.0 * p.theta_dim() + 512.0),
          absl::StrCat("random search over ", rs_configs, " configurations"));
      !s.ok()) {
    return s;
  }
  // Configuration 0 of random search is the ES start; 1, 2, ... fresh draws.
  const ThetaSampler sample = [&p](uint64_t seed, uint64_t i) {
    return p.SampleInitialTheta(seed, i);
  };
  MethodRegistry registry;
  if (auto s = AddEsMethods(&p, {"tes", "pes", "es_single", "tes_particle",
                                 "full_es"},
                            &registry);
      !s.ok()) {
    return s;
  }
  if (auto s = registry.Add(RandomSearchMethod(sample, rs_configs,
                                               absl::GetFlag(FLAGS_rs_batch)));
      !s.ok()) {
    return s;
  }
  auto methods = registry.Select(*names);
  if (!methods.ok()) return methods.status();
  std::vector<RunSpec> runs;
  AppendRuns(*methods, {n}, *seeds, &runs);

  auto options = DefaultLoopOptions(run, &p);
  if (!options.ok()) return options.status();
  options->theta0 = [&](uint64_t seed) { return sample(seed, 0); };
  options->format = {.particle_steps = true, .best_so_far = true,
                     .theta_columns = false};
  run.Setting("rs_configs", rs_configs);
  run.Setting("compute_budget_particle_steps", budget);
  run.Setting("train_examples", data.train.num_examples());
  run.Setting("valid_examples", data.validation.num_examples());
  run.Setting("theta_dim", p.theta_dim());
  run.Setting("flops_per_particle_step", p.FlopsPerParticleStep());
  if (auto s = RunLoop(run, *options, runs); !s.ok()) return s.status();
  // Mean over seeds of each method's best meta-objective (the last
  // best_meta_loss of each run in the trace).
  std::map<std::string, std::map<std::string, double>> best;
  for (const auto& row : run.outputs().FindTable("")->rows()) {
    best[row[0]][row[2]] = std::stod(row[6]);
  }
  for (const auto& [method, per_seed] : best) {
    double sum = 0.0;
    for (const auto& [seed, b] : per_seed) sum += b;
    run.Setting(absl::StrCat("best_meta_loss_mean_", method),
                sum / per_seed.size());
  }
  return AddThetaTable(run, p);
}

}  // namespace
}  // namespace es::experiments

int main(int argc, char** argv) {
  return es::experiments::FigureMain(
      {.binary = "fig9_many_hparams",
       .figure = "Fig. 9 (29 hyperparameters of a 5x100 MLP on FashionMNIST)",
       .description =
           "meta-objective (sum of validation losses over T steps on a fixed "
           "evaluation inner problem) and best so far against total compute "
           "(particle-steps) for random search, truncated ES, PES and "
           "ES-Single",
       .presets = {{"paper", "App. C; iterations and the random-search budget: ours",
                    {{"seeds", "0,1,2,3"},
                     {"methods", "random_search,tes,pes,es_single"},
                     {"num_particles", "10"},
                     {"iterations", "2000"},
                     {"truncation", "10"},
                     {"sigma", "0.3"},
                     {"optimizer", "adam"},
                     {"learning_rate", "0.01"},
                     {"eval_every", "100"},
                     {"eval_key", "2000003"},
                     {"eval_length", "0"},
                     {"data_dir", ""},
                     {"horizon", "1000"},
                     {"hidden_sizes", "100,100,100,100,100"}}},
                   {"quick", "seconds, for tests: five hidden layers of 32",
                    {{"seeds", "0,1"},
                     {"num_particles", "4"},
                     {"iterations", "20"},
                     {"horizon", "20"},
                     {"eval_every", "5"},
                     {"batch_size", "50"},
                     {"train_examples", "2000"},
                     {"valid_examples", "500"},
                     {"hidden_sizes", "32,32,32,32,32"}}}},
       .run = es::experiments::Run},
      argc, argv);
}
