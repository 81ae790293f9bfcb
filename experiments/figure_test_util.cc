#include "experiments/figure_test_util.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace es::experiments::test {
namespace {


bool ParseNumber(const std::string& s, double* v) {
  if (s == "nan") { *v = std::nan(""); return true; }
  if (s == "inf") { *v = INFINITY; return true; }
  if (s == "-inf") { *v = -INFINITY; return true; }
  return absl::SimpleAtod(s, v);
}

bool NumbersMatch(double a, double b, double rel, double abs) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  if (std::isinf(a) || std::isinf(b)) return a == b;
  return std::fabs(a - b) <= abs + rel * std::max(std::fabs(a), std::fabs(b));
}

std::map<int, double> ValuesAt(const CsvTable& t, const std::string& method,
                               int n, const std::string& column, bool last) {
  std::map<int, double> out;
  std::map<int, long long> best_iteration;
  const int cm = t.Column("method"), cn = t.Column("num_particles"),
            cs = t.Column("seed"), ci = t.Column("iteration"),
            cv = t.Column(column);
  if (cm < 0 || cn < 0 || cs < 0 || ci < 0 || cv < 0) return out;
  for (const auto& r : t.rows) {
    if (r[cm] != method || r[cn] != absl::StrCat(n)) continue;
    int seed;
    long long it;
    double v;
    if (!absl::SimpleAtoi(r[cs], &seed) || !absl::SimpleAtoi(r[ci], &it) ||
        !ParseNumber(r[cv], &v)) {
      continue;
    }
    auto b = best_iteration.find(seed);
    const bool better = b == best_iteration.end() ||
                        (last ? it > b->second : it < b->second);
    if (better) {
      best_iteration[seed] = it;
      out[seed] = v;
    }
  }
  return out;
}

}  // namespace

int CsvTable::Column(const std::string& name) const {
  for (size_t i = 0; i < header.size(); ++i) {
    if (header[i] == name) return static_cast<int>(i);
  }
  return -1;
}

pid_t Spawn(const std::vector<std::string>& argv, const std::string& log_path) {
  const pid_t pid = fork();
  if (pid == 0) {
    if (std::freopen(log_path.c_str(), "a", stdout) == nullptr ||
        std::freopen(log_path.c_str(), "a", stderr) == nullptr) {
      _exit(126);
    }
    std::vector<char*> args;
    for (const auto& s : argv) args.push_back(const_cast<char*>(s.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  return pid;
}

std::string FindMpirun() {
  if (const char* m = std::getenv("MPIRUN"); m != nullptr && m[0] != '\0') {
    return m;
  }
  const char* path = std::getenv("PATH");
  for (absl::string_view dir :
       absl::StrSplit(path != nullptr ? path : "/usr/bin", ':')) {
    const std::string candidate = absl::StrCat(dir, "/mpirun");
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

std::vector<std::string> MpirunPrefix(const std::string& mpirun, int ranks,
                                      int seconds) {
  // No single-copy (CMA/ptrace) transfers: containers often forbid them, and
  // the messages here are a few kilobytes. Under tools/sanitize.sh the ranks
  // skip LeakSanitizer: Open MPI's plugins keep memory until exit and are
  // unloaded by then, so their leaks cannot be suppressed by name (the same
  // code runs leak-checked in the one-process runs); ignored by other builds.
  std::vector<std::string> a = {"/usr/bin/timeout", std::to_string(seconds),
                                mpirun, "-np", std::to_string(ranks),
                                "--oversubscribe", "--mca",
                                "btl_vader_single_copy_mechanism", "none",
                                "-x", "ASAN_OPTIONS=detect_leaks=0:abort_on_error=1"};
  if (geteuid() == 0) a.push_back("--allow-run-as-root");
  return a;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read \"", path, "\""));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

absl::StatusOr<CsvTable> ReadCsv(const std::string& path) {
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  CsvTable t;
  bool first = true;
  for (absl::string_view line : absl::StrSplit(*text, '\n', absl::SkipEmpty())) {
    std::vector<std::string> cells = absl::StrSplit(line, ',');
    if (first) {
      t.header = std::move(cells);
      first = false;
      continue;
    }
    if (cells.size() != t.header.size()) {
      return absl::DataLossError(absl::StrCat(
          path, ": row ", t.rows.size() + 1, " has ", cells.size(),
          " cells, header has ", t.header.size()));
    }
    t.rows.push_back(std::move(cells));
  }
  if (first) return absl::DataLossError(absl::StrCat(path, ": empty file"));
  return t;
}

int RunCommand(const std::vector<std::string>& argv,
               const std::string& log_path) {
  // fork + execv: no shell, so no argument is ever interpreted.
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    if (!log_path.empty()) {
      const int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        dup2(fd, STDERR_FILENO);
        close(fd);
      }
    }
    execv(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  if (waitpid(pid, &status, 0) < 0) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

absl::Status CompareCsv(const CsvTable& golden, const CsvTable& actual,
                        double rel_tol, double abs_tol) {
  const std::string hint =
      " (if the change is intended, regenerate with "
      "experiments/testdata/regenerate.sh and say why in the commit)";
  if (golden.header != actual.header) {
    return absl::FailedPreconditionError(absl::StrCat(
        "header differs: golden \"", absl::StrJoin(golden.header, ","),
        "\", actual \"", absl::StrJoin(actual.header, ","), "\"", hint));
  }
  if (golden.rows.size() != actual.rows.size()) {
    return absl::FailedPreconditionError(
        absl::StrCat("row count differs: golden ", golden.rows.size(),
                     ", actual ", actual.rows.size(), hint));
  }
  for (size_t r = 0; r < golden.rows.size(); ++r) {
    for (size_t c = 0; c < golden.header.size(); ++c) {
      const std::string& g = golden.rows[r][c];
      const std::string& a = actual.rows[r][c];
      double gv, av;
      const bool numeric = ParseNumber(g, &gv) && ParseNumber(a, &av);
      const bool match =
          numeric ? NumbersMatch(gv, av, rel_tol, abs_tol) : g == a;
      if (!match) {
        return absl::FailedPreconditionError(absl::StrCat(
            "row ", r + 1, " (", absl::StrJoin(golden.rows[r].begin(),
                                               golden.rows[r].begin() + std::min<size_t>(4, golden.header.size()), ","),
            "), column ", golden.header[c], ": golden ", g, ", actual ", a,
            " (rel_tol ", rel_tol, ", abs_tol ", abs_tol, ")", hint));
      }
    }
  }
  return absl::OkStatus();
}

std::map<int, double> FinalValues(const CsvTable& table,
                                  const std::string& method, int num_particles,
                                  const std::string& column) {
  return ValuesAt(table, method, num_particles, column, /*last=*/true);
}

std::map<int, double> InitialValues(const CsvTable& table,
                                    const std::string& method,
                                    int num_particles,
                                    const std::string& column) {
  return ValuesAt(table, method, num_particles, column, /*last=*/false);
}

std::map<int, std::vector<double>> Traces(const CsvTable& table,
                                          const std::string& method,
                                          int num_particles,
                                          const std::string& column) {
  std::map<int, std::vector<std::pair<long long, double>>> points;
  const int cm = table.Column("method"), cn = table.Column("num_particles"),
            cs = table.Column("seed"), ci = table.Column("iteration"),
            cv = table.Column(column);
  std::map<int, std::vector<double>> out;
  if (cm < 0 || cn < 0 || cs < 0 || ci < 0 || cv < 0) return out;
  for (const auto& r : table.rows) {
    if (r[cm] != method || r[cn] != absl::StrCat(num_particles)) continue;
    int seed;
    long long it;
    double v;
    if (!absl::SimpleAtoi(r[cs], &seed) || !absl::SimpleAtoi(r[ci], &it) ||
        !ParseNumber(r[cv], &v)) {
      continue;
    }
    points[seed].push_back({it, v});
  }
  for (auto& [seed, p] : points) {
    std::stable_sort(p.begin(), p.end(), [](const auto& a, const auto& b) {
      return a.first < b.first;
    });
    for (const auto& [it, v] : p) out[seed].push_back(v);
  }
  return out;
}

bool JsonHasMethodSummary(const std::string& json, const std::string& method) {
  const size_t methods = json.find("\"methods\": {");
  if (methods == std::string::npos) return false;
  const size_t m = json.find(absl::StrCat("\"", method, "\": {"), methods);
  if (m == std::string::npos) return false;
  const size_t end = json.find('}', m);
  if (end == std::string::npos) return false;
  const std::string body = json.substr(m, end - m);
  for (const char* key : {"\"seconds_per_estimate\": ", "\"final_meta_loss\": "}) {
    const size_t k = body.find(key);
    if (k == std::string::npos) return false;
    const size_t v = k + std::string(key).size();
    const size_t stop = body.find_first_of(",\n}", v);
    double x;
    if (!absl::SimpleAtod(body.substr(v, stop - v), &x)) return false;
  }
  return true;
}

std::string TestDir(const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::filesystem::path p = std::filesystem::path(tmp ? tmp : "/tmp") / name;
  std::filesystem::create_directories(p);
  return p.string();
}

}  // namespace es::experiments::test
