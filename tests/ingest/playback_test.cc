// Playback: capture files replayed through the same pipeline as live watching, checked against
// what an in-memory sink received and the stats Playback returns.
#include "ingest/playback.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <atomic>
#include <string>
#include <vector>

#include "ingest/capture.h"
#include "ingest/exclusion_rules.h"
#include "ingest_test_util.h"

namespace sloop::ingest {
namespace {

using testing::FakeSink;
using testing::ReadText;
using testing::Fixture;
using testing::TempDir;
using testing::With;
using testing::WriteText;

constexpr int64_t kT0 = 1'764'064'800'000'000'000;
const char kHeader[] = R"({"format":"sloop-capture","version":1,"source":"test"})";

ResourceType Pods() { return {"", "v1", "pods", "Pod", true, false}; }
ResourceType Nodes() { return {"", "v1", "nodes", "Node", false, false}; }
ResourceType Events() { return {"", "v1", "events", "Event", true, false}; }
ResourceType Deployments() { return {"apps", "v1", "deployments", "Deployment", true, false}; }

std::string Pod(const std::string& name, const std::string& rv) {
  return R"({"kind":"Pod","apiVersion":"v1","metadata":{"name":")" + name +
         R"(","namespace":"shop","uid":"uid-)" + name + R"(","resourceVersion":")" + rv + R"("}})";
}

std::string Line(int64_t ts, const std::string& type, const std::string& object) {
  return R"({"ts":)" + std::to_string(ts) + R"(,"type":")" + type +
         R"(","group":"","version":"v1","resource":"pods","kind":"Pod","namespaced":true,)"
         R"("object":)" +
         object + "}\n";
}

class PlaybackTest : public ::testing::Test {
 protected:
  struct Rec {
    int64_t ts;
    CaptureType type;
    ResourceType rt;
    std::string object;
  };
  std::string WriteCapture(const std::vector<Rec>& recs, const std::string& name = "c.ndjson",
                           bool list_ends = false) {
    std::string path = dir / name;
    auto w = CaptureWriter::Create(path, "test", list_ends);
    EXPECT_TRUE(w) << w.error().ToString();
    for (const auto& r : recs) EXPECT_TRUE((*w)->Write(r.ts, r.type, r.rt, r.object));
    EXPECT_TRUE((*w)->Close());
    return path;
  }
  Result<PlaybackStats> Play(const std::string& path, const std::atomic<bool>* stop = nullptr) {
    return Playback(path, options, sink, &registry, stop);
  }
  // The sink's records as "TYPE name rv" lines.
  std::vector<std::string> Seen() const {
    std::vector<std::string> out;
    for (const auto& r : sink.records) {
      out.push_back(std::string(WatchTypeName(r.watch_type)) + " " + r.kind + " " + r.name + " " +
                    r.resource_version);
    }
    return out;
  }

  TempDir dir;
  IngestOptions options;
  FakeSink sink;
  prometheus::Registry registry;
};

using Strings = std::vector<std::string>;

TEST_F(PlaybackTest, ListWatchAndRelistReconcile) {
  const int64_t t1 = kT0 + 1'000'000'000, t2 = kT0 + 2'000'000'000;
  std::vector<Rec> recs = {
      {kT0, CaptureType::kList, Pods(), Pod("a", "1")},
      {kT0, CaptureType::kList, Pods(), Pod("b", "2")},
      {kT0, CaptureType::kList, Pods(), Pod("c", "3")},
      {t1, CaptureType::kAdded, Pods(), Pod("d", "4")},
      {t1, CaptureType::kModified, Pods(), Pod("a", "5")},
      {t1, CaptureType::kDeleted, Pods(), Pod("b", "6")},
      // A relist after a gap: a changed, c unchanged, d vanished, e new.
      {t2, CaptureType::kList, Pods(), Pod("a", "7")},
      {t2, CaptureType::kList, Pods(), Pod("c", "3")},
      {t2, CaptureType::kList, Pods(), Pod("e", "8")},
  };
  auto stats = Play(WriteCapture(recs));
  ASSERT_TRUE(stats) << stats.error().ToString();
  EXPECT_EQ(Seen(), (Strings{"ADDED Pod a 1", "ADDED Pod b 2", "ADDED Pod c 3", "ADDED Pod d 4",
                             "MODIFIED Pod a 5", "DELETED Pod b 6", "MODIFIED Pod a 7",
                             "ADDED Pod e 8", "DELETED_INFERRED Pod d 4"}));
  EXPECT_EQ(stats->lines, 9u);
  EXPECT_EQ(stats->list_items, 6u);
  EXPECT_EQ(stats->watch_events, 3u);
  EXPECT_EQ(stats->appended, 9u);
  EXPECT_EQ(stats->inferred_deletions, 1u);
  EXPECT_EQ(stats->unknown_types, 0u);
  EXPECT_EQ(stats->resource_types, 1u);
  EXPECT_FALSE(stats->stopped);
  EXPECT_FALSE(stats->torn_tail);
  uint64_t bytes = 0;
  for (const auto& r : recs) bytes += r.object.size();
  EXPECT_EQ(stats->object_bytes, bytes);
  // Observation times and payloads come from the capture.
  EXPECT_EQ(sink.records[0].observed_ns, kT0);
  EXPECT_EQ(sink.records[3].observed_ns, t1);
  EXPECT_EQ(sink.records[8].observed_ns, t2);  // the relist's time
  EXPECT_EQ(sink.records[0].payload, Pod("a", "1"));
}

// A capture sloop wrote marks where each list ended and whether it was read whole: a list not
// read whole (items skipped live, so not in the capture) infers no deletion, a list started
// again (its continue token expired) counts only what it showed after, a list of no item is a
// list, and a list the capture stops in the middle of says nothing of the rest.
TEST_F(PlaybackTest, ListEndsMarkedBySloopDecideWhatIsInferredDeleted) {
  auto at = [](int s) { return kT0 + s * 1'000'000'000LL; };
  const std::string path = WriteCapture(
      {
          {at(0), CaptureType::kList, Pods(), Pod("a", "1")},
          {at(0), CaptureType::kList, Pods(), Pod("b", "2")},
          {at(0), CaptureType::kList, Pods(), Pod("c", "3")},
          {at(0), CaptureType::kListEnd, Pods(), "{}"},
          // Not read whole (b and c were skipped): nothing inferred.
          {at(1), CaptureType::kList, Pods(), Pod("a", "1")},
          {at(1), CaptureType::kListIncomplete, Pods(), "{}"},
          {at(2), CaptureType::kModified, Pods(), Pod("a", "4")},
          // Started again after its first page: b (only on that page) is gone, c is not.
          {at(3), CaptureType::kList, Pods(), Pod("b", "2")},
          {at(3), CaptureType::kListRestart, Pods(), "{}"},
          {at(3), CaptureType::kList, Pods(), Pod("a", "4")},
          {at(3), CaptureType::kList, Pods(), Pod("c", "3")},
          {at(3), CaptureType::kListEnd, Pods(), "{}"},
          // A list of no item: a and c are gone.
          {at(4), CaptureType::kListEnd, Pods(), "{}"},
          {at(5), CaptureType::kAdded, Pods(), Pod("d", "5")},
          // The capture stops in the middle of a list: d stays.
          {at(6), CaptureType::kList, Pods(), Pod("e", "6")},
      },
      "marked.ndjson", /*list_ends=*/true);
  auto stats = Play(path);
  ASSERT_TRUE(stats) << stats.error().ToString();
  Strings seen = Seen();
  ASSERT_EQ(seen.size(), 9u);
  std::sort(seen.begin() + 5, seen.begin() + 7);  // one list's deletions, in no set order
  EXPECT_EQ(seen, (Strings{"ADDED Pod a 1", "ADDED Pod b 2", "ADDED Pod c 3", "MODIFIED Pod a 4",
                           "DELETED_INFERRED Pod b 2", "DELETED_INFERRED Pod a 4",
                           "DELETED_INFERRED Pod c 3", "ADDED Pod d 5", "ADDED Pod e 6"}));
  EXPECT_EQ(stats->inferred_deletions, 3u);
  EXPECT_EQ(stats->unknown_types, 0u);
  // Without the header's mark (a capture of another writer), a list still open at the end of
  // the file ends there as before: the last one infers d.
  sink.records.clear();
  std::string text = ReadText(path);
  text.replace(text.find(",\"list_ends\":true"), 16, "");
  const std::string unmarked = dir / "unmarked.ndjson";
  WriteText(unmarked, text);
  auto plain = Play(unmarked);
  ASSERT_TRUE(plain) << plain.error().ToString();
  EXPECT_EQ(plain->inferred_deletions, 4u);
  EXPECT_EQ(Seen().back(), "DELETED_INFERRED Pod d 5");
}

TEST_F(PlaybackTest, FixtureObjectsOfSeveralKindsPlainAndZstd) {
  const std::string pod = CompactJson(Fixture("pod.json"));
  const std::string node = CompactJson(Fixture("node.json"));
  const std::string event = CompactJson(Fixture("event.json"));
  const std::string deployment = CompactJson(Fixture("deployment.json"));
  for (const std::string name : {"fixtures.ndjson", "fixtures.ndjson.zst"}) {
    sink.records.clear();
    std::vector<Rec> recs = {
        {kT0, CaptureType::kList, Pods(), pod},
        {kT0, CaptureType::kList, Nodes(), node},
        {kT0, CaptureType::kList, Deployments(), deployment},
        {kT0 + 1, CaptureType::kAdded, Events(), event},
        {kT0 + 2, CaptureType::kDeleted, Pods(), pod},
    };
    auto stats = Play(WriteCapture(recs, name));
    ASSERT_TRUE(stats) << stats.error().ToString();
    EXPECT_EQ(stats->resource_types, 4u);
    EXPECT_EQ(stats->appended, 5u);
    EXPECT_EQ(stats->inferred_deletions, 0u);
    ASSERT_EQ(sink.records.size(), 5u);
    EXPECT_EQ(sink.records[0].payload, pod);
    EXPECT_EQ(sink.records[1].kind, "Node");
    EXPECT_EQ(sink.records[1].namespace_, "");
    EXPECT_EQ(sink.records[2].api_group, "apps");
    EXPECT_EQ(sink.records[3].kind, "Event");
    ASSERT_TRUE(sink.records[3].event.has_value());
    EXPECT_EQ(sink.records[3].event->reason, "Pulled");
    EXPECT_EQ(sink.records[3].event->involved_name, "checkout-7d9f8c6b5d-x2k4q");
    EXPECT_EQ(sink.records[4].watch_type, WatchType::kDeleted);
  }
}

TEST_F(PlaybackTest, WatchFramesFixture) {
  // The watch-frames fixture as kubesim's capture mode would record it: BOOKMARK and ERROR
  // frames are not captured; here they are kept as unknown types, which playback skips.
  std::string text = std::string(kHeader) + "\n";
  std::istringstream frames(Fixture("watch-frames.ndjson"));
  std::string frame;
  int64_t ts = kT0;
  while (std::getline(frames, frame)) {
    // {"type":T,"object":O} → {"ts":…,"type":T,…,"object":O}
    std::string type = frame.substr(9, frame.find('"', 9) - 9);
    std::string object = frame.substr(frame.find(R"("object":)") + 9);
    object.pop_back();  // the frame's closing brace
    text += Line(ts++, type, object);
  }
  std::string path = dir / "frames.ndjson";
  WriteText(path, text);
  auto stats = Play(path);
  ASSERT_TRUE(stats) << stats.error().ToString();
  EXPECT_EQ(stats->lines, 5u);
  EXPECT_EQ(stats->unknown_types, 2u);
  EXPECT_EQ(stats->watch_events, 3u);
  ASSERT_EQ(sink.records.size(), 3u);
  EXPECT_EQ(sink.records[0].watch_type, WatchType::kAdded);
  EXPECT_EQ(sink.records[1].watch_type, WatchType::kModified);
  EXPECT_EQ(sink.records[2].watch_type, WatchType::kDeleted);
  EXPECT_EQ(sink.records[2].name, "checkout-7d9f8c6b5d-x2k4q");
}

TEST_F(PlaybackTest, ListRunsOfDifferentKindsAreReconciledSeparately) {
  std::vector<Rec> recs = {
      {kT0, CaptureType::kList, Pods(), Pod("a", "1")},
      {kT0, CaptureType::kList, Deployments(), R"({"metadata":{"name":"d","uid":"ud"}})"},
      {kT0, CaptureType::kList, Pods(), Pod("b", "2")},  // interleaved with another kind's list
      {kT0 + 1, CaptureType::kAdded, Deployments(), R"({"metadata":{"name":"e","uid":"ue"}})"},
      {kT0 + 2, CaptureType::kList, Deployments(), R"({"metadata":{"name":"e","uid":"ue"}})"},
  };
  auto stats = Play(WriteCapture(recs));
  ASSERT_TRUE(stats) << stats.error().ToString();
  EXPECT_EQ(Seen(), (Strings{"ADDED Pod a 1", "ADDED Deployment d ", "ADDED Pod b 2",
                             "ADDED Deployment e ", "DELETED_INFERRED Deployment d "}));
  EXPECT_EQ(stats->inferred_deletions, 1u);
  EXPECT_EQ(stats->resource_types, 2u);
}

TEST_F(PlaybackTest, MinorNodeUpdatesDroppedUnlessKept) {
  const std::string node = CompactJson(Fixture("node.json"));
  std::string beat = With(node, R"("resourceVersion":"48213402")", R"("resourceVersion":"9")");
  beat = With(beat, R"("lastHeartbeatTime":"2026-11-20T09:20:41Z")",
              R"("lastHeartbeatTime":"2026-11-20T09:21:41Z")");
  std::string relabel = With(beat, R"("nodepool":"general")", R"("nodepool":"gpu")");
  relabel = With(relabel, R"("resourceVersion":"9")", R"("resourceVersion":"10")");
  std::vector<Rec> recs = {
      {kT0, CaptureType::kList, Nodes(), node},
      {kT0 + 1, CaptureType::kModified, Nodes(), beat},
      {kT0 + 2, CaptureType::kModified, Nodes(), relabel},
  };
  std::string path = WriteCapture(recs);
  auto stats = Play(path);
  ASSERT_TRUE(stats) << stats.error().ToString();
  EXPECT_EQ(stats->appended, 2u);
  EXPECT_EQ(Seen(), (Strings{"ADDED Node ip-10-42-17-203.ec2.internal 48213402",
                             "MODIFIED Node ip-10-42-17-203.ec2.internal 10"}));
  sink.records.clear();
  options.keep_minor_node_updates = true;
  stats = Play(path);
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->appended, 3u);
}

TEST_F(PlaybackTest, ExclusionRulesApply) {
  auto rules = ExclusionRules::FromConfig(R"({"Pod":[{"==":[{"var":"metadata.name"},"b"]}]})");
  ASSERT_TRUE(rules);
  options.rules = &*rules;
  auto stats = Play(WriteCapture({{kT0, CaptureType::kList, Pods(), Pod("a", "1")},
                                  {kT0, CaptureType::kList, Pods(), Pod("b", "1")},
                                  {kT0 + 1, CaptureType::kModified, Pods(), Pod("b", "2")}}));
  ASSERT_TRUE(stats);
  EXPECT_EQ(Seen(), (Strings{"ADDED Pod a 1"}));
  EXPECT_EQ(stats->lines, 3u);
}

TEST_F(PlaybackTest, TornLastLineIsIgnoredAndReported) {
  std::string text = std::string(kHeader) + "\n" + Line(kT0, "LIST", Pod("a", "1")) +
                     Line(kT0, "LIST", Pod("b", "1")) +
                     Line(kT0 + 1, "MODIFIED", Pod("a", "2")).substr(0, 50);
  std::string path = dir / "torn.ndjson";
  WriteText(path, text);
  auto stats = Play(path);
  ASSERT_TRUE(stats) << stats.error().ToString();
  EXPECT_TRUE(stats->torn_tail);
  EXPECT_EQ(stats->lines, 2u);
  EXPECT_EQ(Seen(), (Strings{"ADDED Pod a 1", "ADDED Pod b 1"}));
  EXPECT_EQ(stats->inferred_deletions, 0u);  // the list run ended at the end of the file
}

TEST_F(PlaybackTest, MalformedCaptureLineStopsWithItsLineNumber) {
  std::string text = std::string(kHeader) + "\n" + Line(kT0, "ADDED", Pod("a", "1")) +
                     "{\"ts\":5,\"type\":\n" + Line(kT0 + 1, "ADDED", Pod("b", "1"));
  std::string path = dir / "bad.ndjson";
  WriteText(path, text);
  auto stats = Play(path);
  ASSERT_FALSE(stats);
  EXPECT_EQ(stats.error().code, ErrorCode::kCorruption);
  EXPECT_NE(stats.error().message.find(path + ": line 3 (byte offset"), std::string::npos)
      << stats.error().message;
  EXPECT_EQ(Seen(), (Strings{"ADDED Pod a 1"}));  // what came before is kept
}

TEST_F(PlaybackTest, MalformedObjectStopsWithItsLineNumber) {
  // Line 1 header, line 2 good, line 3 an object without metadata, line 4 good.
  std::string text = std::string(kHeader) + "\n" + Line(kT0, "ADDED", Pod("a", "1")) +
                     Line(kT0 + 1, "MODIFIED", R"({"kind":"Pod"})") +
                     Line(kT0 + 2, "ADDED", Pod("b", "1"));
  std::string path = dir / "badobj.ndjson";
  WriteText(path, text);
  auto stats = Play(path);
  ASSERT_FALSE(stats);
  EXPECT_EQ(stats.error().code, ErrorCode::kCorruption);
  EXPECT_NE(stats.error().message.find("playback " + path + ": line 3 (Pod)"), std::string::npos)
      << stats.error().message;
  EXPECT_NE(stats.error().message.find("metadata.name"), std::string::npos);
  // And in a LIST run.
  sink.records.clear();
  text = std::string(kHeader) + "\n" + Line(kT0, "LIST", "{\"metadata\":{\"name\":5}}");
  WriteText(path, text);
  stats = Play(path);
  ASSERT_FALSE(stats);
  EXPECT_NE(stats.error().message.find(": line 2 (Pod)"), std::string::npos)
      << stats.error().message;
}

TEST_F(PlaybackTest, UnknownRecordTypesAreCountedAndSkipped) {
  std::string text = std::string(kHeader) + "\n" + Line(kT0, "BOOKMARK", Pod("a", "1")) +
                     Line(kT0, "ADDED", Pod("a", "1")) +
                     R"({"ts":2,"type":"SOMETHING_NEW","payload":[1,2]})" + "\n" +
                     Line(kT0, "ERROR", R"({"kind":"Status"})");
  std::string path = dir / "unknown.ndjson";
  WriteText(path, text);
  auto stats = Play(path);
  ASSERT_TRUE(stats) << stats.error().ToString();
  EXPECT_EQ(stats->lines, 4u);
  EXPECT_EQ(stats->unknown_types, 3u);
  EXPECT_EQ(stats->watch_events, 1u);
  EXPECT_EQ(Seen(), (Strings{"ADDED Pod a 1"}));
}

TEST_F(PlaybackTest, StopFlagEndsPlaybackEarly) {
  std::vector<Rec> recs;
  for (int i = 0; i < 50; ++i) {
    recs.push_back({kT0 + i, CaptureType::kAdded, Pods(), Pod("p" + std::to_string(i), "1")});
  }
  std::string path = WriteCapture(recs);
  std::atomic<bool> stop{true};
  auto stats = Play(path, &stop);
  ASSERT_TRUE(stats);
  EXPECT_TRUE(stats->stopped);
  EXPECT_EQ(stats->lines, 0u);
  EXPECT_TRUE(sink.records.empty());

  // Stopped from inside the sink after 10 records: playback ends after the current record.
  struct StoppingSink : FakeSink {
    std::atomic<bool>* stop = nullptr;
    Result<void> Append(const RecordView& r) override {
      auto ok = FakeSink::Append(r);
      if (records.size() == 10) stop->store(true);
      return ok;
    }
  } stopping;
  stopping.stop = &stop;
  stop = false;
  stats = Playback(path, options, stopping, nullptr, &stop);
  ASSERT_TRUE(stats);
  EXPECT_TRUE(stats->stopped);
  EXPECT_EQ(stats->lines, 10u);
  EXPECT_EQ(stats->appended, 10u);
  EXPECT_EQ(stopping.records.size(), 10u);
}

TEST_F(PlaybackTest, StoreErrorsStopPlayback) {
  std::string path = WriteCapture({{kT0, CaptureType::kAdded, Pods(), Pod("a", "1")},
                                   {kT0, CaptureType::kAdded, Pods(), Pod("b", "1")}});
  sink.FailFrom(1);
  auto stats = Play(path);
  ASSERT_FALSE(stats);
  EXPECT_EQ(stats.error().code, ErrorCode::kIOError);
  EXPECT_NE(stats.error().message.find("disk full"), std::string::npos);
}

TEST_F(PlaybackTest, MissingOrNonCaptureFile) {
  auto stats = Play(dir / "none.ndjson");
  ASSERT_FALSE(stats);
  EXPECT_NE(stats.error().message.find(dir / "none.ndjson"), std::string::npos);
  WriteText(dir / "json", R"({"not":"a capture"})"
                          "\n");
  stats = Play(dir / "json");
  ASSERT_FALSE(stats);
  EXPECT_EQ(stats.error().code, ErrorCode::kCorruption);
}

TEST_F(PlaybackTest, MetricsAreRegistered) {
  auto stats = Play(WriteCapture({{kT0, CaptureType::kList, Pods(), Pod("a", "1")}}));
  ASSERT_TRUE(stats);
  bool found = false;
  for (const auto& family : registry.Collect()) {
    if (family.name != "sloop_ingest_events_total") continue;
    for (const auto& m : family.metric) {
      bool pod = false, added = false;
      for (const auto& l : m.label) {
        pod |= l.name == "kind" && l.value == "Pod";
        added |= l.name == "type" && l.value == "ADDED";
      }
      if (pod && added) {
        found = true;
        EXPECT_EQ(m.counter.value, 1);
      }
    }
  }
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace sloop::ingest
