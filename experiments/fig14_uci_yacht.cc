// fig14_uci_yacht - Figure 14 of the ES-Single paper (Vicol, Kolter, Swersky,
// ICML 2023, App. C "Hyperparameter Optimization for UCI Regression"):
// tuning a global L2 coefficient for linear regression on UCI Yacht
// (inner/uci/yacht_l2_problem.h) with truncated ES, PES and ES-Single.
//
// What it measures, for each method in --methods and each initial theta in
// --init_thetas (theta = log L2 coefficient, P = 1):
//   Fig. 14a  theta over outer iterations, with the optimal theta from a
//             fine grid search (the dashed line): the grid minimises the
//             long-run validation loss L_v(w*(theta)) of the ridge solution
//             w*(theta) = (A + e^theta I)^-1 b that inner SGD converges to
//             (YachtL2Problem::GridSearchLogL2);
//   Fig. 14b  the validation loss over outer iterations of a separate "mean"
//             inner state that is unrolled K steps with the current theta
//             after every outer update (what the PES authors' uci.py plots:
//             state_mean, unrolled with the updated theta, logged as
//             L_v(state_mean)). It starts from the same w_0 as the method's
//             particles (episode key MixKey(seed, 0)) and is never reset.
//
// Setup (paper, App. C): Adam with learning rate 0.003, sigma = 0.01,
// N = 4 particles; the inner problem is never reset (infinite horizon).
// From the PES authors' uci.py and README (the paper's task): K = 1,
// initial theta in {5, 3, 1, -1, -3, -5}, 50000 outer iterations, Adam with
// optax's defaults (b1 0.9, b2 0.999, eps 1e-8; ours are the same), inner
// plain SGD with learning rate 0.001 on the summed training loss,
// standardisation and the NumPy seed-1 80/20 split (docs/rl_uci_notes.md
// lists every setting with its source). "ES" of the paper is truncated ES
// with one shared mean state (PES's `es` estimator; ours "tes"). Our
// choices: estimator seed 0 (--seeds), a log point every 100 iterations
// (the PES script logs every 10), grid [-8, 8] with 1601 points (step 0.01).
//
// Method names in the CSVs are "<method>_init<theta0>" (e.g. "pes_init-3"):
// one run per method, initial theta and seed.
//
// What the paper reports: ES-Single converges to the optimal L2 value more
// rapidly and stably than PES.
//
// Output (experiments/figure_io.h), in --out_dir (default
// results/fig14_uci_yacht/):
//   fig14_uci_yacht.csv       method,num_particles,seed,iteration,meta_loss,
//                             particle_steps,theta_0; meta_loss is the
//                             long-run validation loss L_v(w*(theta)) at the
//                             current theta (closed form; +inf where inner
//                             SGD diverges, theta > 7.35), every
//                             --eval_every iterations.
//   fig14_uci_yacht_val.csv   method,num_particles,seed,iteration,
//                             particle_steps,val_loss,theta_0: the mean
//                             state's validation loss 0.5 sum_val (x.w-y)^2
//                             (Fig. 14b), at the same iterations.
//   fig14_uci_yacht_grid.csv  theta_0,long_run_val_loss: the grid search.
//   fig14_uci_yacht.json      sidecar; settings grid_optimal_theta,
//                             grid_optimal_val_loss, max_stable_theta, ...
// Checkpoints (--checkpoint_every, --resume) are refused: the mean state is
// not part of the run loop's checkpoint, and the paper setting runs in a
// few seconds.
//
//   bazel run //experiments:fig14_uci_yacht                 # paper settings
//   bazel run //experiments:fig14_uci_yacht -- --quick      # about 1 s
// Data: $ES_SINGLE_DATA_DIR/yacht/yacht_hydrodynamics.data (or --data_dir).
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "estimators/philox.h"
#include "estimators/forwarding_problem.h"
#include "experiments/figure.h"
#include "experiments/grid.h"
#include "experiments/method_registry.h"
#include "experiments/run_loop.h"
#include "inner/data/uci_reader.h"
#include "inner/uci/yacht_l2_problem.h"

ABSL_FLAG(std::string, init_thetas, "5,3,1,-1,-3,-5",
          "Initial log L2 coefficients, one run per method and value (PES "
          "README: 5 3 1 -1 -3 -5).");
ABSL_FLAG(std::string, grid_range, "-8,8",
          "min,max of the grid search over theta.");
ABSL_FLAG(int, grid_points, 1601,
          "Points of the grid search (1601 over [-8, 8]: step 0.01).");

namespace es::experiments {
namespace {

// The run loop's evaluation problem: the estimators run on the yacht problem
// itself; MetaTrainer's meta_loss column reads Evaluate, which here is the
// long-run validation loss L_v(w*(theta)) (length and key do not matter:
// the limit does not depend on w_0). Everything else is delegated.
class LongRunView : public ForwardingProblem {
 public:
  explicit LongRunView(const YachtL2Problem* p) : ForwardingProblem(p), p_(p) {}
  std::string name() const override { return p_->name() + "_long_run"; }
  absl::StatusOr<double> Evaluate(const Eigen::VectorXd& theta, int64_t,
                                  uint64_t) const override {
    if (theta.size() != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("theta must have 1 entry, got ", theta.size()));
    }
    return p_->LongRunValidationLoss(theta[0]);
  }

 private:
  const YachtL2Problem* p_;
};

std::string RunName(const std::string& method, double theta0) {
  return absl::StrCat(method, "_init", FormatDouble(theta0));
}

// The mean state of the current run (Fig. 14b) and its log rows.
class MeanStateLog {
 public:
  MeanStateLog(const YachtL2Problem* problem, Table* table, int truncation,
               int64_t iterations, int64_t every, double theta0)
      : problem_(problem),
        table_(table),
        k_(truncation),
        iterations_(iterations),
        every_(every),
        theta0_(theta0) {}

  absl::Status OnStep(const RunSpec& spec, int64_t it, const Estimate& e,
                      const Eigen::VectorXd& theta) {
    if (it == 1) {  // a new run: a fresh mean state with the particles' w_0
      auto states = problem_->NewStates(1);
      if (!states.ok()) return states.status();
      states_ = std::move(*states);
      const int particle = 0;
      const uint64_t key = MixKey(spec.seed, 0);
      problem_->Reset(states_.get(), absl::MakeConstSpan(&particle, 1),
                      absl::MakeConstSpan(&key, 1));
      steps_ = 0;
      RowMatrixXd th(1, 1);
      th(0, 0) = theta0_;
      double loss = 0.0;
      if (auto s = problem_->MeasureLoss(states_.get(), 0, 1, th, &loss);
          !s.ok()) {
        return s;
      }
      if (auto s = Row(spec, 0, loss, theta0_); !s.ok()) return s;
    }
    steps_ += e.particle_steps;
    RowMatrixXd th(1, 1);
    th(0, 0) = theta[0];
    const int64_t t0 = 0;  // ignored: the dynamics do not depend on t
    double sum = 0.0;
    if (auto s = problem_->Unroll(states_.get(), 0, 1, th, &t0, k_, &sum);
        !s.ok()) {
      return s;
    }
    if (it % every_ != 0 && it != iterations_) return absl::OkStatus();
    double loss = 0.0;
    if (auto s = problem_->MeasureLoss(states_.get(), 0, 1, th, &loss);
        !s.ok()) {
      return s;
    }
    return Row(spec, it, loss, theta[0]);
  }

 private:
  absl::Status Row(const RunSpec& spec, int64_t it, double loss,
                   double theta) {
    return table_->AddRow({spec.method->name, absl::StrCat(spec.num_particles),
                           absl::StrCat(spec.seed), absl::StrCat(it),
                           absl::StrCat(steps_), FormatDouble(loss),
                           FormatDouble(theta)});
  }

  const YachtL2Problem* problem_;
  Table* table_;
  int k_;
  int64_t iterations_, every_;
  double theta0_;
  std::unique_ptr<ParticleStates> states_;
  int64_t steps_ = 0;
};

absl::Status Run(FigureRun& run) {
  if (run.checkpoint_every() > 0 || run.resume_state() != nullptr) {
    return absl::InvalidArgumentError(
        "fig14_uci_yacht does not support --checkpoint_every or --resume: "
        "the mean state of Fig. 14b is not part of the checkpoint (the paper "
        "setting runs in seconds)");
  }
  auto inits = ParseDoubleList(absl::GetFlag(FLAGS_init_thetas), "init_thetas");
  if (!inits.ok()) return inits.status();
  for (double v : *inits) {
    if (!std::isfinite(v) || std::fabs(v) > 20.0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--init_thetas: every value must be finite and in [-20, 20], got ",
          FormatDouble(v)));
    }
  }
  auto range = ParseRange(absl::GetFlag(FLAGS_grid_range), "grid_range");
  if (!range.ok()) return range.status();
  const int grid_points = absl::GetFlag(FLAGS_grid_points);
  if (grid_points < 2 || grid_points > 1000001) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--grid_points must be in [2, 1000001], got ", grid_points));
  }
  auto seeds = run.Seeds();
  if (!seeds.ok()) return seeds.status();
  auto methods = run.Methods();
  if (!methods.ok()) return methods.status();
  auto data_dir = run.DataDir();
  if (!data_dir.ok()) return data_dir.status();
  auto table = LoadYachtHydrodynamics(*data_dir);
  if (!table.ok()) return table.status();
  auto problem = YachtL2Problem::Create(*table);
  if (!problem.ok()) return problem.status();
  const YachtL2Problem& yacht = **problem;
  LongRunView view(&yacht);

  // The dashed line of Fig. 14a.
  auto grid = GridSearchLogL2(yacht, range->first, range->second, grid_points);
  if (!grid.ok()) return grid.status();
  Table* grid_table =
      run.outputs().AddTable("_grid", {"theta_0", "long_run_val_loss"});
  for (size_t i = 0; i < grid->thetas.size(); ++i) {
    if (auto s = grid_table->AddRow(
            {FormatDouble(grid->thetas[i]), FormatDouble(grid->losses[i])});
        !s.ok()) {
      return s;
    }
  }
  run.Setting("grid_optimal_theta", grid->best_theta);
  run.Setting("grid_optimal_val_loss", grid->best_loss);
  run.Setting("grid_step",
              (range->second - range->first) / (grid_points - 1));
  run.Setting("max_stable_theta", yacht.MaxStableTheta());
  run.Setting("train_rows", yacht.data().train_x.rows());
  run.Setting("val_rows", yacht.data().val_x.rows());
  run.Setting("init_thetas", *inits);
  run.Setting("meta_loss",
              "long-run validation loss L_v(w*(theta)) at the current theta");

  auto options = DefaultLoopOptions(run, &view);
  if (!options.ok()) return options.status();
  options->format.particle_steps = true;
  Table* val = run.outputs().AddTable(
      "_val", {"method", "num_particles", "seed", "iteration",
               "particle_steps", "val_loss", "theta_0"});
  auto particles = absl::GetFlag(FLAGS_num_particles);
  for (double theta0 : *inits) {
    MethodRegistry registry;
    std::vector<std::string> names;
    for (const std::string& m : *methods) {
      names.push_back(RunName(m, theta0));
      if (auto s = AddEsVariant(&yacht, m, names.back(), {}, &registry);
          !s.ok()) {
        return s;
      }
    }
    auto entries = registry.Select(names);
    if (!entries.ok()) return entries.status();
    std::vector<RunSpec> runs;
    AppendRuns(*entries, {particles}, *seeds, &runs);
    LoopOptions o = *options;
    const Eigen::VectorXd start = Eigen::VectorXd::Constant(1, theta0);
    o.theta0 = [start](uint64_t) { return start; };
    auto log = std::make_shared<MeanStateLog>(
        &yacht, val, o.defaults.truncation, o.meta.iterations,
        o.meta.eval_every, theta0);
    o.on_step = [log](const RunSpec& spec, int64_t it, const Estimate& e,
                      const Eigen::VectorXd& theta) {
      return log->OnStep(spec, it, e, theta);
    };
    if (auto s = RunLoop(run, o, runs); !s.ok()) return s.status();
  }
  return absl::OkStatus();
}

}  // namespace
}  // namespace es::experiments

int main(int argc, char** argv) {
  return es::experiments::FigureMain(
      {.binary = "fig14_uci_yacht",
       .figure = "Fig. 14 (global L2 coefficient on UCI Yacht, App. C)",
       .description =
           "theta = log L2 coefficient and validation loss over outer "
           "iterations for truncated ES, PES and ES-Single from six initial "
           "values, against the grid-search optimum",
       .presets = {{"paper",
                    "App. C (Adam 3e-3, sigma 0.01, N = 4); K, initial thetas "
                    "and 50000 iterations: the PES authors' uci.py",
                    {{"seeds", "0"},
                     {"methods", "tes,pes,es_single"},
                     {"num_particles", "4"},
                     {"iterations", "50000"},
                     {"truncation", "1"},
                     {"sigma", "0.01"},
                     {"optimizer", "adam"},
                     {"learning_rate", "0.003"},
                     {"eval_every", "100"},
                     {"eval_length", "1"},
                     {"data_dir", ""}}},
                   {"quick",
                    "about a second, for tests: the paper's iterations from "
                    "two initial thetas, a coarser log and grid",
                    {{"init_thetas", "5,-5"},
                     {"eval_every", "1000"},
                     {"grid_points", "161"}}}},
       .run = es::experiments::Run},
      argc, argv);
}
