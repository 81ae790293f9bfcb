// lopt_figure.h - what the learned-optimiser figure binaries of the
// ES-Single paper (Vicol, Kolter, Swersky, ICML 2023; Sec. 4.4, Fig. 11, and
// App. C.3, Fig. 21) share: the task flags, the inner problem (the LOLv2
// learned optimiser training an MLP on FashionMNIST, inner/lopt/
// lopt_problem.h, docs/lopt_notes.md), breakstep ES-family methods, and one
// run function that meta-trains and then records the inner training curves.
//
// Meta-objective: the paper's "mean training loss over the inner
// optimization trajectory", i.e. LoptProblem's sum of the T per-step
// minibatch losses divided by T (MeanLossProblem). The estimators see the
// same scaled problem, so their estimates are of the mean (the sum's
// gradient / T; with Adam, the outer optimiser used here, the scale hardly
// matters).
//
// Training: breakstep particles (App. C.2: "the learned optimizer experiment
// in Section 4.4 ... uses breakstep training"): antithetic pair j starts at
// inner step K * floor(j U / pairs), U = T / K (estimators/estimator.h).
// Truncated ES with breakstep needs a state per particle, so the figures'
// truncated ES is "tes_particle" (App. C.1's second form).
//
// Task flags (defined in lopt_figure.cc; a figure declares them in its
// paper preset so that they are recorded in the sidecar):
//   --hidden_sizes    inner MLP hidden layers (Sec. 4.4: 128,128)
//   --batch_size      inner minibatch (image_mlp.py: 128)
//   --horizon         T (Sec. 4.4: 5000)
//   --train_examples  first n of the 50000 training images (0 = all)
//   --inner_curves    also write <binary>_inner.csv (see RunLoptFigure)
//   --adam_lrs        the Adam reference's learning-rate grid (see
//                     RunLoptFigure); empty = no Adam reference
// and --data_dir (figure.h): FashionMNIST's directory; empty = Debian's
// dataset-fashion-mnist (/usr/share/datasets/fashion-mnist).
//
// Usage (a whole figure's run function):
//   absl::Status Run(FigureRun& run) {
//     auto task = BuildLoptTask(run);
//     MethodRegistry registry;
//     AddBreakstepMethod(task->problem(), "es_single", "es_single", {}, &registry);
//     return RunLoptFigure(run, *task, registry, {"es_single"});
//   }
#ifndef ES_SINGLE_EXPERIMENTS_LOPT_FIGURE_H_
#define ES_SINGLE_EXPERIMENTS_LOPT_FIGURE_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "estimators/unrolled_problem.h"
#include "experiments/figure.h"
#include "experiments/method_registry.h"
#include "inner/data/idx_reader.h"
#include "inner/lopt/lopt_problem.h"

namespace es::experiments {

// `base` with every loss multiplied by 1 / T (T = base's finite horizon):
// Unroll's losses and Evaluate's meta-loss are means over the horizon
// instead of sums. Everything else is forwarded. `base` must outlive it.
class MeanLossProblem : public UnrolledProblem {
 public:
  explicit MeanLossProblem(const UnrolledProblem* base);

  std::string name() const override;
  int theta_dim() const override { return base_->theta_dim(); }
  int64_t horizon() const override { return base_->horizon(); }
  absl::StatusOr<std::unique_ptr<ParticleStates>> NewStates(
      int num_particles) const override {
    return base_->NewStates(num_particles);
  }
  void Reset(ParticleStates* states, absl::Span<const int> particles,
             absl::Span<const uint64_t> episode_keys) const override {
    base_->Reset(states, particles, episode_keys);
  }
  absl::Status Unroll(ParticleStates* states, int begin, int end,
                      const RowMatrixXd& thetas, const int64_t* t0,
                      int num_steps, double* losses) const override;
  absl::StatusOr<double> Evaluate(const Eigen::VectorXd& theta, int64_t length,
                                  uint64_t key) const override;

 private:
  const UnrolledProblem* base_;
  double scale_;
};

// The data, the LoptProblem and its mean-loss view.
class LoptTask {
 public:
  const LoptProblem& lopt() const { return *lopt_; }
  const LabeledImages& train() const { return train_; }
  // What the estimators and the run loop see (means over T).
  const UnrolledProblem* problem() const { return mean_.get(); }

 private:
  friend absl::StatusOr<std::unique_ptr<LoptTask>> BuildLoptTask(FigureRun&);
  LabeledImages train_;
  std::unique_ptr<LoptProblem> lopt_;
  std::unique_ptr<MeanLossProblem> mean_;
};

// Loads FashionMNIST (--data_dir, see the file comment) and builds the
// problem from the task flags; records the task's settings in the sidecar.
// A missing or malformed data file, or a bad flag, is an error naming it.
absl::StatusOr<std::unique_ptr<LoptTask>> BuildLoptTask(FigureRun& run);

// Registers ES-family method `base` (es_single, pes, tes_particle, ...) with
// breakstep particles under `name`, at sigma `sigma` if given (else the
// figure's --sigma).
absl::Status AddBreakstepMethod(const UnrolledProblem* problem,
                                const std::string& base,
                                const std::string& name,
                                std::optional<double> sigma,
                                MethodRegistry* registry);

// Runs `methods` x --seeds at N = --num_particles from theta0 = Haiku's
// default initialisation of the optimiser MLP for each seed
// (LoptProblem::SampleInitialTheta(seed, 0); every method of a seed starts
// from the same theta). Trace: <binary>.csv without theta columns
// (P = 1762), with particle_steps; meta_loss is the mean training loss of a
// full T-step inner problem with episode key --eval_key.
//
// With --inner_curves, <binary>_inner.csv (method,seed,step,loss) holds the
// inner training curves on that same evaluation inner problem: for each seed
// the initial optimiser (method "initial") and each run's meta-trained one;
// `loss` is the mean of the per-step minibatch losses over steps
// (step - K, step], K = --truncation, for step = K, 2K, ..., T. The mean of
// one curve's losses is that theta's meta-loss.
//
// With --inner_curves and a non-empty --adam_lrs, <binary>_adam.csv
// (lr,step,loss) holds the same curves for Adam (beta1 0.9, beta2 0.999,
// eps 1e-8, the standard defaults) training the same network from the same
// initial weights on the same minibatches, at each learning rate of the
// grid; the sidecar's adam_best_lr is the rate with the lowest mean
// training loss over T (the "tuned" reference line; tuned on the evaluation
// inner problem itself, so it flatters Adam slightly), adam_meta_loss_lr<lr>
// each rate's.
//
// Sidecar settings: initial_meta_loss_seed<s>, and per method the mean over
// seeds of the final meta-loss (final_meta_loss_mean_<method>).
absl::Status RunLoptFigure(FigureRun& run, const LoptTask& task,
                           const MethodRegistry& registry,
                           const std::vector<std::string>& methods);

// The presets of the learned-optimiser figures (11, 21): the Sec. 4.4 task
// in "paper" (plus `paper_extra`, the figure's own settings), and the
// shared "scaled" (784-32-10 optimisee, B = 64, T = 200, N = 8, 150
// iterations, 2 seeds) and "quick" (784-16-10, T = 40, B = 32) tasks.
std::vector<Preset> LoptPresets(
    const std::string& paper_description,
    const std::vector<std::pair<std::string, std::string>>& paper_extra);

}  // namespace es::experiments

#endif  // ES_SINGLE_EXPERIMENTS_LOPT_FIGURE_H_
