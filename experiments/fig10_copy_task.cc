// fig10_copy_task - Figures 10 and 16 of the ES-Single paper (Vicol, Kolter,
// Swersky, ICML 2023, Sec. 4.3 "LSTM Copy Task" and App. C): online training
// of a 1-layer LSTM (hidden size 100, 42,804 parameters) on the copy task of
// Mujika et al. (2018) with a curriculum on the string length T, by
// ES-Single, PES and truncated ES (Fig. 10) and by truncated backpropagation
// through time (Fig. 16).
//
// What it measures: for each method, learning rate, sigma and seed, the
// maximum string length successfully copied (curriculum().max_copied_length:
// T - 1, the longest length whose bits-per-character EMA fell below 0.15)
// against data time (curriculum().tokens(): characters read by the observed
// model, K * B per observation; every ES particle reads the same data, so
// this is the paper's x axis, not N times it). Each run stops once it has
// read --tokens characters.
//
// Methods (--methods):
//   es_single, pes   online ES with K = --truncation (paper: 1), N =
//                    --num_particles, restarting every particle's inner
//                    problem (new perturbation, (h, c) = 0, new strings)
//                    every --inner_length outer iterations;
//   tes_k<K>         truncated ES with one shared mean state (estimators/
//                    truncated_es.h), K steps per estimate (paper: 25, 50);
//   tbptt_k<K>       truncated backprop through time, windows of K steps
//                    (inner/lstm/copy_task_tbptt.h; Fig. 16's "TBP").
// ES methods update theta with Adam(0.9, 0.999) after each estimate; the
// curriculum is advanced by the mean model (theta unperturbed on its own 32
// streams, CopyTaskMeanModel: the paper's "mean model's loss"), which reads
// K * 32 characters per outer iteration. TBPTT's model is its own observed
// model. The mean model and TBPTT read the same streams (same key) for a seed.
//
// Setup (paper): minibatches of 32 (streams, never reset), the curriculum of
// Mujika et al. (start T = 1, raise when the EMA of the bits per character
// drops below 0.15, lengths uniform over {T-5, ..., T}; inner/lstm/
// copy_task.h), N = 1000, K = 1 for ES-Single and PES, K in {25, 50} for
// truncated ES, Adam(0.9, 0.999), lr in {1e-2, 1e-3, 1e-4} and sigma in
// {1e-1, 1e-2, 1e-3, 1e-4} grid-searched per method (--preset=grid runs the
// grid: --learning_rates x --sigmas for every method). Our choices where the
// paper is silent (not grid winners: the grid at N = 1000 is far beyond
// this machine): lr = 1e-3, sigma = 1e-2, --inner_length = 100 (an
// inner problem of ES-Single/PES on a never-ending stream must end somewhere
// for ES-Single to draw new perturbations and for PES's accumulator to stay
// bounded), TBPTT truncations {25, 50} beside truncated ES's, 3 seeds,
// 2e6 tokens per run.
//
// What the paper reports: truncated ES plateaus (it cannot learn dependencies
// longer than K); PES and ES-Single both beat it, ES-Single substantially:
// T grows faster and reaches higher values (Fig. 10). TBPTT also plateaus at
// its truncation length (Fig. 16).
//
// Output (in --out_dir, default results/fig10_copy_task/):
//   fig10_copy_task.csv  method,num_particles,seed,learning_rate,sigma,
//       iteration,tokens,length,max_copied_length,ema_bits: a row at the
//       start, at every raise of T, every --log_tokens characters and at the
//       end (num_particles 0 and sigma 0 for TBPTT);
//   fig10_copy_task.json sidecar: flags, presets, per run the final maximum
//       T, tokens, wall time and data tokens per second (settings.runs).
// Run with OMP_NUM_THREADS=1 on a shared machine (OpenMP spin-waiting).
//
//   bazel run //experiments:fig10_copy_task                # paper settings
//   bazel run //experiments:fig10_copy_task -- --scaled    # minutes
//   bazel run //experiments:fig10_copy_task -- --quick     # seconds
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "estimators/estimator_factory.h"
#include "estimators/optimizer.h"
#include "experiments/figure.h"
#include "inner/lstm/copy_task_problem.h"
#include "inner/lstm/copy_task_tbptt.h"

ABSL_FLAG(int64_t, tokens, 2000000,
          "Data-time budget per run: characters read by the observed model.");
ABSL_FLAG(std::string, learning_rates, "1e-3",
          "Adam learning rates (a list runs every value; paper grid: "
          "1e-2,1e-3,1e-4).");
ABSL_FLAG(std::string, sigmas, "1e-2",
          "ES perturbation scales (a list runs every value; paper grid: "
          "1e-1,1e-2,1e-3,1e-4).");
ABSL_FLAG(int64_t, hidden_size, 100, "LSTM hidden units H (paper: 100).");
ABSL_FLAG(int64_t, batch_size, 32, "Streams B per model (paper: 32).");
ABSL_FLAG(int64_t, inner_length, 100,
          "ES-Single/PES: outer iterations per inner problem (0 = never "
          "restart).");
ABSL_FLAG(int64_t, log_tokens, 20000, "A trace row every this many characters.");

namespace es::experiments {
namespace {

struct MethodSpec {
  std::string name;   // as in --methods
  std::string kind;   // es_single, pes, tes, tbptt
  int truncation = 1;
};

absl::StatusOr<MethodSpec> ParseMethod(const std::string& name, int default_k) {
  MethodSpec m;
  m.name = name;
  if (name == "es_single" || name == "pes") {
    m.kind = name;
    m.truncation = default_k;
    return m;
  }
  for (const char* prefix : {"tes_k", "tbptt_k"}) {
    if (absl::StartsWith(name, prefix)) {
      int k = 0;
      const std::string rest = name.substr(std::string(prefix).size());
      if (!absl::SimpleAtoi(rest, &k) || k < 1 || k > 100000 ||
          absl::StrCat(k) != rest) {
        break;
      }
      m.kind = std::string(prefix).substr(0, std::string(prefix).size() - 2);
      m.truncation = k;
      return m;
    }
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "--methods: unknown method '", name,
      "' (allowed: es_single, pes, tes_k<K>, tbptt_k<K> with K in [1, 100000])"));
}

double Seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

struct RunOut {
  int64_t iterations = 0, tokens = 0, max_copied = 0, dropped_pairs = 0,
          skipped = 0;
  double ema = 0.0, wall = 0.0;
};

class Tracer {
 public:
  Tracer(Table* table, std::vector<std::string> prefix, int64_t log_tokens)
      : table_(table), prefix_(std::move(prefix)), log_tokens_(log_tokens) {}
  // A row at iteration 0, on a raise, when tokens crosses a multiple of
  // log_tokens, or when `force`.
  absl::Status Observe(int64_t iteration, const CopyCurriculum& c, bool raised,
                       bool force) {
    const int64_t bucket = c.tokens() / log_tokens_;
    if (!(iteration == 0 || raised || force || bucket > last_bucket_)) {
      return absl::OkStatus();
    }
    last_bucket_ = bucket;
    std::vector<std::string> row = prefix_;
    row.push_back(absl::StrCat(iteration));
    row.push_back(absl::StrCat(c.tokens()));
    row.push_back(absl::StrCat(c.length()));
    row.push_back(absl::StrCat(c.max_copied_length()));
    row.push_back(FormatDouble(c.ema_bits()));
    return table_->AddRow(std::move(row));
  }

 private:
  Table* table_;
  std::vector<std::string> prefix_;
  int64_t log_tokens_;
  int64_t last_bucket_ = 0;
};

absl::StatusOr<RunOut> RunEs(const MethodSpec& m, const CopyTaskConfig& config,
                             int n, double lr, double sigma, uint64_t seed,
                             int threads, int64_t budget, int64_t inner_length,
                             bool progress, Tracer* tracer) {
  auto problem = CopyTaskProblem::Create(config);
  if (!problem.ok()) return problem.status();
  CopyTaskProblem& p = **problem;
  EstimatorSpec spec;
  spec.method = m.kind;
  spec.es.num_particles = n;
  spec.es.sigma = sigma;
  spec.es.truncation = m.truncation;
  spec.es.seed = seed;
  spec.es.num_threads = threads;
  auto est = MakeEstimator(&p, spec);
  if (!est.ok()) return est.status();
  auto opt = MakeOptimizer(
      OptimizerOptions{.kind = "adam", .learning_rate = lr}, p.theta_dim());
  if (!opt.ok()) return opt.status();
  auto mean = CopyTaskMeanModel::Create(&p, /*key=*/1000003 + seed);
  if (!mean.ok()) return mean.status();
  Eigen::VectorXd theta = p.InitialTheta(seed);
  RunOut out;
  const auto start = std::chrono::steady_clock::now();
  if (auto s = tracer->Observe(0, p.curriculum(), false, false); !s.ok()) {
    return s;
  }
  const bool online = m.kind == "es_single" || m.kind == "pes";
  int64_t it = 0;
  while (p.curriculum().tokens() < budget) {
    if (online && inner_length > 0 && it > 0 && it % inner_length == 0) {
      (*est)->RestartInnerProblems();
    }
    auto e = (*est)->Step(theta);
    if (!e.ok()) return e.status();
    out.dropped_pairs += e->dropped_pairs;
    if (auto s = (*opt)->Update(e->gradient, &theta); !s.ok()) return s;
    const int64_t before = p.curriculum().length();
    auto loss = (*mean)->Advance(theta, m.truncation);
    if (!loss.ok()) return loss.status();
    ++it;
    const bool raised = p.curriculum().length() != before;
    const bool last = p.curriculum().tokens() >= budget;
    if (auto s = tracer->Observe(it, p.curriculum(), raised, last); !s.ok()) {
      return s;
    }
    if (progress && (raised || it % 500 == 0)) {
      std::fprintf(stderr, "%s seed %llu: it %lld, %lld tokens, T = %lld, "
                   "EMA %.3f bits (%.1f s)\n",
                   m.name.c_str(), static_cast<unsigned long long>(seed),
                   static_cast<long long>(it),
                   static_cast<long long>(p.curriculum().tokens()),
                   static_cast<long long>(p.curriculum().length()),
                   p.curriculum().ema_bits(), Seconds(start));
    }
  }
  out.iterations = it;
  out.tokens = p.curriculum().tokens();
  out.max_copied = p.curriculum().max_copied_length();
  out.ema = p.curriculum().ema_bits();
  out.wall = Seconds(start);
  return out;
}

absl::StatusOr<RunOut> RunTbptt(const MethodSpec& m,
                                const CopyTaskConfig& config, double lr,
                                uint64_t seed, int64_t budget, bool progress,
                                Tracer* tracer) {
  auto tbptt = CopyTaskTbptt::Create(config, m.truncation, 1000003 + seed);
  if (!tbptt.ok()) return tbptt.status();
  auto opt = MakeOptimizer(
      OptimizerOptions{.kind = "adam", .learning_rate = lr},
      (*tbptt)->theta_dim());
  if (!opt.ok()) return opt.status();
  Eigen::VectorXd theta = CopyTaskInitialTheta(config.shape(), seed);
  RunOut out;
  const auto start = std::chrono::steady_clock::now();
  const CopyCurriculum& c = (*tbptt)->curriculum();
  if (auto s = tracer->Observe(0, c, false, false); !s.ok()) return s;
  int64_t it = 0;
  while (c.tokens() < budget) {
    auto r = (*tbptt)->TrainStep(opt->get(), &theta);
    if (!r.ok()) return r.status();
    ++it;
    const bool last = c.tokens() >= budget;
    if (auto s = tracer->Observe(it, c, r->raised, last); !s.ok()) return s;
    if (progress && (r->raised || it % 500 == 0)) {
      std::fprintf(stderr, "%s seed %llu: it %lld, %lld tokens, T = %lld, "
                   "EMA %.3f bits (%.1f s)\n",
                   m.name.c_str(), static_cast<unsigned long long>(seed),
                   static_cast<long long>(it),
                   static_cast<long long>(c.tokens()),
                   static_cast<long long>(c.length()), c.ema_bits(),
                   Seconds(start));
    }
  }
  out.iterations = it;
  out.tokens = c.tokens();
  out.max_copied = c.max_copied_length();
  out.ema = c.ema_bits();
  out.skipped = (*tbptt)->skipped_updates();
  out.wall = Seconds(start);
  return out;
}

absl::Status Run(FigureRun& run) {
  if (run.checkpoint_every() > 0 || run.resume_state() != nullptr) {
    return absl::InvalidArgumentError(
        "--checkpoint_every / --resume: fig10_copy_task does not checkpoint "
        "(each run is one pass over --tokens characters)");
  }
  auto seeds = run.Seeds();
  if (!seeds.ok()) return seeds.status();
  auto names = run.Methods();
  if (!names.ok()) return names.status();
  const int default_k = absl::GetFlag(FLAGS_truncation);
  if (default_k < 1 || default_k > 100000) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--truncation (K of es_single and pes) must be in [1, 100000], got ",
        default_k));
  }
  std::vector<MethodSpec> methods;
  for (const std::string& name : *names) {
    auto m = ParseMethod(name, default_k);
    if (!m.ok()) return m.status();
    methods.push_back(*m);
  }
  auto lrs = ParseDoubleList(absl::GetFlag(FLAGS_learning_rates), "learning_rates");
  if (!lrs.ok()) return lrs.status();
  auto sigmas = ParseDoubleList(absl::GetFlag(FLAGS_sigmas), "sigmas");
  if (!sigmas.ok()) return sigmas.status();
  for (double v : *lrs) {
    if (!(v > 0.0) || !std::isfinite(v)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--learning_rates: every rate must be finite and > 0, got ",
          FormatDouble(v)));
    }
  }
  for (double v : *sigmas) {
    if (!(v > 0.0) || !std::isfinite(v)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--sigmas: every scale must be finite and > 0, got ", FormatDouble(v)));
    }
  }
  const int n = absl::GetFlag(FLAGS_num_particles);
  if (n < 2 || n % 2 != 0 || n > 100000) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--num_particles must be even and in [2, 100000], got ", n));
  }
  const int64_t budget = absl::GetFlag(FLAGS_tokens);
  if (budget < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--tokens must be >= 1, got ", budget));
  }
  const int64_t inner_length = absl::GetFlag(FLAGS_inner_length);
  if (inner_length < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--inner_length must be >= 0, got ", inner_length));
  }
  const int64_t log_tokens = absl::GetFlag(FLAGS_log_tokens);
  if (log_tokens < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--log_tokens must be >= 1, got ", log_tokens));
  }
  CopyTaskConfig config;
  config.hidden_size = absl::GetFlag(FLAGS_hidden_size);
  config.batch_size = absl::GetFlag(FLAGS_batch_size);
  if (auto s = config.Validate(); !s.ok()) return s;
  const int threads = absl::GetFlag(FLAGS_threads);
  const bool progress = absl::GetFlag(FLAGS_progress);

  Table* table = run.outputs().AddTable(
      "", {"method", "num_particles", "seed", "learning_rate", "sigma",
           "iteration", "tokens", "length", "max_copied_length", "ema_bits"});
  nlohmann::ordered_json runs = nlohmann::ordered_json::array();
  std::vector<RunSummary> summaries;
  for (const MethodSpec& m : methods) {
    const bool es = m.kind != "tbptt";
    const std::vector<double> method_sigmas = es ? *sigmas : std::vector<double>{0.0};
    for (double lr : *lrs) {
      for (double sigma : method_sigmas) {
        for (int64_t seed : *seeds) {
          Tracer tracer(table,
                        {m.name, absl::StrCat(es ? n : 0), absl::StrCat(seed),
                         FormatDouble(lr), FormatDouble(sigma)},
                        log_tokens);
          auto r = es ? RunEs(m, config, n, lr, sigma, seed, threads, budget,
                              inner_length, progress, &tracer)
                      : RunTbptt(m, config, lr, seed, budget, progress, &tracer);
          if (!r.ok()) return r.status();
          nlohmann::ordered_json e;
          e["method"] = m.name;
          e["num_particles"] = es ? n : 0;
          e["seed"] = seed;
          e["learning_rate"] = lr;
          e["sigma"] = sigma;
          e["truncation"] = m.truncation;
          e["iterations"] = r->iterations;
          e["tokens"] = r->tokens;
          e["max_copied_length"] = r->max_copied;
          e["ema_bits"] = r->ema;
          e["wall_seconds"] = r->wall;
          e["data_tokens_per_second"] = r->tokens / r->wall;
          e["dropped_pairs"] = r->dropped_pairs;
          e["skipped_updates"] = r->skipped;
          runs.push_back(e);
          RunSummary s;
          s.method = m.name;
          s.num_particles = es ? n : 0;
          s.seed = static_cast<uint64_t>(seed);
          s.iterations = r->iterations;
          s.seconds_per_estimate = r->wall / std::max<int64_t>(1, r->iterations);
          s.wall_seconds = r->wall;
          s.final_meta_loss = r->ema;  // bits per character (EMA)
          s.particle_steps = es ? r->iterations * n * m.truncation : 0;
          s.dropped_pairs = r->dropped_pairs;
          summaries.push_back(s);
          std::fprintf(stderr,
                       "%s lr %s sigma %s seed %lld: max T copied %lld after "
                       "%lld tokens (%.1f s, %.0f tokens/s)\n",
                       m.name.c_str(), FormatDouble(lr).c_str(),
                       FormatDouble(sigma).c_str(), static_cast<long long>(seed),
                       static_cast<long long>(r->max_copied),
                       static_cast<long long>(r->tokens), r->wall,
                       r->tokens / r->wall);
        }
      }
    }
  }
  run.AddRuns(summaries);
  run.Setting("theta_dim", config.shape().num_params());
  run.Setting("final_meta_loss_is", "EMA of the observed model's bits per character");
  run.Setting("runs", runs);
  return absl::OkStatus();
}

}  // namespace
}  // namespace es::experiments

int main(int argc, char** argv) {
  return es::experiments::FigureMain(
      {.binary = "fig10_copy_task",
       .figure = "Figs. 10 and 16 (LSTM copy task, Sec. 4.3, App. C)",
       .description =
           "maximum string length copied against data time (tokens) for "
           "ES-Single, PES, truncated ES and TBPTT on the copy task with the "
           "Mujika et al. curriculum",
       .presets =
           {{"paper", "Sec. 4.3 / App. C; lr, sigma, inner length, tokens: ours",
             {{"seeds", "0,1,2"},
              {"methods", "es_single,pes,tes_k25,tes_k50,tbptt_k25,tbptt_k50"},
              {"num_particles", "1000"},
              {"truncation", "1"},
              {"tokens", "2000000"},
              {"learning_rates", "1e-3"},
              {"sigmas", "1e-2"},
              {"hidden_size", "100"},
              {"batch_size", "32"},
              {"inner_length", "100"},
              {"log_tokens", "20000"}}},
            {"grid", "the paper's per-method grid (lr x sigma), one seed",
             {{"seeds", "0"},
              {"learning_rates", "1e-2,1e-3,1e-4"},
              {"sigmas", "1e-1,1e-2,1e-3,1e-4"}}},
            {"scaled", "minutes on 2 cores: H = 16, N = 16, truncations 2 "
                       "and 5, 400k tokens, 2 seeds (the paper's curriculum, "
                       "data-time axis and metric)",
             {{"seeds", "0,1"},
              {"methods", "es_single,pes,tes_k2,tes_k5,tbptt_k1,tbptt_k2,tbptt_k5"},
              {"num_particles", "16"},
              {"hidden_size", "16"},
              {"tokens", "400000"},
              {"learning_rates", "1e-2"},
              {"sigmas", "1e-1"},
              {"inner_length", "50"},
              {"log_tokens", "3200"}}},
            {"quick", "seconds, for tests: H = 16, N = 16, 200k tokens, 1 seed",
             {{"seeds", "0"},
              {"methods", "es_single,pes,tes_k2,tbptt_k1,tbptt_k10"},
              {"num_particles", "16"},
              {"hidden_size", "16"},
              {"tokens", "200000"},
              {"learning_rates", "1e-2"},
              {"sigmas", "1e-1"},
              {"inner_length", "50"},
              {"log_tokens", "3200"}}}},
       .run = es::experiments::Run},
      argc, argv);
}
