#include "ingest/sloop_import.h"

#include <simdjson.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "base/log.h"
#include "base/time_text.h"
#include "engine/backup.h"
#include "engine/store_lock.h"
#include "ingest/resource_object.h"
#include "ingest/sloop_backup.h"

namespace sloop::ingest {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// One /watch/ KV, remembered by where its bytes are in the mapped stream: the value is decoded
// again when it is appended, so that memory holds neither payloads nor copies of keys.
struct WatchRow {
  std::string_view key;
  int64_t ts_ns = 0;
  uint64_t version = 0;
  uint64_t offset = 0;
  uint32_t length = 0;
  bool dead = false;  // deleted (or expired) in Badger
  bool expired = false;
};

// Logs progress at most every few seconds.
class Progress {
 public:
  explicit Progress(std::string what) : what_(std::move(what)), last_(Clock::now()) {}
  void Maybe(const std::function<std::string()>& line) {
    const auto now = Clock::now();
    if (now - last_ < std::chrono::seconds(3)) return;
    last_ = now;
    LogLine("import", what_ + line());
  }

 private:
  std::string what_;
  Clock::time_point last_;
};

// Removes the staging directory unless the import committed (and the store's directory when
// the import created it).
struct StagingCleanup {
  fs::path dir;
  fs::path created_root;
  fs::path created_lock;  // the lock file, when the import created it
  bool keep = false;
  ~StagingCleanup() {
    std::error_code ec;
    if (!keep && !dir.empty()) fs::remove_all(dir, ec);
    if (!keep && !created_lock.empty()) fs::remove(created_lock, ec);
    if (!keep && !created_root.empty()) {
      fs::remove(created_root / StoreLock::kFileName, ec);
      fs::remove(created_root, ec);  // only when empty
    }
  }
};

std::string MiB(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  return buf;
}

uint64_t CountShardFiles(const fs::path& dir) {
  uint64_t n = 0;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string ext = it->path().extension().string();
    if (ext == ".seg" || ext == ".idx" || ext == ".active") ++n;
  }
  return n;
}

class Importer {
 public:
  Importer(const fs::path& path, const StoreOptions& store) : path_(path), options_(store) {}

  Result<SloopImportReport> Run() {
    const auto started = Clock::now();
    const fs::path root = options_.root;
    std::error_code ec;
    if (fs::exists(root, ec) && !fs::is_directory(root, ec)) {
      return Fail(ErrorCode::kInvalidArgument, root.string() + " is not a directory");
    }
    if (!fs::exists(root, ec)) cleanup_.created_root = root;
    fs::create_directories(root, ec);
    if (ec)
      return Fail(ErrorCode::kIOError, "cannot create " + root.string() + ": " + ec.message());
    if (!fs::exists(root / StoreLock::kFileName, ec)) {
      cleanup_.created_lock = root / StoreLock::kFileName;
    }
    auto lock = StoreLock::Acquire(root, "import a Sloop backup into it");
    if (!lock) return Fail(lock.error().code, lock.error().message);
    lock_ = std::move(*lock);
    if (auto r = RecoverInterruptedRestore(root); !r)
      return Fail(r.error().code, r.error().message);
    if (const uint64_t files = CountShardFiles(root / "shards"); files > 0) {
      return Fail(ErrorCode::kAlreadyExists,
                  "the store " + root.string() + " already holds " + std::to_string(files) +
                      " shard files; an import is not merged into recorded history: import into "
                      "an empty store (another -store-root or -context), or move this one aside");
    }
    const fs::path staging = StagingDir(root);
    cleanup_.dir = staging;
    fs::remove_all(staging, ec);
    fs::create_directories(staging, ec);
    if (ec) {
      return Fail(ErrorCode::kIOError, "cannot create " + staging.string() + ": " + ec.message());
    }
    auto file = SloopBackupFile::Open(path_, staging);
    if (!file) return Fail(file.error().code, file.error().message);
    report_.file_bytes = (*file)->file_bytes();
    report_.stream_bytes = (*file)->stream().size();
    report_.compressed = (*file)->compressed();
    LogLine("import",
            "reading " + path_.string() + " (" + MiB(report_.file_bytes) +
                (report_.compressed ? ", zstd: " + MiB(report_.stream_bytes) + " raw" : "") + ")");
    const auto stream = (*file)->stream();
    if (auto r = Scan(stream); !r) return Fail(r.error().code, At(r.error().message));
    if (rows_.empty()) {
      report_.seconds = std::chrono::duration<double>(Clock::now() - started).count();
      LogLine("import", "the backup holds no /watch/ rows to import; the store is unchanged");
      return report_;
    }
    if (auto r = Write(stream, staging); !r) return Fail(r.error().code, r.error().message);
    file->reset();  // the decompressed copy goes before the swap
    CommitOutcome outcome;
    auto committed =
        CommitStagedShards(root, "import of " + path_.string(), /*fault_after_step=*/0, &outcome);
    if (outcome.keep_staging) cleanup_.keep = true;
    if (!committed) {
      if (outcome.final_message) return std::unexpected(committed.error());
      return Fail(committed.error().code, committed.error().message);
    }
    cleanup_.keep = true;
    cleanup_.created_root.clear();
    report_.seconds = std::chrono::duration<double>(Clock::now() - started).count();
    return report_;
  }

 private:
  std::unexpected<Error> Fail(ErrorCode code, const std::string& what) {
    return MakeError(code, "import of " + path_.string() + ": " + what +
                               " (nothing was imported; " + (options_.root / "shards").string() +
                               " is unchanged)");
  }
  std::string At(const std::string& what) {
    return what + "; the file is damaged or cut short: download the backup from Sloop again";
  }

  void Skip(const std::string& reason, uint64_t n = 1) { report_.skipped[reason] += n; }

  // Pass 1: every KV is read and every live /watch/ value decoded, so that a damaged file is
  // refused before anything is written.
  Result<void> Scan(std::span<const char> stream) {
    const int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
    Progress progress("reading: ");
    uint64_t at = 0;
    auto r = ForEachBadgerKv(
        stream,
        [&](const BadgerKv& kv) -> Result<void> {
          ++report_.kvs_read;
          SloopKey key;
          if (!ParseSloopKey(kv.key, &key)) {
            Skip("a key not of Sloop's layout /table/partition/kind/namespace/name/last");
            return {};
          }
          if (key.table != SloopTable::kWatch) {
            Skip(std::string(SloopTableName(key.table)) +
                 (key.table == SloopTable::kOther
                      ? ": not a table of Sloop's"
                      : ": derived data, rebuilt from the watch rows, not copied"));
            return {};
          }
          WatchRow row;
          row.dead = (kv.meta & kBadgerBitDelete) != 0;
          row.expired =
              !row.dead && kv.expires_at != 0 && static_cast<int64_t>(kv.expires_at) <= now_s;
          if (!row.dead && !row.expired) {
            if (auto w = DecodeKubeWatchResult(kv.value); !w) {
              return MakeError(ErrorCode::kCorruption, "the /watch/ row at byte " +
                                                           std::to_string(kv.offset) + ": " +
                                                           w.error().message);
            }
          }
          row.key = kv.key;
          row.ts_ns = key.watch_ns;
          row.version = kv.version;
          row.offset = kv.offset;
          row.length = kv.length;
          rows_.push_back(std::move(row));
          return {};
        },
        [&](uint64_t offset) {
          at = offset;
          progress.Maybe([&] {
            return std::to_string(report_.kvs_read) + " rows, " + MiB(at) + " of " +
                   MiB(stream.size());
          });
        });
    if (!r) return r;
    // The newest version of a key is the row; a key whose newest version is a deletion (or has
    // expired) is gone, as it is from Sloop's view of its store.
    std::sort(rows_.begin(), rows_.end(), [](const WatchRow& a, const WatchRow& b) {
      return a.key != b.key ? a.key < b.key : a.version > b.version;
    });
    std::vector<bool> keep(rows_.size(), false);
    for (size_t i = 0; i < rows_.size(); ++i) {
      if (i > 0 && rows_[i].key == rows_[i - 1].key) {
        Skip("watch: an older Badger version of a key (the newest is the row)");
      } else if (rows_[i].dead) {
        Skip("watch: deleted in Badger");
      } else if (rows_[i].expired) {
        Skip("watch: expired in Badger (TTL passed)");
      } else {
        keep[i] = true;
      }
    }
    std::vector<WatchRow> live;
    live.reserve(rows_.size());
    for (size_t i = 0; i < rows_.size(); ++i) {
      if (keep[i]) live.push_back(std::move(rows_[i]));
    }
    rows_ = std::move(live);
    std::sort(rows_.begin(), rows_.end(), [](const WatchRow& a, const WatchRow& b) {
      return a.ts_ns != b.ts_ns ? a.ts_ns < b.ts_ns : a.key < b.key;
    });
    report_.watch_rows = rows_.size();
    if (!rows_.empty()) {
      report_.first_ns = rows_.front().ts_ns;
      report_.last_ns = rows_.back().ts_ns;
    }
    LogLine("import", "read " + std::to_string(report_.kvs_read) +
                          " rows: " + std::to_string(rows_.size()) + " watch rows to import, " +
                          (rows_.empty() ? std::string("")
                                         : "from " + FormatRfc3339Fixed(report_.first_ns, 0) +
                                               " to " + FormatRfc3339Fixed(report_.last_ns, 0)));
    return {};
  }

  // Pass 2: the rows in time order into a Store on the staging directory, sealed.
  Result<void> Write(std::span<const char> stream, const fs::path& staging) {
    StoreOptions o = options_;
    o.root = staging;
    o.read_only = false;
    // Seals on this thread as each window is left behind: no background pass decides by the wall
    // clock that an old window has closed and seals it while its records are still coming.
    o.background = false;
    auto store = Store::Open(o);
    if (!store) return std::unexpected(store.error());
    simdjson::dom::parser parser;
    std::string padded;
    Progress progress("writing: ");
    for (const WatchRow& row : rows_) {
      auto r = DecodeBadgerKv(stream, row.offset, row.length, [&](const BadgerKv& kv) {
        return Append(**store, parser, padded, row, kv);
      });
      if (!r) {
        (void)(*store)->Close();
        return r;
      }
      progress.Maybe([&] {
        return std::to_string(report_.records_written) + " of " + std::to_string(rows_.size()) +
               " records";
      });
    }
    if (auto r = (*store)->Close(); !r) return r;
    const StoreStats stats = (*store)->Stats();
    report_.shards_written = stats.sealed_shards;
    report_.shards_evicted = stats.evictions;
    if (stats.sealed_shards != stats.shards) {
      return MakeError(ErrorCode::kIOError, std::to_string(stats.shards - stats.sealed_shards) +
                                                " shards could not be sealed (see the log above)");
    }
    return {};
  }

  Result<void> Append(Store& store, simdjson::dom::parser& parser, std::string& padded,
                      const WatchRow& row, const BadgerKv& kv) {
    auto w = DecodeKubeWatchResult(kv.value);
    if (!w) return std::unexpected(w.error());
    SloopKey key;
    ParseSloopKey(kv.key, &key);
    const SloopKindMapping mapped = MapSloopKind(key.kind);
    ResourceType type;
    type.kind = std::string(mapped.kind);
    type.group = std::string(mapped.group);
    type.version = std::string(mapped.version);
    const bool is_event = IsEventType(type.group, type.kind);
    auto obj = ParseObject(parser, padded, w->payload, is_event);
    if (!obj) {
      Skip("watch: the payload is not a Kubernetes object (" + obj.error().message + ")");
      return {};
    }
    // The object's own apiVersion, when Sloop's informer kept it, says the group it came from.
    std::string_view api_version;
    if (obj->root["apiVersion"].get(api_version) == simdjson::SUCCESS && !api_version.empty()) {
      const size_t slash = api_version.find('/');
      type.group = slash == std::string_view::npos ? "" : std::string(api_version.substr(0, slash));
      type.version = std::string(slash == std::string_view::npos ? api_version
                                                                 : api_version.substr(slash + 1));
    }
    const RecordView record = MakeRecord(type, *obj, w->watch_type, row.ts_ns);
    if (auto r = store.Append(record); !r) return r;
    ++report_.records_written;
    return {};
  }

  fs::path path_;
  StoreOptions options_;
  StoreLock lock_;  // declared before cleanup_: held until the staging directory is gone
  StagingCleanup cleanup_;
  std::vector<WatchRow> rows_;
  SloopImportReport report_;
};

}  // namespace

std::string FormatSloopImportReport(const SloopImportReport& r) {
  std::string s;
  s += "imported " + std::to_string(r.records_written) + " records into " +
       std::to_string(r.shards_written) + " sealed shards in " + std::to_string(r.seconds) + " s\n";
  s += "  file: " + std::to_string(r.file_bytes) + " bytes" +
       (r.compressed ? " (zstd; " + std::to_string(r.stream_bytes) + " bytes raw)" : "") + "\n";
  s += "  rows read: " + std::to_string(r.kvs_read) +
       " (watch rows to import: " + std::to_string(r.watch_rows) + ")\n";
  if (r.first_ns != 0)
    s += "  time range: " + FormatRfc3339Fixed(r.first_ns, 0) + " to " +
         FormatRfc3339Fixed(r.last_ns, 0) + "\n";
  if (r.shards_evicted > 0) {
    s += "  shards deleted by retention (-max-look-back, -max-disk-mb): " +
         std::to_string(r.shards_evicted) + "\n";
  }
  for (const auto& [why, n] : r.skipped) s += "  skipped " + std::to_string(n) + ": " + why + "\n";
  return s;
}

Result<SloopImportReport> ImportSloopBackup(const std::filesystem::path& path,
                                            const StoreOptions& store) {
  return Importer(path, store).Run();
}

}  // namespace sloop::ingest
