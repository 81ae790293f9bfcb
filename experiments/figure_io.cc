#include "experiments/figure_io.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
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

std::string GitCommit() {
  const char* ws = WorkspaceEnv();
  std::string dir = (ws != nullptr && ws[0] != '\0') ? ws : ".";
  // Single-quote the directory for the shell (quotes inside are escaped).
  std::string quoted = "'";
  for (char c : dir) quoted += (c == '\'') ? std::string("'\\''") : std::string(1, c);
  quoted += "'";
  const std::string cmd =
      absl::StrCat("git -C ", quoted, " rev-parse HEAD 2>/dev/null");
  std::FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return "unknown";
  char buf[128] = {0};
  std::string out;
  while (std::fgets(buf, sizeof(buf), pipe) != nullptr) out += buf;
  const int rc = pclose(pipe);
  out = Trim(out);
  if (rc != 0 || out.size() != 40) return "unknown";
  return out;
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
                                                       absl::string_view what) {
  return SplitItems(text, what);
}

absl::StatusOr<std::unique_ptr<CsvWriter>> CsvWriter::Open(
    const std::string& path, std::vector<std::string> columns) {
  if (columns.empty()) return absl::InvalidArgumentError("CSV needs columns");
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot open \"", path, "\" for writing: ", std::strerror(errno)));
  }
  std::unique_ptr<CsvWriter> w(new CsvWriter(path, f, columns.size()));
  if (auto s = w->WriteRow(columns); !s.ok()) return s;
  return w;
}

CsvWriter::~CsvWriter() {
  if (file_ != nullptr) std::fclose(file_);
}

absl::Status CsvWriter::WriteRow(const std::vector<std::string>& cells) {
  if (file_ == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("CSV \"", path_, "\" is closed"));
  }
  if (cells.size() != num_columns_) {
    return absl::InvalidArgumentError(
        absl::StrCat("CSV \"", path_, "\": row has ", cells.size(),
                     " cells, the header has ", num_columns_));
  }
  for (const std::string& c : cells) {
    if (c.find_first_of(",\"\n\r") != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          "CSV \"", path_, "\": cell \"", c,
          "\" contains a comma, quote or newline (not allowed in tidy CSV)"));
    }
  }
  const std::string line = absl::StrCat(absl::StrJoin(cells, ","), "\n");
  if (std::fputs(line.c_str(), file_) < 0) {
    return absl::InternalError(absl::StrCat("write to \"", path_, "\" failed"));
  }
  return absl::OkStatus();
}

absl::Status CsvWriter::Close() {
  if (file_ == nullptr) return absl::OkStatus();
  const bool error = std::ferror(file_) != 0;
  const int rc = std::fclose(file_);
  file_ = nullptr;
  if (error || rc != 0) {
    return absl::InternalError(absl::StrCat("writing \"", path_, "\" failed"));
  }
  return absl::OkStatus();
}

std::vector<std::string> TraceColumns(int theta_dim) {
  std::vector<std::string> c = {"method", "num_particles", "seed", "iteration",
                                "meta_loss"};
  for (int i = 0; i < theta_dim; ++i) c.push_back(absl::StrCat("theta_", i));
  return c;
}

absl::Status WriteTrace(CsvWriter* csv, const std::string& method,
                        int num_particles, uint64_t seed,
                        const std::vector<TracePoint>& trace) {
  std::vector<std::string> row;
  for (const TracePoint& p : trace) {
    row = {method, absl::StrCat(num_particles), absl::StrCat(seed),
           absl::StrCat(p.iteration), FormatDouble(p.meta_loss)};
    for (int i = 0; i < p.theta.size(); ++i) row.push_back(FormatDouble(p.theta[i]));
    if (auto s = csv->WriteRow(row); !s.ok()) return s;
  }
  return absl::OkStatus();
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

std::vector<std::pair<std::string, std::string>> FlagsDefinedIn(
    absl::string_view file_substring) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (flag->Filename().find(std::string(file_substring)) == std::string::npos) {
      continue;
    }
    out.emplace_back(std::string(name), flag->CurrentValue());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string JsonString(absl::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += absl::StrFormat("\\u%04x", c);
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

std::string JsonNumber(double value) {
  if (!std::isfinite(value)) return "null";
  return ShortestRoundTrip(value);
}

namespace {

std::string JsonNumbers(const std::vector<double>& v) {
  std::vector<std::string> parts;
  for (double x : v) parts.push_back(JsonNumber(x));
  return absl::StrCat("[", absl::StrJoin(parts, ", "), "]");
}

std::string JsonObject(const std::vector<std::pair<std::string, std::string>>& kv,
                       absl::string_view indent) {
  if (kv.empty()) return "{}";
  std::vector<std::string> parts;
  for (const auto& [k, v] : kv) {
    parts.push_back(absl::StrCat(indent, "  ", JsonString(k), ": ", v));
  }
  return absl::StrCat("{\n", absl::StrJoin(parts, ",\n"), "\n", indent, "}");
}

std::string UtcNow() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

absl::Status WriteSidecar(const std::string& path, const Sidecar& sc) {
  std::vector<std::pair<std::string, std::string>> top;
  top.emplace_back("binary", JsonString(sc.binary));
  top.emplace_back("figure", JsonString(sc.figure));
  top.emplace_back("description", JsonString(sc.description));
  top.emplace_back("git_commit", JsonString(GitCommit()));
  top.emplace_back("written_at_utc", JsonString(UtcNow()));
  top.emplace_back("wall_seconds", JsonNumber(sc.wall_seconds));
  std::vector<std::string> seeds;
  for (int64_t s : sc.seeds) seeds.push_back(absl::StrCat(s));
  top.emplace_back("seeds", absl::StrCat("[", absl::StrJoin(seeds, ", "), "]"));
  std::vector<std::pair<std::string, std::string>> versions;
  for (const auto& [k, v] : LibraryVersions()) versions.emplace_back(k, JsonString(v));
  top.emplace_back("library_versions", JsonObject(versions, "  "));
  std::vector<std::pair<std::string, std::string>> flags;
  for (const auto& [k, v] : sc.flags) flags.emplace_back(k, JsonString(v));
  top.emplace_back("flags", JsonObject(flags, "  "));
  top.emplace_back("settings", JsonObject(sc.settings, "  "));

  std::vector<std::pair<std::string, std::string>> methods;
  for (const MethodSummary& m : sc.methods) {
    methods.emplace_back(
        m.method,
        JsonObject({{"seconds_per_estimate", JsonNumber(m.seconds_per_estimate)},
                    {"final_meta_loss", JsonNumber(m.final_meta_loss)},
                    {"num_particles", absl::StrCat(m.num_particles)},
                    {"final_meta_loss_per_seed",
                     JsonNumbers(m.final_meta_loss_per_seed)},
                    {"final_theta_mean", JsonNumbers(m.final_theta_mean)}},
                   "    "));
  }
  top.emplace_back("methods", JsonObject(methods, "  "));

  std::vector<std::string> runs;
  for (const RunSummary& r : sc.runs) {
    runs.push_back(absl::StrCat(
        "    {\"method\": ", JsonString(r.method),
        ", \"num_particles\": ", r.num_particles, ", \"seed\": ", r.seed,
        ", \"iterations\": ", r.iterations,
        ", \"seconds_per_estimate\": ", JsonNumber(r.seconds_per_estimate),
        ", \"wall_seconds\": ", JsonNumber(r.wall_seconds),
        ", \"final_meta_loss\": ", JsonNumber(r.final_meta_loss),
        ", \"final_theta\": ", JsonNumbers(r.final_theta),
        ", \"particle_steps\": ", r.particle_steps,
        ", \"dropped_pairs\": ", r.dropped_pairs, "}"));
  }
  top.emplace_back("runs", runs.empty() ? "[]"
                                        : absl::StrCat("[\n", absl::StrJoin(runs, ",\n"),
                                                       "\n  ]"));

  const std::string text = absl::StrCat(JsonObject(top, ""), "\n");
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "w");
  if (f == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot open \"", tmp, "\" for writing: ", std::strerror(errno)));
  }
  const bool ok = std::fputs(text.c_str(), f) >= 0;
  const bool closed = std::fclose(f) == 0;
  if (!ok || !closed || std::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("writing \"", path, "\" failed"));
  }
  return absl::OkStatus();
}

}  // namespace es::experiments
