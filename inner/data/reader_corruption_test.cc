// Randomised-corruption ("fuzz") test of every data reader: valid files are
// generated, then damaged in many random ways (bit flips, byte overwrites,
// truncation, insertion of random or extreme bytes, duplicated spans), and
// each reader must return either a value or an error Status: no crash, no
// exception, no unbounded allocation. The address space is capped at
// 3 GiB (RLIMIT_AS), so an allocation sized from a corrupted header that the
// reader failed to bound ends the test with std::bad_alloc; under
// tools/sanitize.sh ASan/UBSan check every access instead (the cap is off
// there: ASan's shadow memory needs the address space). Deterministic:
// std::mt19937_64 with seed 20261203; kCases cases per reader (bounded time,
// about a second in all).
//
//   bazel test //inner/data:reader_corruption_test
#include <sys/resource.h>
#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "inner/data/cifar_reader.h"
#include "inner/data/idx_reader.h"
#include "inner/data/ptb_reader.h"
#include "inner/data/uci_reader.h"

namespace es {
namespace {

constexpr int kCases = 400;

std::string TempPath(const std::string& name) {
  const char* t = std::getenv("TEST_TMPDIR");
  return absl::StrCat(t ? t : "/tmp", "/", name);
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

std::string Gzip(const std::string& raw) {
  uLongf size = compressBound(raw.size()) + 32;
  std::string out(size, '\0');
  z_stream z{};
  deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data()));
  z.avail_in = raw.size();
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = size;
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

std::string IdxFile(const std::vector<uint32_t>& dims, int64_t count) {
  std::string s = {0, 0, 0x08, static_cast<char>(dims.size())};
  for (uint32_t d : dims) {
    for (int b = 3; b >= 0; --b) s.push_back(static_cast<char>(d >> (8 * b)));
  }
  for (int64_t i = 0; i < count; ++i) s.push_back(static_cast<char>(i * 37));
  return s;
}

// One random corruption of `s`.
std::string Corrupt(std::string s, std::mt19937_64& rng) {
  auto pos = [&](size_t n) {
    return n == 0 ? size_t{0} : static_cast<size_t>(rng() % n);
  };
  const int kinds = static_cast<int>(rng() % 3) + 1;
  for (int k = 0; k < kinds; ++k) {
    switch (rng() % 7) {
      case 0:  // flip one bit
        if (!s.empty()) s[pos(s.size())] ^= static_cast<char>(1 << (rng() % 8));
        break;
      case 1:  // overwrite a byte, preferring the header
        if (!s.empty()) s[pos(std::min<size_t>(s.size(), 24))] = static_cast<char>(rng());
        break;
      case 2:  // truncate
        s.resize(pos(s.size() + 1));
        break;
      case 3: {  // insert random bytes
        std::string junk(1 + rng() % 16, '\0');
        for (char& c : junk) c = static_cast<char>(rng());
        s.insert(pos(s.size() + 1), junk);
        break;
      }
      case 4:  // extreme bytes (0xff) over a span: huge header fields
        for (size_t i = pos(s.size() + 1), n = 0; i < s.size() && n < 8; ++i, ++n) {
          s[i] = static_cast<char>(0xff);
        }
        break;
      case 5: {  // duplicate a span
        if (s.empty()) break;
        const size_t a = pos(s.size());
        s.insert(pos(s.size() + 1), s.substr(a, 1 + rng() % 64));
        break;
      }
      case 6:  // special characters for the text readers
        if (!s.empty()) {
          const char special[] = {'\0', '\n', '\r', ' ', '-', '.', 'e', '9', '\t'};
          s[pos(s.size())] = special[rng() % sizeof(special)];
        }
        break;
    }
  }
  return s;
}

class ReaderCorruptionTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
#ifndef __SANITIZE_ADDRESS__  // ASan reserves terabytes of shadow memory
    rlimit lim{uint64_t{3} << 30, uint64_t{3} << 30};
    ASSERT_EQ(setrlimit(RLIMIT_AS, &lim), 0);
#endif
  }
  std::mt19937_64 rng_{20261203};
};

// Runs `read` on kCases corruptions of `valid`; returns how many were
// rejected (the rest parsed to a value).
template <typename Read>
int Fuzz(const std::string& name, const std::string& valid, bool gzip,
         std::mt19937_64& rng, Read read) {
  const std::string path = TempPath(name);
  WriteFile(path, gzip ? Gzip(valid) : valid);
  EXPECT_TRUE(read(path).ok()) << name << ": the valid file must parse";
  int rejected = 0;
  for (int c = 0; c < kCases; ++c) {
    // gzip: corrupt the compressed bytes half the time, the payload else.
    const std::string bytes =
        gzip ? (c % 2 ? Corrupt(Gzip(valid), rng) : Gzip(Corrupt(valid, rng)))
             : Corrupt(valid, rng);
    WriteFile(path, bytes);
    const auto result = read(path);
    if (!result.ok()) {
      ++rejected;
      EXPECT_FALSE(result.status().message().empty());
      EXPECT_NE(result.status().message().find(path), std::string::npos)
          << name << " case " << c << ": the error names the file: "
          << result.status();
    }
  }
  std::printf("%s: %d of %d corruptions rejected with a Status, the rest parsed\n",
              name.c_str(), rejected, kCases);
  return rejected;
}

TEST_F(ReaderCorruptionTest, Idx) {
  const std::string valid = IdxFile({20, 7, 5}, 20 * 7 * 5);
  EXPECT_GT(Fuzz("f.idx", valid, false, rng_, ReadIdxFile), kCases / 4);
  EXPECT_GT(Fuzz("f.idx.gz", valid, true, rng_, ReadIdxFile), kCases / 4);
}

TEST_F(ReaderCorruptionTest, IdxHeaderClaimingMillionsOfImages) {
  // 5e6 x 28 x 28 claimed (3.9 GB, under the 2^32-byte cap), 100 bytes
  // present: rejected as truncated without allocating the claimed size
  // (the 3 GiB address-space cap would turn that into bad_alloc).
  const std::string path = TempPath("bomb.idx.gz");
  WriteFile(path, Gzip(IdxFile({5000000, 28, 28}, 100)));
  const auto r = ReadIdxFile(path);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find(path), std::string::npos) << r.status();
}

TEST_F(ReaderCorruptionTest, PtbChar) {
  std::string valid;
  // Every symbol followed by a space; lines end with the newline symbol.
  for (int line = 0; line < 20; ++line) valid += "a b c _ d e f \n ";
  EXPECT_GT(Fuzz("ptb.char.txt", valid, false, rng_,
                 [](const std::string& p) { return ReadPtbCharFile(p); }),
            0);
}

TEST_F(ReaderCorruptionTest, UciTable) {
  std::string valid;
  for (int r = 0; r < 30; ++r) {
    valid += absl::StrCat(" ", r * 0.5, "  -2.3 ", r, "e-1 4.0\n");
  }
  valid += "\n";
  EXPECT_GT(Fuzz("table.data", valid, false, rng_,
                 [](const std::string& p) {
                   return ReadUciTable(p, {.expected_columns = 4});
                 }),
            0);
}

TEST_F(ReaderCorruptionTest, CifarBatch) {
  std::string valid;
  for (int r = 0; r < 3; ++r) {
    valid.push_back(static_cast<char>(r));
    for (int i = 0; i < 3072; ++i) valid.push_back(static_cast<char>(i * 7 + r));
  }
  EXPECT_GT(Fuzz("batch.bin", valid, false, rng_,
                 [](const std::string& p) { return ReadCifarBatch(p, 3); }),
            0);
}

}  // namespace
}  // namespace es
