#include "ingest/discovery.h"

#include <simdjson.h>

#include <algorithm>
#include <cctype>

#include "base/strings.h"

namespace sloop::ingest {
namespace dom = simdjson::dom;

namespace {

bool HasListWatch(dom::element verbs) {
  bool list = false, watch = false;
  dom::array arr;
  if (verbs.get(arr) != simdjson::SUCCESS) return false;
  for (dom::element v : arr) {
    std::string_view s;
    if (v.get(s) != simdjson::SUCCESS) continue;
    list |= s == "list";
    watch |= s == "watch";
  }
  return list && watch;
}

std::string_view Str(dom::element e, const char* key) {
  std::string_view s;
  if (e[key].get(s) != simdjson::SUCCESS) return {};
  return s;
}

Result<dom::element> Parse(dom::parser& parser, std::string_view body, const char* what) {
  dom::element doc;
  if (auto err = parser.parse(body.data(), body.size()).get(doc); err) {
    return MakeError(ErrorCode::kCorruption,
                     std::string(what) + " is not valid JSON: " + simdjson::error_message(err));
  }
  return doc;
}

bool Matches(const ResourceType& t, std::string_view name) {
  return EqualsIgnoreCase(name, t.kind) || EqualsIgnoreCase(name, t.resource) ||
         EqualsIgnoreCase(name, t.GroupResource());
}

}  // namespace

bool IsAggregatedDiscovery(std::string_view ct) {
  return ct.find("application/json") != std::string_view::npos &&
         ct.find("g=apidiscovery.k8s.io") != std::string_view::npos &&
         ct.find("as=APIGroupDiscoveryList") != std::string_view::npos;
}

Result<std::vector<ResourceType>> ParseAggregatedDiscovery(std::string_view body) {
  dom::parser parser;
  auto doc = Parse(parser, body, "aggregated discovery document");
  if (!doc) return std::unexpected(doc.error());
  dom::array items;
  if ((*doc)["items"].get(items) != simdjson::SUCCESS) {
    return MakeError(ErrorCode::kCorruption, "aggregated discovery document has no items");
  }
  std::vector<ResourceType> out;
  for (dom::element group : items) {
    std::string_view group_name = Str(group["metadata"], "name");
    dom::array versions;
    if (group["versions"].get(versions) != simdjson::SUCCESS) continue;
    for (dom::element version : versions) {
      if (Str(version, "freshness") == "Stale") continue;
      dom::array resources;
      if (version["resources"].get(resources) != simdjson::SUCCESS) continue;
      for (dom::element r : resources) {
        std::string_view name = Str(r, "resource");
        if (name.empty() || name.find('/') != std::string_view::npos) continue;
        if (!HasListWatch(r["verbs"])) continue;
        ResourceType t;
        t.group = group_name;
        t.version = Str(version, "version");
        t.resource = name;
        t.kind = Str(r["responseKind"], "kind");
        t.namespaced = Str(r, "scope") != "Cluster";
        if (t.kind.empty()) continue;
        out.push_back(std::move(t));
      }
      break;  // the first fresh version is the preferred one
    }
  }
  return out;
}

Result<std::vector<std::pair<std::string, std::string>>> ParseGroupList(std::string_view body) {
  dom::parser parser;
  auto doc = Parse(parser, body, "/apis group list");
  if (!doc) return std::unexpected(doc.error());
  dom::array groups;
  if ((*doc)["groups"].get(groups) != simdjson::SUCCESS) {
    return MakeError(ErrorCode::kCorruption, "/apis group list has no groups");
  }
  std::vector<std::pair<std::string, std::string>> out;
  for (dom::element g : groups) {
    std::string_view name = Str(g, "name");
    std::string_view preferred = Str(g["preferredVersion"], "version");
    if (preferred.empty()) {
      dom::array versions;
      if (g["versions"].get(versions) == simdjson::SUCCESS && versions.size() > 0) {
        preferred = Str(versions.at(0).value_unsafe(), "version");
      }
    }
    if (!name.empty() && !preferred.empty()) out.emplace_back(name, preferred);
  }
  return out;
}

Result<std::vector<ResourceType>> ParseResourceList(std::string_view body, std::string_view group,
                                                    std::string_view version) {
  dom::parser parser;
  auto doc = Parse(parser, body, "API resource list");
  if (!doc) return std::unexpected(doc.error());
  dom::array resources;
  if ((*doc)["resources"].get(resources) != simdjson::SUCCESS) {
    return MakeError(ErrorCode::kCorruption, "API resource list has no resources");
  }
  std::vector<ResourceType> out;
  for (dom::element r : resources) {
    std::string_view name = Str(r, "name");
    if (name.empty() || name.find('/') != std::string_view::npos) continue;
    if (!HasListWatch(r["verbs"])) continue;
    ResourceType t;
    t.group = group;
    t.version = version;
    t.resource = name;
    t.kind = Str(r, "kind");
    bool namespaced = true;
    if (r["namespaced"].get(namespaced) == simdjson::SUCCESS) t.namespaced = namespaced;
    if (!t.kind.empty()) out.push_back(std::move(t));
  }
  return out;
}

Result<std::set<std::string>> ParseCrdList(std::string_view body) {
  dom::parser parser;
  auto doc = Parse(parser, body, "CustomResourceDefinition list");
  if (!doc) return std::unexpected(doc.error());
  dom::array items;
  if ((*doc)["items"].get(items) != simdjson::SUCCESS) {
    return MakeError(ErrorCode::kCorruption, "CustomResourceDefinition list has no items");
  }
  std::set<std::string> out;
  for (dom::element crd : items) {
    std::string_view group = Str(crd["spec"], "group");
    std::string_view plural = Str(crd["spec"]["names"], "plural");
    if (!group.empty() && !plural.empty()) {
      out.insert(std::string(plural) + "." + std::string(group));
    }
  }
  return out;
}

namespace {

Result<ApiClient::Response> Fetch(ApiClient& client, const std::string& path,
                                  std::string_view accept, std::chrono::seconds timeout) {
  auto resp = client.Get(path, accept, timeout);
  if (!resp) return resp;
  const std::string url = client.config().server + path;
  if (resp->status == 401) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "the API server at " + url + " answered 401 Unauthorized (" +
                         StatusMessage(resp->body) + "): the credentials of " +
                         client.config().Describe() +
                         " were refused; refresh them (token, client certificate or exec plugin)");
  }
  if (resp->status == 403) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "the API server at " + url + " answered 403 Forbidden (" +
                         StatusMessage(resp->body) + "): the user of " +
                         client.config().Describe() +
                         " may not read it; grant it get/list/watch on all resources (a "
                         "ClusterRole such as 'view')");
  }
  return resp;
}

}  // namespace

Result<std::vector<ResourceType>> Discover(ApiClient& client, bool watch_crds,
                                           std::chrono::seconds timeout, bool* crds_listed) {
  if (crds_listed) *crds_listed = watch_crds;
  std::vector<ResourceType> all;
  auto core = Fetch(client, "/api", kAcceptAggregatedDiscovery, timeout);
  if (!core) return std::unexpected(core.error());
  auto groups = Fetch(client, "/apis", kAcceptAggregatedDiscovery, timeout);
  if (!groups) return std::unexpected(groups.error());
  if (core->status != 200 || groups->status != 200) {
    const auto& bad = core->status != 200 ? *core : *groups;
    return MakeError(ErrorCode::kUnavailable, "discovery at " + client.config().server +
                                                  " failed: HTTP " + std::to_string(bad.status) +
                                                  " " + StatusMessage(bad.body));
  }
  if (IsAggregatedDiscovery(core->content_type) && IsAggregatedDiscovery(groups->content_type)) {
    for (auto* resp : {&*core, &*groups}) {
      auto parsed = ParseAggregatedDiscovery(resp->body);
      if (!parsed) return std::unexpected(parsed.error());
      all.insert(all.end(), parsed->begin(), parsed->end());
    }
  } else {
    std::vector<std::pair<std::string, std::string>> gvs{{"", "v1"}};
    auto list = ParseGroupList(groups->body);
    if (!list) return std::unexpected(list.error());
    gvs.insert(gvs.end(), list->begin(), list->end());
    for (const auto& [group, version] : gvs) {
      std::string path = group.empty() ? "/api/v1" : "/apis/" + group + "/" + version;
      auto resp = Fetch(client, path, kAcceptJson, timeout);
      if (!resp) return std::unexpected(resp.error());
      if (resp->status != 200) continue;  // an unavailable aggregated API: skip it
      auto parsed = ParseResourceList(resp->body, group, version);
      if (!parsed) continue;
      all.insert(all.end(), parsed->begin(), parsed->end());
    }
  }
  if (watch_crds) {
    std::set<std::string> crds;
    bool have_crd_list = false;
    auto resp =
        client.Get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", kAcceptJson, timeout);
    if (resp && resp->status == 200) {
      if (auto parsed = ParseCrdList(resp->body); parsed) {
        crds = std::move(*parsed);
        have_crd_list = true;
      }
    }
    if (crds_listed) *crds_listed = have_crd_list;
    for (auto& t : all) {
      if (have_crd_list) {
        t.is_crd = crds.contains(t.GroupResource());
      } else {
        // Without read access to CRDs: groups outside Kubernetes' own are custom.
        t.is_crd = !t.group.empty() && t.group.find('.') != std::string::npos &&
                   !t.group.ends_with(".k8s.io");
      }
    }
  }
  return all;
}

const std::vector<std::string>& DefaultGroupResources() {
  static const std::vector<std::string> kDefaults = {
      "pods",
      "nodes",
      "namespaces",
      "events",
      "services",
      "endpoints",
      "configmaps",
      "persistentvolumes",
      "persistentvolumeclaims",
      "replicationcontrollers",
      "deployments.apps",
      "replicasets.apps",
      "statefulsets.apps",
      "daemonsets.apps",
      "jobs.batch",
      // Not in Sloop's set, which leaves out what schedules Jobs and what routes traffic; a
      // recorder should show both.
      "cronjobs.batch",
      "ingresses.networking.k8s.io",
      "networkpolicies.networking.k8s.io",
      "validatingwebhookconfigurations.admissionregistration.k8s.io",
      "horizontalpodautoscalers.autoscaling",
      "poddisruptionbudgets.policy",
      "storageclasses.storage.k8s.io",
      "mutatingwebhookconfigurations.admissionregistration.k8s.io",
  };
  return kDefaults;
}

namespace {

// CustomResourceDefinitions themselves are recorded with the custom resources (-watch-crds): a
// CRD's changes are history too, and its deletion is what tells that its objects went with it
// when sloop was not running to see them go (ingest/crd_deletions.h).
bool IsCrdType(const ResourceType& t) {
  return t.group == "apiextensions.k8s.io" && t.resource == "customresourcedefinitions";
}

}  // namespace

std::vector<ResourceType> SelectResources(const std::vector<ResourceType>& all,
                                          const IngestOptions& o) {
  std::vector<ResourceType> out;
  const auto& defaults = DefaultGroupResources();
  for (const auto& t : all) {
    if (t.group.empty() && t.resource == "secrets") continue;   // never stored
    if (!o.watch_namespace.empty() && !t.namespaced) continue;  // one namespace: a Role reads it
    bool named = std::any_of(o.include_kinds.begin(), o.include_kinds.end(),
                             [&](const std::string& n) { return Matches(t, n); });
    bool wanted;
    if (!o.include_kinds.empty()) {
      wanted = named;
    } else {
      wanted = std::find(defaults.begin(), defaults.end(), t.GroupResource()) != defaults.end() ||
               (o.watch_crds && (t.is_crd || IsCrdType(t)));
    }
    if (t.group == "coordination.k8s.io" && t.resource == "leases") {
      wanted = o.watch_leases || named;
    }
    if (std::any_of(o.exclude_kinds.begin(), o.exclude_kinds.end(),
                    [&](const std::string& n) { return Matches(t, n); })) {
      wanted = false;
    }
    if (!wanted) continue;
    bool duplicate = std::any_of(out.begin(), out.end(), [&](const ResourceType& x) {
      return x.group == t.group && x.resource == t.resource;
    });
    if (!duplicate) out.push_back(t);
  }
  return out;
}

}  // namespace sloop::ingest
