// communicator.h - how the ES estimators spread their antithetic pairs over
// processes ("ranks") and exchange only the per-pair losses.
//
// Every ES estimator (ES-Single, PES, es_gen, es_mix, both truncated ES
// forms, full ES) runs the same code on every rank. Rank r of R owns the
// contiguous block of pairs OwnedPairs(num_pairs, r, R) and unrolls only
// those (with its own EsOptions::num_threads threads inside); the ranks then
// exchange the unroll losses, 2 doubles per pair plus one status word per
// rank, in one allgather. Everything else an estimator does (drawing and
// accumulating perturbations from the counter-based generator, the reduction
// to g_hat in pair order, resets, the shared mean state of truncated ES) is
// computed identically on every rank from the seed and the gathered losses,
// so theta, the CSVs and the sidecars are bit-identical to a one-process run
// with the same seed, for any R (docs/scaling.md). No floating-point value
// other than the losses is ever sent.
//
// A rank whose unroll fails (a kernel error, not divergence) says so in its
// status word; every rank then returns an error naming the failing rank, so
// the job stops instead of hanging (FigureMain aborts the whole job).
//
// Implementations: SingleProcess() (one rank; what every binary uses unless
// it was built with the MPI layer and started under mpirun), the MPI one in
// //estimators/mpi, and an in-process group of threads for tests
// (estimators/testing/thread_group.h).
//
// Usage (what the estimators do; see DistributedUnroll in online_es.h):
//   Communicator* comm = ResolveCommunicator(nullptr);   // default
//   PairRange mine = OwnedPairs(num_pairs, comm->rank(), comm->size());
#ifndef ES_SINGLE_ESTIMATORS_COMMUNICATOR_H_
#define ES_SINGLE_ESTIMATORS_COMMUNICATOR_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/types/span.h"

namespace es {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Collective: every rank calls it with the same `counts` (counts[r] doubles
  // from rank r, counts.size() == size()); rank r passes its counts[r]
  // doubles in `mine`, and `all` receives every rank's block in rank order
  // (sum of counts doubles). The values arrive bit for bit.
  virtual absl::Status Allgather(const double* mine, absl::Span<const int> counts,
                                 double* all) = 0;
  // Bytes this rank has sent through Allgather so far (for measurements).
  virtual int64_t bytes_sent() const = 0;
  // A short description for logs and sidecars ("1 process", "MPI, 4 ranks").
  virtual std::string Describe() const = 0;
};

// The one-rank communicator (Allgather copies `mine` to `all`).
Communicator* SingleProcess();

// The communicator that estimators created without an explicit one use.
// SingleProcess() unless SetDefaultCommunicator was called (FigureMain does,
// once, before any estimator exists, when the binary was linked with the MPI
// layer and started under mpirun). Not thread-safe: set it at start-up.
Communicator* DefaultCommunicator();
void SetDefaultCommunicator(Communicator* comm);
// `comm` when not null, else DefaultCommunicator().
Communicator* ResolveCommunicator(Communicator* comm);

// Pairs [begin, end) of rank `rank` of `size`: contiguous blocks in rank
// order, sizes differing by at most one (floor(num_pairs * r / size)).
struct PairRange {
  int begin = 0;
  int end = 0;
  int size() const { return end - begin; }
};
PairRange OwnedPairs(int num_pairs, int rank, int size);

// A process group that a binary runs in (the MPI layer registers one):
// a Communicator that can also take the whole job down and shut down.
class ProcessGroup : public Communicator {
 public:
  // Stops every rank with exit code `code` (never returns).
  [[noreturn]] virtual void Abort(int code) = 0;
  // Collective: waits until every rank has arrived.
  virtual absl::Status Barrier() = 0;
};

// The MPI layer (//estimators/mpi:mpi_process_group, linked into the
// figures' *_mpi binaries) registers a factory at static-initialisation
// time; FigureMain calls it with main's argc/argv. Null when not linked.
using ProcessGroupFactory = std::unique_ptr<ProcessGroup> (*)(int* argc,
                                                              char*** argv);
bool RegisterProcessGroupFactory(ProcessGroupFactory factory);
ProcessGroupFactory RegisteredProcessGroupFactory();

}  // namespace es

#endif  // ES_SINGLE_ESTIMATORS_COMMUNICATOR_H_
