// ImportSloopBackup: `sloop -import-sloop-backup FILE` — turns a backup of the original (Go)
// Sloop's store (ingest/sloop_backup.h) into sealed shards of a Store, all or nothing.
// docs/format/sloop-import.md says what is read, how rows map, and what is skipped.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

#include "engine/store.h"
#include "base/status.h"

namespace sloop::ingest {

struct SloopImportReport {
  uint64_t file_bytes = 0;
  uint64_t stream_bytes = 0;  // after zstd
  bool compressed = false;
  uint64_t kvs_read = 0;
  uint64_t watch_rows = 0;  // live /watch/ rows (newest version, not deleted or expired)
  uint64_t records_written = 0;
  uint64_t shards_written = 0;
  uint64_t shards_evicted = 0;  // by the store's retention (-max-look-back, -max-disk-mb)
  int64_t first_ns = 0, last_ns = 0;
  // Rows not turned into records, by reason ("ressum: derived, rebuilt from the watch rows").
  std::map<std::string, uint64_t> skipped;
  double seconds = 0;
};

// The summary, one line per count, as the command prints it.
std::string FormatSloopImportReport(const SloopImportReport& r);

// Imports the backup at path into the store whose options are `store` (its root is the store's
// directory, as `sloop` would open it). The store must hold no shards yet: a store with records
// is refused (kAlreadyExists), never merged. Rows are read and checked first, then appended in
// time order into a Store opened on StagingDir(root) and sealed, and the staged shards are put in
// place with CommitStagedShards. Holds the store's StoreLock throughout (kUnavailable while a
// server has it open). On any error the store is as it was and the error says why: kCorruption
// naming the byte offset for a damaged file, kNotFound for a missing one. Progress goes to stderr
// every few seconds.
Result<SloopImportReport> ImportSloopBackup(const std::filesystem::path& path,
                                            const StoreOptions& store);

}  // namespace sloop::ingest
