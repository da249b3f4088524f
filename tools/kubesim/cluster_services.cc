// Services and the Endpoints controller.
#include "cluster.h"
#include "cluster_internal.h"

namespace kubesim {

void Cluster::add_service(const std::string& ns, const std::string& app, SimTime age,
                          bool headless) {
  auto s = std::make_unique<ServiceState>();
  s->meta = meta(ns, app, age);
  s->meta.labels = {{"app.kubernetes.io/name", app}};
  s->app = app;
  s->headless = headless;
  const int n = next_cluster_ip_++;
  s->cluster_ip = "172.20." + std::to_string((n / 250) % 250) + "." + std::to_string(1 + n % 250);
  const std::string key = key_of(s->meta);
  auto& ref = *s;
  services_.emplace(key, std::move(s));
  commit(ref, EventType::Added);
  auto e = std::make_unique<EndpointsState>();
  e->meta = meta(ns, app, age);
  e->meta.labels = {{"app.kubernetes.io/name", app}};
  auto& eref = *e;
  endpoints_.emplace(key, std::move(e));
  commit(eref, EventType::Added);
  mark_dirty(Kind::Endpoints, key);
}

void Cluster::endpoints_update(const std::string& key) {
  auto it = endpoints_.find(key);
  if (it == endpoints_.end()) return;
  EndpointsState& e = *it->second;
  std::vector<EndpointAddress> ready, not_ready;
  for (const auto& pkey : by_app_[key]) {
    auto p = pods_.find(pkey);
    if (p == pods_.end()) continue;
    const PodState& pod = *p->second;
    if (pod.pod_ip.empty() || pod.meta.deleted || pod.phase == "Succeeded") continue;
    (pod.ready ? ready : not_ready).push_back({pod.pod_ip, pod.node, pod.meta.name, pod.meta.uid});
  }
  auto same = [](const std::vector<EndpointAddress>& a, const std::vector<EndpointAddress>& b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      if (a[i].pod_uid != b[i].pod_uid) return false;
    }
    return true;
  };
  if (same(ready, e.ready) && same(not_ready, e.not_ready)) return;
  e.ready = std::move(ready);
  e.not_ready = std::move(not_ready);
  e.meta.updated = now_;
  e.meta.annotations = {{"endpoints.kubernetes.io/last-change-trigger-time", format_time(now_)}};
  commit(e, EventType::Modified);
}

}  // namespace kubesim
