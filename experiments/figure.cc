// figure.cc - see figure.h.
#include "experiments/figure.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <set>

#include "oneapi/dnnl/dnnl.h"

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "inner/data/datasets.h"

ABSL_FLAG(std::string, out_dir, "",
          "Output directory; empty = results/<binary>/ (relative paths "
          "resolve against the workspace under bazel run).");
ABSL_FLAG(std::string, preset, "paper",
          "Settings preset: paper (the defaults), scaled or quick; flags "
          "given on the command line always win.");
ABSL_FLAG(bool, quick, false, "Alias of --preset=quick (seconds; tests).");
ABSL_FLAG(bool, scaled, false, "Alias of --preset=scaled.");
ABSL_FLAG(bool, progress, true, "Progress lines on stderr.");
ABSL_FLAG(int, threads, 1,
          "Threads for each estimator's particle loop (results do not depend "
          "on it).");
ABSL_FLAG(int64_t, checkpoint_every, 0,
          "Write <out_dir>/<binary>.checkpoint every this many outer "
          "iterations (and after every run); 0 = never.");
ABSL_FLAG(bool, resume, false,
          "Continue from <out_dir>/<binary>.checkpoint (same flags) to the "
          "same outputs as an uninterrupted run.");
ABSL_FLAG(int64_t, max_memory_mb, 0,
          "Refuse runs whose estimated memory exceeds this many MiB; 0 = 80% "
          "of the machine's physical memory.");
ABSL_FLAG(std::string, seeds, "", "Comma-separated seeds.");
ABSL_FLAG(std::string, methods, "", "Comma-separated methods.");
ABSL_FLAG(int, num_particles, 0, "N, particles per ES estimate (even).");
ABSL_FLAG(int64_t, iterations, 0, "Outer iterations per run.");
ABSL_FLAG(int, truncation, 0, "K, inner steps per partial unroll.");
ABSL_FLAG(double, sigma, 0.0, "Perturbation scale of the ES methods.");
ABSL_FLAG(double, learning_rate, 0.0, "Outer learning rate.");
ABSL_FLAG(std::string, optimizer, "adam", "Outer optimiser: adam or sgd.");
ABSL_FLAG(int64_t, eval_every, 0,
          "Meta-loss evaluation (and trace row) every this many iterations.");
ABSL_FLAG(int64_t, eval_length, 0,
          "Steps of the evaluation unroll; 0 = the horizon T.");
ABSL_FLAG(int64_t, eval_key, 0, "Episode key of the evaluation inner problem.");
ABSL_FLAG(std::string, data_dir, "",
          "Data directory (empty: $ES_SINGLE_DATA_DIR); see the README.");

namespace es::experiments {
namespace {

// Flags every figure has, whether or not its presets mention them.
const std::set<std::string>& UniversalFlags() {
  static const auto* s = new std::set<std::string>{
      "out_dir", "preset", "quick", "scaled", "progress", "threads",
      "checkpoint_every", "resume", "max_memory_mb"};
  return *s;
}
// Shared flags a figure must declare (in its paper preset) to accept.
const std::set<std::string>& DeclarableFlags() {
  static const auto* s = new std::set<std::string>{
      "seeds", "methods", "num_particles", "iterations", "truncation",
      "sigma", "learning_rate", "optimizer", "eval_every", "eval_length",
      "eval_key", "data_dir"};
  return *s;
}
// Flags whose value may differ between a checkpoint and its --resume.
const std::set<std::string>& ResumeNeutralFlags() {
  static const auto* s = new std::set<std::string>{
      "resume", "checkpoint_every", "progress", "threads", "out_dir"};
  return *s;
}

std::set<std::string>* g_given = nullptr;

void RecordGiven(int argc, char** argv) {
  g_given = new std::set<std::string>();
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--") break;
    if (a.size() < 2 || a[0] != '-') continue;
    a = a.substr(a[1] == '-' ? 2 : 1);
    a = a.substr(0, a.find('='));
    g_given->insert(a);
    if (a.size() > 2 && a.compare(0, 2, "no") == 0) g_given->insert(a.substr(2));
  }
}

const Preset* FindPreset(const Figure& f, const std::string& name) {
  for (const Preset& p : f.presets) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

std::string UsageText(const Figure& f) {
  std::string u = absl::StrCat(f.figure, ": ", f.description, "\nWrites <out_dir>/",
                               f.binary, "{.csv,.json,...}.\n\nPresets (flags "
                               "given on the command line always win):\n");
  for (const Preset& p : f.presets) {
    std::vector<std::string> kv;
    for (const auto& [k, v] : p.values) kv.push_back(absl::StrCat("--", k, "=", v));
    absl::StrAppend(&u, "  ", p.name, ": ", p.description, "\n      ",
                    absl::StrJoin(kv, " "), "\n");
  }
  absl::StrAppend(&u, "\nExit codes: 0 ok; 1 error (nothing written); 3 outputs "
                      "written but a run diverged.");
  return u;
}

// Applies `preset` (after "paper") to the flags not given on the command
// line; checks that the figure accepts every shared flag that was given.
absl::Status ApplyPresets(const Figure& f, const std::string& preset) {
  if (f.presets.empty() || f.presets[0].name != "paper") {
    return absl::InternalError(
        absl::StrCat(f.binary, ": presets[0] must be \"paper\""));
  }
  std::set<std::string> declared;
  for (const auto& [k, v] : f.presets[0].values) declared.insert(k);
  for (const std::string& name : *g_given) {
    if (DeclarableFlags().count(name) > 0 && declared.count(name) == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--", name, " is not a setting of ", f.binary,
          " (its settings are in --help)"));
    }
  }
  std::vector<const Preset*> order = {&f.presets[0]};
  if (preset != "paper") order.push_back(FindPreset(f, preset));
  for (const Preset* p : order) {
    for (const auto& [name, value] : p->values) {
      if (p != &f.presets[0] && declared.count(name) == 0 &&
          DeclarableFlags().count(name) > 0) {
        return absl::InternalError(absl::StrCat(
            f.binary, ": preset ", p->name, " sets --", name,
            ", which the paper preset does not declare"));
      }
      if (g_given->count(name) > 0) continue;
      absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
      if (flag == nullptr) {
        return absl::InternalError(absl::StrCat(
            f.binary, ": preset ", p->name, " names an unknown flag --", name));
      }
      std::string error;
      if (!flag->ParseFrom(value, &error)) {
        return absl::InternalError(absl::StrCat(f.binary, ": preset ", p->name,
                                                ": --", name, "=", value, ": ",
                                                error));
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ChoosePreset(const Figure& f) {
  std::string preset = absl::GetFlag(FLAGS_preset);
  for (const auto& [alias, on] : {std::pair<std::string, bool>{"quick", absl::GetFlag(FLAGS_quick)},
                                 {"scaled", absl::GetFlag(FLAGS_scaled)}}) {
    if (!on) continue;
    if (g_given->count("preset") > 0 && preset != alias) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--", alias, " contradicts --preset=", preset));
    }
    preset = alias;
  }
  if (FindPreset(f, preset) == nullptr) {
    std::vector<std::string> names;
    for (const Preset& p : f.presets) names.push_back(p.name);
    return absl::InvalidArgumentError(absl::StrCat(
        "--preset=", preset, " is not a preset of ", f.binary, "; allowed: ",
        absl::StrJoin(names, ", ")));
  }
  return preset;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> FigureFlags(const Figure& f) {
  std::set<std::string> declared;
  for (const auto& [k, v] : f.presets[0].values) declared.insert(k);
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    const std::string n(name);
    if (absl::StrContains(flag->Filename(), absl::StrCat("experiments/", f.binary)) ||
        UniversalFlags().count(n) > 0 || declared.count(n) > 0) {
      out.emplace_back(n, flag->CurrentValue());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string FlagsFingerprint(const Figure& f) {
  std::string s;
  for (const auto& [k, v] : FigureFlags(f)) {
    if (ResumeNeutralFlags().count(k) == 0) absl::StrAppend(&s, "--", k, "=", v, "\n");
  }
  return s;
}

bool GivenOnCommandLine(const std::string& name) {
  return g_given != nullptr && g_given->count(name) > 0;
}

FigureRun::FigureRun(const Figure& figure, std::string preset,
                     std::string out_dir)
    : figure_(figure),
      preset_(std::move(preset)),
      outputs_(std::move(out_dir), figure.binary) {}

absl::StatusOr<std::vector<int64_t>> FigureRun::Seeds() const {
  auto seeds = ParseIntList(absl::GetFlag(FLAGS_seeds), "seeds");
  if (!seeds.ok()) return seeds.status();
  for (int64_t s : *seeds) {
    if (s < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--seeds: seeds must be >= 0, got ", s));
    }
  }
  return seeds;
}

absl::StatusOr<std::vector<std::string>> FigureRun::Methods() const {
  return ParseNameList(absl::GetFlag(FLAGS_methods), "methods");
}

absl::StatusOr<OptimizerOptions> FigureRun::Optimizer() const {
  OptimizerOptions o;
  o.kind = absl::GetFlag(FLAGS_optimizer);
  o.learning_rate = absl::GetFlag(FLAGS_learning_rate);
  if (auto s = o.Validate(); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--optimizer / --learning_rate: ", s.message()));
  }
  return o;
}

MetaTrainingOptions FigureRun::MetaOptions() const {
  MetaTrainingOptions m;
  m.iterations = absl::GetFlag(FLAGS_iterations);
  m.eval_every = absl::GetFlag(FLAGS_eval_every);
  m.eval_length = absl::GetFlag(FLAGS_eval_length);
  m.eval_key = static_cast<uint64_t>(absl::GetFlag(FLAGS_eval_key));
  m.progress = absl::GetFlag(FLAGS_progress);
  return m;
}

absl::StatusOr<std::string> FigureRun::DataDir() const {
  return ResolveDataDir(absl::GetFlag(FLAGS_data_dir));
}

void FigureRun::Setting(const std::string& key, nlohmann::ordered_json value) {
  settings_[key] = std::move(value);
}

void FigureRun::AddRuns(const std::vector<RunSummary>& runs) {
  runs_.insert(runs_.end(), runs.begin(), runs.end());
}

void FigureRun::SetPrimaryParticles(
    std::function<int(const std::string&)> primary) {
  primary_ = std::move(primary);
}

int64_t MemoryLimitBytes() {
  const int64_t mb = absl::GetFlag(FLAGS_max_memory_mb);
  if (mb > 0) return mb << 20;
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page <= 0) return int64_t{1} << 40;
  return static_cast<int64_t>(0.8 * static_cast<double>(pages) *
                              static_cast<double>(page));
}

absl::Status FigureRun::CheckMemory(double bytes, absl::string_view what) const {
  const int64_t limit = MemoryLimitBytes();
  if (!(bytes <= static_cast<double>(limit))) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "%s needs about %.0f MiB, more than the limit of %d MiB (--max_memory_mb; "
        "default 80%% of physical memory)",
        what, bytes / (1 << 20), limit >> 20));
  }
  return absl::OkStatus();
}

// Portable float32 bits: oneDNN dispatches at run time (AVX-512 kernels on
// CPUs that have it, AVX2 on others) and the kernels sum in different
// orders, so figure binaries cap it at AVX2, the ISA the whole build targets
// (x86-64-v3). Measured: the copy-task quick run is byte-identical natively
// on AMD EPYC with the cap and on an emulated Intel Haswell, and differs by
// up to 6% without it. $ONEDNN_MAX_CPU_ISA, when set, wins; the native
// build (--config=native) keeps oneDNN's own choice.
void PinOneDnnIsa() {
#ifndef ES_SINGLE_NATIVE_BUILD
  const char* env = std::getenv("ONEDNN_MAX_CPU_ISA");
  if (env == nullptr || env[0] == '\0') {
    dnnl_set_max_cpu_isa(dnnl_cpu_isa_avx2);
  }
#endif
}

int FigureMain(const Figure& figure, int argc, char** argv) {
  const auto start = std::chrono::steady_clock::now();
  PinOneDnnIsa();
  // Under mpirun, a *_mpi binary runs as one rank of a process group: the
  // estimators spread their pairs over the ranks (communicator.h), every
  // rank computes the same results and rank 0 alone prints and writes.
  std::unique_ptr<ProcessGroup> group;
  if (ProcessGroupFactory make = RegisteredProcessGroupFactory()) {
    group = make(&argc, &argv);
  }
  const bool distributed = group != nullptr && group->size() > 1;
  std::string who = figure.binary;
  if (distributed) {
    SetDefaultCommunicator(group.get());
    who = absl::StrCat(figure.binary, " (rank ", group->rank(), " of ",
                       group->size(), ")");
    if (group->rank() != 0 && std::freopen("/dev/null", "w", stdout) == nullptr) {
      std::fprintf(stderr, "%s: cannot silence stdout\n", who.c_str());
    }
  }
  absl::SetProgramUsageMessage(UsageText(figure));
  RecordGiven(argc, argv);
  absl::ParseCommandLine(argc, argv);
  std::vector<std::string> words(argv, argv + argc);
  const std::string command_line = absl::StrJoin(words, " ");
  // An error on any rank takes the whole job down (never a hang).
  auto fail = [&](const absl::Status& s) {
    std::fprintf(stderr, "%s: %s\n", who.c_str(),
                 std::string(s.message()).c_str());
    std::fflush(stderr);
    if (distributed) group->Abort(1);
    return 1;
  };
  auto preset = ChoosePreset(figure);
  if (!preset.ok()) return fail(preset.status());
  if (auto s = ApplyPresets(figure, *preset); !s.ok()) return fail(s);
  if (absl::GetFlag(FLAGS_threads) < 1) {
    return fail(absl::InvalidArgumentError(absl::StrCat(
        "--threads must be >= 1, got ", absl::GetFlag(FLAGS_threads))));
  }
  if (absl::GetFlag(FLAGS_max_memory_mb) < 0) {
    return fail(absl::InvalidArgumentError(
        absl::StrCat("--max_memory_mb must be >= 0 (0 = 80% of physical "
                     "memory), got ",
                     absl::GetFlag(FLAGS_max_memory_mb))));
  }
  if (absl::GetFlag(FLAGS_checkpoint_every) < 0) {
    return fail(absl::InvalidArgumentError(
        absl::StrCat("--checkpoint_every must be >= 0, got ",
                     absl::GetFlag(FLAGS_checkpoint_every))));
  }
  FigureRun run(figure, *preset,
                OutDirPath(absl::GetFlag(FLAGS_out_dir), figure.binary,
                           std::getenv("BUILD_WORKSPACE_DIRECTORY")));
  run.SetProcessGroup(group.get());
  if (absl::GetFlag(FLAGS_resume)) {
    if (auto s = run.LoadResumeState(); !s.ok()) return fail(s);
  }
  absl::Status status;
  try {
    status = figure.run(run);
  } catch (const std::bad_alloc&) {
    status = absl::ResourceExhaustedError(
        "out of memory (an allocation failed); lower the particle count, "
        "the network or the number of configurations, or see "
        "--max_memory_mb");
  } catch (const std::exception& e) {
    status = absl::InternalError(absl::StrCat("unexpected error: ", e.what()));
  }
  if (!status.ok()) return fail(status);
  const double wall = std::chrono::duration<double>(
                          std::chrono::steady_clock::now() - start).count();
  if (auto s = run.Finish(wall, command_line); !s.ok()) return fail(s);
  run.RemoveCheckpoint();
  std::printf("wrote %s/%s{.csv,.json", run.outputs().dir().c_str(),
              figure.binary.c_str());
  for (const auto& t : run.outputs().tables()) {
    const std::string suffix = t->file_name().substr(figure.binary.size());
    if (suffix != ".csv") std::printf(",%s", suffix.c_str());
  }
  std::printf("} in %.1f s\n", wall);
  const auto& diverged = run.outputs().sidecar()["divergence"];
  if (!diverged.empty()) {
    std::fprintf(stderr,
                 "%s: %zu run(s) diverged (an estimate with every pair "
                 "dropped, or a non-finite final meta-loss): %s\n",
                 figure.binary.c_str(), diverged.size(), diverged.dump().c_str());
    return 3;
  }
  return 0;
}

}  // namespace es::experiments
