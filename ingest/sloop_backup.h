// SloopBackup: reads a backup of the original (Go) Sloop's store — Badger v2's backup stream of
// KVLists, raw or zstd-compressed — and says what each row is: a /watch/ row to import, a row of
// a derived table, or something else. docs/format/sloop-import.md is the reference;
// `sloop -import-sloop-backup` (ingest/sloop_import.h) and `sloop-inspect sloop-backup` use it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "base/status.h"
#include "schema/watch_event.h"

namespace sloop::ingest {

// A Sloop backup file mapped into memory as the raw Badger stream. A zstd-compressed file is
// first decompressed into a temporary file in scratch_dir (removed when this object goes).
class SloopBackupFile {
 public:
  // kNotFound when path does not exist; kCorruption, naming the compressed byte offset, for a
  // damaged or cut-short zstd stream; kInvalidArgument for a sloop-cpp backup archive (which
  // -restore-database-file takes); kIOError when the disk refuses.
  static Result<std::unique_ptr<SloopBackupFile>> Open(const std::filesystem::path& path,
                                                       const std::filesystem::path& scratch_dir);
  ~SloopBackupFile();
  SloopBackupFile(const SloopBackupFile&) = delete;
  SloopBackupFile& operator=(const SloopBackupFile&) = delete;

  std::span<const char> stream() const { return {data_, size_}; }
  bool compressed() const { return !temp_.empty(); }
  uint64_t file_bytes() const { return file_bytes_; }
  const std::string& name() const { return name_; }

 private:
  SloopBackupFile() = default;
  std::string name_;
  std::filesystem::path temp_;
  const char* data_ = nullptr;
  size_t size_ = 0;
  uint64_t file_bytes_ = 0;
};

// Badger's bits in KV.meta (badger v2 structs.go).
inline constexpr uint8_t kBadgerBitDelete = 1;

// One KV of the stream. key and value view the stream itself (they live as long as it does).
struct BadgerKv {
  std::string_view key;
  std::string_view value;
  uint64_t version = 0;
  uint64_t expires_at = 0;  // Unix seconds, 0 = never
  uint8_t meta = 0;
  uint64_t offset = 0;  // of the KV's bytes in the (decompressed) stream
  uint32_t length = 0;  // of the KV's bytes
};

// Walks every KV of a Badger backup stream: repeated (u64 little-endian length, KVList). Stops at
// the first error fn returns. kCorruption naming the byte offset (in the decompressed stream) when
// a length runs past the end or a KVList or KV does not decode.
Result<void> ForEachBadgerKv(std::span<const char> stream,
                             const std::function<Result<void>(const BadgerKv&)>& fn,
                             const std::function<void(uint64_t offset)>& progress = {});

// Decodes the KV whose bytes are stream[offset, offset + length) (as ForEachBadgerKv reported).
Result<void> DecodeBadgerKv(std::span<const char> stream, uint64_t offset, uint32_t length,
                            const std::function<Result<void>(const BadgerKv&)>& fn);

// The tables of Sloop's key layout /<table>/<partition>/<kind>/<namespace>/<name>/<last>.
enum class SloopTable { kWatch, kResSum, kEventCount, kWatchActivity, kOther };
std::string_view SloopTableName(SloopTable t);

struct SloopKey {
  SloopTable table = SloopTable::kOther;
  std::string_view partition, kind, namespace_, name, last;
  int64_t watch_ns = 0;  // /watch/ rows: `last`, the record time in Unix ns
};

// Splits a key; false when it is not of Sloop's layout (seven fields, the first empty; for
// /watch/ a numeric time).
bool ParseSloopKey(std::string_view key, SloopKey* out);

// A /watch/ row's value (Sloop's KubeWatchResult), views into value.
struct SloopWatchResult {
  int64_t timestamp_ns = 0;
  std::string kind;
  WatchType watch_type = WatchType::kAdded;
  std::string payload;
};

// kCorruption when value is not a KubeWatchResult (or has a watch type Sloop never writes).
Result<SloopWatchResult> DecodeKubeWatchResult(std::string_view value);

// How a kind string as Sloop stored it maps to this store: group, version and kind, used when
// the payload carries no apiVersion (Sloop's typed informers leave it out). "Endpoint" becomes
// "Endpoints". An unknown kind (a custom resource) keeps its name and has no group or version.
struct SloopKindMapping {
  std::string_view group, version, kind;
};
SloopKindMapping MapSloopKind(std::string_view sloop_kind);

// What a backup holds, without importing it (sloop-inspect sloop-backup).
struct SloopBackupSummary {
  uint64_t kvs = 0;
  uint64_t stream_bytes = 0;
  std::map<std::string, uint64_t> rows_per_table;       // live rows (newest version, not deleted)
  std::map<std::string, uint64_t> watch_rows_per_kind;  // by Sloop's kind string
  uint64_t deleted = 0;                                 // newest version deleted in Badger
  uint64_t expired = 0;
  uint64_t older_versions = 0;
  uint64_t malformed_keys = 0;
  std::map<std::string, uint64_t> partitions;  // partition → live /watch/ rows
  int64_t first_ns = 0, last_ns = 0;           // of the live /watch/ rows
};

// Reads every row, checks every /watch/ value decodes; errors as ForEachBadgerKv.
Result<SloopBackupSummary> SummarizeSloopBackup(std::span<const char> stream, int64_t now_unix_s);

}  // namespace sloop::ingest
