// outputs.h - where a figure binary's results go, written so that they are
// never lost or half-written (docs/reliability.md):
//
//   * every output is an in-memory Table (tidy CSV: one header, rows of
//     exactly as many cells) or the JSON sidecar, collected while the run
//     goes on and written only by Commit();
//   * Commit() writes each file to "<name>.tmp" in the output directory,
//     flushes and checks every write, then renames the files into place
//     (the sidecar last, so its presence means a complete set), and removes
//     outputs of an earlier run in the same directory that this run no
//     longer produces (files "<binary>.csv", "<binary>_*.csv",
//     "<binary>.json"). A failure leaves the earlier outputs untouched and
//     removes the temporary files;
//   * nothing is created in the directory before Commit() except the
//     checkpoint (run_loop.h), so a rejected flag or a crash never empties
//     an earlier result.
//
// Tables serialise themselves into checkpoints (Save/Load), so a resumed run
// writes the same rows as an uninterrupted one.
//
// Usage:
//   FigureOutputs out(dir, "fig5_influence");
//   Table* trace = out.AddTable("", TraceColumns(1));      // fig5_influence.csv
//   Table* grid = out.AddTable("_grid", {"theta_0", "meta_loss"});
//   RETURN_IF_ERROR(trace->AddRow({"pes", "4", ...}));
//   out.sidecar()["settings"]["iterations"] = 3000;
//   RETURN_IF_ERROR(out.Commit());
#ifndef ES_SINGLE_EXPERIMENTS_OUTPUTS_H_
#define ES_SINGLE_EXPERIMENTS_OUTPUTS_H_

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "estimators/state_io.h"

namespace es::experiments {

class Table {
 public:
  Table(std::string file_name, std::vector<std::string> columns)
      : file_name_(std::move(file_name)), columns_(std::move(columns)) {}

  // Exactly columns().size() cells, none with a comma, quote or newline.
  absl::Status AddRow(std::vector<std::string> cells);

  const std::string& file_name() const { return file_name_; }
  const std::vector<std::string>& columns() const { return columns_; }
  const std::vector<std::vector<std::string>>& rows() const { return rows_; }
  // The CSV text.
  std::string Text() const;

  void Save(StateWriter* out) const;
  absl::Status Load(StateReader* in);

 private:
  std::string Signature() const;

  std::string file_name_;
  std::vector<std::string> columns_;
  std::vector<std::vector<std::string>> rows_;
};

class FigureOutputs {
 public:
  FigureOutputs(std::string dir, std::string binary)
      : dir_(std::move(dir)), binary_(std::move(binary)) {}

  const std::string& dir() const { return dir_; }
  const std::string& binary() const { return binary_; }

  // A table written to <dir>/<binary><suffix>.csv. Suffix "" is the trace.
  // The returned pointer lives as long as this object.
  Table* AddTable(const std::string& suffix, std::vector<std::string> columns);
  Table* FindTable(const std::string& suffix);
  const std::vector<std::unique_ptr<Table>>& tables() const { return tables_; }

  // The sidecar, written to <dir>/<binary>.json (pretty-printed).
  nlohmann::ordered_json& sidecar() { return sidecar_; }

  // Checkpointing of every table (by file name).
  void SaveTables(StateWriter* out) const;
  absl::Status LoadTables(StateReader* in);

  // See the file comment. Creates the directory if needed.
  absl::Status Commit();

 private:
  std::string dir_, binary_;
  std::vector<std::unique_ptr<Table>> tables_;
  nlohmann::ordered_json sidecar_ = nlohmann::ordered_json::object();
};

// Writes `text` to `path` atomically: to path + ".tmp", flushed and
// checked, then renamed over `path`.
absl::Status WriteFileAtomically(const std::string& path,
                                 const std::string& text);

}  // namespace es::experiments

#endif  // ES_SINGLE_EXPERIMENTS_OUTPUTS_H_
