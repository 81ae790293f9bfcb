// cifar_common.h - what the two CIFAR-10 ResNet figure binaries of the
// ES-Single paper (Vicol, Kolter, Swersky, ICML 2023, App. C.5; Fig. 23
// fig23_cifar_lr_momentum, Fig. 24 fig24_cifar_many_hparams) share: the task
// flags, loading CIFAR-10 or generating the labelled synthetic stand-in, and
// the run (truncated ES, PES and ES-Single on CifarHpoProblem,
// inner/cifar/cifar_hpo_problem.h).
//
// Data. By default the real CIFAR-10 (binary version) is read from
// <data_dir>/cifar10/{data_batch_1..5,test_batch}.bin (inner/data/
// cifar_reader.h), data_dir = --data_dir or else $ES_SINGLE_DATA_DIR; a
// missing directory or file is an error (exit code 1, nothing written) that
// names the path and tools/fetch_cifar10.sh. Split: train = the first 40000
// training images, validation = the last 10000 (the PES code's split).
//
// --synthetic_data replaces CIFAR-10 by generated, CIFAR-shaped images
// (MakeSyntheticCifar): it exists so that the whole pipeline can be tested
// and timed where CIFAR-10 is not available. It is never the default; a run
// with it says so on stderr, in the sidecar (settings "data" = "synthetic",
// "data_description") and in the <binary>_data.csv table, and its numbers
// are NOT CIFAR-10 results.
//
// Task flags (defined in cifar_common.cc; a figure's presets set them):
//   --widths (the Myrtle ResNet's four widths; paper 32,64,128,256 = 1.6M
//   parameters), --batch_size (B = 100), --horizon (T), --theta0 (empty:
//   App. C's per-seed draw), --synthetic_data, --synthetic_image_size,
//   --synthetic_train_examples, --synthetic_valid_examples (the synthetic_*
//   flags matter only with --synthetic_data).
//
// Usage (a figure's run function):
//   absl::Status Run(FigureRun& run) {
//     return RunCifarFigure(run, CifarHpoConfig::Fig23());
//   }
#ifndef ES_SINGLE_EXPERIMENTS_CIFAR_COMMON_H_
#define ES_SINGLE_EXPERIMENTS_CIFAR_COMMON_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "experiments/figure.h"
#include "inner/cifar/cifar_hpo_config.h"
#include "inner/cifar/cifar_hpo_problem.h"
#include "inner/data/cifar_reader.h"

namespace es::experiments {

// n generated images [n, 3, S, S] (S = image_size) with labels 0..9: per
// pixel a standard normal (Philox, RandomKey{seed, Stream::kUser}, draw =
// image index) plus a class-dependent colour tint, channel c shifted by
// 1.5 cos(2 pi (y / 10 + c / 3)), so the classes are learnable; label of
// image i = (7 i + seed) mod 10. Same arguments, same bits. Not CIFAR-10.
CifarImages MakeSyntheticCifar(int64_t n, int64_t image_size, uint64_t seed);

// A CIFAR-10 hyperparameter problem with the data it points at.
struct CifarTask {
  bool synthetic = false;
  std::string data_description;  // "CIFAR-10 from <dir>" or "SYNTHETIC ..."
  CifarDataset data;
  std::unique_ptr<CifarHpoProblem> problem;
};

// Applies the task flags to `config` (widths, B, T, image size), loads
// CIFAR-10 (or generates the synthetic set) and creates the problem. Errors:
// a bad flag value (named, with what is allowed), missing or malformed data
// (the path and the fetch script named).
absl::StatusOr<std::unique_ptr<CifarTask>> BuildCifarTask(
    const std::string& data_dir_flag, CifarHpoConfig config);

// The whole figure: builds the task from the flags, runs --methods (tes,
// pes, es_single) x --seeds at --num_particles, all methods of a seed
// starting from SampleCifarTheta(config, seed, 0) (or --theta0), and writes
//   <binary>.csv        trace with particle_steps and best_meta_loss (theta
//                       columns when P <= 8, i.e. Fig. 23);
//   <binary>_theta.csv  each run's final theta and decoded hyperparameter;
//   <binary>_data.csv   which data the run used (cifar10 or synthetic).
absl::Status RunCifarFigure(FigureRun& run, CifarHpoConfig config);

}  // namespace es::experiments

#endif  // ES_SINGLE_EXPERIMENTS_CIFAR_COMMON_H_
