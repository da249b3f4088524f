#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "base/log.h"
#include "engine/backup.h"
#include "engine/backup_internal.h"
#include "engine/store_internal.h"

namespace sloop {

using namespace backup_internal;

namespace {

namespace fs = std::filesystem;

int64_t WallNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::filesystem::path StagingDir(const std::filesystem::path& store_root) {
  return store_root / kStagingDir;
}

Result<void> CommitStagedShards(const std::filesystem::path& store_root, std::string_view what,
                                int fault_after_step, CommitOutcome* outcome) {
  const std::string who(what);
  const fs::path staging_dir = StagingDir(store_root);
  *outcome = {};
  // Errors before the exchange name only the failed step (the caller words them).
  auto Pass = [](const Error& e) { return std::unexpected(e); };
  auto Final = [&](Error e) {
    outcome->final_message = true;
    return std::unexpected(std::move(e));
  };
  auto Injected = [&](int step) {
    outcome->keep_staging = true;  // as if the process had died here
    return Final(Error{ErrorCode::kAborted,
                       who + ": injected fault after swap step " + std::to_string(step)});
  };
  const fs::path live = store_root / "shards";
  const fs::path staged = staging_dir / "shards";
  std::error_code ec;
  // 1. Mark the staging directory as checked: RecoverInterruptedRestore may now finish it.
  {
    const fs::path marker = staged / kCheckedMarker;
    Fd fd(::open(marker.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (fd.fd < 0 || ::fsync(fd.fd) != 0)
      return Pass(IOError("create", marker.string(), errno).error());
    if (auto r = SyncDir(staged); !r) return Pass(r.error());
  }
  if (fault_after_step == 1) return Injected(1);
  const bool had_live = fs::exists(fs::symlink_status(live, ec));
  fs::path old;  // the replaced shards, when two renames were needed
  if (!had_live) {
    if (::rename(staged.c_str(), live.c_str()) != 0) {
      auto e = IOError("rename " + staged.string() + " to", live.string(), errno);
      return Pass(e.error());
    }
  } else if (fault_after_step != 3 &&
             ::renameat2(AT_FDCWD, staged.c_str(), AT_FDCWD, live.c_str(), RENAME_EXCHANGE) == 0) {
    // staged now holds the replaced shards.
  } else if (fault_after_step != 3 && errno != EINVAL && errno != ENOSYS && errno != ENOTSUP) {
    auto e = IOError("exchange " + staged.string() + " with", live.string(), errno);
    return Pass(e.error());
  } else {
    // No RENAME_EXCHANGE on this filesystem: two renames. Between them there is no shards/,
    // and the checked marker tells RecoverInterruptedRestore to finish the restore.
    old = store_root / (kOldShardsPrefix + std::to_string(WallNowNs()));
    if (::rename(live.c_str(), old.c_str()) != 0) {
      auto e = IOError("rename " + live.string() + " to", old.string(), errno);
      return Pass(e.error());
    }
    if (fault_after_step == 3) {
      (void)SyncDir(store_root);
      return Injected(3);
    }
    if (::rename(staged.c_str(), live.c_str()) != 0) {
      auto e = IOError("rename " + staged.string() + " to", live.string(), errno);
      if (::rename(old.c_str(), live.c_str()) != 0) {
        return Final(Error{ErrorCode::kIOError,
                           who + ": " + e.error().message +
                               "; and putting the old shards back failed too: they are in " +
                               old.string() + ": rename it to " + live.string()});
      }
      return Pass(e.error());
    }
  }
  if (auto r = SyncDir(store_root); !r) {
    outcome->committed = true;
    return Final(Error{r.error().code, who + ": done, but " + r.error().message});
  }
  // The restore has committed; what is left is tidying up.
  outcome->committed = true;
  if (fault_after_step == 2) return Injected(2);
  outcome->keep_staging = true;
  fs::remove(live / kCheckedMarker, ec);
  fs::remove_all(staging_dir, ec);  // after an exchange, the replaced shards
  if (ec) {
    LogLine("restore", "the replaced shards could not be removed from " + staging_dir.string() +
                           ": " + ec.message() +
                           "; the next start removes them, or delete that directory by hand");
  }
  if (!old.empty()) fs::remove_all(old, ec);
  (void)SyncDir(store_root);
  return {};
}

Result<void> RecoverInterruptedRestore(const std::filesystem::path& store_root) {
  auto log = [](const std::string& line) { LogLine("restore", line); };
  const fs::path live = store_root / "shards";
  const fs::path staging = store_root / kStagingDir;
  const fs::path staged = staging / "shards";
  std::error_code ec;
  std::vector<fs::path> olds;
  for (fs::directory_iterator it(store_root, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().filename().string().starts_with(kOldShardsPrefix)) olds.push_back(it->path());
  }
  std::sort(olds.begin(), olds.end());  // shards.old-<ns>: oldest first
  bool changed = false;
  const bool staged_checked = fs::exists(staged / kCheckedMarker, ec);
  if (!fs::exists(fs::symlink_status(live, ec))) {
    if (staged_checked) {
      if (::rename(staged.c_str(), live.c_str()) != 0) {
        return IOError("finish an interrupted restore: rename " + staged.string() + " to",
                       live.string(), errno);
      }
      log("finished a restore that was interrupted after its archive had passed every check: "
          "its shards are now in " +
          live.string());
      changed = true;
    } else if (!olds.empty()) {
      const fs::path newest = olds.back();
      olds.pop_back();
      if (::rename(newest.c_str(), live.c_str()) != 0) {
        return IOError("roll back an interrupted restore: rename " + newest.string() + " to",
                       live.string(), errno);
      }
      log("rolled back a restore that was interrupted between its renames: put the shards it "
          "had moved aside back from " +
          newest.string() + "; the store is as before the restore: run the restore again");
      changed = true;
    }
  }
  if (fs::exists(staging, ec)) {
    if (staged_checked && fs::exists(staged, ec)) {
      log("a restore was interrupted before it replaced the store: removing its staging "
          "directory " +
          staging.string() + "; the store is as before the restore");
    } else if (fs::exists(staged, ec) && !fs::is_empty(staged, ec)) {
      log("a restore was interrupted after it replaced the store: removing the replaced (or "
          "unfinished) shards in " +
          staging.string());
    } else {
      log("removing the staging directory of an interrupted restore: " + staging.string());
    }
    fs::remove_all(staging, ec);
    if (ec) return IOError("remove", staging.string(), ec.value());
    changed = true;
  }
  for (const auto& old : olds) {
    log("removing the shards a restore replaced, left in " + old.string());
    fs::remove_all(old, ec);
    if (ec) return IOError("remove", old.string(), ec.value());
    changed = true;
  }
  if (fs::exists(live / kCheckedMarker, ec)) {
    fs::remove(live / kCheckedMarker, ec);
    changed = true;
  }
  if (changed) return SyncDir(store_root);
  return {};
}

}  // namespace sloop
