// omp_wait_policy.h - how long libgomp's idle threads spin before they sleep,
// chosen for every binary that links this library (the OpenMP/oneDNN kernels
// depend on it).
//
// Why: libgomp's default (OMP_WAIT_POLICY unset) spins for GOMP_SPINCOUNT =
// 300,000 pause iterations - milliseconds - at every barrier and at the end
// of every parallel region. When another runnable process shares the cores,
// the spinning thread holds a core that the thread it waits for needs, and a
// 2-thread oneDNN step slows 4x and more (docs/performance.md, "Busy
// machine"). OMP_WAIT_POLICY=PASSIVE (sleep at once) removes that, but pays a
// futex wake-up at every barrier when the machine is idle. We use bounded
// spinning: GOMP_SPINCOUNT = kGompSpinCount (1000 iterations, tens of
// microseconds: longer than a typical wait at a barrier between two oneDNN
// primitives on an idle machine, far shorter than a scheduler time slice).
//
// How: libgomp reads its environment once, in its own constructor, when the
// process starts - before main, so setenv in main is too late. A constructor
// of this library therefore re-executes the program once (execv of
// /proc/self/exe with the same argv) with GOMP_SPINCOUNT set, when all of:
//   * neither OMP_WAIT_POLICY nor GOMP_SPINCOUNT is in the environment (a
//     user's own choice always wins, and the re-executed process sees the
//     variable and does not re-execute again);
//   * OMP_NUM_THREADS is not 1 and the process may use more than one CPU
//     (with one thread nothing waits at a barrier; .bazelrc runs tests with
//     OMP_NUM_THREADS=1, so tests are not re-executed);
//   * ES_SINGLE_KEEP_OMP_WAIT_POLICY is unset (set it to keep libgomp's
//     defaults, e.g. to measure them).
// If the exec fails (no /proc), the program continues with libgomp's
// defaults. Child processes inherit the variable.
#ifndef ES_SINGLE_INNER_KERNELS_OMP_WAIT_POLICY_H_
#define ES_SINGLE_INNER_KERNELS_OMP_WAIT_POLICY_H_

#include <string>

namespace es {

inline constexpr char kGompSpinCount[] = "1000";

// The wait policy this process runs with, for logs: e.g.
// "GOMP_SPINCOUNT=1000 (set by omp_wait_policy)",
// "OMP_WAIT_POLICY=PASSIVE (from the environment)" or "libgomp default".
std::string OmpWaitPolicyDescription();

}  // namespace es

#endif  // ES_SINGLE_INNER_KERNELS_OMP_WAIT_POLICY_H_
