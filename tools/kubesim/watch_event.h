// What the model emits and the API side serves: one immutable rendered version of an object
// (its JSON plus the few fields that lists, selectors and Tables need without parsing it), and
// one watch event carrying such a version.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api_resources.h"
#include "sim_time.h"

namespace kubesim {

enum class EventType : uint8_t { Added, Modified, Deleted };
std::string_view event_type_name(EventType t);  // "ADDED", "MODIFIED", "DELETED"

// One cell of a Table row, formatted when the Table is written (ages depend on "now").
struct Cell {
  enum class Type : uint8_t { Text, Int, Age, Restarts } type = Type::Text;
  std::string text;
  int64_t num = 0;   // Int: the value; Restarts: the count
  SimTime when = 0;  // Age: the start; Restarts: the last restart (0 = none)

  static Cell t(std::string s) { return Cell{Type::Text, std::move(s), 0, 0}; }
  static Cell i(int64_t v) { return Cell{Type::Int, {}, v, 0}; }
  static Cell age(SimTime since) { return Cell{Type::Age, {}, 0, since}; }
  static Cell restarts(int64_t n, SimTime last) { return Cell{Type::Restarts, {}, n, last}; }
};

// One version of one object, rendered. Immutable once built; shared by the store, the watch
// window and the streams that send it.
struct ObjectVersion {
  Kind kind;
  std::string ns;  // empty for cluster-scoped kinds
  std::string name;
  std::string uid;
  uint64_t rv = 0;
  SimTime created = 0;
  std::vector<std::pair<std::string, std::string>> labels;
  // Extra fields selectable with fieldSelector (spec.nodeName, status.phase, involvedObject.*, …).
  std::vector<std::pair<std::string_view, std::string>> fields;
  std::vector<Cell> cells;                // Table cells, one per printer column except Name
  std::string json;                       // the full object, compact, with kind and apiVersion
  uint32_t meta_begin = 0, meta_end = 0;  // the byte range of the "metadata" object inside json

  std::string_view metadata_json() const {
    return std::string_view(json).substr(meta_begin, meta_end - meta_begin);
  }
  const std::string* field(std::string_view name) const {
    for (const auto& [k, v] : fields) {
      if (k == name) return &v;
    }
    return nullptr;
  }
};

struct WatchEvent {
  EventType type;
  uint64_t rv;
  SimTime ts;                                   // simulated time of the change
  std::shared_ptr<const ObjectVersion> object;  // for DELETED: the last state, at the deletion RV
};

// Receives every event the model emits, in resource-version order.
class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void on_event(const WatchEvent& event) = 0;
};

// "ns/name" or "name": the order a list returns objects in.
inline std::string object_key(std::string_view ns, std::string_view name) {
  std::string k;
  k.reserve(ns.size() + name.size() + 1);
  if (!ns.empty()) {
    k += ns;
    k += '/';
  }
  k += name;
  return k;
}

}  // namespace kubesim
