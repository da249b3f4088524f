// The sealer's external sort (WriteSortedSegment) driven directly: records in arrival order in,
// key-then-time order out, in memory or through sorted runs on disk, with every temporary removed.
#include "engine/sealer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "engine/store.h"
#include "segments/segment_format.h"
#include "segments/segment_reader.h"
#include "segments/segment_writer.h"

namespace sloop {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kT0 = 1795165200LL * 1000000000LL;  // 2026-11-20T09:00:00Z

// What a test compares: the key, the time and the payload (which tells duplicates apart).
using Row = std::tuple<std::string, std::string, std::string, std::string, int64_t, std::string>;

Row RowOf(const RecordView& r) {
  return {std::string(r.kind), std::string(r.namespace_), std::string(r.name), std::string(r.uid),
          r.observed_ns,       std::string(r.payload)};
}

StoredRecord Make(const std::string& kind, const std::string& ns, const std::string& name,
                  int64_t t, const std::string& payload) {
  StoredRecord r;
  r.observed_ns = t;
  r.watch_type = WatchType::kModified;
  r.api_version = "v1";
  r.kind = kind;
  r.namespace_ = ns;
  r.name = name;
  r.uid = "uid-" + name;
  r.resource_version = std::to_string(t);
  r.payload = payload;
  return r;
}

// The order the sort promises: by key (kind, namespace, name, uid), then time; records equal in
// both keep their arrival order.
std::vector<Row> Expected(const std::vector<StoredRecord>& arrival) {
  std::vector<Row> rows;
  for (const auto& r : arrival) rows.push_back(RowOf(r.view()));
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    return std::tie(std::get<0>(a), std::get<1>(a), std::get<2>(a), std::get<3>(a),
                    std::get<4>(a)) <
           std::tie(std::get<0>(b), std::get<1>(b), std::get<2>(b), std::get<3>(b), std::get<4>(b));
  });
  return rows;
}

class SealerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("sloop-sealer-test-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    input_ = dir_ / "0000000001.active";
    output_ = dir_ / "0000000001.seg.tmp";
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Writes records into the arrival-order file in this order; returns its blocks.
  std::vector<BlockHandle> WriteInput(const std::vector<StoredRecord>& records,
                                      size_t block_bytes = 4096) {
    WriterOptions o;
    o.sync = SyncPolicy::kNever;
    o.target_block_bytes = block_bytes;
    auto w = SegmentWriter::Create(input_, o);
    EXPECT_TRUE(w.has_value()) << (w ? "" : w.error().ToString());
    std::vector<BlockHandle> blocks;
    (*w)->SetBlockListener([&](const BlockHandle& b) { blocks.push_back(b); });
    for (const auto& r : records) EXPECT_TRUE((*w)->Append(r.view()).has_value());
    EXPECT_TRUE((*w)->Close().has_value());
    return blocks;
  }

  struct First {
    ResourceKey key;
    RecordLocation loc;
    uint64_t ordinal = 0;
  };

  Result<SortedSegment> Sort(uint64_t budget, WriterOptions options = {},
                             size_t dictionary_bytes = 32 << 10, size_t event_block_bytes = 0) {
    firsts_.clear();
    options.sync = SyncPolicy::kNever;
    return WriteSortedSegment(
        input_, output_, options, budget, dictionary_bytes,
        [&](const ResourceKeyView& key, const RecordLocation& loc, uint64_t ordinal) {
          firsts_.push_back(First{ResourceKey(key), loc, ordinal});
        },
        event_block_bytes);
  }

  // The output's records in file order, every block checked.
  std::vector<Row> ReadOutput() {
    std::vector<Row> rows;
    auto reader = SegmentReader::Open(output_);
    EXPECT_TRUE(reader.has_value()) << (reader ? "" : reader.error().ToString());
    if (!reader) return rows;
    auto scanned = (*reader)->Scan(
        [&](const Block& b) {
          for (size_t i = 0; i < b.size(); ++i) rows.push_back(RowOf(b.record(i)));
          return true;
        },
        [](const CorruptBlock& c) { ADD_FAILURE() << "corrupt output block: " << c.reason; });
    EXPECT_TRUE(scanned.has_value());
    return rows;
  }

  // Each resource's first record, reported once, in key order, at the place it was written.
  void ExpectFirstsPointAtFirstRecords(const std::vector<Row>& expected) {
    std::vector<Row> firsts;
    std::vector<uint64_t> ordinals;  // of each first record in the output
    for (size_t i = 0; i < expected.size(); ++i) {
      if (i == 0 || std::tie(std::get<0>(expected[i]), std::get<1>(expected[i]),
                             std::get<2>(expected[i]), std::get<3>(expected[i])) !=
                        std::tie(std::get<0>(expected[i - 1]), std::get<1>(expected[i - 1]),
                                 std::get<2>(expected[i - 1]), std::get<3>(expected[i - 1]))) {
        firsts.push_back(expected[i]);
        ordinals.push_back(i);
      }
    }
    ASSERT_EQ(firsts_.size(), firsts.size());
    auto reader = SegmentReader::Open(output_);
    ASSERT_TRUE(reader.has_value());
    Block block;
    for (size_t i = 0; i < firsts.size(); ++i) {
      const First& f = firsts_[i];
      EXPECT_EQ(f.key.kind, std::get<0>(firsts[i]));
      EXPECT_EQ(f.key.namespace_, std::get<1>(firsts[i]));
      EXPECT_EQ(f.key.name, std::get<2>(firsts[i]));
      EXPECT_EQ(f.key.uid, std::get<3>(firsts[i]));
      ASSERT_TRUE((*reader)->ReadBlock(f.loc.block_offset, &block).has_value());
      ASSERT_LT(f.loc.index_in_block, block.size());
      EXPECT_EQ(RowOf(block.record(f.loc.index_in_block)), firsts[i]) << "first record " << i;
      EXPECT_EQ(f.ordinal, ordinals[i]) << "first record " << i;
    }
  }

  // Only the input and (when it succeeded) the output are left: no sort run.
  std::vector<std::string> Leftovers() {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir_)) {
      if (e.path() != input_ && e.path() != output_) names.push_back(e.path().filename());
    }
    return names;
  }

  fs::path dir_, input_, output_;
  std::vector<First> firsts_;
};

// Many resources of several kinds and namespaces, each updated many times, arriving shuffled.
std::vector<StoredRecord> Shuffled(int records, unsigned seed) {
  std::mt19937 rng(seed);
  const char* kinds[] = {"Pod", "ConfigMap", "Deployment", "Event"};
  const char* namespaces[] = {"", "kube-system", "shop"};
  std::vector<StoredRecord> out;
  for (int i = 0; i < records; ++i) {
    std::string name = "r" + std::to_string(rng() % 97);
    out.push_back(Make(
        kinds[rng() % 4], namespaces[rng() % 3], name,
        kT0 + static_cast<int64_t>(rng() % 3600) * 1000000000LL,
        "{\"n\":" + std::to_string(i) + ",\"pad\":\"" + std::string(rng() % 300, 'x') + "\"}"));
  }
  return out;
}

TEST_F(SealerTest, FitsInMemorySortsWithoutRuns) {
  auto records = Shuffled(600, 1);
  WriteInput(records);
  auto sorted = Sort(64 << 20);
  ASSERT_TRUE(sorted.has_value()) << sorted.error().ToString();
  EXPECT_EQ(sorted->runs, 0u);
  EXPECT_EQ(sorted->records, records.size());
  EXPECT_EQ(sorted->bytes, fs::file_size(output_));
  auto expected = Expected(records);
  EXPECT_EQ(ReadOutput(), expected);
  ExpectFirstsPointAtFirstRecords(expected);
  EXPECT_TRUE(Leftovers().empty());
}

TEST_F(SealerTest, OverTheBudgetSpillsSortedRunsAndMergesThem) {
  auto records = Shuffled(3000, 2);
  WriteInput(records);
  auto sorted = Sort(32 << 10);  // about a hundred records a run
  ASSERT_TRUE(sorted.has_value()) << sorted.error().ToString();
  EXPECT_GT(sorted->runs, 10u);
  EXPECT_EQ(sorted->records, records.size());
  auto expected = Expected(records);
  EXPECT_EQ(ReadOutput(), expected);
  ExpectFirstsPointAtFirstRecords(expected);
  EXPECT_TRUE(Leftovers().empty()) << Leftovers().front();
}

// Records of one resource at one instant (duplicates included) keep their arrival order, within
// a run (a stable sort) and across runs (the merge prefers the earlier run).
TEST_F(SealerTest, TiesKeepTheirArrivalOrderInMemoryAndAcrossRuns) {
  std::vector<StoredRecord> records;
  for (int i = 0; i < 400; ++i) {
    // Two resources, four instants, each payload twice in a row (a duplicate delivery).
    std::string payload = "{\"arrival\":" + std::to_string(i / 2) + "}";
    records.push_back(Make("Pod", "shop", i % 3 ? "a" : "b", kT0 + (i % 4) * 1000000000LL,
                           payload + std::string(200, ' ')));
  }
  WriteInput(records);
  auto expected = Expected(records);
  for (uint64_t budget : {uint64_t{64} << 20, uint64_t{8} << 10}) {
    SCOPED_TRACE("budget " + std::to_string(budget));
    fs::remove(output_);
    auto sorted = Sort(budget);
    ASSERT_TRUE(sorted.has_value()) << sorted.error().ToString();
    EXPECT_EQ(sorted->runs > 0, budget < (1 << 20));
    EXPECT_EQ(ReadOutput(), expected);
    ExpectFirstsPointAtFirstRecords(expected);
  }
}

// The output starts with a dictionary of an example object of each kind, within its budget, and
// its blocks decode against it; with no budget (or block format 1) it has none.
TEST_F(SealerTest, TheOutputStartsWithADictionaryOfExampleObjects) {
  auto records = Shuffled(600, 5);
  WriteInput(records);
  for (size_t budget : {size_t{32} << 10, size_t{0}}) {
    SCOPED_TRACE("dictionary budget " + std::to_string(budget));
    fs::remove(output_);
    auto sorted = Sort(64 << 20, {}, budget);
    ASSERT_TRUE(sorted.has_value()) << sorted.error().ToString();
    auto reader = SegmentReader::Open(output_);
    ASSERT_TRUE(reader.has_value());
    if (budget) {
      // Four kinds, one example each (the payloads are at most a few hundred bytes).
      EXPECT_GT((*reader)->dictionary_end(), segment_format::kFileHeaderSize);
      EXPECT_GT((*reader)->dictionary_bytes(), 4 * std::string("{\"n\":0,\"pad\":\"\"}").size());
      EXPECT_LE((*reader)->dictionary_bytes(), budget);
      auto blocks = (*reader)->ListBlocks(nullptr);
      ASSERT_TRUE(blocks.has_value());
      EXPECT_EQ(blocks->front().offset, (*reader)->dictionary_end());
    } else {
      EXPECT_EQ((*reader)->dictionary_end(), 0u);
      EXPECT_EQ((*reader)->dictionary_bytes(), 0u);
    }
    EXPECT_EQ(ReadOutput(), Expected(records));
    ExpectFirstsPointAtFirstRecords(Expected(records));
  }
  // Block format 1 has no dictionary.
  fs::remove(output_);
  WriterOptions v1;
  v1.block_format = segment_format::kBlockRecords;
  ASSERT_TRUE(Sort(64 << 20, v1).has_value());
  EXPECT_EQ((*SegmentReader::Open(output_))->dictionary_end(), 0u);
  EXPECT_EQ(ReadOutput(), Expected(records));
}

// Events get small blocks of their own, cut between the Events of one object and the next's, so
// that reading one object's Events decompresses one small block; the other kinds keep big ones.
TEST_F(SealerTest, EventsGetSmallBlocksOfTheirOwnCutBetweenObjects) {
  std::mt19937 rng(7);
  std::vector<StoredRecord> records;
  for (int i = 0; i < 3000; ++i) {
    const int pod = static_cast<int>(rng() % 200);
    const std::string pad(200 + rng() % 200, 'x');
    if (i % 3) {
      // client-go's Event names: the object's name, a dot and the time in hex nanoseconds.
      char name[64];
      std::snprintf(name, sizeof name, "web-%d.%llx", pod,
                    static_cast<unsigned long long>(kT0 + i));
      records.push_back(Make("Event", "shop", name, kT0 + i * 1000000LL,
                             "{\"e\":" + std::to_string(i) + ",\"pad\":\"" + pad + "\"}"));
    } else {
      records.push_back(Make(i % 2 ? "Pod" : "ConfigMap", "shop", "web-" + std::to_string(pod),
                             kT0 + i * 1000000LL,
                             "{\"p\":" + std::to_string(i) + ",\"pad\":\"" + pad + "\"}"));
    }
  }
  WriteInput(records);
  WriterOptions big;
  big.target_block_bytes = 256 << 10;
  constexpr size_t kEventBlock = 16 << 10;
  auto sorted = Sort(64 << 20, big, 32 << 10, kEventBlock);
  ASSERT_TRUE(sorted.has_value()) << sorted.error().ToString();
  auto expected = Expected(records);
  EXPECT_EQ(ReadOutput(), expected);  // the same records in the same order
  ExpectFirstsPointAtFirstRecords(expected);

  auto reader = SegmentReader::Open(output_);
  ASSERT_TRUE(reader.has_value());
  auto handles = (*reader)->ListBlocks(nullptr);
  ASSERT_TRUE(handles.has_value());
  size_t event_blocks = 0, other_blocks = 0;
  std::map<std::string, std::set<uint64_t>> blocks_of;  // an object's Events: their blocks
  Block block;
  for (const BlockHandle& h : *handles) {
    ASSERT_TRUE((*reader)->ReadBlock(h.offset, &block).has_value());
    ASSERT_GT(block.size(), 0u);
    const bool events = block.record(0).kind == "Event";
    for (size_t i = 0; i < block.size(); ++i) {
      const RecordView r = block.record(i);
      EXPECT_EQ(r.kind == "Event", events) << "a block mixes Events and other kinds";
      if (events) {
        std::string name(r.name);
        blocks_of[name.substr(0, name.rfind('.'))].insert(h.offset);
      }
    }
    if (events) {
      ++event_blocks;
      EXPECT_LT(h.uncompressed_bytes, 3 * kEventBlock);
    } else {
      ++other_blocks;
    }
  }
  EXPECT_GT(event_blocks, 10u);
  EXPECT_LT(other_blocks, 5u);
  ASSERT_EQ(blocks_of.size(), 200u);
  // One object's Events (about 4 KB here) fit a block: no object is split between two.
  for (const auto& [object, blocks] : blocks_of) EXPECT_EQ(blocks.size(), 1u) << object;

  // Without the option Events share the big blocks.
  fs::remove(output_);
  ASSERT_TRUE(Sort(64 << 20, big, 32 << 10, 0).has_value());
  auto plain = SegmentReader::Open(output_);
  ASSERT_TRUE(plain.has_value());
  auto plain_handles = (*plain)->ListBlocks(nullptr);
  ASSERT_TRUE(plain_handles.has_value());
  EXPECT_LT(plain_handles->size(), 10u);
}

TEST_F(SealerTest, EmptyInputGivesAnEmptySegment) {
  WriteInput({});
  auto sorted = Sort(1 << 20);
  ASSERT_TRUE(sorted.has_value()) << sorted.error().ToString();
  EXPECT_EQ(sorted->records, 0u);
  EXPECT_EQ(sorted->runs, 0u);
  EXPECT_TRUE(ReadOutput().empty());
  EXPECT_TRUE(firsts_.empty());
  EXPECT_TRUE(Leftovers().empty());
}

// A damaged block of the arrival-order file loses its records; the rest are sealed, in order.
TEST_F(SealerTest, DamagedInputBlockIsSkippedAndTheRestSorted) {
  auto records = Shuffled(400, 3);
  auto blocks = WriteInput(records, 2048);
  ASSERT_GE(blocks.size(), 5u);
  const BlockHandle bad = blocks[2];
  {
    std::fstream f(input_, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(bad.offset + bad.frame_bytes / 2));
    char c = 0;
    f.read(&c, 1);
    f.seekp(static_cast<std::streamoff>(bad.offset + bad.frame_bytes / 2));
    c = static_cast<char>(c ^ 0x5a);
    f.write(&c, 1);
  }
  // The records the damaged block held: those between its neighbours in arrival order.
  size_t first = 0;
  for (size_t i = 0; i < 2; ++i) first += blocks[i].record_count;
  std::vector<StoredRecord> kept(records.begin(), records.begin() + first);
  kept.insert(kept.end(), records.begin() + first + bad.record_count, records.end());
  for (uint64_t budget : {uint64_t{64} << 20, uint64_t{16} << 10}) {
    SCOPED_TRACE("budget " + std::to_string(budget));
    fs::remove(output_);
    auto sorted = Sort(budget);
    ASSERT_TRUE(sorted.has_value()) << sorted.error().ToString();
    EXPECT_EQ(sorted->records, kept.size());
    EXPECT_EQ(ReadOutput(), Expected(kept));
    EXPECT_TRUE(Leftovers().empty());
  }
}

// The file a pwrite() goes to, through /proc.
std::string FileOf(int fd) {
  std::error_code ec;
  return fs::read_symlink("/proc/self/fd/" + std::to_string(fd), ec).filename().string();
}

// A sort run damaged on disk is not merged from: the seal fails with kCorruption naming the run,
// and neither the output nor any run is left behind.
TEST_F(SealerTest, DamagedSortRunFailsTheSealAndLeavesNoTemporaries) {
  auto records = Shuffled(2000, 4);
  WriteInput(records);
  WriterOptions o;
  o.pwrite_fn = [](int fd, const void* buf, size_t n, off_t offset) -> ssize_t {
    if (offset > 0 && FileOf(fd).ends_with(".run1")) {
      std::string damaged(static_cast<const char*>(buf), n);
      damaged[n / 2] = static_cast<char>(damaged[n / 2] ^ 0x5a);
      return ::pwrite(fd, damaged.data(), n, offset);
    }
    return ::pwrite(fd, buf, n, offset);
  };
  auto sorted = Sort(32 << 10, o);
  ASSERT_FALSE(sorted.has_value());
  EXPECT_EQ(sorted.error().code, ErrorCode::kCorruption) << sorted.error().ToString();
  EXPECT_NE(sorted.error().message.find("sort run"), std::string::npos) << sorted.error().message;
  EXPECT_NE(sorted.error().message.find(".run1"), std::string::npos) << sorted.error().message;
  EXPECT_FALSE(fs::exists(output_));
  EXPECT_TRUE(Leftovers().empty()) << Leftovers().front();
}

// A full disk while spilling a run: the error comes back and every temporary goes.
TEST_F(SealerTest, FullDiskWhileSpillingLeavesNoTemporaries) {
  auto records = Shuffled(2000, 5);
  WriteInput(records);
  WriterOptions o;
  o.pwrite_fn = [](int fd, const void* buf, size_t n, off_t offset) -> ssize_t {
    if (FileOf(fd).ends_with(".run3")) {
      errno = ENOSPC;
      return -1;
    }
    return ::pwrite(fd, buf, n, offset);
  };
  auto sorted = Sort(32 << 10, o);
  ASSERT_FALSE(sorted.has_value());
  EXPECT_EQ(sorted.error().code, ErrorCode::kIOError) << sorted.error().ToString();
  EXPECT_FALSE(fs::exists(output_));
  EXPECT_TRUE(Leftovers().empty()) << Leftovers().front();
  // The input is untouched: sorting again (with room) seals it whole.
  auto again = Sort(32 << 10);
  ASSERT_TRUE(again.has_value()) << again.error().ToString();
  EXPECT_EQ(ReadOutput(), Expected(records));
}

}  // namespace
}  // namespace sloop
