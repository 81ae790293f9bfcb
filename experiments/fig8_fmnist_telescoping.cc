// fig8_fmnist_telescoping - Figure 8 of the ES-Single paper (Vicol, Kolter,
// Swersky, ICML 2023, Sec. 4.2 "Telescoping Sums", eq. 6, and App. C
// "Telescoping Sums"): meta-optimising the learning-rate schedule of an MLP
// on FashionMNIST with the FINAL training loss L_T as the meta-objective,
// reached through a telescoping sum of per-unroll loss differences.
//
// What it measures: theta = (log init LR, log LR decay) of the schedule
//   alpha_t = exp(theta_0) / (1 + t / Q)^exp(theta_1)
// for SGD with momentum 0.9 on a 784-100-100-10 ReLU MLP (inner/mlp/mlp_hpo.h),
// and the meta-loss L_T: the training loss after T steps on a minibatch of
// 1000 training examples fixed for the inner problem (App. C). Each partial
// unroll of K steps reports p = L(s_end) - L(s_start) (TelescopingProblem,
// estimators/telescoping.h), so the per-unroll losses of an inner problem sum
// to L_T. Methods: truncated ES with one shared mean state ("tes", vanilla
// ES), PES and ES-Single, all with the same Adam outer optimiser and the same
// start. Outputs the trajectory of theta and the meta-loss of a fresh full
// unroll at theta (a fixed evaluation inner problem, --eval_key) every
// --eval_every iterations, plus the meta-loss on a grid of theta (computed
// once, on the same evaluation inner problem) for the contour plot.
//
// Setup. The paper states for this task only the 2-layer, 100-unit MLP and
// the fixed 1000-example minibatch; the rest follows App. C "Meta-Learning
// MNIST LR Schedule", which this figure extends: T = 5000, Q = 5000, K = 10,
// N = 1000 particles, sigma = 0.1, Adam with learning rate 1e-2, momentum
// 0.9, minibatches of 100 (App. C, Tuning Many Hyperparameters). These are
// the flag defaults. Our choices where the paper is silent: the start theta
// (-5, 2): a small LR with a fast decay, 3000 outer iterations (6 inner
// problems), one seed,
// evaluation every 100 iterations on one fixed inner problem, an 11 x 11
// grid. FashionMNIST training split: the first 50000 training images (the
// last 10000 are the validation split of inner/data/datasets.h). Lockstep
// particles: all particles share each inner problem's initial weights and
// minibatches (episode key), antithetic pairs share everything but the sign
// of the perturbation.
//
// Cost: one inner step of one particle is ~38 MFLOP (2x100 MLP, B = 100)
// plus the 1000-example measurement forward per unroll; the paper's N = 1000
// x 3000 iterations x K = 10 is 3e7 particle-steps per method, days on the
// 2-core CI machine: docs/results.md states the scaled flags it ran.
//
// Paper's result: ES-Single's trajectory is much smoother than PES's, follows
// the meta-loss contours more closely and is more stable near the optimum
// (Fig. 8a); ES-Single reaches the optimal meta-loss faster than PES, and
// truncated ES suffers from truncation bias (Fig. 8b).
//
// The run itself is the MNIST LR-schedule family's (mnist_lr_schedule.h)
// with FashionMNIST and the telescoping objective.
//
// Output (experiments/figure.h): <out_dir>/fig8_fmnist_telescoping.csv with
// columns method,num_particles,seed,iteration,meta_loss,theta_0,theta_1;
// <out_dir>/fig8_fmnist_telescoping_grid.csv with theta_0,theta_1,meta_loss;
// <out_dir>/fig8_fmnist_telescoping.json. Plot:
// /usr/bin/python3 tools/plot_hpo_figures.py --figure fig8.
//
//   bazel run //experiments:fig8_fmnist_telescoping                # paper settings
//   bazel run //experiments:fig8_fmnist_telescoping -- --scaled    # docs/results.md
//   bazel run //experiments:fig8_fmnist_telescoping -- --quick     # seconds
#include "experiments/figure.h"
#include "experiments/mnist_lr_schedule.h"

int main(int argc, char** argv) {
  using es::experiments::LrSchedulePresets;
  return es::experiments::FigureMain(
      {.binary = "fig8_fmnist_telescoping",
       .figure = "Fig. 8 (FashionMNIST LR schedule, telescoping sum, Sec. 4.2)",
       .description =
           "theta = (log init LR, log LR decay) and meta-loss L_T (final "
           "training loss on the inner problem's fixed measurement minibatch, "
           "reached by a telescoping sum) over outer iterations; meta-loss grid",
       .presets = LrSchedulePresets(
           {{"methods", "tes,pes,es_single"},
            {"iterations", "3000"},
            {"truncation", "10"},
            {"eval_every", "100"},
            {"initial_theta", "-5,2"}},
           {{"num_particles", "10"},
            {"iterations", "8000"},
            {"eval_every", "200"},
            {"grid_size", "13"}},
           {{"iterations", "40"}, {"eval_every", "10"}, {"measure_batch_size", "200"}}),
       .run = [](es::experiments::FigureRun& run) {
         return es::experiments::RunLrScheduleFigure(
             run, {.fashion_mnist_telescoping = true});
       }},
      argc, argv);
}
