// The Deployment and ReplicaSet controllers: rollouts, rollbacks, scaling, revision history.
#include <algorithm>

#include "cluster.h"
#include "cluster_internal.h"

namespace kubesim {

std::string Cluster::new_replicaset(DeploymentState& d, SimTime age) {
  auto rs = std::make_unique<ReplicaSetState>();
  std::string h;
  do {
    h = hash(10);
  } while (replicasets_.count(object_key(d.meta.ns, d.meta.name + "-" + h)));
  rs->meta = meta(d.meta.ns, d.meta.name + "-" + h, age);
  rs->meta.generation = 1;
  rs->meta.labels = {{"app.kubernetes.io/name", d.app}, {"pod-template-hash", h}};
  rs->meta.annotations = {
      {"deployment.kubernetes.io/desired-replicas", std::to_string(d.replicas)},
      {"deployment.kubernetes.io/max-replicas", std::to_string(d.replicas + (d.replicas + 3) / 4)},
      {"deployment.kubernetes.io/revision", std::to_string(d.revision)}};
  rs->meta.owner = OwnerRef{Kind::Deployment, d.meta.name, d.meta.uid};
  rs->app = d.app;
  rs->image = d.image;
  rs->hash = h;
  rs->revision = d.revision;
  rs->behaviour = d.behaviour;
  rs->cpu_request = d.cpu_request;
  const std::string key = key_of(rs->meta);
  rs_of_deployment_[d.meta.uid].push_back(key);
  auto& ref = *rs;
  replicasets_.emplace(key, std::move(rs));
  if (settle_age_ > 0) {
    ref.observed = 1;
    ref.replicas = ref.current = d.replicas;
    ref.ready = ref.available = d.behaviour == PodBehaviour::Normal ? d.replicas : 0;
  }
  commit(ref, EventType::Added);
  return key;
}

void Cluster::add_deployment(const WorkloadSpec& spec, SimTime age) {
  auto d = std::make_unique<DeploymentState>();
  d->meta = meta(spec.ns, spec.name, age);
  d->meta.generation = 1;
  d->meta.labels = {{"app.kubernetes.io/name", spec.name}};
  d->meta.annotations = {{"deployment.kubernetes.io/revision", "1"}};
  d->app = spec.name;
  d->image = spec.image;
  d->replicas = spec.replicas;
  d->behaviour = spec.behaviour;
  d->cpu_request = spec.cpu_request;
  d->rollout_started = d->meta.created;
  d->available_since = d->meta.created + 10 * kSecond;
  const std::string key = key_of(d->meta);
  auto& ref = *d;
  deployments_.emplace(key, std::move(d));
  if (spec.configmap) add_configmap(spec.ns, spec.name, age);
  settle_age_ = age;
  if (age > 0) {
    ref.total = ref.updated = ref.replicas;
    ref.ready = ref.available = spec.behaviour == PodBehaviour::Normal ? ref.replicas : 0;
    ref.progressing_done = true;
    ref.observed = 1;
  } else {
    ref.progressing_done = false;
  }
  commit(ref, EventType::Added);
  ref.new_rs = new_replicaset(ref, age);
  ReplicaSetState& rs = *replicasets_.at(ref.new_rs);
  if (age > 0) {
    for (int i = 0; i < ref.replicas; ++i) {
      create_pod(rs.meta, Kind::ReplicaSet, "", rs.app, rs.image, rs.behaviour, rs.cpu_request,
                 {{"pod-template-hash", rs.hash}});
    }
  } else {
    rs.replicas = 0;
  }
  settle_age_ = 0;
  if (spec.service) add_service(spec.ns, spec.name, age, false);
  mark_dirty(Kind::Deployment, key);
  mark_dirty(Kind::ReplicaSet, ref.new_rs);
}

void Cluster::reconcile_rs(const std::string& key) {
  auto it = replicasets_.find(key);
  if (it == replicasets_.end()) return;
  ReplicaSetState& rs = *it->second;
  std::vector<PodState*> active;
  int ready = 0;
  for (PodState* p : owned_pods(rs.meta.uid)) {
    if (p->meta.deleted || p->phase == "Succeeded" || p->phase == "Failed") continue;
    active.push_back(p);
    ready += p->ready ? 1 : 0;
  }
  const int have = static_cast<int>(active.size());
  if (have < rs.replicas) {
    for (int i = have; i < rs.replicas; ++i) {
      create_pod(rs.meta, Kind::ReplicaSet, "", rs.app, rs.image, rs.behaviour, rs.cpu_request,
                 {{"pod-template-hash", rs.hash}});
    }
  } else if (have > rs.replicas) {
    // Victims: unscheduled, then not ready, then the youngest — the controller's ranking.
    std::stable_sort(active.begin(), active.end(), [](const PodState* a, const PodState* b) {
      if (a->scheduled != b->scheduled) return !a->scheduled;
      if (a->ready != b->ready) return !a->ready;
      return a->meta.created > b->meta.created;
    });
    for (int i = 0; i < have - rs.replicas; ++i) {
      const std::string name = active[i]->meta.name;
      ready -= active[i]->ready ? 1 : 0;
      terminate_pod(key_of(active[i]->meta));
      record(Kind::ReplicaSet, rs.meta, "Normal", "SuccessfulDelete", "Deleted pod: " + name,
             "replicaset-controller");
    }
  }
  const int current = std::min(have, rs.replicas) + std::max(0, rs.replicas - have);
  if (rs.current != current || rs.ready != ready || rs.available != ready ||
      rs.meta.generation != rs.observed) {
    rs.current = current;
    rs.ready = rs.available = ready;
    rs.observed = rs.meta.generation;
    rs.meta.updated = now_;
    commit(rs, EventType::Modified);
  }
  if (rs.meta.owner) mark_dirty(Kind::Deployment, object_key(rs.meta.ns, rs.meta.owner->name));
}

void Cluster::scale_rs(ReplicaSetState& rs, int to, const DeploymentState& d) {
  if (rs.replicas == to) return;
  const int from = rs.replicas;
  rs.replicas = to;
  rs.meta.generation++;
  rs.meta.updated = now_;
  for (auto& [k, v] : rs.meta.annotations) {
    if (k == "deployment.kubernetes.io/desired-replicas") v = std::to_string(d.replicas);
    if (k == "deployment.kubernetes.io/revision") v = std::to_string(rs.revision);
  }
  commit(rs, EventType::Modified);
  record(Kind::Deployment, d.meta, "Normal", "ScalingReplicaSet",
         std::string(to > from ? "Scaled up" : "Scaled down") + " replica set " + rs.meta.name +
             " from " + std::to_string(from) + " to " + std::to_string(to),
         "deployment-controller");
  mark_dirty(Kind::ReplicaSet, key_of(rs.meta));
}

void Cluster::rollout_step(const std::string& dep_key) {
  auto it = deployments_.find(dep_key);
  if (it == deployments_.end()) return;
  DeploymentState& d = *it->second;
  auto nit = replicasets_.find(d.new_rs);
  if (nit == replicasets_.end()) return;
  ReplicaSetState& nrs = *nit->second;
  std::vector<ReplicaSetState*> olds;
  for (const auto& k : rs_of_deployment_[d.meta.uid]) {
    auto r = replicasets_.find(k);
    if (r != replicasets_.end() && k != d.new_rs) olds.push_back(r->second.get());
  }
  const int desired = d.replicas;
  const int surge = std::max(1, (desired + 3) / 4);
  const int max_unavailable = desired / 4;
  const int min_available = desired - max_unavailable;
  int old_total = 0, old_available = 0;
  for (auto* o : olds) {
    old_total += o->replicas;
    old_available += o->available;
  }
  // Scale up the new ReplicaSet within the surge.
  if (nrs.replicas < desired) {
    const int up = std::min(desired, desired + surge - old_total);
    if (up > nrs.replicas) scale_rs(nrs, up, d);
  } else if (nrs.replicas > desired && old_total == 0) {
    scale_rs(nrs, desired, d);
  }
  // Scale down old ReplicaSets: unhealthy pods first, then as far as availability allows.
  if (old_total > 0) {
    const int all = nrs.replicas + old_total;
    const int new_unavailable = nrs.replicas - nrs.available;
    int cleanup = std::max(0, all - min_available - new_unavailable);
    int healthy_removable = std::max(0, nrs.available + old_available - min_available);
    for (auto* o : olds) {
      if (o->replicas == 0) continue;
      const int unhealthy = std::min(o->replicas - o->available, cleanup);
      int to = o->replicas - std::max(0, unhealthy);
      cleanup -= std::max(0, unhealthy);
      const int healthy = std::min(to, healthy_removable);
      to -= healthy;
      healthy_removable -= healthy;
      if (to != o->replicas) scale_rs(*o, to, d);
    }
  }
  deployment_status(dep_key);
}

void Cluster::deployment_status(const std::string& dep_key) {
  DeploymentState& d = *deployments_.at(dep_key);
  int total = 0, ready = 0, old_total = 0;
  const ReplicaSetState* nrs = nullptr;
  for (const auto& k : rs_of_deployment_[d.meta.uid]) {
    auto r = replicasets_.find(k);
    if (r == replicasets_.end()) continue;
    total += r->second->current;
    ready += r->second->ready;
    if (k == d.new_rs) {
      nrs = r->second.get();
    } else {
      old_total += r->second->replicas;
    }
  }
  const int updated = nrs ? nrs->current : 0;
  const bool done =
      nrs && nrs->available == d.replicas && nrs->replicas == d.replicas && old_total == 0;
  const bool was_available = d.available >= d.replicas - (d.replicas + 3) / 4;
  if (d.total == total && d.ready == ready && d.available == ready && d.updated == updated &&
      d.progressing_done == (done || d.progressing_done) && d.observed == d.meta.generation) {
    return;
  }
  d.total = total;
  d.ready = d.available = ready;
  d.updated = updated;
  d.observed = d.meta.generation;
  if (done && !d.progressing_done) {
    d.progressing_done = true;
    d.deadline_exceeded = false;
  }
  const bool available = d.available >= d.replicas - (d.replicas + 3) / 4;
  if (available != was_available) d.available_since = now_;
  d.meta.updated = now_;
  commit(d, EventType::Modified);
}

bool Cluster::rollout(const std::string& ns, const std::string& name, const std::string& image,
                      PodBehaviour behaviour, bool rollback) {
  auto it = deployments_.find(object_key(ns, name));
  if (it == deployments_.end()) return false;
  DeploymentState& d = *it->second;
  d.previous_image = d.image;
  d.previous_behaviour = d.behaviour;
  d.image = image;
  d.behaviour = behaviour;
  d.rollback_on_failure = rollback;
  d.meta.generation++;
  d.revision++;
  for (auto& [k, v] : d.meta.annotations) {
    if (k == "deployment.kubernetes.io/revision") v = std::to_string(d.revision);
  }
  d.progressing_done = false;
  d.deadline_exceeded = false;
  d.rollout_started = now_;
  d.meta.updated = now_;
  commit(d, EventType::Modified);
  d.new_rs = new_replicaset(d, 0);
  prune_replicasets(d);
  const std::string key = key_of(d.meta);
  mark_dirty(Kind::Deployment, key);
  const int64_t generation = d.meta.generation;
  at(now_ + t_.progress_deadline, [this, key, generation] {
    auto it = deployments_.find(key);
    if (it == deployments_.end()) return;
    DeploymentState& d = *it->second;
    if (d.meta.generation != generation || d.progressing_done) return;
    d.deadline_exceeded = true;
    d.meta.updated = now_;
    commit(d, EventType::Modified);
    if (!d.rollback_on_failure) return;
    at(now_ + 2 * kSecond, [this, key] { rollback_deployment(key); });
  });
  return true;
}

void Cluster::rollback_deployment(const std::string& key) {
  auto it = deployments_.find(key);
  if (it == deployments_.end()) return;
  DeploymentState& d = *it->second;
  // The previous revision's ReplicaSet becomes current again, with a new revision number.
  ReplicaSetState* target = nullptr;
  for (const auto& k : rs_of_deployment_[d.meta.uid]) {
    auto r = replicasets_.find(k);
    if (r != replicasets_.end() && k != d.new_rs && r->second->image == d.previous_image) {
      target = r->second.get();
    }
  }
  if (target == nullptr) return;
  const int to_revision = target->revision;
  d.image = d.previous_image;
  d.behaviour = d.previous_behaviour;
  d.rollback_on_failure = false;
  d.meta.generation++;
  d.revision++;
  target->revision = d.revision;
  for (auto& [k, v] : d.meta.annotations) {
    if (k == "deployment.kubernetes.io/revision") v = std::to_string(d.revision);
  }
  d.new_rs = key_of(target->meta);
  d.progressing_done = false;
  d.deadline_exceeded = false;
  d.rollout_started = now_;
  d.meta.updated = now_;
  commit(d, EventType::Modified);
  record(
      Kind::Deployment, d.meta, "Normal", "DeploymentRollback",
      "Rolled back deployment \"" + d.meta.name + "\" to revision " + std::to_string(to_revision),
      "deployment-controller");
  // Its revision annotation changes even when its size does not.
  target->meta.updated = now_;
  for (auto& [k, v] : target->meta.annotations) {
    if (k == "deployment.kubernetes.io/revision") v = std::to_string(target->revision);
  }
  commit(*target, EventType::Modified);
  mark_dirty(Kind::Deployment, key);
}

// revisionHistoryLimit: 10 old ReplicaSets are kept; older empty ones are deleted.
void Cluster::prune_replicasets(DeploymentState& d) {
  auto& list = rs_of_deployment_[d.meta.uid];
  while (list.size() > 11) {
    auto victim = list.end();
    for (auto it = list.begin(); it != list.end(); ++it) {
      auto r = replicasets_.find(*it);
      if (*it != d.new_rs &&
          (r == replicasets_.end() ||
           (r->second->replicas == 0 && owned_pods(r->second->meta.uid).empty()))) {
        victim = it;
        break;
      }
    }
    if (victim == list.end()) return;
    const std::string key = *victim;
    list.erase(victim);
    auto r = replicasets_.find(key);
    if (r != replicasets_.end()) {
      owned_.erase(r->second->meta.uid);
      remove(replicasets_, key);
    }
  }
}

bool Cluster::scale(const std::string& ns, const std::string& name, int replicas) {
  auto it = deployments_.find(object_key(ns, name));
  if (it == deployments_.end() || replicas < 0) return false;
  DeploymentState& d = *it->second;
  if (d.replicas == replicas) return true;
  d.replicas = replicas;
  d.meta.generation++;
  d.meta.updated = now_;
  commit(d, EventType::Modified);
  mark_dirty(Kind::Deployment, key_of(d.meta));
  return true;
}

}  // namespace kubesim
