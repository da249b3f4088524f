// The index writer: what a builder's summaries become on disk, read back through the reader's
// views, field by field (keys, API strings, times, counts, ticks, heat, owners, record positions,
// Event links, recorded names, the shard's header, kinds and namespaces).
#include "index/index_writer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "index/index_format.h"
#include "index/index_reader.h"
#include "index/shard_index_builder.h"

namespace sloop {
namespace {

constexpr int64_t kSec = 1000000000LL;
constexpr int64_t kHour = 3600 * kSec;
constexpr int64_t kStart = 1'790'000'000LL * kSec;

class IndexWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("index_writer_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string_view Keep(std::string s) { return strings_.emplace_back(std::move(s)); }

  void Add(ShardIndexBuilder& b, int64_t t, WatchType type, std::string_view kind,
           std::string_view ns, std::string_view name, std::string_view uid, std::string_view rv,
           std::string_view payload = "{}", std::string_view group = "") {
    RecordView r;
    r.observed_ns = t;
    r.watch_type = type;
    r.api_group = group;
    r.api_version = "v1";
    r.kind = kind;
    r.namespace_ = ns;
    r.name = name;
    r.uid = uid;
    r.resource_version = rv;
    r.payload = payload;
    b.Add(r, 0);
  }

  void AddEvent(ShardIndexBuilder& b, int64_t t, std::string_view name, std::string_view inv_kind,
                std::string_view inv_ns, std::string_view inv_name, std::string_view inv_uid,
                std::string_view reason, int32_t count, EventSeverity severity) {
    RecordView r;
    r.observed_ns = t;
    r.watch_type = WatchType::kModified;
    r.api_version = "v1";
    r.kind = "Event";
    r.namespace_ = inv_ns;
    r.name = name;
    r.uid = Keep(std::string(name) + "-uid");
    r.resource_version = Keep(std::to_string(t));
    r.payload = "{}";
    EventInfoView ev;
    ev.involved_kind = inv_kind;
    ev.involved_namespace = inv_ns;
    ev.involved_name = inv_name;
    ev.involved_uid = inv_uid;
    ev.reason = reason;
    ev.severity = severity;
    ev.count = count;
    ev.first_timestamp_ns = t - 5 * 60 * kSec;
    ev.last_timestamp_ns = t;
    r.event = ev;
    b.Add(r, 0);
  }

  // A shard of every sort of entry: Pods owned by one ReplicaSet (shared owners), a Deployment
  // in another API group, Nodes, changes and resyncs, a deletion, Events about a Pod (heat,
  // linked) and about an object the shard has no record of (spelled out), and enough entries
  // for several blocks.
  void Fill(ShardIndexBuilder& b, int64_t start) {
    const std::string owner =
        R"({"metadata":{"creationTimestamp":"2026-09-21T10:00:00Z","ownerReferences":[)"
        R"({"kind":"ReplicaSet","name":"web-7f9","uid":"rs-1","controller":true}]}})";
    for (int i = 0; i < 300; ++i) {
      std::string_view name = Keep("web-7f9-" + std::to_string(i));
      std::string_view uid = Keep("pod-uid-" + std::to_string(i));
      Add(b, start + i * kSec, WatchType::kAdded, "Pod", i % 2 ? "shop" : "default", name, uid,
          Keep(std::to_string(1000 + i)), owner);
      if (i % 3 == 0) {
        Add(b, start + (i + 400) * kSec, WatchType::kModified, "Pod", i % 2 ? "shop" : "default",
            name, uid, Keep(std::to_string(1000 + i)), owner);  // a resync: no change
      }
      if (i % 7 == 0) {
        Add(b, start + (i + 800) * kSec, WatchType::kModified, "Pod", i % 2 ? "shop" : "default",
            name, uid, Keep(std::to_string(5000 + i)), owner);
      }
    }
    Add(b, start + 5 * kSec, WatchType::kAdded, "Deployment", "default", "web", "dep-1", "77",
        R"({"metadata":{"creationTimestamp":"2026-09-20T10:00:00Z"}})", "apps");
    for (int i = 0; i < 3; ++i) {
      Add(b, start + i * kSec, WatchType::kAdded, "Node", "", Keep("node-" + std::to_string(i)),
          Keep("node-uid-" + std::to_string(i)), Keep(std::to_string(50 + i)));
    }
    Add(b, start + 900 * kSec, WatchType::kDeleted, "Node", "", "node-2", "node-uid-2", "99");
    AddEvent(b, start + 600 * kSec, "web-7f9-4.a", "Pod", "default", "web-7f9-4", "pod-uid-4",
             "BackOff", 3, EventSeverity::kWarning);
    AddEvent(b, start + 700 * kSec, "web-7f9-4.b", "Pod", "default", "web-7f9-4", "pod-uid-4",
             "Pulled", 1, EventSeverity::kNormal);
    AddEvent(b, start + 650 * kSec, "gone.c", "Pod", "default", "gone", "gone-uid", "Killing", 2,
             EventSeverity::kNormal);
  }

  // Where a sealed segment of blocks of five records would put each summary's first record.
  static std::vector<ShardIndexBuilder::SealedPosition> Positions(const ShardIndexBuilder& b) {
    std::vector<ShardIndexBuilder::SealedPosition> pos;
    uint64_t ordinal = 0;
    for (const auto& [k, s] : b.summaries()) {
      pos.push_back({4096 + 100 * (ordinal / 5), uint32_t(ordinal % 5), ordinal});
      ordinal += s.record_count;
    }
    return pos;
  }

  std::filesystem::path dir_;
  std::deque<std::string> strings_;
};

// Every field of every summary comes back through the reader's views.
TEST_F(IndexWriterTest, EveryFieldOfEverySummaryReadsBack) {
  ShardIndexBuilder b(kStart, kStart + kHour);
  Fill(b, kStart);
  const auto positions = Positions(b);
  const auto path = dir_ / "0000000001.idx";
  ASSERT_TRUE(b.WriteIndexFile(path, 1, 123456, positions));
  auto opened = IndexReader::Open(path);
  ASSERT_TRUE(opened) << opened.error().message;
  const IndexReader& idx = **opened;

  const IndexHeader& h = idx.header();
  EXPECT_EQ(h.format_version, index_format::kFormatVersion);
  EXPECT_EQ(h.shard_id, 1u);
  EXPECT_EQ(h.window_start_ns, kStart);
  EXPECT_EQ(h.window_end_ns, kStart + kHour);
  EXPECT_EQ(h.min_ns, b.min_ns());
  EXPECT_EQ(h.max_ns, b.max_ns());
  EXPECT_EQ(h.segment_bytes, 123456u);
  EXPECT_EQ(h.record_count, b.record_count());
  EXPECT_EQ(idx.entries_per_block(), index_format::kEntriesPerBlock);
  ASSERT_EQ(idx.size(), b.summaries().size());
  EXPECT_GT(idx.block_count(), 2u);

  std::vector<std::string_view> kinds = idx.kinds(), namespaces = idx.namespaces();
  EXPECT_EQ(kinds, (std::vector<std::string_view>{"Deployment", "Event", "Node", "Pod"}));
  EXPECT_EQ(namespaces, (std::vector<std::string_view>{"default", "shop"}));

  uint32_t i = 0, heat_cells = 0, owned = 0;
  for (const auto& [key, s] : b.summaries()) {
    SCOPED_TRACE(ResourceKey(key).ToString());
    const IndexEntry e = idx.entry(i);
    EXPECT_EQ(ResourceKey(e.key()), ResourceKey(key));
    EXPECT_EQ(ResourceKey(idx.key(i)), ResourceKey(key));
    EXPECT_EQ(idx.FindExact(key), i);
    EXPECT_EQ(e.api_group(), s.api_group);
    EXPECT_EQ(e.api_version(), s.api_version);
    EXPECT_EQ(e.creation_ns(), s.creation_ns);
    EXPECT_EQ(e.first_ns(), s.first_ns);
    EXPECT_EQ(e.last_ns(), s.last_ns);
    EXPECT_EQ(e.change_count(), s.change_count);
    EXPECT_EQ(e.nochange_count(), s.nochange_count);
    EXPECT_EQ(e.record_count(), s.record_count);
    EXPECT_EQ(e.flags(), s.flags);
    EXPECT_TRUE(std::ranges::equal(e.change_secs(), s.change_secs));
    EXPECT_TRUE(std::ranges::equal(e.nochange_secs(), s.nochange_secs));
    ASSERT_EQ(e.heat_size(), s.heat.size());
    for (uint32_t k = 0; k < e.heat_size(); ++k) {
      const IndexHeatCell c = e.heat(k);
      EXPECT_EQ(c.minute, s.heat[k].minute);
      EXPECT_EQ(c.count, s.heat[k].count);
      EXPECT_EQ(c.severity, s.heat[k].severity);
      EXPECT_EQ(idx.reason(c.reason), b.reasons()[s.heat[k].reason]);
      ++heat_cells;
    }
    ASSERT_EQ(e.owner_count(), s.owners ? s.owners->size() : 0);
    for (uint32_t k = 0; k < e.owner_count(); ++k) {
      const IndexOwner o = e.owner(k);
      const OwnerRefData& want = (*s.owners)[k];
      EXPECT_EQ(o.kind, want.kind);
      EXPECT_EQ(o.name, want.name);
      EXPECT_EQ(o.uid, want.uid);
      EXPECT_EQ(o.controller, want.controller);
      ++owned;
    }
    // Only an entry with records has a place in the segment.
    EXPECT_EQ(e.first_block(), s.record_count ? positions[i].first_block : 0);
    EXPECT_EQ(e.first_record(), s.record_count ? positions[i].first_record : 0);
    EXPECT_EQ(e.last_resource_version(), s.last_resource_version);
    EXPECT_EQ(e.event_count(), s.event ? s.event->count : 0);
    EXPECT_EQ(e.event_last_ns(), s.event_last_ns());
    if (const ResourceKeyView* inv = s.involved()) {
      EXPECT_EQ(e.involved_kind(), inv->kind);
      const uint32_t target = idx.FindExact(*inv);
      if (target < idx.size()) {
        // About an entry of the shard: named by that entry's list, not spelled out.
        EXPECT_EQ(e.involved_name(), "");
        std::span<const uint32_t> about = idx.EventsAbout(target);
        EXPECT_NE(std::find(about.begin(), about.end(), i), about.end());
        EXPECT_TRUE(std::is_sorted(about.begin(), about.end()));
      } else {
        EXPECT_EQ(e.involved_namespace(), inv->namespace_);
        EXPECT_EQ(e.involved_name(), inv->name);
        EXPECT_EQ(e.involved_uid(), inv->uid);
      }
    } else {
      EXPECT_EQ(e.involved_kind(), "");
    }
    ++i;
  }
  EXPECT_GT(heat_cells, 0u);
  EXPECT_EQ(owned, 300u);  // every Pod, one owner each
  // Two Events about one Pod are linked; so is the one about a Pod with no record here (the
  // builder gave that Pod an Event-only entry).
  std::vector<std::pair<uint32_t, uint32_t>> links;
  idx.ForEachEventLink([&](uint32_t event, uint32_t involved) {
    links.emplace_back(event, involved);
    EXPECT_EQ(idx.key(event).kind, "Event");
  });
  EXPECT_EQ(links.size(), 3u);
  uint32_t names = 0;
  EXPECT_TRUE(idx.ForEachRecordedName([&](uint32_t entry, std::string_view name) {
    EXPECT_EQ(idx.key(entry).name, name);
    EXPECT_GT(idx.entry(entry).record_count(), 0u);
    ++names;
    return true;
  }));
  EXPECT_EQ(names, 300u + 1 + 3);  // Pods, the Deployment, Nodes; not the Events
}

// A carried-over entry with no record of its own leaves its times out (they are the shard's);
// one carried by reference from the index before is written as one carried eagerly.
TEST_F(IndexWriterTest, CarriedEntriesAreWrittenTheSameByReferenceOrCopied) {
  ShardIndexBuilder a(kStart, kStart + kHour);
  Fill(a, kStart);
  ASSERT_TRUE(a.WriteIndexFile(dir_ / "a.idx", 1, 7, Positions(a)));
  auto ia = IndexReader::Open(dir_ / "a.idx");
  ASSERT_TRUE(ia) << ia.error().message;

  ShardIndexBuilder by_ref(kStart + kHour, kStart + 2 * kHour);
  by_ref.CarryFromIndex(*ia);
  ShardIndexBuilder eager(kStart + kHour, kStart + 2 * kHour);
  eager.CarryOver(**ia);
  for (ShardIndexBuilder* b : {&by_ref, &eager}) {
    Add(*b, kStart + kHour + kSec, WatchType::kModified, "Pod", "default", "web-7f9-10",
        "pod-uid-10", "77777");
  }
  ASSERT_TRUE(by_ref.WriteIndexFile(dir_ / "r.idx", 2, 7, Positions(by_ref)));
  // by_ref holds only what changed; the eager one holds every carried entry.
  std::vector<ShardIndexBuilder::SealedPosition> eager_pos(eager.summaries().size());
  uint32_t n = 0;
  for (const auto& [k, s] : eager.summaries()) {
    eager_pos[n++] = s.record_count ? Positions(by_ref)[0] : ShardIndexBuilder::SealedPosition{};
  }
  ASSERT_TRUE(eager.WriteIndexFile(dir_ / "e.idx", 2, 7, eager_pos));
  auto r = IndexReader::Open(dir_ / "r.idx");
  auto e = IndexReader::Open(dir_ / "e.idx");
  ASSERT_TRUE(r && e);
  ASSERT_EQ((*r)->size(), (*e)->size());
  uint32_t carried = 0;
  for (uint32_t i = 0; i < (*r)->size(); ++i) {
    const IndexEntry x = (*r)->entry(i), y = (*e)->entry(i);
    ASSERT_EQ(ResourceKey(x.key()), ResourceKey(y.key()));
    EXPECT_EQ(x.api_group(), y.api_group());
    EXPECT_EQ(x.flags(), y.flags());
    EXPECT_EQ(x.owner_count(), y.owner_count());
    EXPECT_EQ(x.last_resource_version(), y.last_resource_version());
    if ((x.flags() & kCarriedOver) && x.record_count() == 0) {
      EXPECT_EQ(x.first_ns(), 0);  // implied: the shard's start
      EXPECT_EQ(x.last_ns(), 0);
      ++carried;
    }
  }
  EXPECT_GT(carried, 290u);
  EXPECT_EQ((*r)->entry((*r)->FindExact({"Deployment", "default", "web", "dep-1"})).api_group(),
            "apps");
}

// The API strings of carried summaries are the builder's own: the builder (or index) they were
// carried from may go away.
TEST_F(IndexWriterTest, CarriedApiStringsOutliveTheirSource) {
  auto b = std::make_unique<ShardIndexBuilder>(kStart + kHour, kStart + 2 * kHour);
  {
    ShardIndexBuilder a(kStart, kStart + kHour);
    Fill(a, kStart);
    b->CarryOver(a);
  }
  {
    ShardIndexBuilder a(kStart, kStart + kHour);
    Fill(a, kStart);
    ASSERT_TRUE(a.WriteIndexFile(dir_ / "a.idx", 1, 7, Positions(a)));
    auto ia = IndexReader::Open(dir_ / "a.idx");
    ASSERT_TRUE(ia);
    ShardIndexBuilder c(kStart + kHour, kStart + 2 * kHour);
    c.CarryFromIndex(*ia);
    ia->reset();
    c.MaterializeCarryOver();  // copies in, then drops the index
    auto it = c.summaries().find(ResourceKeyView{"Deployment", "default", "web", "dep-1"});
    ASSERT_NE(it, c.summaries().end());
    EXPECT_EQ(it->second.api_group, "apps");
    EXPECT_EQ(it->second.api_version, "v1");
  }
  auto it = b->summaries().find(ResourceKeyView{"Deployment", "default", "web", "dep-1"});
  ASSERT_NE(it, b->summaries().end());
  EXPECT_EQ(it->second.api_group, "apps");
  EXPECT_EQ(it->second.api_version, "v1");
}

// The writer refuses a second pass that does not match the first.
TEST_F(IndexWriterTest, PassesOfDifferentLengthsAreRefused) {
  ShardIndexBuilder b(kStart, kStart + kHour);
  Fill(b, kStart);
  IndexWriter w(dir_ / "x.idx", kStart);
  for (const auto& [k, s] : b.summaries()) w.Plan(k, s);
  uint32_t n = 0;
  for (const auto& [k, s] : b.summaries()) {
    if (++n == 10) break;
    ASSERT_TRUE(w.Add(k, s, {}));
  }
  auto r = w.Finish({}, b.reasons());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("changed while being written"), std::string::npos);
  EXPECT_NE(r.error().message.find("x.idx"), std::string::npos);
}

}  // namespace
}  // namespace sloop
