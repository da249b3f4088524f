// The in-memory view of one stored record. Views borrow their bytes: from the caller's buffers
// when appending, from a decoded Block when reading (valid while that Block lives). What its
// watch type and Event fields mean to Kubernetes is in schema/watch_event.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "schema/watch_event.h"

namespace sloop {

struct RecordView {
  int64_t observed_ns = 0;
  WatchType watch_type = WatchType::kAdded;
  std::string_view api_group;
  std::string_view api_version;
  std::string_view kind;
  std::string_view namespace_;
  std::string_view name;
  std::string_view uid;
  std::string_view resource_version;
  std::string_view payload;  // the object's JSON, exactly as received
  std::optional<EventInfoView> event;
};

// What a segment block says of a record before its strings and payload: its watch type and
// observation time (SegmentReader::ReadBlockHeads).
struct RecordHead {
  int64_t observed_ns = 0;
  WatchType watch_type = WatchType::kAdded;
};

}  // namespace sloop
