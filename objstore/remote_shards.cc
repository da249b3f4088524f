#include "objstore/remote_shards.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <optional>
#include <system_error>
#include <thread>

#include "base/log.h"
#include "objstore/shard_keys.h"

namespace sloop::objstore {

namespace {

void Log(const std::string& line) { LogLine("objstore", line); }

// Manifests read at once when listing (one GET each: 336 for 14 days of hourly shards).
constexpr size_t kManifestFetchers = 8;

int64_t SteadyNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Writes bytes to path through a temporary file in the same directory (no fsync: the cache is
// thrown away at the next start anyway).
Result<void> WriteFile(const std::filesystem::path& path, const std::filesystem::path& tmp,
                       std::string_view bytes) {
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return IOError("create cache file", tmp.string(), errno);
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t w = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return IOError("write cache file", tmp.string(), e);
    }
    done += static_cast<size_t>(w);
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return IOError("rename cache file", path.string(), e);
  }
  return {};
}

// Reads n bytes at offset of a cache file; false when the file is gone (evicted) or short.
bool ReadPiece(const std::filesystem::path& path, uint64_t offset, char* buf, size_t n) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  size_t done = 0;
  bool ok = true;
  while (done < n) {
    ssize_t r = ::pread(fd, buf + done, n - done, static_cast<off_t>(offset + done));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      ok = false;
      break;
    }
    done += static_cast<size_t>(r);
  }
  ::close(fd);
  return ok;
}

std::string PieceName(const std::string& key, const char* suffix) {
  return Hex64(Xxh3(key)) + suffix;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// ObjectCache

Result<std::unique_ptr<ObjectCache>> ObjectCache::Open(std::filesystem::path dir,
                                                       uint64_t limit_bytes, ObjectStore* store) {
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (ec) return IOError("clear the object cache", dir.string(), ec.value());
  std::filesystem::create_directories(dir, ec);
  if (ec) return IOError("create the object cache", dir.string(), ec.value());
  auto cache = std::unique_ptr<ObjectCache>(new ObjectCache(std::move(dir), limit_bytes, store));
  cache->st_.limit_bytes = limit_bytes;
  return cache;
}

ObjectCache::~ObjectCache() = default;

Result<void> ObjectCache::Ensure(const std::string& name,
                                 const std::function<Result<std::string>()>& fetch) {
  {
    std::unique_lock lock(mu_);
    for (;;) {
      auto it = pieces_.find(name);
      if (it != pieces_.end()) {
        lru_.splice(lru_.begin(), lru_, it->second.lru);
        ++st_.hits;
        return {};
      }
      if (!fetching_.contains(name)) break;
      fetched_.wait(lock);  // another thread brings it; then look again
    }
    fetching_.insert(name);
    ++st_.misses;
  }
  Result<std::string> bytes = fetch();
  Result<void> written;
  std::filesystem::path tmp;
  if (bytes) {
    {
      std::lock_guard lock(mu_);
      tmp = dir_ / (name + ".tmp" + std::to_string(++tmp_seq_));
    }
    written = WriteFile(PathOf(name), tmp, *bytes);
  }
  {
    std::lock_guard lock(mu_);
    fetching_.erase(name);
    ++st_.requests;
    if (bytes) st_.fetched_bytes += bytes->size();
    if (bytes && written) {
      lru_.push_front(name);
      pieces_[name] = Piece{bytes->size(), lru_.begin()};
      held_ += bytes->size();
      // Least recently used out, never the piece just brought.
      while (held_ > limit_ && lru_.size() > 1) {
        const std::string victim = lru_.back();
        lru_.pop_back();
        auto v = pieces_.find(victim);
        held_ -= v->second.bytes;
        pieces_.erase(v);
        ++st_.evictions;
        // Under the lock: a fetch of the same piece cannot put a new file there meanwhile.
        ::unlink(PathOf(victim).c_str());
      }
    }
  }
  fetched_.notify_all();
  if (!bytes) return std::unexpected(bytes.error());
  if (!written) return written;
  return {};
}

Result<void> ObjectCache::Read(const std::string& key, uint64_t object_bytes, uint64_t offset,
                               char* buf, size_t n) {
  if (offset > object_bytes || n > object_bytes - offset) {
    return MakeError(ErrorCode::kInvalidArgument,
                     key + ": read of " + std::to_string(n) + " bytes at " +
                         std::to_string(offset) + " runs past its " +
                         std::to_string(object_bytes) + " bytes");
  }
  while (n > 0) {
    const uint64_t chunk = offset / kChunkBytes;
    const uint64_t chunk_start = chunk * kChunkBytes;
    const uint64_t chunk_len = std::min(kChunkBytes, object_bytes - chunk_start);
    const size_t take = static_cast<size_t>(std::min<uint64_t>(n, chunk_start + chunk_len - offset));
    const std::string name = PieceName(key, ("-" + std::to_string(chunk)).c_str());
    bool done = false;
    // A piece evicted between Ensure and the read is fetched again (twice at most: the limit
    // would have to be far below one chunk for more).
    for (int attempt = 0; attempt < 3 && !done; ++attempt) {
      auto ok = Ensure(name, [&]() -> Result<std::string> {
        auto got = store_->Get(key, chunk_start, chunk_len);
        if (got && got->size() != chunk_len) {
          return MakeError(ErrorCode::kCorruption,
                           key + ": the bucket answered " + std::to_string(got->size()) +
                               " bytes for a range of " + std::to_string(chunk_len) + " at " +
                               std::to_string(chunk_start));
        }
        return got;
      });
      if (!ok && ok.error().code == ErrorCode::kIOError) {
        // The cache cannot keep it (a full disk): this read goes to the bucket directly.
        Log("object cache " + dir_.string() + ": " + ok.error().message +
            "; reading without the cache");
        auto got = store_->Get(key, offset, take);
        if (!got) return std::unexpected(got.error());
        if (got->size() != take) {
          return MakeError(ErrorCode::kCorruption, key + ": the bucket answered " +
                                                       std::to_string(got->size()) +
                                                       " bytes for a range of " +
                                                       std::to_string(take));
        }
        std::memcpy(buf, got->data(), take);
        done = true;
        break;
      }
      if (!ok) return ok;
      done = ReadPiece(PathOf(name), offset - chunk_start, buf, take);
      if (!done) Forget(name);  // its file is gone: fetched again
    }
    if (!done) {
      return MakeError(ErrorCode::kUnavailable,
                       key + ": the object cache in " + dir_.string() +
                           " lost a chunk while reading it; is -cache-mb far too small?");
    }
    buf += take;
    offset += take;
    n -= take;
  }
  return {};
}

Result<std::filesystem::path> ObjectCache::Whole(const std::string& key,
                                                 const FileDigest& digest) {
  const std::string name = PieceName(key, ".whole");
  auto ok = Ensure(name, [&]() -> Result<std::string> {
    auto got = store_->Get(key);
    if (!got) return got;
    if (got->size() != digest.bytes || Xxh3(*got) != digest.xxh3) {
      return MakeError(ErrorCode::kCorruption,
                       key + ": " + std::to_string(got->size()) + " bytes with XXH3 " +
                           Hex64(Xxh3(*got)) + ", but its manifest says " +
                           std::to_string(digest.bytes) + " bytes with XXH3 " +
                           Hex64(digest.xxh3));
    }
    return got;
  });
  if (!ok) return std::unexpected(ok.error());
  return PathOf(name);
}

void ObjectCache::Forget(const std::string& name) {
  std::lock_guard lock(mu_);
  auto it = pieces_.find(name);
  if (it == pieces_.end()) return;
  held_ -= it->second.bytes;
  lru_.erase(it->second.lru);
  pieces_.erase(it);
}

ObjectCacheStats ObjectCache::stats() const {
  std::lock_guard lock(mu_);
  ObjectCacheStats s = st_;
  s.held_bytes = held_;
  s.held_pieces = pieces_.size();
  return s;
}

bool RemoteSegmentSource::ReadAt(char* buf, size_t n, uint64_t offset, int* err,
                                 std::string* why) const {
  if (offset > bytes_ || n > bytes_ - offset) {
    *err = 0;
    *why = "end of file";
    return false;
  }
  auto r = cache_->Read(key_, bytes_, offset, buf, n);
  if (!r) {
    *err = EIO;
    *why = r.error().ToString();
    return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// RemoteShard

RemoteShard::RemoteShard(RemoteShards* owner, ShardManifest manifest, std::string segment_key,
                         std::string index_key)
    : owner_(owner),
      manifest_(std::move(manifest)),
      segment_key_(std::move(segment_key)),
      index_key_(std::move(index_key)) {
  info_.id = manifest_.shard_id;
  info_.sealed = true;
  info_.window_start_ns = manifest_.window_start_ns;
  info_.window_end_ns = manifest_.window_end_ns;
  info_.min_ns = manifest_.first_record_ns;
  info_.max_ns = manifest_.last_record_ns;
  info_.records = manifest_.records;
  info_.resources = manifest_.resources;
  info_.segment_bytes = manifest_.segment.bytes;
  info_.index_bytes = manifest_.index.bytes;
  info_.remote = true;
}

Result<std::shared_ptr<const SealedShard>> RemoteShard::Opened() const {
  std::shared_ptr<const SealedShard> shard;
  {
    std::lock_guard lock(mu_);
    if (opened_) return opened_;
    ObjectCache* cache = owner_->cache();
    auto index = cache->Whole(index_key_, manifest_.index);
    if (!index) return std::unexpected(index.error());
    auto opened = SealedShard::Open(
        std::make_unique<RemoteSegmentSource>(cache, segment_key_, manifest_.segment.bytes),
        owner_->options().display + "/" + segment_key_, *index);
    if (!opened) return std::unexpected(opened.error());
    const ShardInfo got = (*opened)->info();
    if (got.id != info_.id || got.window_start_ns != info_.window_start_ns ||
        got.records != info_.records) {
      return MakeError(ErrorCode::kCorruption,
                       index_key_ + ": the index describes shard " + std::to_string(got.id) +
                           " with " + std::to_string(got.records) +
                           " records, its manifest shard " + std::to_string(info_.id) + " with " +
                           std::to_string(info_.records));
    }
    opened_ = *opened;
    shard = opened_;
  }
  owner_->NoteOpened(this);
  return shard;
}

std::shared_ptr<const SealedShard> RemoteShard::OpenedOrNoted() const {
  auto s = Opened();
  if (s) return *s;
  NoteCorruptBlock(segment_key_, 0, "opening the shard from the bucket: " + s.error().ToString());
  return nullptr;
}

bool RemoteShard::is_open() const {
  std::lock_guard lock(mu_);
  return opened_ != nullptr;
}

void RemoteShard::Close() const {
  std::shared_ptr<const SealedShard> drop;
  std::lock_guard lock(mu_);
  drop.swap(opened_);  // queries holding it keep it until they end
}

void RemoteShard::ForEachEntry(const EntryFilter& filter, bool with_details,
                               const EntryFn& fn) const {
  if (auto s = OpenedOrNoted()) s->ForEachEntry(filter, with_details, fn);
}

Result<void> RemoteShard::ForEachRecord(const ResourceKeyView& key, const RecordFn& fn) const {
  auto s = Opened();
  if (!s) return std::unexpected(s.error());
  return (*s)->ForEachRecord(key, fn);
}

Result<void> RemoteShard::ForEachEventAbout(const ResourceKeyView& involved,
                                            const RecordFn& fn) const {
  auto s = Opened();
  if (!s) return std::unexpected(s.error());
  return (*s)->ForEachEventAbout(involved, fn);
}

Result<void> RemoteShard::ForEachPickedRecord(const EntryFilter& filter, const EntryFn& pick,
                                              const RecordFn& fn) const {
  auto s = Opened();
  if (!s) return std::unexpected(s.error());
  return (*s)->ForEachPickedRecord(filter, pick, fn);
}

std::vector<std::string> RemoteShard::Kinds() const {
  auto s = OpenedOrNoted();
  return s ? s->Kinds() : std::vector<std::string>{};
}

std::vector<std::string> RemoteShard::Namespaces() const {
  auto s = OpenedOrNoted();
  return s ? s->Namespaces() : std::vector<std::string>{};
}

// ---------------------------------------------------------------------------------------------
// RemoteShards

RemoteShards::RemoteShards(ObjectStore* store, ObjectCache* cache, RemoteShardsOptions options)
    : store_(store), cache_(cache), options_(std::move(options)) {
  if (!options_.open_limit) options_.open_limit = std::make_shared<OpenShardLimit>(options_.max_open);
}

size_t RemoteShards::known() const {
  std::lock_guard lock(mu_);
  return shards_.size();
}

Result<void> RemoteShards::Refresh() {
  std::lock_guard listing(list_mu_);
  const std::string prefix = ClusterShardsPrefix(options_.prefix, options_.cluster);
  std::map<std::string, ParsedShardKey> manifests;  // by stem: in time order
  std::string token;
  do {
    auto page = store_->List(prefix, "", token);
    if (!page) return std::unexpected(page.error());
    for (const auto& o : page->objects) {
      auto k = ParseShardKey(options_.prefix, o.key);
      if (k && k->cluster == options_.cluster && k->file == ShardFile::kManifest) {
        manifests.emplace(k->stem, *k);
      }
    }
    token = page->next_token;
  } while (!token.empty());
  ++listings_;

  std::map<uint64_t, std::shared_ptr<RemoteShard>> known;
  {
    std::lock_guard lock(mu_);
    for (const auto& s : shards_) known.emplace(s->info().id, s);
  }
  std::vector<std::shared_ptr<RemoteShard>> next;
  // The manifests not read before, fetched kManifestFetchers at a time (one GET each).
  std::vector<const ParsedShardKey*> unread;
  for (const auto& [stem, k] : manifests) {
    if (auto it = known.find(k.id); it != known.end()) {
      next.push_back(it->second);
    } else {
      unread.push_back(&k);
    }
  }
  std::vector<std::shared_ptr<RemoteShard>> fetched(unread.size());
  std::vector<std::optional<Error>> failed(unread.size());
  std::atomic<size_t> cursor{0};
  auto fetch = [&] {
    for (size_t i; (i = cursor.fetch_add(1)) < unread.size();) {
      const ParsedShardKey& k = *unread[i];
      auto key = [&](ShardFile file) {
        return ShardKey(options_.prefix, options_.cluster, k.start_ns, k.id, file);
      };
      auto text = store_->Get(key(ShardFile::kManifest));
      if (!text) {
        // Deleted since the listing (bucket retention): left out.
        if (text.error().code != ErrorCode::kNotFound) failed[i] = text.error();
        continue;
      }
      auto m = ParseManifest(*text, key(ShardFile::kManifest));
      if (!m) {
        Log("leaves out " + key(ShardFile::kManifest) + ": " + m.error().ToString());
        continue;
      }
      if (m->shard_id != k.id || m->cluster != options_.cluster) {
        Log("leaves out " + key(ShardFile::kManifest) + ": it describes shard " +
            std::to_string(m->shard_id) + " of cluster " + m->cluster);
        continue;
      }
      fetched[i] = std::make_shared<RemoteShard>(this, std::move(*m), key(ShardFile::kSegment),
                                                 key(ShardFile::kIndex));
    }
  };
  {
    std::vector<std::jthread> fetchers;
    const size_t n = std::min(kManifestFetchers, unread.size());
    for (size_t t = 1; t < n; ++t) fetchers.emplace_back(fetch);
    fetch();
  }
  for (size_t i = 0; i < unread.size(); ++i) {
    if (failed[i]) return std::unexpected(*failed[i]);
    if (fetched[i]) next.push_back(std::move(fetched[i]));
  }
  std::stable_sort(next.begin(), next.end(), [](const auto& a, const auto& b) {
    return a->info().window_start_ns < b->info().window_start_ns;
  });
  std::lock_guard lock(mu_);
  shards_ = std::move(next);  // those no longer listed (bucket retention) go when unused
  listed_at_ = SteadyNs();
  listed_ = true;
  return {};
}

Result<std::vector<std::shared_ptr<const Shard>>> RemoteShards::ShardsBefore(
    int64_t before_ns, const std::vector<uint64_t>& local) {
  bool stale;
  {
    std::lock_guard lock(mu_);
    stale = !listed_ || SteadyNs() - listed_at_ >= options_.list_interval_ns;
  }
  if (stale) {
    if (auto r = Refresh(); !r) {
      std::lock_guard lock(mu_);
      if (!listed_) {
        return MakeError(ErrorCode::kUnavailable,
                         "the object store " + options_.display + " (cluster " +
                             options_.cluster + ") keeps the times before this store's oldest "
                             "shard and cannot be listed: " + r.error().message);
      }
      Log("listing " + options_.display + " for cluster " + options_.cluster +
          " failed; answering from the last listing: " + r.error().ToString());
      listed_at_ = SteadyNs();  // not again at every query while the bucket is down
    }
  }
  std::vector<std::shared_ptr<const Shard>> out;
  std::lock_guard lock(mu_);
  for (const auto& s : shards_) {
    const ShardInfo i = s->info();
    if (i.window_end_ns > before_ns) continue;
    if (std::find(local.begin(), local.end(), i.id) != local.end()) continue;
    out.push_back(s);
  }
  return out;
}

void RemoteShards::NoteOpened(const RemoteShard* shard) { options_.open_limit->NoteOpened(shard); }

void OpenShardLimit::NoteOpened(const RemoteShard* shard) {
  std::vector<std::shared_ptr<const RemoteShard>> close;
  {
    std::lock_guard lock(mu_);
    open_.remove_if([&](const std::weak_ptr<const RemoteShard>& w) {
      auto s = w.lock();
      return !s || s.get() == shard;
    });
    open_.push_front(shard->weak_from_this());
    while (open_.size() > max_open_) {
      if (auto s = open_.back().lock()) close.push_back(std::move(s));
      open_.pop_back();
    }
  }
  // Not under mu_: a shard being opened holds its own lock while it fetches.
  for (const auto& s : close) s->Close();
}

size_t OpenShardLimit::open() const {
  std::vector<std::shared_ptr<const RemoteShard>> listed;
  {
    std::lock_guard lock(mu_);
    for (const auto& w : open_) {
      if (auto s = w.lock()) listed.push_back(std::move(s));
    }
  }
  // Not under mu_: a shard's lock is held while it fetches.
  size_t n = 0;
  for (const auto& s : listed) n += s->is_open();
  return n;
}

Result<std::vector<std::string>> ListClusters(ObjectStore& store, std::string_view prefix) {
  const std::string under = NormalizePrefix(prefix);
  std::vector<std::string> out;
  std::string token;
  do {
    auto page = store.List(under, "/", token);
    if (!page) return std::unexpected(page.error());
    for (const std::string& p : page->common_prefixes) {
      if (!p.starts_with(under) || !p.ends_with('/')) continue;
      std::string name = p.substr(under.size(), p.size() - under.size() - 1);
      if (ValidateClusterName(name)) out.push_back(std::move(name));
    }
    token = page->next_token;
  } while (!token.empty());
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace sloop::objstore
