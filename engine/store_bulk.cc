// Queries over many resources at once (what a snapshot of a kind and an incident review of a
// window need): one pass over the index and the blocks of each shard concerned, instead of one
// lookup per resource, which would decompress the same shared block once per resource.
#include <algorithm>
#include <map>

#include "engine/store.h"
#include "engine/store_internal.h"

namespace sloop {

using namespace store_internal;

namespace {

constexpr size_t kNone = static_cast<size_t>(-1);

bool Cancelled(const std::atomic<bool>* cancel) {
  return cancel && cancel->load(std::memory_order_relaxed);
}

Result<void> CancelledError(std::string_view what) {
  return MakeError(ErrorCode::kAborted, std::string(what) + ": cancelled");
}

}  // namespace

Result<std::vector<ObjectAt>> Store::ObjectsAt(std::string_view kind, std::string_view namespace_,
                                               int64_t t_ns,
                                               const std::atomic<bool>* cancel) const {
  std::vector<ObjectAt> out;
  if (kind.empty()) return out;
  auto snapshot = QuerySnapshot(t_ns);
  if (!snapshot) return std::unexpected(snapshot.error());
  const auto& shards = *snapshot;
  // The newest shard whose span begins by t: it knows every resource alive then (those alive at
  // its start are carried into it), and those created in it up to t.
  std::shared_ptr<const Shard> holder;
  for (const auto& shard : shards) {
    if (ShardSpan(shard->info()).first <= t_ns) holder = shard;
  }
  if (!holder) return out;
  auto scan = [&](std::string_view ns, bool cluster_scoped_only) {
    EntryFilter filter;
    filter.kind = kind;
    filter.namespace_ = ns;
    uint32_t visited = 0;
    holder->ForEachEntry(filter, false, [&](const EntryView& e) {
      if ((++visited & 4095) == 0 && Cancelled(cancel)) return false;
      if (e.flags & kEventOnly) return true;
      if (cluster_scoped_only && !e.key.namespace_.empty()) return true;
      bool carried = (e.flags & kCarriedOver) != 0;
      bool recorded = e.record_count > 0 && e.first_ns <= t_ns;
      bool created = e.record_count > 0 && e.creation_ns != 0 && e.creation_ns <= t_ns;
      if (!carried && !recorded && !created) return true;
      ObjectAt& o = out.emplace_back();
      o.key = ResourceKey(e.key);
      o.api_group = e.api_group;
      o.api_version = e.api_version;
      o.creation_ns = e.creation_ns;
      return true;
    });
  };
  scan(namespace_, false);
  // A namespace asked of a cluster-scoped kind (Nodes): its resources are in no namespace.
  if (out.empty() && !namespace_.empty()) scan("", true);
  if (Cancelled(cancel)) return std::unexpected(CancelledError("snapshot").error());
  return out;
}

std::vector<LiveObject> Store::LiveObjects(std::string_view api_group, std::string_view kind,
                                           std::string_view namespace_) const {
  std::vector<LiveObject> out;
  if (kind.empty()) return out;
  auto shards = Snapshot();
  if (shards.empty()) return out;
  // The newest shard knows every resource alive at its end: those alive at its start are carried
  // into it, and a resource's last record in it says whether it was deleted since. Its index
  // entry keeps the resourceVersion of its newest record, a RELISTED one aside (which confirms a
  // version rather than making one).
  EntryFilter filter;
  filter.kind = kind;
  filter.namespace_ = namespace_;
  shards.back()->ForEachEntry(filter, false, [&](const EntryView& e) {
    if (e.flags & (kEventOnly | kDeletedInShard)) return true;
    if (e.api_group != api_group) return true;
    // An Event of a store written before 2026-12-07 still holds its uid: given as the recorder
    // now knows it (none), or a relist would see another object and infer its deletion. A
    // custom resource called Event keeps its uid, as the recorder keys it by that.
    const bool by_name = IsKubernetesEvent(e.api_group, e.key.kind);
    out.push_back(LiveObject{std::string(e.key.namespace_), std::string(e.key.name),
                             by_name ? std::string() : std::string(e.key.uid),
                             std::string(e.last_resource_version)});
    return true;
  });
  return out;
}

Result<void> Store::Versions(std::span<const ResourceKey> keys, const TimeRange& range,
                             bool include_previous, const std::atomic<bool>* cancel,
                             const VersionFn& fn) const {
  if (keys.empty()) return {};
  auto find = [&](const ResourceKeyView& k) {
    auto it = std::lower_bound(keys.begin(), keys.end(), k, ResourceKeyLess());
    return it != keys.end() && it->view() == k ? static_cast<size_t>(it - keys.begin()) : kNone;
  };
  auto record_key = [](const RecordView& r) {
    return ResourceKeyView{r.kind, r.namespace_, r.name, r.uid};
  };
  // The index scan of each shard is narrowed to the keys' kind (and namespace) when they share
  // one, which they do for every caller so far.
  EntryFilter filter;
  const ResourceKey& front = keys.front();
  if (std::all_of(keys.begin(), keys.end(),
                  [&](const ResourceKey& k) { return k.kind == front.kind; })) {
    filter.kind = front.kind;
    if (std::all_of(keys.begin(), keys.end(),
                    [&](const ResourceKey& k) { return k.namespace_ == front.namespace_; })) {
      filter.namespace_ = front.namespace_;
    }
  }
  // The picks below only narrow which entries' records are read (each record's own time is
  // tested): an entry whose times are in the segment need not have them read for that.
  filter.shard_span_times = true;
  auto snapshot = QuerySnapshot(range.start_ns);
  if (!snapshot) return std::unexpected(snapshot.error());
  const auto& shards = *snapshot;
  bool stopped = false;
  uint32_t visited = 0;
  auto check = [&] { return (++visited & 1023) != 0 || !Cancelled(cancel); };

  // The version in effect at the start: newest shards first, until every key has one. Within a
  // shard a key's newest record at or before the start wins; a sealed shard holds a resource's
  // records together, so only one candidate is held at a time there.
  std::vector<uint8_t> found(keys.size(), 0);
  size_t missing = include_previous ? keys.size() : 0;
  for (auto it = shards.rbegin(); it != shards.rend() && missing && !stopped; ++it) {
    if (Cancelled(cancel)) return CancelledError("versions");
    ShardInfo info = (*it)->info();
    if (!info.records || info.min_ns > range.start_ns) continue;
    std::map<size_t, StoredRecord> best;
    auto deliver = [&](size_t i) {
      auto b = best.find(i);
      if (b == best.end()) return true;
      found[i] = 1;
      --missing;
      bool go_on = fn(i, b->second.view(), true);
      best.erase(b);
      return go_on;
    };
    size_t run = kNone;
    auto r = (*it)->ForEachPickedRecord(
        filter,
        [&](const EntryView& e) {
          if (e.first_ns > range.start_ns) return false;
          size_t i = find(e.key);
          return i != kNone && !found[i];
        },
        [&](const RecordView& rec) {
          if (!check()) return false;
          if (rec.observed_ns > range.start_ns) return true;
          size_t i = find(record_key(rec));
          if (i == kNone) return true;
          if (info.sealed && run != i && run != kNone && !deliver(run)) {
            stopped = true;
            return false;
          }
          run = i;
          auto b = best.find(i);
          if (b == best.end()) {
            best.emplace(i, StoredRecord::From(rec));
          } else if (rec.observed_ns >= b->second.observed_ns) {
            b->second = StoredRecord::From(rec);
          }
          return true;
        });
    if (!r) return r;
    while (!stopped && !best.empty()) {
      if (!deliver(best.begin()->first)) stopped = true;
    }
  }
  if (Cancelled(cancel)) return CancelledError("versions");

  // Then every record in (start, end], oldest shards first.
  if (range.end_ns <= range.start_ns) return {};
  const TimeRange after{range.start_ns + 1, range.end_ns};
  for (const auto& shard : shards) {
    if (stopped) break;
    if (Cancelled(cancel)) return CancelledError("versions");
    ShardInfo info = shard->info();
    if (!info.records || !Overlaps(info, after)) continue;
    auto r = shard->ForEachPickedRecord(
        filter,
        [&](const EntryView& e) {
          return e.last_ns >= after.start_ns && e.first_ns <= after.end_ns && find(e.key) != kNone;
        },
        [&](const RecordView& rec) {
          if (!check()) return false;
          if (rec.observed_ns < after.start_ns || rec.observed_ns > after.end_ns) return true;
          size_t i = find(record_key(rec));
          if (i == kNone) return true;
          if (!fn(i, rec, false)) {
            stopped = true;
            return false;
          }
          return true;
        });
    if (!r) return r;
  }
  if (Cancelled(cancel)) return CancelledError("versions");
  return {};
}

}  // namespace sloop
