// Making file-system changes durable: a file's bytes reach the disk with fsync, but a new name, a
// rename or a removal does so only when its directory is synced too.
#pragma once

#include <filesystem>

#include "base/status.h"

namespace sloop {

// fsyncs the directory dir, so that names created, renamed or removed in it survive a crash.
// kIOError "open directory: DIR: ..." or "fsync directory: DIR: ..." when the system refuses.
Result<void> SyncDir(const std::filesystem::path& dir);

}  // namespace sloop
