// The `faults` suite: damaged, truncated and foreign files of every kind in a store, a disk that
// fills up (injected into SegmentWriter, and a real tiny tmpfs when mounting is allowed), failed
// seals, and kill -9 after the sync interval. In every case the store opens, every record still
// readable is served, nothing is deleted silently, and the counters say what was found.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <random>
#include <set>
#include <thread>

#include "engine/seal_faults.h"
#include "engine/store.h"
#include "index/index_reader.h"
#include "segments/segment_format.h"
#include "segments/segment_reader.h"
#include "segments/segment_writer.h"
#include "tests/engine/record_maker.h"

namespace sloop {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr int64_t kSec = 1000000000LL;
constexpr int64_t kHour = 3600 * kSec;
constexpr int64_t kT0 = 1795165200LL * kSec;  // on an hour boundary
constexpr int kPods = 40;

std::string PodName(int i) { return "pod-" + std::to_string(i % kPods); }

// A disk with `room` bytes left: a write past it is cut short, then fails with ENOSPC.
struct FillingDisk {
  std::shared_ptr<std::atomic<int64_t>> room =
      std::make_shared<std::atomic<int64_t>>(int64_t{1} << 40);
  void Install(WriterOptions* o) const {
    o->pwrite_fn = [room = room](int fd, const void* buf, size_t n, off_t off) -> ssize_t {
      int64_t left = room->load();
      if (left <= 0) {
        errno = ENOSPC;
        return -1;
      }
      ssize_t w = ::pwrite(fd, buf, std::min<size_t>(n, static_cast<size_t>(left)), off);
      if (w > 0) room->fetch_sub(w);
      return w;
    };
  }
};

class FaultsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("sloop-faults-test-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
    fs::remove_all(dir_);
  }

  fs::path Shards() const { return dir_ / "shards"; }

  StoreOptions Options() {
    StoreOptions o;
    o.root = dir_;
    o.background = false;
    o.now_ns = [] { return kT0 + 100 * kHour; };  // every window has closed: shards seal
    o.writer.target_block_bytes = 8 * 1024;
    o.sealed_block_bytes = 8 * 1024;  // many sealed blocks, so that one can be damaged alone
    o.seal_retry_initial = std::chrono::milliseconds(0);
    return o;
  }

  std::unique_ptr<Store> Open(StoreOptions o) {
    auto s = Store::Open(std::move(o));
    EXPECT_TRUE(s.has_value()) << (s ? "" : s.error().ToString());
    return s ? std::move(*s) : nullptr;
  }

  // Appends n records (kPods pods, one shard) and returns how many were accepted.
  size_t Fill(Store& store, int n, int first = 0) {
    size_t ok = 0;
    for (int i = first; i < first + n; ++i) {
      if (store.Append(mk_.Pod(kT0 + i * kSec / 10, "ns", PodName(i), "u" + PodName(i), i))) ++ok;
    }
    return ok;
  }

  // Every record the store serves, reading each pod's history (any query error fails).
  size_t Readable(const Store& store) {
    size_t n = 0;
    for (int p = 0; p < kPods; ++p) {
      auto h = store.History({"Pod", "ns", PodName(p), ""}, {0, kT0 + 10 * kHour}, false,
                             [&](const RecordView&) {
                               ++n;
                               return true;
                             });
      EXPECT_TRUE(h.has_value()) << h.error().ToString();
    }
    return n;
  }

  // Records the store's indexes count.
  static uint64_t Indexed(const Store& store) {
    uint64_t n = 0;
    for (const auto& s : store.Shards()) n += s.records;
    return n;
  }

  std::vector<fs::path> FilesEndingWith(const std::string& suffix) const {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(Shards())) {
      if (e.path().filename().string().ends_with(suffix)) out.push_back(e.path());
    }
    return out;
  }

  // Files a failed seal must not leave behind.
  std::vector<fs::path> Temporaries() const {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(Shards())) {
      std::string name = e.path().filename().string();
      if (name.find(".run") != std::string::npos || name.ends_with(".tmp")) out.push_back(e.path());
    }
    return out;
  }

  // A sealed store of n records; returns the .seg path.
  fs::path SealedStore(int n) {
    {
      auto store = Open(Options());
      EXPECT_EQ(Fill(*store, n), static_cast<size_t>(n));
    }
    auto segs = FilesEndingWith(".seg");
    EXPECT_EQ(segs.size(), 1u);
    return segs.empty() ? fs::path() : segs[0];
  }

  static std::vector<BlockHandle> Blocks(const fs::path& path) {
    auto r = SegmentReader::Open(path);
    EXPECT_TRUE(r.has_value());
    auto b = (*r)->ListBlocks(nullptr);
    return b ? *b : std::vector<BlockHandle>{};
  }

  static void FlipByte(const fs::path& path, uint64_t offset) {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(offset));
    char c = 0;
    f.get(c);
    f.seekp(static_cast<std::streamoff>(offset));
    f.put(static_cast<char>(c ^ 0x20));
  }

  bool MountTmpfs(const std::string& size) {
    std::string opts = "size=" + size;
    if (::mount("tmpfs", dir_.c_str(), "tmpfs", 0, opts.c_str()) != 0) return false;
    mounted_ = true;
    return true;
  }

  // Four hours of Pods, each hour creating, deleting or changing others (what a carry-over from
  // the wrong shard would get wrong): 0..9 created in hour 0; in hour 1 pod 0 deleted, pod 20
  // created, pod 1 changed; in hour 2 pod 30 created, pod 2 changed; in hour 3 pod 3 changed.
  // appended(hour) is called before the first record of each hour after the first.
  template <typename Appended>
  void FourHours(Store& store, const Appended& appended) {
    auto pod = [&](int64_t t, int i, int rv, WatchType type = WatchType::kModified) {
      return mk_.Pod(t, "ns", PodName(i), "u" + PodName(i), rv, type);
    };
    for (int i = 0; i < 10; ++i) {
      ASSERT_TRUE(store.Append(pod(kT0 + i * kSec, i, 100 + i, WatchType::kAdded)));
    }
    const int64_t h1 = kT0 + kHour, h2 = kT0 + 2 * kHour, h3 = kT0 + 3 * kHour;
    appended(store, 1, pod(h1 + 10 * kSec, 0, 200, WatchType::kDeleted));
    ASSERT_TRUE(store.Append(pod(h1 + 20 * kSec, 20, 201, WatchType::kAdded)));
    ASSERT_TRUE(store.Append(pod(h1 + 30 * kSec, 1, 202)));
    appended(store, 2, pod(h2 + 10 * kSec, 30, 300, WatchType::kAdded));
    ASSERT_TRUE(store.Append(pod(h2 + 20 * kSec, 2, 301)));
    appended(store, 3, pod(h3 + 10 * kSec, 3, 400));
  }

  // Which Pods a store says lived at the end of each of those hours, and which live now.
  static std::string LivePods(const Store& store) {
    std::string out;
    for (int h = 0; h < 4; ++h) {
      auto at = store.ObjectsAt("Pod", "ns", kT0 + (h + 1) * kHour - kSec, nullptr);
      EXPECT_TRUE(at) << at.error().ToString();
      std::vector<std::string> names;
      if (at) {
        for (const ObjectAt& o : *at) names.push_back(o.key.name + "/" + o.key.uid);
      }
      std::sort(names.begin(), names.end());
      out += "hour " + std::to_string(h) + ":";
      for (const auto& n : names) out += " " + n;
      out += "\n";
    }
    std::vector<std::string> live;
    for (const LiveObject& o : store.LiveObjects("", "Pod", "ns")) live.push_back(o.name);
    std::sort(live.begin(), live.end());
    out += "live:";
    for (const auto& n : live) out += " " + n;
    return out + "\n";
  }

  // LivePods of a store of FourHours written with nothing going wrong, in another directory.
  std::string LivePodsAsWritten() {
    const fs::path saved = dir_;
    dir_ = dir_ / "reference";
    fs::create_directories(dir_);
    std::string answers;
    {
      auto store = Open(Options());
      EXPECT_TRUE(store);
      if (!store) return answers;
      FourHours(*store, [](Store& s, int, const RecordView& r) { ASSERT_TRUE(s.Append(r)); });
      EXPECT_TRUE(store->Close());
      answers = LivePods(*store);
    }
    dir_ = saved;
    return answers;
  }

  fs::path dir_;
  bool mounted_ = false;
  testing::RecordMaker mk_;
};

TEST_F(FaultsTest, ActiveSegmentTornAtRandomOffsets) {
  // An arrival-order file as a crash leaves it (the process died with it open).
  fs::path original = dir_ / "original.active";
  {
    WriterOptions w;
    w.target_block_bytes = 8 * 1024;
    auto writer = SegmentWriter::Create(original, w);
    ASSERT_TRUE(writer.has_value());
    for (int i = 0; i < 400; ++i) {
      ASSERT_TRUE((*writer)
                      ->Append(mk_.Pod(kT0 + i * kSec / 10, "ns", PodName(i), "u" + PodName(i), i))
                      .has_value());
    }
    ASSERT_TRUE((*writer)->Close().has_value());
  }
  const auto blocks = Blocks(original);
  ASSERT_GT(blocks.size(), 5u);
  const uint64_t size = fs::file_size(original);
  std::mt19937_64 rng(15);
  for (int round = 0; round < 12; ++round) {
    uint64_t cut = round == 0 ? segment_format::kFileHeaderSize + 3 : rng() % size;
    uint64_t whole = 0;  // records in blocks wholly before the cut
    for (const auto& b : blocks) {
      if (b.offset + b.frame_bytes <= cut) whole += b.record_count;
    }
    fs::remove_all(Shards());
    fs::create_directories(Shards());
    fs::path active = Shards() / "0000000001.active";
    fs::copy_file(original, active);
    fs::resize_file(active, cut);
    auto store = Open(Options());
    ASSERT_TRUE(store) << "cut at " << cut;
    EXPECT_EQ(Readable(*store), whole) << "cut at " << cut;
    EXPECT_EQ(Indexed(*store), whole) << "cut at " << cut;
    if (whole == 0 && cut != 0 && cut != segment_format::kFileHeaderSize) {
      // Bytes that hold no whole block are set aside, not deleted (only a file with nothing
      // in it, or just a header, is removed).
      EXPECT_EQ(FilesEndingWith(".active.damaged").size(), 1u) << "cut at " << cut;
      EXPECT_EQ(store->Stats().damaged_files_set_aside, 1u);
    } else if (whole) {
      uint64_t good_end = segment_format::kFileHeaderSize;
      for (const auto& b : blocks) {
        if (b.offset + b.frame_bytes <= cut) good_end = b.offset + b.frame_bytes;
      }
      EXPECT_EQ(store->Stats().recovered_bytes_dropped, cut - good_end) << "cut at " << cut;
    }
  }
}

TEST_F(FaultsTest, FlippedByteInASealedBlockSkipsThatBlockOnly) {
  fs::path seg = SealedStore(600);
  auto blocks = Blocks(seg);
  ASSERT_GE(blocks.size(), 4u);
  const BlockHandle& bad = blocks[blocks.size() / 2];
  FlipByte(seg, bad.offset + segment_format::kBlockHeaderSize + bad.frame_bytes / 3);
  auto store = Open(Options());
  ASSERT_TRUE(store);
  // Found only when read: every query answers with the rest.
  EXPECT_EQ(Readable(*store), 600u - bad.record_count);
  EXPECT_EQ(store->Stats().corrupt_blocks_skipped, 1u);
  EXPECT_EQ(Readable(*store), 600u - bad.record_count);  // counted once, however often met
  EXPECT_EQ(store->Stats().corrupt_blocks_skipped, 1u);
  EXPECT_TRUE(fs::exists(seg));
}

// An index read through the next shard's (docs/format/index.md) whose base is damaged: the base
// is rebuilt from its segment, and the index reading it (which no longer finds the file it was
// written against, unless the rebuilt one is the same) too. Nothing is lost either way.
TEST_F(FaultsTest, DamagedBaseIndexIsRebuiltWithTheIndexesReadingIt) {
  constexpr int kHours = 4;
  {
    auto store = Open(Options());
    ASSERT_TRUE(store);
    for (int h = 0; h < kHours; ++h) {
      for (int i = 0; i < 200; ++i) {
        // Half the pods change each hour: the others are carried over unchanged.
        if (h > 0 && i % 2) continue;
        ASSERT_TRUE(store->Append(mk_.Pod(kT0 + h * kHour + i * kSec, "ns", PodName(i),
                                          "u" + PodName(i), h * 1000 + i)));
      }
    }
    ASSERT_TRUE(store->Close());
    // Shards 2 and 3, as 3 and 4 were sealed. Shard 1, whose every entry has records of its
    // own, stays whole: rewritten, it would not be smaller.
    EXPECT_EQ(store->Stats().indexes_rebased, 2u);
  }
  ASSERT_EQ(IndexReader::BaseShardOf(Shards() / "0000000001.idx").value_or(1), 0u);
  // Shard 3 is read by shard 2 and reads shard 4.
  const fs::path first = Shards() / "0000000002.idx", base = Shards() / "0000000003.idx";
  ASSERT_EQ(IndexReader::BaseShardOf(first).value_or(0), 3u);
  ASSERT_EQ(IndexReader::BaseShardOf(base).value_or(0), 4u);
  uint64_t total = 0;
  {
    auto store = Open(Options());
    ASSERT_TRUE(store);
    total = Readable(*store);
    EXPECT_EQ(store->Stats().indexes_rebuilt, 0u);
  }
  FlipByte(base, fs::file_size(base) / 2);
  auto store = Open(Options());
  ASSERT_TRUE(store);
  EXPECT_EQ(Readable(*store), total);
  EXPECT_EQ(store->Stats().sealed_shards, static_cast<uint64_t>(kHours));
  EXPECT_EQ(store->Stats().indexes_rebuilt, 2u);
  EXPECT_TRUE(fs::exists(fs::path(base) += ".damaged"));
  // The index reading it passed its own checks: it is rebuilt, and no copy of it is kept aside
  // (disk no limit counts, for each shard of a chain behind a damaged base).
  EXPECT_FALSE(fs::exists(fs::path(first) += ".damaged"));
  EXPECT_EQ(store->Stats().damaged_files_set_aside, 1u);
}

// A damaged base behind a chain of indexes: every shard of the chain waits to be sealed again.
// Shards are sealed one at a time, so the room kept for seals is the largest one's: a limit the
// store fits under with that room deletes nothing (counting room for each deleted the newest
// shards to make it).
TEST_F(FaultsTest, ShardsWaitingToBeSealedAgainAfterADamagedBaseDeleteNothing) {
  constexpr int kHours = 6;
  {
    auto store = Open(Options());
    ASSERT_TRUE(store);
    for (int h = 0; h < kHours; ++h) {
      for (int i = 0; i < 200; ++i) {
        if (h > 0 && i % 2) continue;
        ASSERT_TRUE(store->Append(
            mk_.Pod(kT0 + h * kHour + i * kSec, "ns", PodName(i), "u" + PodName(i), h * 1000 + i)));
      }
    }
    ASSERT_TRUE(store->Close());
  }
  const fs::path base = Shards() / "0000000005.idx";  // read by 4, which 3 reads, which 2 reads
  ASSERT_EQ(IndexReader::BaseShardOf(Shards() / "0000000002.idx").value_or(0), 3u);
  ASSERT_EQ(IndexReader::BaseShardOf(base).value_or(0), 6u);
  uint64_t bytes = 0, largest = 0, total = 0;
  for (const auto& f : fs::directory_iterator(Shards())) {
    bytes += fs::file_size(f.path());
    if (f.path().extension() == ".seg") largest = std::max(largest, fs::file_size(f.path()));
  }
  {
    auto store = Open(Options());
    ASSERT_TRUE(store);
    total = Readable(*store);
  }
  FlipByte(base, fs::file_size(base) / 2);
  StoreOptions tight = Options();
  tight.max_disk_bytes = bytes + largest * 5 / 2;
  tight.gc_threshold = 1.0;
  auto store = Open(tight);
  ASSERT_TRUE(store);
  EXPECT_EQ(store->Stats().indexes_rebuilt, 4u);  // 2, 3, 4 and 5
  EXPECT_EQ(store->Stats().sealed_shards, static_cast<uint64_t>(kHours));
  EXPECT_EQ(Readable(*store), total);
}

// An Event's times in an older shard are its records' (index format 4), read from the first
// columns of its segment block. When the block holding its first records is damaged, the Event
// keeps the times of its records in the blocks after it, as its history does.
TEST_F(FaultsTest, AnEventWhoseFirstBlockIsDamagedKeepsTheTimesOfItsOtherRecords) {
  constexpr int kRecords = 200;
  const std::string event = PodName(0) + ".17c8a9b3f2e1d4a0";
  auto at = [](int k) { return kT0 + kHour + 100 * kSec + k * 7 * kSec; };
  StoreOptions o = Options();
  o.sealed_event_block_bytes = 2 * 1024;  // the Event's records in many blocks
  {
    auto store = Open(o);
    ASSERT_TRUE(store);
    for (int i = 0; i < kPods; ++i) {
      ASSERT_TRUE(store->Append(mk_.Pod(kT0 + i * kSec, "ns", PodName(i), "u" + PodName(i), i)));
    }
    // Hour 1: the Event, counted up every record (each one changes it); half the Pods change.
    for (int k = 0; k < kRecords; ++k) {
      ASSERT_TRUE(store->Append(mk_.Event(at(k), "ns", event, "Pod", PodName(0), "u" + PodName(0),
                                          "BackOff", true, k + 1, at(0), 5000 + k,
                                          k == 0 ? WatchType::kAdded : WatchType::kModified)));
    }
    for (int i = 0; i < kPods; i += 2) {
      ASSERT_TRUE(store->Append(mk_.Pod(kT0 + kHour + (2000 + i) * kSec, "ns", PodName(i),
                                        "u" + PodName(i), 100 + i)));
    }
    for (int i = 0; i < kPods; i += 3) {
      ASSERT_TRUE(store->Append(mk_.Pod(kT0 + 2 * kHour + i * kSec, "ns", PodName(i),
                                        "u" + PodName(i), 200 + i)));
    }
    ASSERT_TRUE(store->Close());
    EXPECT_EQ(store->Stats().indexes_rebased, 1u);  // shard 2's, against shard 3's
  }
  ASSERT_EQ(IndexReader::BaseShardOf(Shards() / "0000000002.idx").value_or(0), 3u);
  const fs::path seg = Shards() / "0000000002.seg";
  const auto blocks = Blocks(seg);
  ASSERT_GE(blocks.size(), 3u);
  // The Event is the first key of the shard: its first records are the first block's.
  const uint64_t lost = blocks[0].record_count;
  ASSERT_GT(lost, 0u);
  ASSERT_LT(lost, static_cast<uint64_t>(kRecords) / 2);
  std::vector<uint32_t> want;
  for (int k = static_cast<int>(lost); k < kRecords; ++k) {
    want.push_back(static_cast<uint32_t>(at(k) / kSec));
  }
  auto changes = [&](const Store& store) {
    TimelineQuery q;
    q.range = {kT0, kT0 + 3 * kHour};
    q.kind = "Event";
    auto t = store.Timeline(q);
    EXPECT_TRUE(t) << t.error().ToString();
    std::vector<uint32_t> got;
    if (!t) return got;
    for (const TimelineRow& r : t->rows) {
      if (r.key.name == event) got.assign(r.changed_at.begin(), r.changed_at.end());
    }
    return got;
  };
  {
    auto store = Open(o);
    ASSERT_TRUE(store);
    auto all = changes(*store);
    ASSERT_EQ(all.size(), static_cast<size_t>(kRecords));
    EXPECT_EQ(std::vector<uint32_t>(all.begin() + static_cast<ptrdiff_t>(lost), all.end()), want);
  }
  FlipByte(seg, blocks[0].offset + segment_format::kBlockHeaderSize + blocks[0].frame_bytes / 2);
  auto store = Open(o);
  ASSERT_TRUE(store);
  EXPECT_EQ(changes(*store), want);
  EXPECT_EQ(store->Stats().corrupt_blocks_skipped, 1u);
}

// kill -9 after a shard closed and before it was sealed (the seal fails there, as a crash would
// leave it), while the next shard records: both are reopened at start-up, and the second carries
// over what lived at the end of the first, not at the end of the newest sealed one.
TEST_F(FaultsTest, TwoShardsReopenedAfterACrashCarryOverInTheirOrder) {
  const std::string want = LivePodsAsWritten();
  ASSERT_NE(want.find("hour 2: pod-1/upod-1 pod-2/upod-2 pod-20/upod-20 "), std::string::npos) << want;
  {
    auto store = Open(Options());
    ASSERT_TRUE(store);
    FourHours(*store, [](Store& s, int hour, const RecordView& r) {
      // From hour 1 on no shard is sealed: the first record of an hour closes the shard before,
      // whose seal stops (the append fails), and is appended again to the new shard.
      if (hour == 2) InjectSealFaultForTesting(s, 1);
      if (hour >= 2) ASSERT_FALSE(s.Append(r));
      ASSERT_TRUE(s.Append(r));
    });
  }  // the destructor's seal stops too: shards 2, 3 and 4 stay arrival-order files
  for (const char* name : {"0000000002.active", "0000000003.active", "0000000004.active"}) {
    ASSERT_TRUE(fs::exists(Shards() / name)) << name;
  }
  auto store = Open(Options());
  ASSERT_TRUE(store);
  EXPECT_EQ(LivePods(*store), want);
  ASSERT_TRUE(store->Maintain());
  EXPECT_EQ(store->Stats().sealed_shards, 4u);
  EXPECT_EQ(LivePods(*store), want);
}

// A shard whose index is rebuilt from its segment at start-up carries over from the shard before
// it in time, not from the newest: its hour says what lived then, as before the damage, and so
// does every shard written after the start-up.
TEST_F(FaultsTest, AnIndexRebuiltFromItsSegmentCarriesOverFromTheShardBeforeIt) {
  const std::string want = LivePodsAsWritten();
  StoreOptions o = Options();
  o.rebase_indexes = false;  // only shard 2's index is damaged, and rebuilt
  {
    auto store = Open(o);
    ASSERT_TRUE(store);
    FourHours(*store, [](Store& s, int, const RecordView& r) { ASSERT_TRUE(s.Append(r)); });
    ASSERT_TRUE(store->Close());
    ASSERT_EQ(LivePods(*store), want);
  }
  const fs::path idx = Shards() / "0000000002.idx";
  FlipByte(idx, fs::file_size(idx) / 2);
  for (const bool background : {false, true}) {
    SCOPED_TRACE(background ? "sealed in the background" : "sealed at start-up");
    StoreOptions again = o;
    again.background = background;
    auto store = Open(again);
    ASSERT_TRUE(store);
    if (!background) EXPECT_EQ(store->Stats().indexes_rebuilt, 1u);
    // A record of a fifth hour, before the rebuilt shard is sealed in the background: the new
    // shard carries over from the newest, not from the one being sealed again.
    ASSERT_TRUE(store->Append(mk_.Pod(kT0 + 4 * kHour + kSec, "ns", PodName(4), "u" + PodName(4),
                                      500 + background)));
    ASSERT_TRUE(store->Maintain());
    const std::string got = LivePods(*store);
    EXPECT_EQ(got, want);
    auto at = store->ObjectsAt("Pod", "ns", kT0 + 4 * kHour + 10 * kSec, nullptr);
    ASSERT_TRUE(at);
    std::vector<std::string> names;
    for (const ObjectAt& a : *at) names.push_back(a.key.name);
    std::sort(names.begin(), names.end());
    EXPECT_EQ(names.size(), 11u);  // 0..9 and 20, 30, less 0
    EXPECT_FALSE(std::binary_search(names.begin(), names.end(), PodName(0)));
    EXPECT_TRUE(std::binary_search(names.begin(), names.end(), PodName(30)));
    ASSERT_TRUE(store->Close());
  }
}

// A shard sealed early (by its size) and rebuilt from its segment while its window is still
// open is older than the shard sealed after it in that window: it is sealed again, and the next
// record starts a new shard after both, so that what is newest is read as newest (a payload at
// a time, the carry-over, the live objects).
TEST_F(FaultsTest, ARebuiltShardOlderThanASealedOneTakesNoNewRecords) {
  StoreOptions o = Options();
  o.rebase_indexes = false;                   // only shard 1's index is damaged, and rebuilt
  o.now_ns = [] { return kT0 + 30 * kSec; };  // the hour of kT0 is still open
  const std::string name = PodName(0), uid = "u" + name;
  const ResourceKeyView key{"Pod", "ns", name, uid};
  {
    auto store = Open(o);
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->Append(mk_.Pod(kT0, "ns", PodName(0), "u" + PodName(0), 1)));
    ASSERT_TRUE(store->SealActive());
    ASSERT_TRUE(store->Append(mk_.Pod(kT0 + 10 * kSec, "ns", PodName(0), "u" + PodName(0), 2)));
    ASSERT_TRUE(store->SealActive());
    ASSERT_TRUE(store->Close());
  }
  const fs::path idx = Shards() / "0000000001.idx";
  FlipByte(idx, fs::file_size(idx) / 2);
  auto store = Open(o);
  ASSERT_TRUE(store);
  EXPECT_EQ(store->Stats().indexes_rebuilt, 1u);
  ASSERT_TRUE(store->Append(mk_.Pod(kT0 + 20 * kSec, "ns", PodName(0), "u" + PodName(0), 3)));
  auto at = store->PayloadAt(key, kT0 + 25 * kSec);
  ASSERT_TRUE(at);
  ASSERT_TRUE(at->has_value());
  EXPECT_EQ((*at)->resource_version, "3") << "the newest version is the one read";
  std::vector<std::string> versions;
  ASSERT_TRUE(store->History(key, {kT0 - kHour, kT0 + kHour}, false, [&](const RecordView& r) {
    versions.emplace_back(r.resource_version);
    return true;
  }));
  EXPECT_EQ(versions, (std::vector<std::string>{"1", "2", "3"})) << "in time order";
  uint64_t newest = 0;
  for (const ShardInfo& i : store->Shards()) {
    if (!i.sealed) newest = i.id;
  }
  EXPECT_GT(newest, 2u) << "the record started a shard after both";
  ASSERT_TRUE(store->Close());
}

// A block of the arrival-order file damaged between its write and the seal: the seal skips it,
// and a resource whose every record was in it keeps its entry (its records were counted as they
// came) with none of them in the segment. Its history answers at once, with nothing.
TEST_F(FaultsTest, AResourceWhoseRecordsWereAllLostBeforeTheSealHasAnEmptyHistory) {
  auto store = Open(Options());
  ASSERT_TRUE(store);
  ASSERT_EQ(Fill(*store, kPods), static_cast<size_t>(kPods));
  ASSERT_TRUE(store->Flush());
  const fs::path active = Shards() / "0000000001.active";
  const auto blocks = Blocks(active);
  ASSERT_GE(blocks.size(), 3u);
  const uint64_t first_lost = blocks[0].record_count, lost = blocks[1].record_count;
  FlipByte(active, blocks[1].offset + segment_format::kBlockHeaderSize + blocks[1].frame_bytes / 2);
  ASSERT_TRUE(store->SealActive());
  {
    auto index = IndexReader::Open(Shards() / "0000000001.idx");
    ASSERT_TRUE(index) << index.error().ToString();
    const std::string name = PodName(static_cast<int>(first_lost));
    const uint32_t i = (*index)->FindExact({"Pod", "ns", name, "u" + name});
    ASSERT_LT(i, (*index)->size());
    EXPECT_EQ((*index)->entry(i).record_count(), 1u);
    EXPECT_EQ((*index)->entry(i).first_block(), 0u) << "its record is not in the segment";
  }
  // Every history, in a thread: the test fails, rather than hangs, if one never returns.
  auto readable = std::async(std::launch::async, [&] { return Readable(*store); });
  if (readable.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
    ADD_FAILURE() << "a history did not return";
    std::_Exit(1);
  }
  EXPECT_EQ(readable.get(), kPods - lost);
}

TEST_F(FaultsTest, DamagedIndexIsRebuiltFromTheSegment) {
  for (int variant = 0; variant < 2; ++variant) {
    SCOPED_TRACE(variant == 0 ? "flipped byte" : "truncated");
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    fs::path seg = SealedStore(600);
    fs::path idx = fs::path(seg).replace_extension(".idx");
    const uint64_t size = fs::file_size(idx);
    if (variant == 0) {
      FlipByte(idx, size / 2);
    } else {
      fs::resize_file(idx, size / 2);
    }
    auto store = Open(Options());
    ASSERT_TRUE(store);
    EXPECT_EQ(Readable(*store), 600u);
    EXPECT_EQ(Indexed(*store), 600u);
    EXPECT_EQ(store->Stats().indexes_rebuilt, 1u);
    EXPECT_EQ(store->Stats().sealed_shards, 1u);
    EXPECT_TRUE(fs::exists(fs::path(idx) += ".damaged"));  // kept for a person to look at
    EXPECT_TRUE(fs::exists(idx));                          // and a new one in its place
  }
}

TEST_F(FaultsTest, ASecondDamagedIndexDoesNotReplaceTheFirst) {
  fs::path seg = SealedStore(200);
  fs::path idx = fs::path(seg).replace_extension(".idx");
  for (int round = 0; round < 2; ++round) {
    fs::resize_file(idx, fs::file_size(idx) / 2);
    auto store = Open(Options());
    ASSERT_TRUE(store);
    EXPECT_EQ(Readable(*store), 200u);
  }
  EXPECT_TRUE(fs::exists(fs::path(idx) += ".damaged"));
  EXPECT_TRUE(fs::exists(fs::path(idx) += ".damaged.1"));
}

TEST_F(FaultsTest, TruncatedSealedSegmentKeepsItsGoodBlocks) {
  fs::path seg = SealedStore(600);
  auto blocks = Blocks(seg);
  ASSERT_GE(blocks.size(), 4u);
  const BlockHandle& cut_in = blocks[blocks.size() - 2];
  uint64_t keep = 0;
  for (const auto& b : blocks) {
    if (b.offset < cut_in.offset) keep += b.record_count;
  }
  fs::resize_file(seg, cut_in.offset + cut_in.frame_bytes / 2);
  auto store = Open(Options());
  ASSERT_TRUE(store);
  EXPECT_EQ(Readable(*store), keep);
  EXPECT_EQ(Indexed(*store), keep);
  auto st = store->Stats();
  EXPECT_EQ(st.indexes_rebuilt, 1u);
  EXPECT_GT(st.recovered_bytes_dropped, 0u);
  EXPECT_EQ(FilesEndingWith(".idx.damaged").size(), 1u);
}

TEST_F(FaultsTest, ZeroLengthAndForeignFilesWithShardNames) {
  SealedStore(300);
  auto write = [&](const std::string& name, const std::string& bytes) {
    std::ofstream(Shards() / name, std::ios::binary) << bytes;
  };
  std::string garbage(5000, '\0');
  std::mt19937 rng(7);
  for (char& c : garbage) c = static_cast<char>(rng());
  write("0000000090.seg", "");
  write("0000000091.idx", "");
  write("0000000092.active", "");  // created, then killed before its header: holds nothing
  write("0000000093.active", garbage);
  write("0000000094.seg", garbage);
  write("0000000095.seg", garbage);
  write("0000000095.idx", garbage);
  std::string header(segment_format::kFileMagic, 8);
  header += std::string("\x01\0\0\0\0\0\0\0", 8);
  write("0000000096.active", header + garbage);  // a segment header and no good block
  auto store = Open(Options());
  ASSERT_TRUE(store);
  EXPECT_EQ(Readable(*store), 300u);
  for (const char* name :
       {"0000000090.seg.damaged", "0000000093.active.damaged", "0000000094.seg.damaged",
        "0000000095.seg.damaged", "0000000095.idx.damaged", "0000000096.active.damaged"}) {
    EXPECT_TRUE(fs::exists(Shards() / name)) << name;
  }
  EXPECT_FALSE(fs::exists(Shards() / "0000000092.active"));
  // An index without its segment holds nothing to read or keep (retention leaves one when the
  // process dies between its two unlinks): removed, not set aside as damage.
  EXPECT_FALSE(fs::exists(Shards() / "0000000091.idx"));
  EXPECT_FALSE(fs::exists(Shards() / "0000000091.idx.damaged"));
  EXPECT_EQ(store->Stats().damaged_files_set_aside, 6u);
  // Set aside once: opening again finds nothing new.
  store.reset();
  store = Open(Options());
  ASSERT_TRUE(store);
  EXPECT_EQ(Readable(*store), 300u);
  EXPECT_EQ(store->Stats().damaged_files_set_aside, 0u);
}

TEST_F(FaultsTest, InjectedFullDiskKeepsIndexAndSegmentInAgreement) {
  FillingDisk disk;
  StoreOptions o = Options();
  disk.Install(&o.writer);
  o.seal_sort_budget_bytes = 64 * 1024;  // the seal sorts in runs (the files it must clean up)
  auto store = Open(o);
  ASSERT_TRUE(store);
  size_t ok = Fill(*store, 300);
  ASSERT_EQ(ok, 300u);
  disk.room->store(150 * 1024);  // fills part-way through the next appends
  size_t more = Fill(*store, 1500, 300);
  EXPECT_LT(more, 1500u);
  ok += more;
  // Every record the index counts can be read, and no other.
  EXPECT_EQ(Indexed(*store), ok);
  EXPECT_EQ(Readable(*store), ok);
  EXPECT_EQ(store->Stats().records_appended, ok);
  // On the full disk, the active shard cannot even write its last block to be sealed.
  EXPECT_FALSE(store->SealActive().has_value());
  EXPECT_TRUE(Temporaries().empty());
  EXPECT_EQ(Readable(*store), ok);
  // Room for that block but not for the sealed copy: the seal fails part-way through its sorted
  // runs, and leaves no temporary behind.
  disk.room->store(64 * 1024);
  EXPECT_FALSE(store->SealActive().has_value());
  EXPECT_GE(store->Stats().seal_failures, 1u);
  EXPECT_TRUE(Temporaries().empty());
  EXPECT_EQ(Readable(*store), ok);
  // Space comes back: the seal goes through, and a reopened store holds exactly what was
  // accepted.
  disk.room->store(int64_t{1} << 40);
  ASSERT_TRUE(store->Maintain().has_value());
  EXPECT_EQ(store->Stats().sealed_shards, 1u);
  EXPECT_TRUE(Temporaries().empty());
  store.reset();
  store = Open(Options());
  ASSERT_TRUE(store);
  EXPECT_EQ(Readable(*store), ok);
  EXPECT_EQ(Indexed(*store), ok);
}

TEST_F(FaultsTest, AFailedSealIsNotRetriedBeforeItsBackoff) {
  FillingDisk disk;
  StoreOptions o = Options();
  disk.Install(&o.writer);
  o.seal_retry_initial = std::chrono::hours(1);
  auto store = Open(o);
  ASSERT_TRUE(store);
  ASSERT_EQ(Fill(*store, 200), 200u);
  ASSERT_TRUE(store->Flush().has_value());
  disk.room->store(0);
  EXPECT_FALSE(store->SealActive().has_value());
  EXPECT_EQ(store->Stats().seal_failures, 1u);
  disk.room->store(int64_t{1} << 40);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(store->Maintain().has_value());
  EXPECT_EQ(store->Stats().seal_failures, 1u);  // within the backoff: not attempted
  EXPECT_EQ(store->Stats().sealed_shards, 0u);
  EXPECT_EQ(Readable(*store), 200u);        // the waiting shard is read meanwhile
  ASSERT_TRUE(store->Close().has_value());  // Close seals whatever the backoff says
  store.reset();                            // and the lock goes with the store
  store = Open(Options());
  ASSERT_TRUE(store);
  EXPECT_EQ(store->Stats().sealed_shards, 1u);
  EXPECT_EQ(Readable(*store), 200u);
}

TEST_F(FaultsTest, RealTinyTmpfsFillsUpAndRecovers) {
  if (!MountTmpfs("400k")) {
    GTEST_SKIP() << "cannot mount a tmpfs on " << dir_ << " (" << std::strerror(errno)
                 << "): needs root or CAP_SYS_ADMIN; the injected full disk covers the same paths";
  }
  StoreOptions o = Options();
  o.seal_sort_budget_bytes = 64 * 1024;
  // The volume's free space unknown (statvfs failing): nothing caps the active shard by it or
  // deletes shards for it, so the writes meet ENOSPC, which is what this test is about
  // (StoreTest.AVolumeSmallerThanTheLimitCapsTheActiveShard: what a known free space does).
  o.volume_free_bytes = [] { return INT64_MAX; };
  auto store = Open(o);
  ASSERT_TRUE(store);
  size_t ok = 0;
  int failures = 0;
  for (int i = 0; i < 4000 && failures < 200; ++i) {
    if (store->Append(mk_.Pod(kT0 + i * kSec / 10, "ns", PodName(i), "u" + PodName(i), i))) {
      ++ok;
    } else {
      ++failures;
    }
  }
  ASSERT_GT(failures, 0) << "the tmpfs never filled";
  EXPECT_GT(ok, 0u);
  EXPECT_EQ(Indexed(*store), ok);
  EXPECT_EQ(Readable(*store), ok);
  EXPECT_FALSE(store->SealActive().has_value());
  EXPECT_TRUE(Temporaries().empty());
  // Space comes back.
  ASSERT_EQ(::mount("tmpfs", dir_.c_str(), "tmpfs", MS_REMOUNT, "size=32m"), 0)
      << std::strerror(errno);
  ASSERT_TRUE(store->Maintain().has_value());
  EXPECT_EQ(store->Stats().sealed_shards, 1u);
  EXPECT_TRUE(Temporaries().empty());
  size_t after = Fill(*store, 100, 5000);
  EXPECT_EQ(after, 100u);
  store.reset();
  store = Open(Options());
  ASSERT_TRUE(store);
  EXPECT_EQ(Readable(*store), ok + after);
}

// Polls (bounded) until path holds n readable records, as a fresh reader after a crash sees it.
bool WaitForRecords(const fs::path& dir, size_t n) {
  auto deadline = Clock::now() + std::chrono::seconds(30);
  while (Clock::now() < deadline) {
    size_t found = 0;
    for (const auto& e : fs::directory_iterator(dir)) {
      if (e.path().extension() != ".active") continue;
      auto r = SegmentReader::Open(e.path());
      if (!r) continue;
      (void)(*r)->Scan(
          [&](const Block& b) {
            found += b.size();
            return true;
          },
          [](const CorruptBlock&) {});
    }
    if (found >= n) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

TEST_F(FaultsTest, SyncTimerWritesAQuietShardsRecordsAndKillNineKeepsThem) {
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The recorder: a quiet cluster, three records, then nothing (far from a full block).
    ::close(ready[0]);
    StoreOptions o = Options();
    o.background = true;
    o.now_ns = [] { return kT0 + kHour / 2; };  // the window stays open
    o.writer.target_block_bytes = 1 << 20;
    o.writer.sync_interval = std::chrono::milliseconds(100);
    auto store = Store::Open(o);
    if (!store) ::_exit(2);
    for (int i = 0; i < 3; ++i) {
      if (!(*store)->Append(mk_.Pod(kT0 + i * kSec, "ns", PodName(i), "u" + PodName(i), i))) {
        ::_exit(3);
      }
    }
    char c = 'k';
    if (::write(ready[1], &c, 1) != 1) ::_exit(4);
    for (;;) ::pause();
  }
  ::close(ready[1]);
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ::close(ready[0]);
  // No append after these: only the timer can write them out.
  bool written = WaitForRecords(Shards(), 3);
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(written) << "the records stayed in memory past the sync interval";
  auto store = Open(Options());
  ASSERT_TRUE(store);
  EXPECT_EQ(Readable(*store), 3u);
}

// rvs of the records in the segment files of dir (arrival-order and sealed), as a reader that
// opens them afresh sees them; false when a file vanished while read (a seal moved it).
// Files in `skip` are left out.
bool RvsOnDisk(const fs::path& dir, const std::set<fs::path>& skip, std::set<std::string>* out) {
  out->clear();
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    auto ext = e.path().extension();
    if ((ext != ".active" && ext != ".seg") || skip.count(e.path())) continue;
    auto r = SegmentReader::Open(e.path());
    if (!r) return false;
    (void)(*r)->Scan(
        [&](const Block& b) {
          for (size_t i = 0; i < b.size(); ++i) out->emplace(b.record(i).resource_version);
          return true;
        },
        [](const CorruptBlock&) {});
  }
  return !ec;
}

TEST_F(FaultsTest, KillNineLoopLosesNothingOlderThanTheSyncInterval) {
  // Each cycle: a recorder appends a steady trickle (rotating shards every minute of record
  // time, so that seals run in the background), its acknowledged records are waited for on disk
  // (the sync timer must write them: nothing else forces a block out), it runs on a little, and
  // is killed with SIGKILL at a random point (mid-append, mid-seal, mid-flush). The store must
  // then open and hold every record written before, byte-equal, none twice, none invented.
  constexpr int kCycles = 50;
  constexpr int kPerCycle = 10000;  // index space of one cycle (records are 1 s apart)
  auto record = [&](int i) {
    return mk_.Pod(kT0 + static_cast<int64_t>(i) * kSec, "ns", PodName(i), "u" + PodName(i), i);
  };
  std::mt19937 rng(42);
  std::set<int> acked_before;  // acknowledged in earlier cycles and seen on disk
  std::set<int> maybe;         // acknowledged, or attempted, too close to a kill
  std::set<int> verified;      // found and compared after an earlier kill
  for (int cycle = 0; cycle < kCycles; ++cycle) {
    SCOPED_TRACE("cycle " + std::to_string(cycle));
    // Sealed before this cycle (immutable): the wait below need not read them again.
    std::set<fs::path> old_segments;
    if (fs::exists(Shards())) {
      for (const auto& e : fs::directory_iterator(Shards())) {
        if (e.path().extension() == ".seg") old_segments.insert(e.path());
      }
    }
    int acks[2];
    ASSERT_EQ(::pipe(acks), 0);
    const int base = cycle * kPerCycle;
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      ::close(acks[0]);
      StoreOptions o = Options();
      o.background = true;
      o.shard_duration = std::chrono::minutes(2);
      o.now_ns = [] { return kT0; };  // windows close by record time, at rotation
      o.writer.target_block_bytes = 16 * 1024;
      o.writer.sync_interval = std::chrono::milliseconds(100);
      auto store = Store::Open(o);
      if (!store) ::_exit(2);
      for (int i = base; i < base + kPerCycle; ++i) {
        if (!(*store)->Append(record(i))) ::_exit(3);
        if (::write(acks[1], &i, sizeof(i)) != sizeof(i)) ::_exit(4);
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
      for (;;) ::pause();
    }
    ::close(acks[1]);
    std::vector<int> acked;
    auto drain = [&](bool block) {
      int i;
      while (true) {
        if (!block) {
          pollfd p{acks[0], POLLIN, 0};
          if (::poll(&p, 1, 0) <= 0) return;
        }
        ssize_t n = ::read(acks[0], &i, sizeof(i));
        if (n != sizeof(i)) return;
        acked.push_back(i);
      }
    };
    std::this_thread::sleep_for(std::chrono::milliseconds(50 + rng() % 250));
    drain(false);
    const std::set<int> must(acked.begin(), acked.end());
    // Wait (bounded) until every record acknowledged so far is in a file.
    bool on_disk = false;
    auto deadline = Clock::now() + std::chrono::seconds(30);
    while (!on_disk && Clock::now() < deadline) {
      std::set<std::string> rvs;
      if (RvsOnDisk(Shards(), old_segments, &rvs)) {
        on_disk = true;
        for (int i : must) {
          if (!rvs.count(std::to_string(i))) {
            on_disk = false;
            break;
          }
        }
      }
      if (!on_disk) std::this_thread::sleep_for(std::chrono::milliseconds(20));
      drain(false);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 150));
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    drain(true);
    ::close(acks[0]);
    ASSERT_TRUE(on_disk) << "acknowledged records stayed in memory past the sync interval";
    ASSERT_TRUE(WIFSIGNALED(status)) << "the recorder exited early with " << WEXITSTATUS(status);
    for (int i : must) acked_before.insert(i);
    for (int i : acked) {
      if (!must.count(i)) maybe.insert(i);
    }
    if (!acked.empty()) maybe.insert(acked.back() + 1);  // the append in flight at the kill

    auto store = Open(Options());
    ASSERT_TRUE(store);
    // Read back what the last two cycles wrote (all of it every tenth cycle); the older records
    // were read back before, and the indexes' count says none of them went since.
    const bool full = cycle % 10 == 9 || cycle == kCycles - 1;
    const int64_t from = full ? 0 : kT0 + static_cast<int64_t>(base - kPerCycle) * kSec;
    std::set<int> found;
    for (int i : verified) {
      if (!full && kT0 + static_cast<int64_t>(i) * kSec < from) found.insert(i);
    }
    for (int p = 0; p < kPods; ++p) {
      auto h = store->History({"Pod", "ns", PodName(p), ""}, {from, kT0 + 1000 * kHour}, false,
                              [&](const RecordView& r) {
                                int i = std::stoi(std::string(r.resource_version));
                                EXPECT_TRUE(found.insert(i).second) << "record " << i << " twice";
                                if (verified.count(i)) return true;
                                // New since the cycle before: byte-equal to what was appended.
                                EXPECT_TRUE(acked_before.count(i) || maybe.count(i))
                                    << "record " << i << " was never appended";
                                RecordView want = record(i);
                                EXPECT_EQ(r.payload, want.payload) << "record " << i;
                                EXPECT_EQ(r.observed_ns, want.observed_ns) << "record " << i;
                                return true;
                              });
      ASSERT_TRUE(h.has_value()) << h.error().ToString();
    }
    for (int i : acked_before) ASSERT_TRUE(found.count(i)) << "record " << i << " was lost";
    EXPECT_EQ(Indexed(*store), found.size());
    // What survived of the uncertain ones is kept from now on, like the rest.
    for (int i : found) acked_before.insert(i);
    verified = found;
    EXPECT_EQ(store->Stats().damaged_files_set_aside, 0u);
    ASSERT_TRUE(store->Close().has_value());
  }
}

}  // namespace
}  // namespace sloop
