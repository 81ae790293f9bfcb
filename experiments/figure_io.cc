#include "experiments/figure_io.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>

#include <Eigen/Core>

#include "absl/base/config.h"
#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "oneapi/dnnl/dnnl.h"

namespace es::experiments {
namespace {

// The shortest "%.<p>g" text (p = 6..17) that parses back to exactly
// `value`: the files hold the bits, so "same seed, same bits" can be checked
// from them, and round numbers stay short ("0.0001", "560.5").
std::string ShortestRoundTrip(double value) {
  char buf[40];
  for (int precision = 6; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof(buf), "%.*g", precision, value);
    if (std::strtod(buf, nullptr) == value) break;
  }
  return buf;
}


const char* WorkspaceEnv() { return std::getenv("BUILD_WORKSPACE_DIRECTORY"); }

std::string Trim(absl::string_view s) {
  return std::string(absl::StripAsciiWhitespace(s));
}

absl::StatusOr<std::vector<std::string>> SplitItems(absl::string_view text,
                                                    absl::string_view what) {
  std::vector<std::string> items;
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    std::string item = Trim(part);
    if (item.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--", what, "=\"", text,
          "\": expected a comma-separated list with no empty items"));
    }
    items.push_back(std::move(item));
  }
  return items;
}

std::string OneDnnIsaName() {
  switch (dnnl_get_effective_cpu_isa()) {
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    default: return "other";
  }
}

std::string CompiledTargetIsa() {
#if defined(ES_SINGLE_NATIVE_BUILD)
  return "native (--config=native: bits are this CPU's)";
#elif defined(__AVX2__) && defined(__FMA__)
  return "x86-64-v3, no fp contraction";
#else
  return "unknown (not the project's .bazelrc)";
#endif
}

}  // namespace

std::string OutDirPath(absl::string_view flag_value,
                       absl::string_view binary_name, const char* workspace) {
  std::filesystem::path p(flag_value.empty()
                              ? absl::StrCat("results/", binary_name)
                              : std::string(flag_value));
  if (p.is_relative() && workspace != nullptr && workspace[0] != '\0') {
    p = std::filesystem::path(workspace) / p;
  }
  return p.lexically_normal().string();
}

absl::StatusOr<std::string> ResolveOutDir(absl::string_view flag_value,
                                          absl::string_view binary_name) {
  std::string dir = OutDirPath(flag_value, binary_name, WorkspaceEnv());
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--out_dir: cannot create directory \"", dir, "\": ", ec.message()));
  }
  return dir;
}

namespace {

std::string ReadSmallFile(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::string line;
  std::getline(in, line);
  return Trim(line);
}

bool IsHexSha(const std::string& s) {
  return s.size() == 40 &&
         s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

}  // namespace

// Reads the commit from the repository files (no shell, no git binary): the
// .git directory (or a worktree's "gitdir:" file), HEAD, then the loose ref
// or packed-refs of the common directory.
std::string GitCommit() {
  namespace fs = std::filesystem;
  const char* ws = WorkspaceEnv();
  std::error_code ec;
  fs::path dir = (ws != nullptr && ws[0] != '\0') ? fs::path(ws)
                                                  : fs::current_path(ec);
  fs::path git;
  for (fs::path d = dir; !d.empty(); d = d.parent_path()) {
    if (fs::exists(d / ".git", ec)) {
      git = d / ".git";
      break;
    }
    if (d == d.parent_path()) break;
  }
  if (git.empty()) return "unknown";
  if (fs::is_regular_file(git, ec)) {  // a worktree: "gitdir: <path>"
    const std::string line = ReadSmallFile(git);
    if (line.rfind("gitdir: ", 0) != 0) return "unknown";
    fs::path target = line.substr(8);
    git = target.is_absolute() ? target : git.parent_path() / target;
  }
  fs::path common = git;
  if (fs::exists(git / "commondir", ec)) {
    fs::path c = ReadSmallFile(git / "commondir");
    common = c.is_absolute() ? c : git / c;
  }
  const std::string head = ReadSmallFile(git / "HEAD");
  if (IsHexSha(head)) return head;
  if (head.rfind("ref: ", 0) != 0) return "unknown";
  const std::string ref = head.substr(5);
  for (const fs::path& base : {git, common}) {
    const std::string sha = ReadSmallFile(base / ref);
    if (IsHexSha(sha)) return sha;
  }
  std::ifstream packed(common / "packed-refs");
  std::string line;
  while (std::getline(packed, line)) {
    if (line.size() > 41 && line.compare(41, std::string::npos, ref) == 0 &&
        IsHexSha(line.substr(0, 40))) {
      return line.substr(0, 40);
    }
  }
  return "unknown";
}

std::vector<std::pair<std::string, std::string>> LibraryVersions() {
  const dnnl_version_t* v = dnnl_version();
  return {
      {"eigen", absl::StrCat(EIGEN_WORLD_VERSION, ".", EIGEN_MAJOR_VERSION, ".",
                             EIGEN_MINOR_VERSION)},
      {"abseil", absl::StrCat(ABSL_LTS_RELEASE_VERSION, ".",
                              ABSL_LTS_RELEASE_PATCH_LEVEL)},
      {"onednn", v == nullptr ? std::string("unknown")
                              : absl::StrCat(v->major, ".", v->minor, ".",
                                             v->patch)},
      // The ISA oneDNN dispatched to at run time on this machine: float32
      // results of oneDNN kernels may round differently under another one.
      {"onednn_isa", OneDnnIsaName()},
      // The ISA our own code was compiled for (.bazelrc: x86-64-v3 unless
      // --config=native) and whether the compiler may contract into FMA.
      {"target_isa", CompiledTargetIsa()},
#if defined(__clang__)
      {"compiler", absl::StrCat("clang ", __clang_major__, ".",
                                __clang_minor__, ".", __clang_patchlevel__)},
#elif defined(__GNUC__)
      {"compiler", absl::StrCat("gcc ", __GNUC__, ".", __GNUC_MINOR__, ".",
                                __GNUC_PATCHLEVEL__)},
#endif
  };
}

absl::StatusOr<int64_t> CheckedProduct(std::initializer_list<int64_t> factors,
                                       absl::string_view what) {
  int64_t p = 1;
  for (int64_t f : factors) {
    if (f < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": a factor is negative (", f, ")"));
    }
    if (__builtin_mul_overflow(p, f, &p)) {
      return absl::InvalidArgumentError(absl::StrCat(
          what, " overflows a 64-bit integer; lower the settings"));
    }
  }
  return p;
}

std::string FormatDouble(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  return ShortestRoundTrip(value);
}

absl::StatusOr<std::vector<int64_t>> ParseIntList(absl::string_view text,
                                                  absl::string_view what) {
  auto items = SplitItems(text, what);
  if (!items.ok()) return items.status();
  std::vector<int64_t> out;
  for (const std::string& item : *items) {
    int64_t v;
    if (!absl::SimpleAtoi(item, &v)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--", what, ": \"", item, "\" is not an integer (in \"", text, "\")"));
    }
    out.push_back(v);
  }
  return out;
}

absl::StatusOr<std::vector<double>> ParseDoubleList(absl::string_view text,
                                                    absl::string_view what) {
  auto items = SplitItems(text, what);
  if (!items.ok()) return items.status();
  std::vector<double> out;
  for (const std::string& item : *items) {
    double v;
    if (!absl::SimpleAtod(item, &v) || !std::isfinite(v)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", what, ": \"", item,
                       "\" is not a finite number (in \"", text, "\")"));
    }
    out.push_back(v);
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> ParseNameList(absl::string_view text,
                                                       absl::string_view what,
                                                       bool allow_empty) {
  if (allow_empty && Trim(text).empty()) return std::vector<std::string>{};
  return SplitItems(text, what);
}

std::vector<std::string> TraceColumns(int theta_dim) {
  std::vector<std::string> c = {"method", "num_particles", "seed", "iteration",
                                "meta_loss"};
  for (int i = 0; i < theta_dim; ++i) c.push_back(absl::StrCat("theta_", i));
  return c;
}

std::vector<MethodSummary> SummarizeMethods(
    const std::vector<RunSummary>& runs,
    const std::function<int(const std::string&)>& primary_particles) {
  std::vector<MethodSummary> out;
  std::vector<int> counts;
  for (const RunSummary& r : runs) {
    if (r.num_particles != primary_particles(r.method)) continue;
    auto it = std::find_if(out.begin(), out.end(), [&](const MethodSummary& m) {
      return m.method == r.method;
    });
    if (it == out.end()) {
      out.push_back(MethodSummary{r.method, r.num_particles, 0.0, 0.0, {},
                                  std::vector<double>(r.final_theta.size(), 0.0)});
      counts.push_back(0);
      it = out.end() - 1;
    }
    const size_t k = it - out.begin();
    ++counts[k];
    it->seconds_per_estimate += r.seconds_per_estimate;
    it->final_meta_loss += r.final_meta_loss;
    it->final_meta_loss_per_seed.push_back(r.final_meta_loss);
    for (size_t i = 0; i < r.final_theta.size() && i < it->final_theta_mean.size(); ++i) {
      it->final_theta_mean[i] += r.final_theta[i];
    }
  }
  for (size_t k = 0; k < out.size(); ++k) {
    out[k].seconds_per_estimate /= counts[k];
    out[k].final_meta_loss /= counts[k];
    for (double& t : out[k].final_theta_mean) t /= counts[k];
  }
  return out;
}

std::string UtcNow() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string SummaryTable(const std::vector<MethodSummary>& methods) {
  std::string out = absl::StrFormat("%-16s %5s %30s %16s %12s\n", "method",
                                    "seeds", "final theta (mean over seeds)",
                                    "final meta_loss", "s/estimate");
  for (const MethodSummary& m : methods) {
    // A long theta (the learned optimiser's P = 1762) is in the sidecar.
    const bool long_theta = m.final_theta_mean.size() > 64;
    std::string theta =
        long_theta ? absl::StrFormat("(P = %d: see the sidecar)",
                                     m.final_theta_mean.size())
                   : "";
    for (size_t p = 0; !long_theta && p < m.final_theta_mean.size(); ++p) {
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
