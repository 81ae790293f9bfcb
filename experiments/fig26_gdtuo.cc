// fig26_gdtuo - Figure 26 of the ES-Single paper (Vicol, Kolter, Swersky,
// ICML 2023, App. C.7 "Comparison to Hypergradient Descent"): the Sec. 4.2
// MNIST task - tuning the learning rate AND the decay factor of SGD with
// momentum (the LR-schedule parametrisation, as App. C.7 says: "tuning the
// learning rate and decay factor") - with vanilla truncated ES, ES-Single and
// hypergradient descent in the style of GDTUO (Chandra et al. 2022) /
// HD (Baydin et al. 2017), with and without inner-problem resets.
//
// What it measures: theta = (log init LR, log LR decay) of
//   alpha_t = exp(theta_0) / (1 + t / Q)^exp(theta_1)
// for SGD with momentum 0.9 on a 784-100-100-10 ReLU MLP (inner/mlp/mlp_hpo.h).
// Methods (CSV names):
//   tes          truncated ES, shared mean state, K = 10, N particles
//   es_single    ES-Single, K = 10, N particles
//   gdtuo        1-step-lookahead hypergradient descent on theta, one
//                network trained forever (GDTUO's online setting)
//   gdtuo_reset  the same, with the network reset every T steps while theta
//                carries over (mimics truncated ES)
// (inner/mlp/mlp_hypergradient.h has the hypergradient's formula.) The
// hypergradient methods update theta after EVERY inner step; to align data
// time with the ES methods (one outer iteration = K inner steps of every
// trajectory), they run iterations * K inner steps and their CSV rows use
// iteration = inner steps / K. num_particles is 0 for them.
// The CSV's meta_loss is, for every method, the sum of the T per-step
// training losses of a fresh unroll at theta on one evaluation inner problem
// (--eval_key); meta_loss / T is the mean training loss of Fig. 26b. For the
// hypergradient methods <binary>_online.csv also records the mean training
// loss of their own run (theta changing every step) over each evaluation
// window: method,seed,iteration,online_mean_train_loss.
//
// Setup: Sec. 4.2 / App. C: T = 5000, Q = 5000, K = 10, N = 1000, sigma =
// 0.1, Adam 1e-2 for the ES methods (flag defaults). The paper does not state
// GDTUO's hyper-optimiser; ours: Adam with learning rate 1e-3 applied every
// inner step (--hyper_learning_rate). Adam moves a coordinate by at most
// about its learning rate per update, so this allows the same drift per
// inner step as the ES methods' 1e-2 per K = 10 steps. Our choices as in
// Fig. 7: start theta, 3000 outer iterations, one seed, evaluation cadence,
// grid.
//
// Cost: the ES methods as in Fig. 7 (3e7 particle-steps, 2-4 hours, per
// method at the paper's N); the hypergradient methods are cheap (one
// network, 3e4 inner steps plus evaluations). --scaled runs the reduced
// setting of docs/results.md.
//
// Paper's result (Fig. 26): GDTUO behaves like truncated ES, both in the
// meta-optimisation trajectory and the training loss reached; ES-Single
// outperforms GDTUO.
//
// Output: <out_dir>/fig26_gdtuo.csv, fig26_gdtuo_grid.csv,
// fig26_gdtuo_online.csv, fig26_gdtuo.json. Plot:
// tools/plot_mnist_figures.py --figure fig26.
//
//   bazel run //experiments:fig26_gdtuo                # paper settings
//   bazel run //experiments:fig26_gdtuo -- --scaled    # minutes
//   bazel run //experiments:fig26_gdtuo -- --quick     # seconds
#include <string>

#include "absl/flags/flag.h"
#include "experiments/figure.h"
#include "experiments/mnist_lr_schedule.h"
#include "inner/mlp/mlp_hypergradient.h"

ABSL_FLAG(std::string, hyper_optimizer, "adam",
          "Optimiser of the hypergradient methods: adam or sgd.");
ABSL_FLAG(double, hyper_learning_rate, 0.001,
          "Learning rate of the hypergradient methods' optimiser, applied "
          "every inner step (our choice).");

namespace es::experiments {
namespace {

// One hypergradient run: iterations * K inner steps, theta updated after
// each; trace rows at iteration = inner steps / K; the online training loss
// of each evaluation window goes to `online`.
absl::StatusOr<CustomRunResult> RunHypergradient(
    const std::string& method, const MlpHpoProblem* problem, MlpDataView train,
    const OptimizerOptions& hyper, Table* online, const CustomRunContext& c) {
  auto est = HypergradientEstimator::Create(
      problem, train,
      {.reset_inner_problem = method == "gdtuo_reset", .seed = c.settings.seed});
  if (!est.ok()) return est.status();
  auto opt = MakeOptimizer(hyper, 2);
  if (!opt.ok()) return opt.status();
  const int64_t k = c.settings.truncation;
  MetaTrainingOptions mo = c.meta;
  mo.iterations *= k;
  mo.eval_every *= k;
  double window_sum = 0.0;
  int64_t window_count = 0;
  auto on_step = [&](int64_t it, const Estimate& e,
                     const Eigen::VectorXd&) -> absl::Status {
    window_sum += e.mean_loss;
    ++window_count;
    if (!((mo.eval_every > 0 && it % mo.eval_every == 0) ||
          it == mo.iterations)) {
      return absl::OkStatus();
    }
    absl::Status s = online->AddRow(
        {method, absl::StrCat(c.settings.seed),
         FormatDouble(static_cast<double>(it) / k),
         FormatDouble(window_sum / window_count)});
    window_sum = 0.0;
    window_count = 0;
    return s;
  };
  auto r = RunMetaTraining(*c.problem, est->get(), opt->get(), c.theta0, mo,
                           on_step);
  if (!r.ok()) return r.status();
  for (TracePoint& p : r->trace) p.iteration /= k;
  return CustomRunResult{.trace = std::move(r->trace),
                         .final_theta = r->final_theta,
                         .iterations = c.meta.iterations,
                         .particle_steps = r->particle_steps,
                         .seconds_per_estimate = r->seconds_per_step,
                         .wall_seconds = r->wall_seconds};
}

absl::Status Run(FigureRun& run) {
  OptimizerOptions hyper;
  hyper.kind = absl::GetFlag(FLAGS_hyper_optimizer);
  hyper.learning_rate = absl::GetFlag(FLAGS_hyper_learning_rate);
  if (auto s = hyper.Validate(); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--hyper_optimizer/--hyper_learning_rate: ", s.message()));
  }
  run.Setting("hypergradient_iteration_unit", "iteration = inner steps / K");
  Table* online = run.outputs().AddTable(
      "_online", {"method", "seed", "iteration", "online_mean_train_loss"});
  return RunLrScheduleFigure(
      run, {.register_methods = [&](const MlpHpoProblem* problem,
                                    MlpDataView train, MethodRegistry* registry) {
        for (const char* name : {"gdtuo", "gdtuo_reset"}) {
          const std::string method = name;
          if (auto s = registry->Add(MethodEntry{
                  .name = method,
                  .description = "1-step hypergradient descent (App. C.7)",
                  .runner = [=](const CustomRunContext& c) {
                    return RunHypergradient(method, problem, train, hyper,
                                            online, c);
                  },
                  .uses_particles = false});
              !s.ok()) {
            return s;
          }
        }
        return absl::OkStatus();
      }});
}

}  // namespace
}  // namespace es::experiments

int main(int argc, char** argv) {
  using es::experiments::LrSchedulePresets;
  return es::experiments::FigureMain(
      {.binary = "fig26_gdtuo",
       .figure = "Fig. 26 (hypergradient descent / GDTUO vs ES, App. C.7)",
       .description =
           "theta = (log init LR, log LR decay) and meta-loss over outer "
           "iterations for tes, es_single and 1-step hypergradient descent "
           "with and without inner resets; meta-loss grid",
       .presets = LrSchedulePresets({{"methods", "tes,es_single,gdtuo,gdtuo_reset"},
                                     {"iterations", "3000"},
                                     {"truncation", "10"},
                                     {"eval_every", "100"}},
                                    {{"iterations", "1000"}, {"eval_every", "25"}},
                                    {{"iterations", "40"}, {"eval_every", "10"}}),
       .run = es::experiments::Run},
      argc, argv);
}
