#include "ingest/crd_deletions.h"

#include <simdjson.h>

#include <algorithm>

namespace sloop::ingest {

namespace dom = simdjson::dom;

std::optional<ResourceType> CrdResourceType(std::string_view crd_json) {
  dom::parser parser;
  dom::element root;
  if (parser.parse(crd_json.data(), crd_json.size(), true).get(root)) return std::nullopt;
  dom::element spec;
  if (root["spec"].get(spec)) return std::nullopt;
  std::string_view group, kind, plural, scope;
  if (spec["group"].get(group) || spec["names"]["kind"].get(kind) ||
      spec["names"]["plural"].get(plural) || group.empty() || kind.empty() || plural.empty()) {
    return std::nullopt;
  }
  if (spec["scope"].get(scope)) scope = "Namespaced";
  // The version objects are stored in is the one the recorder read them in (the API server
  // converts to it); an older CRD that lists no versions names one in spec.version.
  std::string_view version, served;
  dom::array versions;
  if (!spec["versions"].get(versions)) {
    for (dom::element v : versions) {
      std::string_view name;
      if (v["name"].get(name)) continue;
      bool storage = false, is_served = false;
      if (!v["storage"].get(storage) && storage) version = name;
      if (!v["served"].get(is_served) && is_served && served.empty()) served = name;
    }
  }
  if (version.empty()) version = served;
  if (version.empty() && spec["version"].get(version)) return std::nullopt;
  if (version.empty()) return std::nullopt;
  ResourceType t;
  t.group = std::string(group);
  t.version = std::string(version);
  t.resource = std::string(plural);
  t.kind = std::string(kind);
  t.namespaced = scope != "Cluster";
  t.is_crd = true;
  return t;
}

bool IsCrdDeletion(const RecordView& record) {
  return (record.watch_type == WatchType::kDeleted ||
          record.watch_type == WatchType::kDeletedInferred) &&
         record.kind == "CustomResourceDefinition" && record.api_group == "apiextensions.k8s.io";
}

Result<void> CrdDeletionTap::Append(const RecordView& record) {
  auto ok = inner_.Append(record);
  if (!ok || !IsCrdDeletion(record)) return ok;
  auto type = CrdResourceType(record.payload);
  if (!type) return ok;
  std::lock_guard lock(mu_);
  auto same = [&](const ResourceType& t) { return t.group == type->group && t.kind == type->kind; };
  if (std::none_of(deleted_.begin(), deleted_.end(), same)) deleted_.push_back(std::move(*type));
  return ok;
}

std::vector<ResourceType> CrdDeletionTap::TakeDeletedKinds() {
  std::lock_guard lock(mu_);
  return std::exchange(deleted_, {});
}

}  // namespace sloop::ingest
