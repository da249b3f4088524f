// Indexes rewritten against the index of the next shard (WriteRebasedIndex): every answer the
// reader gives stays the same, through chains of bases too; a base that is missing or is not the
// file it was written against is refused; the file is smaller.
#include "index/index_rebase.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <deque>
#include <filesystem>
#include <fstream>
#include <iterator>
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

// Whether an entry of a whole index has its times in the segment once rewritten against a base:
// an Event's with records there.
bool TimesGoToSegment(const IndexEntry& e) {
  return e.key().kind == "Event" && e.record_count() > 0 && e.first_record_ordinal().has_value();
}

// Every answer of an index, one entry a line: what a rewrite must keep. An entry whose times are
// in the segment says so instead of its times and ticks; events_in_segment: so does an entry
// that will have them there once rewritten (TimesGoToSegment), for comparing with such a file.
std::string Dump(const IndexReader& idx, bool events_in_segment = false) {
  std::string out;
  const IndexHeader& h = idx.header();
  out += std::to_string(h.shard_id) + " " + std::to_string(h.window_start_ns) + " " +
         std::to_string(h.min_ns) + " " + std::to_string(h.max_ns) + " " +
         std::to_string(h.record_count) + " " + std::to_string(h.segment_bytes) + "\n";
  for (std::string_view k : idx.kinds()) out += std::string(k) + ",";
  for (std::string_view n : idx.namespaces()) out += std::string(n) + ",";
  out += "\n";
  for (uint32_t i = 0; i < idx.size(); ++i) {
    const IndexEntry e = idx.entry(i);
    const bool in_segment = e.times_in_segment() || (events_in_segment && TimesGoToSegment(e));
    out += ResourceKey(e.key()).ToString() + " " + std::string(e.api_group()) + "/" +
           std::string(e.api_version()) + " c" + std::to_string(e.creation_ns()) + " " +
           (in_segment ? std::string("seg")
                       : std::to_string(e.first_ns()) + "-" + std::to_string(e.last_ns())) +
           " n" +
           std::to_string(e.change_count()) + "/" + std::to_string(e.nochange_count()) + "/" +
           std::to_string(e.record_count()) + " f" + std::to_string(e.flags()) + " @" +
           std::to_string(e.first_block()) + ":" + std::to_string(e.first_record()) + " rv" +
           std::string(e.last_resource_version()) + " t";
    if (!in_segment) {
      for (uint32_t t : e.change_secs()) out += std::to_string(t) + ",";
      out += " u";
      for (uint32_t t : e.nochange_secs()) out += std::to_string(t) + ",";
    }
    out += " h";
    for (uint32_t k = 0; k < e.heat_size(); ++k) {
      const IndexHeatCell c = e.heat(k);
      out += std::to_string(c.minute) + ":" + std::to_string(c.count) + ":" +
             std::string(idx.reason(c.reason)) + ":" + std::to_string(c.severity) + ",";
    }
    out += " o";
    for (uint32_t k = 0; k < e.owner_count(); ++k) {
      const IndexOwner o = e.owner(k);
      out += std::string(o.kind) + ":" + std::string(o.name) + ":" + std::string(o.uid) + ":" +
             (o.controller ? "1" : "0") + ",";
    }
    out += " e" + std::string(e.involved_kind()) + "/" + std::string(e.involved_namespace()) + "/" +
           std::string(e.involved_name()) + "/" + std::string(e.involved_uid()) + ":" +
           std::to_string(e.event_count()) + "@" + std::to_string(e.event_last_ns()) + " a";
    for (uint32_t a : e.events_about()) out += std::to_string(a) + ",";
    out += " x" + std::to_string(idx.FindExact(e.key())) + " " +
           std::to_string(idx.Find(e.key().kind, e.key().namespace_, e.key().name).first) + "\n";
  }
  idx.ForEachRecordedName([&](uint32_t i, std::string_view name) {
    out += std::to_string(i) + "=" + std::string(name) + ",";
    return true;
  });
  return out;
}

// "" when equal, else the first line that differs.
std::string FirstDifference(const std::string& got, const std::string& want) {
  if (got == want) return "";
  size_t at = 0;
  while (at < got.size() && at < want.size() && got[at] == want[at]) ++at;
  const size_t line = want.rfind('\n', at == 0 ? 0 : at - 1);
  const size_t from = line == std::string::npos ? 0 : line + 1;
  return "want: " + want.substr(from, want.find('\n', at) - from) +
         "\ngot:  " + got.substr(from, got.find('\n', at) - from);
}

class IndexRebaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("index_rebase_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string_view Keep(std::string s) { return strings_.emplace_back(std::move(s)); }

  void Pod(ShardIndexBuilder& b, int64_t t, WatchType type, int i, int rv) {
    RecordView r;
    r.observed_ns = t;
    r.watch_type = type;
    r.api_version = "v1";
    r.kind = "Pod";
    r.namespace_ = i % 3 ? "shop" : "web";
    r.name = Keep("web-" + std::to_string(i / 10) + "-p" + std::to_string(i));
    r.uid = Keep("6f1c2b9e-3a47-4c0e-9d4b-" + std::string(12 - std::to_string(i).size(), '0') +
                 std::to_string(i));
    r.resource_version = Keep(std::to_string(rv));
    r.payload = Keep(R"({"metadata":{"creationTimestamp":"2026-09-21T10:00:00Z",)"
                     R"("ownerReferences":[{"kind":"ReplicaSet","name":"rs-)" +
                     std::to_string(i / 10) + R"(","uid":"rs-uid)" + std::to_string(i / 10) +
                     R"(","controller":true}]}})");
    b.Add(r, 0);
  }

  void Event(ShardIndexBuilder& b, int64_t t, WatchType type, int i, int n, int count,
             bool about_ghost = false) {
    RecordView r;
    r.observed_ns = t;
    r.watch_type = type;
    r.api_version = "v1";
    r.kind = "Event";
    r.namespace_ = i % 3 ? "shop" : "web";
    const std::string pod =
        about_ghost ? "ghost" : "web-" + std::to_string(i / 10) + "-p" + std::to_string(i);
    r.name = Keep(pod + "." + std::to_string(n));
    r.uid = Keep("e-" + std::to_string(i) + "-" + std::to_string(n));
    r.resource_version = Keep(std::to_string(t / kSec));
    r.payload = "{}";
    EventInfoView ev;
    ev.involved_kind = "Pod";
    ev.involved_namespace = r.namespace_;
    ev.involved_name = Keep(pod);
    ev.involved_uid =
        about_ghost ? "ghost-uid"
                    : Keep("6f1c2b9e-3a47-4c0e-9d4b-" +
                           std::string(12 - std::to_string(i).size(), '0') + std::to_string(i));
    ev.reason = count > 2 ? "BackOff" : "Pulled";
    ev.severity = count > 2 ? EventSeverity::kWarning : EventSeverity::kNormal;
    ev.count = count;
    ev.first_timestamp_ns = t - 60 * kSec;
    ev.last_timestamp_ns = t;
    r.event = ev;
    b.Add(r, 0);
  }

  // Hour h of a cluster of `pods` Pods: created in hour 0, some changed, resynced or deleted
  // each hour after, Events created one hour and updated or deleted the next, one about a Pod
  // never seen.
  void Hour(ShardIndexBuilder& b, int h, int pods) {
    const int64_t t0 = kStart + h * kHour;
    for (int i = 0; i < pods; ++i) {
      const int64_t t = t0 + (i * 7 % 3000) * kSec + i;
      if (h == 0) Pod(b, t, WatchType::kAdded, i, 1000 + i);
      if (h > 0 && i % 13 == h) Pod(b, t, WatchType::kModified, i, 5000 + i * 10 + h);
      if (h > 0 && i % 29 == h) Pod(b, t, WatchType::kRelisted, i, 1000 + i);
      if (h > 0 && i % 97 == h) Pod(b, t + kSec, WatchType::kDeleted, i, 9000 + i);
      if (i % 5 == h % 5) Event(b, t + 2 * kSec, WatchType::kAdded, i, h, 1);
      if (h > 0 && i % 5 == (h - 1) % 5) {
        if (i % 2) {
          Event(b, t + 3 * kSec, WatchType::kModified, i, h - 1, 4);
        } else {
          Event(b, t + 3 * kSec, WatchType::kDeleted, i, h - 1, 1);
        }
      }
    }
    Event(b, t0 + 100 * kSec, WatchType::kAdded, 1, 100 + h, 2, /*about_ghost=*/true);
  }

  // Writes b's index as a sealed segment of blocks of six records would place them.
  std::filesystem::path Write(const ShardIndexBuilder& b, uint64_t id) {
    std::vector<ShardIndexBuilder::SealedPosition> pos;
    uint64_t ordinal = 0;
    for (const auto& [k, s] : b.summaries()) {
      pos.push_back(s.record_count
                        ? ShardIndexBuilder::SealedPosition{4096 + ordinal / 6 * 500,
                                                            uint32_t(ordinal % 6), ordinal}
                        : ShardIndexBuilder::SealedPosition{});
      ordinal += s.record_count;
    }
    auto path = dir_ / (std::to_string(id) + ".idx");
    auto w = b.WriteIndexFile(path, id, 99999, pos);
    EXPECT_TRUE(w) << (w ? "" : w.error().message);
    return path;
  }

  // Three consecutive shards' indexes, each carrying over from the one before.
  std::vector<std::filesystem::path> ThreeHours(int pods = 400) {
    std::vector<std::filesystem::path> paths;
    std::unique_ptr<ShardIndexBuilder> previous;
    for (int h = 0; h < 3; ++h) {
      auto b = std::make_unique<ShardIndexBuilder>(kStart + h * kHour, kStart + (h + 1) * kHour);
      if (previous) b->CarryOver(*previous);
      Hour(*b, h, pods);
      paths.push_back(Write(*b, h + 1));
      previous = std::move(b);
    }
    return paths;
  }

  // The first two of ThreeHours' indexes rewritten as a chain: 1.rebased.idx reads through
  // 2.rebased.idx, which reads through the third.
  bool WriteChain(const std::vector<std::filesystem::path>& paths) {
    auto a = Open(paths[0]), b = Open(paths[1]), c = Open(paths[2]);
    return a && b && c && WriteRebasedIndex(*b, *c, dir_ / "2.rebased.idx") &&
           WriteRebasedIndex(*a, *b, dir_ / "1.rebased.idx");
  }

  static std::shared_ptr<const IndexReader> Open(const std::filesystem::path& path,
                                                 std::shared_ptr<const IndexReader> base = {}) {
    auto opened = IndexReader::Open(path, true, {}, [&](uint64_t) { return base; });
    EXPECT_TRUE(opened) << opened.error().message;
    return opened ? *opened : nullptr;
  }

  std::filesystem::path dir_;
  std::deque<std::string> strings_;
};

TEST_F(IndexRebaseTest, ARebasedIndexAnswersAsBeforeAndIsSmaller) {
  auto paths = ThreeHours(3000);
  // The second hour against the third: most of its Pods carried over unchanged.
  auto a = Open(paths[1]), b = Open(paths[2]);
  ASSERT_TRUE(a && b);
  const std::string want = Dump(*a, true);
  const auto rebased = dir_ / "2.rebased.idx";
  ASSERT_TRUE(WriteRebasedIndex(*a, *b, rebased));
  auto r = Open(rebased, b);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header().base_shard_id, 3u);
  EXPECT_EQ(r->header().index_id, a->header().index_id);
  EXPECT_EQ(FirstDifference(Dump(*r), want), "");
  // Its Events' times and ticks are their records' (the store reads them there): left out, and
  // the file says it may leave times out (version 4; the whole one is 3).
  EXPECT_EQ(a->format_version(), index_format::kFormatVersion);
  EXPECT_EQ(r->format_version(), index_format::kFormatVersionFour);
  uint32_t in_segment = 0, events_with_records = 0;
  for (uint32_t i = 0; i < r->size(); ++i) {
    in_segment += r->entry(i).times_in_segment();
    events_with_records += TimesGoToSegment(a->entry(i));
    if (r->entry(i).times_in_segment()) {
      EXPECT_EQ(r->entry(i).first_ns(), 0);
      EXPECT_TRUE(r->entry(i).change_secs().empty());
    }
  }
  EXPECT_GT(in_segment, 100u);
  EXPECT_EQ(in_segment, events_with_records);
  // (These keys are sequential and compress well on their own: real uids and names do not.)
  EXPECT_LT(r->file_bytes(), a->file_bytes());
  // Through a reader of its own (as queries read), scanning and freeing blocks as it goes.
  auto q = r->Reader();
  size_t most = 0;
  const uint32_t per = q->entries_per_block();
  for (uint32_t i = 0; i < q->size(); ++i) {
    if (i > 0 && i % per == 0) q->DropBlocks(i - per, i);
    EXPECT_EQ(q->key(i), a->key(i));
    most = std::max(most, q->cached_bytes());
  }
  auto whole = a->Reader();
  for (uint32_t i = 0; i < whole->size(); ++i) (void)whole->key(i);
  EXPECT_LT(most, whole->cached_bytes() / 4) << "the base's blocks are freed with the scan's";
}

TEST_F(IndexRebaseTest, ChainsOfBasesAnswerAsBefore) {
  auto paths = ThreeHours();
  auto a = Open(paths[0]), b = Open(paths[1]), c = Open(paths[2]);
  ASSERT_TRUE(a && b && c);
  const std::string want_a = Dump(*a, true), want_b = Dump(*b, true);
  // b against c, then a against b (b keeps its identity, so either of its files serves a).
  ASSERT_TRUE(WriteRebasedIndex(*b, *c, dir_ / "2.rebased.idx"));
  ASSERT_TRUE(WriteRebasedIndex(*a, *b, dir_ / "1.rebased.idx"));
  auto b2 = Open(dir_ / "2.rebased.idx", c);
  ASSERT_TRUE(b2);
  EXPECT_EQ(FirstDifference(Dump(*b2), want_b), "");
  auto a2 = Open(dir_ / "1.rebased.idx", b2);
  ASSERT_TRUE(a2);
  EXPECT_EQ(FirstDifference(Dump(*a2), want_a), "");
  EXPECT_EQ(FirstDifference(Dump(*a2->Reader()), want_a), "");
  // An index with a base is not rewritten again.
  auto again = WriteRebasedIndex(*a2, *b2, dir_ / "x.idx");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kInvalidArgument);
}

// Opening an index checks every block's key, which reads the keys of its refs in the base (and
// its base's base): those base blocks are freed when the file is open. The base is the next
// shard's long-lived reader, which nothing else frees: before, each kept about one decoded block
// in three of its index for as long as the store was open (25 MB on the medium workload).
TEST_F(IndexRebaseTest, OpeningThroughBasesLeavesNoBlockDecoded) {
  auto paths = ThreeHours(3000);
  ASSERT_TRUE(WriteChain(paths));
  auto c2 = Open(paths[2]);
  ASSERT_TRUE(c2);
  EXPECT_EQ(c2->cached_bytes(), 0u);
  auto b2 = Open(dir_ / "2.rebased.idx", c2);
  ASSERT_TRUE(b2);
  EXPECT_EQ(c2->cached_bytes(), 0u);
  uint32_t keys_read = 0;
  auto a2 = IndexReader::Open(
      dir_ / "1.rebased.idx", true,
      [&](const IndexReader& index, uint32_t first, uint32_t last) {
        for (uint32_t e = first; e < last; ++e) keys_read += !index.key(e).name.empty();
      },
      [&](uint64_t) { return b2; });
  ASSERT_TRUE(a2) << a2.error().message;
  EXPECT_EQ(keys_read, (*a2)->size()) << "every key was read, through both bases";
  EXPECT_EQ((*a2)->cached_bytes(), 0u);
  EXPECT_EQ(b2->cached_bytes(), 0u);
  EXPECT_EQ(c2->cached_bytes(), 0u);
}

// A history looks up a resource with records in each shard: such an entry holds its own key
// (an Event's may not), and the lookup finds it without reading a key in the bases.
TEST_F(IndexRebaseTest, LookupsOfEntriesWithRecordsReadNoBase) {
  auto paths = ThreeHours(3000);
  ASSERT_TRUE(WriteChain(paths));
  auto a = Open(paths[0]), b = Open(paths[1]), c = Open(paths[2]);
  ASSERT_TRUE(a && b && c);
  auto b2 = Open(dir_ / "2.rebased.idx", c);
  auto a2 = Open(dir_ / "1.rebased.idx", b2);
  ASSERT_TRUE(a2 && b2);
  for (const auto& [whole, rebased] : {std::pair{a, a2}, std::pair{b, b2}}) {
    auto q = rebased->Reader();
    uint32_t own = 0, in_base = 0, records_in_base = 0;
    for (uint32_t i = 0; i < q->size(); ++i) {
      const IndexEntry e = q->entry(i);
      if (e.key_in_base()) {
        ++in_base;
        records_in_base += e.record_count() > 0 && e.key().kind != "Event";
        continue;
      }
      ++own;
    }
    EXPECT_EQ(records_in_base, 0u) << "every entry with records but an Event's holds its key";
    ASSERT_GT(in_base, 500u);
    ASSERT_GT(own, 1000u);
    // Each entry holding its own key, by key and by name, through a reader whose blocks of the
    // base stay untouched.
    q = rebased->Reader();
    uint32_t found = 0;
    for (uint32_t i = 0; i < whole->size(); ++i) {
      const IndexEntry w = whole->entry(i);
      if (w.record_count() == 0 || w.key().kind == "Event") continue;
      const ResourceKeyView k = w.key();
      ASSERT_EQ(q->FindExactOwnKey(k), i) << k.kind << " " << k.namespace_ << " " << k.name;
      auto [first, last] = q->FindOwnKeys(k.kind, k.namespace_, k.name);
      auto [wfirst, wlast] = whole->Find(k.kind, k.namespace_, k.name);
      std::vector<uint32_t> got, want;
      for (uint32_t j = first; j < last; ++j) {
        if (!q->entry(j).key_in_base()) got.push_back(j);
      }
      for (uint32_t j = wfirst; j < wlast; ++j) {
        if (!q->entry(j).key_in_base()) want.push_back(j);
      }
      ASSERT_EQ(got, want) << k.name;
      ++found;
    }
    EXPECT_GT(found, 300u);
    EXPECT_EQ(q->base()->cached_bytes(), 0u) << "no key was read in the base";
    // Keys that are not there, before, between and after every entry.
    for (const std::string ns : {"a", "shop", "web", "zz"}) {
      for (const std::string name : {"a", "web-1-p1x", "web-150-p1505x", "web-9", "zzzz"}) {
        EXPECT_EQ(q->FindExactOwnKey({"Pod", ns, name, "uid"}), q->size());
        auto [first, last] = q->FindOwnKeys("Pod", ns, name);
        for (uint32_t j = first; j < last; ++j) {
          EXPECT_TRUE(q->entry(j).key_in_base()) << ns << " " << name << " " << q->key(j).name;
        }
      }
    }
    EXPECT_EQ(q->FindExactOwnKey({"Zzz", "", "x", ""}), q->size());
    EXPECT_EQ(q->FindExactOwnKey({"", "", "", ""}), q->size());
  }
}

TEST_F(IndexRebaseTest, AnIndexReadThroughBasesIsWrittenWholeAgain) {
  auto paths = ThreeHours();
  auto a = Open(paths[0]), b = Open(paths[1]), c = Open(paths[2]);
  ASSERT_TRUE(a && b && c);
  const std::string want = Dump(*a, true);
  ASSERT_TRUE(WriteRebasedIndex(*b, *c, dir_ / "2.rebased.idx"));
  ASSERT_TRUE(WriteRebasedIndex(*a, *b, dir_ / "1.rebased.idx"));
  auto b2 = Open(dir_ / "2.rebased.idx", c);
  auto a2 = Open(dir_ / "1.rebased.idx", b2);
  ASSERT_TRUE(a2);
  // What the object-store tier uploads: read alone, it answers as the index first written.
  ASSERT_TRUE(WriteWholeIndex(*a2, dir_ / "1.whole.idx"));
  auto w = Open(dir_ / "1.whole.idx");
  ASSERT_TRUE(w);
  EXPECT_EQ(w->header().base_shard_id, 0u);
  EXPECT_EQ(w->header().index_id, a->header().index_id);
  EXPECT_EQ(FirstDifference(Dump(*w), want), "");
  // Its Events' times stay in the segment, which is uploaded with it.
  EXPECT_EQ(w->format_version(), index_format::kFormatVersionFour);
  // A whole one stays as it was.
  ASSERT_TRUE(WriteWholeIndex(*a, dir_ / "1.again.idx"));
  auto again = Open(dir_ / "1.again.idx");
  ASSERT_TRUE(again);
  EXPECT_EQ(FirstDifference(Dump(*again), Dump(*a)), "");
  EXPECT_EQ(again->format_version(), index_format::kFormatVersion);
}

TEST_F(IndexRebaseTest, AMissingOrForeignBaseIsRefused) {
  auto paths = ThreeHours();
  auto a = Open(paths[0]), b = Open(paths[1]), c = Open(paths[2]);
  ASSERT_TRUE(a && b && c);
  ASSERT_TRUE(WriteRebasedIndex(*a, *b, dir_ / "1.rebased.idx"));
  EXPECT_EQ(*IndexReader::BaseShardOf(dir_ / "1.rebased.idx"), 2u);
  EXPECT_EQ(*IndexReader::BaseShardOf(paths[0]), 0u);
  auto none = IndexReader::Open(dir_ / "1.rebased.idx");
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, ErrorCode::kCorruption);
  EXPECT_NE(none.error().message.find("shard 2"), std::string::npos) << none.error().message;
  EXPECT_NE(none.error().message.find("missing"), std::string::npos) << none.error().message;
  // Shard 2's index written again (a rebuilt index) is another file: refused too.
  auto rebuilt = IndexReader::Open(dir_ / "1.rebased.idx", true, {},
                                   [&](uint64_t) { return std::shared_ptr<const IndexReader>(c); });
  ASSERT_FALSE(rebuilt);
  EXPECT_EQ(rebuilt.error().code, ErrorCode::kCorruption);
  EXPECT_NE(rebuilt.error().message.find("not the file it was written against"), std::string::npos)
      << rebuilt.error().message;
}

// As for a file of its own (IndexReaderTest.EveryFlippedByteIsRefusedOrHarmless): no byte of a
// rebased file changes an answer unnoticed.
TEST_F(IndexRebaseTest, EveryFlippedByteIsRefusedOrHarmless) {
  std::unique_ptr<ShardIndexBuilder> first(new ShardIndexBuilder(kStart, kStart + kHour));
  for (int i = 0; i < 60; ++i) Pod(*first, kStart + i * kSec, WatchType::kAdded, i, 100 + i);
  for (int i = 0; i < 60; i += 3) Event(*first, kStart + i * kSec, WatchType::kAdded, i, 0, 1);
  ShardIndexBuilder second(kStart + kHour, kStart + 2 * kHour);
  second.CarryOver(*first);
  for (int i = 0; i < 60; i += 7) {
    Pod(second, kStart + kHour + i * kSec, WatchType::kModified, i, 900 + i);
  }
  auto a = Open(Write(*first, 1)), b = Open(Write(second, 2));
  ASSERT_TRUE(a && b);
  const auto path = dir_ / "1.rebased.idx";
  ASSERT_TRUE(WriteRebasedIndex(*a, *b, path));
  const std::string want = Dump(*a, true);
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  const auto damaged = dir_ / "damaged.idx";
  size_t refused = 0;
  for (size_t at = 0; at < bytes.size(); ++at) {
    std::string copy = bytes;
    copy[at] = static_cast<char>(copy[at] ^ 0x04);
    std::ofstream(damaged, std::ios::binary | std::ios::trunc) << copy;
    auto opened = IndexReader::Open(damaged, true, {}, [&](uint64_t) { return b; });
    if (!opened) {
      ++refused;
      continue;
    }
    ASSERT_EQ(FirstDifference(Dump(**opened), want), "") << "byte " << at << " of " << bytes.size();
  }
  EXPECT_GT(refused, bytes.size() * 9 / 10);
}

}  // namespace
}  // namespace sloop
