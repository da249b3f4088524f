// GET /api/v1/snapshot and /api/v1/changes against a real Store holding three hours of a small
// shop: sealed and active shards, a name reused by a new uid, a rollout, noise-only updates, a
// deletion inferred at a relist and a burst of Warning Events.
#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <simdjson.h>
#include <unistd.h>

#include <atomic>
#include <deque>
#include <filesystem>

#include "engine/store.h"
#include "http/http_message.h"
#include "http/params.h"
#include "http/path_router.h"
#include "http/routes.h"
#include "tests/engine/record_maker.h"

namespace sloop::http {
namespace {

namespace fs = std::filesystem;
using sloop::testing::ReadFixture;
using sloop::testing::RecordMaker;
using sloop::testing::ReplaceAll;

constexpr int64_t kSec = 1000000000LL;
constexpr int64_t kMin = 60 * kSec;
constexpr int64_t kT0 = 1795165200LL * kSec;  // 2026-11-20T09:00:00Z

constexpr char kRsUid[] = "0b8e4d21-6f3a-4a9c-b1e7-2d5c9f8a3e14";  // the pod fixture's owner

int64_t At(int hour, int minute) { return kT0 + (hour - 9) * 60 * kMin + minute * kMin; }

class SnapshotChangesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("sloop-http-snapshot-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    now_ = At(10, 50);
    StoreOptions o;
    o.root = dir_;
    o.background = false;
    o.now_ns = [this] { return now_.load(); };
    auto s = Store::Open(o);
    ASSERT_TRUE(s.has_value()) << s.error().ToString();
    store_ = std::move(*s);
    Fill();
    options_.display_context = "cluster";
    router_ = MakeSloopRouter(options_, *store_, registry_);
  }
  void TearDown() override {
    router_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }

  void Append(const RecordView& r) { ASSERT_TRUE(store_->Append(r).has_value()); }

  // A record of hand-made JSON, its strings kept here.
  RecordView Make(int64_t t, WatchType type, std::string group, std::string kind, std::string ns,
                  std::string name, std::string uid, int rv, std::string payload) {
    auto keep = [&](std::string s) -> std::string_view {
      return strings_.emplace_back(std::move(s));
    };
    RecordView v;
    v.observed_ns = t;
    v.watch_type = type;
    v.api_group = keep(std::move(group));
    v.api_version = keep("v1");
    v.kind = keep(std::move(kind));
    v.namespace_ = keep(std::move(ns));
    v.name = keep(std::move(name));
    v.uid = keep(std::move(uid));
    v.resource_version = keep(std::to_string(rv));
    v.payload = keep(std::move(payload));
    return v;
  }

  // The pod fixture (owned by the ReplicaSet kRsUid), with edits to its compact JSON.
  RecordView Pod(int64_t t, WatchType type, std::string name, std::string uid, int rv,
                 int64_t created, std::vector<std::pair<std::string, std::string>> edits = {}) {
    RecordView base = mk_.Pod(t, "shop", name, uid, rv, type, created);
    std::string json(base.payload);
    for (const auto& [from, to] : edits) {
      size_t before = json.size();
      ReplaceAll(json, from, to);
      EXPECT_TRUE(json.size() != before || from.size() == to.size()) << from;
    }
    return Make(t, type, "", "Pod", "shop", name, uid, rv, json);
  }

  RecordView Deployment(int64_t t, WatchType type, int rv, int generation, std::string image,
                        int observed, int replicas, int updated, int available) {
    auto n = [](int v) { return std::to_string(v); };
    std::string json =
        R"({"kind":"Deployment","apiVersion":"apps/v1","metadata":{"name":"web","namespace":"shop",)"
        R"("uid":"dep-uid","resourceVersion":")" +
        n(rv) + R"(","generation":)" + n(generation) +
        R"(,"creationTimestamp":"2026-11-20T08:00:00Z","annotations":{"deployment.kubernetes.io/revision":")" +
        n(generation) +
        R"("}},"spec":{"replicas":3,"template":{"spec":{"containers":[{"name":"web",)"
        R"("image":")" +
        image + R"("}]}}},"status":{"observedGeneration":)" + n(observed) + R"(,"replicas":)" +
        n(replicas) + R"(,"updatedReplicas":)" + n(updated) + R"(,"readyReplicas":)" +
        n(available) + R"(,"availableReplicas":)" + n(available) + "}}";
    return Make(t, type, "apps", "Deployment", "shop", "web", "dep-uid", rv, json);
  }

  RecordView ReplicaSet(int64_t t, int rv) {
    std::string json =
        R"({"kind":"ReplicaSet","apiVersion":"apps/v1","metadata":{"name":"checkout-7d9f8c6b5d",)"
        R"("namespace":"shop","uid":")" +
        std::string(kRsUid) + R"(","resourceVersion":")" + std::to_string(rv) +
        R"(","creationTimestamp":"2026-11-20T08:00:00Z","ownerReferences":[{"apiVersion":"apps/v1",)"
        R"("kind":"Deployment","name":"web","uid":"dep-uid","controller":true}]},)"
        R"("spec":{"replicas":3},"status":{"replicas":3,"readyReplicas":3}})";
    return Make(t, WatchType::kAdded, "apps", "ReplicaSet", "shop", "checkout-7d9f8c6b5d", kRsUid,
                rv, json);
  }

  // 09:00-10:00 is sealed (Maintain), 10:00-11:00 is the active shard.
  void Fill() {
    const std::pair<std::string, std::string> failed{"\"phase\":\"Running\"",
                                                     "\"phase\":\"Failed\""};
    const std::pair<std::string, std::string> probed{"\"lastProbeTime\":null",
                                                     "\"lastProbeTime\":\"2026-11-20T10:30:00Z\""};
    Append(ReplicaSet(At(9, 0), 1));
    Append(Pod(At(9, 1), WatchType::kAdded, "old", "old-uid", 2, At(9, 1)));
    Append(mk_.Node(At(9, 2), "node-a", "node-uid", 3, WatchType::kAdded));
    Append(Deployment(At(9, 3), WatchType::kAdded, 4, 1, "nginx:1.25", 1, 3, 3, 3));
    Append(Pod(At(9, 5), WatchType::kAdded, "web-1", "u1", 5, At(9, 5)));
    Append(Pod(At(9, 10), WatchType::kAdded, "flappy", "flappy-uid", 6, At(9, 10)));
    Append(Pod(At(9, 11), WatchType::kAdded, "steady", "steady-uid", 7, At(9, 11)));
    Append(Pod(At(9, 20), WatchType::kModified, "web-1", "u1", 8, At(9, 5),
               {{"\"podIP\":\"10.42.19.88\"", "\"podIP\":\"10.42.19.99\""}}));
    Append(Pod(At(9, 30), WatchType::kAdded, "ghost", "ghost-uid", 9, At(9, 30)));
    Append(mk_.Pod(At(9, 40), "ops", "other", "other-uid", 10, WatchType::kAdded, At(9, 40)));
    // The window the changes tests read: 10:00-10:50.
    Append(Deployment(At(10, 5), WatchType::kModified, 11, 2, "nginx:1.26", 1, 3, 3, 3));
    Append(Deployment(At(10, 6), WatchType::kModified, 12, 2, "nginx:1.26", 2, 4, 1, 3));
    Append(Deployment(At(10, 8), WatchType::kModified, 13, 2, "nginx:1.26", 2, 3, 3, 3));
    Append(Pod(At(10, 10), WatchType::kDeleted, "web-1", "u1", 14, At(9, 5)));
    Append(Pod(At(10, 12), WatchType::kDeletedInferred, "ghost", "ghost-uid", 9, At(9, 30)));
    Append(Pod(At(10, 15), WatchType::kModified, "flappy", "flappy-uid", 15, At(9, 10), {failed}));
    Append(Pod(At(10, 20), WatchType::kAdded, "web-1", "u2", 16, At(10, 20)));
    Append(mk_.Event(At(10, 25) + 13 * kSec, "shop", "web-1.1", "Pod", "web-1", "u2", "BackOff",
                     true, 1, At(10, 25) + 13 * kSec, 17, WatchType::kAdded));
    Append(mk_.Event(At(10, 27), "shop", "web-1.1", "Pod", "web-1", "u2", "BackOff", true, 12,
                     At(10, 25) + 13 * kSec, 18, WatchType::kModified));
    Append(mk_.Event(At(10, 28), "shop", "web-1.2", "Pod", "web-1", "u2", "Pulled", false, 1,
                     At(10, 28), 19, WatchType::kAdded));
    // As a relist's item: no kind or apiVersion, and nothing else changed but a probe time.
    Append(Pod(At(10, 30), WatchType::kModified, "steady", "steady-uid", 20, At(9, 11),
               {probed, {R"("kind":"Pod","apiVersion":"v1",)", ""}}));
    Append(Pod(At(10, 40), WatchType::kAdded, "late", "late-uid", 21, At(10, 40)));
    auto m = store_->Maintain();
    ASSERT_TRUE(m.has_value()) << m.error().ToString();
    auto shards = store_->Shards();
    ASSERT_EQ(shards.size(), 2u);
    ASSERT_TRUE(shards[0].sealed);
    ASSERT_FALSE(shards[1].sealed);
  }

  Response Get(std::string target, std::function<bool(std::string_view)> may_read = nullptr) {
    Request req;
    req.method = "GET";
    req.target = std::move(target);
    req.may_read_namespace = std::move(may_read);
    std::string why;
    if (!ParseTarget(&req, &why)) return ErrorResponse(400, "", why);
    return router_->Handle(req);
  }

  simdjson::dom::element Json(const Response& r) {
    simdjson::dom::element e;
    auto err = parser_.parse(r.body).get(e);
    EXPECT_EQ(err, simdjson::SUCCESS) << r.body.substr(0, 500);
    return e;
  }

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

  // "name/uid@resource_version" of each snapshot row, in order.
  std::vector<std::string> Rows(const std::string& query) {
    Response r = Get("/api/v1/snapshot?" + query);
    EXPECT_EQ(r.status, 200) << r.body;
    std::vector<std::string> out;
    auto doc = Json(r);
    for (auto row : doc["rows"].get_array()) {
      std::string_view rv = "null";
      if (row["resource_version"].get(rv)) rv = "null";
      out.push_back(std::string(row["name"].get_string().value()) + "/" +
                    std::string(row["uid"].get_string().value()) + "@" + std::string(rv));
    }
    return out;
  }

  fs::path dir_;
  std::atomic<int64_t> now_;
  RecordMaker mk_;
  std::deque<std::string> strings_;
  std::unique_ptr<Store> store_;
  HttpOptions options_;
  prometheus::Registry registry_;
  std::unique_ptr<Router> router_;
  simdjson::dom::parser parser_;
};

using Strings = std::vector<std::string>;

TEST_F(SnapshotChangesTest, SnapshotAtSeveralMoments) {
  // Before web-1's update; flappy and later pods not created yet.
  EXPECT_EQ(Rows("kind=Pod&namespace=shop&at=2026-11-20T09:06:00Z"),
            (Strings{"old/old-uid@2", "web-1/u1@5"}));
  // The version in effect: web-1's update at 09:20.
  EXPECT_EQ(Rows("kind=Pod&namespace=shop&at=2026-11-20T09:45:00Z"),
            (Strings{"flappy/flappy-uid@6", "ghost/ghost-uid@9", "old/old-uid@2",
                     "steady/steady-uid@7", "web-1/u1@8"}));
  // In the active shard: u1 deleted at 10:10, ghost's deletion inferred at 10:12, u2 not yet;
  // old and steady are carried over with their versions in the sealed shard.
  EXPECT_EQ(Rows("kind=Pod&namespace=shop&at=1795169700"),  // 10:15
            (Strings{"flappy/flappy-uid@15", "old/old-uid@2", "steady/steady-uid@7"}));
  // The name reused: the new uid.
  EXPECT_EQ(Rows("kind=Pod&namespace=shop&at=2026-11-20T10:45:00Z"),
            (Strings{"flappy/flappy-uid@15", "late/late-uid@21", "old/old-uid@2",
                     "steady/steady-uid@20", "web-1/u2@16"}));
  // No time: now. _all: every namespace.
  EXPECT_EQ(Rows("kind=Pod&namespace=_all"),
            (Strings{"other/other-uid@10", "flappy/flappy-uid@15", "late/late-uid@21",
                     "old/old-uid@2", "steady/steady-uid@20", "web-1/u2@16"}));
  EXPECT_EQ(Rows("kind=Pod"), Rows("kind=Pod&namespace=_all"));
  // Before anything was recorded, and a kind never recorded: empty.
  EXPECT_EQ(Rows("kind=Pod&at=2026-11-20T08:00:00Z"), Strings{});
  EXPECT_EQ(Rows("kind=Gadget"), Strings{});
  // A deletion at the very moment asked leaves the object in (deleted *before* `at` only).
  EXPECT_EQ(Rows("kind=Pod&namespace=shop&at=2026-11-20T10:10:00Z").back(), "web-1/u1@14");
}

TEST_F(SnapshotChangesTest, SnapshotAnswerShapeAndColumns) {
  Response r = Get("/api/v1/snapshot?kind=Pod&namespace=shop&at=2026-11-20T10:45:00Z");
  ASSERT_EQ(r.status, 200) << r.body;
  auto doc = Json(r);
  EXPECT_EQ(std::string_view(doc["at"]), "2026-11-20T10:45:00Z");
  EXPECT_EQ(std::string_view(doc["kind"]), "Pod");
  EXPECT_EQ(std::string_view(doc["namespace"]), "shop");
  EXPECT_EQ(doc["columns"].get_array().size(), 7u);
  EXPECT_EQ(std::string_view(doc["columns"].at(2)), "STATUS");
  EXPECT_EQ(int64_t(doc["matched"]), 5);
  EXPECT_FALSE(bool(doc["truncated"]));
  auto flappy = doc["rows"].at(0);
  EXPECT_EQ(std::string_view(flappy["kind"]), "Pod");
  EXPECT_EQ(std::string_view(flappy["namespace"]), "shop");
  EXPECT_EQ(std::string_view(flappy["api_version"]), "v1");
  EXPECT_EQ(std::string_view(flappy["version_time"]), "2026-11-20T10:15:00Z");
  Strings cells;
  for (auto c : flappy["cells"].get_array()) cells.emplace_back(std::string_view(c));
  EXPECT_EQ(cells, (Strings{"flappy", "1/1", "Failed", "0", "95m", "10.42.19.88",
                            "ip-10-42-17-203.ec2.internal"}));
  // Same answer under the context prefix.
  EXPECT_EQ(Get("/cluster/api/v1/snapshot?kind=Pod&namespace=shop&at=2026-11-20T10:45:00Z").body,
            r.body);

  // A cluster-scoped kind with a namespace: the Nodes (kubectl -n shop get nodes lists them).
  doc = Json(Get("/api/v1/snapshot?kind=Node&namespace=shop"));
  ASSERT_EQ(doc["rows"].get_array().size(), 1u);
  EXPECT_EQ(std::string_view(doc["rows"].at(0)["name"]), "node-a");
  EXPECT_EQ(std::string_view(doc["rows"].at(0)["cells"].at(1)), "Ready");
  EXPECT_TRUE(doc["namespace"].is_string());
  doc = Json(Get("/api/v1/snapshot?kind=Deployment"));
  EXPECT_TRUE(doc["namespace"].is_null());
  ASSERT_EQ(doc["rows"].get_array().size(), 1u);
  EXPECT_EQ(std::string_view(doc["rows"].at(0)["api_version"]), "apps/v1");
  EXPECT_EQ(std::string_view(doc["rows"].at(0)["cells"].at(1)), "3/3");

  // Truncation keeps the count of all.
  doc = Json(Get("/api/v1/snapshot?kind=Pod&namespace=shop&at=2026-11-20T10:45:00Z&limit=2"));
  EXPECT_EQ(doc["rows"].get_array().size(), 2u);
  EXPECT_EQ(int64_t(doc["matched"]), 5);
  EXPECT_TRUE(bool(doc["truncated"]));
}

TEST_F(SnapshotChangesTest, SnapshotRespectsNamespaceAccess) {
  auto only_ops = [](std::string_view ns) { return ns == "ops"; };
  Response r = Get("/api/v1/snapshot?kind=Pod", only_ops);
  ASSERT_EQ(r.status, 200) << r.body;
  auto doc = Json(r);
  ASSERT_EQ(doc["rows"].get_array().size(), 1u);
  EXPECT_EQ(std::string_view(doc["rows"].at(0)["name"]), "other");
  EXPECT_EQ(Get("/api/v1/snapshot?kind=Pod&namespace=shop", only_ops).status, 403);
  EXPECT_EQ(Json(Get("/api/v1/snapshot?kind=Node", only_ops))["rows"].get_array().size(), 0u);
}

TEST_F(SnapshotChangesTest, SnapshotErrorsNameTheParameter) {
  EXPECT_EQ(BadParam("/api/v1/snapshot"), "kind");
  EXPECT_EQ(BadParam("/api/v1/snapshot?namespace=shop"), "kind");
  EXPECT_EQ(BadParam("/api/v1/snapshot?kind=Pod&at=yesterday"), "at");
  EXPECT_EQ(BadParam("/api/v1/snapshot?kind=Pod&at=-5"), "at");
  EXPECT_EQ(BadParam("/api/v1/snapshot?kind=Pod&limit=0"), "limit");
  EXPECT_EQ(BadParam("/api/v1/snapshot?kind=Pod&limit=100001"), "limit");
}

struct Entry {
  std::string change, at, kind, name, uid, owner, detail, from_time, to_time;
  Strings fields;
  int64_t count = -1;
};

class ChangesTest : public SnapshotChangesTest {
 protected:
  std::vector<Entry> Changes(const std::string& query, simdjson::dom::element* doc_out = nullptr) {
    Response r = Get("/api/v1/changes?" + query);
    EXPECT_EQ(r.status, 200) << r.body;
    auto doc = Json(r);
    if (doc_out) *doc_out = doc;
    std::vector<Entry> out;
    for (auto c : doc["changes"].get_array()) {
      Entry e;
      auto str = [](simdjson::dom::element v) {
        std::string_view s;
        return v.get(s) ? std::string("null") : std::string(s);
      };
      e.change = str(c["change"]);
      e.at = str(c["at"]);
      e.kind = str(c["kind"]);
      e.name = str(c["name"]);
      e.uid = str(c["uid"]);
      e.owner =
          c["owner"].is_null() ? "null" : str(c["owner"]["kind"]) + "/" + str(c["owner"]["name"]);
      e.detail = str(c["detail"]);
      e.from_time = str(c["from_time"]);
      e.to_time = str(c["to_time"]);
      for (auto f : c["fields"].get_array()) e.fields.emplace_back(std::string_view(f));
      int64_t n;
      if (!c["count"].get(n)) e.count = n;
      out.push_back(std::move(e));
    }
    return out;
  }
  static std::string Window() { return "from=2026-11-20T10:00:00Z&to=2026-11-20T10:50:00Z"; }
};

TEST_F(ChangesTest, WhatChangedInTheWindowNewestFirst) {
  simdjson::dom::element doc;
  auto got = Changes(Window() + "&namespace=shop", &doc);
  Strings summary;
  for (const Entry& e : got) summary.push_back(e.change + " " + e.kind + "/" + e.name + " " + e.at);
  EXPECT_EQ(summary, (Strings{
                         "added Pod/late 2026-11-20T10:40:00Z",
                         "warnings Pod/web-1 2026-11-20T10:25:13Z",
                         "added Pod/web-1 2026-11-20T10:20:00Z",
                         "changed Pod/flappy 2026-11-20T10:15:00Z",
                         "deleted Pod/ghost 2026-11-20T10:12:00Z",
                         "deleted Pod/web-1 2026-11-20T10:10:00Z",
                         "changed Deployment/web 2026-11-20T10:08:00Z",
                         "rollout_finished Deployment/web 2026-11-20T10:08:00Z",
                         "rollout_started Deployment/web 2026-11-20T10:05:00Z",
                     }))
      << "steady's update changed only resourceVersion, a probe time and the type fields: not listed";
  EXPECT_EQ(std::string_view(doc["start"]), "2026-11-20T10:00:00Z");
  EXPECT_EQ(std::string_view(doc["end"]), "2026-11-20T10:50:00Z");
  EXPECT_EQ(int64_t(doc["matched"]), 9);
  EXPECT_FALSE(bool(doc["truncated"]));
  auto counts = doc["counts"];
  EXPECT_EQ(int64_t(counts["added"]), 2);
  EXPECT_EQ(int64_t(counts["deleted"]), 2);
  EXPECT_EQ(int64_t(counts["changed"]), 2);
  EXPECT_EQ(int64_t(counts["rollout_started"]), 1);
  EXPECT_EQ(int64_t(counts["rollout_finished"]), 1);
  EXPECT_EQ(int64_t(counts["warnings"]), 1);

  std::map<std::string, Entry> by;
  for (const Entry& e : got) by[e.change + " " + e.name + " " + e.uid] = e;
  const Entry& flappy = by["changed flappy flappy-uid"];
  EXPECT_EQ(flappy.fields, Strings{"status.phase"});
  EXPECT_EQ(flappy.detail, "status.phase Running → Failed");
  EXPECT_EQ(flappy.from_time, "2026-11-20T09:10:00Z");
  EXPECT_EQ(flappy.to_time, "2026-11-20T10:15:00Z");
  EXPECT_EQ(flappy.owner, "Deployment/web") << "Pod → ReplicaSet → Deployment";

  const Entry& started = by["rollout_started web dep-uid"];
  EXPECT_EQ(started.detail, "revision 1 → 2: image nginx:1.25 → nginx:1.26");
  EXPECT_EQ(started.fields, Strings{"spec.template.spec.containers[0].image"});
  EXPECT_EQ(started.from_time, "2026-11-20T09:03:00Z");
  EXPECT_EQ(started.owner, "null");
  EXPECT_EQ(by["rollout_finished web dep-uid"].detail, "revision 2: 3/3 updated, 3 available");
  const Entry& deployment = by["changed web dep-uid"];
  EXPECT_NE(std::find(deployment.fields.begin(), deployment.fields.end(),
                      "spec.template.spec.containers[0].image"),
            deployment.fields.end());
  EXPECT_NE(std::find(deployment.fields.begin(), deployment.fields.end(), "metadata.generation"),
            deployment.fields.end());
  EXPECT_EQ(
      std::find(deployment.fields.begin(), deployment.fields.end(), "metadata.resourceVersion"),
      deployment.fields.end());
  EXPECT_TRUE(deployment.detail.starts_with("image nginx:1.25 → nginx:1.26; "))
      << deployment.detail;

  EXPECT_EQ(by["deleted web-1 u1"].detail, "deleted");
  EXPECT_EQ(by["deleted web-1 u1"].from_time, "2026-11-20T09:20:00Z");
  EXPECT_EQ(by["deleted ghost ghost-uid"].detail,
            "deletion inferred at relist (deleted while the watch was down)");
  EXPECT_EQ(by["added web-1 u2"].to_time, "2026-11-20T10:20:00Z");
  EXPECT_EQ(by["added web-1 u2"].detail, "created");
  EXPECT_EQ(by["added web-1 u2"].from_time, "null");

  const Entry& burst = by["warnings web-1 u2"];
  EXPECT_EQ(burst.count, 12);
  EXPECT_EQ(burst.detail, "12× BackOff: message");
  EXPECT_EQ(burst.owner, "Deployment/web");
}

TEST_F(ChangesTest, KindFilterStillResolvesOwners) {
  auto got = Changes(Window() + "&kind=Pod");
  ASSERT_EQ(got.size(), 6u);
  for (const Entry& e : got) {
    EXPECT_EQ(e.kind, "Pod");
    EXPECT_EQ(e.owner, "Deployment/web") << e.change << " " << e.name;
  }
  got = Changes(Window() + "&kind=Deployment");
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(Changes(Window() + "&namespace=ops").size(), 0u);
}

TEST_F(ChangesTest, RolloutStartedBeforeTheWindow) {
  auto got = Changes("from=2026-11-20T10:07:00Z&to=2026-11-20T10:50:00Z&kind=Deployment");
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].change, "changed");
  EXPECT_EQ(got[1].change, "rollout_finished");
  EXPECT_EQ(got[1].detail, "revision 2: 3/3 updated, 3 available (started before the window)");
}

TEST_F(ChangesTest, FirstVersionStandsInWhenNoneIsStoredFromTheStart) {
  // The Deployment was created at 08:00 but first recorded at 09:03: from 08:30 on it existed,
  // with no version stored for the window's start.
  auto got = Changes("from=2026-11-20T08:30:00Z&to=2026-11-20T10:50:00Z&kind=Deployment");
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].change, "changed");
  EXPECT_EQ(got[0].from_time, "2026-11-20T09:03:00Z");
  EXPECT_EQ(got[0].to_time, "2026-11-20T10:08:00Z");
  EXPECT_EQ(got[1].change, "rollout_finished");
  EXPECT_EQ(got[2].change, "rollout_started");
  EXPECT_EQ(got[2].from_time, "2026-11-20T09:03:00Z");
}

TEST_F(ChangesTest, TruncationAndAccess) {
  simdjson::dom::element doc;
  auto got = Changes(Window() + "&limit=2", &doc);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].name, "late");
  EXPECT_EQ(int64_t(doc["matched"]), 9);
  EXPECT_TRUE(bool(doc["truncated"]));
  EXPECT_EQ(int64_t(doc["counts"]["added"]), 2) << "counts are of all the changes matched";
  auto only_ops = [](std::string_view ns) { return ns == "ops"; };
  EXPECT_EQ(Get("/api/v1/changes?" + Window() + "&namespace=shop", only_ops).status, 403);
  Response r = Get("/api/v1/changes?" + Window(), only_ops);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(Json(r)["changes"].get_array().size(), 0u);
  // Sloop's start_time/end_time pair names the same window; lookback ends now (10:50).
  EXPECT_EQ(Get("/api/v1/changes?start_time=1795168800&end_time=1795171800&namespace=shop").body,
            Get("/api/v1/changes?" + Window() + "&namespace=shop").body);
  EXPECT_EQ(Get("/api/v1/changes?lookback=50m&namespace=shop").body,
            Get("/api/v1/changes?" + Window() + "&namespace=shop").body);
  EXPECT_EQ(Get("/cluster/api/v1/changes?lookback=50m&namespace=shop").status, 200);
}

TEST_F(ChangesTest, ErrorsNameTheParameter) {
  EXPECT_EQ(BadParam("/api/v1/changes?limit=0"), "limit");
  EXPECT_EQ(BadParam("/api/v1/changes?limit=many"), "limit");
  EXPECT_EQ(BadParam("/api/v1/changes?from=soon"), "from");
  EXPECT_EQ(BadParam("/api/v1/changes?from=1795171800&to=1795168800"), "from");
  EXPECT_EQ(BadParam("/api/v1/changes?lookback=-1h"), "lookback");
  EXPECT_EQ(BadParam("/api/v1/changes?start_time=x"), "start_time");
  EXPECT_EQ(BadParam("/api/v1/changes?end_time=1795168800&start_time=1795171800"), "start_time");
  EXPECT_EQ(BadParam("/api/v1/changes?start_time=1795168800&from=1795168800"), "start_time");
}

}  // namespace
}  // namespace sloop::http
