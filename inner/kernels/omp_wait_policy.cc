#include "inner/kernels/omp_wait_policy.h"

#include <sched.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

namespace es {
namespace {

constexpr char kMarker[] = "ES_SINGLE_OMP_WAIT_POLICY_SET";

bool MoreThanOneCpu() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return true;
  return CPU_COUNT(&set) > 1;
}

// Runs from .init_array with glibc's (argc, argv, envp) arguments.
void SetWaitPolicyAndReexec(int argc, char** argv, char** /*envp*/) {
  if (argc < 1 || argv == nullptr || argv[0] == nullptr) return;
  if (std::getenv("OMP_WAIT_POLICY") != nullptr ||
      std::getenv("GOMP_SPINCOUNT") != nullptr ||
      std::getenv("ES_SINGLE_KEEP_OMP_WAIT_POLICY") != nullptr) {
    return;
  }
  const char* threads = std::getenv("OMP_NUM_THREADS");
  if (threads != nullptr && std::strcmp(threads, "1") == 0) return;
  if (!MoreThanOneCpu()) return;
  setenv("GOMP_SPINCOUNT", kGompSpinCount, 1);
  setenv(kMarker, "1", 1);
  execv("/proc/self/exe", argv);
  // Only reached if the exec failed: keep running with libgomp's defaults
  // (it has read its environment already); undo the marker.
  unsetenv(kMarker);
}

__attribute__((section(".init_array"), used)) void (*const kInit)(
    int, char**, char**) = &SetWaitPolicyAndReexec;

}  // namespace

std::string OmpWaitPolicyDescription() {
  const char* spin = std::getenv("GOMP_SPINCOUNT");
  const char* policy = std::getenv("OMP_WAIT_POLICY");
  if (spin != nullptr && std::getenv(kMarker) != nullptr) {
    return std::string("GOMP_SPINCOUNT=") + spin + " (set by omp_wait_policy)";
  }
  std::string out;
  if (policy != nullptr) out += std::string("OMP_WAIT_POLICY=") + policy;
  if (spin != nullptr) {
    out += std::string(out.empty() ? "" : " ") + "GOMP_SPINCOUNT=" + spin;
  }
  return out.empty() ? "libgomp default" : out + " (from the environment)";
}

}  // namespace es
