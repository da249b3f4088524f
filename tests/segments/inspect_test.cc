// sloop-inspect as a user runs it: exit codes and what it prints.
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "segments/segment_reader.h"

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
