// Label and field selectors as the API server parses them (`labelSelector`, `fieldSelector`).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "watch_event.h"

namespace kubesim {

// "a=b,c!=d,e in (x,y),f notin (z),g,!h". Empty matches everything.
class LabelSelector {
 public:
  // nullopt with a message in *error when malformed.
  static std::optional<LabelSelector> parse(std::string_view text, std::string* error);
  bool matches(const std::vector<std::pair<std::string, std::string>>& labels) const;
  bool empty() const { return reqs_.empty(); }

 private:
  struct Requirement {
    enum class Op { Equals, NotEquals, In, NotIn, Exists, NotExists } op;
    std::string key;
    std::vector<std::string> values;
  };
  std::vector<Requirement> reqs_;
};

// "metadata.name=x,metadata.namespace!=y,spec.nodeName=n". Every kind supports metadata.name
// and metadata.namespace; the others are the fields an ObjectVersion carries for its kind.
class FieldSelector {
 public:
  // nullopt with the API server's message in *error for malformed text or an unsupported field.
  static std::optional<FieldSelector> parse(std::string_view text, Kind kind, std::string* error);
  bool matches(const ObjectVersion& v) const;
  bool empty() const { return reqs_.empty(); }
  // The namespace an equality on metadata.namespace pins, or "".
  std::string pinned_namespace() const;

 private:
  struct Requirement {
    std::string field, value;
    bool negate;
  };
  std::vector<Requirement> reqs_;
};

// Whether `field` may be used in a fieldSelector on `kind`.
bool supports_field(Kind kind, std::string_view field);

}  // namespace kubesim
