#include "ingest/resource_object.h"

#include <xxhash.h>

#include <cstring>

#include "base/time_text.h"
#include "index/resource_key.h"

namespace sloop::ingest {
namespace dom = simdjson::dom;

std::string ResourceType::GroupResource() const {
  return group.empty() ? resource : resource + "." + group;
}

std::string ResourceType::CollectionPath(std::string_view namespace_) const {
  std::string path =
      group.empty() ? "/api/" + version + "/" : "/apis/" + group + "/" + version + "/";
  if (namespaced && !namespace_.empty()) path.append("namespaces/").append(namespace_).append("/");
  return path + resource;
}

bool IsEventType(std::string_view group, std::string_view kind) {
  return IsKubernetesEvent(group, kind);
}

namespace {

// A child that may be absent. A default-constructed dom::element points at no document, so
// absence is kept outside it.
using MaybeElement = std::optional<dom::element>;

bool IsObject(const MaybeElement& e) { return e && e->is_object(); }

std::string_view Str(const MaybeElement& e, std::string_view key) {
  std::string_view out;
  if (IsObject(e)) {
    auto v = e->get_object().at_key(key);
    if (v.error() == simdjson::SUCCESS && v.is_string()) out = v.get_string().value_unsafe();
  }
  return out;
}

int64_t Int(const MaybeElement& e, std::string_view key) {
  if (!IsObject(e)) return 0;
  auto v = e->get_object().at_key(key);
  if (v.error() != simdjson::SUCCESS) return 0;
  int64_t i = 0;
  if (v.get_int64().get(i) == simdjson::SUCCESS) return i;
  double d = 0;
  if (v.get_double().get(d) == simdjson::SUCCESS) return static_cast<int64_t>(d);
  return 0;
}

MaybeElement Child(const MaybeElement& e, std::string_view key) {
  if (IsObject(e)) {
    auto v = e->get_object().at_key(key);
    if (v.error() == simdjson::SUCCESS) return v.value_unsafe();
  }
  return std::nullopt;
}

// A Kubernetes time field ("2026-11-20T09:14:03Z", fractions and offsets allowed) as ns since the
// epoch; 0 when empty or malformed.
int64_t TimeNs(std::string_view text) {
  return ParseRfc3339(text, {.space_for_t = true}).value_or(0);
}

void HashValue(XXH64_state_t* st, dom::element e, int depth, bool in_conditions);

void HashObject(XXH64_state_t* st, dom::object o, int depth, bool is_metadata, bool is_status,
                bool is_condition) {
  XXH64_update(st, "{", 1);
  for (auto [key, value] : o) {
    if (is_metadata && (key == "resourceVersion" || key == "managedFields")) continue;
    if (is_condition && key == "lastHeartbeatTime") continue;
    XXH64_update(st, key.data(), key.size());
    XXH64_update(st, ":", 1);
    if (depth == 0 && key == "metadata" && value.is_object()) {
      HashObject(st, value.get_object().value_unsafe(), depth + 1, true, false, false);
    } else if (depth == 0 && key == "status" && value.is_object()) {
      HashObject(st, value.get_object().value_unsafe(), depth + 1, false, true, false);
    } else {
      HashValue(st, value, depth + 1, is_status && key == "conditions");
    }
  }
  XXH64_update(st, "}", 1);
}

void HashValue(XXH64_state_t* st, dom::element e, int depth, bool in_conditions) {
  switch (e.type()) {
    case dom::element_type::OBJECT:
      HashObject(st, e.get_object().value_unsafe(), depth, false, false, false);
      break;
    case dom::element_type::ARRAY: {
      XXH64_update(st, "[", 1);
      const dom::array items = e.get_array().value_unsafe();
      for (dom::element c : items) {
        if (in_conditions && c.is_object()) {
          HashObject(st, c.get_object().value_unsafe(), depth + 1, false, false, true);
        } else {
          HashValue(st, c, depth + 1, false);
        }
        XXH64_update(st, ",", 1);
      }
      XXH64_update(st, "]", 1);
      break;
    }
    case dom::element_type::STRING: {
      std::string_view s = e.get_string().value_unsafe();
      XXH64_update(st, "\"", 1);
      XXH64_update(st, s.data(), s.size());
      XXH64_update(st, "\"", 1);
      break;
    }
    case dom::element_type::INT64: {
      int64_t v = e.get_int64().value_unsafe();
      XXH64_update(st, &v, sizeof v);
      break;
    }
    case dom::element_type::UINT64: {
      uint64_t v = e.get_uint64().value_unsafe();
      XXH64_update(st, &v, sizeof v);
      break;
    }
    case dom::element_type::DOUBLE: {
      double v = e.get_double().value_unsafe();
      XXH64_update(st, &v, sizeof v);
      break;
    }
    case dom::element_type::BOOL:
      XXH64_update(st, e.get_bool().value_unsafe() ? "t" : "f", 1);
      break;
    case dom::element_type::NULL_VALUE:
      XXH64_update(st, "n", 1);
      break;
  }
}

}  // namespace

Result<ResourceObject> ParseObject(dom::parser& parser, std::string& padded, std::string_view json,
                                   bool is_event) {
  if (padded.capacity() < json.size() + simdjson::SIMDJSON_PADDING) {
    padded.reserve(json.size() + json.size() / 2 + simdjson::SIMDJSON_PADDING);
  }
  padded.assign(json);
  dom::element root;
  auto err = parser.parse(padded.data(), padded.size(), false).get(root);
  if (err) {
    return MakeError(ErrorCode::kCorruption,
                     std::string("object is not valid JSON: ") + simdjson::error_message(err));
  }
  if (!root.is_object()) return MakeError(ErrorCode::kCorruption, "object is not a JSON object");
  ResourceObject obj;
  obj.root = root;
  obj.payload = json;
  MaybeElement meta = Child(root, "metadata");
  obj.name = Str(meta, "name");
  obj.namespace_ = Str(meta, "namespace");
  // An Event is known by namespace and name (index/resource_key.h, LookupKey): its uid stays
  // in the payload only.
  obj.uid = is_event ? std::string_view() : Str(meta, "uid");
  obj.resource_version = Str(meta, "resourceVersion");
  if (obj.name.empty()) return MakeError(ErrorCode::kCorruption, "object has no metadata.name");
  if (is_event) {
    EventInfoView ev;
    MaybeElement involved = Child(root, "involvedObject");
    bool events_v1 = false;
    if (!IsObject(involved)) {
      involved = Child(root, "regarding");
      events_v1 = true;
    }
    ev.involved_kind = Str(involved, "kind");
    ev.involved_namespace = Str(involved, "namespace");
    ev.involved_name = Str(involved, "name");
    ev.involved_uid = Str(involved, "uid");
    ev.reason = Str(root, "reason");
    std::string_view type = Str(root, "type");
    ev.severity = type == "Normal"    ? EventSeverity::kNormal
                  : type == "Warning" ? EventSeverity::kWarning
                                      : EventSeverity::kUnknown;
    MaybeElement series = Child(root, "series");
    if (events_v1) {
      ev.message = Str(root, "note");
      ev.count = static_cast<int32_t>(Int(root, "deprecatedCount"));
      ev.first_timestamp_ns = TimeNs(Str(root, "deprecatedFirstTimestamp"));
      ev.last_timestamp_ns = TimeNs(Str(root, "deprecatedLastTimestamp"));
    } else {
      ev.message = Str(root, "message");
      ev.count = static_cast<int32_t>(Int(root, "count"));
      ev.first_timestamp_ns = TimeNs(Str(root, "firstTimestamp"));
      ev.last_timestamp_ns = TimeNs(Str(root, "lastTimestamp"));
    }
    // Newer emitters leave the deprecated fields empty and use eventTime and series instead.
    int64_t event_time = TimeNs(Str(root, "eventTime"));
    if (ev.first_timestamp_ns == 0) ev.first_timestamp_ns = event_time;
    if (IsObject(series)) {
      int64_t n = Int(series, "count");
      if (n > ev.count) ev.count = static_cast<int32_t>(n);
      int64_t last = TimeNs(Str(series, "lastObservedTime"));
      if (last > ev.last_timestamp_ns) ev.last_timestamp_ns = last;
    }
    if (ev.last_timestamp_ns == 0) ev.last_timestamp_ns = ev.first_timestamp_ns;
    if (ev.count == 0) ev.count = 1;
    obj.event = ev;
  }
  return obj;
}

RecordView MakeRecord(const ResourceType& type, const ResourceObject& obj, WatchType watch_type,
                      int64_t ts_ns) {
  RecordView r;
  r.observed_ns = ts_ns;
  r.watch_type = watch_type;
  r.api_group = type.group;
  r.api_version = type.version;
  r.kind = type.kind;
  r.namespace_ = obj.namespace_;
  r.name = obj.name;
  r.uid = obj.uid;
  r.resource_version = obj.resource_version;
  r.payload = obj.payload;
  r.event = obj.event;
  return r;
}

uint64_t NodeFingerprint(const dom::element& node) {
  XXH64_state_t* st = XXH64_createState();
  XXH64_reset(st, 0);
  if (node.is_object()) {
    HashObject(st, node.get_object().value_unsafe(), 0, false, false, false);
  } else {
    HashValue(st, node, 0, false);
  }
  uint64_t h = XXH64_digest(st);
  XXH64_freeState(st);
  return h;
}

}  // namespace sloop::ingest
