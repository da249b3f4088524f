// TypeRecorder: list/relist reconciliation, watch events, minor Node updates, Event fields,
// exclusion rules and malformed objects, checked against what an in-memory sink received.
#include "ingest/type_recorder.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <simdjson.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "engine/store.h"
#include "ingest/exclusion_rules.h"
#include "ingest/ingest_metrics.h"
#include "ingest/resource_object.h"
#include "ingest_test_util.h"

namespace sloop::ingest {
namespace {

using testing::FakeSink;
using testing::Fixture;
using testing::With;

constexpr int64_t kT0 = 1'764'064'800'000'000'000;

ResourceType PodType() { return {"", "v1", "pods", "Pod", true, false}; }
ResourceType NodeType() { return {"", "v1", "nodes", "Node", false, false}; }
ResourceType EventType() { return {"", "v1", "events", "Event", true, false}; }
ResourceType EventsV1Type() { return {"events.k8s.io", "v1", "events", "Event", true, false}; }
ResourceType DeploymentType() { return {"apps", "v1", "deployments", "Deployment", true, false}; }

std::string Pod(const std::string& name, const std::string& uid, const std::string& rv,
                const std::string& ns = "shop", const std::string& extra = "") {
  return R"({"kind":"Pod","apiVersion":"v1","metadata":{"name":")" + name + R"(","namespace":")" +
         ns + R"(","uid":")" + uid + R"(","resourceVersion":")" + rv +
         R"("},"spec":{"nodeName":"n1"})" + extra + "}";
}

int64_t Utc(int y, int mo, int d, int h, int mi, int s) {
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  return static_cast<int64_t>(timegm(&tm)) * 1'000'000'000;
}

class TypeRecorderTest : public ::testing::Test {
 protected:
  // A recorder for `type` with its own metrics series.
  TypeRecorder& Make(ResourceType type) {
    KindMetrics* km = &metrics_.For(type.kind, type.group);
    recorder_ = std::make_unique<TypeRecorder>(std::move(type), sink, options, km, scratch_);
    return *recorder_;
  }
  KindMetrics& Metrics(const ResourceType& t) { return metrics_.For(t.kind, t.group); }

  // Lists `items` as one list at ts; returns EndList's count.
  size_t List(TypeRecorder& r, const std::vector<std::string>& items, int64_t ts) {
    r.BeginList();
    EXPECT_TRUE(r.listing());
    for (const auto& item : items) {
      auto ok = r.OnListItem(item, ts);
      EXPECT_TRUE(ok) << ok.error().ToString();
    }
    auto vanished = r.EndList(ts);
    EXPECT_TRUE(vanished) << vanished.error().ToString();
    EXPECT_FALSE(r.listing());
    return vanished ? *vanished : 0;
  }

  FakeSink sink;
  IngestOptions options;

 private:
  prometheus::Registry registry_;
  IngestMetrics metrics_{registry_};
  ParseScratch scratch_;
  std::unique_ptr<TypeRecorder> recorder_;
};

void ExpectIdentity(const StoredRecord& r, WatchType type, const std::string& name,
                    const std::string& uid, const std::string& rv) {
  EXPECT_EQ(r.watch_type, type) << WatchTypeName(r.watch_type) << " " << r.name;
  EXPECT_EQ(r.name, name);
  EXPECT_EQ(r.uid, uid);
  EXPECT_EQ(r.resource_version, rv);
}

// ---- lists

TEST_F(TypeRecorderTest, FirstListRecordsEveryItemAsAdded) {
  TypeRecorder& r = Make(PodType());
  EXPECT_FALSE(r.listed_once());
  const std::vector<std::string> items = {Pod("a", "u-a", "10"), Pod("b", "u-b", "11"),
                                          Pod("c", "u-c", "12", "kube-system")};
  EXPECT_EQ(List(r, items, kT0), 0u);
  EXPECT_TRUE(r.listed_once());
  ASSERT_EQ(sink.records.size(), 3u);
  ExpectIdentity(sink.records[0], WatchType::kAdded, "a", "u-a", "10");
  ExpectIdentity(sink.records[1], WatchType::kAdded, "b", "u-b", "11");
  ExpectIdentity(sink.records[2], WatchType::kAdded, "c", "u-c", "12");
  for (size_t i = 0; i < 3; ++i) {
    const StoredRecord& rec = sink.records[i];
    EXPECT_EQ(rec.payload, items[i]);
    EXPECT_EQ(rec.observed_ns, kT0);
    EXPECT_EQ(rec.api_group, "");
    EXPECT_EQ(rec.api_version, "v1");
    EXPECT_EQ(rec.kind, "Pod");
    EXPECT_FALSE(rec.event.has_value());
  }
  EXPECT_EQ(sink.records[0].namespace_, "shop");
  EXPECT_EQ(sink.records[2].namespace_, "kube-system");
  EXPECT_EQ(r.known_objects(), 3u);
  EXPECT_EQ(r.records(), 3u);
  EXPECT_EQ(Metrics(PodType()).events[static_cast<size_t>(WatchType::kAdded)]->Value(), 3);
  EXPECT_EQ(Metrics(PodType()).relists->Value(), 0);
}

TEST_F(TypeRecorderTest, RelistReconcilesChangedUnchangedNewAndVanished) {
  TypeRecorder& r = Make(PodType());
  List(r, {Pod("changed", "u1", "10"), Pod("same", "u2", "11"), Pod("gone", "u3", "12")}, kT0);
  sink.records.clear();

  const int64_t t1 = kT0 + 5'000'000'000;
  const std::string changed =
      Pod("changed", "u1", "20", "shop", R"(,"status":{"phase":"Running"})");
  const std::string fresh = Pod("fresh", "u4", "21");
  EXPECT_EQ(List(r, {changed, Pod("same", "u2", "11"), fresh}, t1), 1u);

  // Changed → MODIFIED, unchanged → nothing (counted), new → ADDED, vanished → DELETED_INFERRED.
  ASSERT_EQ(sink.records.size(), 3u);
  ExpectIdentity(sink.records[0], WatchType::kModified, "changed", "u1", "20");
  EXPECT_EQ(sink.records[0].payload, changed);
  ExpectIdentity(sink.records[1], WatchType::kAdded, "fresh", "u4", "21");
  EXPECT_EQ(sink.records[1].payload, fresh);
  const StoredRecord& inferred = sink.records[2];
  ExpectIdentity(inferred, WatchType::kDeletedInferred, "gone", "u3", "12");
  EXPECT_EQ(inferred.namespace_, "shop");
  EXPECT_EQ(inferred.kind, "Pod");
  EXPECT_EQ(inferred.api_version, "v1");
  EXPECT_EQ(inferred.observed_ns, t1);
  // The synthesized payload is a parseable minimal object carrying the identity.
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(inferred.payload).get(doc), simdjson::SUCCESS) << inferred.payload;
  EXPECT_EQ(std::string_view(doc["apiVersion"].get_string().value()), "v1");
  EXPECT_EQ(std::string_view(doc["kind"].get_string().value()), "Pod");
  EXPECT_EQ(std::string_view(doc["metadata"]["name"].get_string().value()), "gone");
  EXPECT_EQ(std::string_view(doc["metadata"]["namespace"].get_string().value()), "shop");
  EXPECT_EQ(std::string_view(doc["metadata"]["uid"].get_string().value()), "u3");
  EXPECT_EQ(std::string_view(doc["metadata"]["resourceVersion"].get_string().value()), "12");

  EXPECT_EQ(r.known_objects(), 3u);
  KindMetrics& m = Metrics(PodType());
  EXPECT_EQ(m.relists->Value(), 1);
  EXPECT_EQ(m.relist_unchanged->Value(), 1);
  EXPECT_EQ(m.inferred_deletions->Value(), 1);
  EXPECT_EQ(m.events[static_cast<size_t>(WatchType::kDeletedInferred)]->Value(), 1);
  EXPECT_EQ(m.objects->Value(), 3);

  // A third identical list records nothing.
  sink.records.clear();
  EXPECT_EQ(List(r, {changed, Pod("same", "u2", "11"), fresh}, t1 + 1), 0u);
  EXPECT_TRUE(sink.records.empty());
}

TEST_F(TypeRecorderTest, RelistInPagesAndEmptyRelistInfersEveryDeletion) {
  TypeRecorder& r = Make(PodType());
  r.BeginList();
  ASSERT_TRUE(r.OnListItem(Pod("a", "ua", "1"), kT0));
  ASSERT_TRUE(r.OnListItem(Pod("b", "ub", "2"), kT0));  // second "page"
  ASSERT_EQ(*r.EndList(kT0), 0u);
  sink.records.clear();
  EXPECT_EQ(List(r, {}, kT0 + 1), 2u);
  ASSERT_EQ(sink.records.size(), 2u);
  for (const auto& rec : sink.records) EXPECT_EQ(rec.watch_type, WatchType::kDeletedInferred);
  EXPECT_EQ(r.known_objects(), 0u);
}

TEST_F(TypeRecorderTest, ObjectRecreatedUnderTheSameNameWhileDisconnectedIsANewObject) {
  TypeRecorder& r = Make(PodType());
  List(r, {Pod("web-0", "old-uid", "5")}, kT0);
  sink.records.clear();
  EXPECT_EQ(List(r, {Pod("web-0", "new-uid", "9")}, kT0 + 1), 1u);
  ASSERT_EQ(sink.records.size(), 2u);
  ExpectIdentity(sink.records[0], WatchType::kAdded, "web-0", "new-uid", "9");
  ExpectIdentity(sink.records[1], WatchType::kDeletedInferred, "web-0", "old-uid", "5");
}

TEST_F(TypeRecorderTest, ObjectsWithoutUidAreKeyedByNamespaceAndName) {
  TypeRecorder& r = Make(PodType());
  const std::string a = R"({"metadata":{"name":"x","namespace":"a","resourceVersion":"1"}})";
  const std::string b = R"({"metadata":{"name":"x","namespace":"b","resourceVersion":"1"}})";
  List(r, {a, b}, kT0);
  EXPECT_EQ(sink.records.size(), 2u);
  EXPECT_EQ(r.known_objects(), 2u);
  sink.records.clear();
  EXPECT_EQ(List(r, {b}, kT0 + 1), 1u);
  ASSERT_EQ(sink.records.size(), 1u);
  EXPECT_EQ(sink.records[0].watch_type, WatchType::kDeletedInferred);
  EXPECT_EQ(sink.records[0].namespace_, "a");
  EXPECT_EQ(sink.records[0].uid, "");
}

TEST_F(TypeRecorderTest, WatchDeletedObjectsAreNotInferredAgainAndWatchAddsAreReconciled) {
  TypeRecorder& r = Make(PodType());
  List(r, {Pod("a", "ua", "1"), Pod("b", "ub", "2")}, kT0);
  ASSERT_TRUE(r.OnWatchEvent(WatchType::kDeleted, Pod("a", "ua", "3"), kT0 + 1));
  ASSERT_TRUE(r.OnWatchEvent(WatchType::kAdded, Pod("c", "uc", "4"), kT0 + 2));
  ASSERT_TRUE(r.OnWatchEvent(WatchType::kModified, Pod("b", "ub", "5"), kT0 + 3));
  EXPECT_EQ(r.last_event_ns(), kT0 + 3);
  sink.records.clear();
  // Relist after a gap: b unchanged since the watch, c deleted meanwhile.
  EXPECT_EQ(List(r, {Pod("b", "ub", "5")}, kT0 + 10), 1u);
  ASSERT_EQ(sink.records.size(), 1u);
  ExpectIdentity(sink.records[0], WatchType::kDeletedInferred, "c", "uc", "4");
}

TEST_F(TypeRecorderTest, DeletionInferredPayloadEscapesAndNamesTheGroup) {
  TypeRecorder& r = Make(DeploymentType());
  List(r, {R"({"metadata":{"name":"we\"ird","namespace":"ns","uid":"u","resourceVersion":"1"}})"},
       kT0);
  sink.records.clear();
  EXPECT_EQ(List(r, {}, kT0 + 1), 1u);
  ASSERT_EQ(sink.records.size(), 1u);
  EXPECT_EQ(sink.records[0].api_group, "apps");
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(sink.records[0].payload).get(doc), simdjson::SUCCESS);
  EXPECT_EQ(std::string_view(doc["apiVersion"].get_string().value()), "apps/v1");
  EXPECT_EQ(std::string_view(doc["kind"].get_string().value()), "Deployment");
  EXPECT_EQ(std::string_view(doc["metadata"]["name"].get_string().value()), "we\"ird");
}

// ---- watch events

TEST_F(TypeRecorderTest, WatchEventsBecomeRecordsWithPayloadBytesExactlyAsReceived) {
  TypeRecorder& r = Make(PodType());
  const std::string added = Fixture("pod.json");  // pretty-printed: bytes must be kept as is
  const std::string modified =
      With(added, R"("resourceVersion": "48213377")", R"("resourceVersion": "48213390")");
  ASSERT_NE(added, modified);
  ASSERT_TRUE(r.OnWatchEvent(WatchType::kAdded, added, kT0));
  ASSERT_TRUE(r.OnWatchEvent(WatchType::kModified, modified, kT0 + 1));
  ASSERT_TRUE(r.OnWatchEvent(WatchType::kDeleted, modified, kT0 + 2));
  ASSERT_EQ(sink.records.size(), 3u);
  const WatchType types[] = {WatchType::kAdded, WatchType::kModified, WatchType::kDeleted};
  const std::string rvs[] = {"48213377", "48213390", "48213390"};
  for (size_t i = 0; i < 3; ++i) {
    const StoredRecord& rec = sink.records[i];
    ExpectIdentity(rec, types[i], "checkout-7d9f8c6b5d-x2k4q",
                   "5f1c2b9e-3a47-4c0e-9d4b-8e2f6a1c7b30", rvs[i]);
    EXPECT_EQ(rec.namespace_, "shop");
    EXPECT_EQ(rec.kind, "Pod");
    EXPECT_EQ(rec.api_group, "");
    EXPECT_EQ(rec.api_version, "v1");
    EXPECT_EQ(rec.observed_ns, kT0 + static_cast<int64_t>(i));
    EXPECT_EQ(rec.payload, i == 0 ? added : modified);
  }
  EXPECT_EQ(r.known_objects(), 0u);
  EXPECT_EQ(Metrics(PodType()).bytes->Value(),
            static_cast<double>(added.size() + 2 * modified.size()));
}

TEST_F(TypeRecorderTest, WatchFramesFixtureObjects) {
  // The objects of the watch-frames fixture (ADDED, MODIFIED, DELETED of one Pod).
  TypeRecorder& r = Make(PodType());
  std::istringstream frames(Fixture("watch-frames.ndjson"));
  std::string line;
  int seen = 0;
  while (std::getline(frames, line)) {
    simdjson::dom::parser p;
    simdjson::dom::element frame;
    ASSERT_EQ(p.parse(line).get(frame), simdjson::SUCCESS);
    std::string_view type = frame["type"].get_string().value();
    auto wt = ParseWatchType(type);
    if (!wt) continue;  // BOOKMARK, ERROR
    std::string object = simdjson::minify(frame["object"]);
    ASSERT_TRUE(r.OnWatchEvent(*wt, object, kT0 + seen));
    ASSERT_EQ(sink.records.size(), static_cast<size_t>(seen + 1));
    EXPECT_EQ(sink.records.back().watch_type, *wt);
    EXPECT_EQ(sink.records.back().payload, object);
    EXPECT_EQ(sink.records.back().name, "checkout-7d9f8c6b5d-x2k4q");
    ++seen;
  }
  EXPECT_EQ(seen, 3);
}

TEST_F(TypeRecorderTest, GroupedKindCarriesItsGroup) {
  TypeRecorder& r = Make(DeploymentType());
  const std::string d = Fixture("deployment.json");
  ASSERT_TRUE(r.OnWatchEvent(WatchType::kAdded, d, kT0));
  ASSERT_EQ(sink.records.size(), 1u);
  EXPECT_EQ(sink.records[0].api_group, "apps");
  EXPECT_EQ(sink.records[0].kind, "Deployment");
  EXPECT_EQ(sink.records[0].name, "checkout");
  EXPECT_EQ(sink.records[0].resource_version, "48213420");
  EXPECT_EQ(sink.records[0].payload, d);
}

// ---- Nodes

class NodeUpdatesTest : public TypeRecorderTest {
 protected:
  const std::string node = Fixture("node.json");
  // Only heartbeats and resourceVersion moved (and managedFields, which kubelet rewrites).
  std::string Heartbeat(const std::string& rv, const std::string& when) {
    std::string n =
        With(node, R"("resourceVersion": "48213402")", R"("resourceVersion": ")" + rv + R"(")");
    const std::string from = R"("lastHeartbeatTime": "2026-11-20T09:20:41Z")";
    const std::string to = R"("lastHeartbeatTime": ")" + when + R"(")";
    int replaced = 0;
    for (size_t pos = 0; (pos = n.find(from, pos)) != std::string::npos; pos += to.size()) {
      n.replace(pos, from.size(), to);
      ++replaced;
    }
    EXPECT_GT(replaced, 1);
    return n;
  }
};

TEST_F(NodeUpdatesTest, HeartbeatOnlyUpdatesAreDroppedRealChangesKept) {
  TypeRecorder& r = Make(NodeType());
  ASSERT_TRUE(r.OnWatchEvent(WatchType::kAdded, node, kT0));
  const std::string beat = Heartbeat("48213500", "2026-11-20T09:21:41Z");
  ASSERT_NE(beat, node);
  ASSERT_TRUE(r.OnWatchEvent(WatchType::kModified, beat, kT0 + 1));
  ASSERT_EQ(sink.records.size(), 1u) << "a heartbeat-only update was recorded";
  EXPECT_EQ(Metrics(NodeType()).minor_node_updates->Value(), 1);

  // A condition status flip (with a heartbeat) is a real change.
  std::string flipped = With(Heartbeat("48213600", "2026-11-20T09:22:41Z"), R"("status": "False",)",
                             R"("status": "True",)");
  ASSERT_TRUE(r.OnWatchEvent(WatchType::kModified, flipped, kT0 + 2));
  ASSERT_EQ(sink.records.size(), 2u);
  EXPECT_EQ(sink.records[1].watch_type, WatchType::kModified);
  EXPECT_EQ(sink.records[1].resource_version, "48213600");
  EXPECT_EQ(sink.records[1].payload, flipped);

  // A label is a real change.
  std::string labelled =
      With(flipped, R"("nodepool": "general")", R"("nodepool": "general", "drain": "yes")");
  labelled = With(labelled, R"("resourceVersion": "48213600")", R"("resourceVersion": "48213700")");
  ASSERT_TRUE(r.OnWatchEvent(WatchType::kModified, labelled, kT0 + 3));
  ASSERT_EQ(sink.records.size(), 3u);
  EXPECT_EQ(sink.records[2].resource_version, "48213700");

  // The heartbeat after the label is dropped again (compared with the labelled node).
  std::string beat2 =
      With(labelled, R"("resourceVersion": "48213700")", R"("resourceVersion": "48213800")");
  ASSERT_TRUE(r.OnWatchEvent(WatchType::kModified, beat2, kT0 + 4));
  EXPECT_EQ(sink.records.size(), 3u);
  // Deleting the node is always recorded.
  ASSERT_TRUE(r.OnWatchEvent(WatchType::kDeleted, beat2, kT0 + 5));
  ASSERT_EQ(sink.records.size(), 4u);
  EXPECT_EQ(sink.records[3].watch_type, WatchType::kDeleted);
}

TEST_F(NodeUpdatesTest, HeartbeatOnlyChangeOnRelistIsDropped) {
  TypeRecorder& r = Make(NodeType());
  List(r, {node}, kT0);
  sink.records.clear();
  EXPECT_EQ(List(r, {Heartbeat("48219999", "2026-11-20T09:30:00Z")}, kT0 + 1), 0u);
  EXPECT_TRUE(sink.records.empty());
  std::string relabelled = With(node, R"("nodepool": "general")", R"("nodepool": "gpu")");
  relabelled = With(relabelled, R"("resourceVersion": "48213402")", R"("resourceVersion": "5")");
  EXPECT_EQ(List(r, {relabelled}, kT0 + 2), 0u);
  ASSERT_EQ(sink.records.size(), 1u);
  EXPECT_EQ(sink.records[0].watch_type, WatchType::kModified);
}

TEST_F(NodeUpdatesTest, KeepMinorNodeUpdatesKeepsEveryUpdate) {
  options.keep_minor_node_updates = true;
  TypeRecorder& r = Make(NodeType());
  ASSERT_TRUE(r.OnWatchEvent(WatchType::kAdded, node, kT0));
  ASSERT_TRUE(
      r.OnWatchEvent(WatchType::kModified, Heartbeat("48213500", "2026-11-20T09:21:41Z"), kT0 + 1));
  ASSERT_TRUE(
      r.OnWatchEvent(WatchType::kModified, Heartbeat("48213501", "2026-11-20T09:21:51Z"), kT0 + 2));
  EXPECT_EQ(sink.records.size(), 3u);
  EXPECT_EQ(Metrics(NodeType()).minor_node_updates->Value(), 0);
}

TEST_F(NodeUpdatesTest, OnlyCoreNodesAreFiltered) {
  // A CRD that happens to be called Node is not a Node.
  TypeRecorder& r = Make({"example.com", "v1", "nodes", "Node", false, true});
  ASSERT_TRUE(r.OnWatchEvent(WatchType::kAdded, node, kT0));
  ASSERT_TRUE(
      r.OnWatchEvent(WatchType::kModified, Heartbeat("48213500", "2026-11-20T09:21:41Z"), kT0 + 1));
  EXPECT_EQ(sink.records.size(), 2u);
}

TEST_F(NodeUpdatesTest, NodesOfOddShapesDoNotCrash) {
  TypeRecorder& r = Make(NodeType());
  for (const char* n : {R"({"metadata":{"name":"n","uid":"u","resourceVersion":"1"}})",
                        R"({"metadata":{"name":"n","uid":"u","resourceVersion":"2"},"status":5})",
                        R"({"metadata":{"name":"n","uid":"u","resourceVersion":"3"},)"
                        R"("status":{"conditions":{"a":1}}})",
                        R"({"metadata":{"name":"n","uid":"u","resourceVersion":"4"},)"
                        R"("status":{"conditions":[1,null,"x",{"lastHeartbeatTime":7}]}})"}) {
    auto ok = r.OnWatchEvent(WatchType::kModified, n, kT0);
    EXPECT_TRUE(ok) << n;
  }
  EXPECT_EQ(sink.records.size(), 4u);
}

// ---- Events

TEST_F(TypeRecorderTest, CoreEventFillsTheEventFields) {
  TypeRecorder& r = Make(EventType());
  const std::string ev = Fixture("event.json");
  ASSERT_TRUE(r.OnWatchEvent(WatchType::kAdded, ev, kT0));
  ASSERT_EQ(sink.records.size(), 1u);
  const StoredRecord& rec = sink.records[0];
  ASSERT_TRUE(rec.event.has_value());
  EXPECT_EQ(rec.name, "checkout-7d9f8c6b5d-x2k4q.1879c3f1a2b4d6e8");
  EXPECT_EQ(rec.event->involved_kind, "Pod");
  EXPECT_EQ(rec.event->involved_namespace, "shop");
  EXPECT_EQ(rec.event->involved_name, "checkout-7d9f8c6b5d-x2k4q");
  EXPECT_EQ(rec.event->involved_uid, "5f1c2b9e-3a47-4c0e-9d4b-8e2f6a1c7b30");
  // An Event is known by namespace and name: its record holds no uid, its payload does.
  EXPECT_EQ(rec.uid, "");
  EXPECT_NE(rec.payload.find("\"uid\""), std::string::npos);
  EXPECT_EQ(rec.event->reason, "Pulled");
  EXPECT_EQ(rec.event->severity, EventSeverity::kNormal);
  EXPECT_EQ(rec.event->count, 1);
  EXPECT_EQ(rec.event->first_timestamp_ns, Utc(2026, 11, 20, 9, 14, 5));
  EXPECT_EQ(rec.event->last_timestamp_ns, Utc(2026, 11, 20, 9, 14, 5));
  // The message as JSON holds it, unescaped.
  EXPECT_EQ(rec.event->message,
            "Container image \"registry.example.com/shop/checkout:v2.14.1\" already present on "
            "machine");
  EXPECT_EQ(rec.payload, ev);
}

TEST_F(TypeRecorderTest, CoreWarningEventWithCountAndOffsetTimestamps) {
  TypeRecorder& r = Make(EventType());
  const std::string ev = R"({"metadata":{"name":"e1","namespace":"ns","uid":"ue"},)"
                         R"("involvedObject":{"kind":"Node","name":"n1"},"reason":"BackOff",)"
                         R"("type":"Warning","count":42,"message":"m",)"
                         R"("firstTimestamp":"2026-11-20T10:00:00+01:00",)"
                         R"("lastTimestamp":"2026-11-20T09:30:00.25Z"})";
  ASSERT_TRUE(r.OnWatchEvent(WatchType::kModified, ev, kT0));
  ASSERT_EQ(sink.records.size(), 1u);
  const StoredRecord& rec = sink.records[0];
  ASSERT_TRUE(rec.event.has_value());
  EXPECT_EQ(rec.event->severity, EventSeverity::kWarning);
  EXPECT_EQ(rec.event->count, 42);
  EXPECT_EQ(rec.event->involved_kind, "Node");
  EXPECT_EQ(rec.event->involved_namespace, "");
  EXPECT_EQ(rec.event->first_timestamp_ns, Utc(2026, 11, 20, 9, 0, 0));
  EXPECT_EQ(rec.event->last_timestamp_ns, Utc(2026, 11, 20, 9, 30, 0) + 250'000'000);
}

TEST_F(TypeRecorderTest, EventsV1UseRegardingNoteAndSeries) {
  TypeRecorder& r = Make(EventsV1Type());
  const std::string ev =
      R"({"apiVersion":"events.k8s.io/v1","kind":"Event","metadata":{"name":"e2",)"
      R"("namespace":"shop","uid":"ue2","resourceVersion":"7"},)"
      R"("eventTime":"2026-11-20T09:00:00.000000Z","reportingController":"kubelet",)"
      R"("regarding":{"kind":"Pod","namespace":"shop","name":"p","uid":"up"},)"
      R"("reason":"Unhealthy","type":"Warning","note":"Readiness probe failed",)"
      R"("series":{"count":5,"lastObservedTime":"2026-11-20T09:05:00.000000Z"}})";
  ASSERT_TRUE(r.OnWatchEvent(WatchType::kAdded, ev, kT0));
  ASSERT_EQ(sink.records.size(), 1u);
  const StoredRecord& rec = sink.records[0];
  ASSERT_TRUE(rec.event.has_value());
  EXPECT_EQ(rec.api_group, "events.k8s.io");
  EXPECT_EQ(rec.event->involved_kind, "Pod");
  EXPECT_EQ(rec.event->involved_namespace, "shop");
  EXPECT_EQ(rec.event->involved_name, "p");
  EXPECT_EQ(rec.event->involved_uid, "up");
  EXPECT_EQ(rec.event->reason, "Unhealthy");
  EXPECT_EQ(rec.event->message, "Readiness probe failed");
  EXPECT_EQ(rec.event->severity, EventSeverity::kWarning);
  EXPECT_EQ(rec.event->count, 5);
  EXPECT_EQ(rec.event->first_timestamp_ns, Utc(2026, 11, 20, 9, 0, 0));
  EXPECT_EQ(rec.event->last_timestamp_ns, Utc(2026, 11, 20, 9, 5, 0));
}

TEST_F(TypeRecorderTest, EventsV1DeprecatedFieldsAndNoSeries) {
  TypeRecorder& r = Make(EventsV1Type());
  const std::string ev =
      R"({"metadata":{"name":"e3","namespace":"ns"},"regarding":{"kind":"Job","name":"j"},)"
      R"("reason":"Completed","type":"Normal","note":"done","deprecatedCount":3,)"
      R"("deprecatedFirstTimestamp":"2026-11-20T08:00:00Z",)"
      R"("deprecatedLastTimestamp":"2026-11-20T08:10:00Z"})";
  ASSERT_TRUE(r.OnWatchEvent(WatchType::kAdded, ev, kT0));
  ASSERT_EQ(sink.records.size(), 1u);
  const StoredRecord& rec = sink.records[0];
  ASSERT_TRUE(rec.event.has_value());
  EXPECT_EQ(rec.event->count, 3);
  EXPECT_EQ(rec.event->severity, EventSeverity::kNormal);
  EXPECT_EQ(rec.event->message, "done");
  EXPECT_EQ(rec.event->first_timestamp_ns, Utc(2026, 11, 20, 8, 0, 0));
  EXPECT_EQ(rec.event->last_timestamp_ns, Utc(2026, 11, 20, 8, 10, 0));
}

TEST_F(TypeRecorderTest, EventWithoutInvolvedObjectOrTimesStillRecorded) {
  TypeRecorder& r = Make(EventType());
  for (const char* ev : {R"({"metadata":{"name":"bare"}})",
                         R"({"metadata":{"name":"odd"},"involvedObject":"x","count":"many",)"
                         R"("firstTimestamp":"yesterday","type":5,"series":[1]})",
                         R"({"metadata":{"name":"nulls"},"involvedObject":null,"regarding":null,)"
                         R"("series":null,"eventTime":null})"}) {
    auto ok = r.OnWatchEvent(WatchType::kAdded, ev, kT0);
    ASSERT_TRUE(ok) << ev << ": " << ok.error().ToString();
  }
  ASSERT_EQ(sink.records.size(), 3u);
  for (const auto& rec : sink.records) {
    ASSERT_TRUE(rec.event.has_value());
    EXPECT_EQ(rec.event->involved_kind, "");
    EXPECT_EQ(rec.event->severity, EventSeverity::kUnknown);
    EXPECT_EQ(rec.event->count, 1);  // an event happened at least once
    EXPECT_EQ(rec.event->first_timestamp_ns, 0);
  }
}

TEST_F(TypeRecorderTest, NonEventKindsHaveNoEventFields) {
  TypeRecorder& r = Make(PodType());
  ASSERT_TRUE(r.OnWatchEvent(WatchType::kAdded, Fixture("event.json"), kT0));
  ASSERT_EQ(sink.records.size(), 1u);
  EXPECT_FALSE(sink.records[0].event.has_value());
}

// ---- exclusion rules

TEST_F(TypeRecorderTest, ExclusionRulesDropMatchingObjects) {
  auto rules =
      ExclusionRules::FromConfig(R"({"_all":[{"==":[{"var":"metadata.namespace"},"kube-system"]}],)"
                                 R"("Pod":[{"in":[{"var":"metadata.name"},["skip-me"]]}]})");
  ASSERT_TRUE(rules) << rules.error().ToString();
  options.rules = &*rules;
  TypeRecorder& r = Make(PodType());
  List(r, {Pod("keep", "u1", "1"), Pod("skip-me", "u2", "1"), Pod("sys", "u3", "1", "kube-system")},
       kT0);
  ASSERT_EQ(sink.records.size(), 1u);
  EXPECT_EQ(sink.records[0].name, "keep");
  EXPECT_EQ(r.known_objects(), 1u);
  ASSERT_TRUE(r.OnWatchEvent(WatchType::kAdded, Pod("skip-me", "u4", "2", "other"), kT0 + 1));
  ASSERT_TRUE(r.OnWatchEvent(WatchType::kModified, Pod("sys", "u3", "3", "kube-system"), kT0 + 2));
  ASSERT_TRUE(r.OnWatchEvent(WatchType::kDeleted, Pod("sys", "u3", "4", "kube-system"), kT0 + 3));
  ASSERT_TRUE(r.OnWatchEvent(WatchType::kModified, Pod("keep", "u1", "5"), kT0 + 4));
  ASSERT_EQ(sink.records.size(), 2u);
  EXPECT_EQ(sink.records[1].name, "keep");
  EXPECT_EQ(Metrics(PodType()).excluded->Value(), 5);
  // Excluded objects never reach the table, so a relist infers no deletion for them.
  sink.records.clear();
  EXPECT_EQ(List(r, {Pod("keep", "u1", "5")}, kT0 + 5), 0u);
  EXPECT_TRUE(sink.records.empty());
}

// A rule that matches a state an object reaches later (a Pod's phase Succeeded, a natural way
// to leave out finished Pods) must not leave the object alive in the record for good: it stays
// known as it was recorded, nothing of its excluded states is stored, and its deletion is
// recorded, with its last recorded version, when the watch shows it or a relist no longer lists
// it. One the rule matched from the start is never recorded at all.
TEST_F(TypeRecorderTest, AnObjectARuleMatchesOnlyLaterStillHasItsDeletionRecorded) {
  auto rules =
      ExclusionRules::FromConfig(R"({"Pod":[{"==":[{"var":"status.phase"},"Succeeded"]}]})");
  ASSERT_TRUE(rules) << rules.error().ToString();
  options.rules = &*rules;
  const std::string running = R"(,"status":{"phase":"Running"})";
  const std::string done = R"(,"status":{"phase":"Succeeded"})";
  TypeRecorder& r = Make(PodType());
  List(r, {Pod("a", "ua", "1", "shop", running), Pod("b", "ub", "1", "shop", running)}, kT0);
  ASSERT_EQ(sink.records.size(), 2u);
  sink.records.clear();

  ASSERT_TRUE(r.OnWatchEvent(WatchType::kModified, Pod("a", "ua", "2", "shop", done), kT0 + 1));
  EXPECT_TRUE(sink.records.empty()) << "an excluded state is not stored";
  EXPECT_EQ(r.known_objects(), 2u);
  ASSERT_TRUE(r.OnWatchEvent(WatchType::kDeleted, Pod("a", "ua", "3", "shop", done), kT0 + 2));
  ASSERT_EQ(sink.records.size(), 1u);
  EXPECT_EQ(sink.records[0].watch_type, WatchType::kDeleted);
  EXPECT_EQ(sink.records[0].name, "a");
  EXPECT_EQ(sink.records[0].observed_ns, kT0 + 2);
  EXPECT_EQ(sink.records[0].resource_version, "1") << "its last recorded version";
  EXPECT_EQ(sink.records[0].payload.find("Succeeded"), std::string::npos);
  EXPECT_EQ(r.known_objects(), 1u);

  // b reaches the excluded state, is listed in it (still alive: nothing inferred), then goes.
  ASSERT_TRUE(r.OnWatchEvent(WatchType::kModified, Pod("b", "ub", "2", "shop", done), kT0 + 3));
  EXPECT_EQ(List(r, {Pod("b", "ub", "2", "shop", done)}, kT0 + 4), 0u);
  ASSERT_EQ(sink.records.size(), 1u);
  EXPECT_EQ(List(r, {}, kT0 + 5), 1u);
  ASSERT_EQ(sink.records.size(), 2u);
  EXPECT_EQ(sink.records[1].watch_type, WatchType::kDeletedInferred);
  EXPECT_EQ(sink.records[1].name, "b");
  EXPECT_EQ(sink.records[1].resource_version, "1");
  EXPECT_EQ(r.known_objects(), 0u);

  // c is excluded from its first sight: never recorded, not even its deletion.
  ASSERT_TRUE(r.OnWatchEvent(WatchType::kAdded, Pod("c", "uc", "7", "shop", done), kT0 + 6));
  ASSERT_TRUE(r.OnWatchEvent(WatchType::kDeleted, Pod("c", "uc", "8", "shop", done), kT0 + 7));
  EXPECT_EQ(sink.records.size(), 2u);
  EXPECT_EQ(r.known_objects(), 0u);

  // d leaves the rule's reach again: the change is recorded as any.
  List(r, {Pod("d", "ud", "1", "shop", running)}, kT0 + 8);
  ASSERT_TRUE(r.OnWatchEvent(WatchType::kModified, Pod("d", "ud", "2", "shop", done), kT0 + 9));
  ASSERT_TRUE(r.OnWatchEvent(WatchType::kModified, Pod("d", "ud", "3", "shop", running), kT0 + 10));
  ASSERT_EQ(sink.records.size(), 4u);
  EXPECT_EQ(sink.records[3].watch_type, WatchType::kModified);
  EXPECT_EQ(sink.records[3].resource_version, "3");
}

TEST_F(TypeRecorderTest, KindRulesApplyOnlyToTheirKind) {
  auto rules = ExclusionRules::FromConfig(R"({"Deployment":[{"!!":[{"var":"metadata.name"}]}]})");
  ASSERT_TRUE(rules) << rules.error().ToString();
  options.rules = &*rules;
  TypeRecorder& pods = Make(PodType());
  ASSERT_TRUE(pods.OnWatchEvent(WatchType::kAdded, Pod("p", "u", "1"), kT0));
  EXPECT_EQ(sink.records.size(), 1u);
  TypeRecorder& deployments = Make(DeploymentType());
  ASSERT_TRUE(deployments.OnWatchEvent(WatchType::kAdded, Fixture("deployment.json"), kT0));
  EXPECT_EQ(sink.records.size(), 1u);
}

// ---- malformed input

TEST_F(TypeRecorderTest, MalformedJsonIsAnErrorNotACrash) {
  TypeRecorder& r = Make(PodType());
  const std::string pod = Pod("a", "u", "1");
  for (const std::string& bad :
       {std::string(""), std::string("{"), pod.substr(0, pod.size() / 2), std::string("[1,2]"),
        std::string("42"), std::string("\"pod\""), std::string("null"), std::string("{\"a\":}"),
        std::string("{\"metadata\":{\"name\":\"x\"}} trailing"), std::string("\xff\xfe{}")}) {
    auto w = r.OnWatchEvent(WatchType::kAdded, bad, kT0);
    ASSERT_FALSE(w) << "accepted: " << bad;
    EXPECT_EQ(w.error().code, ErrorCode::kCorruption) << bad;
    r.BeginList();
    auto l = r.OnListItem(bad, kT0);
    ASSERT_FALSE(l) << "accepted: " << bad;
    EXPECT_EQ(l.error().code, ErrorCode::kCorruption) << bad;
    ASSERT_TRUE(r.EndList(kT0));
  }
  EXPECT_TRUE(sink.records.empty());
  EXPECT_GE(Metrics(PodType()).errors.count("malformed"), 1u);
}

TEST_F(TypeRecorderTest, ObjectsWithoutUsableMetadataAreRejectedWithoutCrashing) {
  // A missing child once segfaulted: every shape of absent or odd metadata must be an error.
  for (ResourceType type : {PodType(), NodeType(), EventType(), EventsV1Type()}) {
    TypeRecorder& r = Make(type);
    for (const char* bad : {"{}", R"({"kind":"Pod"})", R"({"metadata":null})", R"({"metadata":5})",
                            R"({"metadata":"x"})", R"({"metadata":[]})", R"({"metadata":{}})",
                            R"({"metadata":{"name":5}})", R"({"metadata":{"name":""}})",
                            R"({"metadata":{"namespace":"ns","uid":"u"}})"}) {
      auto w = r.OnWatchEvent(WatchType::kModified, bad, kT0);
      ASSERT_FALSE(w) << type.kind << ": accepted " << bad;
      EXPECT_EQ(w.error().code, ErrorCode::kCorruption);
      EXPECT_NE(w.error().message.find("metadata.name"), std::string::npos) << w.error().message;
      auto d = r.OnWatchEvent(WatchType::kDeleted, bad, kT0);
      EXPECT_FALSE(d);
      r.BeginList();
      EXPECT_FALSE(r.OnListItem(bad, kT0));
      ASSERT_TRUE(r.EndList(kT0));
    }
  }
  EXPECT_TRUE(sink.records.empty());
}

TEST_F(TypeRecorderTest, ObjectWithOnlyANameIsRecorded) {
  TypeRecorder& r = Make(PodType());
  ASSERT_TRUE(r.OnWatchEvent(WatchType::kAdded, R"({"metadata":{"name":"n"}})", kT0));
  ASSERT_EQ(sink.records.size(), 1u);
  EXPECT_EQ(sink.records[0].namespace_, "");
  EXPECT_EQ(sink.records[0].uid, "");
  EXPECT_EQ(sink.records[0].resource_version, "");
}

TEST_F(TypeRecorderTest, SinkErrorsAreReturned) {
  TypeRecorder& r = Make(PodType());
  List(r, {Pod("a", "ua", "1"), Pod("b", "ub", "1")}, kT0);
  sink.FailFrom(2);
  auto w = r.OnWatchEvent(WatchType::kModified, Pod("a", "ua", "2"), kT0 + 1);
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().code, ErrorCode::kIOError);
  EXPECT_NE(w.error().message.find("disk full"), std::string::npos);
  r.BeginList();
  auto end = r.EndList(kT0 + 2);  // both vanish; their records cannot be stored
  ASSERT_FALSE(end);
  EXPECT_EQ(end.error().code, ErrorCode::kIOError);
  EXPECT_EQ(r.records(), 2u);
  EXPECT_EQ(Metrics(PodType()).errors.count("store"), 1u);
  // Deletions that could not be stored are not forgotten: both objects stay known, and the next
  // relist, once the store takes records again, infers them.
  EXPECT_EQ(r.known_objects(), 2u);
  sink.FailFrom(-1);
  EXPECT_EQ(List(r, {}, kT0 + 3), 2u);
  ASSERT_EQ(sink.records.size(), 4u);
  EXPECT_EQ(sink.records[2].watch_type, WatchType::kDeletedInferred);
  EXPECT_EQ(sink.records[3].watch_type, WatchType::kDeletedInferred);
  // A DELETED the store cannot take: the object stays known, and a relist without it records
  // its deletion.
  List(r, {Pod("c", "uc", "1")}, kT0 + 4);
  sink.FailFrom(static_cast<int>(sink.records.size()));
  ASSERT_FALSE(r.OnWatchEvent(WatchType::kDeleted, Pod("c", "uc", "2"), kT0 + 5));
  EXPECT_EQ(r.known_objects(), 1u);
  sink.FailFrom(-1);
  EXPECT_EQ(List(r, {}, kT0 + 6), 1u);
  EXPECT_EQ(sink.records.back().watch_type, WatchType::kDeletedInferred);
  EXPECT_EQ(sink.records.back().name, "c");
}

// An ADDED or MODIFIED the store refused is not taken as known: the next list records it (an
// object that never changes again would otherwise be missing from the record until a restart).
TEST_F(TypeRecorderTest, AChangeTheStoreRefusedIsRecordedByTheNextList) {
  TypeRecorder& r = Make(PodType());
  List(r, {Pod("a", "ua", "1")}, kT0);
  ASSERT_EQ(sink.records.size(), 1u);
  sink.FailFrom(1);
  EXPECT_FALSE(r.OnWatchEvent(WatchType::kAdded, Pod("b", "ub", "1"), kT0 + 1));
  EXPECT_FALSE(r.OnWatchEvent(WatchType::kModified, Pod("a", "ua", "2"), kT0 + 2));
  r.BeginList();
  EXPECT_FALSE(r.OnListItem(Pod("c", "uc", "1"), kT0 + 3));
  ASSERT_TRUE(r.EndList(kT0 + 3, TypeRecorder::ListEnd::kKeepUnseen));
  sink.FailFrom(-1);
  EXPECT_EQ(List(r, {Pod("a", "ua", "2"), Pod("b", "ub", "1"), Pod("c", "uc", "1")}, kT0 + 4), 0u);
  ASSERT_EQ(sink.records.size(), 4u);
  std::map<std::string, WatchType> got;
  for (size_t i = 1; i < sink.records.size(); ++i) {
    got[sink.records[i].name] = sink.records[i].watch_type;
  }
  EXPECT_EQ(got["a"], WatchType::kModified);
  EXPECT_EQ(got["b"], WatchType::kAdded);
  EXPECT_EQ(got["c"], WatchType::kAdded);
  // And nothing again after that.
  EXPECT_EQ(List(r, {Pod("a", "ua", "2"), Pod("b", "ub", "1"), Pod("c", "uc", "1")}, kT0 + 5), 0u);
  EXPECT_EQ(sink.records.size(), 4u);
}

// A list that was not read whole (an item skipped) ends keeping what it did not show: no
// DELETED_INFERRED, every known object still known, and the next whole list infers as before.
TEST_F(TypeRecorderTest, ListNotReadWholeInfersNoDeletions) {
  TypeRecorder& r = Make(PodType());
  ASSERT_EQ(List(r, {Pod("a", "ua", "1"), Pod("b", "ub", "2"), Pod("c", "uc", "3")}, kT0), 0u);
  r.BeginList();
  ASSERT_TRUE(r.OnListItem(Pod("a", "ua", "1"), kT0 + 1));
  EXPECT_FALSE(r.OnListItem(R"({"kind":"Pod","metadata":{"namespace":"shop"}})", kT0 + 1));
  std::string deep =
      Pod("d", "ud", "4", "shop", ",\"x\":" + std::string(100000, '[') + std::string(100000, ']'));
  auto bad = r.OnListItem(deep, kT0 + 1);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kCorruption);
  auto kept = r.EndList(kT0 + 1, TypeRecorder::ListEnd::kKeepUnseen);
  ASSERT_TRUE(kept);
  EXPECT_EQ(*kept, 0u);
  EXPECT_EQ(r.known_objects(), 3u);
  for (const auto& rec : sink.records) EXPECT_NE(rec.watch_type, WatchType::kDeletedInferred);
  EXPECT_EQ(List(r, {Pod("a", "ua", "1")}, kT0 + 2), 2u);
  EXPECT_EQ(sink.records.back().watch_type, WatchType::kDeletedInferred);
}

// A paginated relist whose continue token expires starts again from its first page (the
// ingester calls RestartList): an object its first pages showed, deleted before the new pages
// were read, is inferred deleted at the end of this list, not left alive until the next one.
TEST_F(TypeRecorderTest, AListStartedAgainInfersWhatOnlyItsAbandonedPagesShowed) {
  TypeRecorder& r = Make(PodType());
  ASSERT_EQ(List(r, {Pod("a", "ua", "1"), Pod("b", "ub", "2"), Pod("c", "uc", "3")}, kT0), 0u);
  const size_t before = sink.records.size();
  r.BeginList();
  ASSERT_TRUE(r.OnListItem(Pod("a", "ua", "1"), kT0 + 1));  // page 1; page 2 answers 410
  r.RestartList();
  // a was deleted meanwhile: the new pages show b and c.
  ASSERT_TRUE(r.OnListItem(Pod("b", "ub", "2"), kT0 + 2));
  ASSERT_TRUE(r.OnListItem(Pod("c", "uc", "3"), kT0 + 2));
  auto vanished = r.EndList(kT0 + 2);
  ASSERT_TRUE(vanished);
  EXPECT_EQ(*vanished, 1u);
  ASSERT_EQ(sink.records.size(), before + 1);
  EXPECT_EQ(sink.records.back().watch_type, WatchType::kDeletedInferred);
  EXPECT_EQ(sink.records.back().name, "a");
  EXPECT_EQ(r.known_objects(), 2u);
  // Outside a list it does nothing.
  r.RestartList();
  EXPECT_EQ(List(r, {Pod("b", "ub", "2"), Pod("c", "uc", "3")}, kT0 + 3), 0u);
}

TEST_F(TypeRecorderTest, WorksWithoutMetrics) {
  ParseScratch scratch;
  TypeRecorder r(PodType(), sink, options, nullptr, scratch);
  r.BeginList();
  ASSERT_TRUE(r.OnListItem(Pod("a", "ua", "1"), kT0));
  ASSERT_TRUE(r.EndList(kT0));
  ASSERT_FALSE(r.OnWatchEvent(WatchType::kAdded, "{", kT0));
  r.BeginList();
  ASSERT_EQ(*r.EndList(kT0 + 1), 1u);
  EXPECT_EQ(sink.records.size(), 2u);
}

}  // namespace
}  // namespace sloop::ingest

namespace sloop::ingest {
namespace {

// With the engine's Store as the sink, an inferred deletion carries the object's last stored
// state (as Sloop's does), read back from the store: the recorder itself keeps only identities.
TEST(TypeRecorderWithStore, InferredDeletionCarriesTheLastKnownFullState) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("sloop-inferred-" + std::to_string(getpid()));
  fs::remove_all(dir);
  StoreOptions o;
  o.root = dir;
  o.background = false;
  o.now_ns = [] { return kT0 + 3'600'000'000'000; };
  auto store = Store::Open(o);
  ASSERT_TRUE(store) << store.error().ToString();
  IngestOptions options;
  ParseScratch scratch;
  TypeRecorder r(PodType(), **store, options, nullptr, scratch);

  const std::string v1 = Pod("web", "u1", "10", "shop", R"(,"status":{"phase":"Pending"})");
  const std::string v2 = Pod("web", "u1", "11", "shop", R"(,"status":{"phase":"Running"})");
  const std::string other = Pod("db", "u2", "12");
  r.BeginList();
  ASSERT_TRUE(r.OnListItem(v1, kT0));
  ASSERT_TRUE(r.OnListItem(other, kT0));
  ASSERT_TRUE(r.EndList(kT0));
  ASSERT_TRUE(r.OnWatchEvent(WatchType::kModified, v2, kT0 + 1'000'000'000));
  // A watch gap, then a relist that no longer has web: deleted while disconnected.
  r.BeginList();
  ASSERT_TRUE(r.OnListItem(other, kT0 + 60'000'000'000));
  ASSERT_EQ(*r.EndList(kT0 + 60'000'000'000), 1u);

  std::vector<std::pair<WatchType, std::string>> history;
  ASSERT_TRUE((*store)->History(ResourceKeyView{"Pod", "shop", "web", "u1"},
                                TimeRange{kT0, kT0 + 120'000'000'000}, false,
                                [&](const RecordView& rec) {
                                  history.emplace_back(rec.watch_type, std::string(rec.payload));
                                  return true;
                                }));
  ASSERT_EQ(history.size(), 3u);
  EXPECT_EQ(history[2].first, WatchType::kDeletedInferred);
  EXPECT_EQ(history[2].second, v2);  // the full last state, not a stub with metadata only
  store->reset();
  fs::remove_all(dir);
}

// A sink that cannot read back (or whose newest record is of another API group) still gets a
// parseable stand-in.
TEST(TypeRecorderWithStore, WithoutAStoredStateTheDeletionCarriesTheIdentity) {
  FakeSink sink;
  IngestOptions options;
  ParseScratch scratch;
  TypeRecorder r(PodType(), sink, options, nullptr, scratch);
  r.BeginList();
  ASSERT_TRUE(r.OnListItem(Pod("web", "u1", "10"), kT0));
  ASSERT_TRUE(r.EndList(kT0));
  r.BeginList();
  ASSERT_EQ(*r.EndList(kT0 + 1), 1u);
  ASSERT_EQ(sink.records.size(), 2u);
  EXPECT_NE(sink.records[1].payload.find("\"uid\":\"u1\""), std::string::npos);
  EXPECT_EQ(sink.records[1].payload.find("spec"), std::string::npos);
}

// ---- a restart: the first list reconciled against what the store holds as alive

// Forwards to the store and keeps a copy of what it appended (what the restarted recorder wrote).
class TeeSink : public RecordSink {
 public:
  explicit TeeSink(Store& store) : store_(store) {}
  Result<void> Append(const RecordView& r) override {
    records.push_back(StoredRecord::From(r));
    return store_.Append(r);
  }
  std::optional<std::string> LastPayload(std::string_view g, std::string_view k,
                                         std::string_view ns, std::string_view n,
                                         std::string_view u, int64_t t) const override {
    return store_.LastPayload(g, k, ns, n, u, t);
  }
  std::vector<LiveObject> LiveObjects(std::string_view g, std::string_view k,
                                      std::string_view ns) const override {
    return store_.LiveObjects(g, k, ns);
  }
  std::vector<StoredRecord> records;

 private:
  Store& store_;
};

class RestartTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("sloop-restart-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    Open();
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Open() {
    StoreOptions o;
    o.root = dir_;
    o.background = false;
    o.now_ns = [] { return kT0 + 600'000'000'000; };
    auto s = Store::Open(o);
    ASSERT_TRUE(s) << s.error().ToString();
    store_ = std::move(*s);
  }
  // sloop stops (the store is closed: its shard sealed) and starts again.
  void Restart() {
    ASSERT_TRUE(store_->Close());
    store_.reset();
    Open();
  }
  // A first run of a recorder: lists `items`, then applies `watched` MODIFIED events.
  void FirstRun(const ResourceType& type, const std::vector<std::string>& items,
                const std::vector<std::string>& watched = {}) {
    TypeRecorder r(type, *store_, options_, nullptr, scratch_);
    r.BeginList();
    for (const auto& item : items) ASSERT_TRUE(r.OnListItem(item, kT0));
    ASSERT_TRUE(r.EndList(kT0));
    for (const auto& w : watched) ASSERT_TRUE(r.OnWatchEvent(WatchType::kModified, w, kT0 + 1));
  }
  // The last record the store holds of the object.
  StoredRecord Last(const std::string& ns, const std::string& name, const std::string& uid,
                    const std::string& kind = "Pod") {
    StoredRecord last;
    EXPECT_TRUE(store_->History(ResourceKeyView{kind, ns, name, uid},
                                TimeRange{kT0 - 1, kT0 + 3'600'000'000'000}, false,
                                [&](const RecordView& rec) {
                                  last = StoredRecord::From(rec);
                                  return true;
                                }));
    return last;
  }

  std::filesystem::path dir_;
  std::unique_ptr<Store> store_;
  IngestOptions options_;
  ParseScratch scratch_;
  const int64_t t1_ = kT0 + 300'000'000'000;  // the first list after the restart
};

TEST_F(RestartTest, FirstListAfterARestartInfersWhatVanishedAndRecordsOnlyChanges) {
  const std::string a = Pod("a", "u-a", "10");
  const std::string b2 = Pod("b", "u-b", "13", "shop", R"(,"status":{"phase":"Running"})");
  FirstRun(PodType(), {a, Pod("b", "u-b", "11"), Pod("c", "u-c", "12")}, {b2});
  Restart();

  // While sloop was down: b deleted, c changed, d created; a untouched.
  TeeSink sink(*store_);
  TypeRecorder r(PodType(), sink, options_, nullptr, scratch_);
  EXPECT_EQ(r.SeedFromSink(""), 3u);
  EXPECT_EQ(r.known_objects(), 3u);
  const std::string c2 = Pod("c", "u-c", "20", "shop", R"(,"status":{"phase":"Failed"})");
  const std::string d = Pod("d", "u-d", "21");
  r.BeginList();
  for (const auto& item : {a, c2, d}) ASSERT_TRUE(r.OnListItem(item, t1_));
  auto vanished = r.EndList(t1_);
  ASSERT_TRUE(vanished);
  EXPECT_EQ(*vanished, 1u);

  ASSERT_EQ(sink.records.size(), 3u) << "a is not recorded again";
  ExpectIdentity(sink.records[0], WatchType::kModified, "c", "u-c", "20");
  EXPECT_EQ(sink.records[0].payload, c2);
  ExpectIdentity(sink.records[1], WatchType::kAdded, "d", "u-d", "21");
  ExpectIdentity(sink.records[2], WatchType::kDeletedInferred, "b", "u-b", "13");
  EXPECT_EQ(sink.records[2].payload, b2) << "the last stored state, read back from the store";
  for (const auto& rec : sink.records) EXPECT_EQ(rec.observed_ns, t1_);
  EXPECT_EQ(Last("shop", "b", "u-b").watch_type, WatchType::kDeletedInferred);
  EXPECT_EQ(Last("shop", "a", "u-a").observed_ns, kT0) << "a's only record is its first";
  EXPECT_EQ(r.known_objects(), 3u);

  // The store now holds a, c, d as alive; a second restart with nothing changed records nothing.
  Restart();
  TeeSink again(*store_);
  TypeRecorder r2(PodType(), again, options_, nullptr, scratch_);
  EXPECT_EQ(r2.SeedFromSink(""), 3u);
  r2.BeginList();
  for (const auto& item : {a, c2, d}) ASSERT_TRUE(r2.OnListItem(item, t1_ + 1));
  EXPECT_EQ(*r2.EndList(t1_ + 1), 0u);
  EXPECT_TRUE(again.records.empty());
}

TEST_F(RestartTest, NameReusedWithANewUidWhileDownIsANewObjectAndTheOldOneEnds) {
  const std::string old_db =
      Pod("db-1", "old-uid", "5", "shop", R"(,"status":{"phase":"Running"})");
  FirstRun(PodType(), {old_db});
  Restart();
  TeeSink sink(*store_);
  TypeRecorder r(PodType(), sink, options_, nullptr, scratch_);
  EXPECT_EQ(r.SeedFromSink(""), 1u);
  r.BeginList();
  ASSERT_TRUE(r.OnListItem(Pod("db-1", "new-uid", "9"), t1_));
  EXPECT_EQ(*r.EndList(t1_), 1u);
  ASSERT_EQ(sink.records.size(), 2u);
  ExpectIdentity(sink.records[0], WatchType::kAdded, "db-1", "new-uid", "9");
  ExpectIdentity(sink.records[1], WatchType::kDeletedInferred, "db-1", "old-uid", "5");
  EXPECT_EQ(sink.records[1].payload, old_db);
}

// Events were recorded with their uids before 2026-12-07; now an Event's records and index
// entries hold none. A recorder started on a store of the earlier build must still know its live
// Events as the ones the API server lists: no deletion inferred, no Event recorded twice.
TEST_F(RestartTest, EventsRecordedWithTheirUidsByAnEarlierBuildAreStillKnownAfterARestart) {
  auto event = [](const std::string& name, const std::string& uid, const std::string& rv) {
    return R"({"kind":"Event","apiVersion":"v1","metadata":{"name":")" + name +
           R"(","namespace":"shop","uid":")" + uid + R"(","resourceVersion":")" + rv +
           R"("},"involvedObject":{"kind":"Pod","namespace":"shop","name":"web","uid":"u-web"},)"
           R"("reason":"BackOff","type":"Warning","count":1})";
  };
  const std::string kept = event("web.17a", "ev-a", "7");
  const std::string gone = event("web.17b", "ev-b", "8");
  // What the earlier build appended: the record's key holds the Event's uid.
  const ResourceType type = EventType();  // the record's API strings point into it
  for (const auto& [json, uid] : {std::pair{kept, "ev-a"}, std::pair{gone, "ev-b"}}) {
    auto obj = ParseObject(scratch_.parser, scratch_.padded, json, true);
    ASSERT_TRUE(obj);
    RecordView rec = MakeRecord(type, *obj, WatchType::kAdded, kT0);
    EXPECT_EQ(rec.uid, "") << "this build keys an Event by name";
    rec.uid = uid;
    ASSERT_TRUE(store_->Append(rec));
  }
  Restart();

  TeeSink sink(*store_);
  TypeRecorder r(EventType(), sink, options_, nullptr, scratch_);
  EXPECT_EQ(r.SeedFromSink(""), 2u);
  r.BeginList();
  ASSERT_TRUE(r.OnListItem(kept, t1_));
  auto vanished = r.EndList(t1_);
  ASSERT_TRUE(vanished);
  EXPECT_EQ(*vanished, 1u) << "web.17b is gone; web.17a is the Event already recorded";
  ASSERT_EQ(sink.records.size(), 1u);
  ExpectIdentity(sink.records[0], WatchType::kDeletedInferred, "web.17b", "", "8");
  EXPECT_EQ(sink.records[0].payload, gone) << "its last state, found by name in the old records";

  // A change of web.17a is recorded without a uid; asked by its uid or without one, its history
  // holds the record of either build.
  ASSERT_TRUE(r.OnWatchEvent(WatchType::kModified, event("web.17a", "ev-a", "9"), t1_ + 1));
  for (const char* uid : {"ev-a", ""}) {
    std::vector<std::string> versions;
    ASSERT_TRUE(store_->History(ResourceKeyView{"Event", "shop", "web.17a", uid},
                                TimeRange{kT0 - 1, kT0 + 3'600'000'000'000}, false,
                                [&](const RecordView& rec) {
                                  versions.emplace_back(rec.resource_version);
                                  return true;
                                }));
    EXPECT_EQ(versions, (std::vector<std::string>{"7", "9"})) << "asked with uid '" << uid << "'";
    auto at = store_->PayloadAt(ResourceKeyView{"Event", "shop", "web.17a", uid}, t1_ + 1);
    ASSERT_TRUE(at && *at);
    EXPECT_EQ((*at)->resource_version, "9");
  }
}

// A custom resource that happens to be called Event (another API group) keeps its uid, unlike
// Kubernetes' Events: a restart knows it as the object the API server lists, records nothing of
// it unchanged and infers no deletion of it.
TEST_F(RestartTest, ACustomResourceCalledEventIsKnownByItsUidAfterARestart) {
  const ResourceType type{"example.com", "v1", "events", "Event", true, false};
  auto item = [](const std::string& rv) {
    return R"({"kind":"Event","apiVersion":"example.com/v1","metadata":{"name":"release-1",)"
           R"("namespace":"shop","uid":"cr-1","resourceVersion":")" +
           rv + R"("},"spec":{"what":"release"}})";
  };
  FirstRun(type, {item("3")});
  EXPECT_EQ(Last("shop", "release-1", "cr-1", "Event").uid, "cr-1");
  Restart();
  TeeSink sink(*store_);
  TypeRecorder r(type, sink, options_, nullptr, scratch_);
  EXPECT_EQ(r.SeedFromSink(""), 1u);
  r.BeginList();
  ASSERT_TRUE(r.OnListItem(item("3"), t1_));
  EXPECT_EQ(*r.EndList(t1_), 0u);
  EXPECT_TRUE(sink.records.empty()) << "nothing changed: nothing recorded";
}

TEST_F(RestartTest, OnlyTheWatchedNamespaceAndTheTypesGroupAreSeeded) {
  FirstRun(PodType(), {Pod("a", "u-a", "1"), Pod("k", "u-k", "2", "kube-system")});
  FirstRun(DeploymentType(), {R"({"kind":"Deployment","apiVersion":"apps/v1","metadata":{)"
                              R"("name":"web","namespace":"shop","uid":"u-web",)"
                              R"("resourceVersion":"3"}})"});
  Restart();
  TeeSink sink(*store_);
  TypeRecorder pods(PodType(), sink, options_, nullptr, scratch_);
  // -watch-namespace=shop: kube-system's pods are not listed, so they must not be taken as known
  // (they would be inferred deleted).
  EXPECT_EQ(pods.SeedFromSink("shop"), 1u);
  pods.BeginList();
  ASSERT_TRUE(pods.OnListItem(Pod("a", "u-a", "1"), t1_));
  EXPECT_EQ(*pods.EndList(t1_), 0u);
  EXPECT_TRUE(sink.records.empty());
  // Deployments of another group are another type.
  ResourceType other = DeploymentType();
  other.group = "extensions.example";
  TypeRecorder odd(other, sink, options_, nullptr, scratch_);
  EXPECT_EQ(odd.SeedFromSink(""), 0u);
  TypeRecorder deployments(DeploymentType(), sink, options_, nullptr, scratch_);
  EXPECT_EQ(deployments.SeedFromSink("shop"), 1u);
  EXPECT_EQ(Last("kube-system", "k", "u-k").watch_type, WatchType::kAdded) << "left alone";
}

TEST_F(RestartTest, AnEmptyStoreOrASinkThatCannotTellChangesNothing) {
  TeeSink sink(*store_);
  TypeRecorder r(PodType(), sink, options_, nullptr, scratch_);
  EXPECT_EQ(r.SeedFromSink(""), 0u);
  r.BeginList();
  ASSERT_TRUE(r.OnListItem(Pod("a", "u-a", "1"), t1_));
  EXPECT_EQ(*r.EndList(t1_), 0u);
  ASSERT_EQ(sink.records.size(), 1u);
  ExpectIdentity(sink.records[0], WatchType::kAdded, "a", "u-a", "1");

  FakeSink fake;  // RecordSink's default: nothing known
  TypeRecorder f(PodType(), fake, options_, nullptr, scratch_);
  EXPECT_EQ(f.SeedFromSink(""), 0u);
  EXPECT_EQ(f.known_objects(), 0u);
}

TEST_F(RestartTest, SeededNodeThatChangedIsRecordedOnceAndUnchangedOneNotAtAll) {
  const std::string node = Fixture("node.json");
  const std::string n2 =
      With(With(node, R"("name": "ip-10-42-17-203.ec2.internal")", R"("name": "other")"),
           R"("uid": ")", R"("uid": "x)");
  FirstRun(NodeType(), {node, n2});
  Restart();
  TeeSink sink(*store_);
  TypeRecorder r(NodeType(), sink, options_, nullptr, scratch_);
  EXPECT_EQ(r.SeedFromSink("shop"), 2u) << "cluster-scoped: the namespace does not apply";
  // The first Node's resourceVersion moved while sloop was down. Its fingerprint before is not
  // in the store, so the change is recorded (it may have been a heartbeat only); the other Node
  // is unchanged and not recorded again.
  const std::string moved =
      With(node, R"("resourceVersion": "48213402")", R"("resourceVersion": "48213999")");
  r.BeginList();
  ASSERT_TRUE(r.OnListItem(moved, t1_));
  ASSERT_TRUE(r.OnListItem(n2, t1_));
  EXPECT_EQ(*r.EndList(t1_), 0u);
  ASSERT_EQ(sink.records.size(), 1u);
  EXPECT_EQ(sink.records[0].watch_type, WatchType::kModified);
  EXPECT_EQ(sink.records[0].resource_version, "48213999");
  // From then on the fingerprint is known: a heartbeat-only watch update is dropped again.
  const std::string heartbeat =
      With(node, R"("resourceVersion": "48213402")", R"("resourceVersion": "48214000")");
  ASSERT_TRUE(r.OnWatchEvent(WatchType::kModified, heartbeat, t1_ + 1));
  EXPECT_EQ(sink.records.size(), 1u);
}

}  // namespace
}  // namespace sloop::ingest
