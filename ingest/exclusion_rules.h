// ExclusionRules: Sloop's `exclusionRules` config. Objects a rule matches are dropped at ingest,
// before anything is stored (their ADD, UPDATE and DELETE alike).
//
//   "exclusionRules": {
//     "_all": [ {"==": [{"var": "metadata.namespace"}, "kube-system"]} ],
//     "Pod":  [ {"==": [{"var": "metadata.name"}, "sloop-0"]} ],
//     "Job":  [ {"in": [{"var": "metadata.name"}, ["cron1", "cron3"]]} ]
//   }
//
// Each key is a kind (matched exactly, case included) or "_all"; each value a list of JsonLogic
// rules (see json_logic.h) evaluated on the object's JSON. An object of kind K is excluded when a
// rule for K, or then an "_all" rule, evaluates to a truthy value. (Sloop instead tests whether
// the result's text contains "true"; the two agree on every rule that yields a boolean.)
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ingest/json_logic.h"
#include "base/status.h"

namespace simdjson::dom {
class element;
}

namespace sloop {

class ExclusionRules {
 public:
  ExclusionRules() = default;  // no rules: excludes nothing

  // Compiles every rule of the exclusionRules object given as JSON text (null or {} means no
  // rules). kInvalidArgument names the first bad entry by its path, e.g.
  // `exclusionRules.Pod[2]: unknown operator "foo"`, so start-up can refuse the config.
  static Result<ExclusionRules> FromConfig(std::string_view json,
                                           std::string_view path = "exclusionRules");
  // The same for the exclusionRules element of a config document parsed already.
  static Result<ExclusionRules> FromConfig(const simdjson::dom::element& rules,
                                           std::string_view path = "exclusionRules");

  // True when `object` (of `kind`) is to be dropped. Thread-safe; allocation-free for the usual
  // comparison rules.
  bool ShouldExclude(std::string_view kind, const simdjson::dom::element& object) const {
    return FirstMatch(kind, object) != nullptr;
  }
  // The first rule that excludes `object`, kind rules before "_all" ones, or nullptr. Its path()
  // says which rule it was, for the log line.
  const JsonLogic* FirstMatch(std::string_view kind, const simdjson::dom::element& object) const;

  // Rules in total, and those that apply to objects of `kind` (its own plus "_all").
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  size_t RulesFor(std::string_view kind) const;

 private:
  struct KindHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  const std::vector<JsonLogic>* KindRules(std::string_view kind) const;

  std::unordered_map<std::string, std::vector<JsonLogic>, KindHash, std::equal_to<>> by_kind_;
  std::vector<JsonLogic> all_;
  size_t size_ = 0;
};

}  // namespace sloop
