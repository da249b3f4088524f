// The one interface through which ingest hands records to storage. The engine's Store implements
// it; tests and the capture recorder implement it too.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "segments/record.h"
#include "base/status.h"

namespace sloop {

// An object the sink holds as alive (RecordSink::LiveObjects): its identity and the
// resourceVersion of its newest record.
struct LiveObject {
  std::string namespace_, name, uid, resource_version;
};

class RecordSink {
 public:
  virtual ~RecordSink() = default;

  // Stores one record. The views need to live only for the call. Thread-safe in every
  // implementation: several watch streams may append at once. An error means the record was
  // not stored (the disk is full, the store is closed) and says why.
  virtual Result<void> Append(const RecordView& record) = 0;

  // The payload of the newest record stored for this object (API group, kind, namespace, name,
  // uid) at or before t_ns, or nothing when the sink cannot tell (the default: a sink that keeps
  // nothing). Ingest reads it back when it infers a deletion, so that the deletion record carries
  // the object's last known state without ingest keeping every object in memory.
  virtual std::optional<std::string> LastPayload(std::string_view api_group, std::string_view kind,
                                                 std::string_view namespace_, std::string_view name,
                                                 std::string_view uid, int64_t t_ns) const {
    (void)api_group, (void)kind, (void)namespace_, (void)name, (void)uid, (void)t_ns;
    return std::nullopt;
  }

  // The objects of this API group and kind (in namespace_, "" = every namespace) whose newest
  // record the sink holds is not a deletion, or nothing when the sink cannot tell (the default).
  // Ingest seeds a type's known objects with them when it starts, so that its first list
  // reconciles against what was recorded before (objects deleted while nothing was recording are
  // then inferred deleted) instead of recording every object as new. One bulk read: it may be
  // asked for a kind with hundreds of thousands of objects.
  virtual std::vector<LiveObject> LiveObjects(std::string_view api_group, std::string_view kind,
                                              std::string_view namespace_) const {
    (void)api_group, (void)kind, (void)namespace_;
    return {};
  }
};

}  // namespace sloop
