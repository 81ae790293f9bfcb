// Tests of experiments/outputs.h: tidy tables, the atomic commit, removal of
// stale outputs, and that a failed commit leaves the earlier outputs intact.
#include "experiments/outputs.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "estimators/state_io.h"
#include "gtest/gtest.h"

namespace es::experiments {
namespace {

namespace fs = std::filesystem;

std::string Slurp(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A fresh directory under $TEST_TMPDIR.
fs::path FreshDir(const std::string& name) {
  const char* t = std::getenv("TEST_TMPDIR");
  fs::path dir = fs::path(t ? t : "/tmp") / name;
  fs::remove_all(dir);
  return dir;
}

TEST(TableTest, WritesTidyCsvAndRejectsMalformedRows) {
  Table t("x.csv", {"method", "iteration", "meta_loss"});
  ASSERT_TRUE(t.AddRow({"es_single", "0", "10"}).ok());
  ASSERT_TRUE(t.AddRow({"pes", "5", "nan"}).ok());
  const absl::Status few = t.AddRow({"too", "few"});
  EXPECT_FALSE(few.ok());
  EXPECT_NE(few.message().find("x.csv"), std::string::npos) << few;
  EXPECT_FALSE(t.AddRow({"a,b", "1", "2"}).ok());
  EXPECT_FALSE(t.AddRow({"a\"b", "1", "2"}).ok());
  EXPECT_FALSE(t.AddRow({"a\nb", "1", "2"}).ok());
  EXPECT_EQ(t.Text(),
            "method,iteration,meta_loss\n"
            "es_single,0,10\n"
            "pes,5,nan\n");
}

TEST(TableTest, SaveLoadRoundTripsTheRows) {
  FigureOutputs a("/nonexistent", "figx");
  Table* ta = a.AddTable("", {"m", "v"});
  ASSERT_TRUE(ta->AddRow({"es_single", "1.5"}).ok());
  StateWriter w;
  a.SaveTables(&w);

  FigureOutputs b("/nonexistent", "figx");
  Table* tb = b.AddTable("", {"m", "v"});
  StateReader r(w.bytes());
  ASSERT_TRUE(b.LoadTables(&r).ok());
  EXPECT_EQ(tb->Text(), ta->Text());

  // A checkpoint of a table with other columns is refused.
  FigureOutputs c("/nonexistent", "figx");
  c.AddTable("", {"m", "other"});
  StateReader r2(w.bytes());
  EXPECT_FALSE(c.LoadTables(&r2).ok());
}

TEST(FigureOutputsTest, CommitWritesEverythingAndRemovesStaleOutputs) {
  const fs::path dir = FreshDir("commit");
  fs::create_directories(dir);
  std::ofstream(dir / "figx_old.csv") << "stale\n";       // an earlier table
  std::ofstream(dir / "figx_notes.txt") << "keep me\n";   // not an output
  std::ofstream(dir / "other.csv") << "keep me\n";        // another binary's

  FigureOutputs out(dir.string(), "figx");
  ASSERT_TRUE(out.AddTable("", {"a"})->AddRow({"1"}).ok());
  ASSERT_TRUE(out.AddTable("_grid", {"b"})->AddRow({"2"}).ok());
  out.sidecar()["binary"] = "figx";
  ASSERT_TRUE(out.Commit().ok());

  EXPECT_EQ(Slurp(dir / "figx.csv"), "a\n1\n");
  EXPECT_EQ(Slurp(dir / "figx_grid.csv"), "b\n2\n");
  EXPECT_EQ(Slurp(dir / "figx.json"), "{\n  \"binary\": \"figx\"\n}\n");
  EXPECT_FALSE(fs::exists(dir / "figx_old.csv"));
  EXPECT_TRUE(fs::exists(dir / "figx_notes.txt"));
  EXPECT_TRUE(fs::exists(dir / "other.csv"));
  for (const auto& e : fs::directory_iterator(dir)) {
    EXPECT_NE(e.path().extension(), ".tmp") << e.path();
  }
}

TEST(FigureOutputsTest, FailedCommitLeavesTheEarlierOutputsUntouched) {
  const fs::path dir = FreshDir("failed_commit");
  {
    FigureOutputs first(dir.string(), "figx");
    ASSERT_TRUE(first.AddTable("", {"a"})->AddRow({"old"}).ok());
    ASSERT_TRUE(first.AddTable("_grid", {"b"})->AddRow({"old"}).ok());
    ASSERT_TRUE(first.Commit().ok());
  }
  // The second run's grid cannot be written: its temporary path is taken by
  // a directory.
  fs::create_directories(dir / "figx_grid.csv.tmp");
  FigureOutputs second(dir.string(), "figx");
  ASSERT_TRUE(second.AddTable("", {"a"})->AddRow({"new"}).ok());
  ASSERT_TRUE(second.AddTable("_grid", {"b"})->AddRow({"new"}).ok());
  const absl::Status s = second.Commit();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("figx_grid.csv"), std::string::npos) << s;
  EXPECT_EQ(Slurp(dir / "figx.csv"), "a\nold\n");
  EXPECT_EQ(Slurp(dir / "figx_grid.csv"), "b\nold\n");
  EXPECT_FALSE(fs::exists(dir / "figx.csv.tmp"));
}

TEST(FigureOutputsTest, UnwritableDirectoryIsAClearError) {
  const fs::path file = FreshDir("not_a_dir");
  std::ofstream(file) << "x";
  FigureOutputs out((file / "sub").string(), "figx");
  const absl::Status s = out.Commit();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("not_a_dir"), std::string::npos) << s;
}

TEST(WriteFileAtomicallyTest, ReplacesTheFile) {
  const fs::path dir = FreshDir("atomic");
  fs::create_directories(dir);
  ASSERT_TRUE(WriteFileAtomically((dir / "f").string(), "one").ok());
  ASSERT_TRUE(WriteFileAtomically((dir / "f").string(), "two").ok());
  EXPECT_EQ(Slurp(dir / "f"), "two");
  EXPECT_FALSE(fs::exists(dir / "f.tmp"));
}

}  // namespace
}  // namespace es::experiments
