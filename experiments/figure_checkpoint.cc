// figure_checkpoint.cc - FigureRun's checkpoints (--checkpoint_every,
// --resume) and the RunSummary encoding they use; see figure.h.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "experiments/figure.h"

namespace es::experiments {
namespace {

constexpr char kCheckpointMagic[] = "es-single checkpoint v2";

}  // namespace

void SaveRunSummary(const RunSummary& r, StateWriter* out) {
  out->String(r.method);
  out->Pod(r.num_particles);
  out->Pod(r.seed);
  out->Pod(r.iterations);
  out->Pod(r.seconds_per_estimate);
  out->Pod(r.wall_seconds);
  out->Pod(r.final_meta_loss);
  out->Vector(r.final_theta);
  out->Pod(r.particle_steps);
  out->Pod(r.dropped_pairs);
  out->Pod(r.all_dropped_estimates);
}

absl::Status LoadRunSummary(StateReader* in, RunSummary* r) {
  if (auto s = in->String(&r->method); !s.ok()) return s;
  if (auto s = in->Pod(&r->num_particles); !s.ok()) return s;
  if (auto s = in->Pod(&r->seed); !s.ok()) return s;
  if (auto s = in->Pod(&r->iterations); !s.ok()) return s;
  if (auto s = in->Pod(&r->seconds_per_estimate); !s.ok()) return s;
  if (auto s = in->Pod(&r->wall_seconds); !s.ok()) return s;
  if (auto s = in->Pod(&r->final_meta_loss); !s.ok()) return s;
  if (auto s = in->Vector(&r->final_theta); !s.ok()) return s;
  if (auto s = in->Pod(&r->particle_steps); !s.ok()) return s;
  if (auto s = in->Pod(&r->dropped_pairs); !s.ok()) return s;
  return in->Pod(&r->all_dropped_estimates);
}

int64_t FigureRun::checkpoint_every() const {
  return absl::GetFlag(FLAGS_checkpoint_every);
}

std::string FigureRun::CheckpointPath() const {
  std::string path = absl::StrCat(outputs_.dir(), "/", binary(), ".checkpoint");
  if (ranks() > 1) absl::StrAppend(&path, ".rank", rank(), "of", ranks());
  return path;
}

absl::Status FigureRun::WriteCheckpoint(const std::string& bytes) const {
  StateWriter w;
  w.Tag(kCheckpointMagic);
  w.String(binary());
  w.String(FlagsFingerprint(figure_));
  w.Pod(++checkpoints_written_);
  w.String(bytes);
  std::error_code ec;
  std::filesystem::create_directories(outputs_.dir(), ec);
  const std::string path = CheckpointPath();
  if (ranks() > 1 && std::filesystem::exists(path, ec)) {
    // Keep the previous one: a job killed between two ranks' writes leaves
    // the ranks one checkpoint apart, and --resume then takes the older.
    std::filesystem::rename(path, path + ".prev", ec);
    if (ec) {
      return absl::InternalError(absl::StrCat(
          "cannot keep the previous checkpoint \"", path, "\": ", ec.message()));
    }
  }
  return WriteFileAtomically(path, w.Take());
}

namespace {

// One checkpoint file, parsed: its sequence number and body.
struct CheckpointFile {
  int64_t seq = -1;  // -1: absent
  std::string body;
};

absl::StatusOr<CheckpointFile> ReadCheckpointFile(const std::string& path,
                                                  const Figure& figure,
                                                  bool required) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (!required) return CheckpointFile{};
    return absl::NotFoundError(
        absl::StrCat("--resume: no checkpoint at \"", path,
                     "\" (run with --checkpoint_every=N first)"));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string bytes = ss.str();
  StateReader r(bytes);
  std::string name, flags;
  CheckpointFile f;
  if (!r.Tag(kCheckpointMagic).ok() || !r.String(&name).ok() ||
      !r.String(&flags).ok() || !r.Pod(&f.seq).ok() ||
      !r.String(&f.body).ok() || !r.Finish().ok()) {
    return absl::DataLossError(absl::StrCat(
        "--resume: \"", path, "\" is not a complete checkpoint"));
  }
  if (name != figure.binary) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--resume: \"", path, "\" was written by ", name, ", not ",
        figure.binary));
  }
  const std::string now = FlagsFingerprint(figure);
  if (flags != now) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--resume: the checkpoint was written with other settings; it had\n",
        flags, "this run has\n", now, "(resume with the same flags)"));
  }
  return f;
}

}  // namespace

absl::Status FigureRun::LoadResumeState() {
  const std::string path = CheckpointPath();
  absl::StatusOr<CheckpointFile> current =
      ReadCheckpointFile(path, figure_, /*required=*/ranks() == 1);
  if (!current.ok()) return current.status();
  CheckpointFile chosen = *std::move(current);
  if (ranks() > 1) {
    // Every rank resumes from the newest checkpoint that all ranks hold:
    // its current file or the one before (WriteCheckpoint).
    absl::StatusOr<CheckpointFile> prev =
        ReadCheckpointFile(path + ".prev", figure_, /*required=*/false);
    if (!prev.ok()) return prev.status();
    std::vector<int> counts(ranks(), 1);
    std::vector<double> newest(ranks());
    const double mine = static_cast<double>(std::max(chosen.seq, prev->seq));
    if (auto s = group_->Allgather(&mine, counts, newest.data()); !s.ok()) {
      return s;
    }
    const int64_t target =
        static_cast<int64_t>(*std::min_element(newest.begin(), newest.end()));
    if (target < 0) {
      return absl::NotFoundError(absl::StrCat(
          "--resume: a rank has no checkpoint (this rank looked for \"", path,
          "\"; run with --checkpoint_every=N first, with the same number of "
          "ranks)"));
    }
    if (chosen.seq != target) chosen = *std::move(prev);
    if (chosen.seq != target) {
      return absl::DataLossError(absl::StrCat(
          "--resume: rank ", rank(), " holds no copy of checkpoint ", target,
          " that the other ranks resume from; rerun without --resume"));
    }
  }
  checkpoints_written_ = chosen.seq;
  checkpoint_bytes_ = std::move(chosen.body);
  resume_ = std::make_unique<StateReader>(checkpoint_bytes_);
  return absl::OkStatus();
}

void FigureRun::RemoveCheckpoint() const {
  std::error_code ec;
  std::filesystem::remove(CheckpointPath(), ec);
  if (ranks() > 1) std::filesystem::remove(CheckpointPath() + ".prev", ec);
}

}  // namespace es::experiments
