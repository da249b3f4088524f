#include "cluster.h"

#include <algorithm>
#include <climits>
#include <cstdio>
#include <set>

namespace kubesim {
namespace {

constexpr std::string_view kNameAlphabet = "bcdfghjklmnpqrstvwxz2456789";

std::string key_of(const ObjectMeta& m) { return object_key(m.ns, m.name); }

std::string seconds_text(SimTime d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3fs", static_cast<double>(d) / kSecond);
  return buf;
}

}  // namespace

Cluster::Cluster(uint64_t seed, SimTime start, EventSink* sink)
    : sink_(sink), rng_(seed), now_(start) {}

// ---------------------------------------------------------------------------------------------
// The action queue

void Cluster::at(SimTime t, std::function<void()> fn) {
  queue_.push(Action{std::max(t, now_), seq_++, std::move(fn)});
}

void Cluster::every(SimTime first, SimTime period, SimTime jitter, std::function<void()> fn) {
  auto shared = std::make_shared<std::function<void()>>(std::move(fn));
  auto tick = std::make_shared<std::function<void()>>();
  *tick = [this, shared, period, jitter, weak = std::weak_ptr(tick)] {
    (*shared)();
    const SimTime j = jitter > 0 ? static_cast<SimTime>(random(static_cast<uint64_t>(jitter))) : 0;
    if (auto self = weak.lock()) after(period + j, [self] { (*self)(); });
  };
  // The queue entry keeps the tick alive; the tick only refers to itself weakly.
  after(first, [tick] { (*tick)(); });
}

SimTime Cluster::next_action_time() const { return queue_.empty() ? INT64_MAX : queue_.top().t; }

void Cluster::advance_to(SimTime t) {
  while (!queue_.empty() && queue_.top().t <= t) {
    Action a = std::move(const_cast<Action&>(queue_.top()));
    queue_.pop();
    now_ = std::max(now_, a.t);
    a.fn();
  }
  now_ = std::max(now_, t);
}

uint64_t Cluster::random(uint64_t n) { return n == 0 ? 0 : rng_() % n; }
double Cluster::random_real() { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }

std::string Cluster::uid() {
  static constexpr char kHex[] = "0123456789abcdef";
  const uint64_t a = rng_(), b = rng_();
  std::string s;
  s.reserve(36);
  for (int i = 0; i < 32; ++i) {
    if (i == 8 || i == 12 || i == 16 || i == 20) s += '-';
    const uint64_t w = i < 16 ? a : b;
    int nib = static_cast<int>((w >> ((i % 16) * 4)) & 15);
    if (i == 12) nib = 4;
    if (i == 16) nib = 8 | (nib & 3);
    s += kHex[nib];
  }
  return s;
}

std::string Cluster::hash(size_t len) {
  std::string s;
  for (size_t i = 0; i < len; ++i) s += kNameAlphabet[random(kNameAlphabet.size())];
  return s;
}

ObjectMeta Cluster::meta(const std::string& ns, const std::string& name, SimTime age) {
  ObjectMeta m;
  m.ns = ns;
  m.name = name;
  m.uid = uid();
  m.created = now_ - age;
  m.updated = m.created;
  return m;
}

template <class T>
void Cluster::commit(T& s, EventType type) {
  s.meta.rv = ++rv_;
  ++emitted_;
  if (sink_ == nullptr) return;
  auto v = std::make_shared<const ObjectVersion>(render(s));
  sink_->on_event(WatchEvent{type, rv_, now_, std::move(v)});
}

template <class T>
void Cluster::remove(Collection<T>& c, const std::string& key) {
  auto it = c.find(key);
  if (it == c.end()) return;
  commit(*it->second, EventType::Deleted);
  c.erase(it);
}

// ---------------------------------------------------------------------------------------------
// Listing

namespace {
template <class T>
void each(const std::map<std::string, std::unique_ptr<T>>& c,
          const std::function<void(const ObjectVersion&)>& fn) {
  for (const auto& [k, s] : c) fn(render(*s));
}
}  // namespace

void Cluster::for_each(Kind k, const std::function<void(const ObjectVersion&)>& fn) const {
  switch (k) {
    case Kind::Namespace:
      return each(namespaces_, fn);
    case Kind::Node:
      return each(nodes_, fn);
    case Kind::Pod:
      return each(pods_, fn);
    case Kind::Service:
      return each(services_, fn);
    case Kind::Endpoints:
      return each(endpoints_, fn);
    case Kind::ConfigMap:
      return each(configmaps_, fn);
    case Kind::Event:
      return each(events_, fn);
    case Kind::PersistentVolume:
      return each(pvs_, fn);
    case Kind::PersistentVolumeClaim:
      return each(pvcs_, fn);
    case Kind::Deployment:
      return each(deployments_, fn);
    case Kind::ReplicaSet:
      return each(replicasets_, fn);
    case Kind::StatefulSet:
      return each(statefulsets_, fn);
    case Kind::DaemonSet:
      return each(daemonsets_, fn);
    case Kind::Job:
      return each(jobs_, fn);
    case Kind::CronJob:
      return each(cronjobs_, fn);
    case Kind::HorizontalPodAutoscaler:
      return each(hpas_, fn);
    case Kind::Lease:
      return each(leases_, fn);
    case Kind::CustomResourceDefinition:
      return each(crds_, fn);
    case Kind::Widget:
      return each(widgets_, fn);
  }
}

size_t Cluster::count(Kind k) const {
  switch (k) {
    case Kind::Namespace:
      return namespaces_.size();
    case Kind::Node:
      return nodes_.size();
    case Kind::Pod:
      return pods_.size();
    case Kind::Service:
      return services_.size();
    case Kind::Endpoints:
      return endpoints_.size();
    case Kind::ConfigMap:
      return configmaps_.size();
    case Kind::Event:
      return events_.size();
    case Kind::PersistentVolume:
      return pvs_.size();
    case Kind::PersistentVolumeClaim:
      return pvcs_.size();
    case Kind::Deployment:
      return deployments_.size();
    case Kind::ReplicaSet:
      return replicasets_.size();
    case Kind::StatefulSet:
      return statefulsets_.size();
    case Kind::DaemonSet:
      return daemonsets_.size();
    case Kind::Job:
      return jobs_.size();
    case Kind::CronJob:
      return cronjobs_.size();
    case Kind::HorizontalPodAutoscaler:
      return hpas_.size();
    case Kind::Lease:
      return leases_.size();
    case Kind::CustomResourceDefinition:
      return crds_.size();
    case Kind::Widget:
      return widgets_.size();
  }
  return 0;
}

std::vector<std::string> Cluster::deployment_keys() const {
  std::vector<std::string> v;
  for (const auto& [k, d] : deployments_) v.push_back(k);
  return v;
}
std::vector<std::string> Cluster::node_names() const { return node_list_; }
std::vector<std::string> Cluster::namespace_names() const {
  std::vector<std::string> v;
  for (const auto& [k, n] : namespaces_) v.push_back(k);
  return v;
}

// ---------------------------------------------------------------------------------------------
// Events (core/v1), aggregated as the client-side EventCorrelator does, expiring after the TTL

void Cluster::record(Kind kind, const ObjectMeta& involved, std::string_view type,
                     std::string_view reason, const std::string& message,
                     std::string_view component, const std::string& host,
                     const std::string& field_path) {
  ++reasons_[std::string(reason)];
  std::string index_key = involved.uid;
  index_key += '\x1f';
  index_key += reason;
  index_key += '\x1f';
  index_key += message;
  if (auto it = event_index_.find(index_key); it != event_index_.end()) {
    if (auto e = events_.find(it->second); e != events_.end()) {
      e->second->count++;
      e->second->last = now_;
      e->second->meta.updated = now_;
      e->second->involved_rv = involved.rv;
      commit(*e->second, EventType::Modified);
      return;
    }
  }
  const std::string ns = involved.ns.empty() ? "default" : involved.ns;
  char suffix[24];
  std::snprintf(suffix, sizeof suffix, ".%llx",
                static_cast<unsigned long long>(now_ + static_cast<SimTime>(random(1000))));
  auto e = std::make_unique<EventState>();
  e->meta = meta(ns, involved.name + suffix, 0);
  e->involved_kind = kind;
  e->involved_ns = involved.ns;
  e->involved_name = involved.name;
  e->involved_uid = involved.uid;
  e->involved_rv = involved.rv;
  e->field_path = field_path;
  e->reason = reason;
  e->message = message;
  e->type = type;
  e->component = component;
  e->host = host;
  e->first = e->last = now_;
  const std::string key = key_of(e->meta);
  if (events_.count(key)) return;  // same name in the same nanosecond: drop, as a real recorder
  auto& ref = *e;
  events_.emplace(key, std::move(e));
  event_index_[index_key] = key;
  commit(ref, EventType::Added);
  at(now_ + t_.event_ttl, [this, key] { expire_event(key); });
}

void Cluster::expire_event(const std::string& key) {
  auto it = events_.find(key);
  if (it == events_.end()) return;
  const SimTime due = it->second->last + t_.event_ttl;
  if (due > now_) {
    at(due, [this, key] { expire_event(key); });
    return;
  }
  const EventState& e = *it->second;
  event_index_.erase(e.involved_uid + '\x1f' + e.reason + '\x1f' + e.message);
  remove(events_, key);
}

// ---------------------------------------------------------------------------------------------
// Namespaces and nodes

void Cluster::add_namespace(const std::string& name, SimTime age) {
  if (namespaces_.count(name)) return;
  auto n = std::make_unique<NamespaceState>();
  n->meta = meta("", name, age);
  n->meta.labels = {{"kubernetes.io/metadata.name", name}};
  auto& ref = *n;
  namespaces_.emplace(name, std::move(n));
  commit(ref, EventType::Added);
}

void Cluster::add_node(SimTime age) {
  const int index = next_node_++;
  const std::string ip = node_ip(index);
  std::string name = "ip-" + ip + ".ec2.internal";
  std::replace(name.begin(), name.end(), '.', '-');
  name = name.substr(0, name.size() - std::string_view("-ec2-internal").size()) + ".ec2.internal";
  auto n = std::make_unique<NodeState>();
  n->meta = meta("", name, age);
  n->index = index;
  static constexpr const char* kZones[] = {"us-east-1a", "us-east-1b", "us-east-1c"};
  n->zone = kZones[index % 3];
  n->instance_type = "m6i.2xlarge";
  n->heartbeat = now_;
  n->ready_since = age > 0 ? n->meta.created + 22 * kSecond : now_;
  n->meta.labels = {{"beta.kubernetes.io/arch", "amd64"},
                    {"beta.kubernetes.io/instance-type", n->instance_type},
                    {"beta.kubernetes.io/os", "linux"},
                    {"kubernetes.io/arch", "amd64"},
                    {"kubernetes.io/hostname", name},
                    {"kubernetes.io/os", "linux"},
                    {"node.kubernetes.io/instance-type", n->instance_type},
                    {"topology.kubernetes.io/region", "us-east-1"},
                    {"topology.kubernetes.io/zone", n->zone},
                    {"nodepool", "general"}};
  n->meta.annotations = {{"node.alpha.kubernetes.io/ttl", "0"},
                         {"volumes.kubernetes.io/controller-managed-attach-detach", "true"}};
  auto& ref = *n;
  nodes_.emplace(name, std::move(n));
  node_list_.push_back(name);
  node_pods_[name] = 0;
  commit(ref, EventType::Added);
  if (age == 0) {
    record(Kind::Node, ref.meta, "Normal", "Starting", "Starting kubelet.", "kubelet", name);
    record(Kind::Node, ref.meta, "Normal", "NodeReady",
           "Node " + name + " status is now: NodeReady", "kubelet", name);
    record(Kind::Node, ref.meta, "Normal", "RegisteredNode",
           "Node " + name + " event: Registered Node " + name + " in Controller",
           "node-controller");
  }
  // Lease first, then heartbeats, each with its own phase so nodes do not beat in lockstep.
  if (t_.lease_renew > 0) {
    auto l = std::make_unique<LeaseState>();
    l->meta = meta("kube-node-lease", name, age);
    l->meta.owner = OwnerRef{Kind::Node, name, ref.meta.uid};
    l->holder = name;
    l->renew = now_;
    auto& lref = *l;
    leases_.emplace(key_of(l->meta), std::move(l));
    commit(lref, EventType::Added);
    every(static_cast<SimTime>(random(static_cast<uint64_t>(t_.lease_renew))), t_.lease_renew,
          t_.lease_renew / 10, [this, name] { node_lease(name); });
  }
  every(static_cast<SimTime>(random(static_cast<uint64_t>(t_.heartbeat))), t_.heartbeat,
        t_.heartbeat / 10, [this, name] { node_heartbeat(name); });
  // DaemonSets follow new nodes.
  for (const auto& [k, ds] : daemonsets_) mark_dirty(Kind::DaemonSet, k);
}

void Cluster::node_heartbeat(const std::string& name) {
  auto it = nodes_.find(name);
  if (it == nodes_.end() || !it->second->heartbeating) return;
  it->second->heartbeat = now_;
  it->second->meta.updated = now_;
  commit(*it->second, EventType::Modified);
}

void Cluster::node_lease(const std::string& name) {
  auto n = nodes_.find(name);
  if (n == nodes_.end() || !n->second->heartbeating) return;
  auto it = leases_.find(object_key("kube-node-lease", name));
  if (it == leases_.end()) return;
  it->second->renew = now_;
  commit(*it->second, EventType::Modified);
}

void Cluster::add_leader_leases() {
  for (const char* name : {"kube-controller-manager", "kube-scheduler"}) {
    auto l = std::make_unique<LeaseState>();
    l->meta = meta("kube-system", name, 30 * 24 * kHour);
    l->holder = std::string("ip-10-0-0-12_") + uid();
    l->duration_seconds = 15;
    l->acquire = now_ - kHour;
    l->renew = now_;
    l->transitions = 3;
    const std::string key = key_of(l->meta);
    auto& ref = *l;
    leases_.emplace(key, std::move(l));
    commit(ref, EventType::Added);
    every(2 * kSecond, 2 * kSecond, 200 * kMillisecond, [this, key] {
      auto it = leases_.find(key);
      if (it == leases_.end()) return;
      it->second->renew = now_;
      commit(*it->second, EventType::Modified);
    });
  }
}

void Cluster::fail_node(const std::string& name, SimTime recover_after) {
  auto it = nodes_.find(name);
  if (it == nodes_.end()) return;
  it->second->heartbeating = false;
  at(now_ + t_.node_grace, [this, name] { node_monitor(name); });
  if (recover_after > 0) {
    at(now_ + recover_after, [this, name] {
      auto it = nodes_.find(name);
      if (it == nodes_.end()) return;
      NodeState& n = *it->second;
      n.heartbeating = true;
      n.heartbeat = now_;
      if (n.unreachable) {
        n.unreachable = false;
        n.ready_since = now_;
        commit(n, EventType::Modified);
        record(Kind::Node, n.meta, "Normal", "NodeReady",
               "Node " + name + " status is now: NodeReady", "kubelet", name);
      } else {
        commit(n, EventType::Modified);
      }
      // Pods that were evicted while the node was gone can now finish terminating.
      std::vector<std::string> stuck;
      for (const auto& key : pods_on_node_[name]) {
        auto p = pods_.find(key);
        if (p != pods_.end() && p->second->meta.deleted != 0) stuck.push_back(key);
      }
      for (const auto& key : stuck) finish_termination(key, pods_[key]->meta.uid);
      for (const auto& [k, ds] : daemonsets_) mark_dirty(Kind::DaemonSet, k);
    });
  }
}

void Cluster::node_monitor(const std::string& name) {
  auto it = nodes_.find(name);
  if (it == nodes_.end() || it->second->heartbeating) return;
  NodeState& n = *it->second;
  n.unreachable = true;
  n.ready_since = now_;
  n.meta.updated = now_;
  commit(n, EventType::Modified);
  record(Kind::Node, n.meta, "Normal", "NodeNotReady",
         "Node " + name + " status is now: NodeNotReady", "node-controller");
  const std::vector<std::string> keys(pods_on_node_[name].begin(), pods_on_node_[name].end());
  for (const auto& key : keys) {
    auto p = pods_.find(key);
    if (p == pods_.end()) continue;
    PodState& pod = *p->second;
    if (pod.ready) {
      pod.ready = false;
      pod.ready_changed = now_;
      commit(pod, EventType::Modified);
      pod_changed(pod);
    }
    record(Kind::Pod, pod.meta, "Warning", "NodeNotReady", "Node is not ready", "node-controller");
    const std::string uid = pod.meta.uid;
    at(now_ + static_cast<SimTime>(pod.toleration_seconds) * kSecond, [this, key, uid, name] {
      auto n = nodes_.find(name);
      PodState* pod = this->pod(key, uid);
      if (n == nodes_.end() || !n->second->unreachable || pod == nullptr || pod->meta.deleted)
        return;
      record(Kind::Pod, pod->meta, "Normal", "TaintManagerEviction",
             "Marking for deletion Pod " + pod->meta.ns + "/" + pod->meta.name,
             "taint-eviction-controller");
      terminate_pod(key);
    });
  }
}

void Cluster::cordon_node(const std::string& name, bool cordon) {
  auto it = nodes_.find(name);
  if (it == nodes_.end()) return;
  it->second->cordoned = cordon;
  commit(*it->second, EventType::Modified);
  record(Kind::Node, it->second->meta, "Normal", cordon ? "NodeNotSchedulable" : "NodeSchedulable",
         "Node " + name + " status is now: " + (cordon ? "NodeNotSchedulable" : "NodeSchedulable"),
         "kubelet", name);
}

// ---------------------------------------------------------------------------------------------
// Pods

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

void Cluster::mark_owner_dirty(const OwnerRef& o, const std::string& ns) {
  mark_dirty(o.kind, object_key(ns, o.name));
}

// Controllers react a few milliseconds after the change, once per batch of changes, as
// informer-driven controllers with work queues do.
void Cluster::mark_dirty(Kind k, const std::string& key) {
  if (!dirty_.insert({static_cast<int>(k), key}).second) return;
  if (flush_scheduled_) return;
  flush_scheduled_ = true;
  at(now_ + 5 * kMillisecond, [this] { flush_dirty(); });
}

void Cluster::flush_dirty() {
  flush_scheduled_ = false;
  auto work = std::move(dirty_);
  dirty_.clear();
  for (const auto& [k, key] : work) {
    switch (static_cast<Kind>(k)) {
      case Kind::ReplicaSet:
        reconcile_rs(key);
        break;
      case Kind::Deployment:
        rollout_step(key);
        break;
      case Kind::StatefulSet:
        reconcile_sts(key);
        break;
      case Kind::DaemonSet:
        reconcile_ds(key);
        break;
      case Kind::Job:
        job_status(key);
        break;
      case Kind::Endpoints:
        endpoints_update(key);
        break;
      default:
        break;
    }
  }
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

// ---------------------------------------------------------------------------------------------
// ReplicaSets and Deployments

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

// ---------------------------------------------------------------------------------------------
// StatefulSets, DaemonSets, Jobs, CronJobs

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

void Cluster::add_cronjob(const std::string& ns, const std::string& name, SimTime interval,
                          SimTime age) {
  auto c = std::make_unique<CronJobState>();
  c->meta = meta(ns, name, age);
  c->meta.generation = 1;
  c->meta.labels = {{"app.kubernetes.io/name", name}};
  c->app = name;
  c->image = "registry.example.com/batch/" + name + ":1.4.0";
  c->interval = interval;
  const int minutes = static_cast<int>(std::max<SimTime>(1, interval / kMinute));
  c->schedule = "*/" + std::to_string(minutes) + " * * * *";
  const std::string key = key_of(c->meta);
  auto& ref = *c;
  cronjobs_.emplace(key, std::move(c));
  commit(ref, EventType::Added);
  const SimTime first = interval - (now_ % interval);
  every(first, interval, 0, [this, key] { cronjob_tick(key); });
}

void Cluster::cronjob_tick(const std::string& key) {
  auto it = cronjobs_.find(key);
  if (it == cronjobs_.end()) return;
  CronJobState& c = *it->second;
  if (!c.active.empty()) return;  // concurrencyPolicy: Forbid
  const std::string job_name = c.meta.name + "-" + std::to_string(now_ / kMinute);
  auto j = std::make_unique<JobState>();
  j->meta = meta(c.meta.ns, job_name, 0);
  j->meta.generation = 1;
  j->meta.labels = {{"app.kubernetes.io/name", c.app}};
  j->meta.owner = OwnerRef{Kind::CronJob, c.meta.name, c.meta.uid};
  j->app = c.app;
  j->image = c.image;
  j->start = now_;
  j->active = 1;
  const std::string jkey = key_of(j->meta);
  if (jobs_.count(jkey)) return;
  auto& jref = *j;
  jobs_.emplace(jkey, std::move(j));
  commit(jref, EventType::Added);
  c.active.push_back(job_name);
  c.last_schedule = now_;
  c.meta.updated = now_;
  commit(c, EventType::Modified);
  record(Kind::CronJob, c.meta, "Normal", "SuccessfulCreate", "Created job " + job_name,
         "cronjob-controller");
  create_pod(jref.meta, Kind::Job, "", c.app, c.image, PodBehaviour::RunToCompletion, "100m",
             {{"batch.kubernetes.io/job-name", job_name},
              {"batch.kubernetes.io/controller-uid", jref.meta.uid}});
}

void Cluster::job_status(const std::string& key) {
  auto it = jobs_.find(key);
  if (it == jobs_.end()) return;
  JobState& j = *it->second;
  if (j.complete) return;
  int active = 0, succeeded = 0;
  for (PodState* p : owned_pods(j.meta.uid)) {
    if (p->phase == "Succeeded") {
      ++succeeded;
    } else if (!p->meta.deleted) {
      ++active;
    }
  }
  if (succeeded == 0) return;
  j.active = 0;
  j.succeeded = succeeded;
  j.complete = true;
  j.completion = now_;
  j.meta.updated = now_;
  commit(j, EventType::Modified);
  record(Kind::Job, j.meta, "Normal", "Completed", "Job completed", "job-controller");
  if (!j.meta.owner) return;
  auto c = cronjobs_.find(object_key(j.meta.ns, j.meta.owner->name));
  if (c == cronjobs_.end()) return;
  CronJobState& cj = *c->second;
  std::erase(cj.active, j.meta.name);
  cj.last_success = now_;
  cj.history.push_back(j.meta.name);
  cj.meta.updated = now_;
  commit(cj, EventType::Modified);
  record(Kind::CronJob, cj.meta, "Normal", "SawCompletedJob",
         "Saw completed job: " + j.meta.name + ", condition: Complete", "cronjob-controller");
  while (cj.history.size() > 3) {
    const std::string old = cj.history.front();
    cj.history.erase(cj.history.begin());
    const std::string okey = object_key(cj.meta.ns, old);
    auto oj = jobs_.find(okey);
    if (oj == jobs_.end()) continue;
    const std::string juid = oj->second->meta.uid;
    for (PodState* p : owned_pods(juid)) terminate_pod(key_of(p->meta));
    owned_.erase(juid);
    remove(jobs_, okey);
    record(Kind::CronJob, cj.meta, "Normal", "SuccessfulDelete", "Deleted job " + old,
           "cronjob-controller");
  }
}

// ---------------------------------------------------------------------------------------------
// Services, Endpoints, ConfigMaps, HPAs, CRDs, Widgets, bare pods

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

void Cluster::add_hpa(const std::string& ns, const std::string& deployment, int min, int max,
                      SimTime age) {
  auto d = deployments_.find(object_key(ns, deployment));
  if (d == deployments_.end()) return;
  auto h = std::make_unique<HpaState>();
  h->meta = meta(ns, deployment, age);
  h->target = deployment;
  h->min = min;
  h->max = max;
  h->current = h->desired = d->second->replicas;
  const std::string key = key_of(h->meta);
  auto& ref = *h;
  hpas_.emplace(key, std::move(h));
  commit(ref, EventType::Added);
  every(15 * kSecond, 30 * kSecond, kSecond, [this, ns, name = deployment] { hpa_tick(ns, name); });
}

void Cluster::hpa_tick(const std::string& ns, const std::string& name) {
  auto it = hpas_.find(object_key(ns, name));
  if (it == hpas_.end()) return;
  HpaState& h = *it->second;
  auto d = deployments_.find(object_key(ns, h.target));
  if (d == deployments_.end()) return;
  // A load that drifts; the HPA follows it with the usual ratio rule and a 60 s stabilisation.
  h.current_cpu = std::clamp(h.current_cpu + static_cast<int>(random(41)) - 20, 5, 180);
  h.current = d->second->replicas;
  int desired = (h.current * h.current_cpu + h.target_cpu - 1) / h.target_cpu;
  desired = std::clamp(desired, h.min, h.max);
  h.desired = desired;
  h.meta.updated = now_;
  if (desired != h.current && now_ - h.last_scale >= kMinute && d->second->progressing_done) {
    h.last_scale = now_;
    record(Kind::HorizontalPodAutoscaler, h.meta, "Normal", "SuccessfulRescale",
           "New size: " + std::to_string(desired) +
               "; reason: cpu resource utilization "
               "(percentage of request) " +
               (desired > h.current ? "above" : "below") + " target",
           "horizontal-pod-autoscaler");
    scale(ns, h.target, desired);
    h.current = desired;
  }
  commit(h, EventType::Modified);
}

void Cluster::add_widget_crd(SimTime age) {
  if (crds_.count("widgets.example.com")) return;
  auto c = std::make_unique<CrdState>();
  c->meta = meta("", "widgets.example.com", age);
  c->meta.generation = 1;
  auto& ref = *c;
  crds_.emplace("widgets.example.com", std::move(c));
  commit(ref, EventType::Added);
}

void Cluster::add_widget(const std::string& ns, const std::string& name, int size, SimTime age) {
  auto w = std::make_unique<WidgetState>();
  w->meta = meta(ns, name, age);
  w->meta.generation = 1;
  w->meta.labels = {{"app.kubernetes.io/name", "widgets"}};
  w->size = size;
  static constexpr const char* kColors[] = {"blue", "green", "red", "yellow"};
  w->color = kColors[random(4)];
  if (age > 0) {
    w->phase = "Ready";
    w->observed_generation = 1;
  }
  const std::string key = key_of(w->meta);
  auto& ref = *w;
  widgets_.emplace(key, std::move(w));
  commit(ref, EventType::Added);
  if (age == 0) {
    at(now_ + 300 * kMillisecond, [this, key] {
      auto it = widgets_.find(key);
      if (it == widgets_.end()) return;
      it->second->phase = "Ready";
      it->second->observed_generation = it->second->meta.generation;
      it->second->meta.updated = now_;
      commit(*it->second, EventType::Modified);
    });
  }
}

void Cluster::update_widget(const std::string& ns, const std::string& name, int size) {
  auto it = widgets_.find(object_key(ns, name));
  if (it == widgets_.end()) return;
  WidgetState& w = *it->second;
  w.size = size;
  w.meta.generation++;
  w.phase = "Resizing";
  w.meta.updated = now_;
  commit(w, EventType::Modified);
  const std::string key = key_of(w.meta);
  at(now_ + kSecond, [this, key] {
    auto it = widgets_.find(key);
    if (it == widgets_.end()) return;
    it->second->phase = "Ready";
    it->second->observed_generation = it->second->meta.generation;
    it->second->meta.updated = now_;
    commit(*it->second, EventType::Modified);
  });
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
