#include "bench/harness/generator.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <deque>
#include <fstream>
#include <random>
#include <sstream>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/time_text.h"
#include "bench/fixtures.h"
#include "bench/harness/capture.h"

namespace sloop::bench {
namespace {

// A fixture with some literal values turned into numbered slots, rendered by concatenation.
class Template {
 public:
  Template() = default;
  // Each pair: the literal to find (every occurrence) and its slot; applied in order.
  Template(std::string text, const std::vector<std::pair<std::string, int>>& slots) {
    for (const auto& [from, slot] : slots) {
      std::string marker = {'\x01', static_cast<char>('A' + slot)};
      for (size_t pos = 0; (pos = text.find(from, pos)) != std::string::npos;
           pos += marker.size()) {
        text.replace(pos, from.size(), marker);
      }
    }
    size_t pos = 0;
    while (true) {
      size_t m = text.find('\x01', pos);
      parts_.push_back(text.substr(pos, m == std::string::npos ? m : m - pos));
      if (m == std::string::npos) break;
      order_.push_back(text[m + 1] - 'A');
      pos = m + 2;
    }
  }
  void Render(const std::vector<std::string>& values, std::string& out) const {
    out.clear();
    for (size_t i = 0; i < parts_.size(); ++i) {
      out += parts_[i];
      if (i < order_.size()) out += values[order_[i]];
    }
  }

 private:
  std::vector<std::string> parts_;
  std::vector<int> order_;
};

enum PodSlot {
  P_NAME,
  P_RS,
  P_HASH,
  P_APP,
  P_NS,
  P_UID,
  P_RSUID,
  P_RV,
  P_CREATED,
  P_NODE,
  P_HOSTIP,
  P_PODIP,
  P_PHASE,
  P_RESTARTS,
  P_VERSION,
  P_COUNT
};
enum NodeSlot { N_NAME, N_UID, N_RV, N_HEARTBEAT, N_IP, N_STORAGE, N_COUNT };
enum EventSlot {
  E_NAME,
  E_INAME,
  E_NS,
  E_UID,
  E_IUID,
  E_RV,
  E_REASON,
  E_MSG,
  E_FIRST,
  E_LAST,
  E_CREATED,
  E_COUNTV,
  E_TYPE,
  E_NODE,
  E_COUNT
};
enum DeploySlot { D_NAME, D_NS, D_UID, D_RV, D_GEN, D_REV, D_VERSION, D_REPLICAS, D_COUNT };

struct Pending {
  int64_t ts;
  uint64_t seq;
  const char* type;
  const char* group;
  const char* resource;
  const char* kind;
  bool namespaced;
  std::string object;
};

class Generator {
 public:
  Generator(const GenerateOptions& o, CaptureWriter& w) : o_(o), w_(w), rng_(o.seed) {
    pod_ = Template(ReadCompact("pod.json"), {{"checkout-7d9f8c6b5d-x2k4q", P_NAME},
                                              {"checkout-7d9f8c6b5d", P_RS},
                                              {"7d9f8c6b5d", P_HASH},
                                              {"checkout", P_APP},
                                              {"\"shop\"", P_NS},
                                              {"5f1c2b9e-3a47-4c0e-9d4b-8e2f6a1c7b30", P_UID},
                                              {"0b8e4d21-6f3a-4a9c-b1e7-2d5c9f8a3e14", P_RSUID},
                                              {"\"48213377\"", P_RV},
                                              {"2026-11-20T09:14:03Z", P_CREATED},
                                              {"ip-10-42-17-203.ec2.internal", P_NODE},
                                              {"10.42.17.203", P_HOSTIP},
                                              {"10.42.19.88", P_PODIP},
                                              {"\"Running\"", P_PHASE},
                                              {"\"restartCount\":0", P_RESTARTS},
                                              {"v2.14.1", P_VERSION}});
    node_ = Template(ReadCompact("node.json"), {{"ip-10-42-17-203.ec2.internal", N_NAME},
                                                {"a3d9e1f7-2b6c-4e8a-9f1d-5c7b3e0a8d42", N_UID},
                                                {"\"48213402\"", N_RV},
                                                {"2026-11-20T09:20:41Z", N_HEARTBEAT},
                                                {"10.42.17.203", N_IP},
                                                {"95551679124", N_STORAGE}});
    event_ = Template(ReadCompact("event.json"),
                      {{"checkout-7d9f8c6b5d-x2k4q.1879c3f1a2b4d6e8", E_NAME},
                       {"checkout-7d9f8c6b5d-x2k4q", E_INAME},
                       {"\"shop\"", E_NS},
                       {"c7e2a9f4-1b3d-4f6a-8c0e-2d4f6a8c0e1b", E_UID},
                       {"5f1c2b9e-3a47-4c0e-9d4b-8e2f6a1c7b30", E_IUID},
                       {"\"48213380\"", E_RV},
                       {"\"Pulled\"", E_REASON},
                       {"Container image \\\"registry.example.com/shop/checkout:v2.14.1\\\" "
                        "already present on machine",
                        E_MSG},
                       {"\"firstTimestamp\":\"2026-11-20T09:14:05Z\"", E_FIRST},
                       {"\"lastTimestamp\":\"2026-11-20T09:14:05Z\"", E_LAST},
                       {"2026-11-20T09:14:05Z", E_CREATED},
                       {"\"count\":1", E_COUNTV},
                       {"\"type\":\"Normal\"", E_TYPE},
                       {"ip-10-42-17-203.ec2.internal", E_NODE}});
    deploy_ = Template(ReadCompact("deployment.json"),
                       {{"\"generation\":14", D_GEN},
                        {"\"deployment.kubernetes.io/revision\":\"14\"", D_REV},
                        {"checkout", D_NAME},
                        {"\"shop\"", D_NS},
                        {"e4b8c2d6-0a1f-4e3b-9c5d-7f2a4b6c8e0d", D_UID},
                        {"\"48213420\"", D_RV},
                        {"v2.14.1", D_VERSION},
                        {"\"replicas\":3", D_REPLICAS}});
    values_.resize(16);
    for (int n = 0; n < o.nodes; ++n) {
      Node node;
      node.name = "ip-10-" + std::to_string(40 + n / 62500) + "-" + std::to_string(n / 250 % 250) +
                  "-" + std::to_string(n % 250) + ".ec2.internal";
      node.ip = "10." + std::to_string(40 + n / 62500) + "." + std::to_string(n / 250 % 250) + "." +
                std::to_string(n % 250);
      node.uid = Uid();
      node.created = o.start_unix * kSec - int64_t(rng_() % (60 * 24 * 3600)) * kSec;
      node.storage = 95551679124ULL - rng_() % 1000000000;
      node.phase = int(rng_() % 5);
      nodes_.push_back(std::move(node));
    }
    int total = 0, d = 0;
    while (total < o.pods) {
      Deploy dep;
      dep.ns = "team-" + std::to_string(d % std::max(4, o.pods / 400));
      dep.name = "svc-" + std::to_string(d);
      dep.uid = Uid();
      dep.replicas = std::min<int>(o.pods - total, 2 + int(rng_() % 37));
      dep.created = o.start_unix * kSec - int64_t(rng_() % (200 * 24 * 3600)) * kSec;
      dep.generation = 1 + int(rng_() % 40);
      dep.hash = Hash(10);
      dep.rs_uid = Uid();
      total += dep.replicas;
      deploys_.push_back(std::move(dep));
      ++d;
    }
  }

  void Run() {
    const int64_t t0 = o_.start_unix * kSec;
    // The initial list: nodes, deployments, pods, as LIST items a microsecond apart.
    int64_t t = t0;
    for (size_t n = 0; n < nodes_.size(); ++n) EmitNode(t, n, "LIST", false);
    for (size_t d = 0; d < deploys_.size(); ++d) {
      EmitDeploy(t, d, "LIST");
      for (int r = 0; r < deploys_[d].replicas; ++r) {
        Pod p = NewPod(d, t - int64_t(rng_() % (3 * 24 * 3600)) * kSec);
        p.phase = "Running";
        EmitPod(t, d, p, "LIST");
        deploys_[d].pods.push_back(std::move(p));
      }
      Flush(t0 + kMin);  // keeps the initial list of a large cluster out of memory
    }
    // Pick the crash-looping pods (1%).
    for (auto& dep : deploys_)
      for (auto& p : dep.pods) p.crashloop = rng_() % 100 == 0;
    Flush(t0 + kMin);
    for (int64_t m = 1; m <= o_.churn_minutes; ++m) {
      Minute(t0 + m * kMin);
      Flush(t0 + (m + 1) * kMin);
    }
    Flush(INT64_MAX);
  }

  uint64_t records = 0;

 private:
  struct Pod {
    std::string name, uid, node, host_ip, ip, phase = "Pending";
    int64_t created = 0;
    int restarts = 0;
    bool crashloop = false;
    bool terminating = false;
    std::string backoff_event;  // name of its BackOff Event, once it has one
  };
  struct Deploy {
    std::string ns, name, uid, hash, rs_uid;
    int replicas = 0, generation = 1;
    int64_t created = 0;
    std::deque<Pod> pods;
  };
  struct Node {
    std::string name, uid, ip;
    int64_t created = 0, heartbeat = 0;
    uint64_t storage = 0;
    int phase = 0;
  };
  struct Event {
    std::string ns, uid, iname, iuid, reason, message, node;
    bool warning = false;
    int count = 0;
    int64_t first = 0, last = 0;
  };

  std::string Uid() {
    char buf[40];
    std::snprintf(buf, sizeof(buf), "%08x-%04x-4%03x-a%03x-%012llx", unsigned(rng_()),
                  unsigned(rng_() & 0xffff), unsigned(rng_() & 0xfff), unsigned(rng_() & 0xfff),
                  static_cast<unsigned long long>(rng_() & 0xffffffffffffULL));
    return buf;
  }
  std::string Hash(int n) {
    static const char kAlnum[] = "bcdfghjklmnpqrstvwxz2456789";
    std::string s;
    for (int i = 0; i < n; ++i) s += kAlnum[rng_() % 27];
    return s;
  }
  std::string NextRv() { return "\"" + std::to_string(++rv_) + "\""; }

  void Push(int64_t ts, const char* type, const char* group, const char* resource, const char* kind,
            bool namespaced) {
    pending_.push_back(Pending{ts, seq_++, type, group, resource, kind, namespaced, out_});
  }

  // Writes, in time order, every pending record before `until`.
  void Flush(int64_t until) {
    std::sort(pending_.begin(), pending_.end(), [](const Pending& a, const Pending& b) {
      return a.ts != b.ts ? a.ts < b.ts : a.seq < b.seq;
    });
    size_t i = 0;
    for (; i < pending_.size() && pending_[i].ts < until; ++i) {
      Pending& p = pending_[i];
      int64_t ts = std::max(p.ts, last_ts_ + 1);  // strictly increasing: unique watch keys
      last_ts_ = ts;
      w_.Record(ts, p.type, p.group, "v1", p.resource, p.kind, p.namespaced, p.object);
      ++records;
    }
    pending_.erase(pending_.begin(), pending_.begin() + i);
  }

  Pod NewPod(size_t d, int64_t created) {
    Pod p;
    p.name = deploys_[d].name + "-" + deploys_[d].hash + "-" + Hash(5);
    p.uid = Uid();
    size_t n = rng_() % nodes_.size();
    p.node = nodes_[n].name;
    p.host_ip = nodes_[n].ip;
    p.ip = "10.96." + std::to_string(rng_() % 250) + "." + std::to_string(rng_() % 250);
    p.created = created;
    return p;
  }

  void EmitPod(int64_t t, size_t d, const Pod& p, const char* type) {
    const Deploy& dep = deploys_[d];
    auto& v = values_;
    v[P_NAME] = p.name;
    v[P_RS] = dep.name + "-" + dep.hash;
    v[P_HASH] = dep.hash;
    v[P_APP] = dep.name;
    v[P_NS] = "\"" + dep.ns + "\"";
    v[P_UID] = p.uid;
    v[P_RSUID] = dep.rs_uid;
    v[P_RV] = NextRv();
    v[P_CREATED] = FormatRfc3339Fixed(p.created, 0);
    v[P_NODE] = p.node;
    v[P_HOSTIP] = p.host_ip;
    v[P_PODIP] = p.ip;
    v[P_PHASE] = "\"" + p.phase + "\"";
    v[P_RESTARTS] = "\"restartCount\":" + std::to_string(p.restarts);
    v[P_VERSION] = "v2." + std::to_string(dep.generation) + ".0";
    pod_.Render(v, out_);
    Push(t, type, "", "pods", "Pod", true);
  }

  void EmitNode(int64_t t, size_t n, const char* type, bool real_change) {
    Node& node = nodes_[n];
    if (real_change) node.storage -= 1 + rng_() % 100000000;
    node.heartbeat = t;
    auto& v = values_;
    v[N_NAME] = node.name;
    v[N_UID] = node.uid;
    v[N_RV] = NextRv();
    v[N_HEARTBEAT] = FormatRfc3339Fixed(t, 0);
    v[N_IP] = node.ip;
    v[N_STORAGE] = std::to_string(node.storage);
    node_.Render(v, out_);
    Push(t, type, "", "nodes", "Node", false);
  }

  void EmitDeploy(int64_t t, size_t d, const char* type) {
    const Deploy& dep = deploys_[d];
    auto& v = values_;
    v[D_NAME] = dep.name;
    v[D_NS] = "\"" + dep.ns + "\"";
    v[D_UID] = dep.uid;
    v[D_RV] = NextRv();
    v[D_GEN] = "\"generation\":" + std::to_string(dep.generation);
    v[D_REV] = "\"deployment.kubernetes.io/revision\":\"" + std::to_string(dep.generation) + "\"";
    v[D_VERSION] = "v2." + std::to_string(dep.generation) + ".0";
    v[D_REPLICAS] = "\"replicas\":" + std::to_string(dep.replicas);
    deploy_.Render(v, out_);
    Push(t, type, "apps", "deployments", "Deployment", true);
  }

  void RenderEvent(const std::string& name, const Event& e) {
    auto& v = values_;
    v[E_NAME] = name;
    v[E_INAME] = e.iname;
    v[E_NS] = "\"" + e.ns + "\"";
    v[E_UID] = e.uid;
    v[E_IUID] = e.iuid;
    v[E_RV] = NextRv();
    v[E_REASON] = "\"" + e.reason + "\"";
    v[E_MSG] = e.message;
    v[E_FIRST] = "\"firstTimestamp\":\"" + FormatRfc3339Fixed(e.first, 0) + "\"";
    v[E_LAST] = "\"lastTimestamp\":\"" + FormatRfc3339Fixed(e.last, 0) + "\"";
    v[E_CREATED] = FormatRfc3339Fixed(e.first, 0);
    v[E_COUNTV] = "\"count\":" + std::to_string(e.count);
    v[E_TYPE] = e.warning ? "\"type\":\"Warning\"" : "\"type\":\"Normal\"";
    v[E_NODE] = e.node;
    event_.Render(v, out_);
  }

  // A new Event about pod p, or (when `name` names a live one) its next occurrence.
  std::string EmitEvent(int64_t t, size_t d, const Pod& p, const std::string& reason,
                        const std::string& message, bool warning, std::string name = "") {
    auto it = name.empty() ? events_.end() : events_.find(name);
    const char* type = "MODIFIED";
    if (it == events_.end()) {
      // As client-go's event recorder names them: the object's name and the recording
      // client's clock in hex nanoseconds (which lags the record's time by a little).
      for (int64_t at = t - int64_t(rng_() % 1000000000);; ++at) {
        char suffix[24];
        std::snprintf(suffix, sizeof suffix, ".%llx", static_cast<unsigned long long>(at));
        name = p.name + suffix;
        if (!events_.contains(name)) break;
      }
      Event e;
      e.ns = deploys_[d].ns;
      e.uid = Uid();
      e.iname = p.name;
      e.iuid = p.uid;
      e.reason = reason;
      e.message = message;
      e.node = p.node;
      e.warning = warning;
      e.first = t;
      it = events_.emplace(name, std::move(e)).first;
      type = "ADDED";
    }
    Event& e = it->second;
    ++e.count;
    e.last = t;
    expiry_.push_back({t + kHour, name});
    RenderEvent(name, e);
    Push(t, type, "", "events", "Event", true);
    return name;
  }

  void StartPod(int64_t t, size_t d) {
    Deploy& dep = deploys_[d];
    Pod p = NewPod(d, t);
    EmitPod(t, d, p, "ADDED");
    EmitEvent(t + kSec, d, p, "Scheduled",
              "Successfully assigned " + dep.ns + "/" + p.name + " to " + p.node, false);
    EmitPod(t + kSec, d, p, "MODIFIED");
    EmitEvent(t + 2 * kSec, d, p, "Pulling",
              "Pulling image \\\"registry.example.com/" + dep.name + ":v2." +
                  std::to_string(dep.generation) + ".0\\\"",
              false);
    EmitEvent(t + 4 * kSec, d, p, "Pulled", "Successfully pulled image in 1.8s", false);
    EmitEvent(t + 4 * kSec, d, p, "Created", "Created container " + dep.name, false);
    EmitEvent(t + 5 * kSec, d, p, "Started", "Started container " + dep.name, false);
    p.phase = "Running";
    EmitPod(t + 6 * kSec, d, p, "MODIFIED");
    dep.pods.push_back(std::move(p));
  }

  void StopPod(int64_t t, size_t d, Pod& p) {
    EmitEvent(t, d, p, "Killing", "Stopping container " + deploys_[d].name, false);
    EmitPod(t, d, p, "MODIFIED");
    p.phase = "Succeeded";
    EmitPod(t + 2 * kSec, d, p, "DELETED");
  }

  void Minute(int64_t t) {
    // Rollouts: each Deployment about three times a day; pods replaced one every 3 s.
    for (size_t d = 0; d < deploys_.size(); ++d) {
      if (rng_() % 480 != 0) continue;
      Deploy& dep = deploys_[d];
      ++dep.generation;
      dep.hash = Hash(10);
      dep.rs_uid = Uid();
      EmitDeploy(t, d, "MODIFIED");
      size_t n = dep.pods.size();
      for (size_t i = 0; i < n; ++i) {
        int64_t at = t + int64_t(i) * 3 * kSec;
        StartPod(at, d);
        StopPod(at + 7 * kSec, d, dep.pods.front());
        dep.pods.pop_front();
      }
      EmitDeploy(t + int64_t(n) * 3 * kSec + 8 * kSec, d, "MODIFIED");
    }
    // Crash loops: a crash-looping pod restarts about every 5 minutes (the kubelet's back-off
    // cap), with a BackOff Warning whose count goes up.
    for (size_t d = 0; d < deploys_.size(); ++d) {
      for (auto& p : deploys_[d].pods) {
        if (!p.crashloop || rng_() % 5 != 0) continue;
        int64_t at = t + int64_t(rng_() % 50) * kSec;
        ++p.restarts;
        EmitPod(at, d, p, "MODIFIED");
        p.backoff_event = EmitEvent(
            at + kSec, d, p, "BackOff",
            "Back-off restarting failed container " + deploys_[d].name + " in pod " + p.name, true,
            p.backoff_event);
      }
    }
    // Nodes: a status update every 5 minutes (heartbeat only), a real change about hourly.
    int64_t minute = (t / kMin) % 5;
    for (size_t n = 0; n < nodes_.size(); ++n) {
      if (nodes_[n].phase != minute) continue;
      EmitNode(t + int64_t(n % 60) * kSec, n, "MODIFIED", rng_() % 12 == 0);
    }
    // The API server deletes Events an hour after their last update (--event-ttl).
    while (!expiry_.empty() && expiry_.front().first <= t) {
      auto [when, name] = std::move(expiry_.front());
      expiry_.pop_front();
      auto it = events_.find(name);
      if (it == events_.end() || it->second.last + kHour > when) continue;  // updated since
      RenderEvent(name, it->second);
      Push(when, "DELETED", "", "events", "Event", true);
      events_.erase(it);
    }
  }

  GenerateOptions o_;
  CaptureWriter& w_;
  std::mt19937_64 rng_;
  Template pod_, node_, event_, deploy_;
  std::vector<std::string> values_;
  std::string out_;
  std::vector<Node> nodes_;
  std::vector<Deploy> deploys_;
  std::unordered_map<std::string, Event> events_;
  std::deque<std::pair<int64_t, std::string>> expiry_;
  std::vector<Pending> pending_;
  uint64_t seq_ = 0, rv_ = 50000000;
  int64_t last_ts_ = 0;
};

}  // namespace

bool SizePreset(const std::string& name, GenerateOptions* out) {
  GenerateOptions o;
  if (name == "small") {
    o.pods = 200;
    o.nodes = 10;
    o.churn_minutes = 90;
  } else if (name == "medium") {
    o.pods = 10000;
    o.nodes = 300;
    o.churn_minutes = 24 * 60;
  } else if (name == "large") {
    o.pods = 150000;
    o.nodes = 5000;
    o.churn_minutes = 60;
  } else {
    return false;
  }
  *out = o;
  return true;
}

GenerateResult GenerateCapture(const std::string& path, const GenerateOptions& options) {
  GenerateResult r;
  CaptureWriter w(path, options.zstd_level);
  if (!w.ok()) {
    r.error = "cannot create " + path;
    return r;
  }
  w.Header("sloop-bench-synthetic", options.seed);
  Generator g(options, w);
  g.Run();
  r.records = g.records;
  r.raw_bytes = w.raw_bytes();
  if (!w.Close()) r.error = "write error on " + path;
  return r;
}

}  // namespace sloop::bench
