// fig23_cifar_lr_momentum - Figure 23 of the ES-Single paper (Vicol, Kolter,
// Swersky, ICML 2023, App. C.5 "CIFAR-10 Experiments"): tuning the global
// learning rate and momentum coefficient of SGD with momentum that trains a
// ResNet on CIFAR-10.
//
// What it measures: for truncated ES ("tes"), PES and ES-Single, the
// meta-objective of the current hyperparameters (the sum over the T inner
// steps of the validation-minibatch loss after each SGDm step, on one fixed
// evaluation inner problem, --eval_key) and the best value so far, against
// the total compute (inner steps summed over particles); and theta itself
// (P = 2: log learning rate, logit momentum).
//
// Setup (App. C.5 where it says, ours where it is silent): the
// 1.6M-parameter Myrtle.ai ResNet (widths 32-64-128-256, inner/cifar/
// resnet_layout.h), SGDm with theta = (log lr, logit momentum) through exp
// and sigmoid, T = 5000, K = 20, meta-objective = sum of validation losses
// (all from the paper). Ours: N = 10, sigma = 0.3, Adam with learning rate
// 1e-2 (the paper's Fig. 9 HPO setting, App. C), minibatches of 100 (the PES
// code's default), 500 outer iterations (2 inner problems), evaluation every
// 125 iterations, 3 seeds, initial theta drawn per seed from App. C's ranges
// (log lr uniform in (log 1e-4, log 1e-2), momentum logit-uniform in (0.01,
// 0.9)), the same draw for every method of a seed; data split 40000
// training / 10000 validation images. docs/cifar_notes.md has the details.
//
// Data: CIFAR-10 (binary version) in <data_dir>/cifar10/ (data_dir =
// --data_dir or $ES_SINGLE_DATA_DIR; tools/fetch_cifar10.sh downloads it).
// Without it the binary stops with exit code 1 naming the missing path and
// writes nothing. --synthetic_data runs on generated CIFAR-shaped images
// instead (tests and timing only; labelled "synthetic" in the sidecar, in
// <binary>_data.csv and on stderr; never a CIFAR-10 result).
//
// Paper's result: ES-Single converges to the optimal region substantially
// faster than PES.
//
// Cost: about 0.55 s per particle-step at the paper's widths on 2 cores
// (docs/cifar_notes.md, docs/results.md): one outer iteration (N K = 200
// particle-steps) about 2 minutes, so the paper preset is days of compute
// on 2 cores; --scaled is a narrow, short setting that runs in minutes.
//
// Output (experiments/figure.h): <out_dir>/fig23_cifar_lr_momentum.csv
// (method,num_particles,seed,iteration,meta_loss,particle_steps,
// best_meta_loss,theta_0,theta_1), _theta.csv (final theta and decoded
// learning rate / momentum), _data.csv (which data), .json.
//
//   bazel run //experiments:fig23_cifar_lr_momentum -- --data_dir=<dir>
//   bazel run //experiments:fig23_cifar_lr_momentum -- --scaled --data_dir=<dir>
//   bazel run //experiments:fig23_cifar_lr_momentum -- --quick --synthetic_data
#include "experiments/cifar_common.h"
#include "experiments/figure.h"
#include "inner/cifar/cifar_hpo_config.h"

namespace es::experiments {
namespace {

absl::Status Run(FigureRun& run) {
  return RunCifarFigure(run, CifarHpoConfig::Fig23());
}

}  // namespace
}  // namespace es::experiments

int main(int argc, char** argv) {
  return es::experiments::FigureMain(
      {.binary = "fig23_cifar_lr_momentum",
       .figure = "Fig. 23 (SGDm learning rate and momentum of a ResNet on "
                 "CIFAR-10)",
       .description =
           "meta-objective (sum of validation losses over T steps on a fixed "
           "evaluation inner problem), best so far and theta against total "
           "compute (particle-steps) for truncated ES, PES and ES-Single",
       .presets = {{"paper",
                    "App. C.5 (T, K, network); N, sigma, Adam, iterations, "
                    "seeds: ours",
                    {{"seeds", "0,1,2"},
                     {"methods", "tes,pes,es_single"},
                     {"num_particles", "10"},
                     {"iterations", "500"},
                     {"truncation", "20"},
                     {"sigma", "0.3"},
                     {"optimizer", "adam"},
                     {"learning_rate", "0.01"},
                     {"eval_every", "125"},
                     {"eval_key", "2300003"},
                     {"eval_length", "0"},
                     {"data_dir", ""},
                     {"horizon", "5000"},
                     {"widths", "32,64,128,256"},
                     {"batch_size", "100"}}},
                   {"scaled",
                    "minutes on 2 cores: widths 16-32-32-64, B = 32, T = 60, "
                    "K = 10, N = 4, 30 iterations, one seed (NOT the paper's "
                    "setting)",
                    {{"seeds", "0"},
                     {"num_particles", "4"},
                     {"iterations", "30"},
                     {"truncation", "10"},
                     {"eval_every", "10"},
                     {"horizon", "60"},
                     {"widths", "16,32,32,64"},
                     {"batch_size", "32"}}},
                   {"quick",
                    "seconds, for tests (with --synthetic_data): widths "
                    "4-8-8-16, 8x8 images, T = 12, K = 3, N = 4",
                    {{"seeds", "0,1"},
                     {"num_particles", "4"},
                     {"iterations", "6"},
                     {"truncation", "3"},
                     {"eval_every", "3"},
                     {"horizon", "12"},
                     {"widths", "4,8,8,16"},
                     {"batch_size", "4"},
                     {"synthetic_image_size", "8"},
                     {"synthetic_train_examples", "200"},
                     {"synthetic_valid_examples", "100"}}}},
       .run = es::experiments::Run},
      argc, argv);
}
