#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <map>
#include <set>
#include <tuple>

#include "engine/store.h"
#include "engine/store_internal.h"

namespace sloop {

using namespace store_internal;

// ---------------------------------------------------------------------------------------------
// StoredRecord

StoredRecord StoredRecord::From(const RecordView& r) {
  StoredRecord s;
  s.observed_ns = r.observed_ns;
  s.watch_type = r.watch_type;
  s.api_group = r.api_group;
  s.api_version = r.api_version;
  s.kind = r.kind;
  s.namespace_ = r.namespace_;
  s.name = r.name;
  s.uid = r.uid;
  s.resource_version = r.resource_version;
  s.payload = r.payload;
  if (r.event) {
    const EventInfoView& e = *r.event;
    s.event = Event{std::string(e.involved_kind),
                    std::string(e.involved_namespace),
                    std::string(e.involved_name),
                    std::string(e.involved_uid),
                    std::string(e.reason),
                    std::string(e.message),
                    e.severity,
                    e.count,
                    e.first_timestamp_ns,
                    e.last_timestamp_ns};
  }
  return s;
}

RecordView StoredRecord::view() const {
  RecordView v;
  v.observed_ns = observed_ns;
  v.watch_type = watch_type;
  v.api_group = api_group;
  v.api_version = api_version;
  v.kind = kind;
  v.namespace_ = namespace_;
  v.name = name;
  v.uid = uid;
  v.resource_version = resource_version;
  v.payload = payload;
  if (event) {
    v.event = EventInfoView{event->involved_kind,
                            event->involved_namespace,
                            event->involved_name,
                            event->involved_uid,
                            event->reason,
                            event->severity,
                            event->count,
                            event->first_timestamp_ns,
                            event->last_timestamp_ns,
                            event->message};
  }
  return v;
}

size_t StoredRecord::bytes() const {
  size_t n = sizeof(StoredRecord) + api_group.size() + api_version.size() + kind.size() +
             namespace_.size() + name.size() + uid.size() + resource_version.size() +
             payload.size();
  if (event) {
    n += sizeof(Event) + event->involved_kind.size() + event->involved_namespace.size() +
         event->involved_name.size() + event->involved_uid.size() + event->reason.size() +
         event->message.size();
  }
  return n;
}

// ---------------------------------------------------------------------------------------------
// Queries

std::vector<std::shared_ptr<const Shard>> Store::Snapshot() const {
  std::vector<std::shared_ptr<const Shard>> out;
  std::lock_guard lock(shards_mu_);
  out.reserve(sealed_.size() + sealing_.size() + 1);
  for (const auto& s : sealed_) out.push_back(s);
  for (const auto& s : sealing_) out.push_back(s);
  if (active_) out.push_back(active_);
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return TimeOrderLess(a->info(), b->info());
  });
  return out;
}

void Store::SetOlderShards(OlderShardsFn fn) {
  std::lock_guard lock(shards_mu_);
  older_shards_ = std::move(fn);
}

Result<std::vector<std::shared_ptr<const Shard>>> Store::QuerySnapshot(int64_t from_ns) const {
  OlderShardsFn older;
  {
    std::lock_guard lock(shards_mu_);
    older = older_shards_;
  }
  auto local = Snapshot();
  if (!older) return local;
  int64_t before = std::numeric_limits<int64_t>::max();
  std::vector<uint64_t> ids;
  ids.reserve(local.size());
  for (const auto& s : local) {
    const ShardInfo i = s->info();
    before = std::min(before, i.window_start_ns);
    ids.push_back(i.id);
  }
  // A query of times this store holds never waits for the other tier (a listing of a bucket
  // that does not answer); nor does looking back from them for the version in effect then,
  // which is what the store alone knew, as before it had a bucket (a history of a resource
  // created since would otherwise fetch every index of the bucket).
  if (from_ns >= before) return local;
  auto out = older(before, ids);
  if (!out) return std::unexpected(out.error());
  out->insert(out->end(), local.begin(), local.end());
  return out;
}

std::vector<std::shared_ptr<const SealedShard>> Store::SealedShards() const {
  std::lock_guard lock(shards_mu_);
  return {sealed_.begin(), sealed_.end()};  // kept in time order
}

namespace {

bool Raised(const std::atomic<bool>* cancel) {
  return cancel && cancel->load(std::memory_order_relaxed);
}

}  // namespace

Result<void> Store::History(const ResourceKeyView& asked, const TimeRange& range,
                            bool include_previous, const RecordFn& fn,
                            const std::atomic<bool>* cancel) const {
  const ResourceKeyView key = LookupKey(asked);
  auto snapshot = QuerySnapshot(range.start_ns);
  if (!snapshot) return std::unexpected(snapshot.error());
  const auto& shards = *snapshot;
  if (include_previous) {
    std::optional<StoredRecord> previous;
    for (auto it = shards.rbegin(); it != shards.rend() && !previous; ++it) {
      if (Raised(cancel)) return MakeError(ErrorCode::kAborted, "history: cancelled");
      ShardInfo info = (*it)->info();
      if (!info.records || info.min_ns >= range.start_ns) continue;
      auto r = (*it)->ForEachRecord(key, [&](const RecordView& rec) {
        if (rec.observed_ns < range.start_ns &&
            (!previous || rec.observed_ns >= previous->observed_ns)) {
          previous = StoredRecord::From(rec);
        }
        return true;
      });
      if (!r) return r;
    }
    if (previous && !fn(previous->view())) return {};
  }
  bool stopped = false;
  for (const auto& shard : shards) {
    if (stopped) break;
    if (Raised(cancel)) return MakeError(ErrorCode::kAborted, "history: cancelled");
    ShardInfo info = shard->info();
    if (!info.records || info.max_ns < range.start_ns || info.min_ns > range.end_ns) continue;
    auto r = shard->ForEachRecord(key, [&](const RecordView& rec) {
      if (rec.observed_ns < range.start_ns || rec.observed_ns > range.end_ns) return true;
      if (!fn(rec)) {
        stopped = true;
        return false;
      }
      return true;
    });
    if (!r) return r;
  }
  return {};
}

Result<std::optional<StoredRecord>> Store::PayloadAt(const ResourceKeyView& asked, int64_t t_ns,
                                                     const std::atomic<bool>* cancel) const {
  const ResourceKeyView key = LookupKey(asked);
  auto snapshot = QuerySnapshot(t_ns);
  if (!snapshot) return std::unexpected(snapshot.error());
  const auto& shards = *snapshot;
  std::optional<StoredRecord> found;
  for (auto it = shards.rbegin(); it != shards.rend() && !found; ++it) {
    if (Raised(cancel)) return MakeError(ErrorCode::kAborted, "payload: cancelled");
    ShardInfo info = (*it)->info();
    if (!info.records || info.min_ns > t_ns) continue;
    auto r = (*it)->ForEachRecord(key, [&](const RecordView& rec) {
      if (rec.observed_ns <= t_ns && (!found || rec.observed_ns >= found->observed_ns)) {
        found = StoredRecord::From(rec);
      }
      return true;
    });
    if (!r) return std::unexpected(r.error());
  }
  return found;
}

Result<void> Store::Events(const ResourceKeyView& involved, const TimeRange& range,
                           const RecordFn& fn, const std::atomic<bool>* cancel) const {
  bool stopped = false;
  auto snapshot = QuerySnapshot(range.start_ns);
  if (!snapshot) return std::unexpected(snapshot.error());
  for (const auto& shard : *snapshot) {
    if (stopped) break;
    if (Raised(cancel)) return MakeError(ErrorCode::kAborted, "events: cancelled");
    ShardInfo info = shard->info();
    if (!info.records || info.max_ns < range.start_ns || info.min_ns > range.end_ns) continue;
    auto r = shard->ForEachEventAbout(involved, [&](const RecordView& rec) {
      if (rec.observed_ns < range.start_ns || rec.observed_ns > range.end_ns) return true;
      if (!fn(rec)) {
        stopped = true;
        return false;
      }
      return true;
    });
    if (!r) return r;
  }
  return {};
}

std::vector<std::string> Store::Namespaces(const TimeRange& range) const {
  std::set<std::string> out;
  // Without a listing of the other tier: the names this store knows.
  auto snapshot = QuerySnapshot(range.start_ns);
  for (const auto& shard : snapshot ? *snapshot : Snapshot()) {
    if (!Overlaps(shard->info(), range)) continue;
    for (auto& n : shard->Namespaces()) out.insert(std::move(n));
  }
  return {out.begin(), out.end()};
}

std::vector<std::string> Store::Kinds(const TimeRange& range) const {
  std::set<std::string> out;
  // Without a listing of the other tier: the names this store knows.
  auto snapshot = QuerySnapshot(range.start_ns);
  for (const auto& shard : snapshot ? *snapshot : Snapshot()) {
    if (!Overlaps(shard->info(), range)) continue;
    for (auto& k : shard->Kinds()) out.insert(std::move(k));
  }
  return {out.begin(), out.end()};
}

std::vector<SearchHit> Store::Search(std::string_view needle, std::string_view kind,
                                     size_t limit) const {
  return SearchShards(Snapshot(), needle, kind, limit);
}

Result<std::vector<SearchHit>> Store::SearchFrom(std::string_view needle, std::string_view kind,
                                                 size_t limit, int64_t from_ns,
                                                 const std::atomic<bool>* cancel) const {
  auto shards = QuerySnapshot(from_ns);
  if (!shards) return std::unexpected(shards.error());
  // Older shards wholly before from_ns are not read (the bucket's may be months of them); this
  // store's own are all searched, as by Search.
  std::erase_if(*shards, [from_ns](const std::shared_ptr<const Shard>& s) {
    const ShardInfo i = s->info();
    return i.remote && std::max(i.window_end_ns, i.max_ns) <= from_ns;
  });
  auto hits = SearchShards(*shards, needle, kind, limit, cancel);
  if (Raised(cancel)) return MakeError(ErrorCode::kAborted, "search: cancelled");
  return hits;
}

std::vector<SearchHit> Store::SearchShards(const std::vector<std::shared_ptr<const Shard>>& shards,
                                           std::string_view needle, std::string_view kind,
                                           size_t limit, const std::atomic<bool>* cancel) const {
  std::map<ResourceKey, SearchHit, ResourceKeyLess> hits;
  const int64_t now = Now();
  EntryFilter filter;
  filter.kind = kind;
  filter.skip_events = kind.empty();
  filter.name_contains = needle;  // both kinds of shard apply it
  for (auto it = shards.rbegin(); it != shards.rend(); ++it) {
    if (Raised(cancel)) break;
    ShardInfo info = (*it)->info();
    // A resource carried unchanged through a shard was seen, with the same facts, in the shard
    // it was last recorded in and in the newest shard: only the newest needs its carried entries.
    filter.skip_carried = it != shards.rbegin();
    int64_t alive_until = info.sealed ? std::max(info.window_end_ns, info.max_ns)
                                      : std::max(std::min(now, info.window_end_ns), info.max_ns);
    (*it)->ForEachEntry(filter, false, [&](const EntryView& e) {
      if ((e.flags & kEventOnly) || (kind.empty() && e.key.kind == "Event")) return true;
      auto h = hits.find(e.key);
      if (h == hits.end()) {
        // Newest shards come first: past the limit, older resources are left out.
        if (hits.size() >= limit) return true;
        SearchHit hit;
        hit.key = ResourceKey(e.key);
        hit.deleted = e.flags & kDeletedInShard;
        hit.last_ns = hit.deleted ? e.last_ns : std::min(alive_until, now);
        hit.first_ns = e.first_ns;
        hit.creation_ns = e.creation_ns;
        hits.emplace(hit.key, std::move(hit));
      } else {
        h->second.first_ns = std::min(h->second.first_ns, e.first_ns);
        if (e.creation_ns) h->second.creation_ns = e.creation_ns;
      }
      return true;
    });
  }
  std::vector<SearchHit> out;
  out.reserve(hits.size());
  for (auto& [k, h] : hits) out.push_back(std::move(h));
  std::sort(out.begin(), out.end(), [](const SearchHit& a, const SearchHit& b) {
    return std::tie(b.last_ns, a.key) < std::tie(a.last_ns, b.key);
  });
  return out;
}

std::vector<ShardInfo> Store::Shards() const {
  std::vector<ShardInfo> out;
  for (const auto& s : Snapshot()) out.push_back(s->info());
  return out;
}

std::optional<std::string> Store::LastPayload(std::string_view api_group, std::string_view kind,
                                              std::string_view namespace_, std::string_view name,
                                              std::string_view uid, int64_t t_ns) const {
  auto r = PayloadAt(ResourceKeyView{kind, namespace_, name, uid}, t_ns);
  if (!r || !*r || (*r)->api_group != api_group) return std::nullopt;
  return std::move((*r)->payload);
}

StoreStats Store::Stats() const {
  StoreStats st;
  for (const auto& s : Snapshot()) {
    ShardInfo i = s->info();
    st.corrupt_blocks_skipped += s->corrupt_blocks_skipped();
    ++st.shards;
    if (i.sealed) {
      ++st.sealed_shards;
      st.disk_bytes += i.segment_bytes + i.index_bytes;
    } else {
      st.disk_bytes += i.segment_bytes;
      st.memory_bytes += i.index_bytes;
    }
    st.records_held += i.records;
    if (i.records) {
      if (!st.oldest_ns || i.min_ns < st.oldest_ns) st.oldest_ns = i.min_ns;
      st.newest_ns = std::max(st.newest_ns, i.max_ns);
    }
  }
  st.records_appended = records_appended_.load();
  st.evictions = evictions_.load();
  st.evicted_bytes = evicted_bytes_.load();
  st.seals = seals_.load();
  st.seal_failures = seal_failures_.load();
  st.recovered_bytes_dropped = recovered_bytes_dropped_;
  st.recovered_corrupt_blocks = recovered_corrupt_blocks_;
  st.damaged_files_set_aside = damaged_files_;
  st.indexes_rebuilt = indexes_rebuilt_;
  st.indexes_rebased = indexes_rebased_.load();
  st.unuploaded_shards_lost = unuploaded_shards_lost_.load();
  st.maintenance_runs = maintenance_runs_.load();
  st.maintenance_failures = maintenance_failures_.load();
  st.maintenance_running = maintenance_running_.load();
  st.last_maintenance_seconds = last_maintenance_seconds_.load();
  st.last_maintenance_deleted = last_maintenance_deleted_.load();
  st.last_maintenance_records_deleted = last_maintenance_records_deleted_.load();
  st.last_maintenance_over_limit = last_maintenance_over_limit_.load();
  return st;
}

Result<std::vector<Store::BackupFile>> Store::SnapshotForBackup() {
  std::vector<BackupFile> files;
  std::lock_guard lock(append_mu_);
  std::lock_guard s(shards_mu_);
  // Opened now, while no seal, rebase or retention can change them: the backup reads these
  // descriptors, whatever happens to the paths before it gets to them.
  auto opened = [](const std::filesystem::path& path) -> Result<std::shared_ptr<const int>> {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      const int e = errno;
      return MakeError(ErrorCode::kIOError,
                       "backup: open " + path.string() + ": " + std::strerror(e) +
                           (e == EMFILE || e == ENFILE
                                ? " (a backup holds two files a shard open: raise the open-file "
                                  "limit, ulimit -n)"
                                : ""));
    }
    return std::shared_ptr<const int>(new int(fd), [](const int* p) {
      ::close(*p);
      delete p;
    });
  };
  // whole: a sealed file, copied as it is when opened (an index rewritten against its base is
  // renamed into place before its shard is reopened: the file opened may be the new one, whose
  // size the shard does not know yet). Otherwise the active segment's prefix of `size` bytes.
  auto add = [&](const std::filesystem::path& path, uint64_t size,
                 std::shared_ptr<const Shard> shard, bool whole) -> Result<void> {
    auto fd = opened(path);
    if (!fd) return std::unexpected(fd.error());
    if (whole) {
      struct stat st {};
      if (::fstat(**fd, &st) != 0) {
        return MakeError(ErrorCode::kIOError,
                         "backup: stat " + path.string() + ": " + std::strerror(errno));
      }
      size = static_cast<uint64_t>(st.st_size);
    }
    files.push_back(BackupFile{"shards/" + path.filename().string(), path, size, std::move(shard),
                               std::move(*fd)});
    return {};
  };
  for (const auto& shard : sealed_) {
    for (const auto& [path, size] : shard->Files()) {
      if (auto r = add(path, size, shard, true); !r) return std::unexpected(r.error());
    }
  }
  auto add_active = [&](const std::shared_ptr<ActiveShard>& shard) -> Result<void> {
    if (auto f = shard->Flush(); !f) return f;
    return add(shard->path(), shard->segment_bytes(), shard, false);
  };
  for (const auto& shard : sealing_) {
    if (auto r = add_active(shard); !r) return std::unexpected(r.error());
  }
  if (active_) {
    if (auto r = add_active(active_); !r) return std::unexpected(r.error());
  }
  return files;
}

}  // namespace sloop
