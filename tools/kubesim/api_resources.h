// The resource types the simulator serves: their group/version/resource/kind names, scope, verbs,
// short names and printer columns, and the discovery documents built from them (aggregated v2 and
// the legacy APIVersions / APIGroupList / APIResourceList forms).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kubesim {

enum class Kind : uint8_t {
  Namespace,
  Node,
  Pod,
  Service,
  Endpoints,
  ConfigMap,
  Event,
  PersistentVolume,
  PersistentVolumeClaim,
  Deployment,
  ReplicaSet,
  StatefulSet,
  DaemonSet,
  Job,
  CronJob,
  HorizontalPodAutoscaler,
  Lease,
  CustomResourceDefinition,
  Widget,
};
constexpr int kKindCount = static_cast<int>(Kind::Widget) + 1;

// One column of a meta.k8s.io/v1 Table.
struct PrinterColumn {
  std::string_view name;
  std::string_view type;    // "string", "integer", "date"
  std::string_view format;  // "name" for the Name column, else ""
  std::string_view description;
  int priority;  // 0 always shown, 1 only with -o wide
};

struct ResourceType {
  Kind kind;
  std::string_view group;  // "" for the core group
  std::string_view version;
  std::string_view resource;  // plural, as in URLs
  std::string_view singular;
  std::string_view kind_name;
  bool namespaced;
  std::vector<std::string_view> short_names;
  std::vector<std::string_view> categories;
  std::vector<std::string_view> subresources;  // "status", "scale", "log", …
  std::vector<PrinterColumn> columns;          // after Name; the Name column is implied
  bool custom = false;                         // served because of a CustomResourceDefinition

  // "v1" or "apps/v1".
  std::string api_version() const;
  std::string list_kind() const { return std::string(kind_name) + "List"; }
};

const ResourceType& resource_type(Kind k);
std::span<const ResourceType> all_resource_types();
// The type served at (group, version, resource); nullptr when none.
const ResourceType* find_resource(std::string_view group, std::string_view version,
                                  std::string_view resource);

// Discovery documents. `legacy` selects the plain forms.
std::string render_version(int minor);
std::string render_core_versions();  // GET /api (legacy)
std::string render_group_list();     // GET /apis (legacy)
std::string render_resource_list(std::string_view group, std::string_view version);  // "" = none
std::string render_aggregated(bool core);  // GET /api (core=true) or /apis, aggregated v2
// The groups served, in discovery order, each with its single version.
std::vector<std::pair<std::string_view, std::string_view>> served_group_versions();

}  // namespace kubesim
