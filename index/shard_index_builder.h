// ShardIndexBuilder keeps the index of the active shard in memory: one ResourceSummary per
// resource, updated with every record appended, and Event occurrences attributed to the minute
// and the object they are about. Sealing writes it out as a SparseIndex file.
// Not thread-safe: the owning shard serialises access.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "index/object_meta.h"
#include "index/resource_key.h"
#include "segments/record.h"
#include "segments/status.h"

namespace sloop {

class SparseIndex;

enum ResourceFlags : uint8_t {
  kCreatedInShard = 1,  // an ADDED record whose creationTimestamp lies in the shard
  kDeletedInShard = 2,  // its last record in the shard is DELETED or DELETED_INFERRED
  kCarriedOver = 4,     // alive when the shard began (known from the shard before)
  kEventOnly = 8,       // no record of its own: only Events about it were seen
};

struct HeatCellData {
  uint32_t minute = 0;  // Unix minutes
  uint32_t count = 0;
  uint16_t reason = 0;  // index into the builder's reasons()
  uint8_t severity = 0;
};

// ownerReferences, one shared copy for every summary (in every shard) with the same set: the
// Pods of a ReplicaSet, the ReplicaSets of a Deployment.
using OwnerList = std::shared_ptr<const std::vector<OwnerRefData>>;

// API groups and versions are a handful of strings shared by every resource: one copy each for
// the life of the process.
std::string_view InternApiString(std::string_view s);

// What only an Event entry needs: the object it is about, and the count and lastTimestamp last
// seen (so that only new occurrences are counted when the Event is updated).
struct EventSummary {
  ResourceKey involved;
  int32_t count = 0;
  int64_t last_ns = 0;
};

struct ResourceSummary {
  std::string_view api_group;    // interned (InternApiString)
  std::string_view api_version;  // interned
  int64_t creation_ns = 0;
  int64_t first_ns = 0;
  int64_t last_ns = 0;
  uint32_t change_count = 0;
  uint32_t nochange_count = 0;
  uint32_t record_count = 0;
  uint8_t flags = 0;
  OwnerList owners;                     // null when it has none
  std::vector<uint32_t> change_secs;    // ascending Unix seconds, deduplicated
  std::vector<uint32_t> nochange_secs;  // ascending Unix seconds, deduplicated
  std::vector<HeatCellData> heat;       // by minute, then reason
  std::string last_resource_version;
  std::vector<uint32_t> blocks;  // ids of the active segment's blocks holding its records
  // Event entries only (null for the other kinds, which are most of a cluster).
  std::unique_ptr<EventSummary> event;

  bool deleted() const { return flags & kDeletedInShard; }
  // The object an Event entry is about, or null.
  const ResourceKey* involved() const {
    return event && !event->involved.kind.empty() ? &event->involved : nullptr;
  }
  int64_t event_last_ns() const { return event ? event->last_ns : 0; }
  EventSummary& MakeEvent() {
    if (!event) event = std::make_unique<EventSummary>();
    return *event;
  }
};

using SummaryMap = std::map<ResourceKey, ResourceSummary, ResourceKeyLess>;

class ShardIndexBuilder {
 public:
  ShardIndexBuilder(int64_t window_start_ns, int64_t window_end_ns);

  // Seeds the builder with the resources still alive at the end of the shard before, so that a
  // resource that does not change for hours still has a row in every shard it lived through.
  void CarryOver(const ShardIndexBuilder& previous);
  void CarryOver(const SparseIndex& previous);

  // Deferred carry-over, so that two full indexes are not held while the shard before is sealed:
  // `source` (the finished shard before, immutable from now on, outliving this deferral) is only
  // consulted: a resource it carries over is copied in when a record or an Event reaches it,
  // and queries merge the rest in (CarriedSummary). FinishCarryOver then copies what is left,
  // from the sealed index or from `source` itself, and ends the deferral.
  void DeferCarryOver(const ShardIndexBuilder* source) { carry_source_ = source; }
  const ShardIndexBuilder* carry_source() const { return carry_source_; }
  void FinishCarryOver(const SparseIndex& sealed);
  void FinishCarryOver();
  // Whether `prev`, a summary of the shard before, is carried into this one, and the summary it
  // is carried as (counts, ticks, blocks and heat empty; the rest copied).
  bool Carryable(const ResourceSummary& prev) const;
  bool CarriedSummary(const ResourceSummary& prev, ResourceSummary* out) const;

  // Indexes a record stored in block block_id of the active segment.
  void Add(const RecordView& record, uint32_t block_id);

  const SummaryMap& summaries() const { return summaries_; }
  const std::vector<std::string>& reasons() const { return reasons_; }
  // Event entries about the resource `involved`, as keys into summaries().
  std::vector<const ResourceKey*> EventsAbout(const ResourceKey& involved) const;

  int64_t window_start_ns() const { return window_start_ns_; }
  int64_t window_end_ns() const { return window_end_ns_; }
  int64_t min_ns() const { return min_ns_; }
  int64_t max_ns() const { return max_ns_; }
  uint64_t record_count() const { return record_count_; }
  // Approximate heap bytes held, for the memory budget and its metric.
  uint64_t memory_bytes() const { return memory_bytes_; }

  // Where each resource's records start in the sealed (key-ordered) segment.
  struct SealedPosition {
    uint64_t first_block = 0;
    uint32_t first_record = 0;
  };
  // Writes the index file for a sealed segment (positions[i] for the i-th summary in key order;
  // summaries with no records get {0,0}). Written to path via a temporary file, fsynced.
  Result<void> WriteIndexFile(const std::filesystem::path& path, uint64_t shard_id,
                              uint64_t segment_bytes,
                              const std::vector<SealedPosition>& positions) const;

 private:
  ResourceSummary& SummaryFor(const ResourceKey& key, bool* created);
  SummaryMap::iterator InvolvedSummary(const EventInfoView& ev);
  void AddEvent(const RecordView& record, const ResourceKey& event_key,
                ResourceSummary& event_summary);
  // Both are keys of summaries_ (map nodes do not move).
  void LinkEvent(const ResourceKey* involved, const ResourceKey* event);
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
  SummaryMap summaries_;
  const ShardIndexBuilder* carry_source_ = nullptr;  // DeferCarryOver
  std::vector<std::string> reasons_;
  std::unordered_map<std::string, uint16_t> reason_ids_;
  std::unordered_map<std::string, OwnerList> owner_sets_;
  // involved object → the Events about it, both as keys of summaries_
  std::unordered_map<const ResourceKey*, std::vector<const ResourceKey*>> events_about_;
};

}  // namespace sloop
