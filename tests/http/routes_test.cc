// Every route, called through the router against a real Store: Sloop's exact JSON shapes, the
// /api/v1 answers, the debug pages and UI files, and hostile input on each route.
#include "http/routes.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <simdjson.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "engine/backup.h"
#include "engine/recording_log.h"
#include "engine/store.h"
#include "http/http_message.h"
#include "http/params.h"
#include "http/path_router.h"
#include "tests/engine/record_maker.h"

namespace sloop::http {
namespace {

namespace fs = std::filesystem;
using sloop::testing::RecordMaker;

constexpr int64_t kSec = 1000000000LL;
constexpr int64_t kMin = 60 * kSec;
constexpr int64_t kHour = 60 * kMin;
constexpr int64_t kT0 = 1795165200LL * kSec;  // 2026-11-20T09:00:00Z

class RoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("sloop-http-routes-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    now_ = kT0 + 10 * kMin;
    StoreOptions o;
    o.root = dir_;
    o.background = false;
    o.now_ns = [this] { return now_.load(); };
    auto s = Store::Open(o);
    ASSERT_TRUE(s.has_value()) << s.error().ToString();
    store_ = std::move(*s);
    Fill();
    options_.display_context = "cluster";
    options_.config_yaml = "port: 8080\nnote: <b>escaped</b>\n";
    options_.resource_links.push_back(
        {"Logs", "https://logs/?q={{ToLower .Name}}&k={{.Kind}}", {}});
    router_ = MakeSloopRouter(options_, *store_, registry_);
  }
  void TearDown() override {
    router_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }

  void Append(const RecordView& r) { ASSERT_TRUE(store_->Append(r).has_value()); }

  void Fill() {
    Append(mk_.Pod(kT0 + 1 * kMin, "shop", "crashy", "pod-uid", 1, WatchType::kAdded));
    Append(mk_.Node(kT0 + 1 * kMin, "node-a", "node-uid", 2, WatchType::kAdded));
    Append(mk_.Event(kT0 + 2 * kMin, "shop", "crashy.1", "Pod", "crashy", "pod-uid", "BackOff",
                     true, 1, kT0 + 2 * kMin, 3, WatchType::kAdded));
    Append(mk_.Event(kT0 + 2 * kMin + 10 * kSec, "shop", "crashy.2", "Pod", "crashy", "pod-uid",
                     "Pulled", false, 1, kT0 + 2 * kMin, 4, WatchType::kAdded));
    Append(mk_.Pod(kT0 + 3 * kMin, "shop", "gone", "gone-uid", 5, WatchType::kAdded));
    Append(mk_.Pod(kT0 + 4 * kMin, "shop", "gone", "gone-uid", 6, WatchType::kDeleted));
    Append(mk_.Pod(kT0 + 6 * kMin, "shop", "crashy", "pod-uid", 7, WatchType::kModified,
                   kT0 + 1 * kMin));
    Append(mk_.Event(kT0 + 5 * kMin, "default", "node-a.1", "Node", "node-a", "node-a",
                     "NodeNotReady", false, 1, kT0 + 5 * kMin, 8, WatchType::kAdded));
  }

  Response Get(std::string target, std::string method = "GET",
               std::function<bool(std::string_view)> may_read = nullptr) {
    Request req;
    req.method = std::move(method);
    req.target = std::move(target);
    req.may_read_namespace = std::move(may_read);
    std::string why;
    if (!ParseTarget(&req, &why)) return ErrorResponse(400, "", why);
    return router_->Handle(req);
  }

  // Parses a JSON body (simdjson keeps the document in parser_).
  simdjson::dom::element Json(const Response& r) {
    simdjson::dom::element e;
    auto err = parser_.parse(r.body).get(e);
    EXPECT_EQ(err, simdjson::SUCCESS) << r.body.substr(0, 500);
    return e;
  }

  // The parameter a 400 names.
  std::string BadParam(const std::string& target) {
    Response r = Get(target);
    EXPECT_EQ(r.status, 400) << target << " → " << r.body;
    simdjson::dom::parser p;
    simdjson::dom::element e;
    if (p.parse(r.body).get(e)) return "(not json)";
    std::string_view name;
    if (e["error"]["parameter"].get(name)) return "(none)";
    return std::string(name);
  }

  static std::string Window() { return "&start_time=1795165200&end_time=1795165800"; }

  fs::path dir_;
  std::atomic<int64_t> now_;
  RecordMaker mk_;
  std::unique_ptr<Store> store_;
  HttpOptions options_;
  prometheus::Registry registry_;
  prometheus::Registry registry2_;
  std::unique_ptr<Router> router_;
  simdjson::dom::parser parser_;
};

std::vector<std::string> Keys(simdjson::dom::object o) {
  std::vector<std::string> keys;
  for (auto f : o) keys.emplace_back(f.key);
  return keys;
}

TEST_F(RoutesTest, EventHeatMapHasSloopsShape) {
  Response r = Get("/cluster/data?query=EventHeatMap&lookback=10m&namespace=shop&kind=Pod&sort=");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_TRUE(r.body.starts_with("{\n \"view_options\": {\n  \"sort\": \"\"\n },\n \"rows\": ["))
      << r.body.substr(0, 200);
  auto doc = Json(r);
  EXPECT_EQ(Keys(doc.get_object()), (std::vector<std::string>{"view_options", "rows"}));
  auto rows = doc["rows"].get_array();
  ASSERT_EQ(rows.size(), 2u) << r.body;
  simdjson::dom::object crashy;
  for (auto row : rows) {
    if (std::string_view(row["text"]) == "crashy") crashy = row.get_object();
  }
  ASSERT_EQ(Keys(crashy),
            (std::vector<std::string>{"text", "duration", "kind", "namespace", "overlays",
                                      "changedat", "nochangeat", "start_date", "end_date"}))
      << "the order Sloop's Go struct marshals in";
  EXPECT_EQ(std::string_view(crashy["kind"]), "Pod");
  EXPECT_EQ(std::string_view(crashy["namespace"]), "shop");
  int64_t start = crashy["start_date"], end = crashy["end_date"], duration = crashy["duration"];
  EXPECT_EQ(start, (kT0 + kMin) / kSec);
  EXPECT_EQ(end, (kT0 + 10 * kMin) / kSec) << "alive: the bar reaches the end of the window";
  EXPECT_EQ(duration, end - start);
  auto overlays = crashy["overlays"].get_array();
  ASSERT_EQ(overlays.size(), 1u);
  simdjson::dom::object ov = overlays.at(0).get_object();
  EXPECT_EQ(Keys(ov), (std::vector<std::string>{"text", "start_date", "duration", "end_date"}));
  EXPECT_EQ(std::string_view(ov["text"]), "BackOff:Warning:1 Pulled:Normal:1");
  EXPECT_EQ(int64_t(ov["start_date"]), (kT0 + 2 * kMin) / kSec);
  EXPECT_EQ(int64_t(ov["duration"]), 60);
  EXPECT_TRUE(crashy["changedat"].is_array());

  // The deleted pod's bar ends where it was deleted.
  for (auto row : rows) {
    if (std::string_view(row["text"]) == "gone") {
      EXPECT_EQ(int64_t(row["end_date"]), (kT0 + 4 * kMin) / kSec);
      EXPECT_TRUE(row["nochangeat"].is_null());
    }
  }
  // sort is echoed; namematch filters; _all means all.
  r =
      Get("/cluster/data?query=EventHeatMap&lookback=1h&namespace=_all&kind=_all&sort=mostevents"
          "&namematch=rash");
  ASSERT_EQ(r.status, 200);
  doc = Json(r);
  EXPECT_EQ(std::string_view(doc["view_options"]["sort"]), "mostevents");
  ASSERT_EQ(doc["rows"].get_array().size(), 1u);
}

TEST_F(RoutesTest, EventHeatMapOverlaysStayInsideTheBar) {
  // A pod created half-way through a minute with events in that minute, deleted 20 s into a
  // later minute that also has events: Sloop cuts both overlays at the bar's edges.
  const int64_t t = kT0 + 7 * kMin;
  Append(mk_.Pod(t + 30 * kSec, "edge", "short", "short-uid", 20, WatchType::kAdded));
  Append(mk_.Event(t + 40 * kSec, "edge", "short.1", "Pod", "short", "short-uid", "Started", false,
                   1, t + 40 * kSec, 21, WatchType::kAdded));
  Append(mk_.Event(t + 45 * kSec, "edge", "short.2", "Pod", "short", "short-uid", "Created", false,
                   1, t + 45 * kSec, 22, WatchType::kAdded));
  Append(mk_.Event(t + kMin + 10 * kSec, "edge", "short.3", "Pod", "short", "short-uid", "Killing",
                   true, 1, t + kMin + 10 * kSec, 23, WatchType::kAdded));
  Append(mk_.Pod(t + kMin + 20 * kSec, "edge", "short", "short-uid", 24, WatchType::kDeleted));
  Response r = Get("/cluster/data?query=EventHeatMap&lookback=1h&namespace=edge");
  ASSERT_EQ(r.status, 200) << r.body;
  auto rows = Json(r)["rows"].get_array();
  ASSERT_EQ(rows.size(), 1u) << r.body;
  auto row = rows.at(0);
  const int64_t start = (t + 30 * kSec) / kSec, end = (t + kMin + 20 * kSec) / kSec;
  EXPECT_EQ(int64_t(row["start_date"]), start);
  EXPECT_EQ(int64_t(row["end_date"]), end);
  auto overlays = row["overlays"].get_array();
  ASSERT_EQ(overlays.size(), 2u) << r.body;
  // Items sorted as strings; the first overlay starts at the bar, the last ends with it.
  EXPECT_EQ(std::string_view(overlays.at(0)["text"]), "Created:Normal:1 Started:Normal:1");
  EXPECT_EQ(int64_t(overlays.at(0)["start_date"]), start);
  EXPECT_EQ(int64_t(overlays.at(0)["duration"]), 30);
  EXPECT_EQ(int64_t(overlays.at(0)["end_date"]), t / kSec + 60);
  EXPECT_EQ(std::string_view(overlays.at(1)["text"]), "Killing:Warning:1");
  EXPECT_EQ(int64_t(overlays.at(1)["start_date"]), t / kSec + 60);
  EXPECT_EQ(int64_t(overlays.at(1)["duration"]), 20);
  EXPECT_EQ(int64_t(overlays.at(1)["end_date"]), end);
  for (auto o : overlays) {
    EXPECT_EQ(int64_t(o["start_date"]) + int64_t(o["duration"]), int64_t(o["end_date"]));
  }
}

// One answer stays within max_answer_bytes: a timeline leaves rows out past it and says
// truncated, a history stops and says truncated, and a timeline whose rows would take more than
// four times it to build is answered 400, saying how to narrow it.
TEST_F(RoutesTest, AnswersStayWithinTheirBound) {
  for (int i = 0; i < 300; ++i) {
    std::string n = "p-" + std::to_string(i);
    Append(mk_.Pod(kT0 + 7 * kMin + i * kSec / 100, "bulk", n, "uid-" + n, 100 + i));
  }
  for (int i = 0; i < 30; ++i) {
    Append(mk_.Pod(kT0 + 8 * kMin + i * kSec, "shop", "crashy", "pod-uid", 500 + i));
  }
  const std::string window = "from=2026-11-20T09:00:00Z&to=2026-11-20T09:10:00Z";
  Response whole = Get("/api/v1/timeline?namespace=bulk&" + window);
  ASSERT_EQ(whole.status, 200) << whole.body;
  EXPECT_FALSE(bool(Json(whole)["truncated"]));
  EXPECT_EQ(Json(whole)["rows"].get_array().size(), 300u);
  Response history = Get("/api/v1/history?kind=Pod&namespace=shop&name=crashy");
  ASSERT_EQ(history.status, 200);
  EXPECT_FALSE(bool(Json(history)["truncated"]));
  ASSERT_GT(history.body.size(), size_t(16) << 10);

  router_.reset();
  options_.max_answer_bytes = 64 << 10;
  router_ = MakeSloopRouter(options_, *store_, registry_);
  Response cut = Get("/api/v1/timeline?namespace=bulk&" + window);
  ASSERT_EQ(cut.status, 200) << cut.body;
  EXPECT_LE(cut.body.size(), size_t(64) << 10);
  auto doc = Json(cut);
  EXPECT_TRUE(bool(doc["truncated"]));
  EXPECT_EQ(int64_t(doc["matched"]), 300);
  const size_t rows = doc["rows"].get_array().size();
  EXPECT_GT(rows, 50u);
  EXPECT_LT(rows, 300u);

  router_.reset();
  options_.max_answer_bytes = 16 << 10;
  router_ = MakeSloopRouter(options_, *store_, registry_);
  history = Get("/api/v1/history?kind=Pod&namespace=shop&name=crashy");
  ASSERT_EQ(history.status, 200);
  EXPECT_TRUE(bool(Json(history)["truncated"]));
  EXPECT_LT(history.body.size(), size_t(20) << 10);
  Response refused = Get("/api/v1/timeline?namespace=bulk&" + window);
  EXPECT_EQ(refused.status, 400) << refused.body;
  EXPECT_NE(refused.body.find("narrow it"), std::string::npos) << refused.body;
}

TEST_F(RoutesTest, SloopListQueries) {
  EXPECT_EQ(Get("/cluster/data?query=Queries&lookback=1h").body, "[\n \"EventHeatMap\"\n]");
  auto ns = Get("/cluster/data?query=Namespaces&lookback=1h");
  EXPECT_EQ(ns.body, "[\n \"default\",\n \"shop\",\n \"_all\"\n]");
  auto kinds = Get("/cluster/data?query=Kinds&lookback=1h");
  EXPECT_EQ(kinds.body, "[\n \"Node\",\n \"Pod\",\n \"_all\"\n]");
}

TEST_F(RoutesTest, GetResPayloadListsDistinctVersions) {
  Response r =
      Get("/cluster/data?query=GetResPayload&namespace=shop&name=crashy&kind=Pod" + Window());
  ASSERT_EQ(r.status, 200) << r.body;
  auto arr = Json(r).get_array();
  ASSERT_EQ(arr.size(), 2u);
  simdjson::dom::object first = arr.at(0).get_object();
  EXPECT_EQ(Keys(first), (std::vector<std::string>{"payloadKey", "payloadTime", "payload"}));
  EXPECT_EQ(int64_t(first["payloadTime"]), kT0 + kMin);
  EXPECT_EQ(std::string_view(first["payloadKey"]),
            "/watch/001795165200/Pod/shop/crashy/" + std::to_string(kT0 + kMin));
  std::string_view payload = first["payload"];
  EXPECT_TRUE(payload.starts_with("{")) << "the payload is a JSON string";
  // A window after both versions still shows the one in force at its start.
  r =
      Get("/cluster/data?query=GetResPayload&namespace=shop&name=crashy&kind=Pod"
          "&start_time=1795165620&end_time=1795165700");
  EXPECT_EQ(Json(r).get_array().size(), 1u) << r.body;
}

TEST_F(RoutesTest, GetEventDataShapeAndEmptyBody) {
  Response r =
      Get("/cluster/data?query=GetEventData&namespace=shop&name=crashy&kind=Pod" + Window());
  ASSERT_EQ(r.status, 200) << r.body;
  auto arr = Json(r).get_array();
  ASSERT_EQ(arr.size(), 2u);
  simdjson::dom::object e = arr.at(0).get_object();
  EXPECT_EQ(Keys(e), (std::vector<std::string>{"partitionId", "namespace", "name", "watchTimestamp",
                                               "kind", "payload", "eventKey"}))
      << "watchType is omitted for ADD";
  EXPECT_EQ(std::string_view(e["partitionId"]), "001795165200");
  EXPECT_EQ(std::string_view(e["kind"]), "Event");
  EXPECT_EQ(std::string_view(e["watchTimestamp"]), "2026-11-20T09:02:00Z");
  EXPECT_EQ(std::string_view(arr.at(1)["watchTimestamp"]), "2026-11-20T09:02:10Z");
  // Node events; and nothing → an empty body, as Sloop.
  r = Get("/cluster/data?query=GetEventData&namespace=default&name=node-a&kind=Node" + Window());
  EXPECT_EQ(Json(r).get_array().size(), 1u);
  r = Get("/cluster/data?query=GetEventData&namespace=shop&name=nobody&kind=Pod" + Window());
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "");
}

TEST_F(RoutesTest, GetResSummaryData) {
  Response r =
      Get("/cluster/data?query=GetResSummaryData&namespace=shop&name=gone&kind=Pod" + Window());
  ASSERT_EQ(r.status, 200);
  simdjson::dom::object o = Json(r).get_object();
  EXPECT_EQ(Keys(o), (std::vector<std::string>{"PartitionId", "Kind", "Namespace", "Name", "Uid",
                                               "firstSeen", "lastSeen", "createTime",
                                               "deletedAtEnd", "relationships"}));
  EXPECT_TRUE(bool(o["deletedAtEnd"]));
  EXPECT_EQ(int64_t(o["lastSeen"]["seconds"]), (kT0 + 4 * kMin) / kSec);
  EXPECT_EQ(Get("/cluster/data?query=GetResSummaryData&name=nobody&kind=Pod" + Window()).body, "");
}

TEST_F(RoutesTest, SloopQueryErrorsNameTheParameter) {
  EXPECT_EQ(BadParam("/cluster/data?query=Nope&lookback=1h"), "query");
  EXPECT_EQ(BadParam("/cluster/data?lookback=1h"), "query");
  EXPECT_EQ(BadParam("/cluster/data?query=EventHeatMap&lookback=banana"), "lookback");
  EXPECT_EQ(BadParam("/cluster/data?query=EventHeatMap&lookback=-1h"), "lookback");
  EXPECT_EQ(BadParam("/cluster/data?query=EventHeatMap&lookback=99999999999999999999h"),
            "lookback");
  EXPECT_EQ(BadParam("/cluster/data?query=EventHeatMap&lookback=1h&end_time=yesterday"),
            "end_time");
  EXPECT_EQ(BadParam("/cluster/data?query=EventHeatMap&lookback=1h&start_time=1"), "start_time");
  EXPECT_EQ(BadParam("/cluster/data?query=EventHeatMap&start_time=1795165200"), "end_time");
  EXPECT_EQ(BadParam("/cluster/data?query=EventHeatMap&start_time=-5&end_time=1"), "start_time");
  EXPECT_EQ(BadParam("/cluster/data?query=EventHeatMap&start_time=1795165800&end_time=1795165200"),
            "start_time");
  EXPECT_EQ(
      BadParam("/cluster/data?query=EventHeatMap&start_time=1&end_time=999999999999999999999"),
      "end_time");
  EXPECT_EQ(BadParam("/cluster/data?query=EventHeatMap&lookback=1h&namematch=%00"), "namematch");
  EXPECT_EQ(BadParam("/cluster/data?query=EventHeatMap&lookback=1h&namespace=%C3%28"), "namespace");
  EXPECT_EQ(BadParam("/cluster/data?query=EventHeatMap&lookback=1h&kind=" + std::string(5000, 'K')),
            "kind");
  EXPECT_EQ(BadParam("/cluster/data?query=GetResPayload&lookback=1h&kind=Pod"), "name");
  EXPECT_EQ(BadParam("/cluster/data?query=GetEventData&lookback=1h&name=x"), "kind");
  EXPECT_EQ(BadParam("/cluster/resource?name=crashy&kind=Pod"), "click_time");
  EXPECT_EQ(BadParam("/cluster/resource?name=crashy&kind=Pod&click_time=-1"), "click_time");
  EXPECT_EQ(BadParam("/cluster/resource?name=crashy&kind=Pod&click_time=1e12"), "click_time");
}

TEST_F(RoutesTest, WindowAdjustments) {
  // A window past the end of time is shifted back; one shorter than a minute is widened; one
  // longer than max-look-back narrowed. All still answer 200.
  EXPECT_EQ(Get("/cluster/data?query=EventHeatMap&lookback=1h&end_time=2030-01-01T00:00:00").status,
            200);
  EXPECT_EQ(Get("/cluster/data?query=EventHeatMap&lookback=1s").status, 200);
  EXPECT_EQ(Get("/cluster/data?query=EventHeatMap&lookback=876000h").status, 200);
  // Without any window parameter the default lookback applies (Sloop would answer 500).
  EXPECT_EQ(Get("/cluster/data?query=EventHeatMap").status, 200);
}

TEST_F(RoutesTest, ApiTimelineAndResources) {
  Response r =
      Get("/api/v1/timeline?from=2026-11-20T09:00:00Z&to=2026-11-20T09:10:00Z"
          "&namespace=shop&sort=name");
  ASSERT_EQ(r.status, 200) << r.body;
  auto doc = Json(r);
  EXPECT_EQ(int64_t(doc["matched"]), 2);
  auto row = doc["rows"].at(0);
  EXPECT_EQ(std::string_view(row["name"]), "crashy");
  EXPECT_EQ(std::string_view(row["uid"]), "pod-uid");
  EXPECT_EQ(std::string_view(row["start"]), "2026-11-20T09:01:00Z");
  EXPECT_EQ(int64_t(row["events"]), 2);
  EXPECT_EQ(int64_t(row["warnings"]), 1);
  EXPECT_EQ(row["heat"].get_array().size(), 2u);
  EXPECT_EQ(std::string_view(doc["rows"].at(1)["name"]), "gone");
  EXPECT_TRUE(bool(doc["rows"].at(1)["deleted"]));
  // Same answer under the context prefix.
  EXPECT_EQ(Get("/cluster/api/v1/timeline?from=2026-11-20T09:00:00Z&to=2026-11-20T09:10:00Z"
                "&namespace=shop&sort=name")
                .body,
            r.body);

  // node: the Pods whose stored spec.nodeName is that node (the fixture's pods all ran on one).
  r =
      Get("/api/v1/timeline?from=2026-11-20T09:00:00Z&to=2026-11-20T09:10:00Z"
          "&node=ip-10-42-17-203.ec2.internal&sort=name");
  ASSERT_EQ(r.status, 200) << r.body;
  doc = Json(r);
  EXPECT_EQ(int64_t(doc["matched"]), 2);
  ASSERT_EQ(doc["rows"].get_array().size(), 2u);
  EXPECT_EQ(std::string_view(doc["rows"].at(0)["kind"]), "Pod");
  EXPECT_EQ(std::string_view(doc["rows"].at(1)["name"]), "gone");
  r =
      Get("/api/v1/timeline?from=2026-11-20T09:00:00Z&to=2026-11-20T09:10:00Z"
          "&node=ip-10-42-17-203.ec2.internal&limit=1");
  doc = Json(r);
  EXPECT_EQ(doc["rows"].get_array().size(), 1u);
  EXPECT_EQ(int64_t(doc["matched"]), 2);
  EXPECT_TRUE(bool(doc["truncated"]));
  r = Get("/api/v1/timeline?from=2026-11-20T09:00:00Z&to=2026-11-20T09:10:00Z&node=node-b");
  doc = Json(r);
  EXPECT_EQ(doc["rows"].get_array().size(), 0u);
  EXPECT_EQ(BadParam("/api/v1/timeline?kind=Node&node=node-a"), "node");

  r = Get("/api/v1/resources?search=GON");
  ASSERT_EQ(r.status, 200);
  doc = Json(r);
  ASSERT_EQ(doc["resources"].get_array().size(), 1u);
  EXPECT_TRUE(bool(doc["resources"].at(0)["deleted"]));
  EXPECT_EQ(std::string_view(doc["resources"].at(0)["last_seen"]), "2026-11-20T09:04:00Z");
}

TEST_F(RoutesTest, ApiTimelinePacksItsHeatWhenAsked) {
  // heat=packed: the same rows, each cell a [minute offset, key, count] triple that reads back
  // into the object the default form gives; the (reason, type) keys listed once each.
  const std::string q = "/api/v1/timeline?from=2026-11-20T09:00:30Z&to=2026-11-20T09:10:00Z";
  Response plain = Get(q);
  Response packed = Get(q + "&heat=packed");
  ASSERT_EQ(plain.status, 200) << plain.body;
  ASSERT_EQ(packed.status, 200) << packed.body;
  EXPECT_EQ(Get(q + "&heat=objects").body, plain.body);
  simdjson::dom::parser pa, pb;
  simdjson::dom::element a = pa.parse(plain.body), b = pb.parse(packed.body);
  const int64_t from = b["heat_from"];
  EXPECT_EQ(from, 1795165200);  // the window's first minute, not its first second
  auto keys = b["heat_keys"].get_array();
  std::set<std::pair<std::string, std::string>> seen;
  for (auto k : keys) {
    EXPECT_TRUE(seen.emplace(std::string(std::string_view(k["reason"])),
                             std::string(std::string_view(k["type"])))
                    .second);
  }
  auto ra = a["rows"].get_array(), rb = b["rows"].get_array();
  ASSERT_EQ(ra.size(), rb.size());
  size_t cells = 0;
  for (size_t i = 0; i < ra.size(); ++i) {
    EXPECT_EQ(std::string_view(ra.at(i)["uid"]), std::string_view(rb.at(i)["uid"]));
    auto ha = ra.at(i)["heat"].get_array();
    auto hb = rb.at(i)["heat"].get_array();
    ASSERT_EQ(hb.size(), 3 * ha.size());
    for (size_t c = 0; c < ha.size(); ++c, ++cells) {
      auto key = keys.at(uint64_t(hb.at(3 * c + 1)));
      EXPECT_EQ(from + 60 * int64_t(hb.at(3 * c)), int64_t(ha.at(c)["minute"]));
      EXPECT_EQ(std::string_view(key["reason"]), std::string_view(ha.at(c)["reason"]));
      EXPECT_EQ(std::string_view(key["type"]), std::string_view(ha.at(c)["type"]));
      EXPECT_EQ(uint64_t(hb.at(3 * c + 2)), uint64_t(ha.at(c)["count"]));
    }
  }
  EXPECT_GE(cells, 2u);
  EXPECT_EQ(BadParam(q + "&heat=flat"), "heat");
}

TEST_F(RoutesTest, ApiHistoryPayloadDiffEvents) {
  Response r = Get("/api/v1/history?kind=Pod&namespace=shop&name=crashy");
  ASSERT_EQ(r.status, 200) << r.body;
  auto doc = Json(r);
  auto versions = doc["versions"].get_array();
  ASSERT_EQ(versions.size(), 2u);
  EXPECT_EQ(std::string_view(versions.at(0)["watch_type"]), "ADDED");
  EXPECT_EQ(std::string_view(versions.at(1)["resource_version"]), "7");
  EXPECT_TRUE(versions.at(0)["payload"].is_object()) << "payloads are embedded as objects";
  EXPECT_EQ(std::string_view(versions.at(0)["payload"]["metadata"]["name"]), "crashy");

  r = Get("/api/v1/payload?kind=Pod&namespace=shop&name=crashy&at=2026-11-20T09:05:00Z");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(std::string_view(Json(r)["resource_version"]), "1");
  r = Get("/api/v1/payload?kind=Pod&namespace=shop&name=crashy&at=2026-11-20T08:00:00Z");
  EXPECT_EQ(r.status, 404);

  r =
      Get("/api/v1/diff?kind=Pod&namespace=shop&name=crashy&from=2026-11-20T09:05:00Z"
          "&to=2026-11-20T09:07:00Z");
  ASSERT_EQ(r.status, 200) << r.body;
  doc = Json(r);
  EXPECT_EQ(std::string_view(doc["from"]["resource_version"]), "1");
  EXPECT_EQ(std::string_view(doc["to"]["resource_version"]), "7");
  bool saw_rv = false;
  for (auto op : doc["ops"].get_array()) {
    if (std::string_view(op["path"]) == "/metadata/resourceVersion") {
      saw_rv = true;
      EXPECT_EQ(std::string_view(op["op"]), "replace");
      EXPECT_EQ(std::string_view(op["value"]), "7");
      EXPECT_EQ(std::string_view(op["old"]), "1");
    }
  }
  EXPECT_TRUE(saw_rv) << r.body;

  r = Get("/api/v1/events?kind=Pod&namespace=shop&name=crashy&lookback=1h");
  ASSERT_EQ(r.status, 200) << r.body;
  doc = Json(r);
  ASSERT_EQ(doc["events"].get_array().size(), 2u);
  EXPECT_EQ(std::string_view(doc["events"].at(0)["event"]["reason"]), "BackOff");
  EXPECT_EQ(std::string_view(doc["events"].at(0)["event"]["type"]), "Warning");
}

// An Event recorded by this build holds no uid in its record (it is known by namespace and name:
// index/resource_key.h); the API still gives the uid its payload names, and finds the Event when
// asked by that uid, as it finds those recorded with their uids by earlier builds.
TEST_F(RoutesTest, AnEventRecordedWithoutItsUidIsGivenWithTheUidOfItsPayload) {
  RecordView ev = mk_.Event(kT0 + 7 * kMin, "shop", "crashy.3", "Pod", "crashy", "pod-uid",
                            "Killing", false, 1, kT0 + 7 * kMin, 9, WatchType::kAdded);
  ev.uid = {};
  Append(ev);
  const std::string uid = "c7e2a9f4-1b3d-4f6a-8c0e-2d4f6a8c0e1b";  // the fixture's
  Response r = Get("/api/v1/events?kind=Pod&namespace=shop&name=crashy&lookback=1h");
  ASSERT_EQ(r.status, 200) << r.body;
  auto doc = Json(r);
  auto events = doc["events"].get_array();
  ASSERT_EQ(events.size(), 3u) << r.body;
  std::map<std::string, std::string> uids;
  for (auto e : events)
    uids[std::string(std::string_view(e["name"]))] = std::string(std::string_view(e["uid"]));
  EXPECT_EQ(uids["crashy.3"], uid);
  EXPECT_EQ(uids["crashy.1"], "uid-crashy.1") << "the uid an earlier build kept in the record";
  for (const std::string& asked : {uid, std::string("other"), std::string()}) {
    r = Get("/api/v1/history?kind=Event&namespace=shop&name=crashy.3&uid=" + asked);
    ASSERT_EQ(r.status, 200) << r.body;
    doc = Json(r);
    ASSERT_EQ(doc["versions"].get_array().size(), 1u) << "asked with uid " << asked;
    EXPECT_EQ(std::string_view(doc["versions"].at(0)["uid"]), uid);
  }
  r = Get("/api/v1/history?kind=Event&namespace=shop&name=crashy.1&uid=uid-crashy.1");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Json(r)["versions"].get_array().size(), 1u);
}

TEST_F(RoutesTest, ApiListsAndStats) {
  auto doc = Json(Get("/api/v1/namespaces?lookback=1h"));
  EXPECT_EQ(doc["namespaces"].get_array().size(), 2u);
  doc = Json(Get("/api/v1/kinds?lookback=1h"));
  EXPECT_EQ(doc["kinds"].get_array().size(), 3u) << "Event, Node, Pod";
  doc = Json(Get("/api/v1/shards"));
  ASSERT_EQ(doc["shards"].get_array().size(), 1u);
  EXPECT_EQ(int64_t(doc["shards"].at(0)["records"]), 8);
  doc = Json(Get("/api/v1/stats"));
  EXPECT_EQ(int64_t(doc["records_appended"]), 8);
  doc = Json(Get("/api/v1/config"));
  EXPECT_EQ(std::string_view(doc["url_prefix"]), "/cluster");
  EXPECT_EQ(std::string_view(doc["defaults"]["lookback"]), "1h");
}

TEST_F(RoutesTest, ApiErrorsNameTheParameter) {
  EXPECT_EQ(BadParam("/api/v1/timeline?from=tomorrow"), "from");
  EXPECT_EQ(BadParam("/api/v1/timeline?from=1795165800&to=1795165200"), "from");
  EXPECT_EQ(BadParam("/api/v1/timeline?lookback=1h&from=1795165200"), "lookback");
  EXPECT_EQ(BadParam("/api/v1/timeline?limit=0"), "limit");
  EXPECT_EQ(BadParam("/api/v1/timeline?limit=-1"), "limit");
  EXPECT_EQ(BadParam("/api/v1/timeline?limit=18446744073709551616"), "limit");
  EXPECT_EQ(BadParam("/api/v1/timeline?sort=up"), "sort");
  EXPECT_EQ(BadParam("/api/v1/resources?limit=1000000000"), "limit");
  EXPECT_EQ(BadParam("/api/v1/resources?search=%ff"), "search");
  EXPECT_EQ(BadParam("/api/v1/history?kind=Pod"), "name");
  EXPECT_EQ(BadParam("/api/v1/history?name=x"), "kind");
  EXPECT_EQ(BadParam("/api/v1/history?kind=Pod&name=x&payloads=perhaps"), "payloads");
  EXPECT_EQ(BadParam("/api/v1/payload?kind=Pod&name=x&at=-1"), "at");
  EXPECT_EQ(BadParam("/api/v1/diff?kind=Pod&name=x&from=1"), "to");
  EXPECT_EQ(BadParam("/api/v1/diff?kind=Pod&name=x&from=1&to=x"), "to");
  EXPECT_EQ(BadParam("/api/v1/events?kind=Pod&name=x&lookback=1y"), "lookback");
  EXPECT_EQ(BadParam("/api/v1/namespaces?from=%00"), "from");
  EXPECT_EQ(BadParam("/api/v1/kinds?to=2026-02-30T00:00:00Z"), "to");
  EXPECT_EQ(BadParam("/api/v1/backup?since=-3"), "since");
  EXPECT_EQ(BadParam("/cluster/debug/shard?id=abc"), "id");
  EXPECT_EQ(BadParam("/cluster/debug/view?k=/etc/passwd"), "k");
  EXPECT_EQ(BadParam("/cluster/debug/view?k=/watch/1/Pod/a/b/99999999999999999999999"), "k");
  EXPECT_EQ(Get("/api/v1/nope").status, 404);
  EXPECT_EQ(Get("/api/v1/timeline", "POST").status, 405);
}

TEST_F(RoutesTest, HostileInputNeverYields500) {
  const std::vector<std::string> routes = {"/",
                                           "/healthz",
                                           "/metrics",
                                           "/cluster",
                                           "/cluster/",
                                           "/cluster/data",
                                           "/cluster/data?query=EventHeatMap",
                                           "/cluster/data?query=GetEventData&kind=Pod&name=x",
                                           "/cluster/data?query=GetResPayload&kind=Pod&name=x",
                                           "/cluster/data?query=GetResSummaryData",
                                           "/cluster/data?query=Namespaces",
                                           "/cluster/data?query=Kinds",
                                           "/cluster/data?query=Queries",
                                           "/api/v1/gaps?kind=Pod",
                                           "/cluster/resource?click_time=1",
                                           "/cluster/webfiles/index.html",
                                           "/cluster/debug/",
                                           "/cluster/debug/config/",
                                           "/cluster/debug/shards/",
                                           "/cluster/debug/shard?id=1",
                                           "/cluster/debug/view",
                                           "/api/v1/timeline",
                                           "/api/v1/resources",
                                           "/api/v1/history?kind=Pod&name=x",
                                           "/api/v1/payload?kind=Pod&name=x",
                                           "/api/v1/diff?kind=Pod&name=x&from=1&to=2",
                                           "/api/v1/events?kind=Pod&name=x",
                                           "/api/v1/snapshot?kind=Pod",
                                           "/api/v1/snapshot",
                                           "/api/v1/changes",
                                           "/api/v1/namespaces",
                                           "/api/v1/kinds",
                                           "/api/v1/shards",
                                           "/api/v1/stats",
                                           "/api/v1/config"};
  const std::vector<std::string> hostile = {"lookback=-1h",
                                            "lookback=9999999999999h",
                                            "start_time=-1&end_time=5",
                                            "end_time=99999999999999999999999",
                                            "from=1e400",
                                            "to=NaN",
                                            "limit=-9223372036854775809",
                                            "limit=99999999999999999999",
                                            "namespace=%00",
                                            "kind=%ff%fe",
                                            "name=%E0%80%80",
                                            "namematch=" + std::string(3000, 'x'),
                                            "click_time=-1",
                                            "sort=%27%3B--",
                                            "k=..%2F..%2F",
                                            "id=-1",
                                            "at=0",
                                            "search=%",
                                            "uuid=%zz",
                                            "%zz=1",
                                            "=",
                                            "&&&",
                                            "query=Kinds&query=Nope",
                                            "lookback=1h&lookback=-1h"};
  for (const auto& route : routes) {
    for (const auto& h : hostile) {
      std::string target = route + (route.find('?') == std::string::npos ? "?" : "&") + h;
      Response r = Get(target);
      EXPECT_TRUE(r.status == 200 || r.status == 307 || r.status == 400 || r.status == 404)
          << target << " → " << r.status << " " << r.body.substr(0, 300);
      if (r.status == 400) {
        simdjson::dom::parser p;
        simdjson::dom::element e;
        ASSERT_EQ(p.parse(r.body).get(e), simdjson::SUCCESS) << target;
        std::string_view msg;
        EXPECT_EQ(e["error"]["message"].get(msg), simdjson::SUCCESS) << target;
      }
    }
  }
}

TEST_F(RoutesTest, RootHealthMetrics) {
  Response r = Get("/");
  EXPECT_EQ(r.status, 307);
  ASSERT_FALSE(r.headers.empty());
  EXPECT_EQ(r.headers[0].second, "cluster") << "relative: right under any prefix that strips";
  EXPECT_EQ(Get("/healthz").body, "OK");
  EXPECT_EQ(Get("/nothing/here").status, 404);
  Get("/api/v1/timeline?limit=0");
  r = Get("/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("sloop_http_requests_total{code=\"400\",handler=\"api_timeline\"} 1"),
            std::string::npos)
      << r.body.substr(0, 2000);
  EXPECT_NE(r.body.find("sloop_http_request_duration_seconds_bucket"), std::string::npos);
  EXPECT_NE(r.body.find("sloop_store_shards 1"), std::string::npos);
  EXPECT_NE(r.body.find("sloop_store_records_appended_total 8"), std::string::npos);
}

TEST_F(RoutesTest, WebFiles) {
  Response r = Get("/cluster");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(r.body.find("{{."), std::string::npos) << "template fields are filled in";
  r = Get("/cluster/webfiles/index.html");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Get("/cluster/webfiles/../../etc/passwd").status, 400);
  EXPECT_EQ(Get("/cluster/webfiles/a/%2E%2E/b").status, 400);
  EXPECT_EQ(Get("/cluster/webfiles//etc/passwd").status, 400);
  EXPECT_EQ(Get("/cluster/webfiles/nope.js").status, 404);

  // A web files directory is read first.
  fs::create_directories(dir_ / "web" / "js");
  { std::ofstream(dir_ / "web" / "js" / "app.js") << "console.log(1)"; }
  options_.web_files_path = (dir_ / "web").string();
  router_ = MakeSloopRouter(options_, *store_, registry2_);  // a fresh registry: new metrics
  r = Get("/cluster/webfiles/js/app.js");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "console.log(1)");
  EXPECT_EQ(r.content_type, "application/javascript");
}

// Liveness stays 200 and says what is awaited; readiness is 503 with the reason until ready.
TEST_F(RoutesTest, HealthzAndReadyzFollowReadiness) {
  EXPECT_EQ(Get("/readyz").status, 200) << "nothing watched: always ready";
  std::atomic<bool> ready{false};
  options_.readiness = [&] {
    return ready.load() ? Readiness{true, ""} : Readiness{false, "first list of pods (0 of 1)"};
  };
  router_ = MakeSloopRouter(options_, *store_, registry2_);
  Response r = Get("/healthz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "OK; not ready yet: waiting for first list of pods (0 of 1)");
  r = Get("/readyz");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "not ready: waiting for first list of pods (0 of 1)");
  ready = true;
  EXPECT_EQ(Get("/healthz").body, "OK");
  r = Get("/readyz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ready");
  EXPECT_NE(Get("/api/v1/stats").body.find("\"forbidden_kinds\":[]"), std::string::npos);
}

// Kinds the cluster refuses (403) are listed on /api/v1/stats; readiness does not wait for them.
TEST_F(RoutesTest, StatsListForbiddenKinds) {
  options_.readiness = [] { return Readiness{true, "", {"configmaps", "widgets.example.com"}}; };
  router_ = MakeSloopRouter(options_, *store_, registry2_);
  EXPECT_EQ(Get("/readyz").status, 200);
  Response r = Get("/api/v1/stats");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("\"forbidden_kinds\":[\"configmaps\",\"widgets.example.com\"]"),
            std::string::npos)
      << r.body;
}

TEST_F(RoutesTest, ResourceFragmentAndDebugPages) {
  std::string click = std::to_string((kT0 + 5 * kMin) / 1'000'000);
  Response r =
      Get("/cluster/resource?click_time=" + click + "&name=crashy&namespace=shop&kind=Pod");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("Viewing range 2026-11-20T09:05:00Z +/- 15m0s"), std::string::npos);
  EXPECT_NE(r.body.find("https://logs/?q=crashy&amp;k=Pod"), std::string::npos);
  EXPECT_NE(r.body.find("BackOff"), std::string::npos);
  EXPECT_NE(r.body.find("debug/view?k=/watch/001795165200/Pod/shop/crashy/"), std::string::npos);
  // Sloop's cleaning drops markup from the parameters.
  r = Get("/cluster/resource?click_time=1&name=%3Cscript%3E&kind=Pod");
  EXPECT_EQ(r.body.find("<script>"), std::string::npos);

  EXPECT_EQ(Get("/cluster/debug/").status, 200);
  r = Get("/cluster/debug/config/");
  EXPECT_NE(r.body.find("&lt;b&gt;escaped&lt;/b&gt;"), std::string::npos);
  r = Get("/cluster/debug/shards/");
  EXPECT_NE(r.body.find("debug/shard?id=1"), std::string::npos) << r.body;
  r = Get("/cluster/debug/shard?id=1&kind=Pod");
  EXPECT_NE(r.body.find("crashy"), std::string::npos);
  EXPECT_EQ(Get("/cluster/debug/shard?id=999").status, 404);
  r = Get("/cluster/debug/view?k=/watch/001795165200/Pod/shop/crashy/" +
          std::to_string(kT0 + kMin));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("&quot;name&quot;: &quot;crashy&quot;"), std::string::npos);
  EXPECT_EQ(Get("/cluster/debug/view?k=/watch/001795165200/Pod/shop/crashy/1").status, 404);
}

class BodyCollector {
 public:
  static std::string Drain(Response& r) {
    std::string all, error;
    while (r.stream->Next(&all, &error)) {
    }
    EXPECT_EQ(error, "");
    return all;
  }
};

TEST_F(RoutesTest, BackupStreamsTheArchiveWithItsLength) {
  for (std::string target : {"/cluster/data/backup", "/api/v1/backup"}) {
    Response r = Get(target);
    ASSERT_EQ(r.status, 200) << r.body;
    ASSERT_TRUE(r.stream);
    ASSERT_TRUE(r.stream_length.has_value());
    EXPECT_FALSE(r.compressible);
    std::string body = BodyCollector::Drain(r);
    EXPECT_EQ(body.size(), *r.stream_length);
    auto files = store_->SnapshotForBackup();
    ASSERT_TRUE(files.has_value());
    std::string expected;
    ASSERT_TRUE(WriteBackupArchive(*files, store_->Now(), [&](std::string_view c) -> Result<void> {
                  expected.append(c);
                  return {};
                }).has_value());
    EXPECT_TRUE(body == expected) << "the download is the archive";
  }
  // HEAD takes no snapshot (which flushes the active shard's block and opens every shard file):
  // a client polling with it costs nothing, and no length is promised.
  Response head = Get("/api/v1/backup", "HEAD");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.content_type, "application/x-tar");
  EXPECT_FALSE(head.stream_length.has_value());
  ASSERT_TRUE(head.stream);
  std::string none, why;
  EXPECT_FALSE(head.stream->Next(&none, &why));
  EXPECT_TRUE(none.empty());
  // Dropping the stream early (client went away) stops the writer.
  Response r = Get("/api/v1/backup");
  std::string piece, error;
  ASSERT_TRUE(r.stream->Next(&piece, &error));
  r.stream.reset();
}

// Every URL Sloop's UI and its users' bookmarks produce (filter.js, sloop_ui.js, index.html)
// answers 200 with the view Sloop would show: no 400 for a parameter Sloop accepted.
TEST_F(RoutesTest, SloopUrlsTable) {
  const std::string heat = "/cluster/data?query=EventHeatMap";
  struct Case {
    std::string target;
    std::string sort;               // view_options.sort echoed ("-" = not a heat map)
    std::vector<std::string> rows;  // row names expected (heat map only), in order when sorted
  } cases[] = {
      // filter.js's data URL, every sort value of Sloop's form and its default.
      {heat + "&namespace=shop&lookback=1h&kind=_all&sort=starttime&namematch=",
       "starttime",
       {"crashy", "gone"}},
      {heat + "&namespace=shop&lookback=1h&kind=_all&sort=start_time&namematch=",
       "start_time",
       {"crashy", "gone"}},
      {heat + "&namespace=shop&lookback=1h&kind=Pod&sort=mostevents&namematch=",
       "mostevents",
       {"crashy", "gone"}},
      {heat + "&namespace=shop&lookback=1h&kind=Pod&sort=name&namematch=",
       "name",
       {"crashy", "gone"}},
      // Sloop accepts an unknown sort (its UI sorts by start time); so do we.
      {heat + "&namespace=shop&lookback=1h&kind=Pod&sort=newest", "newest", {"crashy", "gone"}},
      {heat + "&namespace=shop&lookback=1h&kind=Pod&sort=", "", {"crashy", "gone"}},
      {heat + "&namespace=shop&lookback=1h&kind=Pod", "", {"crashy", "gone"}},
      // namematch, end_time in Sloop's zone-less UTC form (with and without seconds), lookbacks.
      {heat + "&namespace=shop&lookback=1h&kind=Pod&namematch=cra", "", {"crashy"}},
      {heat + "&namespace=shop&lookback=3h&kind=Pod&end_time=2026-11-20T09:10:00",
       "",
       {"crashy", "gone"}},
      {heat + "&namespace=shop&lookback=1h&kind=Pod&end_time=2026-11-20T09:10",
       "",
       {"crashy", "gone"}},
      {heat + "&namespace=shop&lookback=336h&kind=Pod", "", {"crashy", "gone"}},
      {heat + "&namespace=shop&lookback=14d&kind=Pod", "", {"crashy", "gone"}},
      {heat + "&namespace=shop&lookback=1h&kind=Pod&end_time=", "", {"crashy", "gone"}},
      // An end after the newest data shifts the window back, as Sloop does.
      {heat + "&namespace=shop&lookback=1h&kind=Pod&end_time=2030-01-01T00:00:00",
       "",
       {"crashy", "gone"}},
      // start_time and end_time in Unix seconds.
      {heat + "&namespace=shop&kind=Pod" + Window(), "", {"crashy", "gone"}},
      // The pop-up's parameters: uuid narrows to one resource; click_data is carried and ignored.
      {heat + "&namespace=shop&lookback=1h&kind=Pod&uuid=pod-uid", "", {"crashy"}},
      {heat + "&namespace=shop&lookback=1h&kind=Pod&click_data=x&uuid=gone-uid", "", {"gone"}},
      {heat + "&namespace=_all&lookback=1h&kind=Node", "", {"node-a"}},
      {"/cluster/data?query=Namespaces&lookback=1h", "-", {}},
      {"/cluster/data?query=Kinds&lookback=1h", "-", {}},
      {"/cluster/data?query=Queries&lookback=1h", "-", {}},
      {"/cluster/data?query=GetResSummaryData&namespace=shop&kind=Pod&name=crashy&lookback=1h",
       "-",
       {}},
      {"/cluster/data?query=GetResPayload&namespace=shop&kind=Pod&name=crashy&uuid=pod-uid"
       "&lookback=1h",
       "-",
       {}},
      {"/cluster/data?query=GetEventData&namespace=shop&kind=Pod&name=crashy&lookback=1h", "-", {}},
  };
  for (const Case& c : cases) {
    Response r = Get(c.target);
    ASSERT_EQ(r.status, 200) << c.target << " → " << r.body;
    if (c.sort == "-") continue;
    auto doc = Json(r);
    EXPECT_EQ(std::string_view(doc["view_options"]["sort"]), c.sort) << c.target;
    std::vector<std::string> names;
    for (auto row : doc["rows"].get_array()) names.emplace_back(std::string_view(row["text"]));
    std::sort(names.begin(), names.end());
    std::vector<std::string> want = c.rows;
    std::sort(want.begin(), want.end());
    EXPECT_EQ(names, want) << c.target;
  }
  // Sloop's page URLs (the form's GET, with selectedEndTime) and its pop-up's "Open In New Tab"
  // link open a page, not an error.
  for (std::string target :
       {std::string("/cluster?query=EventHeatMap&selectedEndTime=2026-11-20T09%3A10%3A00"
                    "&lookback=1h&namespace=shop&kind=_all&sort=mostevents&namematch="),
        std::string("/cluster/?lookback=6h&sort=starttime"),
        "/cluster/resource?click_time=" + std::to_string((kT0 + 5 * kMin) / 1'000'000) +
            "&name=crashy&namespace=shop&kind=Pod"}) {
    Response r = Get(target);
    EXPECT_EQ(r.status, 200) << target << " → " << r.body.substr(0, 200);
    EXPECT_NE(r.content_type.find("text/html"), std::string::npos) << target;
  }
}

// Sloop's documented shapes for the small queries, field by field and type by type (a superset
// is allowed: an extra field, never a changed type).
TEST_F(RoutesTest, SloopQueryShapes) {
  // Namespaces: a JSON array of strings, sorted, with "_all" last.
  auto ns = Json(Get("/cluster/data?query=Namespaces&lookback=1h"));
  ASSERT_TRUE(ns.is_array());
  std::vector<std::string> names;
  for (auto n : ns.get_array()) names.emplace_back(std::string_view(n));
  ASSERT_FALSE(names.empty());
  EXPECT_EQ(names.back(), "_all");
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end() - 1));

  // GetResSummaryData: the flattened ResourceSummary.
  Response r =
      Get("/cluster/data?query=GetResSummaryData&namespace=shop&kind=Pod&name=crashy&lookback=1h");
  auto sum = Json(r);
  ASSERT_TRUE(sum.is_object()) << r.body;
  struct Field {
    const char* name;
    simdjson::dom::element_type type;
  } fields[] = {
      {"PartitionId", simdjson::dom::element_type::STRING},
      {"Kind", simdjson::dom::element_type::STRING},
      {"Namespace", simdjson::dom::element_type::STRING},
      {"Name", simdjson::dom::element_type::STRING},
      {"Uid", simdjson::dom::element_type::STRING},
      {"firstSeen", simdjson::dom::element_type::OBJECT},
      {"lastSeen", simdjson::dom::element_type::OBJECT},
      {"createTime", simdjson::dom::element_type::OBJECT},
      {"deletedAtEnd", simdjson::dom::element_type::BOOL},
      {"relationships", simdjson::dom::element_type::ARRAY},
  };
  for (const Field& f : fields) {
    simdjson::dom::element v;
    ASSERT_EQ(sum[f.name].get(v), simdjson::SUCCESS) << f.name << " missing: " << r.body;
    EXPECT_EQ(v.type(), f.type) << f.name;
  }
  for (const char* ts : {"firstSeen", "lastSeen", "createTime"}) {
    EXPECT_TRUE(sum[ts]["seconds"].is_int64()) << ts;
    EXPECT_TRUE(sum[ts]["nanos"].is_int64()) << ts;
  }
  EXPECT_EQ(std::string_view(sum["Name"]), "crashy");

  // Empty results: Sloop's bodies. GetResSummaryData, GetEventData: an empty body; EventHeatMap:
  // rows as an empty array under view_options; GetResPayload: an empty array.
  struct Empty {
    std::string target;
    std::string body;  // "" = empty body; otherwise a prefix of the JSON body
  } empties[] = {
      {"/cluster/data?query=GetResSummaryData&namespace=shop&kind=Pod&name=none&lookback=1h", ""},
      {"/cluster/data?query=GetEventData&namespace=shop&kind=Pod&name=none&lookback=1h", ""},
      {"/cluster/data?query=GetResPayload&namespace=shop&kind=Pod&name=none&lookback=1h", "["},
      {"/cluster/data?query=EventHeatMap&namespace=nowhere&lookback=1h&kind=_all&sort=name",
       "{\n \"view_options\": {\n  \"sort\": \"name\"\n },\n \"rows\": []"},
  };
  for (const Empty& e : empties) {
    Response er = Get(e.target);
    EXPECT_EQ(er.status, 200) << e.target;
    if (e.body.empty()) {
      EXPECT_EQ(er.body, "") << e.target;
    } else {
      EXPECT_TRUE(er.body.starts_with(e.body)) << e.target << " → " << er.body;
    }
  }
}

// EventHeatMap never drops rows silently: all of them, or an answer that says it was cut.
TEST_F(RoutesTest, EventHeatMapSaysWhenItWasCut) {
  auto all = Json(Get("/cluster/data?query=EventHeatMap&namespace=shop&lookback=1h&kind=Pod"));
  EXPECT_EQ(all["rows"].get_array().size(), 2u);
  simdjson::dom::element absent;
  EXPECT_NE(all["truncated"].get(absent), simdjson::SUCCESS);  // Sloop's shape when whole
  auto cut =
      Json(Get("/cluster/data?query=EventHeatMap&namespace=shop&lookback=1h&kind=Pod&limit=1"));
  EXPECT_EQ(cut["rows"].get_array().size(), 1u);
  EXPECT_TRUE(bool(cut["truncated"]));
  EXPECT_EQ(int64_t(cut["total_rows"]), 2);
}

// The Sloop queries pick a row by uid before their limit (GetResSummaryData keeps 100 rows, and
// the UI asks for one by uid alone), leave out rows the user may not read before they count,
// and bound their answer as /api/v1/timeline does (indented JSON takes ~16 bytes a tick).
TEST_F(RoutesTest, SloopQueriesFilterBeforeTheLimitAndBoundTheirAnswer) {
  for (int i = 0; i < 300; ++i) {
    std::string n = "p-" + std::to_string(i);
    Append(mk_.Pod(kT0 + 7 * kMin + i * kSec / 100, i < 200 ? "bulk" : "hidden", n, "uid-" + n,
                   100 + i));
  }
  const std::string window = "&start_time=1795165200&end_time=1795165800";
  auto one =
      Json(Get("/cluster/data?query=EventHeatMap&kind=Pod&uuid=uid-p-150&limit=10" + window));
  ASSERT_EQ(one["rows"].get_array().size(), 1u);
  EXPECT_EQ(std::string_view(one["rows"].at(0)["text"]), "p-150");
  simdjson::dom::element absent;
  EXPECT_NE(one["truncated"].get(absent), simdjson::SUCCESS);
  Response summary = Get("/cluster/data?query=GetResSummaryData&kind=Pod&uuid=uid-p-150" + window);
  ASSERT_EQ(summary.status, 200);
  ASSERT_FALSE(summary.body.empty()) << "the pod is found past the first 100 rows";
  EXPECT_EQ(std::string_view(Json(summary)["Name"]), "p-150");

  // A user who may read only "bulk": the rows and the counts are of bulk alone.
  auto only_bulk = [](std::string_view ns) { return ns == "bulk"; };
  auto mine =
      Json(Get("/cluster/data?query=EventHeatMap&kind=Pod&limit=250" + window, "GET", only_bulk));
  EXPECT_EQ(mine["rows"].get_array().size(), 200u);
  EXPECT_NE(mine["truncated"].get(absent), simdjson::SUCCESS) << "250 rows allowed, 200 readable";
  auto api =
      Json(Get("/api/v1/timeline?kind=Pod&limit=150&from=2026-11-20T09:00:00Z"
               "&to=2026-11-20T09:10:00Z",
               "GET", only_bulk));
  EXPECT_EQ(int64_t(api["matched"]), 200);
  EXPECT_EQ(api["rows"].get_array().size(), 150u);
  Response hidden = Get("/cluster/data?query=GetResSummaryData&kind=Pod&uuid=uid-p-250" + window,
                        "GET", only_bulk);
  EXPECT_TRUE(hidden.body.empty());

  // Sloop's "_all" means every namespace or kind on these routes too (one kind is asked of a
  // snapshot: refused, naming the parameter).
  const std::string api_window = "from=2026-11-20T09:00:00Z&to=2026-11-20T09:10:00Z";
  const std::string every = Get("/api/v1/timeline?limit=5000&" + api_window).body;
  EXPECT_NE(every.find("\"p-150\""), std::string::npos);
  EXPECT_EQ(Get("/api/v1/timeline?limit=5000&namespace=_all&kind=_all&" + api_window).body, every);
  EXPECT_EQ(Get("/api/v1/changes?kind=_all&" + api_window).body,
            Get("/api/v1/changes?" + api_window).body);
  EXPECT_EQ(Get("/api/v1/resources?kind=_all&search=p-15&lookback=24h").body,
            Get("/api/v1/resources?search=p-15&lookback=24h").body);
  EXPECT_EQ(BadParam("/api/v1/snapshot?kind=_all"), "kind");

  router_.reset();
  options_.max_answer_bytes = 64 << 10;
  router_ = MakeSloopRouter(options_, *store_, registry_);
  Response cut = Get("/cluster/data?query=EventHeatMap&kind=Pod" + window);
  ASSERT_EQ(cut.status, 200) << cut.body;
  EXPECT_LE(cut.body.size(), size_t(64) << 10);
  auto doc = Json(cut);
  EXPECT_TRUE(bool(doc["truncated"]));
  EXPECT_EQ(int64_t(doc["total_rows"]), 302);  // and the fixture's two
  EXPECT_GT(doc["rows"].get_array().size(), 50u);
  EXPECT_LT(doc["rows"].get_array().size(), 300u);
}

// Resource links are Go templates run by the server for each resource.
TEST_F(RoutesTest, ResourceLinksAreExpandedOnTheServer) {
  auto doc = Json(Get("/api/v1/links?kind=Pod&namespace=shop&name=Crashy&uid=pod-uid"));
  auto links = doc["links"].get_array();
  ASSERT_EQ(links.size(), 1u);
  EXPECT_EQ(std::string_view(links.at(0)["url"]), "https://logs/?q=crashy&k=Pod");
  EXPECT_EQ(BadParam("/api/v1/links?namespace=shop&name=x"), "kind");
}

TEST_F(RoutesTest, LeftBarLinksAreExpandedOverThePageFields) {
  options_.left_bar_links.push_back(
      {"Grafana", "https://g/?ctx={{urlquery .CurrentContext}}&k={{ToLower .DefaultKind}}", {}});
  options_.default_kind = "Pod";
  router_ = MakeSloopRouter(options_, *store_, registry2_);
  auto doc = Json(Get("/api/v1/config"));
  auto links = doc["left_bar_links"].get_array();
  ASSERT_EQ(links.size(), 1u);
  EXPECT_EQ(std::string_view(links.at(0)["url"]), "https://g/?ctx=cluster&k=pod");
  EXPECT_EQ(std::string_view(links.at(0)["url_template"]),
            "https://g/?ctx={{urlquery .CurrentContext}}&k={{ToLower .DefaultKind}}");
}

}  // namespace
}  // namespace sloop::http

namespace sloop::http {
namespace {

// /api/v1/gaps over a recording log: a stop between two sessions, a watch relisted after 410, a
// watch down now; clipped to the window and to the first record.
class GapsRouteTest : public RoutesTest {
 protected:
  void MakeLog() {
    RecordingLogOptions o;
    o.path = dir_ / RecordingLog::kFileName;
    o.heartbeat_interval = std::chrono::milliseconds(0);
    o.now_ns = [this] { return now_.load(); };
    now_ = kT0;
    {
      auto first = RecordingLog::Open(o, nullptr);
      ASSERT_TRUE(first.has_value());
      ASSERT_TRUE((*first)->BeginSession());
      now_ = kT0 + 2 * kMin;
      ASSERT_TRUE((*first)->EndSession());
    }
    now_ = kT0 + 3 * kMin;
    auto log = RecordingLog::Open(o, nullptr);
    ASSERT_TRUE(log.has_value());
    ASSERT_TRUE((*log)->BeginSession());
    uint64_t pod = (*log)->OpenInterval(
        IntervalMark{"watch", "Pod", "", "the Pod watch is down", kT0 + 4 * kMin});
    (*log)->CloseInterval(pod, kT0 + 5 * kMin,
                          "the Pod watch was cut (410 Gone) and relisted; changes in between "
                          "may be missing");
    (*log)->OpenInterval(IntervalMark{"watch", "Deployment", "apps", "the Deployment watch is down",
                                      kT0 + 5 * kMin});
    now_ = kT0 + 10 * kMin;
    log_ = std::move(*log);
    options_.recording_log = log_;
    router_ = MakeSloopRouter(options_, *store_, registry2_);
  }
  void TearDown() override {
    router_.reset();
    log_.reset();
    RoutesTest::TearDown();
  }
  std::shared_ptr<RecordingLog> log_;
};

TEST_F(GapsRouteTest, ShapesOfEveryScope) {
  MakeLog();
  Response r = Get("/api/v1/gaps?from=2026-11-20T09:00:00Z&to=2026-11-20T09:10:00Z");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body,
            "{\"start\":\"2026-11-20T09:00:00Z\",\"end\":\"2026-11-20T09:10:00Z\","
            "\"recording_since\":\"2026-11-20T09:01:00Z\",\"recording\":true,\"gaps\":["
            "{\"start\":\"2026-11-20T09:02:00Z\",\"end\":\"2026-11-20T09:03:00Z\","
            "\"scope\":\"recorder\",\"kind\":null,\"group\":null,"
            "\"reason\":\"sloop was not running\"},"
            "{\"start\":\"2026-11-20T09:04:00Z\",\"end\":\"2026-11-20T09:05:00Z\","
            "\"scope\":\"watch\",\"kind\":\"Pod\",\"group\":\"\","
            "\"reason\":\"the Pod watch was cut (410 Gone) and relisted; changes in between may "
            "be missing\"},"
            "{\"start\":\"2026-11-20T09:05:00Z\",\"end\":null,"
            "\"scope\":\"watch\",\"kind\":\"Deployment\",\"group\":\"apps\","
            "\"reason\":\"the Deployment watch is down\"}]}\n");
  // The same under the context prefix, and with Sloop's parameter names (Unix seconds).
  EXPECT_EQ(Get("/cluster/api/v1/gaps?from=2026-11-20T09:00:00Z&to=2026-11-20T09:10:00Z").body,
            r.body);
  EXPECT_EQ(Get("/api/v1/gaps?start_time=1795165200&end_time=1795165800").body, r.body);
  EXPECT_EQ(Get("/api/v1/gaps?lookback=10m").body, r.body) << "ends now by default";

  // One kind: the recorder's gaps (every kind's) and that kind's.
  auto e = Json(Get("/api/v1/gaps?lookback=10m&kind=Pod"));
  auto gaps = e["gaps"].get_array().value();
  ASSERT_EQ(gaps.size(), 2u);
  EXPECT_EQ(std::string_view(gaps.at(0)["scope"].get_string().value()), "recorder");
  EXPECT_EQ(std::string_view(gaps.at(1)["kind"].get_string().value()), "Pod");
  EXPECT_EQ(Json(Get("/api/v1/gaps?lookback=10m&kind=_all"))["gaps"].get_array().size(), 3u);

  // Clipped to the window; nothing outside it.
  e = Json(Get("/api/v1/gaps?from=2026-11-20T09:02:30Z&to=2026-11-20T09:04:30Z"));
  gaps = e["gaps"].get_array().value();
  ASSERT_EQ(gaps.size(), 2u);
  EXPECT_EQ(std::string_view(gaps.at(0)["start"].get_string().value()), "2026-11-20T09:02:30Z");
  EXPECT_EQ(std::string_view(gaps.at(1)["end"].get_string().value()), "2026-11-20T09:04:30Z");
  EXPECT_EQ(Json(Get("/api/v1/gaps?from=2026-11-20T08:00:00Z&to=2026-11-20T08:30:00Z"))["gaps"]
                .get_array()
                .size(),
            0u);

  // The metric counts the watch gaps reported (and the hole found at open).
  r = Get("/metrics");
  EXPECT_NE(r.body.find("sloop_recording_gaps_total{scope=\"watch\"} 2"), std::string::npos)
      << r.body.substr(0, 3000);
  EXPECT_NE(r.body.find("sloop_recording_gaps_total{scope=\"recorder\"} 1"), std::string::npos);
}

TEST_F(GapsRouteTest, TimeBeforeTheFirstRecordIsNoGap) {
  // The store's oldest record is at 09:01; a log whose first session stopped at 08:30 and
  // started again at 09:00 has a hole that lies before anything retained.
  RecordingLogOptions o;
  o.path = dir_ / RecordingLog::kFileName;
  o.heartbeat_interval = std::chrono::milliseconds(0);
  o.now_ns = [this] { return now_.load(); };
  now_ = kT0 - kHour;
  {
    auto log = RecordingLog::Open(o, nullptr);
    ASSERT_TRUE((*log)->BeginSession());
    now_ = kT0 - 30 * kMin;
    ASSERT_TRUE((*log)->EndSession());
  }
  now_ = kT0;
  auto log = RecordingLog::Open(o, nullptr);
  ASSERT_TRUE((*log)->BeginSession());
  now_ = kT0 + 10 * kMin;
  options_.recording_log = std::move(*log);
  router_ = MakeSloopRouter(options_, *store_, registry2_);
  auto e = Json(Get("/api/v1/gaps?lookback=2h"));
  EXPECT_EQ(std::string_view(e["recording_since"].get_string().value()), "2026-11-20T09:01:00Z");
  EXPECT_EQ(e["gaps"].get_array().size(), 0u);
}

TEST_F(GapsRouteTest, WithoutALogNothingIsKnown) {
  Response r = Get("/api/v1/gaps?lookback=10m");
  ASSERT_EQ(r.status, 200);
  auto e = Json(r);
  EXPECT_EQ(std::string_view(e["recording_since"].get_string().value()), "2026-11-20T09:01:00Z");
  EXPECT_FALSE(e["recording"].get_bool().value());
  EXPECT_EQ(e["gaps"].get_array().size(), 0u);
  EXPECT_EQ(Get("/metrics").body.find("sloop_recording_gaps_total"), std::string::npos);
}

TEST_F(GapsRouteTest, BadParametersAreNamed) {
  EXPECT_EQ(BadParam("/api/v1/gaps?from=yesterday"), "from");
  EXPECT_EQ(BadParam("/api/v1/gaps?from=1795165800&to=1795165200"), "from");
  EXPECT_EQ(BadParam("/api/v1/gaps?lookback=-1h"), "lookback");
  EXPECT_EQ(BadParam("/api/v1/gaps?lookback=1h&from=1795165200"), "lookback");
  EXPECT_EQ(BadParam("/api/v1/gaps?start_time=1795165200&from=1795165200"), "start_time");
  EXPECT_EQ(BadParam("/api/v1/gaps?end_time=1795165200&to=1795165200"), "end_time");
  EXPECT_EQ(BadParam("/api/v1/gaps?start_time=1795165200&lookback=1h"), "lookback");
  EXPECT_EQ(BadParam("/api/v1/gaps?start_time=1795165800&end_time=1795165200"), "start_time");
  EXPECT_EQ(BadParam("/api/v1/gaps?start_time=soon"), "start_time");
  EXPECT_EQ(BadParam("/api/v1/gaps?end_time=2026-02-30T00:00:00Z"), "end_time");
  EXPECT_EQ(BadParam("/api/v1/gaps?kind=%ff"), "kind");
  EXPECT_EQ(Get("/api/v1/gaps", "POST").status, 405);
}

}  // namespace
}  // namespace sloop::http
