// mnist_test_util.h - testonly helpers for the golden and behavioural tests
// of the MNIST figure binaries (Figs. 7, 17/18, 19, 26): whether MNIST is
// available to a test, and a test fixture that runs one binary with --quick
// once per test suite.
//
// MNIST availability: bazel passes $ES_SINGLE_DATA_DIR through to tests
// (.bazelrc: test --test_env=ES_SINGLE_DATA_DIR); a test skips, naming the
// reason, when it is unset or <dir>/mnist/ lacks the training images. CI sets
// it; locally:
//   ES_SINGLE_DATA_DIR=/work/shared/data bazel test //experiments:fig7_mnist_lr_schedule_test
//
// The binaries run with OMP_NUM_THREADS=1 (set by MnistFigureTestMain): their
// numbers do not depend on the thread count, and one thread avoids OpenMP
// barrier stalls when `bazel test` runs other tests on the 2 cores.
//
// Usage (in a test's main):
//   return MnistFigureTestMain(argc, argv, 2, "<binary> <golden csv>");
//   ... const std::vector<std::string>& args = MnistTestArgs();
#ifndef ES_SINGLE_EXPERIMENTS_MNIST_TEST_UTIL_H_
#define ES_SINGLE_EXPERIMENTS_MNIST_TEST_UTIL_H_

#include <string>
#include <vector>

#include "experiments/figure_test_util.h"
#include "gtest/gtest.h"

namespace es::experiments::test {

// Empty if $ES_SINGLE_DATA_DIR/mnist/ has the training images, else why not.
std::string MnistSkipReason();

// Runs `binary --quick --progress=false --out_dir=<dir> <extra...>` (stderr
// to <dir>/stderr.log) unless MNIST is missing; returns the exit status or -1
// when skipped.
int RunQuick(const std::string& binary, const std::string& dir,
             const std::vector<std::string>& extra = {});

// The positional arguments after the test binary (from BUILD args).
const std::vector<std::string>& MnistTestArgs();

// InitGoogleTest, checks that exactly `num_args` positional arguments were
// given (else prints "usage: <test> <usage>" and returns 2), sets
// OMP_NUM_THREADS=1 and runs every test.
int MnistFigureTestMain(int argc, char** argv, int num_args,
                        const char* usage);

// Row-level equality of two CSVs with the golden tolerance of the MNIST
// figures (1e-5 relative, 1e-7 absolute: float32 training; see
// testdata/regenerate_mnist.sh for when regenerating is legitimate).
::testing::AssertionResult MatchesGolden(const std::string& golden_path,
                                         const std::string& actual_path);

}  // namespace es::experiments::test

#endif  // ES_SINGLE_EXPERIMENTS_MNIST_TEST_UTIL_H_
