// The DaemonSet controller: one pod per reachable node.
#include <set>

#include "cluster.h"
#include "cluster_internal.h"

namespace kubesim {

void Cluster::add_daemonset(const std::string& ns, const std::string& name,
                            const std::string& image, SimTime age) {
  auto d = std::make_unique<DaemonSetState>();
  d->meta = meta(ns, name, age);
  d->meta.generation = 1;
  d->meta.labels = {{"app.kubernetes.io/name", name}};
  d->app = name;
  d->image = image;
  d->hash = hash(10);
  const std::string key = key_of(d->meta);
  auto& ref = *d;
  daemonsets_.emplace(key, std::move(d));
  if (age > 0) ref.desired = ref.current = ref.ready = static_cast<int>(nodes_.size());
  commit(ref, EventType::Added);
  if (age > 0) {
    settle_age_ = age;
    for (const auto& n : node_list_) {
      create_pod(ref.meta, Kind::DaemonSet, "", ref.app, ref.image, PodBehaviour::Normal, "50m",
                 {{"controller-revision-hash", ref.hash}}, "", n);
    }
    settle_age_ = 0;
  }
  mark_dirty(Kind::DaemonSet, key);
}

void Cluster::reconcile_ds(const std::string& key) {
  auto it = daemonsets_.find(key);
  if (it == daemonsets_.end()) return;
  DaemonSetState& d = *it->second;
  std::set<std::string> covered;
  int current = 0, ready = 0;
  for (PodState* p : owned_pods(d.meta.uid)) {
    if (p->meta.deleted) continue;
    covered.insert(p->node.empty() ? p->meta.name : p->node);
    ++current;
    ready += p->ready ? 1 : 0;
  }
  for (const auto& n : node_list_) {
    if (covered.count(n) || nodes_.at(n)->unreachable) continue;
    create_pod(d.meta, Kind::DaemonSet, "", d.app, d.image, PodBehaviour::Normal, "50m",
               {{"controller-revision-hash", d.hash}}, "", n);
    ++current;
  }
  const int desired = static_cast<int>(nodes_.size());
  if (d.desired != desired || d.current != current || d.ready != ready) {
    d.desired = desired;
    d.current = current;
    d.ready = ready;
    d.meta.updated = now_;
    commit(d, EventType::Modified);
  }
}

}  // namespace kubesim
