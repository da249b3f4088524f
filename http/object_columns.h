// The columns `kubectl get -o wide` prints for a kind, computed from a stored object's JSON: the
// table of GET /api/v1/snapshot. Pods (READY, STATUS by kubectl's rules, RESTARTS, IP, NODE),
// the workload controllers, Jobs, Nodes and Services have their own; any other kind gets NAME
// and AGE.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace simdjson::dom {
class parser;
}

namespace sloop::http {

// kubectl's short age (apimachinery's HumanDuration): 45s, 5m30s, 15m, 3h2m, 20h, 2d5h, 10d,
// 2y30d. Negative by more than a second: "<invalid>".
std::string ShortAge(int64_t duration_ns);

class ObjectColumns {
 public:
  ObjectColumns();
  ~ObjectColumns();

  // The column names for kind ("NAME", "AGE" for kinds without their own).
  static std::span<const std::string_view> Columns(std::string_view kind);

  // One row of cells, as many as Columns(kind), for the object whose stored JSON is payload, as
  // it was at at_ns (AGE is at_ns minus metadata.creationTimestamp, or creation_ns when the
  // payload has none; "<unknown>" without either). A payload that is not a JSON object gives
  // the name and age and "" elsewhere.
  std::vector<std::string> Cells(std::string_view kind, std::string_view name,
                                 std::string_view payload, int64_t at_ns, int64_t creation_ns = 0);

 private:
  std::unique_ptr<simdjson::dom::parser> parser_;  // reused from row to row
};

}  // namespace sloop::http
