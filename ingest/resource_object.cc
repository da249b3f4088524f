#include "ingest/resource_object.h"

#include <xxhash.h>

#include <cstring>
#include <limits>

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
  return kind == "Event" && (group.empty() || group == "events.k8s.io");
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

int Digits(std::string_view s, size_t pos, size_t n) {
  if (pos + n > s.size()) return -1;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = s[pos + i];
    if (c < '0' || c > '9') return -1;
    v = v * 10 + (c - '0');
  }
  return v;
}

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
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

int64_t ParseRfc3339(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)
  int y = Digits(s, 0, 4), mo = Digits(s, 5, 2), d = Digits(s, 8, 2);
  int h = Digits(s, 11, 2), mi = Digits(s, 14, 2), se = Digits(s, 17, 2);
  if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || mi < 0 || se < 0) return 0;
  if (s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
      s[13] != ':' || s[16] != ':') {
    return 0;
  }
  size_t p = 19;
  int64_t frac_ns = 0;
  if (p < s.size() && s[p] == '.') {
    ++p;
    int64_t scale = 100000000;
    while (p < s.size() && s[p] >= '0' && s[p] <= '9') {
      frac_ns += (s[p] - '0') * scale;
      scale /= 10;
      ++p;
    }
  }
  int64_t offset_s = 0;
  if (p < s.size() && (s[p] == '+' || s[p] == '-')) {
    int oh = Digits(s, p + 1, 2), om = Digits(s, p + 4, 2);
    if (oh < 0 || om < 0) return 0;
    offset_s = (oh * 3600 + om * 60) * (s[p] == '+' ? 1 : -1);
  } else if (p >= s.size() || (s[p] != 'Z' && s[p] != 'z')) {
    return 0;
  }
  int64_t secs = DaysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - offset_s;
  // Nanoseconds since the epoch fit years 1678..2262; a time outside is as good as malformed.
  constexpr int64_t kMaxSecs = std::numeric_limits<int64_t>::max() / 1000000000 - 1;
  if (secs > kMaxSecs || secs < -kMaxSecs) return 0;
  return secs * 1000000000 + frac_ns;
}

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
  obj.uid = Str(meta, "uid");
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
      ev.first_timestamp_ns = ParseRfc3339(Str(root, "deprecatedFirstTimestamp"));
      ev.last_timestamp_ns = ParseRfc3339(Str(root, "deprecatedLastTimestamp"));
    } else {
      ev.message = Str(root, "message");
      ev.count = static_cast<int32_t>(Int(root, "count"));
      ev.first_timestamp_ns = ParseRfc3339(Str(root, "firstTimestamp"));
      ev.last_timestamp_ns = ParseRfc3339(Str(root, "lastTimestamp"));
    }
    // Newer emitters leave the deprecated fields empty and use eventTime and series instead.
    int64_t event_time = ParseRfc3339(Str(root, "eventTime"));
    if (ev.first_timestamp_ns == 0) ev.first_timestamp_ns = event_time;
    if (IsObject(series)) {
      int64_t n = Int(series, "count");
      if (n > ev.count) ev.count = static_cast<int32_t>(n);
      int64_t last = ParseRfc3339(Str(series, "lastObservedTime"));
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
