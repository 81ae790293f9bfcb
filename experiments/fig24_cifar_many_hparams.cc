// fig24_cifar_many_hparams - Figure 24 of the ES-Single paper (Vicol,
// Kolter, Swersky, ICML 2023, App. C.5 "CIFAR-10 Experiments"): tuning 24
// continuous and discrete hyperparameters of a ResNet trained on CIFAR-10 -
// per-parameter-block learning rates and momentum coefficients of SGDm and
// the number of channels of the convolutional layers.
//
// What it measures: for truncated ES ("tes"), PES and ES-Single, the
// meta-objective of the current hyperparameters (the sum over the T inner
// steps of the validation-minibatch loss after each SGDm step, on one fixed
// evaluation inner problem, --eval_key) and the best value so far, against
// the total compute (inner steps summed over particles).
//
// Setup (App. C.5 where it says, ours where it is silent): the
// 1.6M-parameter Myrtle.ai ResNet (widths 32-64-128-256), T = 2000, K = 10,
// 3 seeds, meta-objective = sum of validation losses (all from the paper).
// theta (P = 24, inner/cifar/cifar_hpo_config.h; the paper does not list
// them, this is our reading): log learning rate and logit momentum of each
// of 9 parameter blocks (8 conv layers with their batch norms, the linear
// layer) and the logit of the channel fraction of 6 width groups (the
// residual additions tie two pairs of the 8 convs), channels at least 10%
// of the maximum, realised by nested dropout. Ours: N = 10, sigma = 0.3,
// Adam with learning rate 1e-2 (the paper's Fig. 9 HPO setting, App. C),
// minibatches of 100, 600 outer iterations (3 inner problems), evaluation
// every 100 iterations, initial theta drawn per seed from App. C's ranges
// (the same draw for every method of a seed); data split 40000 / 10000.
//
// Data: CIFAR-10 (binary version) in <data_dir>/cifar10/ (data_dir =
// --data_dir or $ES_SINGLE_DATA_DIR; tools/fetch_cifar10.sh downloads it).
// Without it the binary stops with exit code 1 naming the missing path and
// writes nothing. --synthetic_data runs on generated CIFAR-shaped images
// instead (tests and timing only; labelled "synthetic" in the sidecar, in
// <binary>_data.csv and on stderr; never a CIFAR-10 result).
//
// Paper's result (shaded: min/max over 3 seeds): ES-Single substantially
// outperforms ES and PES, reaching lower meta-objective values with less
// total compute.
//
// Cost: about 0.55 s per particle-step at the paper's widths on 2 cores
// (channel masks do not reduce the compute; docs/results.md): one outer
// iteration (N K = 100 particle-steps) about 1 minute, so the paper preset
// is days of compute on 2 cores; --scaled runs in minutes.
//
// Output (experiments/figure.h): <out_dir>/fig24_cifar_many_hparams.csv
// (method,num_particles,seed,iteration,meta_loss,particle_steps,
// best_meta_loss; P = 24 > 8, so no theta columns), _theta.csv (final theta
// and decoded hyperparameter), _data.csv (which data), .json.
//
//   bazel run //experiments:fig24_cifar_many_hparams -- --data_dir=<dir>
//   bazel run //experiments:fig24_cifar_many_hparams -- --scaled --data_dir=<dir>
//   bazel run //experiments:fig24_cifar_many_hparams -- --quick --synthetic_data
#include "experiments/cifar_common.h"
#include "experiments/figure.h"
#include "inner/cifar/cifar_hpo_config.h"

namespace es::experiments {
namespace {

absl::Status Run(FigureRun& run) {
  return RunCifarFigure(run, CifarHpoConfig::Fig24());
}

}  // namespace
}  // namespace es::experiments

int main(int argc, char** argv) {
  return es::experiments::FigureMain(
      {.binary = "fig24_cifar_many_hparams",
       .figure = "Fig. 24 (24 hyperparameters of a ResNet on CIFAR-10: "
                 "per-block SGDm learning rates and momenta, channel counts)",
       .description =
           "meta-objective (sum of validation losses over T steps on a fixed "
           "evaluation inner problem) and best so far against total compute "
           "(particle-steps) for truncated ES, PES and ES-Single",
       .presets = {{"paper",
                    "App. C.5 (T, K, network, 3 seeds); N, sigma, Adam, "
                    "iterations: ours",
                    {{"seeds", "0,1,2"},
                     {"methods", "tes,pes,es_single"},
                     {"num_particles", "10"},
                     {"iterations", "600"},
                     {"truncation", "10"},
                     {"sigma", "0.3"},
                     {"optimizer", "adam"},
                     {"learning_rate", "0.01"},
                     {"eval_every", "100"},
                     {"eval_key", "2400003"},
                     {"eval_length", "0"},
                     {"data_dir", ""},
                     {"horizon", "2000"},
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
                    "4-8-8-16, 8x8 images, T = 8, K = 2, N = 4",
                    {{"seeds", "0,1"},
                     {"num_particles", "4"},
                     {"iterations", "6"},
                     {"truncation", "2"},
                     {"eval_every", "3"},
                     {"horizon", "8"},
                     {"widths", "4,8,8,16"},
                     {"batch_size", "4"},
                     {"synthetic_image_size", "8"},
                     {"synthetic_train_examples", "200"},
                     {"synthetic_valid_examples", "100"}}}},
       .run = es::experiments::Run},
      argc, argv);
}
