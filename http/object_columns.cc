#include "http/object_columns.h"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <optional>

#include "index/object_meta.h"

namespace sloop::http {

namespace {

using simdjson::dom::element;

constexpr int64_t kNsPerSec = 1000000000LL;

constexpr std::array<std::string_view, 7> kPod{"NAME", "READY", "STATUS", "RESTARTS",
                                               "AGE",  "IP",    "NODE"};
constexpr std::array<std::string_view, 5> kDeployment{"NAME", "READY", "UP-TO-DATE", "AVAILABLE",
                                                      "AGE"};
constexpr std::array<std::string_view, 5> kReplicaSet{"NAME", "DESIRED", "CURRENT", "READY", "AGE"};
constexpr std::array<std::string_view, 3> kStatefulSet{"NAME", "READY", "AGE"};
constexpr std::array<std::string_view, 7> kDaemonSet{"NAME",       "DESIRED",   "CURRENT", "READY",
                                                     "UP-TO-DATE", "AVAILABLE", "AGE"};
constexpr std::array<std::string_view, 3> kJob{"NAME", "COMPLETIONS", "AGE"};
constexpr std::array<std::string_view, 5> kNode{"NAME", "STATUS", "ROLES", "AGE", "VERSION"};
constexpr std::array<std::string_view, 5> kService{"NAME", "TYPE", "CLUSTER-IP", "PORT(S)", "AGE"};
constexpr std::array<std::string_view, 2> kOther{"NAME", "AGE"};

// Field access that treats anything missing, null or of another type as absent.
using Node = std::optional<element>;

Node Child(const Node& e, std::string_view key) {
  if (!e || e->type() != simdjson::dom::element_type::OBJECT) return std::nullopt;
  element c;
  if ((*e)[key].get(c) || c.type() == simdjson::dom::element_type::NULL_VALUE) return std::nullopt;
  return c;
}
std::string_view Str(const Node& e, std::string_view key) {
  std::string_view s;
  Node c = Child(e, key);
  return c && !c->get(s) ? s : std::string_view();
}
int64_t Int(const Node& e, std::string_view key, int64_t fallback = 0) {
  int64_t v;
  Node c = Child(e, key);
  return c && !c->get(v) ? v : fallback;
}
bool Bool(const Node& e, std::string_view key) {
  bool v = false;
  Node c = Child(e, key);
  return c && !c->get(v) && v;
}
std::vector<element> Items(const Node& e, std::string_view key) {
  std::vector<element> out;
  Node c = Child(e, key);
  if (!c || c->type() != simdjson::dom::element_type::ARRAY) return out;
  for (element item : simdjson::dom::array(*c)) out.push_back(item);
  return out;
}

std::string N(int64_t v) { return std::to_string(v); }
std::string Of(int64_t a, int64_t b) { return N(a) + "/" + N(b); }
std::string OrNone(std::string_view s) { return s.empty() ? "<none>" : std::string(s); }

// kubectl's printPod: the phase, overridden by the pod's reason, then by the first init
// container not done, else by the containers' waiting or terminated reasons (last container
// first, so the first one's wins); "Terminating" once deletion has begun.
void PodCells(const Node& pod, std::vector<std::string>& cells) {
  Node spec = Child(pod, "spec"), status = Child(pod, "status"), meta = Child(pod, "metadata");
  const int64_t containers = static_cast<int64_t>(Items(spec, "containers").size());
  int64_t ready = 0, restarts = 0;
  std::string reason(Str(status, "phase"));
  if (!Str(status, "reason").empty()) reason = Str(status, "reason");
  bool initializing = false;
  const int64_t init_total = static_cast<int64_t>(Items(spec, "initContainers").size());
  int64_t done = 0;
  for (const element& item : Items(status, "initContainerStatuses")) {
    Node c = item;
    restarts += Int(c, "restartCount");
    Node state = Child(c, "state");
    Node terminated = Child(state, "terminated"), waiting = Child(state, "waiting");
    if (terminated && Int(terminated, "exitCode") == 0) {
      ++done;
      continue;
    }
    initializing = true;
    if (terminated) {
      if (!Str(terminated, "reason").empty()) {
        reason = "Init:" + std::string(Str(terminated, "reason"));
      } else if (Int(terminated, "signal") != 0) {
        reason = "Init:Signal:" + N(Int(terminated, "signal"));
      } else {
        reason = "Init:ExitCode:" + N(Int(terminated, "exitCode"));
      }
    } else if (!Str(waiting, "reason").empty() && Str(waiting, "reason") != "PodInitializing") {
      reason = "Init:" + std::string(Str(waiting, "reason"));
    } else {
      reason = "Init:" + N(done) + "/" + N(init_total);
    }
    break;
  }
  if (!initializing) {
    restarts = 0;
    bool running = false;
    std::vector<element> statuses = Items(status, "containerStatuses");
    for (auto it = statuses.rbegin(); it != statuses.rend(); ++it) {
      Node c = *it;
      restarts += Int(c, "restartCount");
      Node state = Child(c, "state");
      Node terminated = Child(state, "terminated"), waiting = Child(state, "waiting");
      if (!Str(waiting, "reason").empty()) {
        reason = Str(waiting, "reason");
      } else if (!Str(terminated, "reason").empty()) {
        reason = Str(terminated, "reason");
      } else if (terminated) {
        reason = Int(terminated, "signal") != 0 ? "Signal:" + N(Int(terminated, "signal"))
                                                : "ExitCode:" + N(Int(terminated, "exitCode"));
      } else if (Bool(c, "ready") && Child(state, "running")) {
        running = true;
        ++ready;
      }
    }
    // A pod whose finished container reported last still has one running.
    if (reason == "Completed" && running) {
      bool ready_condition = false;
      for (const element& item : Items(status, "conditions")) {
        Node cond = item;
        if (Str(cond, "type") == "Ready" && Str(cond, "status") == "True") ready_condition = true;
      }
      reason = ready_condition ? "Running" : "NotReady";
    }
  }
  if (Child(meta, "deletionTimestamp")) {
    reason = Str(status, "reason") == "NodeLost" ? "Unknown" : "Terminating";
  }
  cells[1] = Of(ready, containers);
  cells[2] = reason;
  cells[3] = N(restarts);
  cells[5] = OrNone(Str(status, "podIP"));
  cells[6] = OrNone(Str(spec, "nodeName"));
}

void NodeCells(const Node& node, std::vector<std::string>& cells) {
  Node status = Child(node, "status");
  std::string state = "Unknown";
  for (const element& item : Items(status, "conditions")) {
    Node c = item;
    if (Str(c, "type") == "Ready") state = Str(c, "status") == "True" ? "Ready" : "NotReady";
  }
  if (Bool(Child(node, "spec"), "unschedulable")) state += ",SchedulingDisabled";
  std::vector<std::string> roles;
  Node labels = Child(Child(node, "metadata"), "labels");
  if (labels && labels->type() == simdjson::dom::element_type::OBJECT) {
    constexpr std::string_view kRolePrefix = "node-role.kubernetes.io/";
    for (auto field : simdjson::dom::object(*labels)) {
      if (field.key.starts_with(kRolePrefix) && field.key.size() > kRolePrefix.size()) {
        roles.emplace_back(field.key.substr(kRolePrefix.size()));
      } else if (field.key == "kubernetes.io/role") {
        std::string_view v;
        if (!field.value.get(v) && !v.empty()) roles.emplace_back(v);
      }
    }
  }
  std::sort(roles.begin(), roles.end());
  roles.erase(std::unique(roles.begin(), roles.end()), roles.end());
  std::string joined;
  for (const auto& r : roles) joined += (joined.empty() ? "" : ",") + r;
  cells[1] = state;
  cells[2] = OrNone(joined);
  cells[4] = Str(Child(status, "nodeInfo"), "kubeletVersion");
}

void ServiceCells(const Node& svc, std::vector<std::string>& cells) {
  Node spec = Child(svc, "spec");
  cells[1] = Str(spec, "type").empty() ? "ClusterIP" : std::string(Str(spec, "type"));
  cells[2] = OrNone(Str(spec, "clusterIP"));
  std::string ports;
  for (const element& item : Items(spec, "ports")) {
    Node p = item;
    std::string one = N(Int(p, "port"));
    if (Int(p, "nodePort") != 0) one += ":" + N(Int(p, "nodePort"));
    std::string_view protocol = Str(p, "protocol");
    one += "/" + std::string(protocol.empty() ? "TCP" : protocol);
    ports += (ports.empty() ? "" : ",") + one;
  }
  cells[3] = OrNone(ports);
}

}  // namespace

std::string ShortAge(int64_t d) {
  int64_t seconds = d / kNsPerSec;
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  if (seconds < 120) return N(seconds) + "s";
  int64_t minutes = seconds / 60;
  if (minutes < 10)
    return seconds % 60 ? N(minutes) + "m" + N(seconds % 60) + "s" : N(minutes) + "m";
  if (minutes < 180) return N(minutes) + "m";
  int64_t hours = minutes / 60;
  if (hours < 8) return minutes % 60 ? N(hours) + "h" + N(minutes % 60) + "m" : N(hours) + "h";
  if (hours < 48) return N(hours) + "h";
  if (hours < 24 * 8)
    return hours % 24 ? N(hours / 24) + "d" + N(hours % 24) + "h" : N(hours / 24) + "d";
  if (hours < 24 * 365 * 2) return N(hours / 24) + "d";
  int64_t days = hours / 24;
  if (hours < 24 * 365 * 8)
    return days % 365 ? N(days / 365) + "y" + N(days % 365) + "d" : N(days / 365) + "y";
  return N(days / 365) + "y";
}

ObjectColumns::ObjectColumns() : parser_(std::make_unique<simdjson::dom::parser>()) {}
ObjectColumns::~ObjectColumns() = default;

std::span<const std::string_view> ObjectColumns::Columns(std::string_view kind) {
  if (kind == "Pod") return kPod;
  if (kind == "Deployment") return kDeployment;
  if (kind == "ReplicaSet") return kReplicaSet;
  if (kind == "StatefulSet") return kStatefulSet;
  if (kind == "DaemonSet") return kDaemonSet;
  if (kind == "Job") return kJob;
  if (kind == "Node") return kNode;
  if (kind == "Service") return kService;
  return kOther;
}

std::vector<std::string> ObjectColumns::Cells(std::string_view kind, std::string_view name,
                                              std::string_view payload, int64_t at_ns,
                                              int64_t creation_ns) {
  auto columns = Columns(kind);
  std::vector<std::string> cells(columns.size());
  cells[0] = name;
  const size_t age =
      static_cast<size_t>(std::find(columns.begin(), columns.end(), "AGE") - columns.begin());
  element parsed;
  Node doc;
  if (!parser_->parse(payload.data(), payload.size(), true).get(parsed) &&
      parsed.type() == simdjson::dom::element_type::OBJECT) {
    doc = parsed;
  }
  int64_t created = 0;
  if (ParseRfc3339(Str(Child(doc, "metadata"), "creationTimestamp"), &created) && created) {
    creation_ns = created;
  }
  cells[age] = creation_ns ? ShortAge(at_ns - creation_ns) : "<unknown>";
  if (!doc) return cells;
  Node spec = Child(doc, "spec"), status = Child(doc, "status");
  auto sp = [&](std::string_view k, int64_t fallback = 0) { return Int(spec, k, fallback); };
  auto st = [&](std::string_view k) { return Int(status, k); };
  if (kind == "Pod") {
    PodCells(doc, cells);
  } else if (kind == "Deployment") {
    cells[1] = Of(st("readyReplicas"), sp("replicas", 1));
    cells[2] = N(st("updatedReplicas"));
    cells[3] = N(st("availableReplicas"));
  } else if (kind == "ReplicaSet") {
    cells[1] = N(sp("replicas", 1));
    cells[2] = N(st("replicas"));
    cells[3] = N(st("readyReplicas"));
  } else if (kind == "StatefulSet") {
    cells[1] = Of(st("readyReplicas"), sp("replicas", 1));
  } else if (kind == "DaemonSet") {
    cells[1] = N(st("desiredNumberScheduled"));
    cells[2] = N(st("currentNumberScheduled"));
    cells[3] = N(st("numberReady"));
    cells[4] = N(st("updatedNumberScheduled"));
    cells[5] = N(st("numberAvailable"));
  } else if (kind == "Job") {
    // kubectl: succeeded/completions; without completions, succeeded of 1 (of parallelism).
    if (Child(spec, "completions")) {
      cells[1] = Of(st("succeeded"), sp("completions"));
    } else if (sp("parallelism", 1) > 1) {
      cells[1] = N(st("succeeded")) + "/1 of " + N(sp("parallelism"));
    } else {
      cells[1] = Of(st("succeeded"), 1);
    }
  } else if (kind == "Node") {
    NodeCells(doc, cells);
  } else if (kind == "Service") {
    ServiceCells(doc, cells);
  }
  return cells;
}

}  // namespace sloop::http
