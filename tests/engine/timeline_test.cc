// Store::Timeline (engine/timeline.cc): rows merged across shards, carried-over and deleted
// resources, change and no-change ticks, Event heat, cancellation.
#include <atomic>
#include <map>
#include <string>
#include <vector>

#include "engine/store.h"
#include "tests/engine/store_fixture.h"

namespace sloop {
namespace {

TEST_F(StoreTest, TimelineGivesUpWhenCancelled) {
  auto store = OpenStore();
  for (int i = 0; i < 10000; ++i) {
    std::string n = "p-" + std::to_string(i);
    ASSERT_TRUE(
        store->Append(mk_.Pod(kT0 + i * kSec / 10, "shop", n, "uid-" + n, i + 1)).has_value());
  }
  ASSERT_TRUE(store->SealActive().has_value());
  TimelineQuery q;
  q.range = {kT0 - kHour, kT0 + 2 * kHour};
  q.limit = 100000;
  std::atomic<bool> cancel{false};
  q.cancel = &cancel;
  auto whole = store->Timeline(q);
  ASSERT_TRUE(whole.has_value()) << whole.error().ToString();
  EXPECT_EQ(whole->rows.size(), 10000u);
  cancel = true;
  auto given_up = store->Timeline(q);
  ASSERT_FALSE(given_up.has_value());
  EXPECT_EQ(given_up.error().code, ErrorCode::kAborted);
}

// Thousands of resources over three shards, two of them sealed (long enough for the scan to
// decompress ahead and free blocks behind): resources created, deleted and carried over in each,
// new names falling between old ones, merged into one row each, in the order asked for.
TEST_F(StoreTest, TimelineMergesManyResourcesAcrossShards) {
  auto store = OpenStore();
  struct Want {
    int64_t start = 0, end = 0;
    bool deleted = false;
  };
  std::map<std::string, Want> want;
  int rv = 1;
  auto name = [](int i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "p-%05d", i);
    return std::string(buf);
  };
  auto add = [&](int64_t t, const std::string& n) {
    ASSERT_TRUE(
        store->Append(mk_.Pod(t, "shop", n, "uid-" + n, rv++, WatchType::kAdded)).has_value());
    want[n] = Want{t, 0, false};
  };
  for (int i = 0; i < 3000; ++i) add(kT0 + i * kSec, name(2 * i));  // shard 1: even names
  for (int i = 0; i < 3000; i += 3) {                               // shard 2: every third goes
    int64_t t = kT0 + kHour + i * kSec;
    std::string n = name(2 * i);
    ASSERT_TRUE(
        store->Append(mk_.Pod(t, "shop", n, "uid-" + n, rv++, WatchType::kDeleted)).has_value());
    want[n].end = t;
    want[n].deleted = true;
  }
  for (int i = 0; i < 1500; ++i) add(kT0 + kHour + 30 * kMin + i * kSec, name(2 * i + 1));
  for (int i = 0; i < 40; ++i) {  // shard 3 (active): before and after every name so far
    add(kT0 + 2 * kHour + i * kSec, "a-" + std::to_string(i));
    add(kT0 + 2 * kHour + i * kSec, "z-" + std::to_string(i));
  }
  // An Event about a resource unchanged since shard 1: its entry in shard 3 is carried over with
  // no record, but with heat.
  const int64_t warned_at = kT0 + 2 * kHour + 10 * kMin;
  ASSERT_TRUE(
      store
          ->Append(mk_.Event(warned_at, "shop", "p-00002.1", "Pod", "p-00002", "uid-p-00002",
                             "BackOff", true, 1, warned_at, rv++, WatchType::kAdded))
          .has_value());
  now_ = kT0 + 2 * kHour + 30 * kMin;
  for (auto& [n, w] : want) {
    if (!w.deleted) w.end = now_;
  }

  TimelineQuery q;
  q.range = {kT0, kT0 + 3 * kHour};
  q.limit = 100000;
  auto check = [&](const char* when) {
    SCOPED_TRACE(when);
    auto t = store->Timeline(q);
    ASSERT_TRUE(t.has_value());
    ASSERT_EQ(t->rows.size(), want.size());
    EXPECT_EQ(t->matched, want.size());
    EXPECT_FALSE(t->truncated);
    std::set<std::string> seen;
    for (size_t i = 0; i < t->rows.size(); ++i) {
      const TimelineRow& r = t->rows[i];
      std::string n(r.key.name);
      ASSERT_TRUE(want.count(n)) << n;
      EXPECT_TRUE(seen.insert(n).second) << n << " has two rows";
      EXPECT_EQ(r.start_ns, want[n].start) << n;
      EXPECT_EQ(r.end_ns, want[n].end) << n;
      EXPECT_EQ(r.deleted, want[n].deleted) << n;
      EXPECT_EQ(r.key.uid, "uid-" + n);
      EXPECT_EQ(r.api_version, "v1");
      EXPECT_EQ(r.events, n == "p-00002" ? 1u : 0u) << n;
      EXPECT_EQ(r.warnings, n == "p-00002" ? 1u : 0u) << n;
      if (i) {
        const TimelineRow& p = t->rows[i - 1];
        EXPECT_TRUE(std::tie(p.start_ns, p.key) < std::tie(r.start_ns, r.key))
            << p.key.name << " " << n;
      }
    }
  };
  check("shards 2 and 3 not sealed yet");
  ASSERT_TRUE(store->Maintain().has_value());
  check("every shard sealed");

  auto t = store->Timeline(q);
  q.sort = TimelineSort::kName;
  q.limit = 10;
  t = store->Timeline(q);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->matched, want.size());
  EXPECT_TRUE(t->truncated);
  ASSERT_EQ(t->rows.size(), 10u);
  auto it = want.begin();
  for (const TimelineRow& r : t->rows) EXPECT_EQ(r.key.name, (it++)->first);
}

TEST_F(StoreTest, TimelineCarriesUnchangedResourcesAcrossShardsAndEndsDeletedOnes) {
  auto store = OpenStore();
  ASSERT_TRUE(store->Append(mk_.Pod(kT0 + 5 * kMin, "shop", "steady", "u1", 10, WatchType::kAdded))
                  .has_value());
  ASSERT_TRUE(store->Append(mk_.Pod(kT0 + 6 * kMin, "shop", "doomed", "u2", 11, WatchType::kAdded))
                  .has_value());
  ASSERT_TRUE(
      store->Append(mk_.Pod(kT0 + 70 * kMin, "shop", "doomed", "u2", 12, WatchType::kDeleted))
          .has_value());
  ASSERT_TRUE(store->Append(mk_.Pod(kT0 + 190 * kMin, "web", "late", "u3", 13, WatchType::kAdded))
                  .has_value());
  now_ = kT0 + 200 * kMin;

  TimelineQuery q;
  q.range = {kT0 + 150 * kMin, kT0 + 200 * kMin};
  auto t = store->Timeline(q);
  ASSERT_TRUE(t.has_value());
  const TimelineRow* steady = FindRow(*t, "steady");
  ASSERT_NE(steady, nullptr) << "a resource that did not change for hours is still alive";
  EXPECT_EQ(steady->start_ns, q.range.start_ns);
  EXPECT_EQ(steady->end_ns, q.range.end_ns);
  EXPECT_EQ(FindRow(*t, "doomed"), nullptr);

  q.range = {kT0, kT0 + 200 * kMin};
  t = store->Timeline(q);
  const TimelineRow* doomed = FindRow(*t, "doomed");
  ASSERT_NE(doomed, nullptr);
  EXPECT_TRUE(doomed->deleted);
  EXPECT_EQ(doomed->start_ns, kT0 + 6 * kMin);
  EXPECT_EQ(doomed->end_ns, kT0 + 70 * kMin);
  ASSERT_EQ(doomed->changed_at.size(), 2u);
  EXPECT_EQ(doomed->changed_at[1], (kT0 + 70 * kMin) / kSec);

  // Filters: namespace, kind, name substring.
  q.namespace_ = "web";
  t = store->Timeline(q);
  ASSERT_EQ(t->rows.size(), 1u);
  EXPECT_EQ(t->rows[0].key.name, "late");
  q.namespace_.clear();
  q.name_match = "ead";
  t = store->Timeline(q);
  ASSERT_EQ(t->rows.size(), 1u);
  EXPECT_EQ(t->rows[0].key.name, "steady");
  q.name_match.clear();
  q.kind = "Node";
  EXPECT_TRUE(store->Timeline(q)->rows.empty());
  q.kind.clear();
  q.limit = 2;
  t = store->Timeline(q);
  EXPECT_EQ(t->rows.size(), 2u);
  EXPECT_EQ(t->matched, 3u);
  EXPECT_TRUE(t->truncated);
}

TEST_F(StoreTest, NoChangeUpdatesAreTicksNotChanges) {
  auto store = OpenStore();
  ASSERT_TRUE(
      store->Append(mk_.Pod(kT0 + 1 * kMin, "a", "p", "u", 5, WatchType::kAdded)).has_value());
  ASSERT_TRUE(store->Append(mk_.Pod(kT0 + 2 * kMin, "a", "p", "u", 5)).has_value());
  ASSERT_TRUE(
      store->Append(mk_.Pod(kT0 + 3 * kMin, "a", "p", "u", 5, WatchType::kRelisted)).has_value());
  ASSERT_TRUE(store->Append(mk_.Pod(kT0 + 4 * kMin, "a", "p", "u", 6)).has_value());
  now_ = kT0 + 5 * kMin;
  TimelineQuery q;
  q.range = {kT0, kT0 + 5 * kMin};
  auto t = store->Timeline(q);
  ASSERT_EQ(t->rows.size(), 1u);
  EXPECT_EQ(
      std::vector<uint32_t>(t->rows[0].changed_at.begin(), t->rows[0].changed_at.end()),
      (std::vector<uint32_t>{uint32_t((kT0 + kMin) / kSec), uint32_t((kT0 + 4 * kMin) / kSec)}));
  EXPECT_EQ(std::vector<uint32_t>(t->rows[0].nochange_at.begin(), t->rows[0].nochange_at.end()),
            (std::vector<uint32_t>{uint32_t((kT0 + 2 * kMin) / kSec),
                                   uint32_t((kT0 + 3 * kMin) / kSec)}));
}

// Ticks of resources that change often add up over long windows: a timeline whose rows would take
// more than TimelineQuery::max_bytes fails, saying how to narrow it, instead of taking the memory;
// a narrower one within the same bound is answered, and so is the whole one within the default.
TEST_F(StoreTest, ATimelineTooBigForItsMemoryBoundFailsAndANarrowerOneIsAnswered) {
  auto store = OpenStore();
  constexpr int kPods = 400, kChanges = 80;
  for (int t = 0; t < kChanges; ++t) {
    for (int i = 0; i < kPods; ++i) {
      std::string n = "p-" + std::to_string(i);
      ASSERT_TRUE(store->Append(mk_.Pod(kT0 + t * kSec, "shop", n, "uid-" + n, t + 1)).has_value());
    }
  }
  now_ = kT0 + 10 * kMin;
  TimelineQuery q;
  q.range = {kT0, kT0 + 10 * kMin};
  q.limit = 100000;
  q.max_bytes = 128 << 10;  // the ticks alone are 400 x 80 x 4 bytes
  TimelineQuery narrow_q = q;
  narrow_q.name_exact = "p-7";
  auto narrow = store->Timeline(narrow_q);
  ASSERT_TRUE(narrow.has_value()) << narrow.error().ToString();
  ASSERT_EQ(narrow->rows.size(), 1u);
  EXPECT_EQ(narrow->rows[0].changed_at.size(), size_t(kChanges));
  auto too_big = store->Timeline(q);
  ASSERT_FALSE(too_big.has_value());
  EXPECT_EQ(too_big.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(too_big.error().message.find("narrow it"), std::string::npos)
      << too_big.error().message;
  q.max_bytes = TimelineQuery{}.max_bytes;
  auto whole = store->Timeline(q);
  ASSERT_TRUE(whole.has_value()) << whole.error().ToString();
  ASSERT_EQ(whole->rows.size(), size_t(kPods));
  for (const TimelineRow& row : whole->rows) EXPECT_EQ(row.changed_at.size(), size_t(kChanges));
}

TEST_F(StoreTest, EventsHeatTheResourceTheyAreAboutAndCountOnlyNewOccurrences) {
  auto store = OpenStore();
  ASSERT_TRUE(
      store->Append(mk_.Pod(kT0 + 1 * kMin, "shop", "crashy", "pod-uid", 1, WatchType::kAdded))
          .has_value());
  ASSERT_TRUE(store->Append(mk_.Node(kT0 + 1 * kMin, "node-a", "node-uid", 2, WatchType::kAdded))
                  .has_value());
  // BackOff seen with count 1, then 3: 3 occurrences in all, not 4.
  ASSERT_TRUE(store
                  ->Append(mk_.Event(kT0 + 2 * kMin, "shop", "crashy.1", "Pod", "crashy", "pod-uid",
                                     "BackOff", true, 1, kT0 + 2 * kMin, 3, WatchType::kAdded))
                  .has_value());
  ASSERT_TRUE(store
                  ->Append(mk_.Event(kT0 + 4 * kMin, "shop", "crashy.1", "Pod", "crashy", "pod-uid",
                                     "BackOff", true, 3, kT0 + 2 * kMin, 4))
                  .has_value());
  ASSERT_TRUE(store
                  ->Append(mk_.Event(kT0 + 3 * kMin, "shop", "crashy.2", "Pod", "crashy", "pod-uid",
                                     "Pulled", false, 1, kT0 + 3 * kMin, 5, WatchType::kAdded))
                  .has_value());
  // Node Events name the node as uid.
  ASSERT_TRUE(
      store
          ->Append(mk_.Event(kT0 + 5 * kMin, "default", "node-a.1", "Node", "node-a", "node-a",
                             "NodeNotReady", false, 1, kT0 + 5 * kMin, 6, WatchType::kAdded))
          .has_value());
  now_ = kT0 + 10 * kMin;
  for (bool sealed : {false, true}) {
    if (sealed) {
      ASSERT_TRUE(store->SealActive().has_value());
    }
    TimelineQuery q;
    q.range = {kT0, kT0 + 10 * kMin};
    q.sort = TimelineSort::kMostEvents;
    auto t = store->Timeline(q);
    ASSERT_TRUE(t.has_value());
    ASSERT_EQ(t->rows.size(), 2u) << "Events are not rows of their own";
    EXPECT_EQ(t->rows[0].key.name, "crashy");
    EXPECT_EQ(t->rows[0].events, 4u);
    EXPECT_EQ(t->rows[0].warnings, 3u);
    uint32_t backoff = 0;
    for (const auto& h : t->rows[0].heat) {
      if (h.reason == "BackOff") backoff += h.count;
    }
    EXPECT_EQ(backoff, 3u);
    const TimelineRow* node = FindRow(*t, "node-a");
    ASSERT_NE(node, nullptr);
    EXPECT_EQ(node->events, 1u);

    std::vector<std::string> names;
    auto e = store->Events({"Pod", "shop", "crashy", "pod-uid"}, q.range, [&](const RecordView& r) {
      names.emplace_back(r.name);
      EXPECT_TRUE(r.event.has_value());
      return true;
    });
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(names.size(), 3u) << "every version of both Events";
    names.clear();
    // Without the uid: every object of that name (here one), found by its name.
    ASSERT_TRUE(store
                    ->Events({"Pod", "shop", "crashy", ""}, q.range,
                             [&](const RecordView& r) {
                               names.emplace_back(r.name);
                               return true;
                             })
                    .has_value());
    EXPECT_EQ(names.size(), 3u);
    names.clear();
    ASSERT_TRUE(store
                    ->Events({"Pod", "shop", "crash", ""}, q.range,
                             [&](const RecordView& r) {
                               names.emplace_back(r.name);
                               return true;
                             })
                    .has_value());
    EXPECT_TRUE(names.empty()) << "a name is not a prefix";
    ASSERT_TRUE(store
                    ->Events({"Node", "", "node-a", ""}, q.range,
                             [&](const RecordView& r) {
                               names.emplace_back(r.name);
                               return true;
                             })
                    .has_value());
    EXPECT_EQ(names, std::vector<std::string>{"node-a.1"});
    EXPECT_EQ(store->Kinds(q.range), (std::vector<std::string>{"Event", "Node", "Pod"}));
    EXPECT_EQ(store->Namespaces(q.range), (std::vector<std::string>{"default", "shop"}));
  }
}

}  // namespace
}  // namespace sloop
