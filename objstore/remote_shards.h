// The query side of the object-store tier (docs/format/object-store.md, "Reading from the
// bucket"): sealed shards a recorder uploaded, read back lazily. A shard's manifest (listed once
// a minute) says its window and sizes; nothing else is fetched until a query reads the shard.
// Then its whole index (small) is fetched into the local cache and checked against the
// manifest's XXH3, and its segment is read by byte range: the 256 KiB chunks holding the blocks
// the query needs, each one ranged GET, kept in the same cache. The cache is a directory bounded
// by bytes, least recently used first out; every block read from it is still checked against its
// own checksum by SegmentReader. Memory is the opened shards' (at most max_open at once) and the
// bookkeeping of the cache, whatever the bucket holds.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "base/status.h"
#include "engine/shard.h"
#include "objstore/manifest.h"
#include "objstore/object_store.h"
#include "segments/byte_source.h"

namespace sloop::objstore {

struct ObjectCacheStats {
  uint64_t requests = 0;       // GETs sent to the bucket (whole objects and ranges)
  uint64_t fetched_bytes = 0;  // bytes they brought
  uint64_t hits = 0;           // pieces read from the cache
  uint64_t misses = 0;         // pieces fetched
  uint64_t evictions = 0;      // pieces removed to stay under the limit
  uint64_t held_bytes = 0;     // bytes in the cache now
  uint64_t held_pieces = 0;
  uint64_t limit_bytes = 0;
};

// A directory of pieces of bucket objects (whole objects, or fixed-size chunks of them), at most
// limit_bytes in all: the least recently used pieces are deleted first (a piece being read is
// fetched again if it goes meanwhile). When a piece cannot be written (a full disk), the read it
// was for goes to the bucket directly. What a previous run left there is removed when it opens:
// its bookkeeping is in memory. Thread-safe; a piece several threads want is fetched once.
class ObjectCache {
 public:
  static constexpr uint64_t kChunkBytes = 256 * 1024;

  static Result<std::unique_ptr<ObjectCache>> Open(std::filesystem::path dir, uint64_t limit_bytes,
                                                   ObjectStore* store);
  ~ObjectCache();

  // Bytes [offset, offset + n) of object key (of size object_bytes) into buf, through the
  // chunks that hold them. Errors name the key.
  Result<void> Read(const std::string& key, uint64_t object_bytes, uint64_t offset, char* buf,
                    size_t n);
  // The whole object as a file of the cache, fetched if needed and checked against digest
  // (size and XXH3): kCorruption naming the key when it does not match. The file may be deleted
  // once unused (a reader that maps it keeps its bytes).
  Result<std::filesystem::path> Whole(const std::string& key, const FileDigest& digest);

  ObjectCacheStats stats() const;
  const std::filesystem::path& dir() const { return dir_; }

  ObjectCache(const ObjectCache&) = delete;
  ObjectCache& operator=(const ObjectCache&) = delete;

 private:
  ObjectCache(std::filesystem::path dir, uint64_t limit, ObjectStore* store)
      : dir_(std::move(dir)), limit_(limit), store_(store) {}
  struct Piece {
    uint64_t bytes = 0;
    std::list<std::string>::iterator lru;
  };
  // Makes piece `name` present (fetching it with fetch() when absent) and marks it used.
  Result<void> Ensure(const std::string& name, const std::function<Result<std::string>()>& fetch);
  std::filesystem::path PathOf(const std::string& name) const { return dir_ / name; }
  // Drops a piece whose file went missing.
  void Forget(const std::string& name);

  const std::filesystem::path dir_;
  const uint64_t limit_;
  ObjectStore* const store_;
  mutable std::mutex mu_;
  std::condition_variable fetched_;
  std::unordered_map<std::string, Piece> pieces_;
  std::list<std::string> lru_;  // most recent first
  std::unordered_set<std::string> fetching_;
  uint64_t held_ = 0;
  uint64_t tmp_seq_ = 0;
  ObjectCacheStats st_;
};

// A segment in the bucket as a ByteSource: reads go through the cache's chunks.
class RemoteSegmentSource : public ByteSource {
 public:
  RemoteSegmentSource(ObjectCache* cache, std::string key, uint64_t bytes)
      : cache_(cache), key_(std::move(key)), bytes_(bytes) {}
  uint64_t Size() const override { return bytes_; }
  bool ReadAt(char* buf, size_t n, uint64_t offset, int* err, std::string* why) const override;

 private:
  ObjectCache* cache_;
  std::string key_;
  uint64_t bytes_;
};

class RemoteShards;

// One shard of the bucket: its manifest, and the SealedShard it opens on first use (closed
// again when RemoteShards keeps too many open). Queries that cannot reach it (the bucket
// down, a damaged file) see it as empty and the failure is logged, or get the error where the
// call returns one.
class RemoteShard : public Shard, public std::enable_shared_from_this<RemoteShard> {
 public:
  RemoteShard(RemoteShards* owner, ShardManifest manifest, std::string segment_key,
              std::string index_key);
  ShardInfo info() const override { return info_; }
  void ForEachEntry(const EntryFilter& filter, bool with_details, const EntryFn& fn) const override;
  Result<void> ForEachRecord(const ResourceKeyView& key, const RecordFn& fn) const override;
  Result<void> ForEachEventAbout(const ResourceKeyView& involved,
                                 const RecordFn& fn) const override;
  Result<void> ForEachPickedRecord(const EntryFilter& filter, const EntryFn& pick,
                                   const RecordFn& fn) const override;
  std::vector<std::string> Kinds() const override;
  std::vector<std::string> Namespaces() const override;
  // None on this machine: nothing of it is backed up or counted against the disk limit.
  std::vector<std::pair<std::filesystem::path, uint64_t>> Files() const override { return {}; }

  const ShardManifest& manifest() const { return manifest_; }
  // The shard, opened (fetching its index) if it is not.
  Result<std::shared_ptr<const SealedShard>> Opened() const;
  bool is_open() const;
  void Close() const;

 private:
  // Opened(), or null when it fails: the failure is logged (once) and counted as a damaged block
  // of the shard, for the calls that answer without it (entries, kinds, namespaces).
  std::shared_ptr<const SealedShard> OpenedOrNoted() const;

  RemoteShards* owner_;
  ShardManifest manifest_;
  std::string segment_key_;
  std::string index_key_;
  ShardInfo info_;
  mutable std::mutex mu_;
  mutable std::shared_ptr<const SealedShard> opened_;
};

// The remote shards open at once, at most max_open: opening one more closes the least recently
// opened (a query holding one keeps it). One per RemoteShards, or one shared by a gateway's
// clusters, so that the bound holds whatever their number.
class OpenShardLimit {
 public:
  explicit OpenShardLimit(size_t max_open) : max_open_(max_open) {}
  void NoteOpened(const RemoteShard* shard);
  size_t max_open() const { return max_open_; }
  size_t open() const;  // how many are open now

 private:
  const size_t max_open_;
  mutable std::mutex mu_;
  std::list<std::weak_ptr<const RemoteShard>> open_;  // most recently opened first
};

struct RemoteShardsOptions {
  std::string prefix;   // as in -object-store (normalised by ClusterShardsPrefix)
  std::string cluster;  // whose shards
  std::string display;  // "s3://bucket/prefix", for messages
  int64_t list_interval_ns = 60'000'000'000;  // how long a listing is reused
  size_t max_open = 64;                       // shards kept open at once, without open_limit
  std::shared_ptr<OpenShardLimit> open_limit;  // shared with other clusters' (a gateway's)
};

// The clusters with keys under prefix (PREFIX/CLUSTER/…), sorted by name, every page of the
// listing; names that are no valid cluster name (ValidateClusterName) are left out. Errors are the
// bucket's.
Result<std::vector<std::string>> ListClusters(ObjectStore& store, std::string_view prefix);

// The shards of one cluster in a bucket, as Shards for the store's queries.
class RemoteShards {
 public:
  RemoteShards(ObjectStore* store, ObjectCache* cache, RemoteShardsOptions options);

  // The cluster's shards whose window ends at or before before_ns and whose id is not in
  // `local` (shards this machine still holds), oldest first. Lists the bucket when the last
  // listing is older than list_interval; when listing fails, the last good listing is used
  // (and the failure logged), and with none, kUnavailable naming the bucket (tried again at
  // the next call).
  Result<std::vector<std::shared_ptr<const Shard>>> ShardsBefore(
      int64_t before_ns, const std::vector<uint64_t>& local);
  // Lists now. kUnavailable etc. from the bucket; manifests that do not parse are logged and
  // left out.
  Result<void> Refresh();

  ObjectCache* cache() const { return cache_; }
  ObjectStore* store() const { return store_; }
  const RemoteShardsOptions& options() const { return options_; }
  uint64_t listings() const { return listings_.load(); }
  size_t known() const;

 private:
  friend class RemoteShard;
  // A shard was opened: close the least recently opened ones beyond max_open.
  void NoteOpened(const RemoteShard* shard);

  ObjectStore* store_;
  ObjectCache* cache_;
  RemoteShardsOptions options_;
  std::mutex list_mu_;  // one listing at a time
  mutable std::mutex mu_;
  std::vector<std::shared_ptr<RemoteShard>> shards_;  // oldest first
  int64_t listed_at_ = 0;                             // steady ns of the last good listing
  bool listed_ = false;
  std::atomic<uint64_t> listings_{0};
};

}  // namespace sloop::objstore
