// The simulated cluster: every object's state, the controllers and kubelets that change it, and a
// queue of timed actions. Deterministic: the same configuration and seed give the same sequence of
// events, whatever the wall clock does. Every change gets the next resource version and goes to
// the EventSink; nothing here knows about HTTP or files.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <queue>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "objects.h"
#include "watch_event.h"

namespace kubesim {

// Timings of the pod lifecycle and the control plane. Scenarios tune them.
struct Timings {
  SimTime schedule_delay = 20 * kMillisecond;
  SimTime sandbox_delay = 500 * kMillisecond;
  SimTime pull_min = 300 * kMillisecond, pull_max = 6 * kSecond;
  SimTime start_delay = 200 * kMillisecond;
  SimTime readiness_delay = 5 * kSecond;
  SimTime termination = 2 * kSecond;   // SIGTERM to container exit
  SimTime crash_after = 4 * kSecond;   // a crash-looping container's run time
  SimTime heartbeat = 10 * kSecond;    // Node status updates
  SimTime lease_renew = 10 * kSecond;  // kube-node-lease renewals (0 = none)
  SimTime node_grace = 40 * kSecond;   // no heartbeat → NotReady
  int toleration_seconds = 300;        // NotReady → evictions
  SimTime progress_deadline = 60 * kSecond;
  SimTime event_ttl = kHour;
  SimTime unschedulable_retry = 30 * kSecond;
};

struct WorkloadSpec {
  std::string ns, name, image;
  int replicas = 1;
  PodBehaviour behaviour = PodBehaviour::Normal;
  std::string cpu_request = "100m";
  bool service = true;
  bool configmap = true;
};

class Cluster {
 public:
  Cluster(uint64_t seed, SimTime start, EventSink* sink);

  Timings& timings() { return t_; }
  SimTime now() const { return now_; }
  uint64_t resource_version() const { return rv_; }

  // --- the action queue
  // Runs every action due at or before `t`, in time order; then now() == t.
  void advance_to(SimTime t);
  // The time of the next queued action; INT64_MAX when none.
  SimTime next_action_time() const;
  void at(SimTime t, std::function<void()> fn);
  void after(SimTime d, std::function<void()> fn) { at(now_ + d, std::move(fn)); }
  // `fn` every `period` (± jitter) from now + first until forever.
  void every(SimTime first, SimTime period, SimTime jitter, std::function<void()> fn);

  // --- listing (in the order a LIST returns them)
  void for_each(Kind k, const std::function<void(const ObjectVersion&)>& fn) const;
  size_t count(Kind k) const;

  // --- building blocks for scenarios
  // `age` back-dates creationTimestamp for objects that existed before the simulation started.
  void add_namespace(const std::string& name, SimTime age = 0);
  void add_node(SimTime age = 0);
  void add_deployment(const WorkloadSpec& spec, SimTime age = 0);
  void add_statefulset(const WorkloadSpec& spec, SimTime age = 0);
  void add_daemonset(const std::string& ns, const std::string& name, const std::string& image,
                     SimTime age = 0);
  void add_cronjob(const std::string& ns, const std::string& name, SimTime interval,
                   SimTime age = 0);
  void add_hpa(const std::string& ns, const std::string& deployment, int min, int max,
               SimTime age = 0);
  void add_widget_crd(SimTime age = 0);
  void add_widget(const std::string& ns, const std::string& name, int size, SimTime age = 0);
  // A pod without an owner (`kubectl run`).
  void add_bare_pod(const std::string& ns, const std::string& name, const std::string& image,
                    PodBehaviour behaviour = PodBehaviour::Normal, SimTime age = 0);
  void add_leader_leases();

  // --- changes scenarios make
  // Starts a rolling update to `image`; with `rollback` a failure to progress rolls it back.
  bool rollout(const std::string& ns, const std::string& name, const std::string& image,
               PodBehaviour behaviour = PodBehaviour::Normal, bool rollback = false);
  bool scale(const std::string& ns, const std::string& name, int replicas);
  bool delete_pod(const std::string& ns, const std::string& name);
  // Deletes a random running pod of a Deployment (a "restart").
  bool delete_random_pod(const std::string& ns);
  bool restart_statefulset(const std::string& ns, const std::string& name);
  void update_widget(const std::string& ns, const std::string& name, int size);
  void update_configmap(const std::string& ns, const std::string& name);
  // The node stops posting status; it goes NotReady and, after the toleration, its pods are
  // evicted. `recover_after` > 0 brings it back.
  void fail_node(const std::string& name, SimTime recover_after);
  void cordon_node(const std::string& name, bool cordon);
  void hpa_tick(const std::string& ns, const std::string& name);

  // Names, for scenarios that pick at random.
  std::vector<std::string> deployment_keys() const;
  std::vector<std::string> node_names() const;
  std::vector<std::string> namespace_names() const;
  uint64_t random(uint64_t n);  // uniform in [0, n)
  double random_real();         // uniform in [0, 1)

  // Event counts by reason, for tests and logs.
  const std::map<std::string, int>& event_reasons() const { return reasons_; }
  uint64_t events_emitted() const { return emitted_; }

 private:
  struct Action {
    SimTime t;
    uint64_t seq;
    std::function<void()> fn;
    bool operator>(const Action& o) const { return t != o.t ? t > o.t : seq > o.seq; }
  };

  template <class T>
  using Collection = std::map<std::string, std::unique_ptr<T>>;

  std::string uid();
  std::string hash(size_t len);
  ObjectMeta meta(const std::string& ns, const std::string& name, SimTime age);
  template <class T>
  void commit(T& s, EventType type);
  template <class T>
  void remove(Collection<T>& c, const std::string& key);

  void record(Kind kind, const ObjectMeta& involved, std::string_view type, std::string_view reason,
              const std::string& message, std::string_view component, const std::string& host = "",
              const std::string& field_path = "");
  void expire_event(const std::string& key);

  // Pods
  PodState* pod(const std::string& key, const std::string& uid);
  std::string create_pod(const ObjectMeta& owner, Kind owner_kind, const std::string& name,
                         const std::string& app, const std::string& image, PodBehaviour b,
                         const std::string& cpu, const Labels& extra_labels,
                         const std::string& pvc = "", const std::string& pinned_node = "");
  void bind(PodState& p, const std::string& node);
  void schedule_pod(const std::string& key, const std::string& uid);
  void pod_sandbox(const std::string& key, const std::string& uid);
  void pod_pull_failed(const std::string& key, const std::string& uid);
  void pod_start(const std::string& key, const std::string& uid);
  void pod_ready(const std::string& key, const std::string& uid, uint64_t epoch);
  void pod_crash(const std::string& key, const std::string& uid, uint64_t epoch);
  void pod_restart(const std::string& key, const std::string& uid);
  void pod_complete(const std::string& key, const std::string& uid, uint64_t epoch);
  // Graceful deletion: deletionTimestamp, Killing, container exit, then DELETED.
  void terminate_pod(const std::string& key);
  void finish_termination(const std::string& key, const std::string& uid);
  void pod_changed(const PodState& p);  // wakes its owner's controller and its Endpoints
  std::string pick_node(const PodState& p);
  std::vector<PodState*> owned_pods(const std::string& owner_uid);

  // Controllers, run in batches a few milliseconds after what they watch changed.
  void mark_dirty(Kind k, const std::string& key);
  void mark_owner_dirty(const OwnerRef& o, const std::string& ns);
  void flush_dirty();
  void reconcile_rs(const std::string& key);
  void scale_rs(ReplicaSetState& rs, int to, const DeploymentState& d);
  void rollout_step(const std::string& dep_key);
  void deployment_status(const std::string& dep_key);
  void rollback_deployment(const std::string& key);
  void prune_replicasets(DeploymentState& d);
  void reconcile_sts(const std::string& key);
  void sts_create_pod(StatefulSetState& s, int ordinal);
  void reconcile_ds(const std::string& key);
  void job_status(const std::string& key);
  void cronjob_tick(const std::string& key);
  void endpoints_update(const std::string& key);
  void node_heartbeat(const std::string& name);
  void node_lease(const std::string& name);
  void node_monitor(const std::string& name);
  void add_service(const std::string& ns, const std::string& app, SimTime age, bool headless);
  void add_configmap(const std::string& ns, const std::string& app, SimTime age);
  std::string new_replicaset(DeploymentState& d, SimTime age);

  EventSink* sink_;
  std::mt19937_64 rng_;
  Timings t_;
  SimTime now_;
  uint64_t rv_ = 0;
  uint64_t seq_ = 0;
  uint64_t emitted_ = 0;
  std::priority_queue<Action, std::vector<Action>, std::greater<>> queue_;

  Collection<NamespaceState> namespaces_;
  Collection<NodeState> nodes_;
  Collection<PodState> pods_;
  Collection<ReplicaSetState> replicasets_;
  Collection<DeploymentState> deployments_;
  Collection<StatefulSetState> statefulsets_;
  Collection<DaemonSetState> daemonsets_;
  Collection<JobState> jobs_;
  Collection<CronJobState> cronjobs_;
  Collection<ServiceState> services_;
  Collection<EndpointsState> endpoints_;
  Collection<ConfigMapState> configmaps_;
  Collection<PersistentVolumeState> pvs_;
  Collection<PersistentVolumeClaimState> pvcs_;
  Collection<HpaState> hpas_;
  Collection<LeaseState> leases_;
  Collection<CrdState> crds_;
  Collection<WidgetState> widgets_;
  Collection<EventState> events_;
  // Event aggregation: (involved uid, reason, message) → event key, as the client-side
  // EventCorrelator does.
  std::map<std::string, std::string> event_index_;
  std::map<std::string, int> reasons_;
  std::map<std::string, int> node_pods_;  // node → pods bound to it
  std::map<std::string, std::set<std::string>> pods_on_node_;
  std::map<std::string, std::set<std::string>> by_app_;               // "ns/app" → pod keys
  std::map<std::string, std::set<std::string>> owned_;                // owner uid → pod keys
  std::map<std::string, std::vector<std::string>> rs_of_deployment_;  // uid → RS keys, oldest first
  std::vector<std::string> node_list_;
  std::set<std::pair<int, std::string>> dirty_;
  bool flush_scheduled_ = false;
  SimTime settle_age_ = 0;  // > 0 while adding objects that already exist at the start
  int next_node_ = 0;
  int next_pod_ip_ = 0;
  int next_cluster_ip_ = 10;
};

}  // namespace kubesim
