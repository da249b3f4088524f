// ConfigMaps.
#include "cluster.h"
#include "cluster_internal.h"

namespace kubesim {

void Cluster::add_configmap(const std::string& ns, const std::string& app, SimTime age) {
  auto c = std::make_unique<ConfigMapState>();
  c->meta = meta(ns, app + "-config", age);
  c->meta.labels = {{"app.kubernetes.io/name", app}};
  c->data = {{"LOG_LEVEL", "info"},
             {"FEATURE_FLAGS", "checkout-v2,fast-cart"},
             {"application.yaml", "server:\n  port: 8080\nmetrics:\n  enabled: true\n"}};
  const std::string key = key_of(c->meta);
  auto& ref = *c;
  configmaps_.emplace(key, std::move(c));
  commit(ref, EventType::Added);
}

void Cluster::update_configmap(const std::string& ns, const std::string& name) {
  auto it = configmaps_.find(object_key(ns, name));
  if (it == configmaps_.end()) return;
  ConfigMapState& c = *it->second;
  for (auto& [k, v] : c.data) {
    if (k == "LOG_LEVEL") v = v == "info" ? "debug" : "info";
  }
  c.meta.updated = now_;
  commit(c, EventType::Modified);
}

}  // namespace kubesim
