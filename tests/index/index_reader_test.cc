// The shard index file: the builder writes its entries in compressed blocks and IndexReader finds
// every key and prefix through the block directory, across block boundaries, and refuses damage.
#include "index/index_reader.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <atomic>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "index/index_format.h"
#include "index/shard_index_builder.h"

namespace sloop {
namespace {

constexpr int64_t kHour = 3600LL * 1000000000LL;
constexpr int64_t kStart = 1'790'000'000LL * 1000000000LL;

class IndexReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("index_reader_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // n resources over three kinds and several namespaces; names repeat across namespaces and
  // one name has two uids, so prefixes straddle block boundaries.
  std::vector<ResourceKey> Keys(int n) {
    std::vector<ResourceKey> keys;
    const char* kinds[] = {"ConfigMap", "Node", "Pod"};
    for (int i = 0; i < n; ++i) {
      std::string kind = kinds[i % 3];
      std::string ns = kind == "Node" ? "" : "ns-" + std::to_string(i % 7);
      std::string name = "res-" + std::to_string(i / 2);
      keys.emplace_back(kind, ns, name, "uid-" + std::to_string(i));
    }
    return keys;
  }

  std::filesystem::path Write(const std::vector<ResourceKey>& keys, ShardIndexBuilder* b) {
    for (size_t i = 0; i < keys.size(); ++i) {
      RecordView r;
      r.observed_ns = kStart + static_cast<int64_t>(i) * 1000000;
      r.watch_type = WatchType::kAdded;
      r.api_version = "v1";
      r.kind = keys[i].kind;
      r.namespace_ = keys[i].namespace_;
      r.name = keys[i].name;
      r.uid = keys[i].uid;
      rvs_.push_back(std::to_string(100 + i));
      r.resource_version = rvs_.back();
      r.payload = "{}";
      b->Add(r, 0);
    }
    // A segment of blocks of seven records, one record a resource.
    std::vector<ShardIndexBuilder::SealedPosition> pos(b->summaries().size());
    for (size_t i = 0; i < pos.size(); ++i) {
      pos[i] = {4096 + i / 7 * 1000, static_cast<uint32_t>(i % 7), i};
    }
    auto path = dir_ / "0000000001.idx";
    auto w = b->WriteIndexFile(path, 1, 12345, pos);
    EXPECT_TRUE(w) << (w ? "" : w.error().message);
    return path;
  }

  // An index of `keys`, and a reader of it that one scan owns (null when it does not open).
  std::shared_ptr<IndexReader> ScanReader(const std::vector<ResourceKey>& keys) {
    ShardIndexBuilder b(kStart, kStart + kHour);
    auto path = Write(keys, &b);
    auto opened = IndexReader::Open(path);
    EXPECT_TRUE(opened) << opened.error().message;
    return opened ? (*opened)->Reader() : nullptr;
  }

  std::filesystem::path dir_;
  std::deque<std::string> rvs_;
};

TEST_F(IndexReaderTest, FindsEveryKeyAndPrefixAcrossBlocks) {
  auto keys = Keys(2000);  // 16 blocks of 128
  ShardIndexBuilder b(kStart, kStart + kHour);
  auto path = Write(keys, &b);
  auto opened = IndexReader::Open(path);
  ASSERT_TRUE(opened) << opened.error().message;
  const IndexReader& idx = **opened;
  EXPECT_EQ(idx.format_version(), index_format::kFormatVersion);
  ASSERT_EQ(idx.size(), keys.size());
  std::vector<ResourceKey> sorted(keys);
  std::sort(sorted.begin(), sorted.end());
  for (uint32_t i = 0; i < idx.size(); ++i) {
    ASSERT_EQ(ResourceKey(idx.key(i)), sorted[i]) << i;
    EXPECT_EQ(idx.entry(i).record_count(), 1u);
    EXPECT_EQ(idx.entry(i).first_block(), 4096 + i / 7 * 1000);  // positions follow key order
    EXPECT_EQ(idx.entry(i).first_record(), i % 7);
    ASSERT_EQ(idx.FindExact(sorted[i].view()), i);
  }
  // Absent keys: before the first, after the last, between two.
  EXPECT_EQ(idx.FindExact({"AAA", "", "x", "u"}), idx.size());
  EXPECT_EQ(idx.FindExact({"Zzz", "", "x", "u"}), idx.size());
  EXPECT_EQ(idx.FindExact({"Pod", "ns-1", "res-1", "nope"}), idx.size());
  // Every prefix against a linear count.
  auto linear = [&](std::string_view kind, std::string_view ns, std::string_view name) {
    uint32_t first = idx.size(), count = 0;
    for (uint32_t i = 0; i < idx.size(); ++i) {
      const ResourceKey& k = sorted[i];
      bool m = k.kind == kind && (ns.empty() || k.namespace_ == ns) &&
               (ns.empty() || name.empty() || k.name == name);
      if (m) {
        first = std::min(first, i);
        ++count;
      }
    }
    return std::pair<uint32_t, uint32_t>{count ? first : 0, count};
  };
  for (const ResourceKey& k : sorted) {
    for (int depth = 1; depth <= 3; ++depth) {
      if (depth >= 2 && k.namespace_.empty()) continue;
      std::string_view ns = depth >= 2 ? std::string_view(k.namespace_) : std::string_view();
      std::string_view name = depth >= 3 ? std::string_view(k.name) : std::string_view();
      auto [first, last] = idx.Find(k.kind, ns, name);
      auto [lfirst, lcount] = linear(k.kind, ns, name);
      ASSERT_EQ(last - first, lcount) << k.ToString() << " depth " << depth;
      ASSERT_EQ(first, lfirst) << k.ToString() << " depth " << depth;
    }
  }
  auto [f, l] = idx.Find("Secret");
  EXPECT_EQ(f, l);
  auto all = idx.Find("");
  EXPECT_EQ(all.second - all.first, idx.size());
}

TEST_F(IndexReaderTest, BlocksAreCompressedAndReadersCacheOnTheirOwn) {
  auto keys = Keys(1000);
  ShardIndexBuilder b(kStart, kStart + kHour);
  auto path = Write(keys, &b);
  auto opened = IndexReader::Open(path);
  ASSERT_TRUE(opened) << opened.error().message;
  const IndexReader& idx = **opened;
  EXPECT_EQ(idx.block_count(),
            (1000 + index_format::kEntriesPerBlock - 1) / index_format::kEntriesPerBlock);
  uint64_t raw = 0, packed = 0;
  for (uint32_t b = 0; b < idx.block_count(); ++b) {
    raw += idx.block(b).raw_bytes;
    packed += idx.block(b).compressed_bytes;
    if (b > 0) {  // back to back in the file
      EXPECT_EQ(idx.block(b).file_offset,
                idx.block(b - 1).file_offset + idx.block(b - 1).compressed_bytes);
    }
  }
  EXPECT_LT(packed * 2, raw) << "entry blocks should compress at least 2x";
  auto whole = (*opened)->Reader();
  for (uint32_t k = 0; k < whole->size(); ++k) (void)whole->key(k);
  auto reader = (*opened)->Reader();
  EXPECT_EQ(reader->cached_bytes(), 0u);
  uint32_t i = reader->FindExact(keys[500].view());
  ASSERT_LT(i, reader->size());
  EXPECT_GT(reader->cached_bytes(), 0u);
  EXPECT_LT(reader->cached_bytes(), whole->cached_bytes() / 4)
      << "a point lookup decodes one block";
  EXPECT_EQ(ResourceKey(reader->key(i)), keys[500]);
}

// However slow the scan, the decompression ahead of it holds a few blocks, not the index.
TEST_F(IndexReaderTest, PrefetchRunsAtMostItsLeadAheadAndWaitsForTheCursor) {
  auto reader = ScanReader(Keys((2 * IndexReader::kPrefetchLead + 12) * 128));
  ASSERT_TRUE(reader);
  const uint32_t per = reader->entries_per_block();
  ASSERT_EQ(reader->block_count(), 2 * IndexReader::kPrefetchLead + 12);
  const uint32_t lead = IndexReader::kPrefetchLead;
  std::atomic<bool> stop{false};
  std::atomic<uint32_t> cursor{0};
  std::thread prefetch([&] { reader->Prefetch(0, reader->size(), cursor, stop); });
  auto wait_for = [&](uint32_t blocks) {
    for (int k = 0; k < 500 && reader->blocks_decoded() < blocks; ++k) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return reader->blocks_decoded();
  };
  // The scan stays in block 0: blocks 1 to `lead` are decoded, and no more.
  EXPECT_EQ(wait_for(lead), lead);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(reader->blocks_decoded(), lead) << "ran further ahead than its lead";
  // The scan moves to block 10 (and drops nothing): blocks lead + 1 to 10 + lead follow.
  cursor.store(10 * per);
  cursor.notify_all();
  EXPECT_EQ(wait_for(lead + 10), lead + 10);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(reader->blocks_decoded(), lead + 10);
  // Stopping ends its wait.
  stop = true;
  cursor.store(UINT32_MAX);
  cursor.notify_all();
  prefetch.join();
  EXPECT_EQ(reader->blocks_decoded(), lead + 10);
}

// A scan's reader decompresses ahead on another thread and frees the blocks behind it.
TEST_F(IndexReaderTest, PrefetchRunsAheadOfTheCursorAndDropBlocksFreesBehindIt) {
  auto keys = Keys(1000);
  ShardIndexBuilder b(kStart, kStart + kHour);
  auto path = Write(keys, &b);
  auto opened = IndexReader::Open(path);
  ASSERT_TRUE(opened) << opened.error().message;
  auto reader = (*opened)->Reader();
  const uint32_t per = reader->entries_per_block();
  ASSERT_EQ(per, index_format::kEntriesPerBlock);
  std::atomic<bool> stop{false};
  std::atomic<uint32_t> cursor{3 * per};
  reader->Prefetch(0, reader->size(), cursor, stop);
  const size_t ahead = reader->cached_bytes();
  EXPECT_GT(ahead, 0u);
  // Blocks 0..3 were skipped (the scan is in block 3): decoding block 3 adds to the cache, the
  // ones after it are there already.
  (void)reader->key(3 * per);
  EXPECT_GT(reader->cached_bytes(), ahead);
  const size_t all_but_three = reader->cached_bytes();
  for (uint32_t i = 4 * per; i < reader->size(); ++i) (void)reader->key(i);
  EXPECT_EQ(reader->cached_bytes(), all_but_three) << "everything ahead was decoded already";
  // Stopped before it starts, it decodes nothing.
  auto other = (*opened)->Reader();
  stop = true;
  other->Prefetch(0, other->size(), cursor, stop);
  EXPECT_EQ(other->cached_bytes(), 0u);

  std::sort(keys.begin(), keys.end());  // the index's order
  reader->DropBlocks(0, 6 * per + 5);   // frees blocks 0..5, keeps block 6 (the cursor's)
  EXPECT_LT(reader->cached_bytes(), all_but_three);
  const size_t kept = reader->cached_bytes();
  EXPECT_EQ(ResourceKey(reader->key(6 * per)), keys[6 * per]) << "the cursor's block is kept";
  EXPECT_EQ(reader->cached_bytes(), kept);
  EXPECT_EQ(ResourceKey(reader->key(5)), keys[5]) << "a dropped block decodes again on demand";
  EXPECT_GT(reader->cached_bytes(), kept);
  reader->DropBlocks(0, reader->size() + per);
  EXPECT_EQ(reader->cached_bytes(), 0u);
}

TEST_F(IndexReaderTest, RecordedNamesListEntriesWithRecordsButNotEvents) {
  auto keys = Keys(700);
  keys.emplace_back("Event", "ns-1", "res-3.17f0", "ev-uid");
  ShardIndexBuilder b(kStart, kStart + kHour);
  auto path = Write(keys, &b);
  auto opened = IndexReader::Open(path);
  ASSERT_TRUE(opened) << opened.error().message;
  const IndexReader& idx = **opened;
  std::vector<uint32_t> listed;
  bool has = idx.ForEachRecordedName([&](uint32_t i, std::string_view name) {
    EXPECT_EQ(idx.key(i).name, name);
    EXPECT_NE(idx.key(i).kind, "Event");
    listed.push_back(i);
    return true;
  });
  ASSERT_TRUE(has);
  EXPECT_EQ(listed.size(), keys.size() - 1);  // every resource here has a record; not the Event
  EXPECT_TRUE(std::is_sorted(listed.begin(), listed.end()));
  // Stopping early stops.
  int calls = 0;
  idx.ForEachRecordedName([&](uint32_t, std::string_view) { return ++calls < 3; });
  EXPECT_EQ(calls, 3);
}

TEST_F(IndexReaderTest, FormatVersionOneFilesAreStillRead) {
  // A version-1 index: one uncompressed entry vector, kind/namespace/api strings per entry
  // (written by the code of that format: four Pods and Nodes, API version v1, a record each).
  const std::filesystem::path path = std::string(SLOOP_TESTDATA_DIR) + "/index/format-v1.idx";
  std::vector<ResourceKey> keys = {{"Node", "", "n1", "u1"},
                                   {"Pod", "a", "p1", "u2"},
                                   {"Pod", "a", "p2", "u3"},
                                   {"Pod", "b", "p1", "u4"}};
  auto opened = IndexReader::Open(path);
  ASSERT_TRUE(opened) << opened.error().message;
  const IndexReader& idx = **opened;
  EXPECT_EQ(idx.format_version(), 1u);
  ASSERT_EQ(idx.size(), 4u);
  EXPECT_EQ(idx.FindExact(keys[2].view()), 2u);
  auto [f, l] = idx.Find("Pod", "a");
  EXPECT_EQ(f, 1u);
  EXPECT_EQ(l, 3u);
  for (uint32_t i = 0; i < idx.size(); ++i) {
    EXPECT_EQ(ResourceKey(idx.key(i)), keys[i]);
    EXPECT_EQ(idx.entry(i).api_version(), "v1");
    EXPECT_EQ(idx.entry(i).api_group(), "");
    EXPECT_EQ(idx.entry(i).record_count(), 1u);
  }
  EXPECT_EQ(idx.entry(0).key().kind, "Node");
  EXPECT_EQ(idx.header().shard_id, 7u);
  EXPECT_EQ(idx.entries_per_block(), 0u);
  EXPECT_EQ(idx.block_count(), 0u);
  EXPECT_FALSE(idx.ForEachRecordedName([](uint32_t, std::string_view) { return true; }));
  // A version this build does not know is refused, naming the file.
  auto nine = IndexReader::Open(std::string(SLOOP_TESTDATA_DIR) + "/index/format-v9.idx");
  ASSERT_FALSE(nine);
  EXPECT_EQ(nine.error().code, ErrorCode::kUnsupported);
}

TEST_F(IndexReaderTest, EmptyIndexOpens) {
  ShardIndexBuilder b(kStart, kStart + kHour);
  auto path = Write({}, &b);
  auto opened = IndexReader::Open(path);
  ASSERT_TRUE(opened) << opened.error().message;
  EXPECT_EQ((*opened)->size(), 0u);
  EXPECT_EQ((*opened)->FindExact({"Pod", "a", "b", "c"}), 0u);
  auto [f, l] = (*opened)->Find("Pod");
  EXPECT_EQ(f, l);
}

TEST_F(IndexReaderTest, DamagedBlockIsRefusedAtOpenAndHarmlessLater) {
  auto keys = Keys(600);
  ShardIndexBuilder b(kStart, kStart + kHour);
  auto path = Write(keys, &b);
  size_t offset;
  {
    auto opened = IndexReader::Open(path);
    ASSERT_TRUE(opened) << opened.error().message;
    // The file offset of the middle of block 2's zstd frame.
    const IndexBlock block = (*opened)->block(2);
    offset = block.file_offset + block.compressed_bytes / 2;
  }
  {
    std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
    f.seekg(static_cast<std::streamoff>(offset));
    char c;
    f.get(c);
    f.seekp(static_cast<std::streamoff>(offset));
    f.put(static_cast<char>(c ^ 0x5a));
  }
  auto bad = IndexReader::Open(path);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kCorruption);
  EXPECT_NE(bad.error().message.find("entry block 2"), std::string::npos) << bad.error().message;
  EXPECT_NE(bad.error().message.find(path.string()), std::string::npos);
  // Opened without verification, the damaged block reads as empty entries: no crash, and the
  // other blocks still answer.
  auto unverified = IndexReader::Open(path, /*verify=*/false);
  ASSERT_TRUE(unverified) << unverified.error().message;
  const IndexReader& idx = **unverified;
  EXPECT_EQ(idx.key(2 * index_format::kEntriesPerBlock).kind, "");
  std::vector<ResourceKey> sorted(keys);
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(ResourceKey(idx.key(0)), sorted[0]);
  EXPECT_EQ(idx.FindExact(sorted.back().view()), idx.size() - 1);
}

// Every entry as the reader gives it, and every key looked up: what a damaged file must either
// answer unchanged or be refused for.
std::string Everything(const IndexReader& idx) {
  std::string out = std::to_string(idx.header().record_count) + " " +
                    std::to_string(idx.header().window_start_ns) + "\n";
  for (uint32_t i = 0; i < idx.size(); ++i) {
    const IndexEntry e = idx.entry(i);
    out += ResourceKey(e.key()).ToString() + " " + std::string(e.api_version()) + " " +
           std::to_string(e.first_ns()) + " " + std::to_string(e.record_count()) + " " +
           std::to_string(e.first_block()) + ":" + std::to_string(e.first_record()) + " " +
           std::string(e.last_resource_version()) + " " + std::to_string(idx.FindExact(e.key())) +
           " " + std::to_string(idx.Find(e.key().kind, e.key().namespace_).second) + "\n";
  }
  for (std::string_view k : idx.kinds()) out += std::string(k) + ",";
  for (std::string_view n : idx.namespaces()) out += std::string(n) + ",";
  idx.ForEachRecordedName([&](uint32_t i, std::string_view name) {
    out += std::to_string(i) + std::string(name);
    return true;
  });
  return out;
}

// No byte of the file can change an answer unnoticed: each flipped byte (outside the blocks too:
// the string table, the block keys, the segment block table) is refused when the file is opened,
// or changes nothing.
TEST_F(IndexReaderTest, EveryFlippedByteIsRefusedOrHarmless) {
  auto keys = Keys(150);
  ShardIndexBuilder b(kStart, kStart + kHour);
  auto path = Write(keys, &b);
  std::string want;
  {
    auto opened = IndexReader::Open(path);
    ASSERT_TRUE(opened) << opened.error().message;
    want = Everything(**opened);
  }
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  const auto damaged = dir_ / "damaged.idx";
  size_t refused = 0;
  for (size_t at = 0; at < bytes.size(); ++at) {
    std::string copy = bytes;
    copy[at] = static_cast<char>(copy[at] ^ 0x10);
    std::ofstream(damaged, std::ios::binary | std::ios::trunc) << copy;
    auto opened = IndexReader::Open(damaged);
    if (!opened) {
      // (A flipped format version reads as one this build does not know.)
      EXPECT_TRUE(opened.error().code == ErrorCode::kCorruption ||
                  opened.error().code == ErrorCode::kUnsupported)
          << "byte " << at << ": " << opened.error().message;
      ++refused;
      continue;
    }
    ASSERT_EQ(Everything(**opened), want) << "byte " << at << " of " << bytes.size();
  }
  EXPECT_GT(refused, bytes.size() * 9 / 10);
}

TEST_F(IndexReaderTest, ForeignAndTruncatedFilesAreRefused) {
  auto path = dir_ / "x.idx";
  std::ofstream(path) << "this is not an index at all";
  auto r = IndexReader::Open(path);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kCorruption);

  auto keys = Keys(300);
  ShardIndexBuilder b(kStart, kStart + kHour);
  auto good = Write(keys, &b);
  std::filesystem::resize_file(good, std::filesystem::file_size(good) / 2);
  auto t = IndexReader::Open(good);
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code, ErrorCode::kCorruption);
}

// sloop-inspect index as a user runs it.
std::pair<int, std::string> Inspect(const std::string& args) {
  std::string cmd = std::string(SLOOP_INSPECT) + " index " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  int st = pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

TEST_F(IndexReaderTest, InspectPrintsTheIndexAndRefusesDamage) {
  auto keys = Keys(300);
  ShardIndexBuilder b(kStart, kStart + kHour);
  auto path = Write(keys, &b);
  auto [status, out] = Inspect(path.string());
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("300 entries"), std::string::npos) << out;
  EXPECT_NE(out.find("3 entry blocks of 128"), std::string::npos) << out;
  EXPECT_NE(out.find("Pod"), std::string::npos) << out;
  auto [status2, lines] = Inspect(path.string() + " --entries");
  EXPECT_EQ(status2, 0);
  size_t count = 0;
  for (size_t pos = 0; (pos = lines.find("{\"entry\":", pos)) != std::string::npos; ++pos) ++count;
  EXPECT_EQ(count, 300u);
  // --streams: every decompressed byte of the blocks is in one stream or a block header.
  auto [status4, streams] = Inspect(path.string() + " --streams");
  EXPECT_EQ(status4, 0) << streams;
  const size_t from = streams.find("compressed from ");
  ASSERT_NE(from, std::string::npos) << streams;
  const uint64_t raw = std::stoull(streams.substr(from + 16));
  uint64_t summed = 0;
  for (const char* row : {"key runs", "names", "uids", "flags", "masks", "counts", "times", "ticks",
                          "heat", "owners", "versions", "events", "positions", "about", "refs",
                          "headers"}) {
    const size_t at = streams.find(std::string("\n  ") + row + " ");
    ASSERT_NE(at, std::string::npos) << row << "\n" << streams;
    summed += std::stoull(streams.substr(at + 3 + std::strlen(row)));
  }
  EXPECT_EQ(summed, raw) << streams;
  EXPECT_EQ(Inspect(path.string() + " --bogus").first, 2);
  std::filesystem::resize_file(path, std::filesystem::file_size(path) - 40);
  auto [status3, bad] = Inspect(path.string());
  EXPECT_EQ(status3, 1) << bad;
  EXPECT_NE(bad.find(path.string()), std::string::npos) << bad;
}

}  // namespace
}  // namespace sloop
