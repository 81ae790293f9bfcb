// ptb_reader.h - character-level Penn Treebank (Mikolov's preprocessed
// `ptb.char.{train,valid,test}.txt`) as int32 token ids, for the tiny-LSTM
// inner problem of ES-Single (Vicol, Kolter, Swersky, ICML 2023, Sec. 3.1 /
// Fig. 1; Vicol et al. 2021 use the same data).
//
// File format (checked strictly): every symbol is one byte followed by one
// space; words are separated by the symbol `_`, and each line ends with the
// newline symbol, so a file is "s p s p ... \n p s p ... \n p" (p = space)
// and ends with "\n ". The newline is a token like any other symbol.
//
// Vocabulary: fixed, the 50 symbols of the data set sorted by byte value,
// token id = position (kPtbSymbols):
//   0 '\n'  1 '#'  2 '$'  3 '&'  4 '\''  5 '*'  6 '-'  7 '.'  8 '/'
//   9..18 '0'..'9'  19 '<'  20 '>'  21 'N'  22 '\\'  23 '_'  24..49 'a'..'z'
// (`<unk>` is the five symbols < u n k >; `N` stands for numbers.) Token
// counts: train 5,017,482; valid 393,042; test 442,423 (newlines included).
//
// Errors name the path and what was expected: NotFound for a missing file;
// InvalidArgument for an empty file, a file over `max_bytes` (checked before
// reading, so nothing unbounded is allocated), a non-ASCII byte (binary or
// non-UTF-8 text), a control or other byte outside the vocabulary, or a
// missing space separator; DataLoss for a file cut short (not ending in
// "\n "). Positions are given as byte offset and line number.
//
// Usage:
//   absl::StatusOr<std::vector<int32_t>> train =
//       LoadPtbChar(PtbSplit::kTrain, /*data_dir=*/"");  // $ES_SINGLE_DATA_DIR
//   if (!train.ok()) return train.status();
//   char c = kPtbSymbols[(*train)[0]];                  // 'a'
#ifndef ES_SINGLE_INNER_DATA_PTB_READER_H_
#define ES_SINGLE_INNER_DATA_PTB_READER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace es {

inline constexpr int kPtbVocabSize = 50;
// Symbol of token id k is kPtbSymbols[k] (50 bytes, sorted; no terminator
// counted).
inline constexpr char kPtbSymbols[] =
    "\n#$&'*-./0123456789<>N\\_abcdefghijklmnopqrstuvwxyz";
static_assert(sizeof(kPtbSymbols) == kPtbVocabSize + 1, "50 symbols");

// Files over this size are rejected (the training file is 10,034,964 bytes).
inline constexpr int64_t kPtbMaxFileBytes = int64_t{64} << 20;

// Token id of a symbol byte, or -1 if it is not in the vocabulary.
int32_t PtbTokenId(unsigned char symbol);

// Parses the bytes of a char-level PTB file; `path` is only used in errors.
absl::StatusOr<std::vector<int32_t>> ParsePtbChar(absl::string_view bytes,
                                                  absl::string_view path);

// Reads and parses one file.
absl::StatusOr<std::vector<int32_t>> ReadPtbCharFile(
    const std::string& path, int64_t max_bytes = kPtbMaxFileBytes);

enum class PtbSplit { kTrain, kValid, kTest };

// "train", "valid", "test".
absl::string_view PtbSplitName(PtbSplit split);

// Reads <data_dir>/ptb/ptb.char.<split>.txt; an empty data_dir means
// $ES_SINGLE_DATA_DIR (NotFound, saying how to set it, when that is unset).
absl::StatusOr<std::vector<int32_t>> LoadPtbChar(PtbSplit split,
                                                 const std::string& data_dir);

}  // namespace es

#endif  // ES_SINGLE_INNER_DATA_PTB_READER_H_
