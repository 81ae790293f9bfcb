// figure_test_util.h - helpers for the golden and behavioural tests of the
// figure binaries (testonly): run a binary, read a tidy CSV, compare two
// CSVs with a tolerance, pick final values per run.
//
// Golden tolerances (numbers match when |a - b| <= abs_tol + rel_tol *
// max(|a|, |b|); text cells, the header and the row count must match
// exactly; nan matches nan and inf matches inf of the same sign):
//  * kGoldenRelTol / kGoldenAbsTol = 0: figures computed in double precision
//    by our own code (Figs. 5, 15, 25). The default build pins the ISA
//    (x86-64-v3) and turns off floating-point contraction, and the CSVs
//    carry round-trip decimals, so these runs give the same bits on every
//    x86-64 host, Intel or AMD (docs/reproducibility.md).
//  * kOneDnnRelTol / kOneDnnAbsTol: float32 figures whose inner problems run
//    on oneDNN (MLP figures). oneDNN chooses its kernels (ISA, blocking) at
//    run time from the CPU, so another host may round differently; 1e-5
//    relative is far below any change in behaviour over a quick run.
// Usage:
//   ASSERT_EQ(RunCommand({binary, "--quick", "--out_dir=" + dir}), 0);
//   auto golden = ReadCsv(golden_path);  auto actual = ReadCsv(dir + "/x.csv");
//   EXPECT_TRUE(CompareCsv(*golden, *actual, kGoldenRelTol, kGoldenAbsTol).ok());
#ifndef ES_SINGLE_EXPERIMENTS_FIGURE_TEST_UTIL_H_
#define ES_SINGLE_EXPERIMENTS_FIGURE_TEST_UTIL_H_

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace es::experiments::test {

inline constexpr double kGoldenRelTol = 0.0;
inline constexpr double kGoldenAbsTol = 0.0;
inline constexpr double kOneDnnRelTol = 1e-5;
inline constexpr double kOneDnnAbsTol = 1e-7;

struct CsvTable {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  // Index of a column, or -1.
  int Column(const std::string& name) const;
};

absl::StatusOr<CsvTable> ReadCsv(const std::string& path);
absl::StatusOr<std::string> ReadFile(const std::string& path);

// Runs argv[0] (a path) with the remaining arguments (fork + execv, no
// shell), stderr appended to `log_path` when given. Returns the exit status
// (128 + signal when killed, -1 when it could not start).
int RunCommand(const std::vector<std::string>& argv,
               const std::string& log_path = "");

// Starts argv[0] (a path) with the remaining arguments in the background
// (fork + execv), stdout and stderr appended to `log_path`; returns the pid
// (wait for it with waitpid).
pid_t Spawn(const std::vector<std::string>& argv, const std::string& log_path);

// mpirun: $MPIRUN, else `mpirun` on $PATH; "" when there is none.
std::string FindMpirun();
// {timeout, seconds, mpirun, -np, ranks, --oversubscribe, --mca
// btl_vader_single_copy_mechanism none [, --allow-run-as-root when root]}:
// prepend to a binary's argv. A hung job is killed after `seconds` (exit
// code 124).
std::vector<std::string> MpirunPrefix(const std::string& mpirun, int ranks,
                                      int seconds);

// OK, or the first difference (row, column, both values) and how to
// regenerate.
absl::Status CompareCsv(const CsvTable& golden, const CsvTable& actual,
                        double rel_tol, double abs_tol);

// For a figure trace CSV: value of `column` at the last iteration of each
// seed's run of (method, num_particles), keyed by seed.
std::map<int, double> FinalValues(const CsvTable& table,
                                  const std::string& method, int num_particles,
                                  const std::string& column);
// The same at iteration 0.
std::map<int, double> InitialValues(const CsvTable& table,
                                    const std::string& method,
                                    int num_particles, const std::string& column);

// The whole trace of `column` for each seed's run of (method,
// num_particles), in iteration order, keyed by seed (rows whose cells do not
// parse are skipped).
std::map<int, std::vector<double>> Traces(const CsvTable& table,
                                          const std::string& method,
                                          int num_particles,
                                          const std::string& column);

// True if the JSON text has, inside the top-level "methods" object, an
// object for `method` with numeric "seconds_per_estimate" and
// "final_meta_loss" (the contract benchmarks/peers/ reads). A string scan,
// enough for the files figure_io writes.
bool JsonHasMethodSummary(const std::string& json, const std::string& method);

// $TEST_TMPDIR (or /tmp) joined with `name`, created.
std::string TestDir(const std::string& name);

}  // namespace es::experiments::test

#endif  // ES_SINGLE_EXPERIMENTS_FIGURE_TEST_UTIL_H_
