#include "base/file_sync.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace sloop {
namespace {

TEST(FileSyncTest, SyncsADirectory) {
  auto dir =
      std::filesystem::temp_directory_path() / ("sloop_file_sync_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "f") << "x";
  EXPECT_TRUE(SyncDir(dir).has_value());
  std::filesystem::remove_all(dir);
}

TEST(FileSyncTest, NamesWhatCouldNotBeOpened) {
  auto r = SyncDir("/nonexistent/sloop/dir");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kIOError);
  EXPECT_NE(r.error().message.find("open directory: /nonexistent/sloop/dir: "), std::string::npos);
}

TEST(FileSyncTest, AFileIsNotADirectory) {
  auto file =
      std::filesystem::temp_directory_path() / ("sloop_file_sync_f" + std::to_string(::getpid()));
  std::ofstream(file) << "x";
  EXPECT_FALSE(SyncDir(file).has_value());
  std::filesystem::remove(file);
}

}  // namespace
}  // namespace sloop
