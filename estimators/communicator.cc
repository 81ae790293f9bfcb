#include "estimators/communicator.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace es {
namespace {

class SingleProcessCommunicator : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  absl::Status Allgather(const double* mine, absl::Span<const int> counts,
                         double* all) override {
    if (counts.size() != 1 || counts[0] < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Allgather on one process needs one non-negative count, got ",
          counts.size(), " counts"));
    }
    if (counts[0] > 0 && mine != all) {
      std::memmove(all, mine, sizeof(double) * counts[0]);
    }
    return absl::OkStatus();
  }
  int64_t bytes_sent() const override { return 0; }
  std::string Describe() const override { return "1 process"; }
};

Communicator* g_default = nullptr;
ProcessGroupFactory g_factory = nullptr;

}  // namespace

Communicator* SingleProcess() {
  static auto* single = new SingleProcessCommunicator();
  return single;
}

Communicator* DefaultCommunicator() {
  return g_default != nullptr ? g_default : SingleProcess();
}

void SetDefaultCommunicator(Communicator* comm) { g_default = comm; }

Communicator* ResolveCommunicator(Communicator* comm) {
  return comm != nullptr ? comm : DefaultCommunicator();
}

PairRange OwnedPairs(int num_pairs, int rank, int size) {
  const int64_t n = std::max(num_pairs, 0);
  return {static_cast<int>((n * rank) / size),
          static_cast<int>((n * (rank + 1)) / size)};
}

bool RegisterProcessGroupFactory(ProcessGroupFactory factory) {
  g_factory = factory;
  return true;
}

ProcessGroupFactory RegisteredProcessGroupFactory() { return g_factory; }

}  // namespace es
