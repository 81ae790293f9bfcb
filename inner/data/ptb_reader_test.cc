// Tests of the character-level PTB reader (ptb_reader.h): vocabulary,
// generated well-formed and damaged files in $TEST_TMPDIR, and the real files
// under $ES_SINGLE_DATA_DIR/ptb (token counts from the data set's SOURCES.md:
// train 5,017,482; valid 393,042; test 442,423, newline tokens included).
#include "inner/data/ptb_reader.h"

#include <cstdlib>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace es {
namespace {

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return absl::StrCat(dir != nullptr ? dir : "/tmp", "/", name);
}

std::string WriteFile(const std::string& name, const std::string& bytes) {
  const std::string path = TempPath(name);
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return path;
}

// The char-file rule of the data set: each symbol then a space, "\n " after
// each line; words joined by '_'.
std::string CharFile(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& line : lines) {
    for (char ch : line) {
      out += ch == ' ' ? '_' : ch;
      out += ' ';
    }
    out += "\n ";
  }
  return out;
}

TEST(PtbVocabularyTest, FiftySortedSymbolsNewlineFirst) {
  const std::string symbols(kPtbSymbols, kPtbVocabSize);
  EXPECT_EQ(symbols.size(), 50u);
  for (int k = 1; k < kPtbVocabSize; ++k) {
    EXPECT_LT(static_cast<unsigned char>(symbols[k - 1]),
              static_cast<unsigned char>(symbols[k]));
  }
  EXPECT_EQ(PtbTokenId('\n'), 0);
  EXPECT_EQ(PtbTokenId('_'), 23);
  EXPECT_EQ(PtbTokenId('a'), 24);
  EXPECT_EQ(PtbTokenId('z'), 49);
  EXPECT_EQ(PtbTokenId(' '), -1);
  EXPECT_EQ(PtbTokenId('A'), -1);
  for (int k = 0; k < kPtbVocabSize; ++k) {
    EXPECT_EQ(PtbTokenId(static_cast<unsigned char>(kPtbSymbols[k])), k);
  }
}

TEST(PtbReaderTest, ReadsAGeneratedFile) {
  const std::string path =
      WriteFile("ok.txt", CharFile({"the <unk> cat", "N $ 's"}));
  absl::StatusOr<std::vector<int32_t>> tokens = ReadPtbCharFile(path);
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  std::string text;
  for (int32_t id : *tokens) text += kPtbSymbols[id];
  EXPECT_EQ(text, "the_<unk>_cat\nN_$_'s\n");
}

struct Damage {
  std::string name;
  std::string bytes;
  absl::StatusCode code;
  std::string message_part;
};

class PtbDamagedFileTest : public ::testing::TestWithParam<Damage> {};

TEST_P(PtbDamagedFileTest, ErrorNamesPathAndProblem) {
  const Damage& d = GetParam();
  const std::string path = WriteFile(d.name + ".txt", d.bytes);
  absl::StatusOr<std::vector<int32_t>> tokens = ReadPtbCharFile(path);
  ASSERT_FALSE(tokens.ok()) << d.name;
  EXPECT_EQ(tokens.status().code(), d.code) << tokens.status();
  EXPECT_NE(tokens.status().message().find(path), std::string::npos)
      << tokens.status();
  EXPECT_NE(tokens.status().message().find(d.message_part), std::string::npos)
      << tokens.status();
}

std::vector<Damage> Damages() {
  const std::string good = CharFile({"a cat", "on a mat"});
  std::vector<Damage> out = {
      {"empty", "", absl::StatusCode::kInvalidArgument, "is empty"},
      {"truncated_mid_line", good.substr(0, good.size() - 5),
       absl::StatusCode::kDataLoss, "is truncated"},
      {"truncated_odd", good.substr(0, good.size() - 1),
       absl::StatusCode::kDataLoss, "is truncated"},
      {"no_final_newline", "a b ", absl::StatusCode::kDataLoss,
       "is truncated"},
      {"binary", std::string("\x00\x01\x02\x03", 4),
       absl::StatusCode::kInvalidArgument, "control byte 0x00"},
      {"non_utf8", "a \xC3\xA9 \n ", absl::StatusCode::kInvalidArgument,
       "0xC3 at byte offset 2 (line 1) is not ASCII"},
      {"unknown_symbol", "a b \n A \n ", absl::StatusCode::kInvalidArgument,
       "unknown symbol 'A' (0x41) at byte offset 6 (line 2)"},
      {"crlf", "a \r \n ", absl::StatusCode::kInvalidArgument,
       "CRLF line ends?"},
      {"no_separator", "ab \n ", absl::StatusCode::kInvalidArgument,
       "expected a space after each symbol, found 'b'"},
      {"word_level_text", "the cat\n", absl::StatusCode::kInvalidArgument,
       "expected a space after each symbol"},
  };
  return out;
}

INSTANTIATE_TEST_SUITE_P(Damaged, PtbDamagedFileTest,
                         ::testing::ValuesIn(Damages()),
                         [](const auto& info) { return info.param.name; });

TEST(PtbReaderTest, MissingFileAndSizeCap) {
  const std::string missing = TempPath("does_not_exist.txt");
  absl::StatusOr<std::vector<int32_t>> r = ReadPtbCharFile(missing);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find(missing), std::string::npos);
  const std::string path = WriteFile("big.txt", CharFile({"abc def"}));
  r = ReadPtbCharFile(path, /*max_bytes=*/8);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("has 16 bytes"), std::string::npos)
      << r.status();
  EXPECT_NE(r.status().message().find("at most 8"), std::string::npos);
  // A directory is not a file.
  r = ReadPtbCharFile(TempPath(""));
  EXPECT_FALSE(r.ok());
}

TEST(PtbReaderTest, LoadPtbCharNamesTheDirectory) {
  absl::StatusOr<std::vector<int32_t>> r =
      LoadPtbChar(PtbSplit::kValid, TempPath("no_such_dir"));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("no_such_dir/ptb/ptb.char.valid.txt"),
            std::string::npos)
      << r.status();
}

// The real files. With ES_CI=1 missing data is a failure, otherwise a skip.
TEST(PtbReaderTest, RealFilesHaveTheDocumentedTokenCounts) {
  const char* dir = std::getenv("ES_SINGLE_DATA_DIR");
  const bool ci = std::getenv("ES_CI") != nullptr &&
                  std::string(std::getenv("ES_CI")) == "1";
  if (dir == nullptr || dir[0] == '\0') {
    if (ci) FAIL() << "ES_CI=1 but ES_SINGLE_DATA_DIR is not set";
    GTEST_SKIP() << "set ES_SINGLE_DATA_DIR to the data directory (with "
                    "ptb/ptb.char.*.txt) and run with "
                    "--test_env=ES_SINGLE_DATA_DIR";
  }
  struct Expect {
    PtbSplit split;
    size_t tokens;
    size_t distinct;
    int64_t newlines;
  };
  // Newline counts are the line counts of SOURCES.md.
  for (const Expect& e : {Expect{PtbSplit::kTrain, 5017482, 50, 42068},
                          Expect{PtbSplit::kValid, 393042, 50, 3370},
                          Expect{PtbSplit::kTest, 442423, 48, 3761}}) {
    absl::StatusOr<std::vector<int32_t>> tokens = LoadPtbChar(e.split, "");
    if (!tokens.ok() && absl::IsNotFound(tokens.status()) && !ci) {
      GTEST_SKIP() << tokens.status();
    }
    ASSERT_TRUE(tokens.ok()) << tokens.status();
    EXPECT_EQ(tokens->size(), e.tokens) << PtbSplitName(e.split);
    const std::set<int32_t> distinct(tokens->begin(), tokens->end());
    EXPECT_EQ(distinct.size(), e.distinct) << PtbSplitName(e.split);
    int64_t newlines = 0;
    for (int32_t id : *tokens) newlines += id == 0;
    EXPECT_EQ(newlines, e.newlines) << PtbSplitName(e.split);
    if (e.split == PtbSplit::kValid) {
      std::string start;
      for (int k = 0; k < 9; ++k) start += kPtbSymbols[(*tokens)[k]];
      EXPECT_EQ(start, "consumers");
    }
  }
}

}  // namespace
}  // namespace es
