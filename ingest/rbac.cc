#include "ingest/rbac.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "ingest/discovery.h"

namespace sloop::ingest {

const std::vector<ResourceType>& BuiltinResourceTypes() {
  // group, version, resource, kind, namespaced
  static const std::vector<ResourceType> kTypes = {
      {"", "v1", "pods", "Pod", true},
      {"", "v1", "nodes", "Node", false},
      {"", "v1", "namespaces", "Namespace", false},
      {"", "v1", "events", "Event", true},
      {"", "v1", "services", "Service", true},
      {"", "v1", "endpoints", "Endpoints", true},
      {"", "v1", "configmaps", "ConfigMap", true},
      {"", "v1", "persistentvolumes", "PersistentVolume", false},
      {"", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", true},
      {"", "v1", "replicationcontrollers", "ReplicationController", true},
      {"", "v1", "secrets", "Secret", true},
      {"apps", "v1", "deployments", "Deployment", true},
      {"apps", "v1", "replicasets", "ReplicaSet", true},
      {"apps", "v1", "statefulsets", "StatefulSet", true},
      {"apps", "v1", "daemonsets", "DaemonSet", true},
      {"batch", "v1", "jobs", "Job", true},
      {"batch", "v1", "cronjobs", "CronJob", true},
      {"networking.k8s.io", "v1", "ingresses", "Ingress", true},
      {"networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", true},
      {"admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations",
       "ValidatingWebhookConfiguration", false},
      {"admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations",
       "MutatingWebhookConfiguration", false},
      {"autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", true},
      {"policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", true},
      {"storage.k8s.io", "v1", "storageclasses", "StorageClass", false},
      {"coordination.k8s.io", "v1", "leases", "Lease", true},
  };
  return kTypes;
}

namespace {

bool NamesType(const ResourceType& t, std::string_view name) {
  auto eq = [](std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
             return std::tolower(static_cast<unsigned char>(x)) ==
                    std::tolower(static_cast<unsigned char>(y));
           });
  };
  return eq(name, t.kind) || eq(name, t.resource) || eq(name, t.GroupResource());
}

}  // namespace

RbacRules MakeRbacRules(const IngestOptions& options) {
  RbacRules out;
  const auto& builtin = BuiltinResourceTypes();
  for (const auto& name : options.include_kinds) {
    bool known = std::any_of(builtin.begin(), builtin.end(),
                             [&](const ResourceType& t) { return NamesType(t, name); });
    if (!known) out.unresolved.push_back(name);
  }
  // The selection the ingester makes from what discovery found (custom resources aside).
  std::map<std::string, std::set<std::string>> by_group;
  for (const auto& t : SelectResources(builtin, options)) by_group[t.group].insert(t.resource);
  if (options.watch_crds && options.watch_namespace.empty()) {
    by_group["apiextensions.k8s.io"].insert("customresourcedefinitions");
  }

  YAML::Emitter y;
  y << YAML::BeginSeq;
  for (const auto& [group, resources] : by_group) {
    y << YAML::BeginMap;
    y << YAML::Key << "apiGroups" << YAML::Value << YAML::Flow << YAML::BeginSeq
      << YAML::DoubleQuoted << group << YAML::EndSeq;
    y << YAML::Key << "resources" << YAML::Value << YAML::Flow
      << std::vector<std::string>(resources.begin(), resources.end());
    y << YAML::Key << "verbs" << YAML::Value << YAML::Flow
      << std::vector<std::string>{"get", "list", "watch"};
    y << YAML::EndMap;
  }
  y << YAML::EndSeq;
  out.yaml = std::string(y.c_str()) + "\n";
  return out;
}

}  // namespace sloop::ingest
