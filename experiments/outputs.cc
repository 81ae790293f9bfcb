// outputs.cc - see outputs.h.
#include "experiments/outputs.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace es::experiments {
namespace {

absl::Status WriteError(const std::string& what, const std::string& path) {
  return absl::UnavailableError(absl::StrCat("cannot ", what, " \"", path,
                                             "\": ", std::strerror(errno)));
}

// Writes `text` to `tmp`, flushed and checked; removes it on failure.
absl::Status WriteTemp(const std::string& tmp, const std::string& text) {
  std::FILE* f = std::fopen(tmp.c_str(), "w");
  if (f == nullptr) return WriteError("open for writing", tmp);
  const size_t wrote = std::fwrite(text.data(), 1, text.size(), f);
  const bool flushed = std::fflush(f) == 0;
  const bool closed = std::fclose(f) == 0;
  if (wrote != text.size() || !flushed || !closed) {
    absl::Status s = WriteError("write", tmp);
    std::remove(tmp.c_str());
    return s;
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status Table::AddRow(std::vector<std::string> cells) {
  if (cells.size() != columns_.size()) {
    return absl::InternalError(absl::StrCat(
        file_name_, ": a row has ", cells.size(), " cells, the header ",
        columns_.size()));
  }
  for (const std::string& c : cells) {
    if (c.find_first_of(",\"\n\r") != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          file_name_, ": cell \"", c,
          "\" contains a comma, quote or newline (not allowed in a tidy CSV)"));
    }
  }
  rows_.push_back(std::move(cells));
  return absl::OkStatus();
}

std::string Table::Text() const {
  std::string out = absl::StrCat(absl::StrJoin(columns_, ","), "\n");
  for (const auto& r : rows_) absl::StrAppend(&out, absl::StrJoin(r, ","), "\n");
  return out;
}

// The file name and the header: a checkpoint of a table with other columns
// is refused.
std::string Table::Signature() const {
  return absl::StrCat(file_name_, ":", absl::StrJoin(columns_, ","));
}

void Table::Save(StateWriter* out) const {
  out->Tag(Signature());
  out->Pod(static_cast<uint64_t>(rows_.size()));
  for (const auto& r : rows_) {
    for (const std::string& c : r) {
      out->Pod(static_cast<uint32_t>(c.size()));
      out->Bytes(c.data(), c.size());
    }
  }
}

absl::Status Table::Load(StateReader* in) {
  if (auto s = in->Tag(Signature()); !s.ok()) return s;
  uint64_t n = 0;
  if (auto s = in->Pod(&n); !s.ok()) return s;
  if (n > in->remaining()) {
    return absl::DataLossError(
        absl::StrCat("checkpoint: table ", file_name_, " is corrupt"));
  }
  rows_.assign(n, std::vector<std::string>(columns_.size()));
  for (auto& r : rows_) {
    for (std::string& c : r) {
      uint32_t len = 0;
      if (auto s = in->Pod(&len); !s.ok()) return s;
      if (len > in->remaining()) {
        return absl::DataLossError(
            absl::StrCat("checkpoint: table ", file_name_, " is truncated"));
      }
      c.resize(len);
      if (auto s = in->Bytes(c.data(), len); !s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

Table* FigureOutputs::AddTable(const std::string& suffix,
                               std::vector<std::string> columns) {
  tables_.push_back(std::make_unique<Table>(
      absl::StrCat(binary_, suffix, ".csv"), std::move(columns)));
  return tables_.back().get();
}

Table* FigureOutputs::FindTable(const std::string& suffix) {
  const std::string name = absl::StrCat(binary_, suffix, ".csv");
  for (auto& t : tables_) {
    if (t->file_name() == name) return t.get();
  }
  return nullptr;
}

void FigureOutputs::SaveTables(StateWriter* out) const {
  out->Pod(static_cast<uint64_t>(tables_.size()));
  for (const auto& t : tables_) t->Save(out);
}

absl::Status FigureOutputs::LoadTables(StateReader* in) {
  uint64_t n = 0;
  if (auto s = in->Pod(&n); !s.ok()) return s;
  if (n != tables_.size()) {
    return absl::DataLossError(absl::StrCat(
        "checkpoint has ", n, " tables, this run declares ", tables_.size(),
        " (different settings?)"));
  }
  for (auto& t : tables_) {
    if (auto s = t->Load(in); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status WriteFileAtomically(const std::string& path,
                                 const std::string& text) {
  const std::string tmp = path + ".tmp";
  if (auto s = WriteTemp(tmp, text); !s.ok()) return s;
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    absl::Status s = WriteError("rename into place", path);
    std::remove(tmp.c_str());
    return s;
  }
  return absl::OkStatus();
}

absl::Status FigureOutputs::Commit() {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) {
    return absl::UnavailableError(absl::StrCat(
        "cannot create the output directory \"", dir_, "\": ", ec.message()));
  }
  // All temporary files first: if one fails, nothing is replaced.
  std::vector<std::pair<std::string, std::string>> files;  // path, text
  for (const auto& t : tables_) {
    files.emplace_back(absl::StrCat(dir_, "/", t->file_name()), t->Text());
  }
  files.emplace_back(absl::StrCat(dir_, "/", binary_, ".json"),
                     sidecar_.dump(2) + "\n");
  std::vector<std::string> written;
  for (const auto& [path, text] : files) {
    if (absl::Status s = WriteTemp(path + ".tmp", text); !s.ok()) {
      for (const std::string& tmp : written) std::remove(tmp.c_str());
      return s;
    }
    written.push_back(path + ".tmp");
  }
  for (const auto& [path, text] : files) {  // sidecar last
    if (std::rename((path + ".tmp").c_str(), path.c_str()) != 0) {
      return WriteError("rename into place", path);
    }
  }
  // Remove what an earlier run wrote and this one does not produce.
  std::set<std::string> ours;
  for (const auto& [path, text] : files) {
    ours.insert(std::filesystem::path(path).filename().string());
  }
  for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
    const std::string name = entry.path().filename().string();
    const bool mine =
        name == binary_ + ".csv" || name == binary_ + ".json" ||
        (absl::StartsWith(name, binary_ + "_") && absl::EndsWith(name, ".csv"));
    if (mine && ours.count(name) == 0) {
      std::filesystem::remove(entry.path(), ec);
      std::fprintf(stderr, "removed stale output %s (not produced by this run)\n",
                   entry.path().c_str());
    }
  }
  return absl::OkStatus();
}

}  // namespace es::experiments
