// ptb_reader.cc - see ptb_reader.h.
#include "inner/data/ptb_reader.h"

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace es {
namespace {

constexpr char kDataDirEnv[] = "ES_SINGLE_DATA_DIR";

std::array<int32_t, 256> MakeTable() {
  std::array<int32_t, 256> table;
  table.fill(-1);
  for (int k = 0; k < kPtbVocabSize; ++k) {
    table[static_cast<unsigned char>(kPtbSymbols[k])] = k;
  }
  return table;
}

const std::array<int32_t, 256>& Table() {
  static const std::array<int32_t, 256> table = MakeTable();
  return table;
}

// "offset 123 (line 4)": lines counted from 1 by newline symbols before it.
std::string Where(absl::string_view bytes, size_t offset) {
  int64_t line = 1;
  for (size_t k = 0; k < offset; ++k) line += bytes[k] == '\n';
  return absl::StrCat("byte offset ", offset, " (line ", line, ")");
}

std::string Describe(unsigned char b) {
  if (b >= 0x20 && b < 0x7F) return absl::StrFormat("'%c' (0x%02X)", b, b);
  return absl::StrFormat("0x%02X", b);
}

}  // namespace

int32_t PtbTokenId(unsigned char symbol) { return Table()[symbol]; }

absl::StatusOr<std::vector<int32_t>> ParsePtbChar(absl::string_view bytes,
                                                  absl::string_view path) {
  constexpr char kExpected[] =
      "expected a character-level PTB file: one symbol byte then one space, "
      "repeated, ending with \"\\n \"";
  if (bytes.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " is empty; ", kExpected));
  }
  const std::array<int32_t, 256>& table = Table();
  std::vector<int32_t> tokens;
  tokens.reserve(bytes.size() / 2 + 1);
  for (size_t k = 0; k < bytes.size(); ++k) {
    const unsigned char b = static_cast<unsigned char>(bytes[k]);
    if (b >= 0x80) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ": byte ", Describe(b), " at ", Where(bytes, k),
          " is not ASCII (binary or non-UTF-8 data?); ", kExpected));
    }
    if (k % 2 == 1) {
      if (b != ' ') {
        return absl::InvalidArgumentError(absl::StrCat(
            path, ": expected a space after each symbol, found ", Describe(b),
            " at ", Where(bytes, k), "; ", kExpected));
      }
      continue;
    }
    const int32_t id = table[b];
    if (id < 0) {
      const bool control = b < 0x20 || b == 0x7F;
      return absl::InvalidArgumentError(absl::StrCat(
          path, ": ", control ? "control byte " : "unknown symbol ",
          Describe(b), " at ", Where(bytes, k),
          control ? " (binary data or CRLF line ends?)" : "",
          "; the vocabulary has the ", kPtbVocabSize,
          " symbols \\n#$&'*-./0-9<>N\\_a-z"));
    }
    tokens.push_back(id);
  }
  if (bytes.size() % 2 != 0 || bytes.substr(bytes.size() - 2) != "\n ") {
    return absl::DataLossError(absl::StrCat(
        path, " is truncated: its ", bytes.size(),
        " bytes do not end with the newline symbol and its space (\"\\n \"); ",
        kExpected));
  }
  return tokens;
}

absl::StatusOr<std::vector<int32_t>> ReadPtbCharFile(const std::string& path,
                                                     int64_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat(
        "cannot open ", path, ": ", std::strerror(errno),
        " (expected a character-level PTB file, ptb.char.*.txt)"));
  }
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  if (size < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot determine the size of ", path,
                     " (expected a regular file)"));
  }
  if (size > max_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, " has ", size, " bytes; a character-level PTB file may have at "
        "most ", max_bytes, " (the training file has 10034964)"));
  }
  in.seekg(0, std::ios::beg);
  std::string bytes(static_cast<size_t>(size), '\0');
  if (size > 0 && !in.read(bytes.data(), size)) {
    return absl::DataLossError(absl::StrCat("could not read the ", size,
                                            " bytes of ", path));
  }
  return ParsePtbChar(bytes, path);
}

absl::string_view PtbSplitName(PtbSplit split) {
  switch (split) {
    case PtbSplit::kTrain:
      return "train";
    case PtbSplit::kValid:
      return "valid";
    case PtbSplit::kTest:
      return "test";
  }
  return "?";
}

absl::StatusOr<std::vector<int32_t>> LoadPtbChar(PtbSplit split,
                                                 const std::string& data_dir) {
  std::string dir = data_dir;
  if (dir.empty()) {
    const char* env = std::getenv(kDataDirEnv);
    if (env == nullptr || env[0] == '\0') {
      return absl::NotFoundError(absl::StrCat(
          "no data directory: pass one or set ", kDataDirEnv,
          " to a directory whose ptb/ subdirectory holds "
          "ptb.char.{train,valid,test}.txt"));
    }
    dir = env;
  }
  return ReadPtbCharFile(
      absl::StrCat(dir, "/ptb/ptb.char.", PtbSplitName(split), ".txt"));
}

}  // namespace es
