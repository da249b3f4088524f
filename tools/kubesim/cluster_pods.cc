// Pods: the scheduler, the kubelet's container lifecycle, graceful deletion, and bare pods.
#include <algorithm>
#include <cstdio>
#include <optional>

#include "cluster.h"
#include "cluster_internal.h"

namespace kubesim {
namespace {

std::string seconds_text(SimTime d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3fs", static_cast<double>(d) / kSecond);
  return buf;
}

}  // namespace

PodState* Cluster::pod(const std::string& key, const std::string& uid) {
  auto it = pods_.find(key);
  if (it == pods_.end() || it->second->meta.uid != uid) return nullptr;
  return it->second.get();
}

std::string Cluster::pick_node(const PodState& p) {
  if (p.behaviour == PodBehaviour::Unschedulable || node_list_.empty()) return "";
  auto usable = [&](const std::string& n) {
    const NodeState& s = *nodes_.at(n);
    return !s.unreachable && !s.cordoned && node_pods_[n] < s.pods_capacity;
  };
  // Two random choices, the less loaded wins; then a scan as the fallback.
  const std::string& a = node_list_[random(node_list_.size())];
  const std::string& b = node_list_[random(node_list_.size())];
  const bool ua = usable(a), ub = usable(b);
  if (ua && ub) return node_pods_[a] <= node_pods_[b] ? a : b;
  if (ua) return a;
  if (ub) return b;
  const size_t start = random(node_list_.size());
  for (size_t i = 0; i < node_list_.size(); ++i) {
    const std::string& n = node_list_[(start + i) % node_list_.size()];
    if (usable(n)) return n;
  }
  return "";
}

void Cluster::bind(PodState& p, const std::string& node) {
  p.node = node;
  p.scheduled = true;
  p.scheduled_at = now_;
  p.unschedulable_message.clear();
  const NodeState& n = *nodes_.at(node);
  p.host_ip = node_ip(n.index);
  const int slot = node_pods_[node]++ + (next_pod_ip_++ % 200);
  p.pod_ip = "10." + std::to_string(64 + n.index / 256) + "." + std::to_string(n.index % 256) +
             "." + std::to_string(2 + slot % 250);
  pods_on_node_[node].insert(key_of(p.meta));
}

std::string Cluster::create_pod(const ObjectMeta& owner, Kind owner_kind, const std::string& name,
                                const std::string& app, const std::string& image, PodBehaviour b,
                                const std::string& cpu, const Labels& extra_labels,
                                const std::string& pvc, const std::string& pinned_node) {
  auto p = std::make_unique<PodState>();
  std::string pod_name = name;
  if (pod_name.empty()) {
    do {
      pod_name = owner.name + "-" + hash(5);
    } while (pods_.count(object_key(owner.ns, pod_name)));
    p->meta.generate_name = owner.name + "-";
  }
  p->meta.ns = owner.ns;
  p->meta.name = pod_name;
  p->meta.uid = uid();
  p->meta.created = now_ - settle_age_;
  p->meta.updated = p->meta.created;
  p->meta.labels = {{"app.kubernetes.io/name", app}};
  for (const auto& l : extra_labels) p->meta.labels.push_back(l);
  if (owner_kind != Kind::Pod) p->meta.owner = OwnerRef{owner_kind, owner.name, owner.uid};
  p->app = app;
  p->container = app;
  p->image = image;
  p->behaviour = b;
  p->cpu_request = cpu;
  p->pvc = pvc;
  p->toleration_seconds = t_.toleration_seconds;
  p->backoff_seconds = 10;
  if (b == PodBehaviour::RunToCompletion) {
    p->run_for = static_cast<SimTime>(5 + random(20)) * kSecond;
  }
  const std::string key = key_of(p->meta);
  const std::string uid = p->meta.uid;
  PodState& ref = *p;
  pods_.emplace(key, std::move(p));
  by_app_[object_key(ref.meta.ns, app)].insert(key);
  if (owner_kind != Kind::Pod) owned_[owner.uid].insert(key);

  if (settle_age_ > 0) {
    // The pod has been running for a while: one ADDED with its steady state, no lifecycle.
    const std::string node = pinned_node.empty() ? pick_node(ref) : pinned_node;
    if (!node.empty()) {
      bind(ref, node);
      ref.scheduled_at = ref.meta.created + 15 * kMillisecond;
      ref.initialized = true;
      ref.started_at = ref.meta.created + kSecond;
      ref.container_id = hash(0) + uid.substr(0, 8) + std::string(56, 'a');
      ref.container_id = std::string(64, '0');
      for (size_t i = 0; i < 64; ++i) ref.container_id[i] = "0123456789abcdef"[random(16)];
      ref.meta.updated = ref.meta.created + 6 * kSecond;
      if (b == PodBehaviour::CrashLoop || b == PodBehaviour::OomLoop) {
        ref.phase = "Running";
        ref.restarts = 5 + static_cast<int>(random(40));
        ref.last_restart = now_ - static_cast<SimTime>(random(240)) * kSecond;
        ref.has_last_state = true;
        ref.last_reason = b == PodBehaviour::OomLoop ? "OOMKilled" : "Error";
        ref.last_exit = b == PodBehaviour::OomLoop ? 137 : 1;
        ref.last_started = ref.last_restart - t_.crash_after;
        ref.last_finished = ref.last_restart;
        ref.cphase = ContainerPhase::Waiting;
        ref.waiting_reason = "CrashLoopBackOff";
        ref.waiting_message = "back-off 5m0s restarting failed container=" + ref.container +
                              " pod=" + ref.meta.name + "_" + ref.meta.ns + "(" + uid + ")";
        ref.backoff_seconds = 300;
        ref.ready_changed = ref.last_finished;
        at(now_ + static_cast<SimTime>(random(60)) * kSecond,
           [this, key, uid] { pod_restart(key, uid); });
      } else {
        ref.phase = "Running";
        ref.cphase = ContainerPhase::Running;
        ref.running_since = ref.meta.created + 3 * kSecond;
        ref.ready = b == PodBehaviour::Normal;
        ref.ready_changed = ref.meta.created + 8 * kSecond;
      }
    }
    commit(ref, EventType::Added);
    return key;
  }

  commit(ref, EventType::Added);
  switch (owner_kind) {
    case Kind::ReplicaSet:
      record(owner_kind, owner, "Normal", "SuccessfulCreate", "Created pod: " + pod_name,
             "replicaset-controller");
      break;
    case Kind::StatefulSet:
      record(owner_kind, owner, "Normal", "SuccessfulCreate",
             "create Pod " + pod_name + " in StatefulSet " + owner.name + " successful",
             "statefulset-controller");
      break;
    case Kind::DaemonSet:
      record(owner_kind, owner, "Normal", "SuccessfulCreate", "Created pod: " + pod_name,
             "daemonset-controller");
      break;
    case Kind::Job:
      record(owner_kind, owner, "Normal", "SuccessfulCreate", "Created pod: " + pod_name,
             "job-controller");
      break;
    default:
      break;
  }
  if (!pinned_node.empty()) {
    at(now_ + t_.schedule_delay, [this, key, uid, pinned_node] {
      PodState* p = pod(key, uid);
      if (p == nullptr || p->meta.deleted) return;
      bind(*p, pinned_node);
      p->meta.updated = now_;
      commit(*p, EventType::Modified);
      record(Kind::Pod, p->meta, "Normal", "Scheduled",
             "Successfully assigned " + p->meta.ns + "/" + p->meta.name + " to " + pinned_node,
             "default-scheduler");
      at(now_ + t_.sandbox_delay, [this, key, uid] { pod_sandbox(key, uid); });
    });
  } else {
    at(now_ + t_.schedule_delay, [this, key, uid] { schedule_pod(key, uid); });
  }
  return key;
}

void Cluster::schedule_pod(const std::string& key, const std::string& uid) {
  PodState* p = pod(key, uid);
  if (p == nullptr || p->meta.deleted || p->scheduled) return;
  const std::string node = pick_node(*p);
  if (node.empty()) {
    const size_t n = nodes_.size();
    size_t unavailable = 0;
    for (const auto& [name, s] : nodes_) unavailable += (s->unreachable || s->cordoned) ? 1 : 0;
    std::string msg = "0/" + std::to_string(n) + " nodes are available: ";
    if (p->behaviour == PodBehaviour::Unschedulable) {
      msg += std::to_string(n - unavailable) + " Insufficient cpu";
      if (unavailable) msg += ", " + std::to_string(unavailable) + " node(s) were unschedulable";
      msg += ". preemption: 0/" + std::to_string(n) +
             " nodes are available: " + std::to_string(n - unavailable) +
             " No preemption victims found for incoming pod.";
    } else {
      msg += std::to_string(n) + " Too many pods. preemption: 0/" + std::to_string(n) +
             " nodes are available: " + std::to_string(n) +
             " No preemption victims found for incoming pod.";
    }
    if (p->unschedulable_message != msg) {
      p->unschedulable_message = msg;
      p->meta.updated = now_;
      commit(*p, EventType::Modified);
    }
    record(Kind::Pod, p->meta, "Warning", "FailedScheduling", msg, "default-scheduler");
    at(now_ + t_.unschedulable_retry, [this, key, uid] { schedule_pod(key, uid); });
    return;
  }
  bind(*p, node);
  p->meta.updated = now_;
  commit(*p, EventType::Modified);
  record(Kind::Pod, p->meta, "Normal", "Scheduled",
         "Successfully assigned " + p->meta.ns + "/" + p->meta.name + " to " + node,
         "default-scheduler");
  at(now_ + t_.sandbox_delay, [this, key, uid] { pod_sandbox(key, uid); });
}

void Cluster::pod_sandbox(const std::string& key, const std::string& uid) {
  PodState* p = pod(key, uid);
  if (p == nullptr || p->meta.deleted) return;
  p->initialized = true;
  p->started_at = now_;
  p->cphase = ContainerPhase::Waiting;
  p->waiting_reason = "ContainerCreating";
  p->meta.updated = now_;
  commit(*p, EventType::Modified);
  const std::string field = "spec.containers{" + p->container + "}";
  record(Kind::Pod, p->meta, "Normal", "Pulling", "Pulling image \"" + p->image + "\"", "kubelet",
         p->node, field);
  if (p->behaviour == PodBehaviour::BadImage) {
    at(now_ + kSecond + static_cast<SimTime>(random(kSecond)),
       [this, key, uid] { pod_pull_failed(key, uid); });
    return;
  }
  const SimTime pull =
      t_.pull_min + static_cast<SimTime>(random(static_cast<uint64_t>(t_.pull_max - t_.pull_min)));
  at(now_ + pull, [this, key, uid, pull] {
    PodState* p = pod(key, uid);
    if (p == nullptr || p->meta.deleted) return;
    record(Kind::Pod, p->meta, "Normal", "Pulled",
           "Successfully pulled image \"" + p->image + "\" in " + seconds_text(pull) + " (" +
               seconds_text(pull) + " including waiting). Image size: 48213377 bytes.",
           "kubelet", p->node, "spec.containers{" + p->container + "}");
    at(now_ + t_.start_delay, [this, key, uid] { pod_start(key, uid); });
  });
}

void Cluster::pod_pull_failed(const std::string& key, const std::string& uid) {
  PodState* p = pod(key, uid);
  if (p == nullptr || p->meta.deleted) return;
  const std::string field = "spec.containers{" + p->container + "}";
  const std::string why = "rpc error: code = NotFound desc = failed to pull and unpack image \"" +
                          p->image + "\": failed to resolve reference \"" + p->image +
                          "\": not found";
  p->waiting_reason = "ErrImagePull";
  p->waiting_message = why;
  p->meta.updated = now_;
  commit(*p, EventType::Modified);
  record(Kind::Pod, p->meta, "Warning", "Failed",
         "Failed to pull image \"" + p->image + "\": " + why, "kubelet", p->node, field);
  record(Kind::Pod, p->meta, "Warning", "Failed", "Error: ErrImagePull", "kubelet", p->node, field);
  at(now_ + kSecond, [this, key, uid] {
    PodState* p = pod(key, uid);
    if (p == nullptr || p->meta.deleted) return;
    const std::string field = "spec.containers{" + p->container + "}";
    p->waiting_reason = "ImagePullBackOff";
    p->waiting_message = "Back-off pulling image \"" + p->image + "\"";
    p->meta.updated = now_;
    commit(*p, EventType::Modified);
    record(Kind::Pod, p->meta, "Normal", "BackOff", "Back-off pulling image \"" + p->image + "\"",
           "kubelet", p->node, field);
    record(Kind::Pod, p->meta, "Warning", "Failed", "Error: ImagePullBackOff", "kubelet", p->node,
           field);
    const SimTime backoff = static_cast<SimTime>(p->backoff_seconds) * kSecond;
    p->backoff_seconds = std::min(p->backoff_seconds * 2, 300);
    at(now_ + backoff, [this, key, uid] {
      PodState* p = pod(key, uid);
      if (p == nullptr || p->meta.deleted) return;
      record(Kind::Pod, p->meta, "Normal", "Pulling", "Pulling image \"" + p->image + "\"",
             "kubelet", p->node, "spec.containers{" + p->container + "}");
      at(now_ + kSecond, [this, key, uid] { pod_pull_failed(key, uid); });
    });
  });
}

void Cluster::pod_start(const std::string& key, const std::string& uid) {
  PodState* p = pod(key, uid);
  if (p == nullptr || p->meta.deleted) return;
  const std::string field = "spec.containers{" + p->container + "}";
  record(Kind::Pod, p->meta, "Normal", "Created", "Created container: " + p->container, "kubelet",
         p->node, field);
  record(Kind::Pod, p->meta, "Normal", "Started", "Started container " + p->container, "kubelet",
         p->node, field);
  p->phase = "Running";
  p->cphase = ContainerPhase::Running;
  p->waiting_reason.clear();
  p->waiting_message.clear();
  p->running_since = now_;
  p->container_id.assign(64, '0');
  for (auto& c : p->container_id) c = "0123456789abcdef"[random(16)];
  p->meta.updated = now_;
  const uint64_t epoch = ++p->epoch;
  commit(*p, EventType::Modified);
  switch (p->behaviour) {
    case PodBehaviour::CrashLoop:
    case PodBehaviour::OomLoop:
      at(now_ + t_.crash_after, [this, key, uid, epoch] { pod_crash(key, uid, epoch); });
      break;
    case PodBehaviour::RunToCompletion:
      at(now_ + p->run_for, [this, key, uid, epoch] { pod_complete(key, uid, epoch); });
      break;
    default:
      at(now_ + t_.readiness_delay, [this, key, uid, epoch] { pod_ready(key, uid, epoch); });
  }
}

void Cluster::pod_ready(const std::string& key, const std::string& uid, uint64_t epoch) {
  PodState* p = pod(key, uid);
  if (p == nullptr || p->meta.deleted || p->epoch != epoch || p->ready) return;
  if (p->cphase != ContainerPhase::Running) return;
  auto n = nodes_.find(p->node);
  if (n != nodes_.end() && n->second->unreachable) return;
  p->ready = true;
  p->ready_changed = now_;
  p->meta.updated = now_;
  commit(*p, EventType::Modified);
  pod_changed(*p);
}

void Cluster::pod_crash(const std::string& key, const std::string& uid, uint64_t epoch) {
  PodState* p = pod(key, uid);
  if (p == nullptr || p->meta.deleted || p->epoch != epoch) return;
  const bool oom = p->behaviour == PodBehaviour::OomLoop;
  p->cphase = ContainerPhase::Terminated;
  p->exit_code = oom ? 137 : 1;
  p->terminated_reason = oom ? "OOMKilled" : "Error";
  p->terminated_at = now_;
  if (p->ready) {
    p->ready = false;
    p->ready_changed = now_;
  }
  p->meta.updated = now_;
  commit(*p, EventType::Modified);
  pod_changed(*p);
  if (oom) {
    auto n = nodes_.find(p->node);
    if (n != nodes_.end()) {
      record(Kind::Node, n->second->meta, "Warning", "OOMKilling",
             "Memory cgroup out of memory: Killed process " + std::to_string(1000 + random(30000)) +
                 " (" + p->container +
                 ") total-vm:1482356kB, anon-rss:262144kB, file-rss:0kB, "
                 "shmem-rss:0kB, UID:0 pgtables:784kB oom_score_adj:999",
             "kernel-monitor", p->node);
    }
  }
  at(now_ + 500 * kMillisecond, [this, key, uid, epoch] {
    PodState* p = pod(key, uid);
    if (p == nullptr || p->meta.deleted || p->epoch != epoch) return;
    p->has_last_state = true;
    p->last_reason = p->terminated_reason;
    p->last_exit = p->exit_code;
    p->last_started = p->running_since;
    p->last_finished = p->terminated_at;
    p->restarts++;
    p->last_restart = now_;
    p->cphase = ContainerPhase::Waiting;
    p->waiting_reason = "CrashLoopBackOff";
    const int b = p->backoff_seconds;
    const std::string back = b >= 60 ? std::to_string(b / 60) + "m" + std::to_string(b % 60) + "s"
                                     : std::to_string(b) + "s";
    p->waiting_message = "back-off " + back + " restarting failed container=" + p->container +
                         " pod=" + p->meta.name + "_" + p->meta.ns + "(" + p->meta.uid + ")";
    p->meta.updated = now_;
    commit(*p, EventType::Modified);
    record(Kind::Pod, p->meta, "Warning", "BackOff",
           "Back-off restarting failed container " + p->container + " in pod " + p->meta.name +
               "_" + p->meta.ns + "(" + p->meta.uid + ")",
           "kubelet", p->node, "spec.containers{" + p->container + "}");
    const SimTime wait = static_cast<SimTime>(b) * kSecond;
    p->backoff_seconds = std::min(b * 2, 300);
    at(now_ + wait, [this, key, uid] { pod_restart(key, uid); });
  });
}

void Cluster::pod_restart(const std::string& key, const std::string& uid) {
  PodState* p = pod(key, uid);
  if (p == nullptr || p->meta.deleted) return;
  record(Kind::Pod, p->meta, "Normal", "Pulled",
         "Container image \"" + p->image + "\" already present on machine", "kubelet", p->node,
         "spec.containers{" + p->container + "}");
  at(now_ + t_.start_delay, [this, key, uid] { pod_start(key, uid); });
}

void Cluster::pod_complete(const std::string& key, const std::string& uid, uint64_t epoch) {
  PodState* p = pod(key, uid);
  if (p == nullptr || p->meta.deleted || p->epoch != epoch) return;
  p->cphase = ContainerPhase::Terminated;
  p->exit_code = 0;
  p->terminated_reason = "Completed";
  p->terminated_at = now_;
  p->phase = "Succeeded";
  p->ready = false;
  p->ready_changed = now_;
  p->meta.updated = now_;
  commit(*p, EventType::Modified);
  pod_changed(*p);
}

void Cluster::terminate_pod(const std::string& key) {
  auto it = pods_.find(key);
  if (it == pods_.end() || it->second->meta.deleted) return;
  PodState& p = *it->second;
  const std::string uid = p.meta.uid;
  p.meta.deleted = now_ + 30 * kSecond;
  p.meta.updated = now_;
  commit(p, EventType::Modified);
  pod_changed(p);
  const bool running = p.cphase == ContainerPhase::Running;
  if (p.scheduled && p.phase != "Succeeded" && p.phase != "Failed") {
    record(Kind::Pod, p.meta, "Normal", "Killing", "Stopping container " + p.container, "kubelet",
           p.node, "spec.containers{" + p.container + "}");
  }
  auto n = nodes_.find(p.node);
  if (n != nodes_.end() && n->second->unreachable) return;  // stays Terminating until it returns
  const SimTime delay = running ? t_.termination : 100 * kMillisecond;
  at(now_ + delay, [this, key, uid] { finish_termination(key, uid); });
}

void Cluster::finish_termination(const std::string& key, const std::string& uid) {
  PodState* p = pod(key, uid);
  if (p == nullptr) return;
  if (p->cphase == ContainerPhase::Running) {
    p->cphase = ContainerPhase::Terminated;
    p->exit_code = 0;
    p->terminated_reason = "Completed";
    p->terminated_at = now_;
    p->ready = false;
    p->ready_changed = now_;
    p->meta.updated = now_;
    commit(*p, EventType::Modified);
  }
  at(now_ + 50 * kMillisecond, [this, key, uid] {
    PodState* p = pod(key, uid);
    if (p == nullptr) return;
    if (!p->node.empty()) {
      node_pods_[p->node]--;
      pods_on_node_[p->node].erase(key);
    }
    by_app_[object_key(p->meta.ns, p->app)].erase(key);
    const std::string ns = p->meta.ns, app = p->app;
    std::optional<OwnerRef> owner = p->meta.owner;
    if (owner) owned_[owner->uid].erase(key);
    remove(pods_, key);
    if (owner) mark_owner_dirty(*owner, ns);
    mark_dirty(Kind::Endpoints, object_key(ns, app));
  });
}

bool Cluster::delete_pod(const std::string& ns, const std::string& name) {
  const std::string key = object_key(ns, name);
  if (!pods_.count(key)) return false;
  terminate_pod(key);
  return true;
}

bool Cluster::delete_random_pod(const std::string& ns) {
  std::vector<std::string> candidates;
  for (auto it = pods_.lower_bound(ns + "/"); it != pods_.end(); ++it) {
    if (it->second->meta.ns != ns) break;
    const PodState& p = *it->second;
    if (p.ready && !p.meta.deleted && p.meta.owner && p.meta.owner->kind == Kind::ReplicaSet) {
      candidates.push_back(it->first);
    }
  }
  if (candidates.empty()) return false;
  terminate_pod(candidates[random(candidates.size())]);
  return true;
}

void Cluster::pod_changed(const PodState& p) {
  if (p.meta.owner) mark_owner_dirty(*p.meta.owner, p.meta.ns);
  mark_dirty(Kind::Endpoints, object_key(p.meta.ns, p.app));
}

std::vector<PodState*> Cluster::owned_pods(const std::string& owner_uid) {
  std::vector<PodState*> v;
  auto it = owned_.find(owner_uid);
  if (it == owned_.end()) return v;
  for (const auto& key : it->second) {
    auto p = pods_.find(key);
    if (p != pods_.end()) v.push_back(p->second.get());
  }
  return v;
}

void Cluster::add_bare_pod(const std::string& ns, const std::string& name, const std::string& image,
                           PodBehaviour behaviour, SimTime age) {
  ObjectMeta owner;
  owner.ns = ns;
  owner.name = name;
  settle_age_ = age;
  create_pod(owner, Kind::Pod, name, name, image, behaviour, "100m", {{"run", name}});
  settle_age_ = 0;
}

}  // namespace kubesim
