// figure.h - the figure framework: a figure binary is a declaration.
//
// A binary in experiments/ holds its header comment (the paper's claim, the
// setting, our choices), its own few ABSL_FLAGs, a table of presets, and a
// run function that builds the problem and the method list and calls the
// shared run loop (run_loop.h). Everything else is here:
//
//   * one main (FigureMain): usage text with every preset's values, flag
//     parsing, presets, validation, outputs, the sidecar, exit codes;
//   * shared flags every figure understands (figure.cc defines them):
//       --preset=paper|scaled|quick (--quick and --scaled are aliases),
//       --out_dir, --progress, --threads, --checkpoint_every, --resume,
//       --max_memory_mb,
//     and the training settings a figure declares in its "paper" preset:
//       --seeds, --methods, --num_particles, --iterations, --truncation,
//       --sigma, --learning_rate, --optimizer, --eval_every, --eval_length,
//       --eval_key, --data_dir;
//   * one flag-precedence rule: a flag given on the command line always wins
//     (whatever its value, even the default); otherwise the chosen preset's
//     value; otherwise the "paper" preset's value (the figure's defaults,
//     which are the paper's settings); otherwise the flag's own default.
//     A shared training flag that the figure does not declare is rejected
//     when given, so no flag is ever silently ignored.
//
// Presets: presets[0] must be "paper" and lists the figure's defaults of the
// shared training flags (and may set its own flags); "scaled" and "quick"
// override some of them. Every preset is printed by --help and recorded in
// the sidecar.
//
// Exit codes (FigureMain): 0 success; 1 an error (bad flag, missing data,
// kernel or I/O failure: the message names it and nothing was written);
// 3 the outputs were written but a run diverged (an estimate with every pair
// dropped, or a non-finite final meta-loss; stderr and the sidecar's
// "divergence" say which).
//
// Usage (a whole figure binary, without its comment):
//   ABSL_FLAG(double, theta0, 0.5, "Initial theta (paper: 0.5).");
//   absl::Status Run(FigureRun& run) {
//     InfluenceBalancing problem;
//     ... registry, runs ...
//     LoopOptions o = run.DefaultLoopOptions(&problem);
//     o.theta0 = ...;
//     return RunLoop(run, o, runs).status();
//   }
//   int main(int argc, char** argv) {
//     return FigureMain({.binary = "fig5_influence", .figure = "Fig. 5", ...,
//                        .presets = {{"paper", "...", {{"iterations", "3000"}}},
//                                    {"quick", "...", {{"iterations", "200"}}}},
//                        .run = Run}, argc, argv);
//   }
#ifndef ES_SINGLE_EXPERIMENTS_FIGURE_H_
#define ES_SINGLE_EXPERIMENTS_FIGURE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/flags/declare.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "estimators/communicator.h"
#include "estimators/meta_trainer.h"
#include "estimators/optimizer.h"
#include "estimators/state_io.h"
#include "experiments/figure_io.h"
#include "experiments/outputs.h"

ABSL_DECLARE_FLAG(std::string, out_dir);
ABSL_DECLARE_FLAG(std::string, preset);
ABSL_DECLARE_FLAG(bool, quick);
ABSL_DECLARE_FLAG(bool, scaled);
ABSL_DECLARE_FLAG(bool, progress);
ABSL_DECLARE_FLAG(int, threads);
ABSL_DECLARE_FLAG(int64_t, checkpoint_every);
ABSL_DECLARE_FLAG(bool, resume);
ABSL_DECLARE_FLAG(int64_t, max_memory_mb);
ABSL_DECLARE_FLAG(std::string, seeds);
ABSL_DECLARE_FLAG(std::string, methods);
ABSL_DECLARE_FLAG(int, num_particles);
ABSL_DECLARE_FLAG(int64_t, iterations);
ABSL_DECLARE_FLAG(int, truncation);
ABSL_DECLARE_FLAG(double, sigma);
ABSL_DECLARE_FLAG(double, learning_rate);
ABSL_DECLARE_FLAG(std::string, optimizer);
ABSL_DECLARE_FLAG(int64_t, eval_every);
ABSL_DECLARE_FLAG(int64_t, eval_length);
ABSL_DECLARE_FLAG(int64_t, eval_key);
ABSL_DECLARE_FLAG(std::string, data_dir);

namespace es::experiments {

struct Preset {
  std::string name;         // "paper", "scaled", "quick"
  std::string description;  // one line, shown by --help
  // Flag name -> value, as typed on a command line.
  std::vector<std::pair<std::string, std::string>> values;
};

class FigureRun;

struct Figure {
  std::string binary;       // "fig5_influence" (also the output file stem)
  std::string figure;       // "Fig. 5 (influence balancing, Sec. 4.1)"
  std::string description;  // one line: what the binary measures
  std::vector<Preset> presets;
  std::function<absl::Status(FigureRun&)> run;
};

// See the file comment. argv is read to learn which flags were given.
int FigureMain(const Figure& figure, int argc, char** argv);

// What a figure's run function works with: the resolved settings, the
// outputs, the sidecar and the checkpoint.
class FigureRun {
 public:
  FigureRun(const Figure& figure, std::string preset, std::string out_dir);

  const Figure& figure() const { return figure_; }
  const std::string& binary() const { return figure_.binary; }
  const std::string& preset() const { return preset_; }
  bool quick() const { return preset_ == "quick"; }
  FigureOutputs& outputs() { return outputs_; }

  // The shared settings, parsed and validated.
  absl::StatusOr<std::vector<int64_t>> Seeds() const;
  absl::StatusOr<std::vector<std::string>> Methods() const;
  absl::StatusOr<OptimizerOptions> Optimizer() const;
  // iterations, eval_every, eval_length, eval_key, progress.
  MetaTrainingOptions MetaOptions() const;
  // The data directory: --data_dir, else $ES_SINGLE_DATA_DIR (see
  // inner/data/datasets.h ResolveDataDir).
  absl::StatusOr<std::string> DataDir() const;

  // OK, or ResourceExhausted naming `what` and both numbers when `bytes`
  // exceeds the memory limit (--max_memory_mb, default 80% of physical
  // memory). Figures call it before allocating per-particle or per-config
  // state.
  absl::Status CheckMemory(double bytes, absl::string_view what) const;

  // A sidecar "settings" entry (resolved values worth recording).
  void Setting(const std::string& key, nlohmann::ordered_json value);
  // Run summaries for the sidecar's "runs" and "methods"; `primary`
  // gives, per method, the N whose runs its "methods" entry aggregates.
  void AddRuns(const std::vector<RunSummary>& runs);
  void SetPrimaryParticles(std::function<int(const std::string&)> primary);
  const std::vector<RunSummary>& runs() const { return runs_; }

  // Processes: a *_mpi binary under mpirun runs as R ranks (FigureMain sets
  // the group; null: one process). Every rank computes everything; rank 0
  // alone writes the outputs.
  void SetProcessGroup(ProcessGroup* group) { group_ = group; }
  int rank() const { return group_ != nullptr ? group_->rank() : 0; }
  int ranks() const { return group_ != nullptr ? group_->size() : 1; }

  // Checkpoints (run_loop.h uses these). The checkpoint file is
  // <out_dir>/<binary>.checkpoint (R > 1 ranks: one file per rank,
  // <binary>.checkpoint.rank<r>of<R> plus the one before, .prev, so that
  // a job killed between two ranks' writes resumes from the newest
  // checkpoint every rank holds; --resume needs the same R);
  // --checkpoint_every = 0 turns it off.
  int64_t checkpoint_every() const;
  // The state of a --resume, or null once the run loop has consumed it.
  StateReader* resume_state() { return resume_.get(); }
  void ClearResumeState() { resume_.reset(); }
  // Index of the loop a --resume continues (run_loop.h).
  int& resume_loop() { return resume_loop_; }
  absl::Status WriteCheckpoint(const std::string& bytes) const;
  absl::Status LoadResumeState();
  void RemoveCheckpoint() const;
  // run_loop.h numbers its calls so that a resume can skip finished loops.
  int NextLoopIndex() { return loop_index_++; }
  // The runs of finished loops, kept in checkpoints.
  std::vector<std::vector<RunSummary>>& finished_loops() { return loops_; }

  // Fills the sidecar (everything but what the figure added) and commits
  // the outputs.
  absl::Status Finish(double wall_seconds, const std::string& command_line);

 private:
  const Figure& figure_;
  std::string preset_;
  FigureOutputs outputs_;
  nlohmann::ordered_json settings_ = nlohmann::ordered_json::object();
  std::vector<RunSummary> runs_;
  std::function<int(const std::string&)> primary_;
  std::string checkpoint_bytes_;
  std::unique_ptr<StateReader> resume_;
  std::string CheckpointPath() const;
  ProcessGroup* group_ = nullptr;
  mutable int64_t checkpoints_written_ = 0;
  int loop_index_ = 0;
  int resume_loop_ = -1;
  std::vector<std::vector<RunSummary>> loops_;
};

// Helpers for presets and tests: whether the flag was named on the command
// line FigureMain saw (--name, --name=v, --noname, -name, up to "--").
bool GivenOnCommandLine(const std::string& name);

// The flags the figure uses (its own file's, the universal ones and the
// declared shared ones) with their current values, sorted by name (the
// sidecar's "flags").
std::vector<std::pair<std::string, std::string>> FigureFlags(const Figure& f);
// FigureFlags without those a --resume may change (a checkpoint records it).
std::string FlagsFingerprint(const Figure& f);

// RunSummary checkpoint encoding.
void SaveRunSummary(const RunSummary& r, StateWriter* out);
absl::Status LoadRunSummary(StateReader* in, RunSummary* r);

}  // namespace es::experiments

#endif  // ES_SINGLE_EXPERIMENTS_FIGURE_H_
