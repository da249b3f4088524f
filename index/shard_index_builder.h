// ShardIndexBuilder keeps the index of the active shard in memory: one ResourceSummary per
// resource, updated with every record appended, and Event occurrences attributed to the minute
// and the object they are about. Sealing writes it out (IndexWriter) as an index file that
// IndexReader reads. The summary types are in index/resource_summary.h.
// Not thread-safe: the owning shard serialises access.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <memory_resource>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "base/status.h"
#include "index/index_writer.h"
#include "index/resource_key.h"
#include "index/resource_summary.h"
#include "segments/record.h"

namespace sloop {

class IndexReader;

// Keyed by views of the builder's own copies of the strings (KeyArena): one allocation-free key
// of 64 bytes a resource, kinds and namespaces stored once.
using SummaryMap = std::map<ResourceKeyView, ResourceSummary, std::less<>>;

// Copies of key strings for as long as `memory` lives (a monotonic arena: nothing is freed one
// by one): names and uids copied, kinds and namespaces interned. A builder keeps its keys (and
// the API groups and versions of its summaries, interned) in one; a timeline query, its rows'
// strings.
class KeyArena {
 public:
  explicit KeyArena(std::pmr::memory_resource* memory) : memory_(memory) {}
  ResourceKeyView Own(const ResourceKeyView& k);
  std::string_view Copy(std::string_view s);
  std::string_view Intern(std::string_view s);
  uint64_t bytes() const { return bytes_; }

 private:
  std::pmr::memory_resource* memory_;
  std::unordered_set<std::string_view> interned_;
  uint64_t bytes_ = 0;
};

class ShardIndexBuilder {
 public:
  ShardIndexBuilder(int64_t window_start_ns, int64_t window_end_ns);

  // Seeds the builder with the resources still alive at the end of the shard before, so that a
  // resource that does not change for hours still has a row in every shard it lived through.
  void CarryOver(const ShardIndexBuilder& previous);
  void CarryOver(const IndexReader& previous);

  // Carry-over by reference: the resources alive at the start are not copied in. The builder
  // reads them where they are, first in the finished builder of the shard before (while that shard
  // is sealed), then in its sealed index, for as long as this builder lives. A resource is copied
  // in only when a record or an Event reaches it; queries and the index file written at sealing
  // merge the rest in (ForEachMerged), so memory follows what changes in the shard, not every
  // live object of the cluster.
  // `source` is finished (immutable from now on) and outlives the reference; its own carry-over is
  // by index or none (MaterializeCarryOver ends a reference to a builder).
  void CarryByReference(const ShardIndexBuilder* source);
  // The shard before is sealed: read its index from now on instead of its builder.
  void CarryFromIndex(std::shared_ptr<const IndexReader> sealed);
  // Copies in everything carried and drops the reference (a builder about to be finished while
  // the one it reads is still being sealed: a finished builder reads no other builder).
  void MaterializeCarryOver();
  const ShardIndexBuilder* carry_builder() const { return carry_builder_; }
  bool carries_by_reference() const { return carry_builder_ || carry_index_; }

  // Whether `prev`, a summary of the shard before, is carried into this one, and the summary it
  // is carried as (counts, ticks, blocks and heat empty; the rest copied).
  bool Carryable(const ResourceSummary& prev) const;
  bool CarriedSummary(const ResourceSummary& prev, ResourceSummary* out) const;

  // Every summary of the shard in key order from `from`: its own (summaries()) and, carried by
  // reference, the ones it has no record of (own=false). The views and the summary are valid
  // during the call; fn returns false to stop.
  using MergedFn =
      std::function<bool(const ResourceKeyView& key, const ResourceSummary& s, bool own)>;
  void ForEachMerged(const ResourceKeyView& from, const MergedFn& fn) const;
  // Kinds and namespaces of the resources carried by reference (a superset once the reference
  // is an index: its lists include resources deleted in its shard).
  void CarriedKindsAndNamespaces(std::set<std::string>* kinds,
                                 std::set<std::string>* namespaces) const;

  // Indexes a record stored in block block_id of the active segment.
  void Add(const RecordView& record, uint32_t block_id);

  const SummaryMap& summaries() const { return summaries_; }
  const std::vector<std::string>& reasons() const { return reasons_; }
  // Event entries about the resource `involved`, as keys into summaries().
  std::vector<const ResourceKeyView*> EventsAbout(const ResourceKeyView& involved) const;

  int64_t window_start_ns() const { return window_start_ns_; }
  int64_t window_end_ns() const { return window_end_ns_; }
  int64_t min_ns() const { return min_ns_; }
  int64_t max_ns() const { return max_ns_; }
  uint64_t record_count() const { return record_count_; }
  // Approximate heap bytes held, for the memory budget and its metric.
  uint64_t memory_bytes() const { return memory_bytes_ + keys_.bytes(); }

  // Where each resource's records start in the sealed (key-ordered) segment.
  using SealedPosition = RecordPosition;
  // Writes the index file for a sealed segment (positions[i] for the i-th summary in key order;
  // summaries with no records get {0,0}). Written to path via a temporary file, fsynced.
  Result<void> WriteIndexFile(const std::filesystem::path& path, uint64_t shard_id,
                              uint64_t segment_bytes,
                              const std::vector<SealedPosition>& positions) const;

 private:
  ResourceSummary& SummaryFor(const ResourceKeyView& key, bool* created);
  // A summary copied in from the shard before (CarriedSummary) made the builder's own: its API
  // group and version, and the key of the object an Event is about, moved to this builder's
  // strings.
  void Adopt(ResourceSummary& s);
  SummaryMap::iterator InvolvedSummary(const EventInfoView& ev);
  void AddEvent(const RecordView& record, const ResourceKeyView& event_key,
                ResourceSummary& event_summary);
  // Both are keys of summaries_ (map nodes do not move).
  void LinkEvent(const ResourceKeyView* involved, const ResourceKeyView* event);
  void LinkCarriedEvents();
  // The summary carried by reference for `key`, as carried (false when none or not carried).
  bool LookupCarried(const ResourceKeyView& key, ResourceSummary* out);
  bool LookupInIndex(const IndexReader& index, const std::unordered_map<uint32_t, uint32_t>& links,
                     const ResourceKeyView& key, ResourceSummary* out);
  // The carried summaries, by reference, in key order from `from` (only those carried).
  void ForEachCarried(const ResourceKeyView& from, const MergedFn& fn) const;
  // What this (finished) builder holds at its end: its own summaries and those it carries from
  // an index, in key order from `from`, not yet carried into the next shard.
  void ForEachAtEnd(const ResourceKeyView& from, const MergedFn& fn) const;
  uint16_t InternReason(std::string_view reason);
  OwnerList InternOwners(std::vector<OwnerRefData> owners);
  void AddHeat(ResourceSummary& target, uint32_t minute, uint16_t reason, uint8_t severity,
               uint32_t count);

  int64_t window_start_ns_;
  int64_t window_end_ns_;
  int64_t min_ns_ = 0;
  int64_t max_ns_ = 0;
  uint64_t record_count_ = 0;
  uint64_t memory_bytes_ = 0;
  // Before summaries_: its keys point into them.
  std::pmr::monotonic_buffer_resource key_chunks_{std::pmr::new_delete_resource()};
  KeyArena keys_{&key_chunks_};
  SummaryMap summaries_;
  // Carry-over by reference (CarryByReference): the builder or the sealed index of the shard
  // before, the Event links of that index (entry -> the entry it is about), and a reader of it for
  // point lookups, renewed when its cache of decoded blocks grows.
  const ShardIndexBuilder* carry_builder_ = nullptr;
  std::shared_ptr<const IndexReader> carry_index_;
  std::unordered_map<uint32_t, uint32_t> carry_links_;
  const IndexReader* lookup_index_ = nullptr;
  std::shared_ptr<IndexReader> lookup_reader_;
  bool materializing_ = false;
  std::vector<std::string> reasons_;
  std::unordered_map<std::string, uint16_t> reason_ids_;
  std::unordered_map<std::string, OwnerList> owner_sets_;
  // involved object → the Events about it, both as keys of summaries_
  std::unordered_map<const ResourceKeyView*, std::vector<const ResourceKeyView*>> events_about_;
};

}  // namespace sloop
