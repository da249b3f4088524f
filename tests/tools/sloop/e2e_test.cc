// End to end: the cluster simulator runs its e2e scenario, a real `sloop` watches it, and every
// check goes through sloop's HTTP API. The simulator's live capture is the ground truth: every
// resource it emitted must be in the timeline with the right span, versions and Events must be
// served, a deleted pod must be found by name, a backup must restore into a second sloop that
// answers the same, and SIGTERM followed by a restart must lose nothing.
#include <gtest/gtest.h>
#include <httplib.h>
#include <simdjson.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "tests/tools/sloop/emitted.h"
#include "tests/tools/sloop/process.h"

namespace sloop {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::Emitted;
using testing::Process;
using testing::ReadFile;
using testing::WaitFor;

using Key = std::tuple<std::string, std::string, std::string>;  // kind, namespace, name

class SloopEndToEnd : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / ("sloop-e2e-" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    sim_ = new Process();
    sloop_ = new Process();

    // The simulator, recording everything it emits.
    fs::path port_file = dir_ / "kubesim.port";
    sim_->Start({SLOOP_KUBESIM, "--port", "0", "--bind", "127.0.0.1", "--port-file",
                 port_file.string(), "--scenario", "e2e", "--seed", "7", "--freeze-after", "15s",
                 "--capture", (dir_ / "emitted.jsonl").string()},
                {}, dir_ / "kubesim.log");
    ASSERT_TRUE(WaitFor([&] { return !ReadFile(port_file).empty(); }, 15s)) << sim_->Log();
    int sim_port = std::stoi(ReadFile(port_file));
    testing::WriteSimKubeconfig(dir_ / "kubeconfig", sim_port);

    port_ = testing::FreePort();
    StartSloop(*sloop_, port_, {"-store-root=" + (dir_ / "store").string()}, "sloop.log");
    ASSERT_TRUE(WaitFor([&] { return Get(port_, "/healthz").first == 200; }, 20s)) << sloop_->Log();

    // Let the scenario play until the simulator freezes (its capture is then complete and
    // nothing more happens), give sloop a moment to receive the last events over its watches
    // (the simulator still serves them), then stop the simulator.
    ASSERT_TRUE(WaitFor([&] { return sim_->Log().find("frozen at") != std::string::npos; }, 40s))
        << sim_->Log();
    std::this_thread::sleep_for(3s);
    auto sim_status = sim_->Stop(SIGTERM, 10s);
    ASSERT_TRUE(sim_status.has_value()) << "kubesim did not stop on SIGTERM";
    ASSERT_TRUE(sloop_->running()) << sloop_->Log();
    LoadCapture();
  }

  void TearDown() override { any_failed_ |= HasFailure(); }

  static void TearDownTestSuite() {
    delete sim_;
    delete sloop_;
    if (!any_failed_) {
      fs::remove_all(dir_);
    } else {
      std::fprintf(stderr, "kept %s (sloop.log, kubesim.log, emitted.jsonl)\n", dir_.c_str());
    }
  }

  static void StartSloop(Process& p, int port, std::vector<std::string> flags,
                         const std::string& log) {
    std::vector<std::string> args = {SLOOP_BINARY, "-port=" + std::to_string(port),
                                     "-bind-address=127.0.0.1"};
    args.insert(args.end(), flags.begin(), flags.end());
    p.Start(args, {"KUBECONFIG=" + (dir_ / "kubeconfig").string(), "HOME=" + dir_.string()},
            dir_ / log);
  }

  static std::pair<int, std::string> Get(int port, const std::string& target) {
    httplib::Client client("127.0.0.1", port);
    client.set_read_timeout(30, 0);
    auto res = client.Get(target);
    if (!res) return {0, ""};
    return {res->status, res->body};
  }

  static void LoadCapture() {
    auto capture = testing::LoadEmitted(dir_ / "emitted.jsonl");
    emitted_ = std::move(capture.by_uid);
    events_ = std::move(capture.events);
    ASSERT_FALSE(emitted_.empty()) << "the simulator's capture is empty";
  }

  // The window sloop holds data for (its own observation times), a minute of margin before the
  // first record and a second after the last, as Unix seconds. Fixed once the simulator stopped.
  static std::string Window() {
    if (window_.empty()) {
      auto [status, body] = Get(port_, "/api/v1/stats");
      EXPECT_EQ(status, 200) << body;
      simdjson::dom::parser parser;
      auto doc = Json(parser, body);
      auto seconds = [](std::string_view rfc3339) {
        std::tm tm{};
        std::string text(rfc3339.substr(0, 19));
        strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
        return static_cast<int64_t>(timegm(&tm));
      };
      int64_t oldest = seconds(doc["oldest_record"].get_string().value_unsafe());
      int64_t newest = seconds(doc["newest_record"].get_string().value_unsafe());
      window_ = "from=" + std::to_string(oldest - 60) + "&to=" + std::to_string(newest + 1);
    }
    return window_;
  }

  static simdjson::dom::element Json(simdjson::dom::parser& parser, const std::string& body) {
    simdjson::dom::element doc;
    auto error = parser.parse(body).get(doc);
    EXPECT_FALSE(error) << body.substr(0, 500);
    return doc;
  }

  static bool Recorded(const Emitted& e) {
    // Kinds sloop records by default that the e2e scenario creates.
    static const std::set<std::string> kinds = {
        "Pod",     "Deployment", "ReplicaSet", "StatefulSet", "Namespace", "Node",
        "Service", "ConfigMap",  "Widget",     "DaemonSet",   "Job"};
    return kinds.count(e.kind) > 0;
  }

  static std::string Escape(const std::string& s) { return testing::UrlEscape(s); }

  static std::string KeyParams(const Emitted& e) {
    return "kind=" + Escape(e.kind) + "&namespace=" + Escape(e.ns) + "&name=" + Escape(e.name);
  }

  static inline fs::path dir_;
  static inline bool any_failed_ = false;
  static inline Process* sim_ = nullptr;
  static inline Process* sloop_ = nullptr;
  static inline int port_ = 0;
  static inline std::map<std::string, Emitted> emitted_;  // by uid
  static inline std::vector<testing::EmittedEvent> events_;
  static inline std::string window_;
};

TEST_F(SloopEndToEnd, EveryEmittedResourceIsInTheTimelineWithItsSpan) {
  auto [status, body] = Get(port_, "/api/v1/timeline?" + Window() + "&limit=100000");
  ASSERT_EQ(status, 200) << body;
  simdjson::dom::parser parser;
  auto doc = Json(parser, body);
  std::map<std::string, simdjson::dom::element> rows;  // by uid
  for (auto row : doc["rows"].get_array()) {
    rows[std::string(row["uid"].get_string().value_unsafe())] = row;
  }
  int checked = 0;
  for (const auto& [uid, e] : emitted_) {
    if (!Recorded(e)) continue;
    ++checked;
    auto it = rows.find(uid);
    ASSERT_NE(it, rows.end()) << e.kind << " " << e.ns << "/" << e.name << " is missing";
    auto row = it->second;
    EXPECT_EQ(row["kind"].get_string().value_unsafe(), e.kind);
    EXPECT_EQ(row["name"].get_string().value_unsafe(), e.name);
    EXPECT_EQ(row["deleted"].get_bool().value_unsafe(), e.deleted)
        << e.kind << " " << e.ns << "/" << e.name;
  }
  EXPECT_GT(checked, 20) << "the e2e scenario should create dozens of resources";
}

TEST_F(SloopEndToEnd, VersionsAreServedUpToTheLastOne) {
  simdjson::dom::parser parser;
  int checked = 0;
  for (const auto& [uid, e] : emitted_) {
    if (!Recorded(e) || e.kind == "Node") continue;  // minor node updates are dropped
    auto [status, body] =
        Get(port_, "/api/v1/history?" + KeyParams(e) + "&uid=" + Escape(uid) + "&payloads=false");
    ASSERT_EQ(status, 200) << body;
    auto doc = Json(parser, body);
    auto versions = doc["versions"].get_array().value_unsafe();
    ASSERT_GT(versions.size(), 0u) << e.kind << " " << e.name;
    ASSERT_LE(versions.size(), static_cast<size_t>(e.versions) + 1) << e.kind << " " << e.name;
    simdjson::dom::element last;
    for (auto v : versions) last = v;
    EXPECT_EQ(last["resource_version"].get_string().value_unsafe(), e.last_rv)
        << e.kind << " " << e.ns << "/" << e.name << ": the last version is not the last emitted";
    if (++checked == 40) break;
  }
  EXPECT_GT(checked, 10);
}

TEST_F(SloopEndToEnd, PayloadAndDiffOfAChangedPod) {
  const Emitted* pod = nullptr;
  for (const auto& [uid, e] : emitted_) {
    if (e.kind == "Pod" && e.versions >= 3 && (!pod || e.versions > pod->versions)) pod = &e;
  }
  ASSERT_NE(pod, nullptr) << "no pod changed three times in the scenario";
  simdjson::dom::parser parser;
  auto [status, body] = Get(port_, "/api/v1/history?" + KeyParams(*pod) + "&uid=" + pod->uid);
  ASSERT_EQ(status, 200);
  auto versions = Json(parser, body)["versions"].get_array().value_unsafe();
  ASSERT_GE(versions.size(), 2u);
  std::string first_time(versions.at(0)["time"].get_string().value_unsafe());
  std::string last_time(versions.at(versions.size() - 1)["time"].get_string().value_unsafe());
  auto diff = Get(port_, "/api/v1/diff?" + KeyParams(*pod) + "&uid=" + pod->uid +
                             "&from=" + Escape(first_time) + "&to=" + Escape(last_time));
  ASSERT_EQ(diff.first, 200) << diff.second;
  auto ops = Json(parser, diff.second)["ops"].get_array().value_unsafe();
  bool rv_changed = false;
  for (auto op : ops) {
    rv_changed |= op["path"].get_string().value_unsafe() == "/metadata/resourceVersion";
  }
  EXPECT_TRUE(rv_changed) << diff.second.substr(0, 1000);
  auto payload = Get(port_, "/api/v1/payload?" + KeyParams(*pod) + "&at=" + Escape(last_time));
  ASSERT_EQ(payload.first, 200) << payload.second;
  auto doc = Json(parser, payload.second);
  EXPECT_EQ(doc["payload"]["metadata"]["name"].get_string().value_unsafe(), pod->name);
}

TEST_F(SloopEndToEnd, DeletedPodIsFoundByName) {
  const Emitted* gone = nullptr;
  for (const auto& [uid, e] : emitted_) {
    if (e.kind == "Pod" && e.deleted) gone = &e;
  }
  ASSERT_NE(gone, nullptr) << "the e2e scenario should delete a pod";
  auto [status, body] = Get(port_, "/api/v1/resources?search=" + Escape(gone->name));
  ASSERT_EQ(status, 200) << body;
  simdjson::dom::parser parser;
  bool found = false;
  for (auto r : Json(parser, body)["resources"].get_array()) {
    if (r["uid"].get_string().value_unsafe() == gone->uid) {
      found = true;
      EXPECT_TRUE(r["deleted"].get_bool().value_unsafe());
    }
  }
  EXPECT_TRUE(found) << body;
}

TEST_F(SloopEndToEnd, WarningEventsOfACrashLoopingPodAreServed) {
  const testing::EmittedEvent* backoff = nullptr;
  for (const auto& ev : events_) {
    if (ev.kind == "Pod" && ev.reason == "BackOff") backoff = &ev;
  }
  ASSERT_NE(backoff, nullptr) << "the e2e scenario should crash-loop a pod";
  auto [status, body] = Get(port_, "/api/v1/events?kind=Pod&namespace=" + Escape(backoff->ns) +
                                       "&name=" + Escape(backoff->name) + "&" + Window());
  ASSERT_EQ(status, 200) << body;
  simdjson::dom::parser parser;
  bool found = false;
  for (auto ev : Json(parser, body)["events"].get_array()) {
    found |= ev["event"]["reason"].get_string().value_unsafe() == "BackOff" &&
             ev["event"]["type"].get_string().value_unsafe() == "Warning";
  }
  EXPECT_TRUE(found) << body.substr(0, 1000);
}

TEST_F(SloopEndToEnd, SloopRoutesAnswerInSloopsShapes) {
  auto ns = Get(port_, "/e2e/data?query=Namespaces");
  ASSERT_EQ(ns.first, 200) << ns.second;
  EXPECT_NE(ns.second.find('['), std::string::npos);
  auto heat = Get(port_, "/e2e/data?query=EventHeatMap&lookback=2h");
  ASSERT_EQ(heat.first, 200) << heat.second.substr(0, 300);
  EXPECT_NE(heat.second.find("\"rows\""), std::string::npos);
  auto metrics = Get(port_, "/metrics");
  ASSERT_EQ(metrics.first, 200);
  EXPECT_NE(metrics.second.find("sloop_http_requests_total"), std::string::npos);
}

TEST_F(SloopEndToEnd, BackupRestoresIntoASecondSloopThatAnswersTheSame) {
  httplib::Client client("127.0.0.1", port_);
  client.set_read_timeout(60, 0);
  fs::path archive = dir_ / "backup.tar";
  {
    std::ofstream out(archive, std::ios::binary);
    auto res = client.Get("/api/v1/backup", [&](const char* data, size_t n) {
      out.write(data, static_cast<std::streamsize>(n));
      return true;
    });
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200);
  }
  ASSERT_GT(fs::file_size(archive), 1024u);

  Process restored;
  int port = testing::FreePort();
  StartSloop(restored, port,
             {"-store-root=" + (dir_ / "restored").string(), "-disable-kube-watch", "-context=copy",
              "-restore-database-file=" + archive.string()},
             "restored.log");
  ASSERT_TRUE(WaitFor([&] { return Get(port, "/healthz").first == 200; }, 20s)) << restored.Log();
  std::string query = "/api/v1/timeline?" + Window() + "&sort=name&limit=100000";
  auto a = Get(port_, query);
  auto b = Get(port, query);
  ASSERT_EQ(a.first, 200);
  ASSERT_EQ(b.first, 200) << b.second;
  EXPECT_EQ(a.second, b.second);
  auto status = restored.Stop(SIGTERM, 10s);
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << restored.Log();
}

// A second sloop on the store the first one has open, and a restore into it, are refused with
// the first one's pid; the first goes on serving.
TEST_F(SloopEndToEnd, SecondSloopOnTheSameStoreIsRefusedNamingTheFirst) {
  for (bool restore : {false, true}) {
    SCOPED_TRACE(restore ? "restore" : "open");
    std::vector<std::string> flags = {"-store-root=" + (dir_ / "store").string(),
                                      "-disable-kube-watch", "-context=e2e"};
    if (restore) flags.push_back("-restore-database-file=" + (dir_ / "backup.tar").string());
    if (restore) {
      auto backup = Get(port_, "/api/v1/backup");
      ASSERT_EQ(backup.first, 200);
      std::ofstream(dir_ / "backup.tar", std::ios::binary) << backup.second;
    }
    Process second;
    StartSloop(second, testing::FreePort(), flags, restore ? "second-restore.log" : "second.log");
    auto status = second.Stop(0, 20s);  // signal 0: only wait for it to give up
    ASSERT_TRUE(status.has_value()) << "the second sloop kept running: " << second.Log();
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) != 0) << second.Log();
    EXPECT_NE(second.Log().find("in use by process " + std::to_string(sloop_->pid())),
              std::string::npos)
        << second.Log();
  }
  EXPECT_EQ(Get(port_, "/healthz").first, 200);
}

// Runs last (gtest keeps declaration order within a suite): stops the first sloop.
TEST_F(SloopEndToEnd, SigtermThenRestartLosesNothing) {
  std::string query = "/api/v1/timeline?" + Window() + "&sort=name&limit=100000";
  auto before = Get(port_, query);
  ASSERT_EQ(before.first, 200);
  auto start = std::chrono::steady_clock::now();
  auto status = sloop_->Stop(SIGTERM, 10s);
  ASSERT_TRUE(status.has_value()) << "sloop did not exit within 10 s of SIGTERM";
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << sloop_->Log();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);

  Process again;
  int port = testing::FreePort();
  StartSloop(again, port,
             {"-store-root=" + (dir_ / "store").string(), "-disable-kube-watch", "-context=e2e"},
             "again.log");
  ASSERT_TRUE(WaitFor([&] { return Get(port, "/healthz").first == 200; }, 20s)) << again.Log();
  auto after = Get(port, query);
  ASSERT_EQ(after.first, 200);
  EXPECT_EQ(before.second, after.second);

  // The recording log says so: the first sloop recorded until its clean stop, and nothing has
  // recorded since (this one serves without watching). The simulator stopped before sloop did:
  // the watches were down from then on, which are watch gaps, ended with the session.
  auto gaps = Get(port, "/api/v1/gaps?lookback=1h");
  ASSERT_EQ(gaps.first, 200) << gaps.second;
  simdjson::dom::parser parser;
  auto doc = Json(parser, gaps.second);
  EXPECT_FALSE(doc["recording"].get_bool().value_unsafe());
  EXPECT_TRUE(doc["recording_since"].is_string()) << gaps.second;
  auto list = doc["gaps"].get_array().value_unsafe();
  ASSERT_GE(list.size(), 1u) << gaps.second;
  simdjson::dom::element last;
  for (auto g : list) last = g;
  EXPECT_EQ(std::string_view(last["scope"].get_string().value_unsafe()), "recorder") << gaps.second;
  EXPECT_TRUE(last["end"].is_null()) << gaps.second;
  EXPECT_TRUE(last["kind"].is_null()) << gaps.second;
  const int64_t stopped = std::chrono::duration_cast<std::chrono::seconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
  std::string_view gap_start = last["start"].get_string().value_unsafe();
  std::tm tm{};
  std::string text(gap_start.substr(0, 19));
  strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  EXPECT_LE(stopped - timegm(&tm), 30) << "the open gap starts at the clean stop: " << gap_start;
  for (auto g : list) {
    std::string_view scope = g["scope"].get_string().value_unsafe();
    if (scope != "watch") continue;
    EXPECT_TRUE(g["kind"].is_string()) << gaps.second;
    EXPECT_TRUE(g["end"].is_string()) << "ended with the session: " << gaps.second;
  }
}

// sloop stopped while the cluster goes on, then started again on the same store: what was deleted
// meanwhile (the bare pod "doomed" at 5 s, StatefulSet pod db-1 replaced under a new uid at 7 s)
// must end in the timeline, as deletions inferred at the first list after the restart, and what
// did not change must not be recorded again.
class SloopRestartEndToEnd : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("sloop-restart-e2e-" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    sloop_.Kill();
    sim_.Kill();
    if (!HasFailure()) {
      fs::remove_all(dir_);
    } else {
      std::fprintf(stderr, "kept %s\n", dir_.c_str());
    }
  }
  void StartSloop(int port, const std::string& log) {
    sloop_.Start({SLOOP_BINARY, "-port=" + std::to_string(port), "-bind-address=127.0.0.1",
                  "-store-root=" + (dir_ / "store").string()},
                 {"KUBECONFIG=" + (dir_ / "kubeconfig").string(), "HOME=" + dir_.string()},
                 dir_ / log);
  }
  static std::pair<int, std::string> Get(int port, const std::string& target) {
    httplib::Client client("127.0.0.1", port);
    client.set_read_timeout(30, 0);
    auto res = client.Get(target);
    if (!res) return {0, ""};
    return {res->status, res->body};
  }

  fs::path dir_;
  Process sim_, sloop_;
};

TEST_F(SloopRestartEndToEnd, DeletedWhileStoppedEndsAfterTheRestart) {
  fs::path port_file = dir_ / "kubesim.port";
  const auto sim_start = std::chrono::steady_clock::now();
  sim_.Start({SLOOP_KUBESIM, "--port", "0", "--bind", "127.0.0.1", "--port-file",
              port_file.string(), "--scenario", "e2e", "--seed", "7", "--freeze-after", "15s",
              "--capture", (dir_ / "emitted.jsonl").string()},
             {}, dir_ / "kubesim.log");
  ASSERT_TRUE(WaitFor([&] { return !ReadFile(port_file).empty(); }, 15s)) << sim_.Log();
  testing::WriteSimKubeconfig(dir_ / "kubeconfig", std::stoi(ReadFile(port_file)));

  // Recording from the start until 4 s in (doomed and the first db-1 exist then).
  int port = testing::FreePort();
  StartSloop(port, "sloop.log");
  ASSERT_TRUE(WaitFor([&] { return Get(port, "/readyz").first == 200; }, 20s)) << sloop_.Log();
  std::this_thread::sleep_until(sim_start + 4s);
  ASSERT_LT(std::chrono::steady_clock::now() - sim_start, 4500ms)
      << "the first sloop must stop before the scenario deletes doomed (5 s)";
  auto status = sloop_.Stop(SIGTERM, 10s);
  ASSERT_TRUE(status.has_value()) << sloop_.Log();

  // Down until 12 s in; then recording again until the scenario has frozen.
  std::this_thread::sleep_until(sim_start + 12s);
  port = testing::FreePort();
  StartSloop(port, "again.log");
  ASSERT_TRUE(WaitFor([&] { return Get(port, "/readyz").first == 200; }, 20s)) << sloop_.Log();
  ASSERT_TRUE(WaitFor([&] { return sim_.Log().find("frozen at") != std::string::npos; }, 40s))
      << sim_.Log();
  std::this_thread::sleep_for(2s);
  EXPECT_NE(sloop_.Log().find("objects of these types as alive"), std::string::npos)
      << sloop_.Log();

  auto capture = testing::LoadEmitted(dir_ / "emitted.jsonl");
  ASSERT_FALSE(capture.by_uid.empty());
  auto [code, body] = Get(port, "/api/v1/timeline?lookback=1h&limit=100000");
  ASSERT_EQ(code, 200) << body;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_FALSE(parser.parse(body).get(doc)) << body.substr(0, 500);
  std::map<std::string, bool> deleted;  // by uid
  for (auto row : doc["rows"].get_array()) {
    deleted[std::string(row["uid"].get_string().value_unsafe())] =
        row["deleted"].get_bool().value_unsafe();
  }
  // Every object recorded shows the state the simulator left it in: none deleted in the cluster
  // stays alive in the timeline, however it ended.
  static const std::set<std::string> kinds = {
      "Pod",     "Deployment", "ReplicaSet", "StatefulSet", "Namespace", "Node",
      "Service", "ConfigMap",  "Widget",     "DaemonSet",   "Job"};
  int checked = 0;
  std::map<std::string, const Emitted*> inferred;  // "ns/name" of the ones deleted while down
  for (const auto& [uid, e] : capture.by_uid) {
    if (!kinds.count(e.kind)) continue;
    auto it = deleted.find(uid);
    if (it == deleted.end()) continue;  // created and deleted while nothing recorded
    ++checked;
    EXPECT_EQ(it->second, e.deleted)
        << e.kind << " " << e.ns << "/" << e.name << " (" << uid << ")";
    if (e.kind == "Pod" && e.deleted && (e.name == "doomed" || e.name == "db-1")) {
      inferred[e.ns + "/" + e.name] = &e;
    }
  }
  EXPECT_GT(checked, 20);
  ASSERT_EQ(inferred.size(), 2u) << "doomed and the first db-1 were recorded and deleted";
  for (const auto& [who, e] : inferred) {
    auto [hcode, history] =
        Get(port, "/api/v1/history?kind=Pod&namespace=" + e->ns + "&name=" + e->name +
                      "&uid=" + testing::UrlEscape(e->uid) + "&payloads=false");
    ASSERT_EQ(hcode, 200) << history;
    simdjson::dom::element h;
    ASSERT_FALSE(parser.parse(history).get(h));
    simdjson::dom::element last;
    for (auto v : h["versions"].get_array()) last = v;
    EXPECT_EQ(std::string_view(last["watch_type"].get_string().value_unsafe()), "DELETED_INFERRED")
        << who << ": " << history;
  }
  // A namespace that never changed has its one ADDED record: the restart did not add it again.
  for (const auto& [uid, e] : capture.by_uid) {
    if (e.kind != "Namespace" || e.name != "e2e-apps") continue;
    ASSERT_EQ(e.versions, 1);
    auto [hcode, history] =
        Get(port, "/api/v1/history?kind=Namespace&name=e2e-apps&uid=" + testing::UrlEscape(uid) +
                      "&payloads=false");
    ASSERT_EQ(hcode, 200) << history;
    simdjson::dom::element h;
    ASSERT_FALSE(parser.parse(history).get(h));
    EXPECT_EQ(h["versions"].get_array().size(), 1u) << history;
  }
  status = sloop_.Stop(SIGTERM, 10s);
  EXPECT_TRUE(status.has_value());
}

}  // namespace
}  // namespace sloop
