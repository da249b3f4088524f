#include "index/object_meta.h"

#include <simdjson.h>

#include <algorithm>

#include "base/time_text.h"
#include "index/index_format.h"

namespace sloop {

// The one-argument overload is base/time_text.h's.
bool ParseRfc3339(std::string_view s, int64_t* ns) {
  auto t = ParseRfc3339(s, {.space_for_t = true});
  if (t) *ns = *t;
  return t.has_value();
}

bool KeepIndexedOwners(std::vector<OwnerRefData>* owners) {
  constexpr size_t kMax = index_format::kMaxOwnersPerEntry;
  if (owners->size() <= kMax) return false;
  auto controller = std::find_if(owners->begin() + kMax, owners->end(),
                                 [](const OwnerRefData& o) { return o.controller; });
  const bool kept = std::any_of(owners->begin(), owners->begin() + kMax,
                                [](const OwnerRefData& o) { return o.controller; });
  if (!kept && controller != owners->end()) (*owners)[kMax - 1] = std::move(*controller);
  owners->resize(kMax);
  return true;
}

ObjectMeta ParseObjectMeta(std::string_view json) {
  ObjectMeta meta;
  // One parser per thread: simdjson parsers own reusable buffers.
  thread_local simdjson::ondemand::parser parser;
  simdjson::padded_string padded(json);
  auto doc = parser.iterate(padded);
  if (doc.error()) return meta;
  simdjson::ondemand::object metadata;
  if (doc.find_field_unordered("metadata").get_object().get(metadata)) return meta;
  for (auto field : metadata) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return meta;
    if (key == "creationTimestamp") {
      std::string_view ts;
      if (!field.value().get_string().get(ts)) ParseRfc3339(ts, &meta.creation_ns);
    } else if (key == "ownerReferences") {
      simdjson::ondemand::array refs;
      if (field.value().get_array().get(refs)) continue;
      for (auto ref_value : refs) {
        simdjson::ondemand::object ref;
        if (ref_value.get_object().get(ref)) break;
        OwnerRefData owner;
        for (auto rf : ref) {
          std::string_view rk;
          if (rf.unescaped_key().get(rk)) break;
          std::string_view sv;
          if (rk == "kind" && !rf.value().get_string().get(sv)) {
            owner.kind = sv;
          } else if (rk == "name" && !rf.value().get_string().get(sv)) {
            owner.name = sv;
          } else if (rk == "uid" && !rf.value().get_string().get(sv)) {
            owner.uid = sv;
          } else if (rk == "controller") {
            bool b = false;
            if (!rf.value().get_bool().get(b)) owner.controller = b;
          }
        }
        // Past the bound only a controller is still wanted (KeepIndexedOwners).
        if (meta.owners.size() < index_format::kMaxOwnersPerEntry || owner.controller) {
          meta.owners.push_back(std::move(owner));
          KeepIndexedOwners(&meta.owners);
        }
      }
    }
  }
  return meta;
}

}  // namespace sloop
