// The watcher against the cluster simulator on loopback: everything the simulator emitted must end
// up recorded, also while watches are cut, stall, get 410 Expired, 429 and 500; TLS with a token
// and a client certificate; start-up errors that name the server.
#include "ingest/ingester.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <simdjson.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "engine/interval_sink.h"
#include "engine/record_sink.h"
#include "ingest/playback.h"
#include "tests/tools/sloop/emitted.h"
#include "tests/tools/sloop/process.h"

namespace sloop::ingest {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using sloop::testing::Emitted;
using sloop::testing::Process;
using sloop::testing::ReadFile;
using sloop::testing::WaitFor;

// Keeps, per uid, what was last recorded. An Event's record holds no uid (it is known by
// namespace and name): its payload's is taken.
class LastStateSink : public RecordSink {
 public:
  struct Last {
    std::string kind, ns, name, rv;
    WatchType type = WatchType::kAdded;
    int records = 0;
  };
  Result<void> Append(const RecordView& r) override {
    std::lock_guard lock(mu_);
    std::string_view uid = r.uid;
    if (uid.empty() && r.kind == "Event") {
      EXPECT_EQ(parser_.parse(r.payload.data(), r.payload.size())["metadata"]["uid"].get(uid),
                simdjson::SUCCESS)
          << r.payload;
    }
    Last& l = by_uid_[std::string(uid)];
    l.kind = r.kind;
    l.ns = r.namespace_;
    l.name = r.name;
    l.rv = r.resource_version;
    l.type = r.watch_type;
    l.records++;
    counts_[r.watch_type]++;
    return {};
  }
  std::map<std::string, Last> Snapshot() const {
    std::lock_guard lock(mu_);
    return by_uid_;
  }
  int Count(WatchType t) const {
    std::lock_guard lock(mu_);
    auto it = counts_.find(t);
    return it == counts_.end() ? 0 : it->second;
  }

 private:
  mutable std::mutex mu_;
  simdjson::dom::parser parser_;
  std::map<std::string, Last> by_uid_;
  std::map<WatchType, int> counts_;
};

// What the ingester reported as time it may have missed (IngestOptions::gaps).
class GapLog : public IntervalSink {
 public:
  struct Gap {
    IntervalMark mark;
    int64_t end_ns = 0;  // 0: still open
    bool cancelled = false;
    std::string final_reason;
  };
  uint64_t OpenInterval(const IntervalMark& mark) override {
    std::lock_guard lock(mu_);
    gaps_.push_back(Gap{mark});
    return gaps_.size();
  }
  void CloseInterval(uint64_t id, int64_t end_ns, std::string_view reason) override {
    std::lock_guard lock(mu_);
    Gap& g = gaps_.at(id - 1);
    EXPECT_EQ(g.end_ns, 0) << "closed twice";
    EXPECT_FALSE(g.cancelled) << "closed after being withdrawn";
    g.end_ns = end_ns;
    g.final_reason = reason.empty() ? g.mark.reason : std::string(reason);
  }
  void CancelInterval(uint64_t id) override {
    std::lock_guard lock(mu_);
    Gap& g = gaps_.at(id - 1);
    EXPECT_EQ(g.end_ns, 0) << "withdrawn after being closed";
    g.cancelled = true;
  }
  std::vector<Gap> Snapshot() const {
    std::lock_guard lock(mu_);
    return gaps_;
  }
  // Closed (not withdrawn) gaps of scope "watch".
  std::vector<Gap> Closed() const {
    std::vector<Gap> out;
    for (const Gap& g : Snapshot()) {
      if (!g.cancelled && g.end_ns != 0) out.push_back(g);
    }
    return out;
  }

 private:
  mutable std::mutex mu_;
  std::vector<Gap> gaps_;
};

int64_t WallNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Differences between what was emitted and what was recorded (empty: nothing lost). Kinds the
// recorder does not watch by default (Leases, CRDs themselves) are skipped; for Nodes only their
// presence is checked, since heartbeat-only updates are dropped on purpose.
std::vector<std::string> Mismatches(const std::map<std::string, Emitted>& emitted,
                                    const LastStateSink& sink) {
  std::vector<std::string> out;
  auto got = sink.Snapshot();
  for (const auto& [uid, e] : emitted) {
    if (e.kind == "Lease" || e.kind == "CustomResourceDefinition") continue;
    std::string what = e.kind + " " + e.ns + "/" + e.name;
    auto it = got.find(uid);
    if (it == got.end()) {
      out.push_back(what + ": never recorded");
      continue;
    }
    const auto& l = it->second;
    bool recorded_deleted = l.type == WatchType::kDeleted || l.type == WatchType::kDeletedInferred;
    if (e.deleted != recorded_deleted) {
      out.push_back(what + (e.deleted ? ": deleted, but not recorded as deleted"
                                      : ": recorded as deleted but still exists"));
    } else if (!e.deleted && e.kind != "Node" && l.rv != e.last_rv) {
      out.push_back(what + ": last recorded resourceVersion " + l.rv + ", last emitted " +
                    e.last_rv);
    }
  }
  return out;
}

// The attempt number a readiness message names ("… (attempt 4, next in 8.0 s)"), 0 if none.
int Attempt(const std::string& waiting_for) {
  size_t at = waiting_for.rfind("(attempt ");
  return at == std::string::npos ? 0 : std::atoi(waiting_for.c_str() + at + 9);
}

class IngesterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("sloop-ingester-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (ingester_) ingester_->Stop();
    sim_.Stop(SIGTERM, 5s);
    if (!HasFailure()) fs::remove_all(dir_);
  }

  // Starts kubesim with `extra` flags; fills kubeconfig_ (context "kubesim").
  void StartSim(std::vector<std::string> extra) {
    fs::path port_file = dir_ / "kubesim.port";
    std::vector<std::string> args = {SLOOP_KUBESIM,      "--port",           "0",
                                     "--bind",           "127.0.0.1",        "--port-file",
                                     port_file.string(), "--kubeconfig-out", kubeconfig_.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    sim_.Start(args, {}, dir_ / "kubesim.log");
    ASSERT_TRUE(
        WaitFor([&] { return !ReadFile(port_file).empty() && fs::exists(kubeconfig_); }, 15s))
        << sim_.Log();
  }

  IngestOptions Options() {
    IngestOptions o;
    o.kubeconfig_path = kubeconfig_.string();
    o.backoff_initial = 20ms;
    o.backoff_max = 500ms;
    o.watch_timeout = 5s;
    o.stall_timeout = 2s;
    o.request_timeout = 10s;
    o.service_account_dir = (dir_ / "no-service-account").string();
    return o;
  }

  // sloop_ingest_forbidden_kinds{kind}, -1 when there is no such series.
  double ForbiddenGauge(const std::string& kind) {
    for (const auto& family : registry_.Collect()) {
      if (family.name != "sloop_ingest_forbidden_kinds") continue;
      for (const auto& m : family.metric) {
        for (const auto& label : m.label) {
          if (label.name == "kind" && label.value == kind) return m.gauge.value;
        }
      }
    }
    return -1;
  }

  uint64_t Total(uint64_t KindStatus::*field) const {
    uint64_t n = 0;
    for (const auto& s : ingester_->Status()) n += s.*field;
    return n;
  }

  // Runs a scenario that freezes after `freeze`, then checks that everything emitted was recorded.
  void ExpectNothingLost(std::chrono::seconds freeze) {
    std::this_thread::sleep_for(freeze + 1s);
    ASSERT_TRUE(WaitFor(
        [&] { return ReadFile(dir_ / "kubesim.log").find("frozen at") != std::string::npos; }, 10s))
        << sim_.Log();
    auto emitted = sloop::testing::LoadEmitted(dir_ / "emitted.jsonl").by_uid;
    ASSERT_GT(emitted.size(), 50u);
    std::vector<std::string> diff;
    WaitFor(
        [&] {
          diff = Mismatches(emitted, sink_);
          return diff.empty();
        },
        30s);
    std::string list;
    for (size_t i = 0; i < diff.size() && i < 15; ++i) list += "\n  " + diff[i];
    EXPECT_TRUE(diff.empty()) << diff.size() << " of " << emitted.size()
                              << " objects differ:" << list;
  }

  fs::path dir_;
  fs::path kubeconfig_ = fs::temp_directory_path() / "unused";
  Process sim_;
  LastStateSink sink_;
  prometheus::Registry registry_;
  std::unique_ptr<Ingester> ingester_;
};

TEST_F(IngesterTest, NothingLostThroughDropsExpiriesThrottlingAndErrors) {
  kubeconfig_ = dir_ / "kubeconfig";
  StartSim({"--scenario",
            "default",
            "--seed",
            "5",
            "--speed",
            "4",
            "--window",
            "400",
            "--bookmark-interval",
            "1s",
            "--drop-watches-every",
            "3s",
            "--expire-every",
            "4s",
            "--throttle-every",
            "23",
            "--error-every",
            "29",
            "--freeze-after",
            "16s",
            "--capture",
            (dir_ / "emitted.jsonl").string()});
  IngestOptions options = Options();
  options.record_file = (dir_ / "recorded.ndjson").string();
  auto started = Ingester::Start(options, sink_, registry_);
  ASSERT_TRUE(started.has_value()) << started.error().message << "\n" << sim_.Log();
  ingester_ = std::move(*started);
  ExpectNothingLost(16s);
  // The faults did happen, and were survived by reconnecting and relisting.
  EXPECT_GT(Total(&KindStatus::reconnects), 0u);
  EXPECT_GT(Total(&KindStatus::relists), 0u);
  EXPECT_GT(sink_.Count(WatchType::kDeleted) + sink_.Count(WatchType::kDeletedInferred), 0);
  // What it recorded (-record-file) marks where each list ended, and replays to the same
  // history's end: every object as last emitted.
  ingester_->Stop();
  ingester_.reset();
  const std::string recorded = ReadFile(dir_ / "recorded.ndjson");
  EXPECT_NE(recorded.find(R"("list_ends":true)"), std::string::npos);
  EXPECT_NE(recorded.find(R"("type":"LIST_END")"), std::string::npos);
  LastStateSink replayed;
  auto played = Playback((dir_ / "recorded.ndjson").string(), Options(), replayed, nullptr);
  ASSERT_TRUE(played) << played.error().ToString();
  auto emitted = sloop::testing::LoadEmitted(dir_ / "emitted.jsonl").by_uid;
  const std::vector<std::string> diff = Mismatches(emitted, replayed);
  std::string list;
  for (size_t i = 0; i < diff.size() && i < 15; ++i) list += "\n  " + diff[i];
  EXPECT_TRUE(diff.empty()) << diff.size() << " objects differ after the replay:" << list;
}

// A sink that knows what is alive, as the store does (LiveObjects, LastPayload), and keeps every
// record's kind, name and watch type.
class AliveSink : public RecordSink {
 public:
  struct Record {
    std::string kind, name;
    WatchType type;
  };
  Result<void> Append(const RecordView& r) override {
    std::lock_guard lock(mu_);
    records_.push_back(Record{std::string(r.kind), std::string(r.name), r.watch_type});
    auto key = std::tuple(std::string(r.api_group), std::string(r.kind), std::string(r.namespace_),
                          std::string(r.name));
    if (r.watch_type == WatchType::kDeleted || r.watch_type == WatchType::kDeletedInferred) {
      alive_.erase(key);
    } else {
      alive_[key] = {std::string(r.uid), std::string(r.resource_version), std::string(r.payload)};
    }
    return {};
  }
  std::optional<std::string> LastPayload(std::string_view group, std::string_view kind,
                                         std::string_view ns, std::string_view name,
                                         std::string_view, int64_t) const override {
    std::lock_guard lock(mu_);
    auto it = alive_.find(
        std::tuple(std::string(group), std::string(kind), std::string(ns), std::string(name)));
    if (it == alive_.end()) return std::nullopt;
    return it->second.payload;
  }
  std::vector<LiveObject> LiveObjects(std::string_view group, std::string_view kind,
                                      std::string_view ns) const override {
    std::lock_guard lock(mu_);
    std::vector<LiveObject> out;
    for (const auto& [key, o] : alive_) {
      const auto& [g, k, n, name] = key;
      if (g == group && k == kind && (ns.empty() || n == ns)) {
        out.push_back(LiveObject{n, name, o.uid, o.rv});
      }
    }
    return out;
  }
  std::vector<Record> Records() const {
    std::lock_guard lock(mu_);
    return records_;
  }

 private:
  struct Object {
    std::string uid, rv, payload;
  };
  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, std::string, std::string>, Object> alive_;
  std::vector<Record> records_;
};

// A CRD deleted while sloop was down took its objects with it: at the next start discovery no
// longer lists the kind, and the first list of CRDs infers the CRD's deletion; the objects of
// its kind the store held as alive are then recorded as deleted too. A kind still served (the
// simulator's Widgets) is left to its own lists.
TEST_F(IngesterTest, ACrdDeletedWhileSloopWasDownTakesItsObjectsWithIt) {
  kubeconfig_ = dir_ / "kubeconfig";
  StartSim({"--scenario", "e2e"});
  AliveSink store;
  auto record = [&](std::string group, std::string kind, std::string ns, std::string name,
                    std::string uid, std::string payload) {
    RecordView r;
    r.observed_ns = 1795165200LL * 1000000000LL;
    r.watch_type = WatchType::kAdded;
    r.api_group = group;
    r.api_version = "v1";
    r.kind = kind;
    r.namespace_ = ns;
    r.name = name;
    r.uid = uid;
    r.resource_version = "5";
    r.payload = payload;
    ASSERT_TRUE(store.Append(r).has_value());
  };
  record("apiextensions.k8s.io", "CustomResourceDefinition", "", "gizmos.example.com", "crd-gz",
         R"({"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition",)"
         R"("metadata":{"name":"gizmos.example.com","uid":"crd-gz","resourceVersion":"5"},)"
         R"("spec":{"group":"example.com","names":{"kind":"Gizmo","plural":"gizmos"},)"
         R"("scope":"Namespaced","versions":[{"name":"v1alpha1","served":true,"storage":false},)"
         R"({"name":"v1","served":true,"storage":true}]}})");
  for (const char* name : {"g1", "g2"}) {
    record("example.com", "Gizmo", "e2e-apps", name, std::string("uid-") + name,
           R"({"apiVersion":"example.com/v1","kind":"Gizmo","metadata":{"name":")" +
               std::string(name) + R"(","namespace":"e2e-apps","uid":"uid-)" + name +
               R"(","resourceVersion":"5"}})");
  }
  auto started = Ingester::Start(Options(), store, registry_);
  ASSERT_TRUE(started.has_value()) << started.error().message;
  ingester_ = std::move(*started);
  ASSERT_TRUE(WaitFor([&] { return ingester_->Readiness().ready; }, 20s))
      << ingester_->Readiness().waiting_for << "\n"
      << sim_.Log();
  auto deleted = [&](const std::string& kind, const std::string& name) {
    for (const auto& r : store.Records()) {
      if (r.kind == kind && r.name == name && r.type == WatchType::kDeletedInferred) return true;
    }
    return false;
  };
  EXPECT_TRUE(WaitFor(
      [&] {
        return deleted("CustomResourceDefinition", "gizmos.example.com") &&
               deleted("Gizmo", "g1") && deleted("Gizmo", "g2");
      },
      10s));
  EXPECT_TRUE(store.LiveObjects("example.com", "Gizmo", "").empty());
  EXPECT_EQ(store.LiveObjects("apiextensions.k8s.io", "CustomResourceDefinition", "").size(), 1u)
      << "widgets.example.com, still served";
  for (const auto& r : store.Records()) {
    EXPECT_FALSE(r.kind == "Widget" && r.type == WatchType::kDeletedInferred) << r.name;
  }
}

// Each connection reads the API server's clock from its Date header and says how far this
// machine's is ahead of it (within a second or two when both are right).
TEST_F(IngesterTest, TheApiServersClockIsReadAtConnection) {
  for (const char* offset : {"0s", "-30d"}) {
    SCOPED_TRACE(offset);
    kubeconfig_ = dir_ / "kubeconfig";
    fs::remove(kubeconfig_);  // StartSim waits for the new server's files
    fs::remove(dir_ / "kubesim.port");
    StartSim({"--scenario", "e2e", "--clock-offset", offset});
    std::atomic<int64_t> ahead{INT64_MIN};
    IngestOptions options = Options();
    options.clock_ahead = [&](int64_t ns) { ahead = ns; };
    auto started = Ingester::Start(options, sink_, registry_);
    ASSERT_TRUE(started.has_value()) << started.error().message;
    ingester_ = std::move(*started);
    ASSERT_TRUE(WaitFor([&] { return ahead.load() != INT64_MIN; }, 20s)) << sim_.Log();
    const int64_t want = std::string(offset) == "0s" ? 0 : 30 * 86400LL * 1'000'000'000;
    EXPECT_NEAR(static_cast<double>(ahead.load() - want), 0.0, 3e9) << ahead.load();
    ingester_->Stop();
    ingester_.reset();
    sim_.Stop(SIGTERM, 5s);
  }
}

TEST_F(IngesterTest, StalledWatchesAreReopened) {
  kubeconfig_ = dir_ / "kubeconfig";
  StartSim({"--scenario", "default", "--seed", "9", "--speed", "4", "--bookmark-interval", "500ms",
            "--stall-watches-after", "2s", "--freeze-after", "10s", "--capture",
            (dir_ / "emitted.jsonl").string()});
  auto started = Ingester::Start(Options(), sink_, registry_);
  ASSERT_TRUE(started.has_value()) << started.error().message;
  ingester_ = std::move(*started);
  ExpectNothingLost(10s);
  EXPECT_GT(Total(&KindStatus::reconnects), 0u);
}

TEST_F(IngesterTest, TlsWithTokenAndClientCertificate) {
  kubeconfig_ = dir_ / "kubeconfig";
  StartSim({"--scenario", "e2e", "--tls", "--token", "s3cret", "--client-ca", "generated",
            "--cert-dir", (dir_ / "certs").string()});
  std::string config = ReadFile(kubeconfig_);
  ASSERT_NE(config.find("certificate-authority-data"), std::string::npos) << config;
  ASSERT_NE(config.find("client-certificate-data"), std::string::npos) << config;
  auto started = Ingester::Start(Options(), sink_, registry_);
  ASSERT_TRUE(started.has_value()) << started.error().message << "\n" << sim_.Log();
  ingester_ = std::move(*started);
  EXPECT_TRUE(WaitFor([&] { return ingester_->Synced(); }, 20s));
  EXPECT_TRUE(WaitFor(
      [&] {
        for (const auto& [uid, l] : sink_.Snapshot()) {
          if (l.kind == "Pod") return true;
        }
        return false;
      },
      10s));
  ingester_->Stop();
  ingester_.reset();

  // The same server with a wrong token: start-up goes on trying, and readiness names the server
  // and the cause.
  std::string wrong = config;
  wrong.replace(wrong.find("s3cret"), 6, "wrong!");
  std::ofstream(dir_ / "wrong-token") << wrong;
  IngestOptions o = Options();
  o.kubeconfig_path = (dir_ / "wrong-token").string();
  auto refused = Ingester::Start(o, sink_, registry_);
  ASSERT_TRUE(refused.has_value()) << refused.error().message;
  ingester_ = std::move(*refused);
  IngestReadiness r;
  EXPECT_TRUE(WaitFor(
      [&] {
        r = ingester_->Readiness();
        // Not "401" alone: the server's port may hold those digits ("connecting to …:40189").
        return r.waiting_for.find("answered 401") != std::string::npos;
      },
      10s))
      << r.waiting_for;
  EXPECT_FALSE(r.ready);
  EXPECT_NE(r.waiting_for.find("https://127.0.0.1:"), std::string::npos) << r.waiting_for;
  EXPECT_NE(r.waiting_for.find("attempt"), std::string::npos) << r.waiting_for;
}

// An unreachable server is not a reason to exit (in a pod that is a crash loop): the ingester
// keeps trying with backoff and says in its readiness what it waits for.
TEST_F(IngesterTest, UnreachableServerIsRetriedAndNamedInReadiness) {
  kubeconfig_ = dir_ / "kubeconfig";
  int port = sloop::testing::FreePort();  // nothing listens there
  std::ofstream(kubeconfig_)
      << "apiVersion: v1\nkind: Config\ncurrent-context: gone\n"
      << "clusters:\n- name: c\n  cluster:\n    server: http://127.0.0.1:" << port
      << "\nusers:\n- name: u\n  user: {}\n"
      << "contexts:\n- name: gone\n  context:\n    cluster: c\n    user: u\n";
  auto started = Ingester::Start(Options(), sink_, registry_);
  ASSERT_TRUE(started.has_value()) << started.error().message;
  ingester_ = std::move(*started);
  IngestReadiness r;
  EXPECT_TRUE(WaitFor(
      [&] {
        r = ingester_->Readiness();
        return Attempt(r.waiting_for) >= 3;
      },
      20s))
      << r.waiting_for;
  EXPECT_FALSE(r.ready);
  EXPECT_NE(r.waiting_for.find("127.0.0.1:" + std::to_string(port)), std::string::npos)
      << r.waiting_for;
  EXPECT_NE(r.waiting_for.find("unreachable"), std::string::npos) << r.waiting_for;
  ingester_->Stop();  // also while waiting
}

// A role without one kind (403 on configmaps): the other kinds are recorded, readiness does not
// wait for the refused kind, which is shown (readiness, status, gauge) and retried only every
// forbidden_retry: a handful of 403s, not a storm. Once the role allows it, it is recorded.
TEST_F(IngesterTest, ForbiddenKindIsShownAndRetriedSlowly) {
  kubeconfig_ = dir_ / "kubeconfig";
  // Every group but the core one with "*"; core kinds by name, configmaps left out.
  std::ofstream(dir_ / "rbac.yaml") << R"(
kind: ClusterRole
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: sloop}
rules:
- {apiGroups: [""], resources: [pods, nodes, namespaces, events, services, endpoints,
   persistentvolumes, persistentvolumeclaims, replicationcontrollers], verbs: [get, list, watch]}
- apiGroups: [apps, batch, networking.k8s.io, admissionregistration.k8s.io, autoscaling, policy,
              storage.k8s.io, apiextensions.k8s.io, events.k8s.io, coordination.k8s.io, example.com]
  resources: ["*"]
  verbs: [get, list, watch]
---
kind: ClusterRoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: sloop}
roleRef: {kind: ClusterRole, name: sloop}
subjects: [{kind: ServiceAccount, name: sloop, namespace: sloop}]
)";
  StartSim({"--scenario", "e2e", "--tls", "--token", "admin-token", "--user-token",
            "sa-token=system:serviceaccount:sloop:sloop", "--rbac", (dir_ / "rbac.yaml").string(),
            "--cert-dir", (dir_ / "certs").string()});
  std::string config = ReadFile(kubeconfig_);
  ASSERT_NE(config.find("admin-token"), std::string::npos) << config;
  config.replace(config.find("admin-token"), 11, "sa-token");
  std::ofstream(kubeconfig_) << config;
  IngestOptions o = Options();
  o.forbidden_retry = 2s;
  auto started = Ingester::Start(o, sink_, registry_);
  ASSERT_TRUE(started.has_value()) << started.error().message << "\n" << sim_.Log();
  ingester_ = std::move(*started);
  ASSERT_TRUE(WaitFor([&] { return ingester_->Readiness().ready; }, 20s))
      << ingester_->Readiness().waiting_for << "\n"
      << sim_.Log();
  EXPECT_TRUE(ingester_->Synced());
  EXPECT_EQ(ingester_->Readiness().forbidden, std::vector<std::string>{"configmaps"});
  bool shown = false;
  for (const auto& k : ingester_->Status()) {
    EXPECT_EQ(k.forbidden, k.resource == "configmaps") << k.resource;
    if (k.resource == "configmaps") shown = k.state == "forbidden" || k.state == "listing";
  }
  EXPECT_TRUE(shown);
  EXPECT_TRUE(WaitFor(
      [&] {
        for (const auto& [uid, l] : sink_.Snapshot()) {
          if (l.kind == "Pod") return true;
        }
        return false;
      },
      10s));
  for (const auto& [uid, l] : sink_.Snapshot()) EXPECT_NE(l.kind, "ConfigMap") << l.name;
  EXPECT_EQ(ForbiddenGauge("ConfigMap"), 1.0);
  // Over ~5 s with a 2 s retry: the probe's and the list's 403s and two or three retries at most.
  std::this_thread::sleep_for(5s);
  size_t refusals = 0;
  const std::string log = ReadFile(dir_ / "kubesim.log");
  for (size_t at = log.find("kubesim: 403 "); at != std::string::npos;
       at = log.find("kubesim: 403 ", at + 1)) {
    ++refusals;
    EXPECT_NE(log.find("configmaps is forbidden", at), std::string::npos);
  }
  EXPECT_GE(refusals, 2u) << log;
  EXPECT_LE(refusals, 6u) << log;

  // The role is fixed (kubesim reads --rbac again): at the next retry the kind is recorded.
  {
    std::string rbac = ReadFile(dir_ / "rbac.yaml");
    rbac.replace(rbac.find("resources: [pods,"), 17, "resources: [configmaps, pods,");
    std::ofstream(dir_ / "rbac.yaml.new") << rbac;
    fs::rename(dir_ / "rbac.yaml.new", dir_ / "rbac.yaml");
  }
  EXPECT_TRUE(WaitFor([&] { return ingester_->Readiness().forbidden.empty(); }, 15s)) << sim_.Log();
  EXPECT_TRUE(WaitFor(
      [&] {
        for (const auto& [uid, l] : sink_.Snapshot()) {
          if (l.kind == "ConfigMap") return true;
        }
        return false;
      },
      10s));
  EXPECT_EQ(ForbiddenGauge("ConfigMap"), 0.0);
}

// A watch that the server expires (410 Gone) is relisted: the time from its last good frame to the
// end of the relist is a gap of that kind, said to be one. Watches that are cut and resume from
// their resourceVersion lose nothing, and are withdrawn; watches the server ends are no gap.
TEST_F(IngesterTest, ExpiredWatchIsAGapUntilTheRelistEnds) {
  kubeconfig_ = dir_ / "kubeconfig";
  // No bookmarks: a quiet kind's resourceVersion grows old, and the next reconnect after an
  // expiry is told 410.
  StartSim({"--scenario", "default", "--seed", "3", "--speed", "4", "--drop-watches-every", "1s",
            "--expire-every", "2s", "--freeze-after", "15s"});
  GapLog gaps;
  IngestOptions o = Options();
  o.gaps = &gaps;
  const int64_t t0 = WallNowNs();
  auto started = Ingester::Start(o, sink_, registry_);
  ASSERT_TRUE(started.has_value()) << started.error().message << "\n" << sim_.Log();
  ingester_ = std::move(*started);
  ASSERT_TRUE(WaitFor(
      [&] {
        for (const auto& g : gaps.Closed()) {
          if (g.final_reason.find("410 Gone") != std::string::npos) return true;
        }
        return false;
      },
      20s))
      << sim_.Log();
  ingester_->Stop();
  const int64_t t1 = WallNowNs();
  size_t expired = 0, withdrawn = 0;
  for (const auto& g : gaps.Snapshot()) {
    EXPECT_EQ(g.mark.scope, "watch");
    EXPECT_FALSE(g.mark.kind.empty());
    EXPECT_GE(g.mark.start_ns, t0);
    if (g.cancelled) {
      ++withdrawn;
      continue;
    }
    if (g.end_ns == 0) continue;  // down when the ingester stopped
    EXPECT_GE(g.end_ns, g.mark.start_ns);
    EXPECT_LE(g.end_ns, t1);
    if (g.final_reason.find("410 Gone") == std::string::npos) continue;
    ++expired;
    EXPECT_EQ(g.final_reason, "the " + g.mark.kind +
                                  " watch was cut (410 Gone) and relisted; changes in between "
                                  "may be missing");
    // From the last good frame or the end of the last watch (cut every second) to the relist's
    // end: seconds, not the whole run.
    EXPECT_LT(g.end_ns - g.mark.start_ns, int64_t{4'000'000'000}) << g.mark.kind;
  }
  EXPECT_GT(expired, 0u);
  EXPECT_GT(withdrawn, 0u) << "cut watches that resumed from their resourceVersion";
  EXPECT_GT(Total(&KindStatus::relists), 0u);
}

TEST_F(IngesterTest, CutAndEndedWatchesThatResumeAreNoGap) {
  kubeconfig_ = dir_ / "kubeconfig";
  StartSim({"--scenario", "default", "--seed", "4", "--speed", "4", "--bookmark-interval", "300ms",
            "--drop-watches-every", "1500ms"});
  GapLog gaps;
  IngestOptions o = Options();
  o.gaps = &gaps;
  o.watch_timeout = 1s;  // the server also ends each watch after 1 to 2 s
  auto started = Ingester::Start(o, sink_, registry_);
  ASSERT_TRUE(started.has_value()) << started.error().message << "\n" << sim_.Log();
  ingester_ = std::move(*started);
  ASSERT_TRUE(WaitFor([&] { return ingester_->Readiness().ready; }, 20s));
  std::this_thread::sleep_for(6s);
  ingester_->Stop();
  EXPECT_GT(Total(&KindStatus::reconnects), 0u);
  EXPECT_EQ(Total(&KindStatus::relists), 0u);
  size_t withdrawn = 0;
  for (const auto& g : gaps.Snapshot()) {
    EXPECT_EQ(g.end_ns, 0) << g.mark.kind << ": " << g.final_reason;
    if (g.cancelled) ++withdrawn;
  }
  EXPECT_GT(withdrawn, 0u);
  EXPECT_TRUE(gaps.Closed().empty());
}

// A cluster that cannot be reached at start: the whole recorder misses it, from the start on.
TEST_F(IngesterTest, UnreachableClusterAtStartIsAnOpenRecorderGap) {
  kubeconfig_ = dir_ / "kubeconfig";
  int port = sloop::testing::FreePort();
  std::ofstream(kubeconfig_)
      << "apiVersion: v1\nkind: Config\ncurrent-context: gone\n"
      << "clusters:\n- name: c\n  cluster:\n    server: http://127.0.0.1:" << port
      << "\nusers:\n- name: u\n  user: {}\n"
      << "contexts:\n- name: gone\n  context:\n    cluster: c\n    user: u\n";
  GapLog gaps;
  IngestOptions o = Options();
  o.gaps = &gaps;
  const int64_t t0 = WallNowNs();
  auto started = Ingester::Start(o, sink_, registry_);
  ASSERT_TRUE(started.has_value()) << started.error().message;
  ingester_ = std::move(*started);
  ASSERT_TRUE(WaitFor([&] { return Attempt(ingester_->Readiness().waiting_for) >= 2; }, 20s));
  ingester_->Stop();
  auto all = gaps.Snapshot();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].mark.scope, "recorder");
  EXPECT_TRUE(all[0].mark.kind.empty());
  EXPECT_GE(all[0].mark.start_ns, t0);
  EXPECT_LT(all[0].mark.start_ns, t0 + int64_t{1'000'000'000});
  EXPECT_EQ(all[0].end_ns, 0) << "still open: the session's end closes it";
  EXPECT_NE(all[0].mark.reason.find("sloop could not read the cluster"), std::string::npos);
}

// A missing kubeconfig is still an immediate, clear error.
TEST_F(IngesterTest, MissingKubeconfigFailsAtOnce) {
  IngestOptions o = Options();
  o.kubeconfig_path = (dir_ / "no-such-kubeconfig").string();
  auto refused = Ingester::Start(o, sink_, registry_);
  ASSERT_FALSE(refused.has_value());
  EXPECT_NE(refused.error().message.find("no-such-kubeconfig"), std::string::npos)
      << refused.error().message;
}

}  // namespace
}  // namespace sloop::ingest
