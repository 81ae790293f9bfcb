// Prints the wait policy the process runs with and its arguments, one per
// line, for omp_wait_policy_test.sh.
#include <cstdio>

#include "inner/kernels/omp_wait_policy.h"

int main(int argc, char** argv) {
  std::printf("policy: %s\n", es::OmpWaitPolicyDescription().c_str());
  for (int i = 1; i < argc; ++i) std::printf("arg: %s\n", argv[i]);
  return 0;
}
