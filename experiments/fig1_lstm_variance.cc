// fig1_lstm_variance - Figure 1 of the ES-Single paper (Vicol, Kolter,
// Swersky, ICML 2023, Sec. 3.1 "Variance"): the total variance of the
// ES-Single and PES gradient estimates against the number of partial unrolls
// T/K of one inner problem, on a tiny character-level LSTM (the PES authors'
// variance experiment, google-research persistent_es/rnn_variance.py).
//
// What it measures: theta held fixed (no outer updates; the PES initial
// weights, CharLmProblem::InitialTheta(--theta_seed)); for each scenario,
// method and K in --truncations, R = --repeats independent estimates, each
// the SUM of the method's T/K partial-unroll estimates over one whole inner
// problem of T = --horizon characters (variance_study/variance.h,
// MeasureVariance), and
//   total_variance V = 1/(R-1) sum_r ||g_r - g_bar||^2   (tr Var, unbiased)
// with its Monte-Carlo standard error (delta method, variance.h). Repeats of
// different (scenario, method, K) use disjoint seeds, so every point is an
// independent Monte-Carlo experiment, as in the PES script.
// Normalisation (the PES script divides by ||g_ref||^2): ||grad L||^2 is
// estimated once per scenario by full-unroll ES with --reference_particles
// particles split into two independent halves a and b,
//   grad_norm_sq = g_a . g_b,
// which is unbiased (||g_a + g_b||^2 / 4, the PES script's choice, is biased
// up by tr Var(g_ref) = (P+1)/(N_ref/2) ||grad L||^2, +58% at N_ref = 5000
// and P = 1,440). normalized_variance = V / grad_norm_sq; its standard error
// here counts only V's (the reference's relative error is listed in the
// _reference table).
//
// Scenarios (Sec. 3.1, inner/lstm/char_lm_problem.h): "random" (i.i.d.
// uniform characters: unroll gradients i.i.d.), "repeat" (one character
// repeated: identical unroll gradients), "ptb" (the first T + 1 characters of
// ptb.char.train). Every repeat reads the same fixed sequence (kFixed).
//
// Setup (the PES script; the ES-Single paper says only "the same task used by
// Vicol et al. (2021)"): H = 5, V = 50 (P = 1,440 with our one-hot input,
// docs/lstm_notes.md), minibatch 1, T = 1000, K in {1, 2, 5, ..., 1000},
// sigma = 1e-3, N = 1000 particles per estimate (lockstep), 50 repeats per K,
// reference by full ES with 5,000 particles, theta from PRNG seed 42.
//
// What the paper reports: ES-Single's variance is the same for every number
// of unrolls and similar in all three scenarios (Prop. 3.2: tr Var =
// (P + 1) ||grad L||^2 per antithetic pair, i.e. 2 (P + 1) / N normalised);
// PES's depends on T/K: it grows with the number of unrolls (linearly when
// unroll gradients are i.i.d.), and for ~10-100 unrolls on real text it is
// slightly below ES-Single's.
//
// Output (in --out_dir, default results/fig1_lstm_variance/):
//   fig1_lstm_variance.csv            scenario,method,num_particles,K,
//       num_unrolls,repeats,total_variance,total_variance_stderr,
//       grad_norm_sq,normalized_variance,normalized_variance_stderr
//   fig1_lstm_variance_reference.csv  scenario,reference_particles,
//       grad_norm_sq,grad_norm_sq_rel_stderr,ref_norm_sq,meta_loss,
//       theta_dim,predicted_es_single_normalized
//   fig1_lstm_variance.json           sidecar (flags, presets, settings,
//       the wall time of every point: settings.seconds_per_point).
// Run with OMP_NUM_THREADS=1 on a shared machine: the kernel is OpenMP-
// parallel inside, and at N = 2 spin-waiting threads made the quick run 20x
// slower (the numbers do not depend on the thread count).
//
//   bazel run //experiments:fig1_lstm_variance               # paper settings
//   bazel run //experiments:fig1_lstm_variance -- --scaled   # minutes
//   bazel run //experiments:fig1_lstm_variance -- --quick    # seconds
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "estimators/estimator_factory.h"
#include "experiments/figure.h"
#include "inner/lstm/char_lm_problem.h"
#include "variance_study/variance.h"

ABSL_FLAG(std::string, scenarios, "random,repeat,ptb",
          "Text scenarios of Sec. 3.1: any of random, repeat, ptb.");
ABSL_FLAG(int64_t, horizon, 1000, "T, characters per inner problem (paper: 1000).");
ABSL_FLAG(std::string, truncations, "1,2,5,10,20,50,100,200,500,1000",
          "K values (each must divide T); num_unrolls = T / K.");
ABSL_FLAG(int, repeats, 50, "R, independent estimates per point (PES script: 50).");
ABSL_FLAG(int, reference_particles, 5000,
          "Particles of the full-ES reference gradient (even, split into two "
          "independent halves; PES script: 5000).");
ABSL_FLAG(int64_t, hidden_size, 5, "LSTM hidden units H (PES script: 5).");
ABSL_FLAG(uint64_t, theta_seed, 42, "Seed of the PES initial weights (PES script: 42).");

namespace es::experiments {
namespace {

absl::StatusOr<CharLmConfig::Source> ParseSource(const std::string& name) {
  if (name == "random") return CharLmConfig::Source::kRandom;
  if (name == "repeat") return CharLmConfig::Source::kRepeat;
  if (name == "ptb") return CharLmConfig::Source::kPtb;
  return absl::InvalidArgumentError(absl::StrCat(
      "--scenarios: unknown scenario '", name,
      "' (allowed: random, repeat, ptb)"));
}

double Seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

struct Reference {
  double grad_norm_sq = 0.0;          // g_a . g_b
  double grad_norm_sq_rel_stderr = 0.0;
  double ref_norm_sq = 0.0;           // ||(g_a + g_b) / 2||^2
};

// Two independent full-ES estimates with N_ref / 2 particles (m = N_ref / 4
// pairs) each, seeds `seed` and seed + 1. With g_a = g + e_a, Cov(e_a) =
// Sigma / m and, per pair (sigma -> 0, Gaussian directions), Sigma =
// ||g||^2 I + g g^T (the covariance behind Prop. 3.2):
//   g_a . g_b - ||g||^2 = g . e_a + g . e_b + e_a . e_b,
//   Var = 2 g^T Sigma g / m + tr(Sigma^2) / m^2 = (4 / m + (P + 3) / m^2) ||g||^4,
// so the relative standard error is sqrt(4 / m + (P + 3) / m^2) (6.4% at
// N_ref = 5000, P = 1,440): reported in the _reference table.
absl::StatusOr<Reference> ReferenceGradient(const CharLmProblem& problem,
                                            const Eigen::VectorXd& theta,
                                            double sigma, int particles,
                                            uint64_t seed, int threads) {
  Eigen::VectorXd g[2];
  for (int half = 0; half < 2; ++half) {
    EstimatorSpec spec;
    spec.method = "full_es";
    spec.es.num_particles = particles / 2;
    spec.es.sigma = sigma;
    spec.es.truncation = static_cast<int>(problem.horizon());
    spec.es.seed = seed + half;
    spec.es.num_threads = threads;
    auto est = MakeEstimator(&problem, spec);
    if (!est.ok()) return est.status();
    auto e = (*est)->Step(theta);
    if (!e.ok()) return e.status();
    g[half] = e->gradient;
  }
  Reference r;
  r.grad_norm_sq = g[0].dot(g[1]);
  r.ref_norm_sq = (0.5 * (g[0] + g[1])).squaredNorm();
  const double m = particles / 4.0;  // pairs per half
  r.grad_norm_sq_rel_stderr =
      std::sqrt(4.0 / m + (problem.theta_dim() + 3.0) / (m * m));
  return r;
}

absl::Status Run(FigureRun& run) {
  if (run.checkpoint_every() > 0 || run.resume_state() != nullptr) {
    return absl::InvalidArgumentError(
        "--checkpoint_every / --resume: fig1_lstm_variance does not "
        "checkpoint (it runs minutes at the paper's settings)");
  }
  auto seeds = run.Seeds();
  if (!seeds.ok()) return seeds.status();
  if (seeds->size() != 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--seeds: Fig. 1 takes one base seed (repeats give the Monte-Carlo "
        "samples), got ", seeds->size()));
  }
  const uint64_t seed = static_cast<uint64_t>((*seeds)[0]);
  auto methods = run.Methods();
  if (!methods.ok()) return methods.status();
  for (const std::string& m : *methods) {
    if (m != "es_single" && m != "pes") {
      return absl::InvalidArgumentError(absl::StrCat(
          "--methods: '", m, "' is not a Fig. 1 method (allowed: es_single, pes)"));
    }
  }
  auto scenario_names =
      ParseNameList(absl::GetFlag(FLAGS_scenarios), "scenarios");
  if (!scenario_names.ok()) return scenario_names.status();
  std::vector<CharLmConfig::Source> sources;
  for (const std::string& s : *scenario_names) {
    auto src = ParseSource(s);
    if (!src.ok()) return src.status();
    sources.push_back(*src);
  }
  const int64_t T = absl::GetFlag(FLAGS_horizon);
  if (T < 1 || T > 1000000) {
    return absl::InvalidArgumentError(
        absl::StrCat("--horizon must be in [1, 1000000], got ", T));
  }
  auto ks = ParseIntList(absl::GetFlag(FLAGS_truncations), "truncations");
  if (!ks.ok()) return ks.status();
  for (int64_t k : *ks) {
    if (k < 1 || k > T || T % k != 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--truncations: K = ", k, " must divide --horizon T = ", T));
    }
  }
  const int R = absl::GetFlag(FLAGS_repeats);
  if (R < 2 || R > 10000000) {
    return absl::InvalidArgumentError(
        absl::StrCat("--repeats must be in [2, 10000000], got ", R));
  }
  const int n = absl::GetFlag(FLAGS_num_particles);
  if (n < 2 || n % 2 != 0 || n > 1000000) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--num_particles must be even and in [2, 1000000], got ", n));
  }
  const int n_ref = absl::GetFlag(FLAGS_reference_particles);
  if (n_ref < 4 || n_ref % 4 != 0 || n_ref > 1000000) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--reference_particles must be a multiple of 4 in [4, 1000000] (two "
        "halves of antithetic pairs), got ", n_ref));
  }
  const double sigma = absl::GetFlag(FLAGS_sigma);
  if (!(sigma > 0.0) || !std::isfinite(sigma)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--sigma must be finite and > 0, got ", FormatDouble(sigma)));
  }
  const int threads = absl::GetFlag(FLAGS_threads);
  std::string data_dir;
  for (auto s : sources) {
    if (s == CharLmConfig::Source::kPtb) {
      auto d = run.DataDir();
      if (!d.ok()) return d.status();
      data_dir = *d;
    }
  }

  Table* table = run.outputs().AddTable(
      "", {"scenario", "method", "num_particles", "K", "num_unrolls",
           "repeats", "total_variance", "total_variance_stderr",
           "grad_norm_sq", "normalized_variance",
           "normalized_variance_stderr"});
  Table* ref_table = run.outputs().AddTable(
      "_reference",
      {"scenario", "reference_particles", "grad_norm_sq",
       "grad_norm_sq_rel_stderr", "ref_norm_sq", "meta_loss", "theta_dim",
       "predicted_es_single_normalized"});
  const bool progress = absl::GetFlag(FLAGS_progress);
  // Wall time of each point (the sidecar; the CSVs hold only seeded numbers).
  nlohmann::ordered_json timings = nlohmann::ordered_json::array();

  // Every scenario's problem first, so that missing data or a bad size
  // fails before minutes of work.
  std::vector<std::unique_ptr<CharLmProblem>> problems;
  for (auto source : sources) {
    CharLmConfig config;
    config.source = source;
    config.horizon = T;
    config.hidden_size = absl::GetFlag(FLAGS_hidden_size);
    config.data_dir = data_dir;
    auto problem = CharLmProblem::Create(config);
    if (!problem.ok()) return problem.status();
    problems.push_back(std::move(*problem));
  }
  for (size_t si = 0; si < sources.size(); ++si) {
    const CharLmProblem& p = *problems[si];
    const Eigen::VectorXd theta = p.InitialTheta(absl::GetFlag(FLAGS_theta_seed));
    const std::string& scenario = (*scenario_names)[si];
    auto meta_loss = p.Evaluate(theta, 0, /*key=*/0);
    if (!meta_loss.ok()) return meta_loss.status();
    // Seeds: scenario si uses the block [seed + si * 2^40, ...): the
    // reference its first two, then (method, K) blocks of R repeats.
    const uint64_t block = seed + (static_cast<uint64_t>(si) << 40);
    auto ref = ReferenceGradient(p, theta, sigma, n_ref, block, threads);
    if (!ref.ok()) return ref.status();
    if (!(ref->grad_norm_sq > 0.0) || !std::isfinite(ref->grad_norm_sq)) {
      return absl::InternalError(absl::StrCat(
          "scenario ", scenario, ": the reference ||grad L||^2 estimate g_a . "
          "g_b = ", FormatDouble(ref->grad_norm_sq),
          " is not positive; raise --reference_particles"));
    }
    const double predicted =
        2.0 * (p.theta_dim() + 1.0) / static_cast<double>(n);
    if (auto s = ref_table->AddRow(
            {scenario, absl::StrCat(n_ref), FormatDouble(ref->grad_norm_sq),
             FormatDouble(ref->grad_norm_sq_rel_stderr),
             FormatDouble(ref->ref_norm_sq), FormatDouble(*meta_loss),
             absl::StrCat(p.theta_dim()), FormatDouble(predicted)});
        !s.ok()) {
      return s;
    }
    for (size_t mi = 0; mi < methods->size(); ++mi) {
      for (size_t ki = 0; ki < ks->size(); ++ki) {
        const int K = static_cast<int>((*ks)[ki]);
        EstimatorSpec spec;
        spec.method = (*methods)[mi];
        spec.es.num_particles = n;
        spec.es.sigma = sigma;
        spec.es.truncation = K;
        spec.es.num_threads = threads;
        VarianceOptions vo;
        vo.repeats = R;
        vo.base_seed = block + 2 +
                       (mi * ks->size() + ki) * static_cast<uint64_t>(R);
        const auto start = std::chrono::steady_clock::now();
        auto r = MeasureVariance(p, spec, theta, vo);
        if (!r.ok()) return r.status();
        const double secs = Seconds(start);
        const double norm = ref->grad_norm_sq;
        if (auto s = table->AddRow(
                {scenario, spec.method, absl::StrCat(n), absl::StrCat(K),
                 absl::StrCat(T / K), absl::StrCat(R),
                 FormatDouble(r->total_variance),
                 FormatDouble(r->total_variance_stderr), FormatDouble(norm),
                 FormatDouble(r->total_variance / norm),
                 FormatDouble(r->total_variance_stderr / norm)});
            !s.ok()) {
          return s;
        }
        timings.push_back({{"scenario", scenario},
                           {"method", spec.method},
                           {"K", K},
                           {"seconds", secs}});
        if (progress) {
          std::fprintf(stderr,
                       "%s %s K=%d (%lld unrolls): V/||g||^2 = %.4g +- %.2g "
                       "(%.2f s)\n",
                       scenario.c_str(), spec.method.c_str(), K,
                       static_cast<long long>(T / K), r->total_variance / norm,
                       r->total_variance_stderr / norm, secs);
        }
      }
    }
  }
  run.Setting("theta_dim", static_cast<int64_t>(
                               CharLmConfig{}.shape().num_params()));
  run.Setting("seconds_per_point", timings);
  run.Setting("variance", "tr Var of the sum of T/K unroll estimates, R repeats");
  return absl::OkStatus();
}

}  // namespace
}  // namespace es::experiments

int main(int argc, char** argv) {
  return es::experiments::FigureMain(
      {.binary = "fig1_lstm_variance",
       .figure = "Fig. 1 (variance vs number of unrolls, tiny LSTM on "
                 "character-level PTB, Sec. 3.1)",
       .description =
           "total variance of ES-Single and PES estimates summed over one "
           "inner problem, theta fixed, against T/K, in the random, repeat "
           "and PTB scenarios",
       .presets = {{"paper", "the PES variance script's settings (rnn_variance.py)",
                    {{"seeds", "0"},
                     {"methods", "es_single,pes"},
                     {"num_particles", "1000"},
                     {"sigma", "1e-3"},
                     {"data_dir", ""},
                     {"scenarios", "random,repeat,ptb"},
                     {"horizon", "1000"},
                     {"truncations", "1,2,5,10,20,50,100,200,500,1000"},
                     {"repeats", "50"},
                     {"reference_particles", "5000"}}},
                   {"scaled", "minutes on 2 cores: one antithetic pair per "
                              "estimate (N = 2), R = 400",
                    {{"num_particles", "2"}, {"repeats", "400"}}},
                   {"quick", "seconds, for tests: T = 100, K in {1, 10, 100}, "
                             "N = 2, R = 200",
                    {{"num_particles", "2"},
                     {"horizon", "100"},
                     {"truncations", "1,10,100"},
                     {"repeats", "200"},
                     {"reference_particles", "8000"}}}},
       .run = es::experiments::Run},
      argc, argv);
}
