// Fault suite of the store (ctest label faults): a writer killed with SIGKILL at random points
// (mid-append, mid-seal, mid-recovery) loses no record it acknowledged and invents none; a restore
// killed at random points leaves the old store or the new one, whole; the disk limit holds at
// every sample of a long run. The writer is a separate program (store_fault_driver), so that a
// kill is a real kill -9 of a process holding the store's lock.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "engine/backup.h"
#include "engine/shard.h"
#include "engine/store.h"
#include "segments/segment_reader.h"
#include "tests/faults/fault_records.h"

namespace sloop::faults {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// The store's sync timer writes out a block once its oldest record waited -sync-interval: the
// driver never flushes, and every record it appended longer than the sync interval (plus the
// same again for scheduling) before the kill must survive. (false: the driver flushes after each
// batch and acknowledges what it flushed, the check before the timer existed.)
constexpr bool kSyncTimer = true;

int64_t MonotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

// A driver process, its stdout on a pipe and its stderr in a log file.
class Driver {
 public:
  Driver(const std::vector<std::string>& args, const fs::path& log) {
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], 1);
      int err = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (err >= 0) ::dup2(err, 2);
      std::vector<char*> argv;
      std::string path = SLOOP_FAULT_DRIVER;
      argv.push_back(path.data());
      std::vector<std::string> copy = args;
      for (auto& a : copy) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(path.c_str(), argv.data());
      _exit(127);
    }
    ::close(out[1]);
    out_ = out[0];
  }
  ~Driver() {
    if (pid_ > 0) Kill();
    if (out_ >= 0) ::close(out_);
  }
  bool started() const { return pid_ > 0; }

  // SIGKILL (a no-op if it has exited), then everything it printed; returns the wait status.
  int Kill() {
    if (pid_ <= 0) return status_;
    ::kill(pid_, SIGKILL);
    return Wait();
  }
  int Wait() {
    if (pid_ <= 0) return status_;
    char buf[4096];
    for (;;) {
      ssize_t n = ::read(out_, buf, sizeof(buf));
      if (n > 0) {
        output_.append(buf, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        break;
      }
    }
    ::waitpid(pid_, &status_, 0);
    pid_ = -1;
    return status_;
  }
  const std::string& output() const { return output_; }

  // Reads its output until it holds `word` (true), or it ends or timeout passes (false).
  bool WaitFor(std::string_view word, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    char buf[4096];
    while (output_.find(word) == std::string::npos) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{out_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      ssize_t n = ::read(out_, buf, sizeof(buf));
      if (n <= 0) return false;
      output_.append(buf, static_cast<size_t>(n));
    }
    return true;
  }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  int status_ = 0;
  std::string output_;
};

bool SameRecord(const StoredRecord& a, const StoredRecord& b) {
  return a.observed_ns == b.observed_ns && a.watch_type == b.watch_type &&
         a.api_group == b.api_group && a.api_version == b.api_version && a.kind == b.kind &&
         a.namespace_ == b.namespace_ && a.name == b.name && a.uid == b.uid &&
         a.resource_version == b.resource_version && a.payload == b.payload &&
         a.event.has_value() == b.event.has_value();
}

// Every record of flavour in the store, by seq; a seq seen twice or a record that differs from
// what was written is a test failure.
std::map<uint64_t, StoredRecord> Records(const Store& store, const std::string& flavour) {
  std::map<uint64_t, StoredRecord> out;
  for (int i = 0; i < kObjects; ++i) {
    const std::string name = ObjectName(static_cast<uint64_t>(i));
    auto h = store.History({"ConfigMap", "faults-" + flavour, name, ""}, {INT64_MIN, INT64_MAX},
                           false, [&](const RecordView& v) {
                             StoredRecord r = StoredRecord::From(v);
                             const uint64_t seq = std::stoull(r.resource_version);
                             EXPECT_TRUE(SameRecord(r, RecordFor(seq, flavour)))
                                 << "record " << seq << " (" << flavour << ") differs";
                             EXPECT_TRUE(out.emplace(seq, std::move(r)).second)
                                 << "record " << seq << " (" << flavour << ") appears twice";
                             return true;
                           });
    EXPECT_TRUE(h.has_value()) << (h ? "" : h.error().ToString());
  }
  return out;
}

// After a clean close: the store directory holds its lock file and sealed pairs only, and every
// pair opens and every block of every segment verifies.
void ExpectEveryFileVerifies(const fs::path& root) {
  std::set<std::string> top;
  for (const auto& e : fs::directory_iterator(root)) top.insert(e.path().filename().string());
  EXPECT_EQ(top, (std::set<std::string>{"LOCK", "shards"}));
  std::map<std::string, std::set<std::string>> shards;
  for (const auto& e : fs::directory_iterator(root / "shards")) {
    const std::string name = e.path().filename().string();
    const size_t dot = name.find('.');
    ASSERT_EQ(dot, 10u) << "unexpected file " << name;
    shards[name.substr(0, dot)].insert(name.substr(dot));
  }
  // An index written against the next shard's (its base) opens with that shard, as the store
  // opens it.
  std::function<std::shared_ptr<const SealedShard>(uint64_t)> open_base =
      [&](uint64_t base) -> std::shared_ptr<const SealedShard> {
    char name[16];
    std::snprintf(name, sizeof(name), "%010llu", static_cast<unsigned long long>(base));
    auto b = SealedShard::Open(root / "shards" / (std::string(name) + ".seg"),
                               root / "shards" / (std::string(name) + ".idx"), open_base);
    return b ? *b : nullptr;
  };
  for (const auto& [id, exts] : shards) {
    ASSERT_EQ(exts, (std::set<std::string>{".idx", ".seg"})) << "shard " << id;
    const fs::path seg = root / "shards" / (id + ".seg");
    auto sealed = SealedShard::Open(seg, root / "shards" / (id + ".idx"), open_base);
    EXPECT_TRUE(sealed.has_value()) << id << ": " << (sealed ? "" : sealed.error().ToString());
    auto reader = SegmentReader::Open(seg);
    ASSERT_TRUE(reader.has_value()) << id;
    std::vector<CorruptBlock> corrupt;
    auto blocks = (*reader)->ListBlocks(&corrupt);
    EXPECT_TRUE(blocks.has_value()) << id;
    EXPECT_TRUE(corrupt.empty()) << id << ": " << corrupt.size() << " bad blocks";
  }
}

// Segments already read, by name, size and modification time, with the records they held:
// sealed segments never change, so a loop reads each once (and again if it ever changed).
using ScanCache = std::map<std::string, std::vector<uint64_t>>;

// The records of flavour in the sealed segments of a closed store, by seq, read from the files
// themselves (every block verified on the way); a seq seen twice, or a record that differs from
// what was written, is a test failure.
std::set<uint64_t> RecordsOnDisk(const fs::path& root, const std::string& flavour,
                                 ScanCache* cache = nullptr) {
  std::set<uint64_t> out;
  ScanCache fresh;
  for (const auto& e : fs::directory_iterator(root / "shards")) {
    if (e.path().extension() != ".seg") continue;
    const std::string key = e.path().filename().string() + "/" + std::to_string(e.file_size()) +
                            "/" + std::to_string(e.last_write_time().time_since_epoch().count());
    std::vector<uint64_t>* seqs = &fresh[key];
    if (cache && cache->count(key)) {
      *seqs = (*cache)[key];
    } else {
      auto reader = SegmentReader::Open(e.path());
      EXPECT_TRUE(reader.has_value()) << e.path();
      if (!reader) continue;
      auto scanned = (*reader)->Scan(
          [&](const Block& block) {
            for (size_t i = 0; i < block.size(); ++i) {
              StoredRecord r = StoredRecord::From(block.record(i));
              if (r.namespace_ != "faults-" + flavour) continue;
              const uint64_t seq = std::stoull(r.resource_version);
              EXPECT_TRUE(SameRecord(r, RecordFor(seq, flavour)))
                  << "record " << seq << " (" << flavour << ") differs";
              seqs->push_back(seq);
            }
            return true;
          },
          [&](const CorruptBlock& c) {
            ADD_FAILURE() << e.path() << ": bad block at " << c.offset << ": " << c.reason;
          });
      EXPECT_TRUE(scanned.has_value()) << e.path();
    }
    for (uint64_t seq : *seqs) {
      EXPECT_TRUE(out.insert(seq).second)
          << "record " << seq << " (" << flavour << ") appears twice";
    }
  }
  if (cache) *cache = std::move(fresh);
  return out;
}

// The store's own answer for one object agrees with its files.
void ExpectHistoryMatches(const Store& store, const std::set<uint64_t>& on_disk,
                          const std::string& flavour) {
  std::vector<uint64_t> want, got;
  for (uint64_t seq : on_disk) {
    if (ObjectName(seq) == ObjectName(0)) want.push_back(seq);
  }
  auto h = store.History({"ConfigMap", "faults-" + flavour, ObjectName(0), ""},
                         {INT64_MIN, INT64_MAX}, false, [&](const RecordView& v) {
                           got.push_back(std::stoull(std::string(v.resource_version)));
                           return true;
                         });
  ASSERT_TRUE(h.has_value()) << h.error().ToString();
  EXPECT_EQ(got, want) << "History disagrees with the segments";
}

// Leftovers of a seal (or a restore) that a kill interrupted.
bool HasTemporaries(const fs::path& root) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(root / "shards", ec)) {
    const std::string name = e.path().filename().string();
    if (name.ends_with(".tmp") || name.find(".run") != std::string::npos) return true;
  }
  return fs::exists(root / ".restore-staging", ec);
}

class StoreFaults : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("sloop-faults-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }

  StoreOptions CheckOptions(const fs::path& root) {
    StoreOptions o = FaultStoreOptions(root.string());
    o.background = false;
    return o;
  }

  fs::path dir_;
};

// ≥ 50 kill -9 cycles of a writer that seals every few hundred records.
TEST_F(StoreFaults, KillNineWhileAppendingAndSealingLosesNothingAcknowledged) {
  const fs::path root = dir_ / "store";
  const fs::path log = dir_ / "driver.log";
  std::mt19937 rng(15);
  uint64_t next = 0;
  int with_temporaries = 0, before_open = 0, finished = 0;
  std::chrono::steady_clock::duration checking{};
  ScanCache scanned;
  constexpr int kCycles = 50;
  for (int cycle = 0; cycle < kCycles; ++cycle) {
    SCOPED_TRACE("cycle " + std::to_string(cycle) + ", from record " + std::to_string(next));
    const uint64_t count = 300 + rng() % 1200;
    const uint64_t batch = 1 + rng() % 40;
    // Mostly while it appends and seals; one kill in five during its start (the recovery of
    // the last kill).
    const bool at_start = rng() % 5 == 0;
    const auto delay = std::chrono::milliseconds(at_start ? rng() % 40 : rng() % 150);
    Driver d({"append", root.string(), std::to_string(next), std::to_string(count),
              std::to_string(batch), kSyncTimer ? "timer" : "flush"},
             log);
    ASSERT_TRUE(d.started());
    if (!at_start) d.WaitFor("opened", 10s);
    std::this_thread::sleep_for(delay);
    const int64_t killed_at = MonotonicNs();
    d.Kill();
    // What it promised: acknowledged (flushed) records, or with the sync timer, those appended
    // more than twice the sync interval before the kill.
    int64_t promised = -1;
    std::istringstream lines(d.output());
    std::string word;
    while (lines >> word) {
      if (word == "acked") {
        lines >> promised;
      } else if (word == "appended") {
        int64_t seq = 0, at = 0;
        lines >> seq >> at;
        const int64_t interval =
            std::chrono::nanoseconds(FaultStoreOptions("").writer.sync_interval).count();
        if (at <= killed_at - 2 * interval) promised = seq;
      } else if (word == "closed") {
        ++finished;
      } else if (word == "error") {
        std::string rest;
        std::getline(lines, rest);
        FAIL() << "the driver failed: " << rest;
      }
    }
    if (d.output().find("opened") == std::string::npos) ++before_open;
    if (HasTemporaries(root)) ++with_temporaries;

    // The reopen is the recovery under test; it also proves the lock died with the driver.
    const auto check_start = std::chrono::steady_clock::now();
    std::set<uint64_t> records;
    {
      auto store = Store::Open(CheckOptions(root));
      ASSERT_TRUE(store.has_value()) << store.error().ToString();
      ASSERT_TRUE((*store)->Close().has_value());  // seals what the kill left unsealed
      ExpectEveryFileVerifies(root);
      records = RecordsOnDisk(root, "a", &scanned);
      ExpectHistoryMatches(**store, records, "a");
    }
    // A prefix of what was written, at least what was promised, nothing invented.
    const uint64_t have = records.size();
    ASSERT_TRUE(have == 0 || *records.rbegin() == have - 1)
        << "records are missing in the middle: " << have << " records, the last is "
        << *records.rbegin();
    ASSERT_GE(static_cast<int64_t>(have), promised + 1)
        << "the store lost acknowledged records: has " << have << ", promised up to " << promised;
    ASSERT_LE(have, next + count) << "the store holds records that were never written";
    if (HasFailure()) return;
    checking += std::chrono::steady_clock::now() - check_start;
    next = have;
  }
  std::cout << kCycles << " kill -9 cycles: " << next << " records kept, " << with_temporaries
            << " kills left seal temporaries behind, " << before_open
            << " came before the store was open, " << finished << " runs finished first; "
            << std::chrono::duration_cast<std::chrono::milliseconds>(checking).count()
            << " ms spent checking" << std::endl;
  EXPECT_GT(next, 0u);
}

// A restore killed at random points: the store is then either as it was, or the backup, whole.
TEST_F(StoreFaults, KillNineMidRestoreLeavesTheOldStoreOrTheBackupWhole) {
  constexpr uint64_t kOld = 600, kNew = 1000;
  const fs::path old_store = dir_ / "old";
  const fs::path archive = dir_ / "backup.tar";
  {
    // The backup: records of flavour b, some sealed, the rest in the active shard.
    const fs::path src = dir_ / "src";
    auto store = Store::Open(CheckOptions(src));
    ASSERT_TRUE(store.has_value()) << store.error().ToString();
    for (uint64_t seq = 0; seq < kNew; ++seq) {
      ASSERT_TRUE((*store)->Append(RecordFor(seq, "b").view()).has_value());
    }
    auto files = (*store)->SnapshotForBackup();
    ASSERT_TRUE(files.has_value());
    std::string bytes;
    ASSERT_TRUE(WriteBackupArchive(*files, 1, [&](std::string_view c) -> Result<void> {
                  bytes.append(c);
                  return {};
                }).has_value());
    FILE* f = std::fopen(archive.c_str(), "wb");
    ASSERT_TRUE(f);
    ASSERT_EQ(std::fwrite(bytes.data(), 1, bytes.size(), f), bytes.size());
    std::fclose(f);
  }
  {
    // The store it replaces: records of flavour a.
    auto store = Store::Open(CheckOptions(old_store));
    ASSERT_TRUE(store.has_value());
    for (uint64_t seq = 0; seq < kOld; ++seq) {
      ASSERT_TRUE((*store)->Append(RecordFor(seq).view()).has_value());
    }
  }
  const fs::path root = dir_ / "store";
  const fs::path log = dir_ / "driver.log";
  auto reset = [&] {
    fs::remove_all(root);
    fs::copy(old_store, root, fs::copy_options::recursive);
  };
  // How long an uninterrupted restore takes here (from its start, not the program's), to spread
  // the kills over it.
  reset();
  std::chrono::microseconds full{};
  {
    Driver d({"restore", archive.string(), root.string()}, log);
    ASSERT_TRUE(d.WaitFor("starting", 10s)) << d.output();
    const auto t0 = std::chrono::steady_clock::now();
    const int status = d.Wait();
    full = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                                 t0);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << d.output();
  }
  std::mt19937 rng(6);
  int kept_old = 0, got_new = 0, mid_restore = 0;
  constexpr int kCycles = 50;
  for (int cycle = 0; cycle < kCycles; ++cycle) {
    SCOPED_TRACE("cycle " + std::to_string(cycle));
    reset();
    Driver d({"restore", archive.string(), root.string()}, log);
    ASSERT_TRUE(d.started());
    d.WaitFor("starting", 10s);
    std::this_thread::sleep_for(
        std::chrono::microseconds(rng() % static_cast<uint64_t>(full.count() * 11 / 10 + 1)));
    d.Kill();
    if (fs::exists(root / ".restore-staging")) ++mid_restore;
    std::set<uint64_t> a, b;
    {
      auto store = Store::Open(CheckOptions(root));
      ASSERT_TRUE(store.has_value()) << store.error().ToString();
      ASSERT_TRUE((*store)->Close().has_value());
      ExpectEveryFileVerifies(root);
      a = RecordsOnDisk(root, "a");
      b = RecordsOnDisk(root, "b");
      ExpectHistoryMatches(**store, a, "a");
      ExpectHistoryMatches(**store, b, "b");
    }
    if (b.empty()) {
      EXPECT_EQ(a.size(), kOld) << "the old store is not whole";
      ++kept_old;
    } else {
      EXPECT_TRUE(a.empty()) << "old and restored records mixed";
      EXPECT_EQ(b.size(), kNew) << "the restored store is not whole";
      ++got_new;
    }
    if (HasFailure()) return;
  }
  std::cout << kCycles << " restores killed at random within " << full.count()
            << " us: " << mid_restore << " left a staging directory, " << kept_old
            << " left the old store, " << got_new << " the backup" << std::endl;
}

// The sum of the files under root; a file caught mid-rename under both names counts once.
uint64_t DirectoryBytes(const fs::path& root) {
  std::map<std::string, uint64_t> files;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code sec;
    if (!it->is_regular_file(sec)) continue;
    const uint64_t size = it->file_size(sec);
    if (sec) continue;  // gone meanwhile
    std::string name = it->path().string();
    if (name.ends_with(".tmp")) name.resize(name.size() - 4);
    files[name] = std::max(files[name], size);
  }
  uint64_t total = 0;
  for (const auto& [name, size] : files) total += size;
  return total;
}

// A long run with a small disk limit: sampled continuously by a thread and after every 500
// appends, the store directory never exceeds max_disk_bytes.
TEST_F(StoreFaults, DiskLimitHoldsAtEverySampleOfALongRun) {
  const fs::path root = dir_ / "store";
  StoreOptions o = FaultStoreOptions(root.string());
  o.shard_duration = std::chrono::hours(1);
  o.active_segment_cap_bytes = 512ull << 20;  // lowered by the store to fit the limit
  o.writer.target_block_bytes = 16 << 10;
  o.max_disk_bytes = 3ull << 19;  // 1.5 MiB
  o.gc_threshold = 0.8;
  auto store = Store::Open(o);
  ASSERT_TRUE(store.has_value()) << store.error().ToString();
  std::atomic<bool> done{false};
  std::atomic<uint64_t> sampled_max{0}, samples{0};
  std::thread sampler([&] {
    while (!done) {
      const uint64_t bytes = DirectoryBytes(root);
      uint64_t seen = sampled_max.load();
      while (bytes > seen && !sampled_max.compare_exchange_weak(seen, bytes)) {
      }
      ++samples;
      std::this_thread::sleep_for(1ms);
    }
  });
  constexpr uint64_t kRecords = 20000;
  uint64_t written = 0, over = 0;
  for (uint64_t seq = 0; seq < kRecords; ++seq) {
    ASSERT_TRUE((*store)->Append(RecordFor(seq).view()).has_value());
    written += RecordFor(seq).payload.size();
    if (seq % 500 == 499) {
      const uint64_t bytes = DirectoryBytes(root);
      if (bytes > o.max_disk_bytes) {
        ++over;
        ADD_FAILURE() << "after record " << seq << " the store holds " << bytes << " bytes";
      }
    }
  }
  done = true;
  sampler.join();
  auto stats = (*store)->Stats();
  std::cout << "wrote " << (written >> 10) << " KiB of payload under a " << (o.max_disk_bytes >> 10)
            << " KiB limit: largest of " << samples.load() << " samples " << sampled_max.load()
            << " bytes, " << stats.evictions << " shards evicted, " << stats.seals << " seals"
            << std::endl;
  EXPECT_EQ(over, 0u);
  EXPECT_LE(sampled_max.load(), o.max_disk_bytes);
  EXPECT_GT(stats.evictions, 0u);
  // The newest history is the one kept.
  auto newest = Records(**store, "a");
  ASSERT_FALSE(newest.empty());
  EXPECT_EQ(newest.rbegin()->first, kRecords - 1);
  ASSERT_TRUE((*store)->Close().has_value());
  EXPECT_LE(DirectoryBytes(root), o.max_disk_bytes);
}

}  // namespace
}  // namespace sloop::faults
