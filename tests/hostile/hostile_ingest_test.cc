// The real Ingester against a scripted hostile API server on loopback (label hostile): bad list
// items, poison and garbage watch frames, nesting 100,000 levels deep, endless lines, oversized
// pages, huge objects, stalls, and a /version that fails before it works. What must hold: nothing
// is recorded that did not happen (no inferred deletion from a list that was not read whole), good
// data around bad data is recorded, what is bad is counted, buffers stay under the cap, and no
// relist storm.
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "engine/record_sink.h"
#include "ingest/ingester.h"
#include "ingest/kubeconfig.h"
#include "tests/hostile/hostile_api_server.h"
#include "tests/ingest/ingest_test_util.h"
#include "tests/tools/sloop/process.h"

namespace sloop::ingest {
namespace {

using namespace std::chrono_literals;
using hostile::Conn;
using hostile::HostileApiServer;
using sloop::testing::WaitFor;

// What was recorded: (watch type, name, resourceVersion, payload size).
class RecordingSink : public RecordSink {
 public:
  struct Rec {
    WatchType type;
    std::string name, rv;
    size_t payload_bytes;
  };
  Result<void> Append(const RecordView& r) override {
    std::lock_guard lock(mu_);
    recs_.push_back(
        {r.watch_type, std::string(r.name), std::string(r.resource_version), r.payload.size()});
    return {};
  }
  std::vector<Rec> Snapshot() const {
    std::lock_guard lock(mu_);
    return recs_;
  }
  bool Has(WatchType t, const std::string& name, const std::string& rv = "") const {
    for (const auto& r : Snapshot()) {
      if (r.type == t && r.name == name && (rv.empty() || r.rv == rv)) return true;
    }
    return false;
  }
  // Every record so far, one a line (for failure messages).
  std::string Describe() const {
    std::string out;
    for (const auto& r : Snapshot()) {
      out += "\n  " + std::string(WatchTypeName(r.type)) + " " + r.name + " rv " + r.rv;
    }
    return out;
  }
  int Count(WatchType t) const {
    int n = 0;
    for (const auto& r : Snapshot()) n += r.type == t;
    return n;
  }

 private:
  mutable std::mutex mu_;
  std::vector<Rec> recs_;
};

std::string Pod(const std::string& name, int rv, const std::string& extra = "") {
  return R"({"kind":"Pod","apiVersion":"v1","metadata":{"name":")" + name +
         R"(","namespace":"ns","uid":"uid-)" + name + R"(","resourceVersion":")" +
         std::to_string(rv) + "\"" + extra + "}}";
}

std::string Deep(size_t levels) { return std::string(levels, '[') + std::string(levels, ']'); }

std::string List(const std::vector<std::string>& items, int rv, const std::string& cont = "") {
  std::string body = R"({"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":")" +
                     std::to_string(rv) + "\"";
  if (!cont.empty()) body += R"(,"continue":")" + cont + "\"";
  body += R"(},"items":[)";
  for (size_t i = 0; i < items.size(); ++i) body += (i ? "," : "") + items[i];
  return body + "]}";
}

std::string Frame(const std::string& type, const std::string& object) {
  return R"({"type":")" + type + R"(","object":)" + object + "}\n";
}

int QueryInt(const std::string& path, const std::string& key, int otherwise) {
  size_t at = path.find(key + "=");
  if (at == std::string::npos) return otherwise;
  return std::atoi(path.c_str() + at + key.size() + 1);
}

// /version, discovery of pods alone; false when `path` is none of them.
bool ServeDiscovery(const std::string& path, Conn& c) {
  if (path == "/version") return c.Respond(200, R"({"gitVersion":"v1.29.0-hostile"})"), true;
  if (path == "/api") return c.Respond(200, R"({"kind":"APIVersions","versions":["v1"]})"), true;
  if (path == "/apis") return c.Respond(200, R"({"kind":"APIGroupList","groups":[]})"), true;
  if (path == "/api/v1") {
    c.Respond(200, R"({"kind":"APIResourceList","groupVersion":"v1","resources":[)"
                   R"({"name":"pods","namespaced":true,"kind":"Pod","verbs":["list","watch"]}]})");
    return true;
  }
  return false;
}

// The attempt number a readiness message names ("… (attempt 4, next in 8.0 s)"), 0 if none.
int Attempt(const std::string& waiting_for) {
  size_t at = waiting_for.rfind("(attempt ");
  return at == std::string::npos ? 0 : std::atoi(waiting_for.c_str() + at + 9);
}

bool IsWatch(const std::string& path) { return path.find("watch=1") != std::string::npos; }

// Answers watch number w: the first `expired` watches end at once with 410 Gone (a relist
// follows), the others are held open and silent.
void ExpireThenHold(Conn& c, int w, int expired) {
  c.StartStream();
  if (w < expired) {
    c.Write(Frame("ERROR", R"({"kind":"Status","code":410,"message":"too old"})"));
    return;
  }
  c.Hold(20s);
}

// Answers a list request with the page of items its limit and continue token ask for.
void RespondPage(const std::string& path, Conn& c, const std::vector<std::string>& items) {
  int limit = QueryInt(path, "limit", 500);
  int from = QueryInt(path, "continue", 0);
  std::vector<std::string> page;
  int n = static_cast<int>(items.size());
  for (int i = from; i < n && i < from + limit; ++i) page.push_back(items[i]);
  c.Respond(200, List(page, 10, from + limit < n ? std::to_string(from + limit) : ""));
}

class HostileIngestTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (ingester_) ingester_->Stop();
    if (server_) server_->Stop();
  }

  // Starts the server with `handler` and the ingester against it; `tune` adjusts the options.
  void Start(HostileApiServer::Handler handler,
             const std::function<void(IngestOptions&)>& tune = {}) {
    IngestOptions o;
    server_ = std::make_unique<HostileApiServer>(std::move(handler));
    testing::WriteText(
        dir_ / "kubeconfig",
        "apiVersion: v1\nkind: Config\ncurrent-context: h\nclusters:\n- name: c\n  cluster:\n"
        "    server: " +
            server_->url() +
            "\nusers:\n- name: u\n  user: {}\ncontexts:\n- name: h\n  context:\n    cluster: c\n"
            "    user: u\n");
    o.kubeconfig_path = dir_ / "kubeconfig";
    o.include_kinds = {"pods"};
    o.watch_crds = false;
    o.backoff_initial = 20ms;
    o.backoff_max = 400ms;
    o.watch_timeout = 30s;
    o.request_timeout = 10s;
    o.service_account_dir = dir_ / "no-service-account";
    if (tune) tune(o);
    auto started = Ingester::Start(o, sink_, registry_);
    ASSERT_TRUE(started.has_value()) << started.error().message;
    ingester_ = std::move(*started);
  }

  KindStatus Pods() const {
    for (const auto& s : ingester_->Status()) {
      if (s.resource == "pods") return s;
    }
    return {};
  }

  double Errors(const std::string& reason) {
    double total = 0;
    for (const auto& family : registry_.Collect()) {
      if (family.name != "sloop_ingest_errors_total") continue;
      for (const auto& m : family.metric) {
        for (const auto& l : m.label) {
          if (l.name == "reason" && l.value == reason) total += m.counter.value;
        }
      }
    }
    return total;
  }

  double Gauge(const std::string& name) {
    double value = 0;
    for (const auto& family : registry_.Collect()) {
      if (family.name != name) continue;
      for (const auto& m : family.metric) value = std::max(value, m.gauge.value);
    }
    return value;
  }

  std::string Records() const { return sink_.Describe(); }

  testing::TempDir dir_;
  RecordingSink sink_;
  prometheus::Registry registry_;
  std::unique_ptr<HostileApiServer> server_;
  std::unique_ptr<Ingester> ingester_;
};

// Bad items anywhere in a list (no metadata.name, 100,000 levels deep, invalid JSON) are skipped
// and counted; the items after them are recorded; a list with a bad item infers no deletions; a
// later list read whole does.
TEST_F(HostileIngestTest, BadListItemsAreSkippedAndInferNoDeletions) {
  std::atomic<int> lists{0}, watches{0};
  Start([&](const std::string& path, Conn& c) {
    if (ServeDiscovery(path, c)) return;
    if (!IsWatch(path)) {
      int n = lists++;
      if (n == 0) {  // the probe (limit=1)
        c.Respond(200, List({Pod("p1", 1)}, 10));
      } else if (n == 1) {
        c.Respond(200, List({Pod("p1", 1), R"({"kind":"Pod","metadata":{"namespace":"ns"}})",
                             Pod("p2", 2), Pod("deep", 3, ",\"x\":" + Deep(100000)), Pod("p3", 3)},
                            10));
      } else if (n == 2) {  // p2 missing, but the list is not whole: p2 stays
        c.Respond(200, List({Pod("p1", 1), R"({"metadata":{"name":"broken"},"x":tru})",
                             Pod("p3", 13), Pod("p4", 14)},
                            20));
      } else {  // whole: p2 is gone
        c.Respond(200, List({Pod("p1", 1), Pod("p3", 13), Pod("p4", 14)}, 30));
      }
      return;
    }
    ExpireThenHold(c, watches++, 2);  // two relists
  });
  ASSERT_TRUE(
      WaitFor([&] { return lists.load() >= 3 && sink_.Has(WatchType::kAdded, "p4"); }, 20s));
  EXPECT_TRUE(sink_.Has(WatchType::kAdded, "p1"));
  EXPECT_TRUE(sink_.Has(WatchType::kAdded, "p2"));
  EXPECT_TRUE(sink_.Has(WatchType::kAdded, "p3"));
  EXPECT_TRUE(sink_.Has(WatchType::kModified, "p3", "13")) << "items after a bad one are read";
  EXPECT_EQ(sink_.Count(WatchType::kDeletedInferred), 0) << "a list not read whole infers nothing";
  EXPECT_FALSE(sink_.Has(WatchType::kAdded, "deep"));
  // The whole list after it finds p2 gone.
  ASSERT_TRUE(WaitFor([&] { return sink_.Has(WatchType::kDeletedInferred, "p2"); }, 20s));
  EXPECT_EQ(sink_.Count(WatchType::kDeletedInferred), 1);
  EXPECT_TRUE(WaitFor([&] { return Pods().skipped_items == 3; }, 5s)) << Pods().skipped_items;
  EXPECT_EQ(Errors("malformed_item"), 3);
  EXPECT_TRUE(ingester_->Readiness().ready);
}

// Poison in a watch (garbage, 100,000-deep frames and objects, an object without a name) is
// skipped and counted; the good events after it are recorded; the watch is kept: no relist.
TEST_F(HostileIngestTest, PoisonWatchFramesAreSkippedWithoutRelisting) {
  std::atomic<int> lists{0}, watches{0};
  Start([&](const std::string& path, Conn& c) {
    if (ServeDiscovery(path, c)) return;
    if (!IsWatch(path)) {
      lists++;
      c.Respond(200, List({Pod("p1", 1)}, 10));
      return;
    }
    int w = watches++;
    c.StartStream();
    if (w == 0) {
      c.Write("}}}not json at all\n");
      c.Write(std::string("\x00\xff\xfe garbage \x01", 14) + "\n");
      c.Write(R"({"type":"ADDED","object":)" + Deep(100000) + "}\n");
      c.Write(Frame("ADDED", Pod("deep", 11, ",\"x\":" + Deep(100000))));
      c.Write(Frame("ADDED", R"({"kind":"Pod","metadata":{"namespace":"ns","uid":"x"}})"));
      c.Write(Frame("ADDED", Pod("p2", 12)));
      c.Write(Frame("MODIFIED", Pod("p1", 13)));
    }
    c.Hold(20s);
  });
  ASSERT_TRUE(WaitFor([&] { return sink_.Has(WatchType::kModified, "p1", "13"); }, 20s));
  EXPECT_TRUE(sink_.Has(WatchType::kAdded, "p2", "12"));
  EXPECT_FALSE(sink_.Has(WatchType::kAdded, "deep"));
  EXPECT_TRUE(WaitFor([&] { return Pods().skipped_frames == 5; }, 5s)) << Pods().skipped_frames;
  EXPECT_EQ(Errors("malformed_frame"), 5);
  EXPECT_EQ(Pods().relists, 0u);
  EXPECT_EQ(lists.load(), 2) << "the probe and one list";
  EXPECT_EQ(watches.load(), 1);
}

// A stream that is not a watch stream at all is relisted, with a backoff that a successful list
// does not reset: the relists stay few.
TEST_F(HostileIngestTest, UnreadableStreamRelistsWithGrowingBackoff) {
  std::atomic<int> lists{0};
  Start(
      [&](const std::string& path, Conn& c) {
        if (ServeDiscovery(path, c)) return;
        if (!IsWatch(path)) {
          lists++;
          c.Respond(200, List({Pod("p1", 1)}, 10));
          return;
        }
        c.StartStream();
        for (int i = 0; i < 40; ++i) c.Write("<html>proxy error</html>\n");
        c.Hold(20s);
      },
      [](IngestOptions& o) { o.backoff_max = 1s; });
  ASSERT_TRUE(WaitFor([&] { return Pods().relists >= 2; }, 20s));
  std::this_thread::sleep_for(3s);
  // Backoff 20 ms doubling up to 1 s (jittered 0.5-1): about 9 relists in the first 3 s; a
  // backoff reset by each successful list would give one every ~20 ms.
  EXPECT_LE(Pods().relists, 12u);
  EXPECT_EQ(sink_.Count(WatchType::kDeletedInferred), 0);
  EXPECT_GT(Errors("malformed_frame"), 0);
}

// Lines over the cap (one that ends, one that never does) are dropped without being buffered;
// an object just under the cap is recorded; a list page over the cap is asked for again in
// smaller pages; the buffers never exceed the cap.
TEST_F(HostileIngestTest, OversizedLinesAndPagesStayBounded) {
  constexpr size_t kCap = 1 << 20;
  const std::string big(700 << 10, 'b');
  std::vector<std::string> items;
  for (int i = 0; i < 4; ++i) {
    items.push_back(
        Pod("big" + std::to_string(i), 1 + i, R"(,"annotations":{"a":")" + big + R"("})"));
  }
  std::atomic<int> watches{0};
  std::atomic<bool> endless_done{false};
  Start(
      [&](const std::string& path, Conn& c) {
        if (ServeDiscovery(path, c)) return;
        if (!IsWatch(path)) {
          int limit = QueryInt(path, "limit", 500);
          int from = QueryInt(path, "continue", 0);
          std::vector<std::string> page;
          for (int i = from; i < 4 && i < from + limit; ++i) page.push_back(items[i]);
          int next = from + limit;
          c.Respond(200, List(page, 10, next < 4 ? std::to_string(next) : ""));
          return;
        }
        int w = watches++;
        c.StartStream();
        if (w > 0) return c.Hold(20s);
        c.Write(Frame("ADDED", Pod("before", 11)));
        std::string chunk(64 << 10, 'x');
        for (int i = 0; i < 64; ++i) c.Write(chunk);  // 4 MiB, then the line ends
        c.Write("\n");
        c.Write(Frame(
            "ADDED",
            Pod("huge", 12, R"(,"annotations":{"a":")" + std::string(kCap - 4096, 'h') + R"("})")));
        c.Write(Frame("ADDED", Pod("after", 13)));
        for (int i = 0; i < 128 && !c.stopping(); ++i) c.Write(chunk);  // 8 MiB, never ends
        endless_done = true;
        c.Hold(20s);
      },
      [&](IngestOptions& o) { o.max_frame_bytes = kCap; });
  ASSERT_TRUE(
      WaitFor([&] { return endless_done.load() && sink_.Has(WatchType::kAdded, "after"); }, 30s));
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(sink_.Has(WatchType::kAdded, "big" + std::to_string(i)));
  EXPECT_TRUE(sink_.Has(WatchType::kAdded, "before"));
  EXPECT_TRUE(sink_.Has(WatchType::kAdded, "huge")) << "under the cap: recorded";
  EXPECT_GE(Errors("page_too_large"), 1);
  EXPECT_EQ(Errors("frame_too_large"), 1) << "the ended line; the endless one is still going";
  KindStatus s;
  ASSERT_TRUE(WaitFor(
      [&] {
        s = Pods();
        return s.buffer_peak_bytes > 0;
      },
      5s));
  EXPECT_LE(s.buffer_peak_bytes, kCap);
  EXPECT_GT(s.buffer_peak_bytes, kCap / 2) << "the huge object was buffered whole";
  EXPECT_TRUE(WaitFor([&] { return Gauge("sloop_ingest_buffer_peak_bytes") > kCap / 2; }, 5s));
  EXPECT_LE(Gauge("sloop_ingest_buffer_peak_bytes"), kCap);
  EXPECT_EQ(watches.load(), 1) << "the watch was kept";
  EXPECT_EQ(sink_.Count(WatchType::kDeletedInferred), 0);
}

// A page over the cap asked for again in smaller pages skips nothing: the list still infers the
// deletions of what it no longer shows, every time (the limit grows back between lists, so a
// kind of big objects meets the cap at every list).
TEST_F(HostileIngestTest, AListReadInSmallerPagesStillInfersDeletions) {
  constexpr size_t kCap = 1 << 20;
  const std::string big(300 << 10, 'b');
  std::vector<std::string> first, second;
  for (int i = 0; i < 6; ++i) {
    first.push_back(
        Pod("big" + std::to_string(i), 1 + i, R"(,"annotations":{"a":")" + big + R"("})"));
  }
  second.assign(first.begin() + 1, first.end());  // big0 deleted while the watch was down
  std::atomic<int> lists{0}, watches{0};
  Start(
      [&](const std::string& path, Conn& c) {
        if (ServeDiscovery(path, c)) return;
        if (!IsWatch(path)) {
          lists++;
          return RespondPage(path, c, watches.load() == 0 ? first : second);
        }
        ExpireThenHold(c, watches++, 1);
      },
      [&](IngestOptions& o) { o.max_frame_bytes = kCap; });
  ASSERT_TRUE(WaitFor([&] { return sink_.Has(WatchType::kDeletedInferred, "big0"); }, 20s))
      << "the relist read every object in smaller pages, and big0 was not among them";
  EXPECT_GE(Errors("page_too_large"), 2) << "both lists met the cap";
  EXPECT_EQ(Errors("object_too_large"), 0);
  EXPECT_EQ(sink_.Count(WatchType::kDeletedInferred), 1);
  for (int i = 0; i < 6; ++i) EXPECT_TRUE(sink_.Has(WatchType::kAdded, "big" + std::to_string(i)));
  EXPECT_LE(Pods().buffer_peak_bytes, kCap);
}

// A watch resumed from a resourceVersion the API server has not reached (its etcd restored from
// a backup, or another cluster behind the address) fails with 504 ResourceVersionTooLarge, as
// an HTTP status or as an ERROR frame: the recorder relists at once and reconciles (what the
// restored cluster no longer has ends), instead of resuming the same way while nothing is seen.
class WatchFromTheFutureTest : public HostileIngestTest,
                               public ::testing::WithParamInterface<bool> {};

TEST_P(WatchFromTheFutureTest, Relists) {
  const bool as_frame = GetParam();
  const std::string too_large =
      R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",)"
      R"("message":"Too large resource version: 90, current: 12","reason":"Timeout",)"
      R"("details":{"causes":[{"reason":"ResourceVersionTooLarge",)"
      R"("message":"Too large resource version"}],"retryAfterSeconds":1},"code":504})";
  std::atomic<int> lists{0}, watches{0};
  Start([&](const std::string& path, Conn& c) {
    if (ServeDiscovery(path, c)) return;
    if (!IsWatch(path)) {
      lists++;
      if (watches.load() == 0) {
        return (void)c.Respond(200, List({Pod("old1", 1), Pod("old2", 2)}, 90));
      }
      return (void)c.Respond(200, List({Pod("old2", 2), Pod("new", 5)}, 12));
    }
    int w = watches++;
    if (w == 0) {
      if (!as_frame) return (void)c.Respond(504, too_large);
      c.StartStream();
      c.Write(Frame("ERROR", too_large));
      return;
    }
    c.StartStream();
    c.Hold(20s);
  });
  ASSERT_TRUE(WaitFor(
      [&] {
        return sink_.Has(WatchType::kAdded, "new") &&
               sink_.Has(WatchType::kDeletedInferred, "old1");
      },
      20s))
      << "relisted after the 504, and what the list no longer showed ended; " << Records();
  EXPECT_FALSE(sink_.Has(WatchType::kDeletedInferred, "old2"));
  EXPECT_EQ(watches.load(), 2) << "one relist, then a watch from the new list's version";
}

INSTANTIATE_TEST_SUITE_P(AsStatusOrFrame, WatchFromTheFutureTest, ::testing::Bool());

// The CRD list failing at a rediscovery (throttled: 429) keeps what the last one said of the
// kinds watched: a CRD in a *.k8s.io group (Gateway API) is not guessed to be a built-in kind,
// which is not recorded unless asked for, and so it is not dropped and its changes missed.
TEST_F(HostileIngestTest, ACrdListFailingAtRediscoveryKeepsTheKindsWatched) {
  std::atomic<int> crd_lists{0};
  Start(
      [&](const std::string& path, Conn& c) {
        if (path == "/apis") {
          return (void)c.Respond(
              200, R"({"kind":"APIGroupList","groups":[{"name":"gateway.networking.k8s.io",)"
                   R"("versions":[{"groupVersion":"gateway.networking.k8s.io/v1","version":"v1"}],)"
                   R"("preferredVersion":{"groupVersion":"gateway.networking.k8s.io/v1",)"
                   R"("version":"v1"}}]})");
        }
        if (path == "/apis/gateway.networking.k8s.io/v1") {
          return (void)c.Respond(
              200, R"({"kind":"APIResourceList","groupVersion":"gateway.networking.k8s.io/v1",)"
                   R"("resources":[{"name":"gateways","namespaced":true,"kind":"Gateway",)"
                   R"("verbs":["list","watch"]}]})");
        }
        if (path.starts_with("/apis/apiextensions.k8s.io/v1/customresourcedefinitions")) {
          if (IsWatch(path)) {
            c.StartStream();
            return c.Hold(20s);
          }
          if (path.find("limit=") == std::string::npos && crd_lists++ > 0) {
            return (void)c.Respond(429, R"({"kind":"Status","message":"throttled","code":429})");
          }
          return (void)c.Respond(
              200, R"({"kind":"CustomResourceDefinitionList","metadata":{"resourceVersion":"3"},)"
                   R"("items":[{"metadata":{"name":"gateways.gateway.networking.k8s.io"},)"
                   R"("spec":{"group":"gateway.networking.k8s.io","names":{"plural":"gateways",)"
                   R"("kind":"Gateway"}}}]})");
        }
        if (ServeDiscovery(path, c)) return;
        if (!IsWatch(path)) return (void)c.Respond(200, List({}, 5));
        c.StartStream();
        c.Hold(20s);
      },
      [](IngestOptions& o) {
        o.include_kinds.clear();
        o.watch_crds = true;
        o.crd_refresh_interval = std::chrono::seconds(1);
      });
  auto watching = [&] {
    for (const auto& s : ingester_->Status()) {
      if (s.resource.starts_with("gateways")) return true;
    }
    return false;
  };
  ASSERT_TRUE(WaitFor(watching, 10s));
  ASSERT_TRUE(WaitFor([&] { return crd_lists.load() >= 3; }, 10s)) << "rediscovered twice";
  EXPECT_TRUE(watching()) << "still watched after rediscoveries whose CRD list failed";
}

// A watch frame that cannot be read lost a change: the kind is relisted soon after (not at the
// next resync, here never), and the list records what the change left; the watch goes on.
TEST_F(HostileIngestTest, AChangeLostWithAnUnreadableFrameIsRecordedByASoonerList) {
  std::atomic<int> lists{0}, watches{0};
  Start(
      [&](const std::string& path, Conn& c) {
        if (ServeDiscovery(path, c)) return;
        if (!IsWatch(path)) {
          lists++;
          if (watches.load() == 0) return (void)c.Respond(200, List({Pod("p1", 1)}, 10));
          // p1 changed by the frame that was lost; p2 came on the watch.
          return (void)c.Respond(200, List({Pod("p1", 11), Pod("p2", 12)}, 12));
        }
        const int w = watches++;
        c.StartStream();
        if (w == 0) {
          c.Write("{\"type\":\"MODIFIED\",\"object\":{\"kind\":\"Pod\",\"metadata\":\n");
          c.Write(Frame("ADDED", Pod("p2", 12)));
        }
        c.Hold(20s);
      },
      [](IngestOptions& o) {
        o.resync_interval = std::chrono::nanoseconds(0);
        o.relist_after_lost_change = std::chrono::milliseconds(300);
      });
  ASSERT_TRUE(WaitFor([&] { return sink_.Has(WatchType::kModified, "p1", "11"); }, 20s))
      << "the change the lost frame carried, recorded by the list" << Records();
  EXPECT_TRUE(sink_.Has(WatchType::kAdded, "p2"));
  EXPECT_EQ(watches.load(), 2) << "one relist, then the watch again";
  EXPECT_GE(Errors("malformed_frame"), 1);
}

// One object alone over the cap: skipped (named in the log), the list goes on from that page's
// continue token, and it infers no deletions; a relist that skips it again keeps what it missed.
TEST_F(HostileIngestTest, ObjectOverTheCapIsSkippedAndTheListGoesOn) {
  constexpr size_t kCap = 256 << 10;
  std::vector<std::string> first = {
      Pod("p1", 1), Pod("giant", 2, R"(,"annotations":{"a":")" + std::string(kCap, 'g') + R"("})"),
      Pod("p3", 3)};
  std::vector<std::string> second = {first[1], Pod("p3", 3)};  // p1 gone, but unprovable
  std::atomic<int> lists{0}, watches{0};
  Start(
      [&](const std::string& path, Conn& c) {
        if (ServeDiscovery(path, c)) return;
        if (!IsWatch(path)) {
          const auto& items = lists.load() < 8 && watches.load() == 0 ? first : second;
          lists++;
          return RespondPage(path, c, items);
        }
        ExpireThenHold(c, watches++, 1);
      },
      [&](IngestOptions& o) { o.max_frame_bytes = kCap; });
  ASSERT_TRUE(WaitFor([&] { return watches.load() >= 2 && Errors("object_too_large") >= 2; }, 20s));
  EXPECT_TRUE(sink_.Has(WatchType::kAdded, "p1"));
  EXPECT_TRUE(sink_.Has(WatchType::kAdded, "p3")) << "the list went on past the giant";
  EXPECT_FALSE(sink_.Has(WatchType::kAdded, "giant"));
  EXPECT_EQ(sink_.Count(WatchType::kDeletedInferred), 0);
  EXPECT_GE(Errors("page_too_large"), 2);
  EXPECT_LE(Pods().buffer_peak_bytes, kCap);
}

// A watch that goes silent is reopened from its resourceVersion.
TEST_F(HostileIngestTest, StalledWatchIsReopened) {
  std::atomic<int> watches{0};
  Start(
      [&](const std::string& path, Conn& c) {
        if (ServeDiscovery(path, c)) return;
        if (!IsWatch(path)) return (void)c.Respond(200, List({Pod("p1", 1)}, 10));
        int w = watches++;
        c.StartStream();
        if (w == 1) c.Write(Frame("ADDED", Pod("p2", 12)));
        c.Hold(20s);
      },
      [](IngestOptions& o) { o.stall_timeout = 1s; });
  ASSERT_TRUE(WaitFor([&] { return sink_.Has(WatchType::kAdded, "p2"); }, 20s));
  EXPECT_TRUE(WaitFor([&] { return Pods().reconnects >= 1; }, 5s));
}

// /version fails (HTTP 500, then a connection cut) before it works: Start returns at once, the
// readiness says what it waits for, and then the ingester comes up and records.
TEST_F(HostileIngestTest, VersionFailingAtFirstIsRetried) {
  std::atomic<int> versions{0};
  Start([&](const std::string& path, Conn& c) {
    if (path == "/version") {
      int n = versions++;
      if (n < 6) return (void)c.Respond(500, R"({"kind":"Status","message":"etcd is down"})");
      if (n == 6) return (void)c.Write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{");
    }
    if (ServeDiscovery(path, c)) return;
    if (!IsWatch(path)) return (void)c.Respond(200, List({Pod("p1", 1)}, 10));
    c.StartStream();
    c.Hold(20s);
  });
  std::set<std::string> seen;
  ASSERT_TRUE(WaitFor(
      [&] {
        auto r = ingester_->Readiness();
        if (!r.ready) seen.insert(r.waiting_for);
        return r.ready;
      },
      20s));
  EXPECT_TRUE(sink_.Has(WatchType::kAdded, "p1"));
  EXPECT_GE(versions.load(), 8);
  bool named = false;
  for (const auto& w : seen) named |= w.find("etcd is down") != std::string::npos;
  std::string all;
  for (const auto& w : seen) all += "\n  " + w;
  EXPECT_TRUE(named) << all;
}

// In a pod, a service-account token that cannot be read is logged and retried (never a reason to
// exit or to watch something else); once it appears, the next attempt uses it.
TEST_F(HostileIngestTest, InAPodAnUnreadableTokenIsRetried) {
  server_ = std::make_unique<HostileApiServer>([](const std::string&, Conn& c) {
    c.Respond(200, "{}");  // plain http: the TLS handshake of an in-cluster client fails
  });
  testing::ScopedEnv host("KUBERNETES_SERVICE_HOST", "127.0.0.1");
  testing::ScopedEnv port("KUBERNETES_SERVICE_PORT", std::to_string(server_->port()));
  testing::ScopedEnv kubeconfig("KUBECONFIG", std::nullopt);
  testing::ScopedEnv home("HOME", dir_.path());
  std::filesystem::create_directories(dir_ / "sa");
  testing::WriteText(dir_ / "sa/ca.crt",
                     "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
  IngestOptions o;
  o.service_account_dir = dir_ / "sa";
  o.backoff_initial = 20ms;
  o.backoff_max = 200ms;
  o.request_timeout = 5s;
  ASSERT_TRUE(ClusterConfigured(o));
  auto started = Ingester::Start(o, sink_, registry_);
  ASSERT_TRUE(started.has_value()) << started.error().message;
  ingester_ = std::move(*started);
  IngestReadiness r;
  ASSERT_TRUE(WaitFor(
      [&] {
        r = ingester_->Readiness();
        return Attempt(r.waiting_for) >= 2;
      },
      10s))
      << r.waiting_for;
  EXPECT_NE(r.waiting_for.find("token file"), std::string::npos) << r.waiting_for;
  EXPECT_NE(r.waiting_for.find("automountServiceAccountToken"), std::string::npos) << r.waiting_for;
  testing::WriteText(dir_ / "sa/token", "a-token");
  EXPECT_TRUE(WaitFor(
      [&] {
        r = ingester_->Readiness();
        return r.waiting_for.find("unreachable") != std::string::npos;
      },
      10s))
      << r.waiting_for;
  EXPECT_FALSE(r.ready);
}

}  // namespace
}  // namespace sloop::ingest
