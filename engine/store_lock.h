// StoreLock: one process at a time on a store directory. The lock is an flock(LOCK_EX) on
// <root>/LOCK, which holds the pid of the process that has it (for the error a second opener
// gets). The kernel drops the lock when the process dies, however it dies (kill -9 included), so
// a stale LOCK file never keeps a store shut. Store::Open and RestoreBackupArchive both take it;
// read-only opens take it too (exclusive: a reader and a writer never share a store, and a
// restore never swaps the shards under a reader).
#pragma once

#include <filesystem>
#include <string_view>

#include "base/status.h"

namespace sloop {

class StoreLock {
 public:
  static constexpr const char* kFileName = "LOCK";

  // Creates root when it is missing, then takes the lock without waiting. On a read-only
  // filesystem the lock file is locked when present (its pid is not rewritten), and no lock is
  // taken when it is absent (held() is false): nobody can be writing there. kUnavailable when
  // another holder has it (in this process or another): the message names the holder's pid, the
  // lock file and `purpose`'s conflict; kIOError when the file cannot be created or locked.
  static Result<StoreLock> Acquire(const std::filesystem::path& root, std::string_view purpose);

  StoreLock() = default;
  StoreLock(StoreLock&& o) noexcept;
  StoreLock& operator=(StoreLock&& o) noexcept;
  ~StoreLock();  // releases it (the LOCK file stays: removing it would race a new opener)

  bool held() const { return fd_ >= 0; }
  const std::filesystem::path& path() const { return path_; }

  StoreLock(const StoreLock&) = delete;
  StoreLock& operator=(const StoreLock&) = delete;

 private:
  void Release();
  int fd_ = -1;
  std::filesystem::path path_;
};

}  // namespace sloop
