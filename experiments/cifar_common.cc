// cifar_common.cc - see cifar_common.h.
#include "experiments/cifar_common.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "estimators/philox.h"
#include "experiments/figure_io.h"
#include "experiments/method_registry.h"
#include "experiments/run_loop.h"

ABSL_FLAG(std::string, widths, "32,64,128,256",
          "The Myrtle ResNet's four widths (prep, stage 1, stage 2, stage 3; "
          "App. C.5: the 1.6M-parameter network, 32,64,128,256).");
ABSL_FLAG(int64_t, batch_size, 100,
          "Inner minibatch size B for training and for the validation loss "
          "(not in the paper; the PES code's default, 100).");
ABSL_FLAG(int64_t, horizon, 5000,
          "T, inner SGDm steps per inner problem (Fig. 23: 5000, Fig. 24: "
          "2000).");
ABSL_FLAG(bool, synthetic_data, false,
          "Use generated CIFAR-shaped images (class-tinted Gaussian noise) "
          "instead of CIFAR-10: for tests and timing only; the results are "
          "NOT CIFAR-10 results and are labelled as synthetic.");
ABSL_FLAG(std::string, theta0, "",
          "Initial theta of every run, comma-separated (P values: Fig. 23 "
          "log_lr,logit_mom; Fig. 24 the 24 of cifar_hpo_config.h); empty = "
          "a per-seed draw from App. C's ranges (the paper's protocol).");
ABSL_FLAG(int64_t, synthetic_image_size, 32,
          "--synthetic_data: side of the generated images (CIFAR-10's is 32; "
          "CIFAR-10 itself is always read at 32).");
ABSL_FLAG(int64_t, synthetic_train_examples, 2000,
          "--synthetic_data: number of generated training images.");
ABSL_FLAG(int64_t, synthetic_valid_examples, 500,
          "--synthetic_data: number of generated validation images.");

namespace es::experiments {
namespace {

// Keys of the synthetic sets (distinct from run seeds, which key theta0).
constexpr uint64_t kSyntheticTrainSeed = 0xC1FA5EED0001ull;
constexpr uint64_t kSyntheticValidSeed = 0xC1FA5EED0002ull;

MlpDataView View(const CifarImages& set, int64_t image_size) {
  return MlpDataView{set.images, set.labels, 3 * image_size * image_size};
}

absl::Status CheckRange(const char* flag, int64_t value, int64_t lo,
                        int64_t hi) {
  if (value < lo || value > hi) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", flag, "=", value, " is out of range; allowed: ", lo, "..", hi));
  }
  return absl::OkStatus();
}

// <binary>_theta.csv: each run's final theta and the hyperparameter it
// decodes to (learning rate, momentum, or active channels of the width
// group's first conv layer).
absl::Status AddThetaTable(FigureRun& run, const CifarHpoConfig& config) {
  Table* t = run.outputs().AddTable(
      "_theta", {"method", "seed", "index", "name", "theta", "value"});
  const std::vector<std::string> names = CifarThetaNames(config);
  const bool global =
      config.parametrization == CifarHpoConfig::Parametrization::kGlobal;
  for (const RunSummary& r : run.runs()) {
    const CifarHyperparameters h = DecodeCifarTheta(config, r.final_theta.data());
    for (int i = 0; i < static_cast<int>(r.final_theta.size()); ++i) {
      double value = 0.0;
      if (global) {
        value = i == 0 ? h.learning_rate[0] : h.momentum[0];
      } else if (i < kResNetParamBlocks) {
        value = h.learning_rate[i];
      } else if (i < 2 * kResNetParamBlocks) {
        value = h.momentum[i - kResNetParamBlocks];
      } else {
        const int group = i - 2 * kResNetParamBlocks;
        int layer = 0;
        while (kCifarWidthGroupOf[layer] != group) ++layer;
        value = h.active_channels[layer];
      }
      if (auto s = t->AddRow({r.method, absl::StrCat(r.seed), absl::StrCat(i),
                              names[i], FormatDouble(r.final_theta[i]),
                              FormatDouble(value)});
          !s.ok()) {
        return s;
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

CifarImages MakeSyntheticCifar(int64_t n, int64_t image_size, uint64_t seed) {
  const int64_t plane = image_size * image_size;
  const int64_t features = 3 * plane;
  CifarImages d;
  d.images.resize(n * features);
  d.labels.resize(n);
  const RandomKey rk{seed, Stream::kUser};
  std::vector<double> noise(features);
  for (int64_t i = 0; i < n; ++i) {
    const int32_t y = static_cast<int32_t>((i * 7 + seed) % 10);
    d.labels[i] = y;
    StandardNormals(rk, static_cast<uint64_t>(i), 0, static_cast<int>(features),
                    noise.data());
    float* img = d.images.data() + i * features;
    for (int c = 0; c < 3; ++c) {
      const double tint = 1.5 * std::cos(2.0 * M_PI * (y / 10.0 + c / 3.0));
      for (int64_t j = 0; j < plane; ++j) {
        img[c * plane + j] = static_cast<float>(noise[c * plane + j] + tint);
      }
    }
  }
  return d;
}

absl::StatusOr<std::unique_ptr<CifarTask>> BuildCifarTask(
    const std::string& data_dir_flag, CifarHpoConfig config) {
  auto widths = ParseIntList(absl::GetFlag(FLAGS_widths), "widths");
  if (!widths.ok()) return widths.status();
  if (widths->size() != 4) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--widths=", absl::GetFlag(FLAGS_widths), " has ", widths->size(),
        " values; allowed: exactly 4 positive widths (prep, stage 1, stage 2, "
        "stage 3), e.g. 32,64,128,256"));
  }
  for (int i = 0; i < 4; ++i) {
    if (auto s = CheckRange("widths", (*widths)[i], 1, 4096); !s.ok()) return s;
    config.widths[i] = (*widths)[i];
  }
  config.batch_size = absl::GetFlag(FLAGS_batch_size);
  config.horizon = absl::GetFlag(FLAGS_horizon);
  if (auto s = CheckRange("batch_size", config.batch_size, 1, 100000); !s.ok()) {
    return s;
  }
  if (auto s = CheckRange("horizon", config.horizon, 1, int64_t{1} << 40);
      !s.ok()) {
    return s;
  }
  const bool synthetic = absl::GetFlag(FLAGS_synthetic_data);
  // No flag is silently ignored: the data flags of the other source are
  // errors when named on the command line.
  if (synthetic && !data_dir_flag.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--data_dir=", data_dir_flag, " and --synthetic_data exclude each "
        "other: --synthetic_data generates its images and reads no data "
        "directory; drop one of them"));
  }
  if (!synthetic) {
    for (const char* flag : {"synthetic_image_size", "synthetic_train_examples",
                             "synthetic_valid_examples"}) {
      if (GivenOnCommandLine(flag)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "--", flag, " is used only with --synthetic_data; allowed: add "
            "--synthetic_data or drop --", flag));
      }
    }
  }
  config.image_size = synthetic ? absl::GetFlag(FLAGS_synthetic_image_size) : 32;
  if (auto s = CheckRange("synthetic_image_size", config.image_size, 1, 1024);
      !s.ok()) {
    return s;
  }
  if (auto s = config.Validate(); !s.ok()) return s;

  auto task = std::make_unique<CifarTask>();
  task->synthetic = synthetic;
  if (synthetic) {
    const int64_t n_train = absl::GetFlag(FLAGS_synthetic_train_examples);
    const int64_t n_valid = absl::GetFlag(FLAGS_synthetic_valid_examples);
    if (auto s = CheckRange("synthetic_train_examples", n_train, 1, 1000000);
        !s.ok()) {
      return s;
    }
    if (auto s = CheckRange("synthetic_valid_examples", n_valid, 1, 1000000);
        !s.ok()) {
      return s;
    }
    task->data.train =
        MakeSyntheticCifar(n_train, config.image_size, kSyntheticTrainSeed);
    task->data.validation =
        MakeSyntheticCifar(n_valid, config.image_size, kSyntheticValidSeed);
    task->data_description = absl::StrCat(
        "SYNTHETIC (--synthetic_data): ", n_train, " training and ", n_valid,
        " validation images of 3x", config.image_size, "x", config.image_size,
        ", class-tinted Gaussian noise; NOT CIFAR-10");
    std::fprintf(stderr,
                 "WARNING: --synthetic_data: training on generated images, "
                 "not CIFAR-10; these numbers are not CIFAR-10 results\n");
  } else {
    auto dir = CifarDirectory(data_dir_flag);
    if (!dir.ok()) return dir.status();
    auto data = LoadCifar10(data_dir_flag);
    if (!data.ok()) {
      // The official archive unpacks to cifar-10-batches-bin/; the reader
      // (and tools/fetch_cifar10.sh) use cifar10/.
      const std::string base = dir->substr(0, dir->size() - 8);  // "/cifar10"
      const std::string unpacked = base + "/cifar-10-batches-bin";
      if (absl::IsNotFound(data.status()) &&
          std::filesystem::exists(unpacked + "/data_batch_1.bin")) {
        return absl::NotFoundError(absl::StrCat(
            data.status().message(), "; note: ", unpacked,
            " exists (the archive's own folder name): move its .bin files to ",
            *dir, " or run tools/fetch_cifar10.sh"));
      }
      return data.status();
    }
    task->data = *std::move(data);
    task->data_description = absl::StrCat(
        "CIFAR-10 from ", *dir, ": ", task->data.train.num_examples(),
        " training (data_batch_1..4) and ",
        task->data.validation.num_examples(),
        " validation (data_batch_5) images");
  }
  auto problem = CifarHpoProblem::Create(
      config, View(task->data.train, config.image_size),
      View(task->data.validation, config.image_size));
  if (!problem.ok()) return problem.status();
  task->problem = *std::move(problem);
  return task;
}

absl::Status RunCifarFigure(FigureRun& run, CifarHpoConfig config) {
  auto seeds = run.Seeds();
  if (!seeds.ok()) return seeds.status();
  auto names = run.Methods();
  if (!names.ok()) return names.status();
  auto task = BuildCifarTask(absl::GetFlag(FLAGS_data_dir), config);
  if (!task.ok()) return task.status();
  const CifarHpoProblem& p = *(*task)->problem;
  const CifarHpoConfig& c = p.config();

  MethodRegistry registry;
  if (auto s = AddEsMethods(&p, {"tes", "pes", "es_single"}, &registry);
      !s.ok()) {
    return s;
  }
  auto methods = registry.Select(*names);
  if (!methods.ok()) return methods.status();
  const int n = absl::GetFlag(FLAGS_num_particles);
  std::vector<RunSpec> runs;
  AppendRuns(*methods, {n}, *seeds, &runs);

  auto options = DefaultLoopOptions(run, &p);
  if (!options.ok()) return options.status();
  const std::string theta0_flag = absl::GetFlag(FLAGS_theta0);
  if (theta0_flag.empty()) {
    options->theta0 = [&c](uint64_t seed) {
      return SampleCifarTheta(c, seed, 0);
    };
  } else {
    auto values = ParseDoubleList(theta0_flag, "theta0");
    if (!values.ok()) return values.status();
    if (static_cast<int>(values->size()) != p.theta_dim()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--theta0 has ", values->size(), " values; allowed: exactly ",
          p.theta_dim(), " (", absl::StrJoin(CifarThetaNames(c), ","), ")"));
    }
    const Eigen::VectorXd theta0 =
        Eigen::Map<const Eigen::VectorXd>(values->data(), p.theta_dim());
    options->theta0 = [theta0](uint64_t) { return theta0; };
  }
  options->format = {.particle_steps = true, .best_so_far = true,
                     .theta_columns = p.theta_dim() <= 8};

  const std::string data_kind = (*task)->synthetic ? "synthetic" : "cifar10";
  run.Setting("data", data_kind);
  run.Setting("data_description", (*task)->data_description);
  run.Setting("train_examples", (*task)->data.train.num_examples());
  run.Setting("valid_examples", (*task)->data.validation.num_examples());
  run.Setting("network", p.name());
  run.Setting("params_per_particle", p.params_per_particle());
  run.Setting("theta_dim", p.theta_dim());
  run.Setting("theta_names", CifarThetaNames(c));
  run.Setting("flops_per_particle_step", p.FlopsPerParticleStep());
  run.Setting("estimated_state_bytes", p.EstimateStateBytes(n));
  Table* data_table = run.outputs().AddTable(
      "_data", {"data", "image_size", "train_examples", "valid_examples",
                "description"});
  std::string description = (*task)->data_description;
  std::replace(description.begin(), description.end(), ',', ';');
  if (auto s = data_table->AddRow(
          {data_kind, absl::StrCat(c.image_size),
           absl::StrCat((*task)->data.train.num_examples()),
           absl::StrCat((*task)->data.validation.num_examples()), description});
      !s.ok()) {
    return s;
  }

  if (auto s = RunLoop(run, *options, runs); !s.ok()) return s.status();
  // Mean over seeds of each method's best and final meta-objective.
  std::map<std::string, std::map<std::string, std::pair<double, double>>> last;
  for (const auto& row : run.outputs().FindTable("")->rows()) {
    last[row[0]][row[2]] = {std::stod(row[6]), std::stod(row[4])};
  }
  for (const auto& [method, per_seed] : last) {
    double best = 0.0, final = 0.0;
    for (const auto& [seed, v] : per_seed) {
      best += v.first;
      final += v.second;
    }
    run.Setting(absl::StrCat("best_meta_loss_mean_", method),
                best / per_seed.size());
    run.Setting(absl::StrCat("final_meta_loss_mean_", method),
                final / per_seed.size());
  }
  return AddThetaTable(run, c);
}

}  // namespace es::experiments
