// Backup archives of a Store: a POSIX ustar tar of the files Store::SnapshotForBackup() names
// (sealed shards whole, the active shard up to a flushed prefix), closed by a MANIFEST.json that
// lists every member with its size and xxh64. docs/format/backup.md is the reference; the writer
// and the restorer below share it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string_view>
#include <vector>

#include "engine/store.h"
#include "base/status.h"

namespace sloop {

// The writer hands out chunks of at most this many bytes.
inline constexpr size_t kBackupChunkBytes = 1 << 20;

// Size in bytes of the archive WriteBackupArchive() will produce for these files (whatever
// created_ns is), so that it can be announced (Content-Length) before the first byte is sent.
uint64_t BackupArchiveSize(const std::vector<Store::BackupFile>& files);

// Streams the archive of files to out in chunks of at most kBackupChunkBytes, reading each file
// with pread() (nothing is buffered whole). Holds no lock of the Store: the files' keep_alive
// references keep them on disk. An error from out stops the backup and is returned as is.
// kInvalidArgument for a name that cannot go into the archive, kIOError when a file cannot be
// read or is shorter than its snapshotted size, kUnavailable when an active segment was sealed
// away between the snapshot and this call (take a new snapshot and start again).
Result<void> WriteBackupArchive(const std::vector<Store::BackupFile>& files, int64_t created_ns,
                                const std::function<Result<void>(std::string_view chunk)>& out);

struct RestoreReport {
  uint64_t files = 0;   // shard files restored
  uint64_t bytes = 0;   // their total size
  uint64_t shards = 0;  // distinct shard ids among them
};

// Reads up to buf.size() bytes of an archive into buf; returns how many, 0 at its end.
using ArchiveReadFn = std::function<Result<size_t>(std::span<char> buf)>;

struct RestoreOptions {
  // An archive with no shards would empty the store: refused (kInvalidArgument, naming
  // -restore-allow-empty) when the store holds shard files, unless this is set.
  bool allow_empty = false;
  // Tests: stop after this step of the swap (1: staging marked complete; 2: swapped, the
  // replaced shards not yet removed) as if the process died there.
  int fault_after_step = 0;
};

// Restores the archive at archive_path (plain, or compressed with zstd) into store_root/shards.
// It takes the store's lock (StoreLock) for the whole restore: kUnavailable, naming the holder's
// pid, while a Store (or another restore) has the store open. A restore interrupted earlier is
// finished or rolled back first (RecoverInterruptedRestore). Every member is extracted into
// store_root/.restore-staging/ and checked (names, sizes and xxh64 against the manifest, every
// block checksum of every segment, every index) before store_root/shards is exchanged with it
// atomically (renameat2 RENAME_EXCHANGE; two renames where the filesystem lacks it, which
// RecoverInterruptedRestore completes after a crash). On any failure the staging directory is
// removed and store_root is left as it was; the error names the archive, the member and the check
// that failed: kInvalidArgument when the file is not a sloop backup at all (or would empty the
// store, see RestoreOptions), kUnsupported for a newer backup format, kCorruption for a damaged
// one, kNotFound when archive_path does not exist, kIOError when the disk refuses.
Result<RestoreReport> RestoreBackupArchive(const std::filesystem::path& archive_path,
                                           const std::filesystem::path& store_root,
                                           const RestoreOptions& options = {});

// The same, reading the archive from read (an upload, a pipe); archive_name names it in errors.
Result<RestoreReport> RestoreBackupArchive(const ArchiveReadFn& read, std::string_view archive_name,
                                           const std::filesystem::path& store_root,
                                           const RestoreOptions& options = {});

// Where a restore or an import stages the shards it is about to put in place:
// store_root/.restore-staging (its shards/ subdirectory holds them).
std::filesystem::path StagingDir(const std::filesystem::path& store_root);

struct CommitOutcome {
  bool committed = false;      // store_root/shards now holds the staged shards
  bool keep_staging = false;   // the caller must not remove the staging directory
  bool final_message = false;  // the error names `what` and says what happened to the store
};

// Puts StagingDir(store_root)/shards, filled, checked and fsynced by a caller that holds the
// store's StoreLock, in place of store_root/shards in one atomic step (renameat2
// RENAME_EXCHANGE; two renames where the filesystem lacks it): from then on a crash leaves the
// old shards or the new ones, never neither (RecoverInterruptedRestore finishes or rolls back).
// On success the staging directory, which then holds the replaced shards, is removed. An error
// before the exchange (outcome->committed false, final_message false) leaves store_root/shards
// as it was and its message names only the failed step; the caller words it and removes the
// staging directory. `what` ("restore from FILE") begins the other messages. fault_after_step is
// for tests (see RestoreOptions).
Result<void> CommitStagedShards(const std::filesystem::path& store_root, std::string_view what,
                                int fault_after_step, CommitOutcome* outcome);

// Finishes or rolls back a restore that a crash interrupted, in a store nobody else has open (the
// caller holds its StoreLock): with no store_root/shards, a staging directory whose restore had
// passed every check is put in place (finished), else the newest shards.old-* (left by an older
// build's two-rename swap) is put back (rolled back); then the staging directory and any
// shards.old-* left over are removed. Each action is logged. Store::Open calls it.
Result<void> RecoverInterruptedRestore(const std::filesystem::path& store_root);

}  // namespace sloop
