// mnist_common.cc - see mnist_common.h.
#include "experiments/mnist_common.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "estimators/estimator_factory.h"
#include "experiments/figure_io.h"
#include "inner/data/datasets.h"

namespace es::experiments {
namespace {

bool HasMnist(const std::string& dir) {
  const std::string base = absl::StrCat(dir, "/mnist/train-images-idx3-ubyte");
  return std::filesystem::exists(base + ".gz") || std::filesystem::exists(base);
}

absl::StatusOr<std::string> Checked(const std::string& dir,
                                    const std::string& source) {
  if (HasMnist(dir)) return dir;
  return absl::NotFoundError(absl::StrCat(
      "MNIST not found: ", dir, "/mnist/train-images-idx3-ubyte(.gz) does not "
      "exist (data directory from ", source, "). Pass --data_dir=DIR or set ",
      kDataDirEnvVar, "=DIR where DIR/mnist/ holds the four MNIST IDX files, "
      "e.g. ", kDataDirEnvVar, "=/work/shared/data"));
}

std::set<std::string>* g_command_line_flags = nullptr;

}  // namespace

void RecordCommandLineFlags(int argc, char** argv) {
  if (g_command_line_flags == nullptr) {
    g_command_line_flags = new std::set<std::string>();
  }
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--") break;
    if (a.size() < 2 || a[0] != '-') continue;
    a = a.substr(a[1] == '-' ? 2 : 1);
    a = a.substr(0, a.find('='));
    g_command_line_flags->insert(a);
    if (a.size() > 2 && a.compare(0, 2, "no") == 0) {
      g_command_line_flags->insert(a.substr(2));
    }
  }
}

bool OnCommandLine(const std::string& name) {
  return g_command_line_flags != nullptr && g_command_line_flags->count(name) > 0;
}

bool CommandLineRecorded() { return g_command_line_flags != nullptr; }

absl::StatusOr<std::string> ResolveMnistDataDir(const std::string& flag_value) {
  if (!flag_value.empty()) return Checked(flag_value, "--data_dir");
  const char* env = std::getenv(kDataDirEnvVar);
  if (env != nullptr && env[0] != '\0') {
    return Checked(env, absl::StrCat("$", kDataDirEnvVar));
  }
  const char* ws = std::getenv("BUILD_WORKSPACE_DIRECTORY");
  std::error_code ec;
  const std::string root = ws != nullptr && ws[0] != '\0'
                               ? std::string(ws)
                               : std::filesystem::current_path(ec).string();
  const std::string fallback = absl::StrCat(root, "/../shared/data");
  if (std::filesystem::is_directory(fallback)) {
    return Checked(fallback, "the default <workspace>/../shared/data");
  }
  return absl::NotFoundError(absl::StrCat(
      "no MNIST data directory: --data_dir is empty, $", kDataDirEnvVar,
      " is unset and ", fallback, " does not exist. Pass --data_dir=DIR or "
      "set ", kDataDirEnvVar, "=DIR where DIR/mnist/ holds the four MNIST IDX "
      "files, e.g. ", kDataDirEnvVar, "=/work/shared/data"));
}

absl::StatusOr<MnistSplits> LoadMnistSplits(const std::string& flag_value,
                                            int64_t train_examples) {
  if (train_examples < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--train_examples must be >= 0 (0 = all), got ", train_examples));
  }
  auto dir = ResolveMnistDataDir(flag_value);
  if (!dir.ok()) return dir.status();
  auto data = LoadMnist(*dir);
  if (!data.ok()) return data.status();
  MnistSplits out;
  out.data_dir = *dir;
  out.train = train_examples > 0 && train_examples < data->train.num_examples()
                  ? SliceExamples(data->train, 0, train_examples)
                  : std::move(data->train);
  out.validation = std::move(data->validation);
  return out;
}

MlpDataView ViewOf(const LabeledImages& set) {
  return MlpDataView{set.images, set.labels, set.num_features()};
}

absl::StatusOr<std::pair<double, double>> ParseRange(const std::string& text,
                                                     const char* flag) {
  auto r = ParseDoubleList(text, flag);
  if (!r.ok()) return r.status();
  if (r->size() != 2 || !((*r)[0] <= (*r)[1])) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", flag, " must be min,max with min <= max, got \"", text, "\""));
  }
  return std::make_pair((*r)[0], (*r)[1]);
}

std::vector<double> Linspace(double lo, double hi, int n) {
  std::vector<double> out(std::max(n, 0));
  for (int i = 0; i < n; ++i) {
    out[i] = n == 1 ? lo : lo + (hi - lo) * i / (n - 1);
  }
  return out;
}

RowMatrixXd Grid2d(const std::vector<double>& a, const std::vector<double>& b) {
  RowMatrixXd out(a.size() * b.size(), 2);
  for (size_t i = 0; i < a.size(); ++i) {
    for (size_t j = 0; j < b.size(); ++j) {
      out(i * b.size() + j, 0) = a[i];
      out(i * b.size() + j, 1) = b[j];
    }
  }
  return out;
}

absl::StatusOr<GridResult> EvaluateGrid(const MlpHpoProblem& problem,
                                        const RowMatrixXd& thetas,
                                        const std::vector<uint64_t>& keys,
                                        int max_batch, bool progress) {
  if (keys.empty()) {
    return absl::InvalidArgumentError("EvaluateGrid: no episode keys");
  }
  if (max_batch < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("EvaluateGrid: max_batch must be >= 1, got ", max_batch));
  }
  const auto start = std::chrono::steady_clock::now();
  GridResult out;
  out.thetas = thetas;
  const int rows = static_cast<int>(thetas.rows());
  out.meta_loss.assign(rows, 0.0);
  const int64_t total = static_cast<int64_t>(rows) * keys.size();
  int64_t done = 0;
  for (uint64_t key : keys) {
    for (int r = 0; r < rows; r += max_batch) {
      const int nb = std::min(max_batch, rows - r);
      auto e = problem.EvaluateBatch(thetas.middleRows(r, nb), 0, key, nb);
      if (!e.ok()) return e.status();
      for (int i = 0; i < nb; ++i) {
        out.meta_loss[r + i] += e->sum_loss[i] / static_cast<double>(keys.size());
      }
      done += nb;
      if (progress) {
        const double s = std::chrono::duration<double>(
                             std::chrono::steady_clock::now() - start)
                             .count();
        std::fprintf(stderr,
                     "grid: %lld/%lld points x T = %lld (%.1f points/s, ETA "
                     "%.0f s)\n",
                     static_cast<long long>(done),
                     static_cast<long long>(total),
                     static_cast<long long>(problem.horizon()), done / s,
                     (total - done) * s / done);
      }
    }
  }
  double best = std::numeric_limits<double>::infinity();
  for (int r = 0; r < rows; ++r) {
    if (std::isfinite(out.meta_loss[r]) && out.meta_loss[r] < best) {
      best = out.meta_loss[r];
      out.argmin = r;
    }
  }
  out.seconds = std::chrono::duration<double>(
                    std::chrono::steady_clock::now() - start)
                    .count();
  return out;
}

absl::Status WriteGridCsv(const std::string& path, const GridResult& grid) {
  const int P = static_cast<int>(grid.thetas.cols());
  std::vector<std::string> columns;
  for (int p = 0; p < P; ++p) columns.push_back(absl::StrCat("theta_", p));
  columns.push_back("meta_loss");
  auto csv = CsvWriter::Open(path, columns);
  if (!csv.ok()) return csv.status();
  for (int r = 0; r < grid.thetas.rows(); ++r) {
    std::vector<std::string> cells;
    for (int p = 0; p < P; ++p) cells.push_back(FormatDouble(grid.thetas(r, p)));
    cells.push_back(FormatDouble(grid.meta_loss[r]));
    if (auto s = (*csv)->WriteRow(cells); !s.ok()) return s;
  }
  return (*csv)->Close();
}

absl::Status AddEsMethodWithOptimizer(const UnrolledProblem* problem,
                                      const std::string& base,
                                      const std::string& name,
                                      const OptimizerOptions& optimizer,
                                      MethodRegistry* registry) {
  if (auto s = optimizer.Validate(); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("method ", name, ": ", s.message()));
  }
  MethodRegistry one;
  if (auto s = AddEsMethods(problem, {base}, &one); !s.ok()) return s;
  MethodEntry e = *one.Find(base);
  e.name = name;
  e.description = absl::StrCat(e.description, " (outer ", optimizer.kind,
                               " learning rate ", optimizer.learning_rate, ")");
  e.optimizer = optimizer;
  return registry->Add(std::move(e));
}

std::string SummaryTable(const std::vector<MethodSummary>& methods) {
  std::string out = absl::StrFormat("%-16s %5s %30s %16s %12s\n", "method",
                                    "seeds", "final theta (mean over seeds)",
                                    "final meta_loss", "s/estimate");
  for (const MethodSummary& m : methods) {
    std::string theta;
    for (size_t p = 0; p < m.final_theta_mean.size(); ++p) {
      absl::StrAppend(&theta, p ? ", " : "",
                      absl::StrFormat("%.4g", m.final_theta_mean[p]));
    }
    absl::StrAppend(&out, absl::StrFormat("%-16s %5d %30s %16.6g %12.3g\n",
                                          m.method,
                                          m.final_meta_loss_per_seed.size(),
                                          theta, m.final_meta_loss,
                                          m.seconds_per_estimate));
  }
  return out;
}

}  // namespace es::experiments
