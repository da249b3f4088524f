#include "api_resources.h"

#include "json_writer.h"

namespace kubesim {
namespace {

constexpr std::string_view kAge = "Age";

PrinterColumn name_col() {
  return {"Name", "string", "name",
          "Name must be unique within a namespace. Cannot be updated. More info: "
          "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names",
          0};
}
PrinterColumn col(std::string_view name, std::string_view type = "string", int priority = 0,
                  std::string_view description = "") {
  return {name, type, "", description, priority};
}
PrinterColumn age_col() {
  return col(kAge, "string", 0,
             "CreationTimestamp is a timestamp representing the server time when this object was "
             "created.");
}

std::vector<ResourceType> build_types() {
  std::vector<ResourceType> t;
  const std::vector<std::string_view> all{"all"};
  const std::vector<std::string_view> none;
  t.push_back({Kind::Namespace,
               "",
               "v1",
               "namespaces",
               "namespace",
               "Namespace",
               false,
               {"ns"},
               none,
               {"status", "finalize"},
               {name_col(), col("Status"), age_col()}});
  t.push_back({Kind::Node,
               "",
               "v1",
               "nodes",
               "node",
               "Node",
               false,
               {"no"},
               none,
               {"status", "proxy"},
               {name_col(), col("Status"), col("Roles"), age_col(), col("Version"),
                col("Internal-IP", "string", 1), col("External-IP", "string", 1),
                col("OS-Image", "string", 1), col("Kernel-Version", "string", 1),
                col("Container-Runtime", "string", 1)}});
  t.push_back({Kind::Pod,
               "",
               "v1",
               "pods",
               "pod",
               "Pod",
               true,
               {"po"},
               all,
               {"status", "log", "exec", "eviction", "binding", "ephemeralcontainers"},
               {name_col(),
                col("Ready", "string", 0,
                    "The aggregate readiness state of this pod "
                    "for accepting traffic."),
                col("Status", "string", 0, "The aggregate status of the containers in this pod."),
                col("Restarts", "string", 0,
                    "The number of times the containers in this pod have been restarted and when "
                    "the last container in this pod has restarted."),
                age_col(), col("IP", "string", 1, "IP address allocated to the pod."),
                col("Node", "string", 1, "Name of the node assigned to the pod."),
                col("Nominated Node", "string", 1, "Name of the node nominated by the scheduler."),
                col("Readiness Gates", "string", 1, "Readiness gates of the pod.")}});
  t.push_back({Kind::Service,
               "",
               "v1",
               "services",
               "service",
               "Service",
               true,
               {"svc"},
               all,
               {"status", "proxy"},
               {name_col(), col("Type"), col("Cluster-IP"), col("External-IP"), col("Port(s)"),
                age_col(), col("Selector", "string", 1)}});
  t.push_back({Kind::Endpoints,
               "",
               "v1",
               "endpoints",
               "endpoints",
               "Endpoints",
               true,
               {"ep"},
               none,
               {},
               {name_col(), col("Endpoints"), age_col()}});
  t.push_back({Kind::ConfigMap,
               "",
               "v1",
               "configmaps",
               "configmap",
               "ConfigMap",
               true,
               {"cm"},
               none,
               {},
               {name_col(), col("Data", "integer"), age_col()}});
  t.push_back({Kind::Event,
               "",
               "v1",
               "events",
               "event",
               "Event",
               true,
               {"ev"},
               none,
               {},
               {col("Last Seen"),
                col("Type"),
                col("Reason"),
                col("Object"),
                col("Subobject", "string", 1),
                col("Source", "string", 1),
                col("Message"),
                col("First Seen", "string", 1),
                col("Count", "string", 1),
                {"Name", "string", "name", "", 1}}});
  t.push_back({Kind::PersistentVolume,
               "",
               "v1",
               "persistentvolumes",
               "persistentvolume",
               "PersistentVolume",
               false,
               {"pv"},
               none,
               {"status"},
               {name_col(), col("Capacity"), col("Access Modes"), col("Reclaim Policy"),
                col("Status"), col("Claim"), col("StorageClass"), col("Reason"), age_col()}});
  t.push_back({Kind::PersistentVolumeClaim,
               "",
               "v1",
               "persistentvolumeclaims",
               "persistentvolumeclaim",
               "PersistentVolumeClaim",
               true,
               {"pvc"},
               none,
               {"status"},
               {name_col(), col("Status"), col("Volume"), col("Capacity"), col("Access Modes"),
                col("StorageClass"), age_col()}});
  t.push_back(
      {Kind::Deployment,
       "apps",
       "v1",
       "deployments",
       "deployment",
       "Deployment",
       true,
       {"deploy"},
       all,
       {"status", "scale"},
       {name_col(), col("Ready", "string", 0, "Number of the pod with ready state"),
        col("Up-to-date", "integer", 0,
            "Total number of non-terminated pods targeted by "
            "this deployment that have the desired template "
            "spec."),
        col("Available", "integer", 0,
            "Total number of available pods (ready for at least minReadySeconds) targeted "
            "by this deployment."),
        age_col(), col("Containers", "string", 1, "Names of each container in the template."),
        col("Images", "string", 1, "Images referenced by each container in the template."),
        col("Selector", "string", 1, "Label selector for pods.")}});
  t.push_back({Kind::ReplicaSet,
               "apps",
               "v1",
               "replicasets",
               "replicaset",
               "ReplicaSet",
               true,
               {"rs"},
               all,
               {"status", "scale"},
               {name_col(), col("Desired", "integer"), col("Current", "integer"),
                col("Ready", "integer"), age_col(), col("Containers", "string", 1),
                col("Images", "string", 1), col("Selector", "string", 1)}});
  t.push_back({Kind::StatefulSet,
               "apps",
               "v1",
               "statefulsets",
               "statefulset",
               "StatefulSet",
               true,
               {"sts"},
               all,
               {"status", "scale"},
               {name_col(), col("Ready"), age_col(), col("Containers", "string", 1),
                col("Images", "string", 1)}});
  t.push_back(
      {Kind::DaemonSet,
       "apps",
       "v1",
       "daemonsets",
       "daemonset",
       "DaemonSet",
       true,
       {"ds"},
       all,
       {"status"},
       {name_col(), col("Desired", "integer"), col("Current", "integer"), col("Ready", "integer"),
        col("Up-to-date", "integer"), col("Available", "integer"), col("Node Selector"), age_col(),
        col("Containers", "string", 1), col("Images", "string", 1), col("Selector", "string", 1)}});
  t.push_back(
      {Kind::Job,
       "batch",
       "v1",
       "jobs",
       "job",
       "Job",
       true,
       {},
       all,
       {"status"},
       {name_col(), col("Status"), col("Completions"), col("Duration"), age_col(),
        col("Containers", "string", 1), col("Images", "string", 1), col("Selector", "string", 1)}});
  t.push_back(
      {Kind::CronJob,
       "batch",
       "v1",
       "cronjobs",
       "cronjob",
       "CronJob",
       true,
       {"cj"},
       all,
       {"status"},
       {name_col(), col("Schedule"), col("Timezone"), col("Suspend"), col("Active", "integer"),
        col("Last Schedule"), age_col(), col("Containers", "string", 1), col("Images", "string", 1),
        col("Selector", "string", 1)}});
  t.push_back({Kind::HorizontalPodAutoscaler,
               "autoscaling",
               "v2",
               "horizontalpodautoscalers",
               "horizontalpodautoscaler",
               "HorizontalPodAutoscaler",
               true,
               {"hpa"},
               all,
               {"status"},
               {name_col(), col("Reference"), col("Targets"), col("MinPods", "integer"),
                col("MaxPods", "integer"), col("Replicas", "integer"), age_col()}});
  t.push_back({Kind::Lease,
               "coordination.k8s.io",
               "v1",
               "leases",
               "lease",
               "Lease",
               true,
               {},
               none,
               {},
               {name_col(), col("Holder"), age_col()}});
  t.push_back({Kind::CustomResourceDefinition,
               "apiextensions.k8s.io",
               "v1",
               "customresourcedefinitions",
               "customresourcedefinition",
               "CustomResourceDefinition",
               false,
               {"crd", "crds"},
               {"api-extensions"},
               {"status"},
               {name_col(), col("Created At", "date")}});
  t.push_back({Kind::Widget,
               "example.com",
               "v1",
               "widgets",
               "widget",
               "Widget",
               true,
               {"wg"},
               {"all"},
               {"status"},
               {name_col(), col("Size", "integer"), col("Phase"), age_col()},
               true});
  return t;
}

const std::vector<ResourceType>& types() {
  static const std::vector<ResourceType> kTypes = build_types();
  return kTypes;
}

void write_verbs(JsonWriter& w, const ResourceType& r) {
  w.key("verbs").begin_array();
  for (const char* v :
       {"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}) {
    w.str(v);
  }
  w.end_array();
}

std::vector<std::string_view> subresource_verbs(std::string_view sub) {
  if (sub == "log") return {"get"};
  if (sub == "eviction" || sub == "binding") return {"create"};
  if (sub == "exec" || sub == "proxy") return {"create", "get"};
  return {"get", "patch", "update"};
}

void write_string_list(JsonWriter& w, std::string_view key,
                       const std::vector<std::string_view>& v) {
  if (v.empty()) return;
  w.key(key).begin_array();
  for (auto s : v) w.str(s);
  w.end_array();
}

}  // namespace

std::string ResourceType::api_version() const {
  if (group.empty()) return std::string(version);
  return std::string(group) + "/" + std::string(version);
}

const ResourceType& resource_type(Kind k) { return types()[static_cast<size_t>(k)]; }

std::span<const ResourceType> all_resource_types() { return types(); }

const ResourceType* find_resource(std::string_view group, std::string_view version,
                                  std::string_view resource) {
  for (const auto& r : types()) {
    if (r.group == group && r.version == version && r.resource == resource) return &r;
  }
  return nullptr;
}

std::vector<std::pair<std::string_view, std::string_view>> served_group_versions() {
  return {{"apps", "v1"},
          {"autoscaling", "v2"},
          {"batch", "v1"},
          {"coordination.k8s.io", "v1"},
          {"apiextensions.k8s.io", "v1"},
          {"example.com", "v1"}};
}

std::string render_version(int minor) {
  std::string out;
  JsonWriter w(out);
  const std::string m = std::to_string(minor);
  w.begin_object()
      .kv("major", "1")
      .kv("minor", m)
      .kv("gitVersion", "v1." + m + ".4")
      .kv("gitCommit", "4cb5f07a9b3c1e2d8f6a5b4c3d2e1f0a9b8c7d6e")
      .kv("gitTreeState", "clean")
      .kv("buildDate", "2025-04-22T16:03:49Z")
      .kv("goVersion", "go1.23.6")
      .kv("compiler", "gc")
      .kv("platform", "linux/amd64")
      .end_object();
  return out;
}

std::string render_core_versions() {
  return R"({"kind":"APIVersions","versions":["v1"],"serverAddressByClientCIDRs":[{"clientCIDR":"0.0.0.0/0","serverAddress":"127.0.0.1:6443"}]})";
}

std::string render_group_list() {
  std::string out;
  JsonWriter w(out);
  w.begin_object().kv("kind", "APIGroupList").kv("apiVersion", "v1").key("groups").begin_array();
  for (auto [g, v] : served_group_versions()) {
    const std::string gv = std::string(g) + "/" + std::string(v);
    w.begin_object().kv("name", g).key("versions").begin_array();
    w.begin_object().kv("groupVersion", gv).kv("version", v).end_object();
    w.end_array();
    w.key("preferredVersion").begin_object().kv("groupVersion", gv).kv("version", v).end_object();
    w.end_object();
  }
  w.end_array().end_object();
  return out;
}

std::string render_resource_list(std::string_view group, std::string_view version) {
  std::string out;
  JsonWriter w(out);
  const std::string gv =
      group.empty() ? std::string(version) : std::string(group) + "/" + std::string(version);
  w.begin_object()
      .kv("kind", "APIResourceList")
      .kv("apiVersion", "v1")
      .kv("groupVersion", gv)
      .key("resources")
      .begin_array();
  for (const auto& r : types()) {
    if (r.group != group || r.version != version) continue;
    w.begin_object()
        .kv("name", r.resource)
        .kv("singularName", r.singular)
        .kv("namespaced", r.namespaced)
        .kv("kind", r.kind_name);
    write_verbs(w, r);
    write_string_list(w, "shortNames", r.short_names);
    write_string_list(w, "categories", r.categories);
    w.end_object();
    for (auto sub : r.subresources) {
      std::string name = std::string(r.resource) + "/" + std::string(sub);
      w.begin_object()
          .kv("name", name)
          .kv("singularName", "")
          .kv("namespaced", r.namespaced)
          .kv("kind", sub == "scale" ? "Scale" : r.kind_name);
      write_string_list(w, "verbs", subresource_verbs(sub));
      w.end_object();
    }
  }
  w.end_array().end_object();
  return out;
}

std::string render_aggregated(bool core) {
  std::string out;
  JsonWriter w(out);
  w.begin_object()
      .kv("kind", "APIGroupDiscoveryList")
      .kv("apiVersion", "apidiscovery.k8s.io/v2")
      .key("metadata")
      .begin_object()
      .end_object()
      .key("items")
      .begin_array();
  auto group_versions = core
                            ? std::vector<std::pair<std::string_view, std::string_view>>{{"", "v1"}}
                            : served_group_versions();
  for (auto [g, v] : group_versions) {
    w.begin_object().key("metadata").begin_object();
    if (!g.empty()) w.kv("name", g);
    w.end_object().key("versions").begin_array();
    w.begin_object().kv("version", v).key("resources").begin_array();
    for (const auto& r : types()) {
      if (r.group != g || r.version != v) continue;
      w.begin_object().kv("resource", r.resource);
      w.key("responseKind")
          .begin_object()
          .kv("group", "")
          .kv("version", "")
          .kv("kind", r.kind_name)
          .end_object();
      w.kv("scope", r.namespaced ? "Namespaced" : "Cluster").kv("singularResource", r.singular);
      write_verbs(w, r);
      write_string_list(w, "shortNames", r.short_names);
      write_string_list(w, "categories", r.categories);
      if (!r.subresources.empty()) {
        w.key("subresources").begin_array();
        for (auto sub : r.subresources) {
          w.begin_object().kv("subresource", sub);
          w.key("responseKind")
              .begin_object()
              .kv("group", sub == "scale" ? "autoscaling" : "")
              .kv("version", sub == "scale" ? "v1" : "")
              .kv("kind", sub == "scale" ? "Scale" : r.kind_name)
              .end_object();
          write_string_list(w, "verbs", subresource_verbs(sub));
          w.end_object();
        }
        w.end_array();
      }
      w.end_object();
    }
    w.end_array().kv("freshness", "Current").end_object();
    w.end_array().end_object();
  }
  w.end_array().end_object();
  return out;
}

}  // namespace kubesim
