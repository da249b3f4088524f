// The objects of a CustomResourceDefinition that was deleted while sloop was not running.
//
// Deleting a CRD deletes every object of its kind first (the API server's cleanup finalizer), and
// a running recorder sees each go on the kind's watch. A recorder that was down sees nothing of
// it: at the next start discovery no longer lists the kind, so no list of it is read and no
// deletion is inferred; the store would hold those objects as alive for good. What it does see is
// the CRD's own deletion (DELETED, or DELETED_INFERRED by the first list of CRDs).
// CrdDeletionTap notes each such deletion on its way to the store, and the ingester then records
// the deletion of every object of that kind the store still holds as alive, unless discovery lists
// the kind again (a CRD of the same kind created since: its own lists reconcile it).
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/record_sink.h"
#include "ingest/resource_object.h"

namespace sloop::ingest {

// The resource type a CustomResourceDefinition defines (spec.group, spec.names.kind and .plural,
// spec.scope, the storage version, or else the first served one), from its JSON; nothing when it
// does not say.
std::optional<ResourceType> CrdResourceType(std::string_view crd_json);

// True for the record of a CustomResourceDefinition's deletion (watched or inferred).
bool IsCrdDeletion(const RecordView& record);

// A RecordSink in front of another that passes everything on and notes the kinds of the CRDs
// whose deletion it stored. Thread-safe.
class CrdDeletionTap final : public RecordSink {
 public:
  explicit CrdDeletionTap(RecordSink& inner) : inner_(inner) {}

  Result<void> Append(const RecordView& record) override;
  std::optional<std::string> LastPayload(std::string_view api_group, std::string_view kind,
                                         std::string_view namespace_, std::string_view name,
                                         std::string_view uid, int64_t t_ns) const override {
    return inner_.LastPayload(api_group, kind, namespace_, name, uid, t_ns);
  }
  std::vector<LiveObject> LiveObjects(std::string_view api_group, std::string_view kind,
                                      std::string_view namespace_) const override {
    return inner_.LiveObjects(api_group, kind, namespace_);
  }

  // The kinds of the CRDs deleted since the last call, each once, in the order seen.
  std::vector<ResourceType> TakeDeletedKinds();

 private:
  RecordSink& inner_;
  std::mutex mu_;
  std::vector<ResourceType> deleted_;
};

}  // namespace sloop::ingest
