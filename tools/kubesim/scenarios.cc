#include "scenarios.h"

#include <algorithm>

namespace kubesim {
namespace {

constexpr ScenarioInfo kScenarios[] = {
    {"default",
     "lively cluster: rollouts, pod restarts, a crash-looping and an OOM-killed pod, CronJobs, an "
     "HPA, ConfigMap and Widget updates, a bad rollout rolled back and a node outage now and "
     "then; nodes heartbeat every 10 s. Scales with --pods/--nodes (load-test mix of 250/30/5 "
     "replica Deployments)."},
    {"e2e",
     "short deterministic script for end-to-end tests, done within ~10 s at --speed 1: "
     "namespaces, 3 nodes, Deployment web rolled out (nginx:1.25 -> 1.26, old ReplicaSet scaled "
     "to 0), StatefulSet db, crash-looping pod (BackOff), pod doomed deleted, pod db-1 deleted and "
     "recreated by its StatefulSet (same name, new uid), CRD widgets.example.com with 3 Widgets; "
     "then only heartbeats every 3 s."},
    {"node-failure",
     "small cluster; at 15 s a node stops heartbeating, goes NotReady at 35 s (NodeNotReady), its "
     "pods are evicted at 65 s (TaintManagerEviction) and rescheduled; it returns at 135 s."},
    {"unschedulable",
     "small cluster; at 5 s a Deployment requesting 64 CPUs stays Pending (FailedScheduling "
     "every 15 s); a node is cordoned from 10 s to 120 s."},
    {"bad-rollout",
     "small cluster; at 10 s shop/checkout rolls out an image that cannot be pulled "
     "(ErrImagePull, ImagePullBackOff); the progress deadline (45 s) passes and it is rolled "
     "back (DeploymentRollback)."},
    {"crashloop",
     "small cluster with crash-looping (Error) and OOM-killed pods restarting with back-off."},
};

constexpr SimTime kDay = 24 * kHour;

std::string image(std::string_view team, std::string_view app, int version) {
  return "registry.example.com/" + std::string(team) + "/" + std::string(app) + ":v1." +
         std::to_string(version) + ".0";
}

WorkloadSpec spec(std::string ns, std::string name, int replicas, std::string img,
                  PodBehaviour b = PodBehaviour::Normal) {
  WorkloadSpec s;
  s.ns = std::move(ns);
  s.name = std::move(name);
  s.replicas = replicas;
  s.image = std::move(img);
  s.behaviour = b;
  return s;
}

SimTime age(Cluster& c, int min_days, int max_days) {
  return static_cast<SimTime>(min_days) * kDay +
         static_cast<SimTime>(c.random(static_cast<uint64_t>((max_days - min_days) * kDay)));
}

// The small cluster every scenario but e2e starts from (about 40 pods on `nodes` nodes).
void base_cluster(Cluster& c, int nodes, bool with_failures) {
  for (const char* ns : {"default", "kube-node-lease", "kube-public", "kube-system", "monitoring",
                         "payments", "shop", "batch"}) {
    c.add_namespace(ns, 90 * kDay);
  }
  for (int i = 0; i < nodes; ++i) c.add_node(age(c, 2, 30));
  c.add_leader_leases();
  c.add_widget_crd(60 * kDay);
  c.add_daemonset("kube-system", "kube-proxy", "registry.example.com/platform/kube-proxy:v1.32.4",
                  80 * kDay);
  c.add_daemonset("kube-system", "aws-node", "registry.example.com/platform/aws-node:v1.18.5",
                  80 * kDay);
  c.add_daemonset("monitoring", "node-exporter",
                  "registry.example.com/platform/node-exporter:v1.8.2", 70 * kDay);
  auto d = [&](const char* ns, const char* name, int n, const char* team,
               PodBehaviour b = PodBehaviour::Normal) {
    c.add_deployment(spec(ns, name, n, image(team, name, 4), b), age(c, 3, 60));
  };
  d("kube-system", "coredns", 2, "platform");
  d("monitoring", "grafana", 1, "platform");
  d("shop", "checkout", 3, "shop");
  d("shop", "cart", 2, "shop");
  d("shop", "frontend", 3, "shop");
  d("shop", "catalog", 2, "shop");
  d("payments", "payments-api", 2, "payments");
  d("payments", "payments-worker", 2, "payments");
  if (with_failures) {
    d("shop", "recommendations", 1, "shop", PodBehaviour::CrashLoop);
    d("payments", "ledger-sync", 1, "payments", PodBehaviour::OomLoop);
  }
  c.add_statefulset(spec("payments", "postgres", 2, "registry.example.com/db/postgres:16.4"),
                    age(c, 20, 60));
  c.add_statefulset(
      spec("monitoring", "prometheus", 1, "registry.example.com/platform/prometheus:v2.54.1"),
      age(c, 20, 60));
  c.add_hpa("shop", "frontend", 2, 6, 30 * kDay);
  c.add_cronjob("batch", "nightly-report", 2 * kMinute, 30 * kDay);
  c.add_cronjob("batch", "cache-cleanup", 5 * kMinute, 30 * kDay);
  for (const char* w : {"sprocket", "gear", "flange"}) {
    c.add_widget("shop", w, 1 + static_cast<int>(c.random(5)), age(c, 1, 20));
  }
}

void default_churn(Cluster& c, int total_pods) {
  // Rollouts: one every 20 s in a small cluster, faster in big ones (~20 pod replacements/s at
  // 150,000 pods, the SIG-scalability churn ceiling).
  const SimTime rollout_every =
      std::clamp<SimTime>(static_cast<SimTime>(540000.0 / std::max(total_pods, 1) * kSecond),
                          2 * kSecond, 20 * kSecond);
  auto version = std::make_shared<int>(5);
  c.every(8 * kSecond, rollout_every, rollout_every / 5, [&c, version] {
    const auto keys = c.deployment_keys();
    if (keys.empty()) return;
    const std::string& key = keys[c.random(keys.size())];
    const auto slash = key.find('/');
    const std::string ns = key.substr(0, slash), name = key.substr(slash + 1);
    if (name == "recommendations" || name == "ledger-sync") return;
    c.rollout(ns, name, image(ns, name, ++*version));
  });
  const SimTime delete_every = std::clamp<SimTime>(
      static_cast<SimTime>(300000.0 / std::max(total_pods, 1) * kSecond), kSecond, 15 * kSecond);
  c.every(5 * kSecond, delete_every, delete_every / 5, [&c] {
    const auto ns = c.namespace_names();
    for (int tries = 0; tries < 4; ++tries) {
      if (c.delete_random_pod(ns[c.random(ns.size())])) return;
    }
  });
  c.every(45 * kSecond, 90 * kSecond, 10 * kSecond,
          [&c] { c.update_configmap("shop", "checkout-config"); });
  c.every(20 * kSecond, 45 * kSecond, 5 * kSecond, [&c] {
    static constexpr const char* kWidgets[] = {"sprocket", "gear", "flange"};
    c.update_widget("shop", kWidgets[c.random(3)], 1 + static_cast<int>(c.random(9)));
  });
  c.every(3 * kMinute, 10 * kMinute, kMinute,
          [&c] { c.restart_statefulset("payments", "postgres"); });
  c.every(6 * kMinute, 15 * kMinute, kMinute, [&c] {
    c.rollout("shop", "catalog", "registry.example.com/shop/catalog:v9.9.9-broken",
              PodBehaviour::BadImage, true);
  });
  c.every(10 * kMinute, 20 * kMinute, kMinute, [&c] {
    const auto nodes = c.node_names();
    if (nodes.size() >= 3) c.fail_node(nodes[c.random(nodes.size())], 3 * kMinute);
  });
}

void scenario_default(Cluster& c, const ScenarioOptions& o) {
  const int nodes = o.nodes > 0 ? o.nodes : 6;
  if (nodes > 50) c.timings().heartbeat = kMinute;  // big clusters: status every minute + leases
  c.timings().progress_deadline = 90 * kSecond;
  c.timings().toleration_seconds = 60;
  base_cluster(c, nodes, true);
  int total = static_cast<int>(c.count(Kind::Pod));
  // Fill up to --pods with the load-test mix: a quarter of the pods in 250-replica Deployments,
  // a quarter in 30-replica ones, half in 5-replica ones; at most ~3,000 pods per namespace.
  if (o.pods > total) {
    int remaining = o.pods - total;
    const int quarter = remaining / 4;
    int big = quarter, medium = quarter;
    int ns_index = 0, ns_pods = 0, app = 0;
    std::string ns;
    auto next_ns = [&] {
      ns = "team-" + std::to_string(++ns_index);
      c.add_namespace(ns, age(c, 30, 300));
      ns_pods = 0;
    };
    next_ns();
    while (remaining > 0) {
      int size = 5;
      if (big >= 250) {
        size = 250;
        big -= 250;
      } else if (medium >= 30) {
        size = 30;
        medium -= 30;
      }
      size = std::min(size, remaining);
      if (ns_pods + size > 3000) next_ns();
      const std::string name = "svc-" + std::to_string(++app);
      c.add_deployment(spec(ns, name, size, image(ns, name, 1)), age(c, 1, 200));
      remaining -= size;
      ns_pods += size;
    }
    total = static_cast<int>(c.count(Kind::Pod));
  }
  default_churn(c, total);
}

void scenario_e2e(Cluster& c) {
  Timings& t = c.timings();
  t.sandbox_delay = 200 * kMillisecond;
  t.pull_min = 200 * kMillisecond;
  t.pull_max = 600 * kMillisecond;
  t.start_delay = 100 * kMillisecond;
  t.readiness_delay = 500 * kMillisecond;
  t.termination = 500 * kMillisecond;
  t.crash_after = kSecond;
  t.heartbeat = 3 * kSecond;
  t.lease_renew = 0;
  for (const char* ns : {"default", "kube-system", "e2e-apps", "e2e-data"}) c.add_namespace(ns);
  for (int i = 0; i < 3; ++i) c.add_node();
  c.add_widget_crd();
  c.after(200 * kMillisecond, [&c] { c.add_deployment(spec("e2e-apps", "web", 2, "nginx:1.25")); });
  c.after(300 * kMillisecond,
          [&c] { c.add_statefulset(spec("e2e-data", "db", 2, "postgres:16.4")); });
  c.after(400 * kMillisecond, [&c] {
    auto s = spec("e2e-apps", "crasher", 1, "busybox:1.36", PodBehaviour::CrashLoop);
    s.service = false;
    c.add_deployment(s);
  });
  c.after(500 * kMillisecond, [&c] { c.add_bare_pod("e2e-apps", "doomed", "busybox:1.36"); });
  c.after(1000 * kMillisecond, [&c] { c.add_widget("e2e-apps", "alpha", 1); });
  c.after(1200 * kMillisecond, [&c] { c.add_widget("e2e-apps", "beta", 2); });
  c.after(1400 * kMillisecond, [&c] { c.add_widget("e2e-apps", "gamma", 3); });
  c.after(3 * kSecond, [&c] { c.rollout("e2e-apps", "web", "nginx:1.26"); });
  c.after(5 * kSecond, [&c] { c.delete_pod("e2e-apps", "doomed"); });
  c.after(6 * kSecond, [&c] { c.update_widget("e2e-apps", "alpha", 5); });
  // A name used twice: the StatefulSet replaces db-1 under the same name with a new uid, as a
  // real one does, so that the UI's incarnations (identity by uid) have something to show.
  c.after(7 * kSecond, [&c] { c.delete_pod("e2e-data", "db-1"); });
}

}  // namespace

std::span<const ScenarioInfo> scenarios() { return kScenarios; }

bool setup_scenario(Cluster& c, const ScenarioOptions& o, std::string* error) {
  if (o.pods < 0 || o.nodes < 0) {
    *error = "--pods and --nodes must not be negative";
    return false;
  }
  if (o.name == "default") {
    scenario_default(c, o);
    return true;
  }
  if (o.pods > 0 || o.nodes > 0) {
    if (o.name != "e2e") {
      // Small failure scenarios still honour --nodes.
    } else {
      *error = "scenario e2e has a fixed size; --pods/--nodes apply to 'default'";
      return false;
    }
  }
  const int nodes = o.nodes > 0 ? o.nodes : 4;
  if (o.name == "e2e") {
    scenario_e2e(c);
  } else if (o.name == "node-failure") {
    c.timings().heartbeat = 5 * kSecond;
    c.timings().node_grace = 20 * kSecond;
    c.timings().toleration_seconds = 30;
    base_cluster(c, nodes, false);
    const std::string victim = c.node_names()[1 % nodes];
    c.after(15 * kSecond, [&c, victim] { c.fail_node(victim, 120 * kSecond); });
  } else if (o.name == "unschedulable") {
    c.timings().unschedulable_retry = 15 * kSecond;
    base_cluster(c, nodes, false);
    c.after(5 * kSecond, [&c] {
      auto s = spec("batch", "heavy-import", 3, "registry.example.com/batch/import:v3.1.0",
                    PodBehaviour::Unschedulable);
      s.cpu_request = "64";
      c.add_deployment(s);
    });
    const std::string node = c.node_names()[0];
    c.after(10 * kSecond, [&c, node] { c.cordon_node(node, true); });
    c.after(120 * kSecond, [&c, node] { c.cordon_node(node, false); });
  } else if (o.name == "bad-rollout") {
    c.timings().progress_deadline = 45 * kSecond;
    base_cluster(c, nodes, false);
    c.after(10 * kSecond, [&c] {
      c.rollout("shop", "checkout", "registry.example.com/shop/checkout:v2.15.0-broken",
                PodBehaviour::BadImage, true);
    });
  } else if (o.name == "crashloop") {
    base_cluster(c, nodes, true);
    c.after(2 * kSecond, [&c] {
      c.add_deployment(spec("shop", "flaky-worker", 2, "registry.example.com/shop/worker:v0.3.0",
                            PodBehaviour::CrashLoop));
      c.add_deployment(spec("shop", "memory-hog", 1, "registry.example.com/shop/hog:v0.1.0",
                            PodBehaviour::OomLoop));
    });
  } else {
    *error = "unknown scenario '" + o.name + "' (kubesim --help lists them)";
    return false;
  }
  return true;
}

}  // namespace kubesim
