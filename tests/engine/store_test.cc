#include "engine/store.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "engine/seal_faults.h"
#include "index/index_reader.h"
#include "segments/segment_format.h"
#include "segments/segment_reader.h"
#include "tests/engine/store_fixture.h"
#include "tests/segments/format_v1_records.h"

namespace sloop {
namespace {

TEST_F(StoreTest, HistoryAcrossSealedAndActiveShardsIsByteExact) {
  auto store = OpenStore();
  std::vector<std::string> payloads;
  for (int i = 0; i < 6; ++i) {
    RecordView r = mk_.Pod(kT0 + i * 30 * kMin, "shop", "web-1", "uid-web-1", 100 + i,
                           i == 0 ? WatchType::kAdded : WatchType::kModified, kT0);
    payloads.emplace_back(r.payload);
    ASSERT_TRUE(store->Append(r).has_value());
  }
  auto shards = store->Shards();
  ASSERT_EQ(shards.size(), 3u);  // two sealed hours and the active one
  EXPECT_TRUE(shards[0].sealed);
  EXPECT_FALSE(shards[2].sealed);
  auto h = History(*store, {"Pod", "shop", "web-1", ""}, {kT0, kT0 + 5 * kHour});
  ASSERT_EQ(h.size(), 6u);
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(h[i].payload, payloads[i]);
    EXPECT_EQ(h[i].resource_version, std::to_string(100 + i));
    EXPECT_EQ(h[i].observed_ns, kT0 + i * 30 * kMin);
  }
  EXPECT_EQ(h[0].watch_type, WatchType::kAdded);
  // Previous record before the window comes first when asked for.
  auto hp = History(*store, {"Pod", "shop", "web-1", "uid-web-1"},
                    {kT0 + 70 * kMin, kT0 + 100 * kMin}, true);
  ASSERT_EQ(hp.size(), 2u);
  EXPECT_EQ(hp[0].observed_ns, kT0 + 60 * kMin);
  EXPECT_EQ(hp[1].observed_ns, kT0 + 90 * kMin);
}

// Queries of one resource read shard by shard (with an object store, every shard of the bucket
// when the window has no start): once the caller gives up (its deadline passed), they stop
// with kAborted instead of reading on.
TEST_F(StoreTest, QueriesOfOneResourceGiveUpWhenCancelled) {
  auto store = OpenStore();
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(store->Append(mk_.Pod(kT0 + i * 30 * kMin, "shop", "web-1", "uid-web-1", 100 + i))
                    .has_value());
  }
  ASSERT_TRUE(store
                  ->Append(mk_.Event(kT0 + kMin, "shop", "web-1.1", "Pod", "web-1", "uid-web-1",
                                     "BackOff", true, 1, kT0 + kMin, 200, WatchType::kAdded))
                  .has_value());
  const ResourceKeyView key{"Pod", "shop", "web-1", ""};
  const TimeRange all{0, kT0 + 5 * kHour};
  std::atomic<bool> cancel{false};
  size_t seen = 0;
  auto count = [&](const RecordView&) { return ++seen, true; };
  ASSERT_TRUE(store->History(key, all, true, count, &cancel).has_value());
  EXPECT_EQ(seen, 6u);
  ASSERT_TRUE(store->Events(key, all, count, &cancel).has_value());
  EXPECT_EQ(seen, 7u);
  auto at = store->PayloadAt(key, kT0 + 5 * kHour, &cancel);
  ASSERT_TRUE(at.has_value() && at->has_value());
  auto found = store->SearchFrom("web", "Pod", 10, 0, &cancel);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->size(), 1u);

  cancel = true;
  seen = 0;
  auto h = store->History(key, all, true, count, &cancel);
  ASSERT_FALSE(h.has_value());
  EXPECT_EQ(h.error().code, ErrorCode::kAborted);
  auto e = store->Events(key, all, count, &cancel);
  ASSERT_FALSE(e.has_value());
  EXPECT_EQ(e.error().code, ErrorCode::kAborted);
  EXPECT_EQ(seen, 0u);
  auto p = store->PayloadAt(key, kT0 + 5 * kHour, &cancel);
  ASSERT_FALSE(p.has_value());
  EXPECT_EQ(p.error().code, ErrorCode::kAborted);
  auto s = store->SearchFrom("web", "Pod", 10, 0, &cancel);
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, ErrorCode::kAborted);
}

TEST_F(StoreTest, SearchReadsOlderShardsThroughTheirNameListsAndFindsEvents) {
  auto store = OpenStore();
  // A Pod recorded in the first hour only, then carried through four sealed shards; an Event
  // about it in the first hour; a Node that changes every hour.
  ASSERT_TRUE(store->Append(mk_.Pod(kT0, "shop", "Cart-42", "cart", 1, WatchType::kAdded)));
  ASSERT_TRUE(store->Append(mk_.Event(kT0 + kMin, "shop", "cart-42.17f", "Pod", "Cart-42", "cart",
                                      "BackOff", true, 1, kT0 + kMin, 2, WatchType::kAdded)));
  for (int h = 0; h < 5; ++h) {
    ASSERT_TRUE(store->Append(mk_.Node(kT0 + h * kHour + 2 * kMin, "node-1", "n1", 10 + h)));
  }
  ASSERT_TRUE(store->SealActive());
  ASSERT_GE(store->Stats().sealed_shards, 5u);
  auto hits = store->Search("CART", "", 10);
  ASSERT_EQ(hits.size(), 1u) << "Events are left out of a search across all kinds";
  EXPECT_EQ(hits[0].key.kind, "Pod");
  EXPECT_EQ(hits[0].first_ns, kT0);
  EXPECT_FALSE(hits[0].deleted);
  auto events = store->Search("cart-42", "Event", 10);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].key.name, "cart-42.17f");
  EXPECT_TRUE(store->Search("node-1", "Pod", 10).empty());
  EXPECT_EQ(store->Search("ode-", "Node", 10).size(), 1u);
}

TEST_F(StoreTest, SearchFindsDeletedResourcesAcrossRetentionAndPayloadAtTime) {
  auto store = OpenStore();
  ASSERT_TRUE(
      store->Append(mk_.Pod(kT0, "shop", "api-7f9-abc", "old", 1, WatchType::kAdded)).has_value());
  ASSERT_TRUE(
      store->Append(mk_.Pod(kT0 + 30 * kMin, "shop", "api-7f9-abc", "old", 2, WatchType::kDeleted))
          .has_value());
  ASSERT_TRUE(
      store->Append(mk_.Pod(kT0 + 5 * kHour, "shop", "api-8c1-def", "new", 3, WatchType::kAdded))
          .has_value());
  auto hits = store->Search("API-7F9", "", 10);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_TRUE(hits[0].deleted);
  EXPECT_EQ(hits[0].last_ns, kT0 + 30 * kMin);
  hits = store->Search("api-", "Pod", 10);
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0].key.name, "api-8c1-def") << "most recently seen first";
  EXPECT_EQ(store->Search("api-", "Pod", 1).size(), 1u);
  EXPECT_TRUE(store->Search("api-", "Node", 10).empty());

  auto at = store->PayloadAt({"Pod", "shop", "api-7f9-abc", ""}, kT0 + 10 * kMin);
  ASSERT_TRUE(at.has_value() && at->has_value());
  EXPECT_EQ((*at)->resource_version, "1");
  at = store->PayloadAt({"Pod", "shop", "api-7f9-abc", ""}, kT0 - 1);
  EXPECT_FALSE(at->has_value());
}

TEST_F(StoreTest, RetentionByAgeDeletesWholeOldShards) {
  StoreOptions o = Options();
  o.max_look_back = std::chrono::hours(3);
  auto store = OpenStore(o);
  for (int h = 0; h < 6; ++h) {
    now_ = kT0 + h * kHour + kMin;
    ASSERT_TRUE(
        store->Append(mk_.Pod(now_, "ns", "p" + std::to_string(h), "u" + std::to_string(h), h))
            .has_value());
  }
  now_ = kT0 + 6 * kHour;
  ASSERT_TRUE(store->Maintain().has_value());
  auto shards = store->Shards();
  const int64_t newest = kT0 + 5 * kHour + kMin;
  for (const auto& s : shards) EXPECT_GE(s.max_ns, newest - 3 * kHour);
  EXPECT_EQ(shards.size(), 4u);  // hours 2 to 5: hour 2 ends exactly at the horizon
  EXPECT_GT(store->Stats().evictions, 0u);
  EXPECT_TRUE(History(*store, {"Pod", "ns", "p0", ""}, {kT0, now_}).empty());
  EXPECT_EQ(History(*store, {"Pod", "ns", "p5", ""}, {kT0, now_}).size(), 1u);
  // Gone from disk, not only from the list.
  size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir_ / "shards")) files += e.is_regular_file();
  EXPECT_EQ(files, 2 * store->Stats().sealed_shards +
                       (store->Stats().shards - store->Stats().sealed_shards));
}

TEST_F(StoreTest, RetentionByAgeCountsFromTheNewestDataNotTheClock) {
  StoreOptions o = Options();
  o.max_look_back = std::chrono::hours(2);
  auto store = OpenStore(o);
  now_ = kT0 + 40 * 24 * kHour;  // a capture of last month, played back today
  for (int h = 0; h < 4; ++h) {
    ASSERT_TRUE(store->Append(mk_.Pod(kT0 + h * kHour, "ns", "p", "u", h)).has_value());
  }
  ASSERT_TRUE(store->Maintain().has_value());
  // Newest record at hour 3, look-back 2 h: hours 1 to 3 stay, hour 0 goes, whatever the clock.
  EXPECT_EQ(History(*store, {"Pod", "ns", "p", ""}, {kT0, kT0 + 5 * kHour}).size(), 3u);
  EXPECT_EQ(store->Stats().evictions, 1u);
}

// The wall clock steps 30 days forward while recording (a bad clock, a wrong NTP answer), one
// record is stamped there, and the clock is set right again: retention by age counts from the
// time that passed (StoreOptions::boot_ns), so the history stays; only the step is not counted.
TEST_F(StoreTest, AClockSteppedForwardDoesNotWipeTheHistory) {
  std::atomic<int64_t> boot{1000 * kSec};
  StoreOptions o = Options();
  o.max_look_back = std::chrono::minutes(150);
  o.boot_ns = [&] { return boot.load(); };
  now_ = kT0;
  auto store = OpenStore(o);
  auto records = [&] {
    return History(*store, {"Pod", "ns", "p", ""}, {kT0, kT0 + 40 * 24 * kHour}).size();
  };
  for (int h = 0; h < 4; ++h) {  // the two clocks together
    now_ = kT0 + h * kHour + kSec;
    boot = 1000 * kSec + h * kHour + kSec;
    ASSERT_TRUE(store->Append(mk_.Pod(now_, "ns", "p", "u", h)));
  }
  ASSERT_TRUE(store->Maintain());
  EXPECT_EQ(records(), 3u) << "hour 0 is older than 2.5 hours before hour 3";
  now_ = now_ + 30 * 24 * kHour;  // the step
  boot = boot + 10 * kSec;
  ASSERT_TRUE(store->Append(mk_.Pod(now_, "ns", "p", "u", 10)));
  ASSERT_TRUE(store->Maintain());
  EXPECT_EQ(records(), 4u) << "the step deleted history";
  now_ = kT0 + 3 * kHour + 20 * kSec;  // set right
  boot = boot + 10 * kSec;
  ASSERT_TRUE(store->Append(mk_.Pod(now_, "ns", "p", "u", 11)));
  ASSERT_TRUE(store->Maintain());
  EXPECT_EQ(records(), 5u) << "the record from the future made the right time look old";
  // Time passes, the clocks together again: age counts as before.
  now_ = kT0 + 6 * kHour;
  boot = boot + 3 * kHour;
  ASSERT_TRUE(store->Append(mk_.Pod(now_, "ns", "p", "u", 12)));
  ASSERT_TRUE(store->Maintain());
  EXPECT_EQ(records(), 3u) << "hours 1 to 3 are older than 2.5 hours before hour 6";
}

// A clock already 30 days ahead when the store opened: nothing in the store can tell (every
// record since is stamped ahead too), so the history recorded before looks a month old. Once the
// API server's clock says how far ahead this one is (SetClockAhead), retention by age counts from
// the server's time and keeps it; with the clocks agreeing, age counts from the records.
TEST_F(StoreTest, AClockAheadOfTheApiServersDoesNotWipeTheHistory) {
  StoreOptions o = Options();
  o.max_look_back = std::chrono::hours(4);
  now_ = kT0;
  const int64_t month = 30 * 24 * kHour;
  auto records = [](Store& s) {
    return History(s, {"Pod", "ns", "p", ""}, {kT0, kT0 + 40 * 24 * kHour}).size();
  };
  {
    auto store = OpenStore(o);
    for (int h = 0; h < 3; ++h) {
      now_ = kT0 + h * kHour + kSec;
      ASSERT_TRUE(store->Append(mk_.Pod(now_, "ns", "p", "u", h)));
    }
    ASSERT_TRUE(store->Close());
  }
  // Restarted with the clock a month ahead.
  now_ = kT0 + 3 * kHour + month;
  auto store = OpenStore(o);
  store->SetClockAhead(month + 5 * kSec);
  ASSERT_TRUE(store->Append(mk_.Pod(now_, "ns", "p", "u", 10)));
  ASSERT_TRUE(store->Maintain());
  EXPECT_EQ(records(*store), 4u) << "the clock ahead deleted the history";
  // Ahead by no more than the slack: nothing changes; the clocks agree again once time passes.
  store->SetClockAhead(2 * kSec);
  ASSERT_TRUE(store->Maintain());
  EXPECT_LT(records(*store), 4u) << "with no clock ahead, age counts from the newest record";
}

// The volume is fuller than -max-disk-mb says (smaller than the limit, or shared with others
// that filled it): when its free space is short of what the unsealed shard's seal needs,
// retention deletes the oldest shards, as over the limit, so that the newest keeps being sealed.
TEST_F(StoreTest, AFullVolumeMakesRoomForTheSealsByDeletingTheOldestShards) {
  std::atomic<int64_t> free_bytes{int64_t{1} << 40};
  StoreOptions o = Options();
  o.volume_free_bytes = [&] { return free_bytes.load(); };
  now_ = kT0 + 4 * kHour + 30 * kMin;  // hour 4 is still being recorded
  auto store = OpenStore(o);
  for (int h = 0; h < 5; ++h) {
    for (int i = 0; i < 20; ++i) {
      const int n = h * 100 + i;
      ASSERT_TRUE(store->Append(mk_.Pod(kT0 + h * kHour + i * kSec, "ns",
                                        "p" + std::to_string(n), "u" + std::to_string(n), n)));
    }
  }
  ASSERT_TRUE(store->Maintain());
  ASSERT_EQ(store->Stats().sealed_shards, 4u);  // hours 0 to 3; hour 4 records
  EXPECT_EQ(store->Stats().evictions, 0u);
  uint64_t unsealed = 0;
  for (const ShardInfo& s : store->Shards()) {
    if (!s.sealed) unsealed += s.segment_bytes;
  }
  ASSERT_GT(unsealed, 0u);
  // One byte short of the seal's room (its sorted copy and index, the block being filled, and
  // a MiB for the file system): the oldest shard goes, and only it.
  free_bytes = static_cast<int64_t>(2 * unsealed + o.writer.target_block_bytes + (1 << 20)) - 1;
  ASSERT_TRUE(store->Maintain());
  EXPECT_EQ(store->Stats().evictions, 1u);
  EXPECT_EQ(store->Stats().sealed_shards, 3u);
  EXPECT_TRUE(History(*store, {"Pod", "ns", "p0", ""}, {kT0, kT0 + 6 * kHour}).empty());
  EXPECT_EQ(History(*store, {"Pod", "ns", "p100", ""}, {kT0, kT0 + 6 * kHour}).size(), 1u);
  EXPECT_EQ(History(*store, {"Pod", "ns", "p400", ""}, {kT0, kT0 + 6 * kHour}).size(), 1u);
  // With room again, nothing more goes.
  free_bytes = int64_t{1} << 40;
  ASSERT_TRUE(store->Maintain());
  EXPECT_EQ(store->Stats().evictions, 1u);
}

// A shard retention deleted to make room on a full volume gives its space back only when its
// last reader lets go: a backup streaming for an hour holds it. Until then it is counted as
// free, and the next passes, which see the volume as short as before, delete nothing more
// (before, one more shard went every second of the backup).
TEST_F(StoreTest, ADeletedShardABackupStillHoldsIsCountedAsFreed) {
  std::atomic<int64_t> free_bytes{int64_t{1} << 40};
  StoreOptions o = Options();
  o.volume_free_bytes = [&] { return free_bytes.load(); };
  now_ = kT0 + 4 * kHour + 30 * kMin;
  auto store = OpenStore(o);
  for (int h = 0; h < 5; ++h) {
    for (int i = 0; i < 20; ++i) {
      const int n = h * 100 + i;
      ASSERT_TRUE(store->Append(mk_.Pod(kT0 + h * kHour + i * kSec, "ns", "p" + std::to_string(n),
                                        "u" + std::to_string(n), n)));
    }
  }
  ASSERT_TRUE(store->Maintain());
  ASSERT_EQ(store->Stats().sealed_shards, 4u);
  uint64_t unsealed = 0;
  for (const ShardInfo& s : store->Shards()) {
    if (!s.sealed) unsealed += s.segment_bytes;
  }
  auto backup = store->SnapshotForBackup();  // holds every shard's files
  ASSERT_TRUE(backup.has_value());
  free_bytes = static_cast<int64_t>(2 * unsealed + o.writer.target_block_bytes + (1 << 20)) - 1;
  ASSERT_TRUE(store->Maintain());
  EXPECT_EQ(store->Stats().evictions, 1u);
  for (int pass = 0; pass < 3; ++pass) ASSERT_TRUE(store->Maintain());
  EXPECT_EQ(store->Stats().evictions, 1u) << "the held shard's space was counted as lost";
  EXPECT_EQ(store->Stats().sealed_shards, 3u);
}

// A volume smaller than -max-disk-mb (here 2 MiB under a 32 GiB limit): the active shard is
// sealed at the size the volume allows, not the limit, so its seal always finds room and
// retention deletes the oldest shards; the store never takes more than the volume, and the
// newest history is recorded and sealed (before, the active shard took the whole volume and its
// seal could never finish, with nothing sealed left to delete).
TEST_F(StoreTest, AVolumeSmallerThanTheLimitCapsTheActiveShard) {
  constexpr int64_t kVolume = 2 << 20;
  auto used = [&] {
    int64_t n = 0;
    for (const auto& e : fs::recursive_directory_iterator(dir_)) {
      if (e.is_regular_file()) n += static_cast<int64_t>(e.file_size());
    }
    return n;
  };
  StoreOptions o = Options();
  o.writer.target_block_bytes = 4 * 1024;
  o.volume_free_bytes = [&] { return kVolume - used(); };
  now_ = kT0 + 30 * kMin;  // one hour, still open: only the caps seal shards
  auto store = OpenStore(o);
  int64_t most = 0;
  for (int i = 0; i < 8000; ++i) {
    ASSERT_TRUE(store->Append(
        mk_.Pod(kT0 + i * kSec / 10, "ns", "p" + std::to_string(i), "u" + std::to_string(i), i)))
        << "record " << i;
    if (i % 50 == 0) most = std::max(most, used());
  }
  ASSERT_TRUE(store->Maintain());
  EXPECT_LE(most, kVolume) << "the store outgrew its volume";
  EXPECT_GT(store->Stats().evictions, 0u);
  EXPECT_GT(store->Stats().sealed_shards, 0u);
  EXPECT_EQ(History(*store, {"Pod", "ns", "p7999", ""}, {kT0, kT0 + kHour}).size(), 1u);
}

TEST_F(StoreTest, RetentionBySizeKeepsTheStoreUnderItsLimit) {
  StoreOptions o = Options();
  o.max_disk_bytes = 60 * 1024;
  auto store = OpenStore(o);
  for (int h = 0; h < 12; ++h) {
    for (int i = 0; i < 40; ++i) {
      ASSERT_TRUE(
          store
              ->Append(mk_.Pod(kT0 + h * kHour + i * kSec, "ns", "p" + std::to_string(h * 100 + i),
                               "u" + std::to_string(h * 100 + i), h * 100 + i))
              .has_value());
    }
  }
  ASSERT_TRUE(store->SealActive().has_value());
  auto st = store->Stats();
  EXPECT_LE(st.disk_bytes, o.max_disk_bytes);
  EXPECT_GT(st.evictions, 0u);
  EXPECT_GT(st.sealed_shards, 0u);
  // The newest data survives.
  EXPECT_EQ(History(*store, {"Pod", "ns", "p1139", ""}, {kT0, kT0 + 13 * kHour}).size(), 1u);
}

TEST_F(StoreTest, ReopenServesTheSameAnswers) {
  {
    auto store = OpenStore();
    for (int i = 0; i < 50; ++i) {
      ASSERT_TRUE(store
                      ->Append(mk_.Pod(kT0 + i * 3 * kMin, "ns", "p" + std::to_string(i % 7),
                                       "u" + std::to_string(i % 7), i))
                      .has_value());
    }
  }
  auto store = OpenStore();
  EXPECT_EQ(store->Stats().sealed_shards, 3u);
  size_t total = 0;
  for (int p = 0; p < 7; ++p) {
    auto h = History(*store, {"Pod", "ns", "p" + std::to_string(p), ""}, {kT0, kT0 + 5 * kHour});
    for (size_t i = 1; i < h.size(); ++i) EXPECT_LT(h[i - 1].observed_ns, h[i].observed_ns);
    total += h.size();
  }
  EXPECT_EQ(total, 50u);
}

TEST_F(StoreTest, SealSortsInRunsWhenTheShardExceedsTheSortBudget) {
  StoreOptions o = Options();
  o.seal_sort_budget_bytes = 64 * 1024;  // a few records per run
  auto store = OpenStore(o);
  std::mt19937 rng(7);
  std::map<std::string, int> expected;
  for (int i = 0; i < 300; ++i) {
    std::string name = "p" + std::to_string(rng() % 40);
    ++expected[name];
    ASSERT_TRUE(store->Append(mk_.Pod(kT0 + i * kSec, "ns", name, "u-" + name, i)).has_value());
  }
  ASSERT_TRUE(store->SealActive().has_value());
  ASSERT_EQ(store->Stats().sealed_shards, 1u);
  for (const auto& [name, n] : expected) {
    auto h = History(*store, {"Pod", "ns", name, ""}, {kT0, kT0 + kHour});
    ASSERT_EQ(h.size(), size_t(n)) << name;
    for (size_t i = 1; i < h.size(); ++i) EXPECT_LT(h[i - 1].observed_ns, h[i].observed_ns);
  }
}

// Crash at every step of a seal: the store opened afterwards holds every record once.
TEST_F(StoreTest, CrashAtEverySealStepLosesNothing) {
  for (int step = 1; step <= 5; ++step) {
    fs::remove_all(dir_);
    {
      auto store = OpenStore();
      InjectSealFaultForTesting(*store, step);
      for (int i = 0; i < 30; ++i) {
        ASSERT_TRUE(store
                        ->Append(mk_.Pod(kT0 + i * kMin, "ns", "p" + std::to_string(i % 5),
                                         "u" + std::to_string(i % 5), i))
                        .has_value());
      }
      EXPECT_FALSE(store->SealActive().has_value()) << "step " << step;
    }  // the destructor's seal stops at the same step
    auto store = OpenStore();
    ASSERT_TRUE(store->Maintain().has_value());
    size_t total = 0;
    for (int p = 0; p < 5; ++p) {
      total +=
          History(*store, {"Pod", "ns", "p" + std::to_string(p), ""}, {kT0, kT0 + kHour}).size();
    }
    EXPECT_EQ(total, 30u) << "after a crash at seal step " << step;
    TimelineQuery q;
    q.range = {kT0, kT0 + kHour};
    EXPECT_EQ(store->Timeline(q)->rows.size(), 5u) << "step " << step;
  }
}

// kill -9 in the middle of writing: a child process appends and dies without closing; the torn
// tail of its file is cut back on open and the whole blocks before it are served.
TEST_F(StoreTest, KillNineMidWriteRecoversWrittenBlocks) {
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    StoreOptions o = Options();
    o.writer.sync = SyncPolicy::kEveryBlock;
    auto store = Store::Open(o);
    if (!store) _exit(2);
    for (int i = 0; i < 200; ++i) {
      if (!(*store)->Append(mk_.Pod(kT0 + i * kSec, "ns", "p" + std::to_string(i % 3),
                                    "u" + std::to_string(i % 3), i)))
        _exit(3);
    }
    (void)(*store)->Flush();
    _exit(0);  // no Close(): as if killed
  }
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  fs::path active;
  for (const auto& e : fs::directory_iterator(dir_ / "shards")) {
    if (e.path().extension() == ".active") active = e.path();
  }
  ASSERT_FALSE(active.empty());
  // Tear the last block.
  auto size = fs::file_size(active);
  fs::resize_file(active, size - 100);
  auto store = OpenStore();
  EXPECT_GT(store->Stats().recovered_bytes_dropped, 0u);
  size_t total = 0;
  for (int p = 0; p < 3; ++p) {
    auto h = History(*store, {"Pod", "ns", "p" + std::to_string(p), ""}, {kT0, kT0 + kHour});
    total += h.size();
  }
  EXPECT_GT(total, 150u);
  EXPECT_LT(total, 200u);
  // And it keeps appending after recovery.
  ASSERT_TRUE(store->Append(mk_.Pod(kT0 + 300 * kSec, "ns", "p0", "u0", 999)).has_value());
  EXPECT_EQ(History(*store, {"Pod", "ns", "p0", ""}, {kT0 + 299 * kSec, kT0 + kHour}).size(), 1u);
}

TEST_F(StoreTest, DamagedIndexIsSetAsideAndRebuiltFromTheSegment) {
  {
    auto store = OpenStore();
    ASSERT_TRUE(store->Append(mk_.Pod(kT0, "ns", "p", "u", 1)).has_value());
  }
  fs::path idx;
  for (const auto& e : fs::directory_iterator(dir_ / "shards")) {
    if (e.path().extension() == ".idx") idx = e.path();
  }
  ASSERT_FALSE(idx.empty());
  fs::resize_file(idx, 10);
  auto store = OpenStore();
  EXPECT_EQ(store->Stats().indexes_rebuilt, 1u);
  EXPECT_EQ(store->Stats().damaged_files_set_aside, 1u);
  EXPECT_TRUE(fs::exists(fs::path(idx) += ".damaged"));
  size_t n = 0;
  ASSERT_TRUE(
      store->History({"Pod", "ns", "p", ""}, {0, kT0 + kHour}, false, [&](const RecordView&) {
        ++n;
        return true;
      }));
  EXPECT_EQ(n, 1u);
}

TEST_F(StoreTest, UnreadableSealedShardIsSetAsideNotDeleted) {
  {
    auto store = OpenStore();
    ASSERT_TRUE(store->Append(mk_.Pod(kT0, "ns", "p", "u", 1)).has_value());
  }
  fs::path seg;
  for (const auto& e : fs::directory_iterator(dir_ / "shards")) {
    if (e.path().extension() == ".seg") seg = e.path();
  }
  ASSERT_FALSE(seg.empty());
  fs::resize_file(seg, 20);  // the header and a few bytes: no readable block
  auto store = OpenStore();
  EXPECT_EQ(store->Stats().sealed_shards, 0u);
  EXPECT_EQ(store->Stats().damaged_files_set_aside, 2u);
  EXPECT_TRUE(fs::exists(fs::path(seg) += ".damaged"));
}

TEST_F(StoreTest, ConcurrentQueriesDuringAppendSealAndEviction) {
  StoreOptions o = Options();
  o.max_disk_bytes = 60 * 1024;
  auto store = OpenStore(o);
  std::atomic<bool> done{false};
  std::atomic<int> queries{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&, r] {
      while (!done) {
        TimelineQuery q;
        q.range = {kT0, kT0 + 30 * kHour};
        auto t = store->Timeline(q);
        EXPECT_TRUE(t.has_value());
        auto h = store->History({"Pod", "ns", "p" + std::to_string(r), ""}, q.range, true,
                                [](const RecordView& v) { return !v.payload.empty(); });
        EXPECT_TRUE(h.has_value()) << (h ? "" : h.error().ToString());
        store->Search("p1", "", 20);
        ++queries;
      }
    });
  }
  for (int i = 0; i < 600; ++i) {
    now_ = kT0 + i * 3 * kMin;
    ASSERT_TRUE(store
                    ->Append(mk_.Pod(now_, "ns", "p" + std::to_string(i % 10),
                                     "u" + std::to_string(i % 10), i))
                    .has_value());
  }
  done = true;
  for (auto& t : readers) t.join();
  EXPECT_GT(queries.load(), 0);
  EXPECT_GT(store->Stats().evictions, 0u);
}

TEST_F(StoreTest, BackgroundThreadSealsClosedWindowsWhileQueriesRun) {
  StoreOptions o = Options();
  o.background = true;
  o.cleanup_interval = std::chrono::milliseconds(50);
  auto store = OpenStore(o);
  std::atomic<bool> done{false};
  std::thread reader([&] {
    while (!done) {
      TimelineQuery q;
      q.range = {kT0, kT0 + 20 * kHour};
      EXPECT_TRUE(store->Timeline(q).has_value());
      EXPECT_TRUE(store
                      ->History({"Pod", "ns", "p1", ""}, q.range, false,
                                [](const RecordView&) { return true; })
                      .has_value());
    }
  });
  for (int i = 0; i < 200; ++i) {
    now_ = kT0 + i * 5 * kMin;
    ASSERT_TRUE(store
                    ->Append(mk_.Pod(now_, "ns", "p" + std::to_string(i % 4),
                                     "u" + std::to_string(i % 4), i))
                    .has_value());
  }
  // Time moves past the last window with nothing appended: the background thread seals it.
  now_ = kT0 + 20 * kHour;
  for (int tries = 0; tries < 200 && store->Stats().sealed_shards != store->Stats().shards;
       ++tries) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  done = true;
  reader.join();
  auto st = store->Stats();
  EXPECT_EQ(st.sealed_shards, st.shards) << "every closed window sealed";
  EXPECT_GE(st.sealed_shards, 16u);
  size_t total = 0;
  for (int p = 0; p < 4; ++p) {
    total +=
        History(*store, {"Pod", "ns", "p" + std::to_string(p), ""}, {kT0, kT0 + 20 * kHour}).size();
  }
  EXPECT_EQ(total, 200u);
}

TEST_F(StoreTest, AppendWaitsForTheSealerInsteadOfPilingUpUnsealedShards) {
  // A replay far faster than real time: a new one-hour window every 50 records. Without
  // backpressure, finished shards (each with its index in memory) would queue behind the sealer.
  StoreOptions o = Options();
  o.background = true;
  o.max_unsealed_shards = 1;
  auto store = OpenStore(o);
  size_t worst = 0;
  for (int i = 0; i < 2000; ++i) {
    int64_t t = kT0 + (i / 50) * kHour + (i % 50) * kSec;
    now_ = t;
    ASSERT_TRUE(store
                    ->Append(mk_.Pod(t, "ns", "p" + std::to_string(i % 40),
                                     "u" + std::to_string(i % 40), i))
                    .has_value());
    auto st = store->Stats();
    worst = std::max<size_t>(worst, st.shards - st.sealed_shards);
  }
  // The active shard plus at most max_unsealed_shards waiting (one more may be finishing).
  EXPECT_LE(worst, 3u);
  ASSERT_TRUE(store->Close().has_value());
  EXPECT_EQ(store->Stats().sealed_shards, 40u);
}

// An append holds the active shard's lock through its block's write and fdatasync. A snapshot
// of the shards (every query starts with one, and so does /metrics, which runs on the threads
// that answer the health checks) does not wait for a slow disk.
TEST_F(StoreTest, ShardsAndStatsDoNotWaitForASlowFdatasync) {
  using namespace std::chrono_literals;
  std::atomic<bool> slow{false}, in_sync{false}, release{false};
  StoreOptions o = Options();
  o.writer.sync = SyncPolicy::kEveryBlock;
  o.writer.target_block_bytes = 1024;  // every few records write a block
  o.writer.fdatasync_fn = [&](int fd) {
    if (!slow) return ::fdatasync(fd);
    in_sync = true;
    for (int i = 0; i < 300 && !release; ++i) std::this_thread::sleep_for(10ms);
    in_sync = false;
    return ::fdatasync(fd);
  };
  auto store = OpenStore(o);
  std::thread writer([&] {
    for (int i = 0; i < 40 && !release; ++i) {
      if (i == 10) slow = true;  // from the next block on, the disk takes its time
      (void)store->Append(mk_.Pod(kT0 + i * kSec, "ns", "p" + std::to_string(i % 4),
                                  "u" + std::to_string(i % 4), i));
    }
  });
  for (int i = 0; i < 1000 && !in_sync; ++i) std::this_thread::sleep_for(10ms);
  if (!in_sync) {
    release = true;
    writer.join();
    FAIL() << "no block was written";
  }
  const auto start = std::chrono::steady_clock::now();
  const auto shards = store->Shards();
  const auto stats = store->Stats();
  const auto waited = std::chrono::steady_clock::now() - start;
  const bool still_syncing = in_sync.load();
  release = true;
  writer.join();
  EXPECT_TRUE(still_syncing) << "the fdatasync ended before the snapshot: nothing was tested";
  EXPECT_LT(waited, 1s) << "a snapshot of the shards waited for the disk";
  ASSERT_EQ(shards.size(), 1u);
  EXPECT_GE(shards[0].records, 10u);
  EXPECT_EQ(stats.shards, 1u);
}

TEST_F(StoreTest, SyncTimerWritesBlocksWhileAppendsRotationsAndQueriesRun) {
  // The timer writes blocks on its own thread, under the shard's lock only: with an interval of
  // 1 ms it races every append, rotation, seal and query (the ThreadSanitizer build checks it).
  StoreOptions o = Options();
  o.background = true;
  o.writer.sync_interval = std::chrono::milliseconds(1);
  o.writer.target_block_bytes = 1 << 20;
  auto store = OpenStore(o);
  std::atomic<bool> done{false};
  std::thread reader([&] {
    while (!done) {
      (void)History(*store, {"Pod", "ns", "p1", ""}, {kT0, kT0 + 10 * kHour});
      (void)store->Stats();
    }
  });
  for (int i = 0; i < 600; ++i) {
    int64_t t = kT0 + (i / 200) * kHour + (i % 200) * kSec;
    now_ = t;
    ASSERT_TRUE(store
                    ->Append(mk_.Pod(t, "ns", "p" + std::to_string(i % 10),
                                     "u" + std::to_string(i % 10), i))
                    .has_value());
    if (i % 50 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  done = true;
  reader.join();
  size_t n = 0;
  for (int p = 0; p < 10; ++p) {
    n +=
        History(*store, {"Pod", "ns", "p" + std::to_string(p), ""}, {kT0, kT0 + 10 * kHour}).size();
  }
  EXPECT_EQ(n, 600u);
  ASSERT_TRUE(store->Close().has_value());
}

TEST_F(StoreTest, CarriedOverResourcesDoNotCountTowardsTheIndexCap) {
  // More live resources than the index cap holds: the next hour's shard starts with all of them
  // carried over, and must not seal early after every few records because of them.
  StoreOptions o = Options();
  o.active_index_cap_bytes = 64 * 1024;
  auto store = OpenStore(o);
  for (int i = 0; i < 3000; ++i) {
    if (i > 0 && i % 1000 == 0) {
      ASSERT_TRUE(store->SealActive().has_value());
    }
    ASSERT_TRUE(store
                    ->Append(mk_.Pod(kT0 + i * kSec / 10, "ns", "p" + std::to_string(i),
                                     "u" + std::to_string(i), 1))
                    .has_value());
  }
  uint64_t before = store->Stats().shards;
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(
        store->Append(mk_.Pod(kT0 + kHour + i * kSec, "ns", "p1", "u1", 2 + i)).has_value());
  }
  EXPECT_EQ(store->Stats().shards, before + 1) << "only the new hour's shard";
}

TEST_F(StoreTest, SealingIsIdempotent) {
  auto store = OpenStore();
  ASSERT_TRUE(store->Append(mk_.Pod(kT0, "ns", "p", "u", 1)).has_value());
  ASSERT_TRUE(store->SealActive().has_value());
  auto files_after_first = store->Stats().disk_bytes;
  ASSERT_TRUE(store->SealActive().has_value()) << "sealing with nothing active is a no-op";
  ASSERT_TRUE(store->Maintain().has_value());
  EXPECT_EQ(store->Stats().seals, 1u);
  EXPECT_EQ(store->Stats().disk_bytes, files_after_first);
  store.reset();
  store = OpenStore();
  EXPECT_EQ(store->Stats().sealed_shards, 1u);
  EXPECT_EQ(store->Stats().seals, 0u) << "a clean reopen seals nothing again";
  EXPECT_EQ(History(*store, {"Pod", "ns", "p", ""}, {kT0, kT0 + kHour}).size(), 1u);
}

TEST_F(StoreTest, ACopiedStoreDirectoryOpensElsewhere) {
  {
    auto store = OpenStore();
    for (int i = 0; i < 30; ++i) {
      ASSERT_TRUE(store
                      ->Append(mk_.Pod(kT0 + i * 10 * kMin, "ns", "p" + std::to_string(i % 3),
                                       "u" + std::to_string(i % 3), i))
                      .has_value());
    }
  }
  fs::path copy = dir_.string() + "-copy";
  fs::remove_all(copy);
  fs::copy(dir_, copy, fs::copy_options::recursive);
  fs::remove_all(dir_);
  StoreOptions o = Options();
  o.root = copy;
  auto store = OpenStore(o);
  size_t total = 0;
  for (int p = 0; p < 3; ++p) {
    total +=
        History(*store, {"Pod", "ns", "p" + std::to_string(p), ""}, {kT0, kT0 + 6 * kHour}).size();
  }
  EXPECT_EQ(total, 30u);
  store.reset();
  fs::remove_all(copy);
}

TEST_F(StoreTest, ReadOnlyStoreRefusesAppends) {
  {
    auto store = OpenStore();
    ASSERT_TRUE(store->Append(mk_.Pod(kT0, "ns", "p", "u", 1)).has_value());
  }
  StoreOptions o = Options();
  o.read_only = true;
  auto store = OpenStore(o);
  auto r = store->Append(mk_.Pod(kT0 + kSec, "ns", "p", "u", 2));
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("read-only"), std::string::npos);
  EXPECT_EQ(History(*store, {"Pod", "ns", "p", ""}, {kT0, kT0 + kHour}).size(), 1u);
}

}  // namespace
}  // namespace sloop

namespace sloop {
namespace {

// ---- one process at a time (issue 15, item 7)

TEST_F(StoreTest, SecondOpenerInTheSameProcessIsRefusedNamingThePidAndTheLock) {
  auto first = OpenStore();
  ASSERT_TRUE(first);
  for (bool read_only : {false, true}) {
    StoreOptions o = Options();
    o.read_only = read_only;
    auto second = Store::Open(o);
    ASSERT_FALSE(second.has_value()) << "a second Store opened a locked store";
    EXPECT_EQ(second.error().code, ErrorCode::kUnavailable);
    EXPECT_NE(second.error().message.find("in use by process " + std::to_string(getpid())),
              std::string::npos)
        << second.error().message;
    EXPECT_NE(second.error().message.find((dir_ / "LOCK").string()), std::string::npos)
        << second.error().message;
  }
  // The first goes on working; once it is closed, the store opens again.
  ASSERT_TRUE(first->Append(mk_.Pod(kT0, "ns", "p", "u", 1)).has_value());
  first.reset();
  auto again = OpenStore();
  ASSERT_TRUE(again);
  EXPECT_EQ(History(*again, {"Pod", "ns", "p", ""}, {kT0, kT0 + kHour}).size(), 1u);
}

TEST_F(StoreTest, SecondProcessIsRefusedAndTheLockDiesWithItsHolder) {
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(ready[0]);
    auto store = Store::Open(Options());
    if (!store) _exit(2);
    if (!(*store)->Append(mk_.Pod(kT0, "ns", "p", "u", 1)) || !(*store)->Flush()) _exit(3);
    char c = 'r';
    if (::write(ready[1], &c, 1) != 1) _exit(4);
    for (;;) ::pause();  // holds the store until killed
  }
  ::close(ready[1]);
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1) << "the child did not open the store";
  ::close(ready[0]);
  auto second = Store::Open(Options());
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(second.error().message.find("in use by process " + std::to_string(pid)),
            std::string::npos)
      << second.error().message;
  // kill -9: no clean-up runs, yet the kernel releases the lock with the process.
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  auto store = OpenStore();
  ASSERT_TRUE(store);
  EXPECT_EQ(History(*store, {"Pod", "ns", "p", ""}, {kT0, kT0 + kHour}).size(), 1u);
}

}  // namespace
}  // namespace sloop

namespace sloop {
namespace {

// ---- -shard-duration changed on an existing store (issue 15, item 11)

// 1 h shards, then 10 m, then 1 h again (whose window starts before the last 10 m ones): shards
// are read in the order of their records, and retention deletes the oldest history first.
TEST_F(StoreTest, ChangingTheShardDurationKeepsHistoryOrderAndRetentionOldestFirst) {
  const int kNames = 5;
  int64_t minute = 0;
  auto write = [&](std::chrono::minutes duration, int64_t until_minute) {
    StoreOptions o = Options();
    o.shard_duration = duration;
    auto store = OpenStore(o);
    ASSERT_TRUE(store);
    for (; minute < until_minute; ++minute) {
      now_ = kT0 + minute * kMin;
      const std::string n = std::to_string(minute % kNames);
      ASSERT_TRUE(store->Append(mk_.Pod(now_, "ns", "p" + n, "u" + n, static_cast<int>(minute)))
                      .has_value());
    }
  };
  write(std::chrono::minutes(60), 150);  // three 1 h shards
  write(std::chrono::minutes(10), 205);  // 10 m shards from 150 to 205
  write(std::chrono::minutes(60), 240);  // a 1 h window [180, 240): starts before 190..200
  now_ = kT0 + 240 * kMin;

  std::vector<ShardInfo> shards;
  {
    auto store = OpenStore();
    shards = store->Shards();
    ASSERT_GE(shards.size(), 9u);
    for (size_t i = 1; i < shards.size(); ++i) {
      EXPECT_LE(shards[i - 1].max_ns, shards[i].min_ns)
          << "shard " << shards[i - 1].id << " is read before " << shards[i].id
          << " but holds later records";
    }
    for (int p = 0; p < kNames; ++p) {
      auto h = History(*store, {"Pod", "ns", "p" + std::to_string(p), ""}, {kT0, now_});
      EXPECT_EQ(h.size(), 48u);
      for (size_t i = 1; i < h.size(); ++i) EXPECT_LT(h[i - 1].observed_ns, h[i].observed_ns);
    }
  }
  // Retention by size with room for about half: what goes is always older than what stays.
  uint64_t total = 0;
  for (const auto& s : shards) total += s.segment_bytes + s.index_bytes;
  StoreOptions o = Options();
  o.gc_threshold = 1.0;
  o.max_disk_bytes = total / 2;
  auto store = OpenStore(o);
  ASSERT_TRUE(store->Maintain().has_value());
  auto kept = store->Shards();
  ASSERT_FALSE(kept.empty());
  ASSERT_LT(kept.size(), shards.size());
  std::set<uint64_t> kept_ids;
  int64_t oldest_kept = INT64_MAX;
  for (const auto& s : kept) {
    kept_ids.insert(s.id);
    oldest_kept = std::min(oldest_kept, s.max_ns);
  }
  for (const auto& s : shards) {
    if (!kept_ids.count(s.id)) EXPECT_LT(s.max_ns, oldest_kept) << "shard " << s.id;
  }
  EXPECT_EQ(History(*store, {"Pod", "ns", "p4", ""}, {kT0 + 239 * kMin, now_}).size(), 1u)
      << "the newest record was deleted";
}

// A store written by a build with only block format 1: its arrival-order file (here the segment
// fixture written by that build) is recovered, sealed in format 2 with a dictionary, and read.
TEST_F(StoreTest, AnArrivalOrderFileOfBlockFormatOneIsRecoveredSealedAndRead) {
  fs::create_directories(dir_ / "shards");
  fs::copy_file(std::string(SLOOP_TESTDATA_DIR) + "/segments/format-v1.seg",
                dir_ / "shards" / "0000000001.active");
  const auto want = testing::FormatV1Records();
  auto store = OpenStore();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->Maintain().has_value());
  EXPECT_EQ(store->Stats().sealed_shards, 1u);
  fs::path seg;
  for (const auto& e : fs::directory_iterator(dir_ / "shards")) {
    if (e.path().extension() == ".seg") seg = e.path();
  }
  ASSERT_FALSE(seg.empty());
  {
    auto reader = SegmentReader::Open(seg);
    ASSERT_TRUE(reader.has_value());
    EXPECT_EQ((*reader)->format_version(), 2u);
    EXPECT_GT((*reader)->dictionary_end(), 0u);
  }
  // Every version of Pod shop/checkout-0, byte for byte, in time order.
  std::vector<std::string> expected;
  for (const auto& r : want) {
    if (r.kind == "Pod" && r.name == "checkout-0") expected.push_back(r.payload);
  }
  ASSERT_EQ(expected.size(), 4u);
  std::vector<std::string> got;
  for (const auto& r : History(*store, {"Pod", "shop", "checkout-0", ""}, {0, kT0 + kHour})) {
    got.push_back(r.payload);
  }
  EXPECT_EQ(got, expected);
  // And the Events, with their fields.
  size_t events = 0;
  ASSERT_TRUE(store
                  ->Events({"Pod", "shop", "checkout-2", ""}, {0, kT0 + kHour},
                           [&](const RecordView& v) {
                             EXPECT_TRUE(v.event.has_value());
                             if (v.event) EXPECT_EQ(v.event->involved_name, "checkout-2");
                             ++events;
                             return true;
                           })
                  .has_value());
  EXPECT_EQ(events, 4u);
}

// A store sealed by a build with only block format 1 (as this one writes with block_format 1)
// opens in this build and answers from its format 1 shards next to new format 2 ones.
TEST_F(StoreTest, ShardsSealedInBlockFormatOneAreReadNextToNewOnes) {
  std::vector<std::string> payloads;
  {
    StoreOptions o = Options();
    o.writer.block_format = segment_format::kBlockRecords;
    auto store = OpenStore(o);
    for (int i = 0; i < 20; ++i) {
      RecordView r = mk_.Pod(kT0 + i * kMin, "ns", "p", "u", i + 1);
      payloads.emplace_back(r.payload);
      ASSERT_TRUE(store->Append(r).has_value());
    }
    ASSERT_TRUE(store->SealActive().has_value());
  }
  auto store = OpenStore();
  for (int i = 0; i < 20; ++i) {
    RecordView r = mk_.Pod(kT0 + kHour + i * kMin, "ns", "p", "u", 100 + i);
    payloads.emplace_back(r.payload);
    ASSERT_TRUE(store->Append(r).has_value());
  }
  ASSERT_TRUE(store->SealActive().has_value());
  std::map<uint32_t, int> by_version;
  for (const auto& e : fs::directory_iterator(dir_ / "shards")) {
    if (e.path().extension() != ".seg") continue;
    auto reader = SegmentReader::Open(e.path());
    ASSERT_TRUE(reader.has_value());
    ++by_version[(*reader)->format_version()];
  }
  EXPECT_EQ(by_version[1], 1);
  EXPECT_EQ(by_version[2], 1);
  std::vector<std::string> got;
  for (const auto& r : History(*store, {"Pod", "ns", "p", ""}, {0, kT0 + 3 * kHour})) {
    got.push_back(r.payload);
  }
  EXPECT_EQ(got, payloads);
}

}  // namespace
}  // namespace sloop
