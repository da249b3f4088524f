// Carry-over by reference: a new shard that reads the resources alive at its start in the shard
// before (its builder while it is sealed, then its sealed index), copying a resource in only when
// a record or an Event reaches it, answers and writes exactly what eager carry-over makes.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "engine/shard.h"
#include "index/index_reader.h"
#include "index/shard_index_builder.h"
#include "tests/engine/record_maker.h"

namespace sloop {
namespace {

using testing::RecordMaker;
namespace fs = std::filesystem;

constexpr int64_t kSec = 1000000000LL;
constexpr int64_t kMin = 60 * kSec;
constexpr int64_t kHour = 60 * kMin;
constexpr int64_t kT0 = 1795165200LL * kSec;  // 2026-11-20T09:00:00Z

class CarryOverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("sloop-carry-test-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // The first hour: Pods (one deleted), a Node, Events about a Pod and about the Node.
  std::vector<RecordView> HourOne() {
    return {
        mk_.Pod(kT0 + kMin, "shop", "web-1", "u-web-1", 10, WatchType::kAdded),
        mk_.Pod(kT0 + 2 * kMin, "shop", "web-2", "u-web-2", 11, WatchType::kAdded),
        mk_.Pod(kT0 + 3 * kMin, "shop", "gone", "u-gone", 12, WatchType::kAdded),
        mk_.Pod(kT0 + 4 * kMin, "shop", "gone", "u-gone", 13, WatchType::kDeleted),
        mk_.Pod(kT0 + 5 * kMin, "db", "pg-0", "u-pg-0", 14, WatchType::kAdded),
        mk_.Node(kT0 + 6 * kMin, "node-1", "u-node-1", 15, WatchType::kAdded),
        mk_.Event(kT0 + 7 * kMin, "shop", "web-1.a", "Pod", "web-1", "u-web-1", "BackOff", true, 3,
                  kT0 + 5 * kMin, 16, WatchType::kAdded),
        // Node Events name the node as its uid: found by kind/namespace/name.
        mk_.Event(kT0 + 8 * kMin, "default", "node-1.b", "Node", "node-1", "node-1", "NodeNotReady",
                  true, 1, kT0 + 8 * kMin, 17, WatchType::kAdded),
    };
  }
  // The second hour: an update, an unchanged relist, a repeated Event (only new occurrences
  // count), new Events about carried resources, a new Pod.
  std::vector<RecordView> HourTwo() {
    return {
        mk_.Pod(kT0 + kHour + kMin, "shop", "web-1", "u-web-1", 20),
        mk_.Pod(kT0 + kHour + 2 * kMin, "shop", "web-2", "u-web-2", 11, WatchType::kRelisted),
        mk_.Event(kT0 + kHour + 3 * kMin, "shop", "web-1.a", "Pod", "web-1", "u-web-1", "BackOff",
                  true, 5, kT0 + 5 * kMin, 21),
        mk_.Event(kT0 + kHour + 4 * kMin, "db", "pg-0.c", "Pod", "pg-0", "u-pg-0", "Killing", false,
                  1, kT0 + kHour + 4 * kMin, 22, WatchType::kAdded),
        mk_.Event(kT0 + kHour + 5 * kMin, "default", "node-1.d", "Node", "node-1", "node-1",
                  "NodeReady", false, 1, kT0 + kHour + 5 * kMin, 23, WatchType::kAdded),
        mk_.Pod(kT0 + kHour + 6 * kMin, "shop", "web-3", "u-web-3", 24, WatchType::kAdded),
    };
  }

  // Everything a summary holds, one line each, and the Events linked to it.
  static std::string Dump(const ShardIndexBuilder& b) {
    std::ostringstream out;
    for (const auto& [k, s] : b.summaries()) {
      out << k.ToString() << " api=" << s.api_group << "/" << s.api_version
          << " created=" << s.creation_ns << " first=" << s.first_ns << " last=" << s.last_ns
          << " counts=" << s.change_count << "/" << s.nochange_count << "/" << s.record_count
          << " flags=" << int(s.flags) << " owners=" << (s.owners ? s.owners->size() : 0)
          << " rv=" << s.last_resource_version << " change=";
      for (uint32_t t : s.change_secs) out << t << ",";
      out << " nochange=";
      for (uint32_t t : s.nochange_secs) out << t << ",";
      out << " heat=";
      for (const HeatCellData& h : s.heat) {
        out << h.minute << ":" << h.count << ":" << b.reasons()[h.reason] << ":" << int(h.severity)
            << ",";
      }
      if (const ResourceKeyView* inv = s.involved()) out << " about=" << inv->ToString();
      if (s.event) out << " event=" << s.event->count << "@" << s.event->last_ns;
      // The Events about it, as a set (their order follows arrival).
      std::vector<std::string> events;
      for (const ResourceKeyView* e : b.EventsAbout(k)) events.push_back(e->ToString());
      std::sort(events.begin(), events.end());
      out << " events=";
      for (const std::string& e : events) out << e << ",";
      out << "\n";
    }
    return out.str();
  }

  static void DumpSummary(std::ostream& out, const ResourceSummary& s) {
    out << " api=" << s.api_group << "/" << s.api_version << " created=" << s.creation_ns
        << " first=" << s.first_ns << " last=" << s.last_ns << " counts=" << s.change_count << "/"
        << s.nochange_count << "/" << s.record_count << " flags=" << int(s.flags)
        << " owners=" << (s.owners ? s.owners->size() : 0) << " rv=" << s.last_resource_version
        << " change=";
    for (uint32_t t : s.change_secs) out << t << ",";
    out << " nochange=";
    for (uint32_t t : s.nochange_secs) out << t << ",";
    out << " heat=" << s.heat.size();
    if (const ResourceKeyView* inv = s.involved()) out << " about=" << inv->ToString();
    if (s.event) out << " event=" << s.event->count << "@" << s.event->last_ns;
  }

  // Every summary, its own or carried by reference.
  static std::string DumpMerged(const ShardIndexBuilder& b) {
    std::ostringstream out;
    b.ForEachMerged({}, [&](const ResourceKeyView& k, const ResourceSummary& s, bool) {
      out << ResourceKey(k).ToString();
      DumpSummary(out, s);
      out << "\n";
      return true;
    });
    return out.str();
  }

  // A written index: every entry as read back, Event links by key.
  static std::string DumpIndex(const IndexReader& idx) {
    std::ostringstream out;
    for (uint32_t i = 0; i < idx.size(); ++i) {
      const IndexEntry e = idx.entry(i);
      out << ResourceKey(e.key()).ToString() << " " << e.api_group() << "/" << e.api_version()
          << " " << e.creation_ns() << " " << e.first_ns() << " " << e.last_ns() << " "
          << e.change_count() << "/" << e.nochange_count() << "/" << e.record_count() << " "
          << int(e.flags()) << " " << e.first_block() << ":" << e.first_record()
          << " rv=" << e.last_resource_version() << " owners=" << e.owner_count()
          << " change=" << e.change_secs().size() << " heat=" << e.heat_size()
          << " events=" << e.event_count() << "@" << e.event_last_ns()
          << " about=" << e.involved_name();
      for (uint32_t event : idx.EventsAbout(i)) {
        out << " <-" << ResourceKey(idx.key(event)).ToString();
      }
      out << "\n";
    }
    return out.str();
  }

  // Writes b's index with positions that follow the records in key order (segment blocks of
  // eight records: both sides of a comparison get the same ones), and opens it.
  std::optional<std::shared_ptr<IndexReader>> WriteAndOpen(const ShardIndexBuilder& b,
                                                           const std::string& name) {
    std::vector<ShardIndexBuilder::SealedPosition> pos;
    uint64_t ordinal = 0;
    for (const auto& [k, s] : b.summaries()) {
      if (s.record_count == 0) {
        pos.push_back({});
        continue;
      }
      pos.push_back({4096 + ordinal / 8 * 1000, uint32_t(ordinal % 8), ordinal});
      ordinal += s.record_count;
    }
    auto w = b.WriteIndexFile(dir_ / name, 1, 4096, pos);
    EXPECT_TRUE(w) << w.error().ToString();
    auto idx = IndexReader::Open(dir_ / name);
    EXPECT_TRUE(idx) << idx.error().ToString();
    if (!idx) return std::nullopt;
    return *idx;
  }

  static std::string Dump(const Shard& shard, const EntryFilter& filter) {
    std::ostringstream out;
    shard.ForEachEntry(filter, true, [&](const EntryView& v) {
      out << ResourceKey(v.key).ToString() << " " << v.first_ns << " " << v.last_ns << " "
          << v.creation_ns << " " << v.record_count << " " << int(v.flags) << " " << v.owners.size()
          << " " << v.heat.size() << " " << v.change_secs.size() << "\n";
      return true;
    });
    return out.str();
  }

  fs::path dir_;
  RecordMaker mk_;
};

TEST_F(CarryOverTest, ByReferenceEqualsEagerInMemoryAndOnDisk) {
  ShardIndexBuilder first(kT0, kT0 + kHour);
  for (const RecordView& r : HourOne()) first.Add(r, 0);
  auto sealed = WriteAndOpen(first, "1.idx");
  ASSERT_TRUE(sealed);

  const auto hour_two = HourTwo();
  ShardIndexBuilder eager(kT0 + kHour, kT0 + 2 * kHour);
  eager.CarryOver(first);
  for (const RecordView& r : hour_two) eager.Add(r, 0);
  const std::string want = Dump(eager);
  ASSERT_NE(want.find("Node/node-1 (u-node-1)"), std::string::npos) << want;
  ASSERT_NE(want.find("Event/default/node-1.d (uid-node-1.d) api=/v1"), std::string::npos);
  ASSERT_EQ(want.find("gone"), std::string::npos) << "deleted in the first hour: not carried";
  const std::string want_merged = DumpMerged(eager);

  // By reference to the builder before, then copied in.
  ShardIndexBuilder copied(kT0 + kHour, kT0 + 2 * kHour);
  copied.CarryByReference(&first);
  for (const RecordView& r : hour_two) copied.Add(r, 0);
  // It holds only what the records reached (web-2 is one of them; pg-0 through the Event about
  // it; the Node through the Event that names it by name only), and merges the rest in.
  EXPECT_EQ(copied.summaries().size(), 8u) << Dump(copied);
  EXPECT_EQ(DumpMerged(copied), want_merged);
  copied.MaterializeCarryOver();
  EXPECT_FALSE(copied.carries_by_reference());
  EXPECT_EQ(Dump(copied), want);

  // By reference to the builder, then to the sealed index, for good.
  ShardIndexBuilder layered(kT0 + kHour, kT0 + 2 * kHour);
  layered.CarryByReference(&first);
  for (size_t i = 0; i < hour_two.size(); ++i) {
    if (i == 3) layered.CarryFromIndex(*sealed);  // the shard before is sealed meanwhile
    layered.Add(hour_two[i], 0);
  }
  EXPECT_TRUE(layered.carries_by_reference());
  EXPECT_EQ(DumpMerged(layered), want_merged);
  // Its index file holds every carried entry, as the eager builder's does.
  auto eager_file = WriteAndOpen(eager, "2e.idx");
  auto layered_file = WriteAndOpen(layered, "2l.idx");
  ASSERT_TRUE(eager_file && layered_file);
  EXPECT_EQ(DumpIndex(**layered_file), DumpIndex(**eager_file));
  EXPECT_NE(DumpIndex(**layered_file).find("Pod/db/pg-0"), std::string::npos);
  EXPECT_NE(DumpIndex(**layered_file).find("Event/default/node-1.b"), std::string::npos)
      << "carried, with no record of its own";
  EXPECT_EQ(layered.summaries().size(), 8u);

  // The next shard reads the layered builder (its own summaries and the index under them).
  std::vector<RecordView> hour_three = {
      mk_.Pod(kT0 + 2 * kHour + kMin, "shop", "web-2", "u-web-2", 30),
      mk_.Event(kT0 + 2 * kHour + 2 * kMin, "shop", "web-1.a", "Pod", "web-1", "u-web-1", "BackOff",
                true, 6, kT0 + 5 * kMin, 31),
      mk_.Pod(kT0 + 2 * kHour + 3 * kMin, "shop", "web-3", "u-web-3", 32, WatchType::kDeleted),
  };
  ShardIndexBuilder eager3(kT0 + 2 * kHour, kT0 + 3 * kHour);
  eager3.CarryOver(eager);
  for (const RecordView& r : hour_three) eager3.Add(r, 0);
  ShardIndexBuilder next(kT0 + 2 * kHour, kT0 + 3 * kHour);
  next.CarryByReference(&layered);
  for (const RecordView& r : hour_three) next.Add(r, 0);
  EXPECT_EQ(DumpMerged(next), DumpMerged(eager3));
  auto layered2 = WriteAndOpen(layered, "2.idx");
  ASSERT_TRUE(layered2);
  next.CarryFromIndex(*layered2);
  EXPECT_EQ(DumpMerged(next), DumpMerged(eager3));
  EXPECT_EQ(DumpIndex(**WriteAndOpen(next, "3l.idx")), DumpIndex(**WriteAndOpen(eager3, "3e.idx")));
  next.MaterializeCarryOver();
  EXPECT_EQ(Dump(next), Dump(eager3));
}

TEST_F(CarryOverTest, DeferredShardAnswersLikeEagerBeforeAndAfter) {
  auto first = ActiveShard::Create(dir_, 1, kT0, kT0 + kHour, WriterOptions{});
  ASSERT_TRUE(first) << first.error().ToString();
  for (const RecordView& r : HourOne()) ASSERT_TRUE((*first)->Append(r));
  ASSERT_TRUE((*first)->Finish());

  auto eager = ActiveShard::Create(dir_, 2, kT0 + kHour, kT0 + 2 * kHour, WriterOptions{});
  auto deferred = ActiveShard::Create(dir_, 3, kT0 + kHour, kT0 + 2 * kHour, WriterOptions{});
  ASSERT_TRUE(eager && deferred);
  (*eager)->CarryOver(**first);
  (*deferred)->DeferCarryOver(*first);
  EXPECT_EQ((*deferred)->carry_source(), first->get());
  for (const RecordView& r : HourTwo()) {
    ASSERT_TRUE((*eager)->Append(r));
    ASSERT_TRUE((*deferred)->Append(r));
  }

  std::vector<EntryFilter> filters(6);
  filters[1].kind = "Pod";
  filters[2].kind = "Pod";
  filters[2].namespace_ = "shop";
  filters[3].name_contains = "WEB";
  filters[4].skip_carried = true;
  filters[5].skip_events = true;
  auto check = [&](const char* when) {
    for (size_t i = 0; i < filters.size(); ++i) {
      std::string want = Dump(**eager, filters[i]);
      EXPECT_FALSE(want.empty()) << when << " filter " << i;
      EXPECT_EQ(Dump(**deferred, filters[i]), want) << when << " filter " << i;
    }
    EXPECT_EQ((*deferred)->Kinds(), (*eager)->Kinds()) << when;
    EXPECT_EQ((*deferred)->Namespaces(), (*eager)->Namespaces()) << when;
  };
  check("while deferred");
  EXPECT_NE(Dump(**eager, {}).find("Pod/shop/web-2"), std::string::npos);
  EXPECT_NE(Dump(**eager, {}).find("Pod/db/pg-0"), std::string::npos);

  // Finishing the shard completes its carry-over from the shard before's builder.
  ASSERT_TRUE((*deferred)->Finish());
  EXPECT_EQ((*deferred)->carry_source(), nullptr);
  ASSERT_TRUE((*eager)->Finish());
  check("after finishing");
  EXPECT_EQ(Dump((*deferred)->builder()), Dump((*eager)->builder()));
}

}  // namespace
}  // namespace sloop
