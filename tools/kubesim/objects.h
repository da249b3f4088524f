// The simulated cluster's objects as plain state, one struct per kind, and the functions that
// render a state into the JSON a real API server would send (see render.cc). The behaviour that
// changes these states lives in cluster.cc and cluster_*.cc (one file per controller).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "api_resources.h"
#include "sim_time.h"
#include "watch_event.h"

namespace kubesim {

using Labels = std::vector<std::pair<std::string, std::string>>;

struct OwnerRef {
  Kind kind;
  std::string name;
  std::string uid;
};

struct ObjectMeta {
  std::string ns;  // empty for cluster-scoped kinds
  std::string name;
  std::string uid;
  std::string generate_name;
  SimTime created = 0;
  SimTime deleted = 0;  // deletionTimestamp; 0 when not being deleted
  int64_t generation = 0;
  uint64_t rv = 0;
  Labels labels;
  Labels annotations;
  std::optional<OwnerRef> owner;
  SimTime updated = 0;  // time of the last status write (managedFields time)
};

struct NamespaceState {
  ObjectMeta meta;
  bool terminating = false;
};

struct NodeState {
  ObjectMeta meta;
  int index = 0;  // decides its IP, zone and pod CIDR
  std::string zone, instance_type;
  bool ready = true;
  bool unreachable = false;  // the kubelet stopped posting status
  bool cordoned = false;
  bool heartbeating = true;
  SimTime heartbeat = 0;
  SimTime ready_since = 0;
  int pods_capacity = 110;
  int cpu_millis = 8000;
};

enum class PodBehaviour : uint8_t {
  Normal,
  CrashLoop,        // exits with code 1 a few seconds after every start
  OomLoop,          // killed with 137 OOMKilled after every start
  BadImage,         // the image cannot be pulled: ErrImagePull / ImagePullBackOff
  Unschedulable,    // requests more CPU than any node has
  RunToCompletion,  // a Job's pod: exits 0 after `run_for`
};

enum class ContainerPhase : uint8_t { Waiting, Running, Terminated };

struct PodState {
  ObjectMeta meta;
  std::string app;  // the app.kubernetes.io/name label and the Service it belongs to
  std::string container;
  std::string image;
  std::string cpu_request = "100m", memory_request = "128Mi", cpu_limit = "500m",
              memory_limit = "256Mi";
  PodBehaviour behaviour = PodBehaviour::Normal;
  SimTime run_for = 0;
  std::string node, host_ip, pod_ip;
  std::string phase = "Pending";
  bool scheduled = false;
  SimTime scheduled_at = 0;
  std::string unschedulable_message;  // PodScheduled False when non-empty
  bool initialized = false;
  SimTime started_at = 0;  // status.startTime
  ContainerPhase cphase = ContainerPhase::Waiting;
  std::string waiting_reason;  // ContainerCreating, CrashLoopBackOff, ErrImagePull, …
  std::string waiting_message;
  SimTime running_since = 0;
  int exit_code = 0;
  std::string terminated_reason;
  SimTime terminated_at = 0;
  bool ready = false;
  SimTime ready_changed = 0;
  int restarts = 0;
  SimTime last_restart = 0;
  bool has_last_state = false;
  std::string last_reason;
  int last_exit = 0;
  SimTime last_started = 0, last_finished = 0;
  std::string container_id;
  int backoff_seconds = 10;
  int toleration_seconds = 300;
  std::string pvc;  // a StatefulSet pod's claim
  bool evicted_node_not_ready = false;
  uint64_t epoch = 0;  // bumped on every container (re)start; stale timers check it
};

struct ReplicaSetState {
  ObjectMeta meta;
  std::string app, image, hash;
  int replicas = 0;
  int revision = 1;
  int ready = 0, available = 0, current = 0;
  int64_t observed = 0;
  PodBehaviour behaviour = PodBehaviour::Normal;
  std::string cpu_request = "100m";
};

struct DeploymentState {
  ObjectMeta meta;
  std::string app, image;
  int replicas = 1;
  int revision = 1;
  std::string new_rs;  // the ReplicaSet of the current template
  int updated = 0, ready = 0, available = 0, total = 0;
  int64_t observed = 0;
  bool progressing_done = true;
  bool deadline_exceeded = false;
  SimTime rollout_started = 0;
  SimTime available_since = 0;
  PodBehaviour behaviour = PodBehaviour::Normal;
  std::string cpu_request = "100m";
  std::string previous_image;  // for the rollback of a bad rollout
  PodBehaviour previous_behaviour = PodBehaviour::Normal;
  bool rollback_on_failure = false;
};

struct StatefulSetState {
  ObjectMeta meta;
  std::string app, image, service;
  int replicas = 1;
  int ready = 0, current = 0;
  int64_t observed = 0;
  std::string revision;
};

struct DaemonSetState {
  ObjectMeta meta;
  std::string app, image;
  int desired = 0, current = 0, ready = 0;
  std::string hash;
};

struct JobState {
  ObjectMeta meta;
  std::string app, image;
  int active = 0, succeeded = 0, failed = 0;
  SimTime start = 0, completion = 0;
  bool complete = false;
};

struct CronJobState {
  ObjectMeta meta;
  std::string app, image, schedule;
  SimTime interval = 0;
  SimTime last_schedule = 0, last_success = 0;
  std::vector<std::string> active;   // job names
  std::vector<std::string> history;  // finished job names, oldest first
};

struct ServiceState {
  ObjectMeta meta;
  std::string app, type = "ClusterIP", cluster_ip;
  int port = 80, target_port = 8080;
  bool headless = false;
};

struct EndpointAddress {
  std::string ip, node, pod, pod_uid;
};

struct EndpointsState {
  ObjectMeta meta;
  std::vector<EndpointAddress> ready, not_ready;
  int port = 8080;
};

struct ConfigMapState {
  ObjectMeta meta;
  Labels data;
};

struct PersistentVolumeState {
  ObjectMeta meta;
  std::string capacity = "10Gi", claim_ns, claim_name, claim_uid, storage_class = "gp3";
  std::string phase = "Bound";
  std::string zone;
};

struct PersistentVolumeClaimState {
  ObjectMeta meta;
  std::string volume, capacity = "10Gi", storage_class = "gp3", phase = "Bound";
};

struct HpaState {
  ObjectMeta meta;
  std::string target;  // Deployment name
  int min = 2, max = 10, current = 2, desired = 2;
  int target_cpu = 70, current_cpu = 40;
  SimTime last_scale = 0;
};

struct LeaseState {
  ObjectMeta meta;
  std::string holder;
  int duration_seconds = 40;
  SimTime acquire = 0, renew = 0;
  int transitions = 0;
};

struct CrdState {
  ObjectMeta meta;
};

struct WidgetState {
  ObjectMeta meta;
  int size = 1;
  std::string color = "blue";
  std::string phase = "Pending";
  int64_t observed_generation = 0;
};

struct EventState {
  ObjectMeta meta;
  Kind involved_kind;
  std::string involved_ns, involved_name, involved_uid, field_path;
  uint64_t involved_rv = 0;
  std::string reason, message, type = "Normal";
  std::string component, host;
  int count = 1;
  SimTime first = 0, last = 0;
};

// Renders one state into the immutable version the store serves and the capture records.
ObjectVersion render(const NamespaceState& s);
ObjectVersion render(const NodeState& s);
ObjectVersion render(const PodState& s);
ObjectVersion render(const ReplicaSetState& s);
ObjectVersion render(const DeploymentState& s);
ObjectVersion render(const StatefulSetState& s);
ObjectVersion render(const DaemonSetState& s);
ObjectVersion render(const JobState& s);
ObjectVersion render(const CronJobState& s);
ObjectVersion render(const ServiceState& s);
ObjectVersion render(const EndpointsState& s);
ObjectVersion render(const ConfigMapState& s);
ObjectVersion render(const PersistentVolumeState& s);
ObjectVersion render(const PersistentVolumeClaimState& s);
ObjectVersion render(const HpaState& s);
ObjectVersion render(const LeaseState& s);
ObjectVersion render(const CrdState& s);
ObjectVersion render(const WidgetState& s);
ObjectVersion render(const EventState& s);

// "10.42.<a>.<b>" for node index i (host IPs) and pod IPs on it.
std::string node_ip(int index);
std::string pod_cidr(int index);

}  // namespace kubesim
