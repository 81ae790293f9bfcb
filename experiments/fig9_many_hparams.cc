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
// Output (experiments/figure_io.h): <out_dir>/fig9_many_hparams.csv with
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
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "estimators/estimator_factory.h"
#include "estimators/meta_trainer.h"
#include "estimators/optimizer.h"
#include "experiments/figure_io.h"
#include "inner/data/datasets.h"
#include "inner/mlp_hpo.h"

ABSL_FLAG(std::string, out_dir, "",
          "Output directory; empty = results/fig9_many_hparams/ (relative "
          "paths resolve against the workspace under bazel run).");
ABSL_FLAG(bool, quick, false,
          "Seconds-long run for tests: five hidden layers of 32 units, T = "
          "20, N = 4, 20 iterations, seeds 0,1, eval every 5, 2000 training "
          "/ 500 validation examples, minibatch 50 (flags set to non-default "
          "values still win).");
ABSL_FLAG(std::string, seeds, "0,1,2,3", "Comma-separated seeds (App. C: 4 runs).");
ABSL_FLAG(std::string, methods, "random_search,tes,pes,es_single",
          "Methods: random_search, tes (truncated ES, shared mean state), pes, "
          "es_single, tes_particle, full_es.");
ABSL_FLAG(int, num_particles, 10, "N, particles per ES estimate (App. C: 10).");
ABSL_FLAG(int64_t, iterations, 2000, "Outer iterations per ES run (our choice).");
ABSL_FLAG(int64_t, horizon, 1000, "T (App. C: 1000).");
ABSL_FLAG(int, truncation, 10, "K (App. C: 10).");
ABSL_FLAG(double, sigma, 0.3, "Perturbation scale (App. C: 0.3).");
ABSL_FLAG(double, learning_rate, 0.01, "Adam learning rate (App. C: 1e-2).");
ABSL_FLAG(int64_t, eval_every, 100,
          "Meta-objective evaluation (and CSV row) every this many iterations.");
ABSL_FLAG(int64_t, eval_key, 2000003,
          "Episode key of the evaluation inner problem (all methods).");
ABSL_FLAG(int64_t, rs_configs, 0,
          "Random-search configurations per seed; 0 = the compute of one ES "
          "run (iterations * N * K / T).");
ABSL_FLAG(int, rs_batch, 10, "Random-search configurations unrolled together.");
ABSL_FLAG(std::string, hidden_sizes, "100,100,100,100,100",
          "Maximum units per hidden layer (App. C: five layers of 100).");
ABSL_FLAG(int64_t, min_units, 10, "Fewest units of a hidden layer (Sec. 4.2: 10).");
ABSL_FLAG(int64_t, batch_size, 100, "Inner minibatch size (App. C: 100).");
ABSL_FLAG(int64_t, train_examples, 0,
          "Use the first n training examples (0 = the whole 50000 split).");
ABSL_FLAG(int64_t, valid_examples, 0,
          "Use the first n validation examples (0 = the whole 10000 split).");
ABSL_FLAG(std::string, data_dir, es::kFashionMnistDefaultDir,
          "FashionMNIST IDX directory.");
ABSL_FLAG(int, threads, 1, "Threads for each estimator's particle loop.");
ABSL_FLAG(bool, progress, true, "Progress lines on stderr.");

namespace es::experiments {
namespace {

constexpr char kBinary[] = "fig9_many_hparams";
constexpr char kRandomSearch[] = "random_search";

struct Point {
  int64_t iteration;
  int64_t particle_steps;
  double meta_loss;
};

// Appends rows with the running best (non-finite values never count).
absl::Status WriteRows(CsvWriter* csv, const std::string& method, int n,
                       int64_t seed, const std::vector<Point>& points,
                       double* best) {
  *best = std::numeric_limits<double>::infinity();
  for (const Point& p : points) {
    if (std::isfinite(p.meta_loss)) *best = std::min(*best, p.meta_loss);
    if (auto s = csv->WriteRow({method, absl::StrCat(n), absl::StrCat(seed),
                                absl::StrCat(p.iteration),
                                FormatDouble(p.meta_loss),
                                absl::StrCat(p.particle_steps),
                                FormatDouble(*best)});
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::Status WriteTheta(CsvWriter* csv, const MlpHpoProblem& problem,
                        const std::string& method, int64_t seed,
                        const Eigen::VectorXd& theta) {
  const std::vector<std::string> names = problem.ThetaNames();
  const MlpHyperparameters h = problem.Decode(theta, 0);
  const int blocks = static_cast<int>(h.learning_rate.size());
  for (int i = 0; i < theta.size(); ++i) {
    double value;
    if (i < blocks) {
      value = h.learning_rate[i];
    } else if (i < 2 * blocks) {
      value = h.momentum[i - blocks];
    } else {
      value = h.active_units[i - 2 * blocks];
    }
    if (auto s = csv->WriteRow({method, absl::StrCat(seed), absl::StrCat(i),
                                names[i], FormatDouble(theta[i]),
                                FormatDouble(value)});
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::Status Run() {
  const auto start = std::chrono::steady_clock::now();
  const bool quick = absl::GetFlag(FLAGS_quick);
  const std::string seeds_text = QuickOr(FLAGS_seeds, quick, std::string("0,1"));
  const int n = QuickOr(FLAGS_num_particles, quick, 4);
  const int64_t iterations = QuickOr(FLAGS_iterations, quick, int64_t{20});
  const int64_t horizon = QuickOr(FLAGS_horizon, quick, int64_t{20});
  const int64_t eval_every = QuickOr(FLAGS_eval_every, quick, int64_t{5});
  const int64_t batch = QuickOr(FLAGS_batch_size, quick, int64_t{50});
  const int64_t train_examples =
      QuickOr(FLAGS_train_examples, quick, int64_t{2000});
  const int64_t valid_examples =
      QuickOr(FLAGS_valid_examples, quick, int64_t{500});
  const int k = absl::GetFlag(FLAGS_truncation);
  const uint64_t eval_key = static_cast<uint64_t>(absl::GetFlag(FLAGS_eval_key));
  const int rs_batch = absl::GetFlag(FLAGS_rs_batch);

  auto seeds = ParseIntList(seeds_text, "seeds");
  if (!seeds.ok()) return seeds.status();
  auto methods = ParseNameList(absl::GetFlag(FLAGS_methods), "methods");
  if (!methods.ok()) return methods.status();
  for (const std::string& m : *methods) {
    if (m != kRandomSearch && m != "tes" && m != "pes" && m != "es_single" &&
        m != "tes_particle" && m != "full_es") {
      return absl::InvalidArgumentError(absl::StrCat(
          "--methods: unknown method \"", m,
          "\"; known: random_search, tes, pes, es_single, tes_particle, "
          "full_es"));
    }
  }
  auto hidden = ParseIntList(
      QuickOr(FLAGS_hidden_sizes, quick, std::string("32,32,32,32,32")),
      "hidden_sizes");
  if (!hidden.ok()) return hidden.status();
  if (train_examples < 0 || valid_examples < 0) {
    return absl::InvalidArgumentError(
        "--train_examples and --valid_examples must be >= 0 (0 = all)");
  }
  if (rs_batch < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--rs_batch must be >= 1, got ", rs_batch));
  }

  auto data = LoadFashionMnist(absl::GetFlag(FLAGS_data_dir));
  if (!data.ok()) return data.status();
  auto subset = [](LabeledImages& set, int64_t count) {
    return count > 0 && count < set.num_examples()
               ? SliceExamples(set, 0, count)
               : std::move(set);
  };
  LabeledImages train = subset(data->train, train_examples);
  LabeledImages valid = subset(data->validation, valid_examples);
  const MlpDataView train_view{train.images, train.labels, train.num_features()};
  const MlpDataView valid_view{valid.images, valid.labels, valid.num_features()};

  MlpHpoConfig config = MlpHpoConfig::ManyHyperparameters();
  config.hidden_sizes.assign(hidden->begin(), hidden->end());
  config.batch_size = batch;
  config.horizon = horizon;
  config.min_units = absl::GetFlag(FLAGS_min_units);
  config.measure_batch_size = batch;  // MeasureLoss is not used here
  auto problem = MlpHpoProblem::Create(config, train_view, valid_view);
  if (!problem.ok()) return problem.status();
  const MlpHpoProblem& p = **problem;

  OptimizerOptions oo;
  oo.kind = "adam";
  oo.learning_rate = absl::GetFlag(FLAGS_learning_rate);
  if (auto s = oo.Validate(); !s.ok()) return s;
  const int64_t budget = iterations * n * k;
  int64_t rs_configs = absl::GetFlag(FLAGS_rs_configs);
  if (rs_configs <= 0) rs_configs = std::max<int64_t>(1, budget / horizon);

  auto out_dir = ResolveOutDir(absl::GetFlag(FLAGS_out_dir), kBinary);
  if (!out_dir.ok()) return out_dir.status();
  auto csv = CsvWriter::Open(
      absl::StrCat(*out_dir, "/", kBinary, ".csv"),
      {"method", "num_particles", "seed", "iteration", "meta_loss",
       "particle_steps", "best_meta_loss"});
  if (!csv.ok()) return csv.status();
  auto theta_csv =
      CsvWriter::Open(absl::StrCat(*out_dir, "/", kBinary, "_theta.csv"),
                      {"method", "seed", "index", "name", "theta", "value"});
  if (!theta_csv.ok()) return theta_csv.status();

  auto make_spec = [&](const std::string& method, int64_t seed) {
    EstimatorSpec spec;
    spec.method = method;
    spec.es.num_particles = n;
    spec.es.sigma = absl::GetFlag(FLAGS_sigma);
    spec.es.truncation = k;
    spec.es.seed = static_cast<uint64_t>(seed);
    spec.es.num_threads = absl::GetFlag(FLAGS_threads);
    return spec;
  };
  for (const std::string& method : *methods) {
    if (method == kRandomSearch) continue;
    for (int64_t seed : *seeds) {
      if (auto e = MakeEstimator(&p, make_spec(method, seed)); !e.ok()) {
        return e.status();
      }
    }
  }

  std::vector<RunSummary> runs;
  std::vector<std::pair<std::string, double>> best_sum;  // per method
  auto add_best = [&](const std::string& method, double best) {
    for (auto& [m, total] : best_sum) {
      if (m == method) {
        total += best;
        return;
      }
    }
    best_sum.emplace_back(method, best);
  };
  for (const std::string& method : *methods) {
    for (int64_t seed : *seeds) {
      const Eigen::VectorXd theta0 = p.SampleInitialTheta(seed, 0);
      const auto run_start = std::chrono::steady_clock::now();
      std::vector<Point> points;
      RunSummary r;
      r.method = method;
      r.seed = static_cast<uint64_t>(seed);
      Eigen::VectorXd final_theta;
      if (method == kRandomSearch) {
        // Configuration 0 is the ES start; 1, 2, ... fresh draws.
        RowMatrixXd thetas(rs_configs, p.theta_dim());
        for (int64_t i = 0; i < rs_configs; ++i) {
          thetas.row(i) = p.SampleInitialTheta(seed, i).transpose();
        }
        std::vector<double> losses;
        double last_print = 0.0;
        for (int64_t b = 0; b < rs_configs; b += rs_batch) {
          const int64_t nb = std::min<int64_t>(rs_batch, rs_configs - b);
          auto e = p.EvaluateBatch(thetas.middleRows(b, nb), 0, eval_key, rs_batch);
          if (!e.ok()) return e.status();
          losses.insert(losses.end(), e->sum_loss.begin(), e->sum_loss.end());
          const double elapsed = std::chrono::duration<double>(
                                     std::chrono::steady_clock::now() - run_start)
                                     .count();
          if (absl::GetFlag(FLAGS_progress) && elapsed - last_print >= 1.0) {
            last_print = elapsed;
            std::fprintf(stderr, "[random_search seed=%lld] %lld/%lld configs\n",
                         static_cast<long long>(seed),
                         static_cast<long long>(b + nb),
                         static_cast<long long>(rs_configs));
          }
        }
        int64_t best_i = -1;
        for (int64_t i = 0; i < rs_configs; ++i) {
          points.push_back({i + 1, (i + 1) * horizon, losses[i]});
          if (std::isfinite(losses[i]) &&
              (best_i < 0 || losses[i] < losses[best_i])) {
            best_i = i;
          }
        }
        final_theta = thetas.row(std::max<int64_t>(best_i, 0)).transpose();
        r.num_particles = 0;
        r.iterations = rs_configs;
        r.particle_steps = rs_configs * horizon;
        r.wall_seconds = std::chrono::duration<double>(
                             std::chrono::steady_clock::now() - run_start)
                             .count();
        r.seconds_per_estimate = r.wall_seconds / rs_configs;
      } else {
        auto est = MakeEstimator(&p, make_spec(method, seed));
        if (!est.ok()) return est.status();
        auto opt = MakeOptimizer(oo, p.theta_dim());
        if (!opt.ok()) return opt.status();
        MetaTrainingOptions mo;
        mo.iterations = iterations;
        mo.eval_every = eval_every;
        mo.eval_key = eval_key;
        mo.label = absl::StrCat(method, " N=", n, " seed=", seed);
        mo.progress = absl::GetFlag(FLAGS_progress);
        auto result = RunMetaTraining(p, est->get(), opt->get(), theta0, mo);
        if (!result.ok()) return result.status();
        for (const TracePoint& tp : result->trace) {
          points.push_back({tp.iteration, tp.particle_steps, tp.meta_loss});
        }
        final_theta = result->final_theta;
        r.num_particles = n;
        r.iterations = iterations;
        r.particle_steps = result->particle_steps;
        r.dropped_pairs = result->dropped_pairs;
        r.wall_seconds = result->wall_seconds;
        r.seconds_per_estimate = result->seconds_per_step;
      }
      double best;
      if (auto s = WriteRows(csv->get(), method, r.num_particles, seed, points,
                             &best);
          !s.ok()) {
        return s;
      }
      if (auto s = WriteTheta(theta_csv->get(), p, method, seed, final_theta);
          !s.ok()) {
        return s;
      }
      add_best(method, best);
      r.final_meta_loss = method == kRandomSearch ? best : points.back().meta_loss;
      r.final_theta.assign(final_theta.data(),
                           final_theta.data() + final_theta.size());
      runs.push_back(r);
      std::fprintf(stderr, "[%s seed=%lld] best meta-objective %.6g (%.1f s)\n",
                   method.c_str(), static_cast<long long>(seed), best,
                   r.wall_seconds);
    }
  }
  if (auto s = (*csv)->Close(); !s.ok()) return s;
  if (auto s = (*theta_csv)->Close(); !s.ok()) return s;

  std::string best_json = "{";
  for (size_t i = 0; i < best_sum.size(); ++i) {
    absl::StrAppend(&best_json, i ? ", " : "", JsonString(best_sum[i].first),
                    ": ", JsonNumber(best_sum[i].second / seeds->size()));
  }
  best_json += "}";
  Sidecar sc;
  sc.binary = kBinary;
  sc.figure = "Fig. 9 (29 hyperparameters of a 5x100 MLP on FashionMNIST)";
  sc.description =
      "meta-objective (sum of validation losses over T steps on a fixed "
      "evaluation inner problem) and best so far against total compute "
      "(particle-steps) for random search, truncated ES, PES and ES-Single";
  sc.flags = FlagsDefinedIn("experiments/fig9_many_hparams");
  sc.seeds = *seeds;
  sc.settings = {{"quick", quick ? "true" : "false"},
                 {"num_particles", absl::StrCat(n)},
                 {"iterations", absl::StrCat(iterations)},
                 {"horizon", absl::StrCat(horizon)},
                 {"batch_size", absl::StrCat(batch)},
                 {"train_examples", absl::StrCat(train.num_examples())},
                 {"valid_examples", absl::StrCat(valid.num_examples())},
                 {"eval_every", absl::StrCat(eval_every)},
                 {"rs_configs", absl::StrCat(rs_configs)},
                 {"compute_budget_particle_steps", absl::StrCat(budget)},
                 {"theta_dim", absl::StrCat(p.theta_dim())},
                 {"flops_per_particle_step",
                  JsonNumber(p.FlopsPerParticleStep())},
                 {"best_meta_loss_mean", best_json}};
  sc.runs = runs;
  sc.methods = SummarizeMethods(runs, [&](const std::string& m) {
    return m == kRandomSearch ? 0 : n;
  });
  sc.wall_seconds = std::chrono::duration<double>(
                        std::chrono::steady_clock::now() - start)
                        .count();
  if (auto s = WriteSidecar(absl::StrCat(*out_dir, "/", kBinary, ".json"), sc);
      !s.ok()) {
    return s;
  }
  std::printf("%-14s %6s %18s %18s %14s\n", "method", "seeds",
              "best (mean)", "final (mean)", "s/estimate");
  for (const MethodSummary& m : sc.methods) {
    double best = 0.0;
    for (const auto& [name, total] : best_sum) {
      if (name == m.method) best = total / seeds->size();
    }
    std::printf("%-14s %6zu %18.6g %18.6g %14.3g\n", m.method.c_str(),
                m.final_meta_loss_per_seed.size(), best, m.final_meta_loss,
                m.seconds_per_estimate);
  }
  std::printf("(compute budget %lld particle-steps per run; wall %.1f s)\n"
              "wrote %s/%s{.csv,.json,_theta.csv}\n",
              static_cast<long long>(budget), sc.wall_seconds,
              out_dir->c_str(), kBinary);
  return absl::OkStatus();
}

}  // namespace
}  // namespace es::experiments

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Fig. 9 of the ES-Single paper: 29 hyperparameters of a 5x100 MLP on "
      "FashionMNIST. Writes <out_dir>/fig9_many_hparams{.csv,.json,"
      "_theta.csv}.");
  absl::ParseCommandLine(argc, argv);
  const absl::Status s = es::experiments::Run();
  if (!s.ok()) {
    std::fprintf(stderr, "fig9_many_hparams: %s\n", s.ToString().c_str());
    return 1;
  }
  return 0;
}
