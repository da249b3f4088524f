// What the index knows of one resource in one shard (ResourceSummary): what ShardIndexBuilder
// keeps for the active shard, IndexWriter writes as an entry, and carry-over reads back from the
// shard before.
#pragma once

#include <boost/container/small_vector.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "index/object_meta.h"
#include "index/resource_key.h"

namespace sloop {

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

// What only an Event entry needs: the object it is about, and the count and lastTimestamp last
// seen (so that only new occurrences are counted when the Event is updated). In a builder's own
// summary the key's strings are the builder's (a key of its map, or a copy in its arena); in a
// summary read from elsewhere (the shard before), they are that source's.
struct EventSummary {
  ResourceKeyView involved;
  int32_t count = 0;
  int64_t last_ns = 0;
};

// Ascending Unix seconds, or block ids: most resources have one or two in a shard, kept inline
// (no allocation of their own).
using TickList = boost::container::small_vector<uint32_t, 2>;

struct ResourceSummary {
  // API group and version: in a builder's own summary, interned in its KeyArena (a handful of
  // strings shared by every resource); in one read from elsewhere, that source's, like the key.
  std::string_view api_group;
  std::string_view api_version;
  int64_t creation_ns = 0;
  int64_t first_ns = 0;
  int64_t last_ns = 0;
  uint32_t change_count = 0;
  uint32_t nochange_count = 0;
  uint32_t record_count = 0;
  uint8_t flags = 0;
  OwnerList owners;                // null when it has none
  TickList change_secs;            // ascending Unix seconds, deduplicated
  TickList nochange_secs;          // ascending Unix seconds, deduplicated
  std::vector<HeatCellData> heat;  // by minute, then reason
  std::string last_resource_version;
  TickList blocks;  // ids of the active segment's blocks holding its records
  // Event entries only (null for the other kinds, which are most of a cluster).
  std::unique_ptr<EventSummary> event;

  bool deleted() const { return flags & kDeletedInShard; }
  // The object an Event entry is about, or null.
  const ResourceKeyView* involved() const {
    return event && !event->involved.kind.empty() ? &event->involved : nullptr;
  }
  int64_t event_last_ns() const { return event ? event->last_ns : 0; }
  EventSummary& MakeEvent() {
    if (!event) event = std::make_unique<EventSummary>();
    return *event;
  }
};

}  // namespace sloop
