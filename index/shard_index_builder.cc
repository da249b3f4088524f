#include "index/shard_index_builder.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <unordered_set>

#include "index/index_reader.h"
#include "index/index_writer.h"

namespace sloop {
namespace {

constexpr int64_t kNsPerSec = 1000000000LL;
constexpr int64_t kNsPerMin = 60 * kNsPerSec;
// An Event first seen with a long history (a relist, a restart) is spread over at most this many
// minutes before its last occurrence, so one old Event cannot fill a shard with cells.
constexpr int64_t kMaxSpreadMinutes = 60;
// A map node (its header, key and summary) and the allocator's own header.
constexpr uint64_t kSummaryOverhead = 32 + sizeof(SummaryMap::value_type) + 16;
// An Event not updated for this long is not carried into the next shard: the API server deletes
// Events after their TTL (one hour by default), and a missed deletion must not make an Event live
// forever. Its records stay; only the carried-over entry goes.
constexpr int64_t kEventCarryHorizonNs = 3 * 3600 * kNsPerSec;

bool CarryEvent(bool is_event, int64_t event_last_ns, int64_t window_start_ns) {
  return !is_event || event_last_ns >= window_start_ns - kEventCarryHorizonNs;
}

// What a TickList's growth from `before` elements of capacity cost on the heap: nothing while
// it stays inline, then its buffer and the allocator's header.
uint64_t Grown(const TickList& list, size_t before) {
  constexpr size_t kInline = 2;
  size_t after = list.capacity();
  if (after == before || after <= kInline) return 0;
  return (after - (before <= kInline ? 0 : before)) * sizeof(uint32_t) +
         (before <= kInline ? 16 : 0);
}

void PushSecond(TickList& secs, int64_t ns, uint64_t* mem) {
  uint32_t s = static_cast<uint32_t>(std::max<int64_t>(0, ns / kNsPerSec));
  const size_t before = secs.capacity();
  if (!secs.empty() && secs.back() >= s) {
    if (secs.back() == s) return;
    // Out-of-order arrival: keep the list sorted.
    auto it = std::lower_bound(secs.begin(), secs.end(), s);
    if (it != secs.end() && *it == s) return;
    secs.insert(it, s);
  } else {
    secs.push_back(s);
  }
  *mem += Grown(secs, before);
}

std::string OwnersKey(const std::vector<OwnerRefData>& owners) {
  std::string key;
  for (const OwnerRefData& o : owners) {
    key.append(o.kind).append(1, '\0').append(o.name).append(1, '\0').append(o.uid);
    key.append(o.controller ? "\1" : "\2");
  }
  return key;
}

bool SameOwners(const OwnerList& have, const std::vector<OwnerRefData>& seen) {
  return have ? *have == seen : seen.empty();
}

// The object each linked Event entry of an index is about (Events name it only through
// event_links): entry -> involved entry.
std::unordered_map<uint32_t, uint32_t> EntryLinks(const IndexReader& index) {
  std::unordered_map<uint32_t, uint32_t> out;
  index.ForEachEventLink([&](uint32_t event, uint32_t involved) { out.emplace(event, involved); });
  return out;
}

// Entry i of a sealed index as the summary its builder held at the end of its shard (the parts
// that carry-over reads: API, creation, times, flags, owners, resourceVersion, Event fields).
// Its strings are the index's, like the key's: Adopt moves them to a builder's own.
void SummaryFromEntry(const IndexReader& index, const std::unordered_map<uint32_t, uint32_t>& links,
                      uint32_t i, ResourceSummary* s) {
  const IndexEntry e = index.entry(i);
  *s = ResourceSummary{};
  s->api_group = e.api_group();
  s->api_version = e.api_version();
  s->creation_ns = e.creation_ns();
  s->first_ns = e.first_ns();
  s->last_ns = e.last_ns();
  s->flags = e.flags();
  if (const uint32_t n = e.owner_count(); n > 0) {
    std::vector<OwnerRefData> owners;
    owners.reserve(n);
    for (uint32_t k = 0; k < n; ++k) {
      IndexOwner o = e.owner(k);
      owners.push_back(
          OwnerRefData{std::string(o.kind), std::string(o.name), std::string(o.uid), o.controller});
    }
    s->owners = std::make_shared<const std::vector<OwnerRefData>>(std::move(owners));
  }
  s->last_resource_version = e.last_resource_version();
  if (!e.involved_kind().empty()) {
    EventSummary& es = s->MakeEvent();
    auto link = links.find(i);
    if (link != links.end() && link->second < index.size()) {
      es.involved = index.key(link->second);
    } else {
      es.involved = {e.involved_kind(), e.involved_namespace(), e.involved_name(),
                     e.involved_uid()};
    }
    es.count = e.event_count();
    es.last_ns = e.event_last_ns();
  }
}

// Every entry of an index from `from` in key order, as SummaryFromEntry makes it, until fn
// returns false. Reads block by block through short-lived readers, so that a whole pass does not
// keep the index decompressed.
void ForEachEntrySummary(
    const IndexReader& index, const std::unordered_map<uint32_t, uint32_t>& links,
    const ResourceKeyView& from,
    const std::function<bool(const ResourceKeyView&, const ResourceSummary&, bool)>& fn) {
  std::shared_ptr<IndexReader> reader = index.Reader();
  ResourceSummary s;
  for (uint32_t i = reader->LowerBound(from); i < reader->size(); ++i) {
    if (reader->cached_bytes() > (1u << 20)) reader = index.Reader();
    SummaryFromEntry(*reader, links, i, &s);
    if (!fn(reader->key(i), s, false)) return;
  }
}

}  // namespace

std::string_view KeyArena::Copy(std::string_view s) {
  if (s.empty()) return {};
  char* p = static_cast<char*>(memory_->allocate(s.size(), 1));
  std::memcpy(p, s.data(), s.size());
  bytes_ += s.size();
  return {p, s.size()};
}

std::string_view KeyArena::Intern(std::string_view s) {
  if (s.empty()) return {};
  auto it = interned_.find(s);
  if (it != interned_.end()) return *it;
  bytes_ += 48;  // the set's node
  return *interned_.insert(Copy(s)).first;
}

ResourceKeyView KeyArena::Own(const ResourceKeyView& k) {
  return {Intern(k.kind), Intern(k.namespace_), Copy(k.name), Copy(k.uid)};
}

OwnerList ShardIndexBuilder::InternOwners(std::vector<OwnerRefData> owners) {
  if (owners.empty()) return nullptr;
  auto [it, fresh] = owner_sets_.try_emplace(OwnersKey(owners));
  if (fresh) {
    it->second = std::make_shared<const std::vector<OwnerRefData>>(std::move(owners));
    memory_bytes_ += 64 + it->first.size() * 2;
  }
  return it->second;
}

ShardIndexBuilder::ShardIndexBuilder(int64_t window_start_ns, int64_t window_end_ns)
    : window_start_ns_(window_start_ns), window_end_ns_(window_end_ns) {}

ResourceSummary& ShardIndexBuilder::SummaryFor(const ResourceKeyView& key, bool* created) {
  auto it = summaries_.find(key);
  *created = it == summaries_.end();
  if (*created) {
    it = summaries_.emplace(keys_.Own(key), ResourceSummary{}).first;
    memory_bytes_ += kSummaryOverhead;
    if (!materializing_ && carries_by_reference()) {
      // Carried by reference: copied in now, as eager carry-over would have copied it.
      ResourceSummary& s = it->second;
      if (LookupCarried(key, &s)) {
        if (s.owners) s.owners = InternOwners(*s.owners);
        Adopt(s);
      }
    }
  }
  return it->second;
}

void ShardIndexBuilder::Adopt(ResourceSummary& s) {
  s.api_group = keys_.Intern(s.api_group);
  s.api_version = keys_.Intern(s.api_version);
  if (!s.event || s.event->involved.kind.empty()) return;
  ResourceKeyView& inv = s.event->involved;
  auto it = summaries_.find(inv);
  inv = it != summaries_.end() ? it->first : keys_.Own(inv);
}

void ShardIndexBuilder::Add(const RecordView& record, uint32_t block_id) {
  int64_t t = record.observed_ns;
  if (record_count_ == 0 || t < min_ns_) min_ns_ = t;
  if (record_count_ == 0 || t > max_ns_) max_ns_ = t;
  ++record_count_;

  ResourceKeyView kv{record.kind, record.namespace_, record.name, record.uid};
  auto it = summaries_.find(kv);
  bool created = it == summaries_.end();
  if (created) {
    SummaryFor(kv, &created);
    it = summaries_.find(kv);
  }
  ResourceSummary& s = it->second;
  if (created) {
    s.api_group = keys_.Intern(record.api_group);
    s.api_version = keys_.Intern(record.api_version);
  }
  if (s.record_count == 0) s.first_ns = t;
  if (s.record_count == 0 || t > s.last_ns) s.last_ns = t;
  s.flags &= ~kEventOnly;
  ++s.record_count;
  if (s.blocks.empty() || s.blocks.back() != block_id) {
    const size_t before = s.blocks.capacity();
    s.blocks.push_back(block_id);
    memory_bytes_ += Grown(s.blocks, before);
  }

  bool changed =
      s.last_resource_version.empty() || s.last_resource_version != record.resource_version ||
      record.watch_type == WatchType::kDeleted || record.watch_type == WatchType::kDeletedInferred;
  if (record.watch_type == WatchType::kRelisted) changed = false;
  if (changed) {
    ++s.change_count;
    PushSecond(s.change_secs, t, &memory_bytes_);
    s.last_resource_version = record.resource_version;
  } else {
    ++s.nochange_count;
    PushSecond(s.nochange_secs, t, &memory_bytes_);
  }

  if (record.watch_type == WatchType::kDeleted ||
      record.watch_type == WatchType::kDeletedInferred) {
    s.flags |= kDeletedInShard;
  } else {
    s.flags &= ~kDeletedInShard;
  }

  if (record.event) {
    AddEvent(record, it->first, s);
    return;
  }
  if (changed || s.creation_ns == 0) {
    ObjectMeta meta = ParseObjectMeta(record.payload);
    if (meta.creation_ns != 0) s.creation_ns = meta.creation_ns;
    if (!SameOwners(s.owners, meta.owners)) s.owners = InternOwners(std::move(meta.owners));
  }
  if (record.watch_type == WatchType::kAdded && s.creation_ns >= window_start_ns_ &&
      s.creation_ns < window_end_ns_) {
    s.flags |= kCreatedInShard;
  }
}

uint16_t ShardIndexBuilder::InternReason(std::string_view reason) {
  auto it = reason_ids_.find(std::string(reason));
  if (it != reason_ids_.end()) return it->second;
  // Past 65,535 distinct reasons in one shard, the rest share the last slot.
  if (reasons_.size() >= 0xffff) return 0xffff - 1;
  uint16_t id = static_cast<uint16_t>(reasons_.size());
  reasons_.emplace_back(reason);
  reason_ids_.emplace(std::string(reason), id);
  return id;
}

SummaryMap::iterator ShardIndexBuilder::InvolvedSummary(const EventInfoView& ev) {
  ResourceKeyView exact{ev.involved_kind, ev.involved_namespace, ev.involved_name, ev.involved_uid};
  auto it = summaries_.find(exact);
  if (it != summaries_.end()) return it;
  bool created;
  // Carried by reference: looked up there, in the order eager carry-over would have found it.
  ResourceSummary probe;
  if (carries_by_reference() && LookupCarried(exact, &probe)) {
    SummaryFor(exact, &created);
    return summaries_.find(exact);
  }
  // Same kind/namespace/name with another uid (Node Events carry the node's name as uid; an
  // Event may name no uid at all): take the most recently seen one.
  ResourceKeyView lo{ev.involved_kind, ev.involved_namespace, ev.involved_name, ""};
  auto best = summaries_.end();
  for (auto i = summaries_.lower_bound(lo); i != summaries_.end(); ++i) {
    const ResourceKeyView& k = i->first;
    if (k.kind != ev.involved_kind || k.namespace_ != ev.involved_namespace ||
        k.name != ev.involved_name) {
      break;
    }
    if (best == summaries_.end() || i->second.last_ns >= best->second.last_ns) best = i;
  }
  if (best != summaries_.end()) return best;
  if (carries_by_reference()) {
    // Carried ones all start at the window start: the last in key order, as eagerly.
    std::optional<ResourceKey> carried;  // owned: the view dies with the callback
    ForEachCarried(lo, [&](const ResourceKeyView& k, const ResourceSummary&, bool) {
      if (k.kind != ev.involved_kind || k.namespace_ != ev.involved_namespace ||
          k.name != ev.involved_name) {
        return false;
      }
      carried = ResourceKey(k);
      return true;
    });
    if (carried) {
      SummaryFor(carried->view(), &created);
      return summaries_.find(carried->view());
    }
  }
  ResourceSummary& s = SummaryFor(exact, &created);
  if (!(s.flags & kCarriedOver)) s.flags = kEventOnly;
  return summaries_.find(exact);
}

void ShardIndexBuilder::AddHeat(ResourceSummary& target, uint32_t minute, uint16_t reason,
                                uint8_t severity, uint32_t count) {
  auto& heat = target.heat;
  // Cells arrive mostly in time order: search from the back.
  auto pos = heat.end();
  while (pos != heat.begin()) {
    auto prev = std::prev(pos);
    if (prev->minute < minute || (prev->minute == minute && prev->reason < reason) ||
        (prev->minute == minute && prev->reason == reason && prev->severity <= severity)) {
      if (prev->minute == minute && prev->reason == reason && prev->severity == severity) {
        prev->count += count;
        return;
      }
      break;
    }
    pos = prev;
  }
  heat.insert(pos, HeatCellData{minute, count, reason, severity});
  memory_bytes_ += sizeof(HeatCellData);
}

void ShardIndexBuilder::AddEvent(const RecordView& record, const ResourceKeyView& event_key,
                                 ResourceSummary& s) {
  const EventInfoView& ev = *record.event;
  EventSummary& es = s.MakeEvent();  // es.involved is set below, to the target's key
  int64_t count = std::max<int32_t>(ev.count, 1);
  int64_t last = ev.last_timestamp_ns
                     ? ev.last_timestamp_ns
                     : (ev.first_timestamp_ns ? ev.first_timestamp_ns : record.observed_ns);
  int64_t first = ev.first_timestamp_ns ? ev.first_timestamp_ns : last;
  int64_t fresh = 0;
  int64_t range_start = first;
  if (record.watch_type == WatchType::kDeleted ||
      record.watch_type == WatchType::kDeletedInferred) {
    fresh = 0;
  } else if (es.count == 0) {
    fresh = count;
  } else {
    fresh = std::max<int64_t>(0, count - es.count);
    range_start = std::max(first, es.last_ns);
  }
  if (record.watch_type != WatchType::kDeleted &&
      record.watch_type != WatchType::kDeletedInferred) {
    es.count = static_cast<int32_t>(count);
    es.last_ns = std::max(es.last_ns, last);
  }

  auto target = InvolvedSummary(ev);
  es.involved = target->first;
  LinkEvent(&target->first, &event_key);
  if (fresh <= 0) return;

  int64_t last_min = last / kNsPerMin;
  int64_t first_min = std::max(
      {range_start / kNsPerMin, last_min - kMaxSpreadMinutes + 1, window_start_ns_ / kNsPerMin});
  if (first_min > last_min) first_min = last_min;
  int64_t minutes = last_min - first_min + 1;
  uint16_t reason = InternReason(ev.reason);
  uint8_t severity = static_cast<uint8_t>(ev.severity);
  int64_t each = fresh / minutes;
  int64_t extra = fresh % minutes;
  for (int64_t m = 0; m < minutes; ++m) {
    int64_t c = each + (m < extra ? 1 : 0);
    if (c == 0) continue;
    AddHeat(target->second, static_cast<uint32_t>(first_min + m), reason, severity,
            static_cast<uint32_t>(c));
  }
}

void ShardIndexBuilder::LinkEvent(const ResourceKeyView* involved, const ResourceKeyView* event) {
  auto& about = events_about_[involved];
  if (std::find(about.begin(), about.end(), event) == about.end()) {
    if (about.empty()) memory_bytes_ += 64;
    about.push_back(event);
    memory_bytes_ += sizeof(event);
  }
}

std::vector<const ResourceKeyView*> ShardIndexBuilder::EventsAbout(
    const ResourceKeyView& involved) const {
  auto s = summaries_.find(involved);
  if (s == summaries_.end()) return {};
  auto it = events_about_.find(&s->first);
  if (it == events_about_.end()) return {};
  return it->second;
}

bool ShardIndexBuilder::Carryable(const ResourceSummary& prev) const {
  if (prev.deleted() || (prev.flags & kEventOnly)) return false;
  return CarryEvent(prev.involved() != nullptr, prev.event_last_ns(), window_start_ns_);
}

bool ShardIndexBuilder::CarriedSummary(const ResourceSummary& prev, ResourceSummary* s) const {
  if (!Carryable(prev)) return false;
  *s = ResourceSummary{};
  s->api_group = prev.api_group;
  s->api_version = prev.api_version;
  s->creation_ns = prev.creation_ns;
  s->first_ns = s->last_ns = window_start_ns_;
  s->flags = kCarriedOver;
  s->owners = prev.owners;
  s->last_resource_version = prev.last_resource_version;
  if (prev.event) s->event = std::make_unique<EventSummary>(*prev.event);
  return true;
}

void ShardIndexBuilder::CarryOver(const ShardIndexBuilder& previous) {
  previous.ForEachAtEnd({}, [&](const ResourceKeyView& k, const ResourceSummary& prev, bool own) {
    if (!Carryable(prev)) return true;
    bool created;
    ResourceSummary& s = SummaryFor(k, &created);
    if (created) {
      CarriedSummary(prev, &s);
      if (!own && s.owners) s.owners = InternOwners(*s.owners);
      Adopt(s);
    }
    return true;
  });
  LinkCarriedEvents();
}

void ShardIndexBuilder::CarryByReference(const ShardIndexBuilder* source) {
  carry_builder_ = source;
  carry_index_.reset();
  carry_links_.clear();
}

void ShardIndexBuilder::CarryFromIndex(std::shared_ptr<const IndexReader> sealed) {
  carry_builder_ = nullptr;
  carry_links_ = EntryLinks(*sealed);
  carry_index_ = std::move(sealed);
  lookup_index_ = nullptr;
  lookup_reader_.reset();
}

void ShardIndexBuilder::MaterializeCarryOver() {
  if (!carries_by_reference()) return;
  materializing_ = true;
  ForEachCarried({}, [&](const ResourceKeyView& k, const ResourceSummary& carried, bool) {
    bool created;
    ResourceSummary& s = SummaryFor(k, &created);
    if (created) {
      CarriedSummary(carried, &s);
      if (s.owners) s.owners = InternOwners(*s.owners);
      Adopt(s);
    }
    return true;
  });
  materializing_ = false;
  LinkCarriedEvents();
  carry_builder_ = nullptr;
  carry_index_.reset();
  carry_links_.clear();
  lookup_index_ = nullptr;
  lookup_reader_.reset();
}

void ShardIndexBuilder::LinkCarriedEvents() {
  for (auto& [key, s] : summaries_) {
    const ResourceKeyView* inv = s.involved();
    if (!inv) continue;
    if (auto t = summaries_.find(*inv); t != summaries_.end()) LinkEvent(&t->first, &key);
  }
}

bool ShardIndexBuilder::LookupCarried(const ResourceKeyView& key, ResourceSummary* out) {
  if (carry_builder_) {
    auto it = carry_builder_->summaries_.find(key);
    if (it != carry_builder_->summaries_.end()) return CarriedSummary(it->second, out);
    // What the builder before carries by reference itself. An entry it would not carry (deleted,
    // Event-only, stale) is not carried here either: Carryable applies the same tests.
    if (!carry_builder_->carry_index_) return false;
    return LookupInIndex(*carry_builder_->carry_index_, carry_builder_->carry_links_, key, out);
  }
  if (carry_index_) return LookupInIndex(*carry_index_, carry_links_, key, out);
  return false;
}

bool ShardIndexBuilder::LookupInIndex(const IndexReader& index,
                                      const std::unordered_map<uint32_t, uint32_t>& links,
                                      const ResourceKeyView& key, ResourceSummary* out) {
  if (lookup_index_ != &index || !lookup_reader_ || lookup_reader_->cached_bytes() > (4u << 20)) {
    lookup_reader_ = index.Reader();
    lookup_index_ = &index;
  }
  uint32_t i = lookup_reader_->FindExact(key);
  if (i >= lookup_reader_->size()) return false;
  ResourceSummary raw;
  SummaryFromEntry(*lookup_reader_, links, i, &raw);
  return CarriedSummary(raw, out);
}

void ShardIndexBuilder::ForEachCarried(const ResourceKeyView& from, const MergedFn& fn) const {
  ResourceSummary carried;
  auto carry = [&](const ResourceKeyView& k, const ResourceSummary& prev, bool) {
    return !CarriedSummary(prev, &carried) || fn(k, carried, false);
  };
  if (carry_builder_) {
    carry_builder_->ForEachAtEnd(from, carry);
  } else if (carry_index_) {
    ForEachEntrySummary(*carry_index_, carry_links_, from, carry);
  }
}

void ShardIndexBuilder::ForEachAtEnd(const ResourceKeyView& from, const MergedFn& fn) const {
  // A finished builder carries by index or not at all (MaterializeCarryOver).
  auto it = summaries_.lower_bound(from);
  bool go = true;
  if (carry_index_) {
    ResourceSummary carried;
    ForEachEntrySummary(*carry_index_, carry_links_, from,
                        [&](const ResourceKeyView& k, const ResourceSummary& prev, bool) {
                          for (; it != summaries_.end() && it->first < k; ++it) {
                            if (!fn(it->first, it->second, true)) return go = false;
                          }
                          if (it != summaries_.end() && it->first == k) return true;
                          if (!CarriedSummary(prev, &carried)) return true;
                          return go = fn(k, carried, false);
                        });
  }
  for (; go && it != summaries_.end(); ++it) {
    if (!fn(it->first, it->second, true)) return;
  }
}

void ShardIndexBuilder::ForEachMerged(const ResourceKeyView& from, const MergedFn& fn) const {
  auto it = summaries_.lower_bound(from);
  bool go = true;
  if (carries_by_reference()) {
    ForEachCarried(from, [&](const ResourceKeyView& k, const ResourceSummary& carried, bool) {
      for (; it != summaries_.end() && it->first < k; ++it) {
        if (!fn(it->first, it->second, true)) return go = false;
      }
      if (it != summaries_.end() && it->first == k) return true;  // its own, next
      return go = fn(k, carried, false);
    });
  }
  for (; go && it != summaries_.end(); ++it) {
    if (!fn(it->first, it->second, true)) return;
  }
}

void ShardIndexBuilder::CarriedKindsAndNamespaces(std::set<std::string>* kinds,
                                                  std::set<std::string>* namespaces) const {
  auto from_index = [&](const IndexReader& index) {
    for (std::string_view k : index.kinds()) kinds->emplace(k);
    for (std::string_view n : index.namespaces()) namespaces->emplace(n);
  };
  if (carry_builder_) {
    for (const auto& [k, s] : carry_builder_->summaries_) {
      if (!Carryable(s)) continue;
      kinds->emplace(k.kind);
      if (!k.namespace_.empty()) namespaces->emplace(k.namespace_);
    }
    if (carry_builder_->carry_index_) from_index(*carry_builder_->carry_index_);
  } else if (carry_index_) {
    from_index(*carry_index_);
  }
}

void ShardIndexBuilder::CarryOver(const IndexReader& previous) {
  const auto links = EntryLinks(previous);
  ResourceSummary prev;
  for (uint32_t i = 0; i < previous.size(); ++i) {
    SummaryFromEntry(previous, links, i, &prev);
    if (!Carryable(prev)) continue;
    bool created;
    ResourceSummary& s = SummaryFor(previous.key(i), &created);
    if (!created) continue;
    CarriedSummary(prev, &s);
    if (s.owners) s.owners = InternOwners(*s.owners);
    Adopt(s);
  }
  LinkCarriedEvents();
}

Result<void> ShardIndexBuilder::WriteIndexFile(const std::filesystem::path& path, uint64_t shard_id,
                                               uint64_t segment_bytes,
                                               const std::vector<SealedPosition>& positions) const {
  if (positions.size() != summaries_.size()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "index " + path.string() + ": positions do not match the summaries");
  }
  // The entries are this shard's own summaries merged with those carried by reference: two
  // passes over the merged stream, as the writer takes them.
  IndexWriter writer(path, window_start_ns_);
  ForEachMerged({}, [&](const ResourceKeyView& key, const ResourceSummary& s, bool) {
    writer.Plan(key, s);
    return true;
  });
  size_t own = 0;  // the own summary's rank: its place in positions
  Result<void> failed;
  ForEachMerged({}, [&](const ResourceKeyView& key, const ResourceSummary& s, bool is_own) {
    failed = writer.Add(key, s, is_own ? positions[own++] : SealedPosition{});
    return failed.has_value();
  });
  if (!failed) return failed;
  return writer.Finish(
      {shard_id, window_start_ns_, window_end_ns_, min_ns_, max_ns_, segment_bytes, record_count_},
      reasons_);
}

}  // namespace sloop
