// mpi_process_group.cc - the MPI implementation of ProcessGroup
// (estimators/communicator.h), registered at start-up so that FigureMain
// finds it in the binaries that link this library.
//
// A process is a rank of a distributed job only when a launcher started it:
// Open MPI's mpirun (OMPI_COMM_WORLD_SIZE), Slurm's srun with PMIx
// (PMIX_RANK) or a PMI launcher (PMI_SIZE). Started by hand, the binary does
// not initialise MPI at all and runs as one process.
//
// Errors: MPI_ERRORS_RETURN on MPI_COMM_WORLD, so a failing collective is a
// Status naming the MPI error; Abort is MPI_Abort, which takes every rank of
// the job down (a rank that dies by itself makes mpirun stop the others).
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include <mpi/mpi.h>

#include "absl/strings/str_cat.h"
#include "estimators/communicator.h"

namespace es {
namespace {

bool StartedByLauncher() {
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE"}) {
    const char* v = std::getenv(var);
    if (v != nullptr && v[0] != '\0') return true;
  }
  return false;
}

std::string MpiError(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(code, text, &len) != MPI_SUCCESS) return "unknown";
  return std::string(text, len);
}

class MpiProcessGroup : public ProcessGroup {
 public:
  MpiProcessGroup() {
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    displs_.resize(size_);
  }
  ~MpiProcessGroup() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }

  absl::Status Allgather(const double* mine, absl::Span<const int> counts,
                         double* all) override {
    if (static_cast<int>(counts.size()) != size_) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Allgather: ", counts.size(), " counts for ", size_, " ranks"));
    }
    int offset = 0;
    for (int r = 0; r < size_; ++r) {
      displs_[r] = offset;
      offset += counts[r];
    }
    const int code = MPI_Allgatherv(mine, counts[rank_], MPI_DOUBLE, all,
                                    counts.data(), displs_.data(), MPI_DOUBLE,
                                    MPI_COMM_WORLD);
    if (code != MPI_SUCCESS) {
      return absl::UnavailableError(absl::StrCat(
          "rank ", rank_, " of ", size_, ": MPI_Allgatherv failed: ",
          MpiError(code)));
    }
    bytes_sent_ += static_cast<int64_t>(sizeof(double)) * counts[rank_];
    return absl::OkStatus();
  }

  int64_t bytes_sent() const override { return bytes_sent_; }

  std::string Describe() const override {
    return absl::StrCat("MPI, ", size_, " ranks");
  }

  [[noreturn]] void Abort(int code) override {
    MPI_Abort(MPI_COMM_WORLD, code);
    std::_Exit(code);  // MPI_Abort does not return; in case it does
  }

  absl::Status Barrier() override {
    const int code = MPI_Barrier(MPI_COMM_WORLD);
    if (code != MPI_SUCCESS) {
      return absl::UnavailableError(absl::StrCat(
          "rank ", rank_, " of ", size_, ": MPI_Barrier failed: ",
          MpiError(code)));
    }
    return absl::OkStatus();
  }

 private:
  int rank_ = 0;
  int size_ = 1;
  std::vector<int> displs_;
  int64_t bytes_sent_ = 0;
};

std::unique_ptr<ProcessGroup> MakeMpiProcessGroup(int* argc, char*** argv) {
  if (!StartedByLauncher()) return nullptr;
  // Only the main thread calls MPI; the estimators' own threads never do.
  int provided = 0;
  if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) !=
      MPI_SUCCESS) {
    // (MPI's default error handler normally aborts before this.)
    std::fprintf(stderr, "MPI_Init_thread failed; cannot join the job\n");
    std::exit(1);
  }
  return std::make_unique<MpiProcessGroup>();
}

const bool registered = RegisterProcessGroupFactory(&MakeMpiProcessGroup);

}  // namespace
}  // namespace es
