// uci_reader.cc - see uci_reader.h.
#include "inner/data/uci_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace es {
namespace {

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

// The token as it can be shown in a message: escaped, at most 32 bytes.
std::string Shown(absl::string_view token) {
  constexpr size_t kMax = 32;
  std::string out = absl::CEscape(token.substr(0, kMax));
  if (token.size() > kMax) absl::StrAppend(&out, "...");
  return out;
}

absl::Status OpenError(const std::string& path, int err) {
  const std::string message =
      absl::StrCat("cannot open UCI data file ", path, ": ", std::strerror(err));
  if (err == ENOENT || err == ENOTDIR) return absl::NotFoundError(message);
  if (err == EACCES || err == EPERM) {
    return absl::PermissionDeniedError(message);
  }
  return absl::UnavailableError(message);
}

// Reads the whole file, refusing more than max_bytes (checked on the open
// descriptor before reading, and again while reading in case it grows).
absl::StatusOr<std::string> ReadSmallFile(const std::string& path,
                                          int64_t max_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return OpenError(path, errno);
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  struct stat st;
  if (::fstat(fd, &st) != 0) return OpenError(path, errno);
  if (S_ISDIR(st.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, " is a directory; expected a whitespace-separated UCI data file"));
  }
  if (S_ISREG(st.st_mode) && st.st_size > max_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " has ", st.st_size, " bytes; expected at most ",
                     max_bytes, " for a UCI data file"));
  }
  std::string bytes;
  char buffer[1 << 16];
  for (;;) {
    const ssize_t got = ::read(fd, buffer, sizeof(buffer));
    if (got < 0) {
      if (errno == EINTR) continue;
      return absl::UnavailableError(absl::StrCat(
          "cannot read UCI data file ", path, ": ", std::strerror(errno)));
    }
    if (got == 0) break;
    if (static_cast<int64_t>(bytes.size()) + got > max_bytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, " has more than ", max_bytes,
          " bytes; expected at most that for a UCI data file"));
    }
    bytes.append(buffer, static_cast<size_t>(got));
  }
  return bytes;
}

// Parses one field; the whole token must be a finite decimal number.
absl::Status ParseField(const std::string& path, int64_t line, int64_t column,
                        absl::string_view token, double* out) {
  const char* first = token.data();
  const char* last = token.data() + token.size();
  // std::from_chars takes no leading '+'; accept one before a digit or '.'.
  if (token.size() > 1 && token[0] == '+' && token[1] != '-' &&
      token[1] != '+') {
    ++first;
  }
  double value = 0.0;
  const std::from_chars_result r =
      std::from_chars(first, last, value, std::chars_format::general);
  if (r.ec == std::errc::result_out_of_range) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ":", line, ": column ", column, ": '", Shown(token),
        "' is out of the range of a double; expected a finite number"));
  }
  if (r.ec != std::errc() || r.ptr != last || !std::isfinite(value)) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ":", line, ": column ", column, ": '", Shown(token),
                     "' is not a finite decimal number"));
  }
  *out = value;
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<UciTable> ReadUciTable(const std::string& path,
                                      const UciReadOptions& options) {
  if (options.expected_columns < 0 || options.expected_rows < 0 ||
      options.max_bytes < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ReadUciTable(", path, "): options expected_columns = ",
        options.expected_columns, ", expected_rows = ", options.expected_rows,
        ", max_bytes = ", options.max_bytes,
        "; expected columns >= 0, rows >= 0 (0 = any), max_bytes >= 1"));
  }
  absl::StatusOr<std::string> bytes = ReadSmallFile(path, options.max_bytes);
  if (!bytes.ok()) return bytes.status();

  UciTable table;
  table.cols = options.expected_columns;
  const absl::string_view text = *bytes;
  int64_t line = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    ++line;
    size_t end = text.find('\n', pos);
    if (end == absl::string_view::npos) end = text.size();
    const absl::string_view row = text.substr(pos, end - pos);
    pos = end + 1;

    int64_t fields = 0;
    size_t i = 0;
    while (i < row.size()) {
      while (i < row.size() && IsSpace(row[i])) ++i;
      if (i == row.size()) break;
      size_t j = i;
      while (j < row.size() && !IsSpace(row[j])) ++j;
      ++fields;
      if (table.cols > 0 && fields > table.cols) break;
      double value = 0.0;
      absl::Status s =
          ParseField(path, line, fields, row.substr(i, j - i), &value);
      if (!s.ok()) return s;
      table.values.push_back(value);
      i = j;
    }
    if (fields == 0) continue;  // blank line
    if (table.cols == 0) table.cols = fields;
    if (fields != table.cols) {
      const bool more = fields > table.cols;
      return absl::InvalidArgumentError(absl::StrCat(
          path, ":", line, ": found ", more ? "more than " : "",
          more ? table.cols : fields, " whitespace-separated numbers; expected ",
          table.cols,
          options.expected_columns > 0 ? "" : " (the count of the first row)"));
    }
    ++table.rows;
  }
  if (table.rows == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": no data rows (", text.empty() ? "empty file" : "only blank lines",
        "); expected whitespace-separated numbers, one row per line"));
  }
  if (options.expected_rows > 0 && table.rows != options.expected_rows) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": ", table.rows, " data rows (", line,
                     " lines); expected ", options.expected_rows,
                     " rows (truncated or wrong file?)"));
  }
  return table;
}

absl::StatusOr<UciTable> LoadYachtHydrodynamics(const std::string& data_dir) {
  if (data_dir.empty()) {
    return absl::InvalidArgumentError(
        "LoadYachtHydrodynamics: the data directory is empty; set "
        "ES_SINGLE_DATA_DIR (the folder that holds yacht/)");
  }
  UciReadOptions options;
  options.expected_columns = kYachtColumns;
  options.expected_rows = kYachtRows;
  return ReadUciTable(absl::StrCat(data_dir, "/", kYachtRelativePath), options);
}

}  // namespace es
