// uci_reader.h - reader for the whitespace-separated numeric tables of the
// UCI Machine Learning Repository (Asuncion & Newman 2007), with input errors
// reported as absl::Status.
//
// Used for UCI Yacht Hydrodynamics (Gerritsma, Onnink & Versluis), the data
// set of the L2-tuning experiment of the ES-Single paper (Vicol et al., ICML
// 2023, App. C, Fig. 14) and of PES (Vicol et al., ICML 2021).
//
// Format: one row per line, numbers separated by any run of spaces or tabs
// (the UCI yacht file mixes single and double spaces and has a trailing space
// on one row); '\r' counts as whitespace (CRLF files read the same); blank or
// whitespace-only lines are skipped (the yacht file ends with one). Every
// non-blank line must hold the same number of finite decimal numbers.
//
// Every problem - missing or unreadable file, directory, file over the size
// limit, empty file, a line with the wrong number of fields, a field that is
// not a finite number (text, binary bytes, "nan", "inf"), a row count other
// than the expected one - comes back as a status naming the path, the line
// number and what was expected. Nothing aborts; memory is bounded by the
// size limit, checked before anything is read.
//
// Usage:
//   absl::StatusOr<UciTable> t = ReadUciTable(path, {.expected_columns = 7});
//   if (!t.ok()) return t.status();
//   double target_of_row_3 = t->at(3, t->cols - 1);
//
//   absl::StatusOr<UciTable> yacht = LoadYachtHydrodynamics(data_dir);
//   // 308 x 7, read from <data_dir>/yacht/yacht_hydrodynamics.data
#ifndef ES_SINGLE_INNER_DATA_UCI_READER_H_
#define ES_SINGLE_INNER_DATA_UCI_READER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace es {

// A dense numeric table, row-major: values[r * cols + c].
struct UciTable {
  int64_t rows = 0;
  int64_t cols = 0;
  std::vector<double> values;

  double at(int64_t r, int64_t c) const { return values[r * cols + c]; }
};

struct UciReadOptions {
  // Columns every row must have; 0 = take the count from the first row.
  int64_t expected_columns = 0;
  // Rows the file must have; 0 = any number >= 1.
  int64_t expected_rows = 0;
  // Files larger than this are rejected before reading (bounds memory).
  int64_t max_bytes = int64_t{64} << 20;
};

// Reads a whitespace-separated numeric table. Error codes: NotFound (no
// file), PermissionDenied / Unavailable (cannot open or read),
// InvalidArgument (directory, too large, empty, bad field, wrong column or
// row count).
absl::StatusOr<UciTable> ReadUciTable(const std::string& path,
                                      const UciReadOptions& options = {});

// UCI Yacht Hydrodynamics: 308 rows x 7 columns (6 hull features, then the
// residuary resistance). Reads <data_dir>/yacht/yacht_hydrodynamics.data.
inline constexpr int64_t kYachtRows = 308;
inline constexpr int64_t kYachtColumns = 7;
inline constexpr char kYachtRelativePath[] = "yacht/yacht_hydrodynamics.data";
absl::StatusOr<UciTable> LoadYachtHydrodynamics(const std::string& data_dir);

}  // namespace es

#endif  // ES_SINGLE_INNER_DATA_UCI_READER_H_
