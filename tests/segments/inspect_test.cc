// sloop-inspect as a user runs it: exit codes and what it prints.
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "segments/segment_reader.h"
#include "segments/segment_writer.h"
#include "tests/segments/format_v1_records.h"

namespace {

namespace fs = std::filesystem;

struct CommandResult {
  int status;
  std::string out;
};

CommandResult RunInspect(const std::string& args) {
  std::string cmd = std::string(SLOOP_INSPECT) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  CommandResult r{-1, ""};
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

class InspectTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("sloop-inspect-test-" + std::to_string(getpid()));
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(InspectTest, DemoWritesAndInspectsAWholeSegment) {
  CommandResult r = RunInspect("demo " + dir_.string() + " --records 3000");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("wrote 3000 records"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("3000 records"), std::string::npos);
  EXPECT_NE(r.out.find(" 0 corrupt"), std::string::npos);
}

TEST_F(InspectTest, RecordsAreJsonLinesAndCorruptionExitsNonZeroNamingTheOffset) {
  ASSERT_EQ(RunInspect("demo " + dir_.string() + " --records 500").status, 0);
  fs::path seg = dir_ / "demo.seg";
  CommandResult ok = RunInspect("segment " + seg.string() + " --payload");
  EXPECT_EQ(ok.status, 0);
  size_t lines = 0;
  for (size_t pos = 0; (pos = ok.out.find("{\"observed\":", pos)) != std::string::npos; ++pos)
    ++lines;
  EXPECT_EQ(lines, 500u);
  EXPECT_NE(ok.out.find("\"payload\":{"), std::string::npos);

  auto reader = sloop::SegmentReader::Open(seg);
  std::vector<sloop::CorruptBlock> none;
  auto blocks = (*reader)->ListBlocks(&none);
  ASSERT_GE(blocks->size(), 2u);
  uint64_t target = (*blocks)[1].offset + 100;
  {
    std::fstream f(seg, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(target));
    f.put('\x7f');
  }
  CommandResult bad = RunInspect("segment " + seg.string());
  EXPECT_EQ(bad.status, 1) << bad.out;
  EXPECT_NE(bad.out.find("offset " + std::to_string((*blocks)[1].offset)), std::string::npos)
      << bad.out;
  EXPECT_NE(bad.out.find("checksum mismatch"), std::string::npos);
}

// The JSON lines of `segment FILE --records --payload`.
std::vector<std::string> RecordLines(const std::string& out) {
  std::vector<std::string> lines;
  size_t pos = 0;
  while (pos < out.size()) {
    size_t end = out.find('\n', pos);
    if (end == std::string::npos) end = out.size();
    if (out.compare(pos, 12, "{\"observed\":") == 0) lines.push_back(out.substr(pos, end - pos));
    pos = end + 1;
  }
  return lines;
}

TEST_F(InspectTest, PrintsBothBlockFormatsAndTheSameRecordsFromEither) {
  const std::string v1 = std::string(SLOOP_TESTDATA_DIR) + "/segments/format-v1.seg";
  CommandResult old = RunInspect("segment " + v1 + " --records --payload");
  EXPECT_EQ(old.status, 0) << old.out;
  EXPECT_NE(old.out.find("format version 1"), std::string::npos) << old.out;
  EXPECT_NE(old.out.find("10 blocks (10 of format 1, 0 of format 2), 48 records"),
            std::string::npos)
      << old.out;
  // The same records written today, in format 2 blocks.
  fs::create_directories(dir_);
  const fs::path v2 = dir_ / "v2.seg";
  {
    sloop::WriterOptions o;
    o.target_block_bytes = 2048;
    auto w = sloop::SegmentWriter::Create(v2, o);
    ASSERT_TRUE(w.has_value());
    for (const auto& r : sloop::testing::FormatV1Records()) {
      ASSERT_TRUE((*w)->Append(r.view()).has_value());
    }
    ASSERT_TRUE((*w)->Close().has_value());
  }
  CommandResult now = RunInspect("segment " + v2.string() + " --records --payload");
  EXPECT_EQ(now.status, 0) << now.out;
  EXPECT_NE(now.out.find("format version 2"), std::string::npos) << now.out;
  EXPECT_NE(now.out.find("10 blocks (0 of format 1, 10 of format 2), 48 records"),
            std::string::npos)
      << now.out;
  const auto old_lines = RecordLines(old.out), new_lines = RecordLines(now.out);
  EXPECT_EQ(old_lines.size(), 48u);
  EXPECT_EQ(old_lines, new_lines);
  // And with a dictionary, as sealing writes them: it is named, the records are the same.
  const fs::path sealed = dir_ / "sealed.seg";
  {
    sloop::WriterOptions o;
    o.target_block_bytes = 2048;
    o.dictionary = sloop::testing::FormatV1Records()[0].payload;
    auto w = sloop::SegmentWriter::Create(sealed, o);
    ASSERT_TRUE(w.has_value());
    for (const auto& r : sloop::testing::FormatV1Records()) {
      ASSERT_TRUE((*w)->Append(r.view()).has_value());
    }
    ASSERT_TRUE((*w)->Close().has_value());
  }
  CommandResult dict = RunInspect("segment " + sealed.string() + " --records --payload");
  EXPECT_EQ(dict.status, 0) << dict.out;
  EXPECT_NE(dict.out.find("16           dictionary: " +
                          std::to_string(sloop::testing::FormatV1Records()[0].payload.size()) +
                          " bytes of example objects"),
            std::string::npos)
      << dict.out;
  EXPECT_EQ(RecordLines(dict.out), old_lines);
  EXPECT_NE(old.out.find("\"message\":\"Back-off restarting \\\"checkout\\\"\\nagain\""),
            std::string::npos)
      << old.out;
}

TEST_F(InspectTest, UsageAndUnreadableFilesExitTwoWithAReason) {
  EXPECT_EQ(RunInspect("").status, 2);
  EXPECT_EQ(RunInspect("--help").status, 0);
  EXPECT_EQ(RunInspect("frobnicate").status, 2);
  fs::create_directories(dir_);
  { std::ofstream(dir_ / "empty.seg"); }
  CommandResult r = RunInspect("segment " + (dir_ / "empty.seg").string());
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("empty"), std::string::npos) << r.out;
  r = RunInspect("segment " + (dir_ / "nope.seg").string());
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("No such file"), std::string::npos) << r.out;
}

}  // namespace
