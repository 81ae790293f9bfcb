// lopt_figure.cc - see lopt_figure.h.
#include "experiments/lopt_figure.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <utility>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "estimators/estimator_factory.h"
#include "experiments/figure_io.h"
#include "experiments/run_loop.h"
#include "inner/data/datasets.h"
#include "inner/kernels/batched_mlp.h"

ABSL_FLAG(std::string, hidden_sizes, "128,128",
          "Hidden layers of the inner MLP (Sec. 4.4: 128,128).");
ABSL_FLAG(int64_t, batch_size, 128,
          "Inner minibatch size (learned_optimization image_mlp.py: 128).");
ABSL_FLAG(int64_t, horizon, 5000, "T, inner steps per inner problem (Sec. 4.4: 5000).");
ABSL_FLAG(int64_t, train_examples, 0,
          "Use the first n of the 50000 training images (0 = all).");
ABSL_FLAG(bool, inner_curves, true,
          "Also write <binary>_inner.csv: the inner training curves of the "
          "initial and of each meta-trained optimiser.");

ABSL_FLAG(std::string, adam_lrs, "0.0001,0.0003,0.001,0.003,0.01,0.03",
          "Adam reference line: learning rates tried on the evaluation inner "
          "problem (the best mean training loss is the tuned line); empty = "
          "no Adam reference.");

namespace es::experiments {

MeanLossProblem::MeanLossProblem(const UnrolledProblem* base)
    : base_(base), scale_(1.0 / static_cast<double>(base->horizon())) {}

std::string MeanLossProblem::name() const {
  return absl::StrCat(base_->name(), "_mean");
}

absl::Status MeanLossProblem::Unroll(ParticleStates* states, int begin,
                                     int end, const RowMatrixXd& thetas,
                                     const int64_t* t0, int num_steps,
                                     double* losses) const {
  if (auto s = base_->Unroll(states, begin, end, thetas, t0, num_steps, losses);
      !s.ok()) {
    return s;
  }
  for (int i = begin; i < end; ++i) losses[i] *= scale_;
  return absl::OkStatus();
}

absl::StatusOr<double> MeanLossProblem::Evaluate(const Eigen::VectorXd& theta,
                                                 int64_t length,
                                                 uint64_t key) const {
  absl::StatusOr<double> sum = base_->Evaluate(theta, length, key);
  if (!sum.ok()) return sum.status();
  return *sum * scale_;
}

absl::StatusOr<std::unique_ptr<LoptTask>> BuildLoptTask(FigureRun& run) {
  auto hidden =
      ParseIntList(absl::GetFlag(FLAGS_hidden_sizes), "hidden_sizes");
  if (!hidden.ok()) return hidden.status();
  const int64_t train_examples = absl::GetFlag(FLAGS_train_examples);
  if (train_examples < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--train_examples must be >= 0 (0 = all), got ", train_examples));
  }
  LoptProblemConfig config;
  config.hidden_sizes.assign(hidden->begin(), hidden->end());
  config.batch_size = absl::GetFlag(FLAGS_batch_size);
  config.horizon = absl::GetFlag(FLAGS_horizon);
  if (auto s = config.Validate(); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("flags: ", s.message()));
  }
  const int k = absl::GetFlag(FLAGS_truncation);
  if (k < 1 || config.horizon % k != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--truncation must be >= 1 and divide --horizon = ", config.horizon,
        ", got ", k));
  }
  const std::string flag_dir = absl::GetFlag(FLAGS_data_dir);
  const std::string dir =
      flag_dir.empty() ? std::string(kFashionMnistDefaultDir) : flag_dir;
  absl::StatusOr<Dataset> data = LoadFashionMnist(dir);
  if (!data.ok()) return data.status();
  auto task = std::make_unique<LoptTask>();
  task->train_ = train_examples > 0 && train_examples < data->train.num_examples()
                     ? SliceExamples(data->train, 0, train_examples)
                     : std::move(data->train);
  const MlpDataView view{task->train_.images, task->train_.labels,
                         task->train_.num_features()};
  auto lopt = LoptProblem::Create(config, view);
  if (!lopt.ok()) return lopt.status();
  task->lopt_ = *std::move(lopt);
  task->mean_ = std::make_unique<MeanLossProblem>(task->lopt_.get());
  run.Setting("data_dir", dir);
  run.Setting("train_examples_used", task->train_.num_examples());
  run.Setting("problem", task->lopt_->name());
  run.Setting("theta_dim", task->lopt_->theta_dim());
  run.Setting("inner_params_per_particle",
              task->lopt_->params_per_particle());
  run.Setting("flops_per_particle_step", task->lopt_->FlopsPerParticleStep());
  run.Setting("meta_objective",
              "mean over the T inner steps of the training-minibatch loss");
  run.Setting("particles", "breakstep (App. C.2)");
  return task;
}

absl::Status AddBreakstepMethod(const UnrolledProblem* problem,
                                const std::string& base,
                                const std::string& name,
                                std::optional<double> sigma,
                                MethodRegistry* registry) {
  const auto& known = EsMethodNames();
  if (std::find(known.begin(), known.end(), base) == known.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", base, "\" is not an ES-family method; known: ",
                     absl::StrJoin(known, ", ")));
  }
  MethodEntry entry;
  entry.name = name;
  entry.description =
      absl::StrCat(base, " with breakstep particles (App. C.2)");
  if (sigma) {
    absl::StrAppend(&entry.description, ", sigma = ", FormatDouble(*sigma));
  }
  entry.sigma = sigma;
  entry.factory = [problem, base](const MethodSettings& s)
      -> absl::StatusOr<std::unique_ptr<GradientEstimator>> {
    EstimatorSpec spec;
    spec.method = base;
    spec.es.num_particles = s.num_particles;
    spec.es.sigma = s.sigma;
    spec.es.truncation = s.truncation;
    spec.es.seed = s.seed;
    spec.es.num_threads = s.num_threads;
    spec.es.breakstep = true;
    return MakeEstimator(problem, spec);
  };
  return registry->Add(std::move(entry));
}

namespace {

// One inner training curve (see RunLoptFigure) appended to `table`.
absl::Status AddInnerCurve(const LoptProblem& lopt, const std::string& method,
                           uint64_t seed, const std::vector<double>& theta,
                           uint64_t key, int k, Table* table) {
  auto states = lopt.NewStates(1);
  if (!states.ok()) return states.status();
  const int particle = 0;
  lopt.Reset(states->get(), absl::MakeConstSpan(&particle, 1),
             absl::MakeConstSpan(&key, 1));
  RowMatrixXd thetas(1, static_cast<int>(theta.size()));
  for (size_t j = 0; j < theta.size(); ++j) thetas(0, j) = theta[j];
  for (int64_t t = 0; t < lopt.horizon(); t += k) {
    double loss = 0.0;
    if (auto s = lopt.Unroll(states->get(), 0, 1, thetas, &t, k, &loss);
        !s.ok()) {
      return s;
    }
    if (auto s = table->AddRow({method, absl::StrCat(seed),
                                absl::StrCat(t + k), FormatDouble(loss / k)});
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

// The Adam reference (see RunLoptFigure): one BatchedMlp particle per
// learning rate, all from the evaluation inner problem's initial weights and
// on its minibatches.
absl::Status AddAdamCurves(FigureRun& run, const LoptTask& task,
                           const std::vector<double>& lrs, uint64_t key,
                           int k) {
  const LoptProblem& lopt = task.lopt();
  BatchedMlpConfig c;
  c.layer_sizes = lopt.layer_sizes();
  c.num_particles = static_cast<int64_t>(lrs.size());
  c.batch_size = lopt.config().batch_size;
  c.input_mode = InputMode::kShared;
  auto mlp = BatchedMlp::Create(c);
  if (!mlp.ok()) return mlp.status();
  // Initial weights: LoptProblem's for `key`, per-particle order
  // [W_0 | b_0 | W_1 | ...], copied into every particle of the batched layout.
  auto states = lopt.NewStates(1);
  if (!states.ok()) return states.status();
  const int zero = 0;
  lopt.Reset(states->get(), absl::MakeConstSpan(&zero, 1),
             absl::MakeConstSpan(&key, 1));
  const std::vector<float> w0 = lopt.GetParticleParams(**states, 0);
  const int n = static_cast<int>(lrs.size());
  std::vector<float> params(c.num_params()), grads(c.num_params());
  for (int i = 0; i < n; ++i) {
    size_t at = 0;
    for (int l = 0; l < c.num_layers(); ++l) {
      const int64_t w = c.weight_size_per_particle(l);
      const int64_t b = c.bias_size_per_particle(l);
      std::copy(w0.begin() + at, w0.begin() + at + w,
                params.begin() + c.weight_offset(l) + i * w);
      at += w;
      std::copy(w0.begin() + at, w0.begin() + at + b,
                params.begin() + c.bias_offset(l) + i * b);
      at += b;
    }
  }
  // Particle i's entries of the flat layout, for the per-rate update.
  std::vector<int> owner(c.num_params());
  for (int l = 0; l < c.num_layers(); ++l) {
    const int64_t w = c.weight_size_per_particle(l);
    const int64_t b = c.bias_size_per_particle(l);
    for (int i = 0; i < n; ++i) {
      std::fill_n(owner.begin() + c.weight_offset(l) + i * w, w, i);
      std::fill_n(owner.begin() + c.bias_offset(l) + i * b, b, i);
    }
  }
  std::vector<double> m(c.num_params(), 0.0), v(c.num_params(), 0.0);
  const int64_t batch = c.batch_size, d0 = c.layer_sizes[0];
  std::vector<int64_t> idx(batch);
  std::vector<float> inputs(batch * d0);
  std::vector<int32_t> labels(batch);
  std::vector<double> loss(n), window(n, 0.0), total(n, 0.0);
  const LabeledImages& train = task.train();
  Table* table = run.outputs().AddTable("_adam", {"lr", "step", "loss"});
  std::vector<std::vector<std::string>> rows;
  constexpr double kBeta1 = 0.9, kBeta2 = 0.999, kEps = 1e-8;
  for (int64_t t = 0; t < lopt.horizon(); ++t) {
    lopt.TrainIndices(key, t, idx.data());
    for (int64_t b = 0; b < batch; ++b) {
      std::copy_n(train.images.begin() + idx[b] * d0, d0,
                  inputs.begin() + b * d0);
      labels[b] = train.labels[idx[b]];
    }
    if (auto s = (*mlp)->ForwardBackward(params, inputs, labels,
                                         absl::MakeSpan(loss),
                                         absl::MakeSpan(grads));
        !s.ok()) {
      return s;
    }
    const double c1 = 1.0 - std::pow(kBeta1, t + 1);
    const double c2 = 1.0 - std::pow(kBeta2, t + 1);
    for (size_t j = 0; j < params.size(); ++j) {
      const double g = grads[j];
      m[j] = kBeta1 * m[j] + (1 - kBeta1) * g;
      v[j] = kBeta2 * v[j] + (1 - kBeta2) * g * g;
      params[j] -= static_cast<float>(lrs[owner[j]] * (m[j] / c1) /
                                      (std::sqrt(v[j] / c2) + kEps));
    }
    for (int i = 0; i < n; ++i) {
      window[i] += loss[i];
      total[i] += loss[i];
    }
    if ((t + 1) % k == 0) {
      for (int i = 0; i < n; ++i) {
        rows.push_back({FormatDouble(lrs[i]), absl::StrCat(t + 1),
                        FormatDouble(window[i] / k)});
        window[i] = 0.0;
      }
    }
  }
  // Rows grouped by rate, in grid order.
  for (int i = 0; i < n; ++i) {
    for (size_t r = i; r < rows.size(); r += n) {
      if (auto s = table->AddRow(rows[r]); !s.ok()) return s;
    }
  }
  int best = -1;
  for (int i = 0; i < n; ++i) {
    const double mean = total[i] / lopt.horizon();
    run.Setting(absl::StrCat("adam_meta_loss_lr", FormatDouble(lrs[i])), mean);
    if (std::isfinite(mean) && (best < 0 || mean < total[best] / lopt.horizon())) {
      best = i;
    }
  }
  if (best >= 0) {
    run.Setting("adam_best_lr", lrs[best]);
    run.Setting("adam_best_meta_loss", total[best] / lopt.horizon());
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status RunLoptFigure(FigureRun& run, const LoptTask& task,
                           const MethodRegistry& registry,
                           const std::vector<std::string>& methods) {
  auto seeds = run.Seeds();
  if (!seeds.ok()) return seeds.status();
  std::vector<double> adam_lrs;
  if (!absl::GetFlag(FLAGS_adam_lrs).empty()) {
    auto lrs = ParseDoubleList(absl::GetFlag(FLAGS_adam_lrs), "adam_lrs");
    if (!lrs.ok()) return lrs.status();
    for (double lr : *lrs) {
      if (!(lr > 0.0) || !std::isfinite(lr)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "--adam_lrs: every learning rate must be finite and > 0, got ",
            FormatDouble(lr)));
      }
    }
    adam_lrs = *lrs;
  }
  auto selected = registry.Select(methods);
  if (!selected.ok()) return selected.status();
  const int n = absl::GetFlag(FLAGS_num_particles);
  std::vector<RunSpec> runs;
  AppendRuns(*selected, {n}, *seeds, &runs);

  const LoptProblem& lopt = task.lopt();
  auto options = DefaultLoopOptions(run, task.problem());
  if (!options.ok()) return options.status();
  options->theta0 = [&lopt](uint64_t seed) {
    return lopt.SampleInitialTheta(seed, 0);
  };
  options->format = {.particle_steps = true, .best_so_far = false,
                     .theta_columns = false};
  for (int64_t seed : *seeds) {
    auto initial = task.problem()->Evaluate(
        lopt.SampleInitialTheta(static_cast<uint64_t>(seed), 0),
        options->meta.eval_length, options->meta.eval_key);
    if (!initial.ok()) return initial.status();
    run.Setting(absl::StrCat("initial_meta_loss_seed", seed), *initial);
  }
  if (auto s = RunLoop(run, *options, runs); !s.ok()) return s.status();

  std::map<std::string, std::pair<double, int>> finals;
  for (const RunSummary& r : run.runs()) {
    auto& [sum, count] = finals[r.method];
    sum += r.final_meta_loss;
    ++count;
  }
  for (const auto& [method, sc] : finals) {
    run.Setting(absl::StrCat("final_meta_loss_mean_", method),
                sc.first / sc.second);
  }
  if (!absl::GetFlag(FLAGS_inner_curves)) return absl::OkStatus();
  Table* curves =
      run.outputs().AddTable("_inner", {"method", "seed", "step", "loss"});
  const int k = absl::GetFlag(FLAGS_truncation);
  const uint64_t key = options->meta.eval_key;
  for (int64_t seed : *seeds) {
    const Eigen::VectorXd theta0 =
        lopt.SampleInitialTheta(static_cast<uint64_t>(seed), 0);
    if (auto s = AddInnerCurve(
            lopt, "initial", seed,
            std::vector<double>(theta0.data(), theta0.data() + theta0.size()),
            key, k, curves);
        !s.ok()) {
      return s;
    }
  }
  for (const RunSummary& r : run.runs()) {
    if (auto s = AddInnerCurve(lopt, r.method, r.seed, r.final_theta, key, k,
                               curves);
        !s.ok()) {
      return s;
    }
  }
  if (adam_lrs.empty()) return absl::OkStatus();
  return AddAdamCurves(run, task, adam_lrs, key, k);
}

std::vector<Preset> LoptPresets(
    const std::string& paper_description,
    const std::vector<std::pair<std::string, std::string>>& paper_extra) {
  Preset paper{"paper", paper_description,
               {{"seeds", "0,1,2"},
                {"num_particles", "10"},
                {"iterations", "5000"},
                {"truncation", "10"},
                {"optimizer", "adam"},
                {"learning_rate", "0.001"},
                {"eval_every", "250"},
                {"eval_length", "0"},
                {"eval_key", "3000017"},
                {"data_dir", ""},
                {"hidden_sizes", "128,128"},
                {"batch_size", "128"},
                {"horizon", "5000"},
                {"train_examples", "0"},
                {"inner_curves", "true"},
                {"adam_lrs", "0.0001,0.0003,0.001,0.003,0.01,0.03"}}};
  paper.values.insert(paper.values.end(), paper_extra.begin(),
                      paper_extra.end());
  return {paper,
          {"scaled",
           "minutes on 2 cores: 784-32-10 optimisee, B = 64, T = 200, N = 8, "
           "150 iterations, 2 seeds (Adam 1e-3 as the paper preset)",
           {{"seeds", "0,1"},
            {"num_particles", "8"},
            {"iterations", "150"},
            {"eval_every", "25"},
            {"hidden_sizes", "32"},
            {"batch_size", "64"},
            {"horizon", "200"}}},
          {"quick", "seconds, for tests: 784-16-10, T = 40, B = 32",
           {{"seeds", "0"},
            {"num_particles", "4"},
            {"iterations", "30"},
            {"learning_rate", "0.01"},
            {"eval_every", "10"},
            {"hidden_sizes", "16"},
            {"batch_size", "32"},
            {"horizon", "40"},
            {"train_examples", "2000"}}}};
}

}  // namespace es::experiments
