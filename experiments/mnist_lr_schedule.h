// mnist_lr_schedule.h - the figure family of the MNIST learning-rate schedule
// task of the ES-Single paper (Vicol, Kolter, Swersky, ICML 2023): Fig. 7
// (Sec. 4.2 "MNIST LR Schedule", K = 10), Fig. 8 (Sec. 4.2 "Telescoping
// Sums", FashionMNIST), Figs. 17/18 (App. C, K = 1) and Fig. 26 (App. C.7,
// hypergradient descent). The binaries declare their
// presets and extra methods; RunLrScheduleFigure does the rest.
//
// What a run does:
//   1. loads MNIST (mnist_common.h; the first --train_examples of the 50000
//      training split) and builds MlpHpoProblem (inner/mlp/mlp_hpo.h: a ReLU
//      MLP of --hidden_sizes trained by SGD + momentum --momentum with the
//      schedule alpha_t = exp(theta_0) / (1 + t / Q)^exp(theta_1), T =
//      --horizon, Q = --schedule_q; the meta-loss is the sum of the T
//      per-step training losses);
//   2. registers the ES methods (es_single, pes, tes, tes_particle,
//      full_es) and the figure's own, and runs --methods x --seeds from
//      --initial_theta in the shared run loop (run_loop.h), evaluating the
//      meta-loss of a fresh full unroll on inner problem --eval_key every
//      --eval_every iterations; methods with their own runner (Fig. 26's
//      hypergradient baselines) run first;
//   3. evaluates the meta-loss on the --grid_size^2 grid over
//      --grid_range_lr x --grid_range_decay on the same inner problem
//      (grid.h).
// Seeds are the estimators' seeds; seed s's inner problems are the episode
// keys MixKey(s, 0), MixKey(s, 1), ... (lockstep).
//
// The family's flags (defined in mnist_lr_schedule.cc, recorded in every
// sidecar): initial_theta, grid_size, grid_range_lr, grid_range_decay; and
// the MLP task flags of mnist_common.h.
//
// Usage (a binary's run function):
//   absl::Status Run(FigureRun& run) { return RunLrScheduleFigure(run, {}); }
#ifndef ES_SINGLE_EXPERIMENTS_MNIST_LR_SCHEDULE_H_
#define ES_SINGLE_EXPERIMENTS_MNIST_LR_SCHEDULE_H_

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "experiments/figure.h"
#include "experiments/method_registry.h"
#include "inner/mlp/mlp_hpo.h"

namespace es::experiments {

struct LrScheduleFigure {
  // Fig. 8: FashionMNIST (Debian's copy unless --data_dir) instead of MNIST,
  // and the final training loss L_T on a --measure_batch_size minibatch
  // fixed per inner problem as the meta-objective, reached through the
  // telescoping sum (estimators/telescoping.h); the grid is then L_T too.
  bool fashion_mnist_telescoping = false;
  // Optional: registers methods beyond the standard ES ones (e.g. PES at
  // another outer learning rate, hypergradient runners). `train` is the
  // problem's training data.
  std::function<absl::Status(const MlpHpoProblem* problem, MlpDataView train,
                             MethodRegistry* registry)>
      register_methods;
};

absl::Status RunLrScheduleFigure(FigureRun& run, const LrScheduleFigure& x);

// The family's presets: the paper's setting of this task (App. C), the
// reduced run of docs/results.md (T = Q = 1000, N = 20, a 9 x 9 grid, seeds
// 0,1) and the seconds-long test run (T = Q = 40, N = 4, 2000 training
// examples, minibatch 50, a 4 x 4 grid), each extended by a binary's own
// values (later values win).
using PresetValues = std::vector<std::pair<std::string, std::string>>;
std::vector<Preset> LrSchedulePresets(PresetValues paper, PresetValues scaled,
                                      PresetValues quick);

}  // namespace es::experiments

#endif  // ES_SINGLE_EXPERIMENTS_MNIST_LR_SCHEDULE_H_
