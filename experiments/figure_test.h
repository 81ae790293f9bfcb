// figure_test.h - the shared harness of every figure binary's test (the
// es_figure macro of experiments/figure.bzl builds the test): it runs the
// binary once with --quick into $TEST_TMPDIR, requires exit code 0, compares
// each declared golden CSV with the output (test FigureGolden.*), checks
// that the binary's *_mpi twin under `mpirun -np 2` writes the same bytes
// (FigureGolden.TwoMpiRanksWriteTheSameBytes), and gives
// the behavioural tests of the figure the outputs to check.
//
// Golden tolerance (--tolerance): "exact" for the double-precision figures
// (same bits on every x86-64 host, docs/reproducibility.md), "onednn"
// (1e-5 relative) for the float32 figures on oneDNN.
//
// Data (--data=mnist|fashion_mnist|none): when the figure's data set is
// missing, every test skips with the reason, except under ES_CI=1 (CI),
// where a missing data set is a failure.
//
// Arguments (from the macro): --binary=PATH --mpi_binary=PATH
//   --tolerance=exact|onednn
//   --data=... [--golden=SUFFIX:PATH ...] [--extra_flag=FLAG ...]
//
// Usage (a figure's behavioural tests):
//   TEST_F(FigureTest, TruncatedEsMovesAway) {
//     const auto final = FinalValues(Output(), "tes", 1000, "theta_0");
//     ...
//   }
#ifndef ES_SINGLE_EXPERIMENTS_FIGURE_TEST_H_
#define ES_SINGLE_EXPERIMENTS_FIGURE_TEST_H_

#include <string>
#include <vector>

#include "experiments/figure_test_util.h"
#include "gtest/gtest.h"

namespace es::experiments::test {

class FigureTest : public ::testing::Test {
 public:
  // The table <binary><suffix>.csv of the quick run.
  static const CsvTable& Output(const std::string& suffix = "");
  // The sidecar's text.
  static const std::string& Sidecar();
  static const std::string& OutDir();
  static const std::string& Binary();
  // Runs the binary again with --quick --progress=false --out_dir=<dir> and
  // `extra` flags (stderr to <dir>/stderr.log); returns its exit code.
  static int RunBinary(const std::string& dir,
                       const std::vector<std::string>& extra);

 protected:
  void SetUp() override;
};

}  // namespace es::experiments::test

#endif  // ES_SINGLE_EXPERIMENTS_FIGURE_TEST_H_
