// ResourceObject: one Kubernetes object as ingest sees it — its identity (namespace, name, uid,
// resourceVersion), the Event fields when it is an Event, and the bytes it arrived as — and the
// record it becomes for the engine.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "segments/record.h"

namespace sloop::ingest {

// One listable, watchable resource type, as discovery found it.
struct ResourceType {
  std::string group;     // "" for the core group
  std::string version;   // "v1"
  std::string resource;  // plural name: "pods"
  std::string kind;      // "Pod"
  bool namespaced = true;
  bool is_crd = false;

  // "pods" for the core group, "deployments.apps" otherwise (kubectl's spelling).
  std::string GroupResource() const;
  // "/api/v1/pods", "/apis/apps/v1/deployments": the all-namespaces collection path; with a
  // namespace, a namespaced type's collection in it ("/api/v1/namespaces/NS/pods").
  std::string CollectionPath(std::string_view namespace_ = {}) const;
  bool operator==(const ResourceType&) const = default;
};

// Views into the parser's document and the object's bytes; valid until the parser parses again.
struct ResourceObject {
  simdjson::dom::element root;
  std::string_view payload;  // the object's JSON exactly as received
  std::string_view namespace_, name, uid, resource_version;
  std::optional<EventInfoView> event;  // core/v1 and events.k8s.io Events
};

// Parses one object. `padded` is scratch space the parser reads from (reused across calls).
// kCorruption when the bytes are not a JSON object or lack metadata.name.
Result<ResourceObject> ParseObject(simdjson::dom::parser& parser, std::string& padded,
                                   std::string_view json, bool is_event);

// The record handed to the sink: observation time ts_ns, the resource type's group/version/kind.
RecordView MakeRecord(const ResourceType& type, const ResourceObject& obj, WatchType watch_type,
                      int64_t ts_ns);

// True for the kinds whose objects carry Event fields (Event in "" and "events.k8s.io").
bool IsEventType(std::string_view group, std::string_view kind);

// A hash of a Node that ignores what changes on every heartbeat: metadata.resourceVersion,
// metadata.managedFields and status.conditions[].lastHeartbeatTime. Two updates of one Node with
// equal fingerprints differ only in heartbeats.
uint64_t NodeFingerprint(const simdjson::dom::element& node);

}  // namespace sloop::ingest
