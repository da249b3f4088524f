// Namespaces, nodes (heartbeats, leases, failure and eviction, cordoning) and leader leases.
#include <algorithm>

#include "cluster.h"
#include "cluster_internal.h"

namespace kubesim {

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

}  // namespace kubesim
