// The StatefulSet controller: ordered pods with their own claims.
#include "cluster.h"
#include "cluster_internal.h"

namespace kubesim {

void Cluster::add_statefulset(const WorkloadSpec& spec, SimTime age) {
  auto s = std::make_unique<StatefulSetState>();
  s->meta = meta(spec.ns, spec.name, age);
  s->meta.generation = 1;
  s->meta.labels = {{"app.kubernetes.io/name", spec.name}};
  s->app = spec.name;
  s->image = spec.image;
  s->replicas = spec.replicas;
  s->service = spec.name;
  s->revision = spec.name + "-" + hash(10);
  const std::string key = key_of(s->meta);
  auto& ref = *s;
  statefulsets_.emplace(key, std::move(s));
  add_service(spec.ns, spec.name, age, true);
  if (spec.configmap) add_configmap(spec.ns, spec.name, age);
  if (age > 0) {
    ref.current = ref.ready = ref.replicas;
    ref.observed = 1;
  }
  commit(ref, EventType::Added);
  if (age > 0) {
    settle_age_ = age;
    for (int i = 0; i < ref.replicas; ++i) sts_create_pod(ref, i);
    settle_age_ = 0;
  }
  mark_dirty(Kind::StatefulSet, key);
}

void Cluster::sts_create_pod(StatefulSetState& s, int ordinal) {
  const std::string pod_name = s.meta.name + "-" + std::to_string(ordinal);
  const std::string claim = "data-" + pod_name;
  const std::string claim_key = object_key(s.meta.ns, claim);
  if (!pvcs_.count(claim_key)) {
    auto c = std::make_unique<PersistentVolumeClaimState>();
    c->meta = meta(s.meta.ns, claim, settle_age_);
    c->meta.labels = {{"app.kubernetes.io/name", s.app}};
    c->meta.annotations = {{"pv.kubernetes.io/bind-completed", "yes"},
                           {"volume.kubernetes.io/storage-provisioner", "ebs.csi.aws.com"}};
    c->volume = "pvc-" + c->meta.uid;
    auto v = std::make_unique<PersistentVolumeState>();
    v->meta = meta("", c->volume, settle_age_);
    v->meta.annotations = {{"pv.kubernetes.io/provisioned-by", "ebs.csi.aws.com"}};
    v->claim_ns = s.meta.ns;
    v->claim_name = claim;
    v->claim_uid = c->meta.uid;
    auto& cref = *c;
    auto& vref = *v;
    pvcs_.emplace(claim_key, std::move(c));
    pvs_.emplace(vref.meta.name, std::move(v));
    commit(cref, EventType::Added);
    commit(vref, EventType::Added);
    if (settle_age_ == 0) {
      record(Kind::PersistentVolumeClaim, cref.meta, "Normal", "ProvisioningSucceeded",
             "Successfully provisioned volume " + cref.volume, "ebs.csi.aws.com");
    }
  }
  create_pod(s.meta, Kind::StatefulSet, pod_name, s.app, s.image, PodBehaviour::Normal, "100m",
             {{"apps.kubernetes.io/pod-index", std::to_string(ordinal)},
              {"controller-revision-hash", s.revision},
              {"statefulset.kubernetes.io/pod-name", pod_name}},
             claim);
}

void Cluster::reconcile_sts(const std::string& key) {
  auto it = statefulsets_.find(key);
  if (it == statefulsets_.end()) return;
  StatefulSetState& s = *it->second;
  std::vector<PodState*> by_ordinal(static_cast<size_t>(s.replicas), nullptr);
  int current = 0, ready = 0;
  bool any_terminating = false;
  for (PodState* p : owned_pods(s.meta.uid)) {
    const int ord = std::stoi(p->meta.name.substr(p->meta.name.rfind('-') + 1));
    if (p->meta.deleted) {
      any_terminating = true;
      continue;
    }
    if (ord < s.replicas) by_ordinal[static_cast<size_t>(ord)] = p;
    ++current;
    ready += p->ready ? 1 : 0;
  }
  // OrderedReady: create the lowest missing ordinal once every lower one is Ready.
  if (!any_terminating) {
    for (int i = 0; i < s.replicas; ++i) {
      PodState* p = by_ordinal[static_cast<size_t>(i)];
      if (p == nullptr) {
        sts_create_pod(s, i);
        break;
      }
      if (!p->ready) break;
    }
    // Rolling restart: once all are Ready, replace the highest pod still on an old revision.
    if (ready == s.replicas) {
      for (int i = s.replicas - 1; i >= 0; --i) {
        PodState* p = by_ordinal[static_cast<size_t>(i)];
        bool old = false;
        for (const auto& [k, v] : p->meta.labels) {
          if (k == "controller-revision-hash" && v != s.revision) old = true;
        }
        if (old) {
          terminate_pod(key_of(p->meta));
          record(Kind::StatefulSet, s.meta, "Normal", "SuccessfulDelete",
                 "delete Pod " + p->meta.name + " in StatefulSet " + s.meta.name + " successful",
                 "statefulset-controller");
          break;
        }
      }
    }
  }
  if (s.current != current || s.ready != ready || s.observed != s.meta.generation) {
    s.current = current;
    s.ready = ready;
    s.observed = s.meta.generation;
    s.meta.updated = now_;
    commit(s, EventType::Modified);
  }
}

bool Cluster::restart_statefulset(const std::string& ns, const std::string& name) {
  auto it = statefulsets_.find(object_key(ns, name));
  if (it == statefulsets_.end()) return false;
  StatefulSetState& s = *it->second;
  s.revision = s.meta.name + "-" + hash(10);
  s.meta.generation++;
  s.meta.updated = now_;
  commit(s, EventType::Modified);
  mark_dirty(Kind::StatefulSet, key_of(s.meta));
  return true;
}

}  // namespace kubesim
