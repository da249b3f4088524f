// Hostile index files (IndexReader::Open, index/index_reader.h): a file IndexWriter wrote (or a
// committed one), rewritten the way an attacker who can write the file could, or damage that
// keeps every checksum valid: the zstd checksums cover only a frame's content, and the directory
// checksum of version 3 is unkeyed, so the tests recompute both. The sizes a file claims for its
// zstd frames are checked against what the frames' headers declare before anything is allocated
// for them, and against what the entries can hold; a frame that leaves out the content checksum
// every writer set is refused; and a small file cannot claim billions of entries, nor make the
// block ranges wrap. Each is refused with kCorruption.
//
// The tests read and rewrite the file's FlatBuffers tables (schema/index_generated.h): they test
// the file format itself.
#include <gtest/gtest.h>
#include <unistd.h>
#include <zstd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "index/directory_hash.h"
#include "index/index_format.h"
#include "index/index_reader.h"
#include "index/index_writer.h"
#include "schema/index_generated.h"
#include "tests/index/largest_allocation.h"

namespace sloop {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kSec = 1000000000LL;
constexpr int64_t kStart = 1'790'000'000LL * kSec;
// Every allocation a refused file may cost: a block's rows, the reader's block tables.
constexpr size_t kSmallAllocation = 1u << 20;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void WriteFile(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A zstd frame of raw, with or without its content checksum and its declared size.
std::string Frame(std::string_view raw, bool checksum = true, bool content_size = true) {
  std::unique_ptr<ZSTD_CCtx, decltype(&ZSTD_freeCCtx)> cctx(ZSTD_createCCtx(), ZSTD_freeCCtx);
  ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_checksumFlag, checksum ? 1 : 0);
  ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_contentSizeFlag, content_size ? 1 : 0);
  std::string frame(ZSTD_compressBound(raw.size()), '\0');
  const size_t n = ZSTD_compress2(cctx.get(), frame.data(), frame.size(), raw.data(), raw.size());
  EXPECT_FALSE(ZSTD_isError(n));
  frame.resize(ZSTD_isError(n) ? 0 : n);
  return frame;
}

std::string Decompress(const uint8_t* frame, size_t size, size_t raw_bytes) {
  std::string raw(raw_bytes, '\0');
  EXPECT_EQ(ZSTD_decompress(raw.data(), raw.size(), frame, size), raw_bytes);
  return raw;
}

// The file's tables, to rewrite and write back.
std::unique_ptr<fb::ShardIndexT> Unpack(const fs::path& path) {
  const std::string file = ReadFile(path);
  flatbuffers::Verifier verifier(reinterpret_cast<const uint8_t*>(file.data()), file.size());
  EXPECT_TRUE(fb::VerifyShardIndexBuffer(verifier));
  return std::unique_ptr<fb::ShardIndexT>(
      fb::GetShardIndex(reinterpret_cast<const uint8_t*>(file.data()))->UnPack());
}

// The directory checksum of a version-3 or 4 file, over its values in the order
// docs/format/index.md gives.
uint64_t DirectoryChecksum(const fb::ShardIndexT& t) {
  index_internal::DirectoryHash hash;
  for (uint64_t v :
       {uint64_t{t.format_version}, t.shard_id, static_cast<uint64_t>(t.window_start_ns),
        static_cast<uint64_t>(t.window_end_ns), static_cast<uint64_t>(t.min_ns),
        static_cast<uint64_t>(t.max_ns), t.segment_bytes, t.record_count, uint64_t{t.entry_count},
        uint64_t{t.entries_per_block}, uint64_t{t.record_names_bytes},
        uint64_t{t.record_names.size()}}) {
    hash.Number(v);
  }
  for (const auto* list : {&t.strings, &t.reasons, &t.kinds, &t.namespaces}) {
    hash.Number(list->size());
    for (const std::string& s : *list) hash.String(s);
  }
  hash.Number(t.block_refs.size());
  for (const fb::BlockRef& r : t.block_refs) {
    hash.Number(r.offset());
    hash.Number(r.compressed_bytes());
    hash.Number(r.raw_bytes());
  }
  hash.Number(t.block_keys.size());
  for (const auto& k : t.block_keys) {
    for (const std::string* f : {&k->kind, &k->namespace_, &k->name, &k->uid}) hash.String(*f);
  }
  hash.Number(t.segment_blocks.size());
  for (const fb::SegmentBlock& b : t.segment_blocks) {
    hash.Number(b.offset());
    hash.Number(b.first_record());
  }
  for (uint64_t v : {t.index_id, t.base_shard_id, t.base_index_id, uint64_t{t.base_entry_count}}) {
    hash.Number(v);
  }
  return hash.Digest();
}

// Writes the tables as a file whose checksums all hold.
void Pack(fb::ShardIndexT* t, const fs::path& path) {
  if (index_format::Columnar(t->format_version)) t->directory_xxh64 = DirectoryChecksum(*t);
  flatbuffers::FlatBufferBuilder fbb;
  fbb.Finish(fb::ShardIndex::Pack(fbb, t), index_format::kFileIdentifier);
  WriteFile(path,
            std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize()));
}

// The decompressed payload of block b.
std::string BlockPayload(const fb::ShardIndexT& t, uint32_t b) {
  const fb::BlockRef& r = t.block_refs[b];
  return Decompress(t.blocks.data() + r.offset(), r.compressed_bytes(), r.raw_bytes());
}

// Puts frame in place of block b's, moving the blocks after it.
void ReplaceBlockFrame(fb::ShardIndexT* t, uint32_t b, const std::string& frame) {
  const fb::BlockRef old = t->block_refs[b];
  const auto at = t->blocks.begin() + static_cast<std::ptrdiff_t>(old.offset());
  t->blocks.erase(at, at + old.compressed_bytes());
  t->blocks.insert(t->blocks.begin() + static_cast<std::ptrdiff_t>(old.offset()), frame.begin(),
                   frame.end());
  t->block_refs[b] =
      fb::BlockRef(old.offset(), static_cast<uint32_t>(frame.size()), old.raw_bytes());
  for (size_t k = b + 1; k < t->block_refs.size(); ++k) {
    const fb::BlockRef r = t->block_refs[k];
    t->block_refs[k] = fb::BlockRef(r.offset() - old.compressed_bytes() + frame.size(),
                                    r.compressed_bytes(), r.raw_bytes());
  }
}

// What opening a file gives, and the largest single allocation it made.
struct Opened {
  Result<std::shared_ptr<IndexReader>> index;
  size_t largest_allocation = 0;
};

Opened Open(const fs::path& path, bool verify = true, const IndexReader::BlockFn& on_block = {}) {
  Result<std::shared_ptr<IndexReader>> index = MakeError(ErrorCode::kAborted, "not opened");
  const size_t largest =
      sloop::testing::LargestAllocation([&] { index = IndexReader::Open(path, verify, on_block); });
  return {std::move(index), largest};
}

// The message of a refusal with kCorruption ("" when the file opens, or fails otherwise).
std::string Corruption(const Opened& o) {
  if (o.index || o.index.error().code != ErrorCode::kCorruption) return "";
  return o.index.error().message;
}

bool Mentions(const std::string& message, const std::string& what) {
  return message.find(what) != std::string::npos;
}

class IndexFileHostileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("index_file_hostile_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A version-3 index of n Pods with records (each in the recorded-names list), in blocks of
  // kEntriesPerBlock.
  fs::path WriteIndex(uint32_t n) {
    const fs::path path = dir_ / "0000000001.idx";
    ResourceSummary s;
    s.api_version = "v1";
    s.flags = kCreatedInShard;
    s.first_ns = kStart + 10 * kSec;
    s.last_ns = kStart + 40 * kSec;
    s.record_count = 2;
    s.change_count = 2;
    s.change_secs = {static_cast<uint32_t>(s.first_ns / kSec),
                     static_cast<uint32_t>(s.last_ns / kSec)};
    std::vector<std::string> names;
    for (uint32_t i = 0; i < n; ++i) names.push_back("pod-" + std::to_string(100000 + i));
    auto key = [&](uint32_t i) { return ResourceKeyView{"Pod", "default", names[i], names[i]}; };
    IndexWriter w(path, kStart);
    for (uint32_t i = 0; i < n; ++i) w.Plan(key(i), s);
    for (uint32_t i = 0; i < n; ++i) EXPECT_TRUE(w.Add(key(i), s, {}));
    IndexShardInfo info;
    info.shard_id = 1;
    info.window_start_ns = kStart;
    info.window_end_ns = kStart + 3600 * kSec;
    info.record_count = 2 * n;
    EXPECT_TRUE(w.Finish(info, {}));
    EXPECT_TRUE(IndexReader::Open(path)) << "the file as written opens";
    return path;
  }

  // A copy of a committed version-2 index (no directory checksum).
  fs::path CommittedV2Index() {
    const fs::path path = dir_ / "0000000001.idx";
    fs::copy_file(fs::path(SLOOP_TESTDATA_DIR) / "store/v2/shards/0000000001.idx", path);
    auto index = IndexReader::Open(path);
    EXPECT_TRUE(index && (*index)->format_version() == index_format::kFormatVersionTwo);
    return path;
  }

  fs::path dir_;
};

// The fuzzer's file (a committed version-2 index whose record_names_bytes became 671,088,655,
// its frame still of 15): refused without allocating the 640 MiB it claims.
TEST_F(IndexFileHostileTest, TheFuzzersRecordNamesSizeIsRefusedBeforeAllocating) {
  const fs::path seed = fs::path(SLOOP_SOURCE_DIR) /
                        "tests/fuzz/corpus/index_reader/v2-record-names-bytes-beyond-its-frame";
  const Opened o = Open(seed);
  EXPECT_TRUE(Mentions(Corruption(o), "record names: 671088655 bytes, more than 3 entries"))
      << (o.index ? "opened" : o.index.error().message);
  EXPECT_LT(o.largest_allocation, kSmallAllocation);
}

// A recorded-names size the entries could hold but its frame does not declare: refused from the
// frame's header, before the size is allocated.
TEST_F(IndexFileHostileTest, RecordNamesSizeOtherThanItsFrameDeclaresIsRefusedBeforeAllocating) {
  const fs::path path = WriteIndex(300);
  auto t = Unpack(path);
  const uint32_t real = t->record_names_bytes;
  t->record_names_bytes = 16u << 20;  // 300 entries could name 19,662,300 bytes
  Pack(t.get(), path);
  const Opened o = Open(path);
  EXPECT_TRUE(Mentions(Corruption(o), "record names: its zstd frame declares " +
                                          std::to_string(real) + " bytes, not 16777216"))
      << (o.index ? "opened" : o.index.error().message);
  EXPECT_LT(o.largest_allocation, kSmallAllocation);
}

// A frame that does declare its size, but more than one item an entry (each no longer than
// kNameItemHeaderSize + kMaxNameBytes) can hold: 8 MiB of zeros for two entries.
TEST_F(IndexFileHostileTest, RecordNamesLongerThanTheEntriesCanNameAreRefusedBeforeAllocating) {
  const fs::path path = WriteIndex(2);
  auto t = Unpack(path);
  const std::string zeros(8u << 20, '\0');
  const std::string frame = Frame(zeros);
  t->record_names.assign(frame.begin(), frame.end());
  t->record_names_bytes = static_cast<uint32_t>(zeros.size());
  Pack(t.get(), path);
  const Opened o = Open(path);
  EXPECT_TRUE(Mentions(Corruption(o), "record names: 8388608 bytes, more than 2 entries can name"))
      << (o.index ? "opened" : o.index.error().message);
  EXPECT_LT(o.largest_allocation, kSmallAllocation);
}

// A block whose directory claims more raw bytes than its frame declares (within the 64 MiB
// bound): refused from the frame's header, before the claimed size is allocated.
TEST_F(IndexFileHostileTest, ABlockLargerThanItsFrameDeclaresIsRefusedBeforeAllocating) {
  const fs::path path = WriteIndex(300);
  auto t = Unpack(path);
  const fb::BlockRef r = t->block_refs[1];
  t->block_refs[1] = fb::BlockRef(r.offset(), r.compressed_bytes(), 48u << 20);
  Pack(t.get(), path);
  const Opened o = Open(path);
  EXPECT_TRUE(Mentions(Corruption(o), "entry block 1: its zstd frame declares " +
                                          std::to_string(r.raw_bytes()) + " bytes, not 50331648"))
      << (o.index ? "opened" : o.index.error().message);
  EXPECT_LT(o.largest_allocation, kSmallAllocation);
}

// Every writer (format 2 on) gave every block and the recorded-names list a frame that declares
// its size and carries its content checksum: a frame without them, whose content is the same,
// is damage that would otherwise go unchecked.
TEST_F(IndexFileHostileTest, FramesWithoutTheirChecksumOrSizeAreRefused) {
  for (bool v2 : {false, true}) {
    SCOPED_TRACE(v2 ? "version 2" : "version 3");
    auto fresh = [&] {
      fs::remove_all(dir_);
      fs::create_directories(dir_);
      return v2 ? CommittedV2Index() : WriteIndex(300);
    };
    struct Case {
      bool checksum, content_size;
      const char* why;
    };
    for (const Case& c : {Case{false, true, "its zstd frame has no content checksum"},
                          Case{true, false, "its zstd frame declares no size"}}) {
      SCOPED_TRACE(c.why);
      const fs::path path = fresh();
      auto t = Unpack(path);
      ASSERT_GE(t->block_refs.size(), 1u);
      const uint32_t b = static_cast<uint32_t>(t->block_refs.size() - 1);
      ReplaceBlockFrame(t.get(), b, Frame(BlockPayload(*t, b), c.checksum, c.content_size));
      Pack(t.get(), path);
      Opened o = Open(path);
      EXPECT_TRUE(Mentions(Corruption(o), "entry block " + std::to_string(b) + ": " + c.why))
          << (o.index ? "opened" : o.index.error().message);

      fresh();
      t = Unpack(path);
      ASSERT_FALSE(t->record_names.empty());
      const std::string names =
          Decompress(t->record_names.data(), t->record_names.size(), t->record_names_bytes);
      const std::string frame = Frame(names, c.checksum, c.content_size);
      t->record_names.assign(frame.begin(), frame.end());
      Pack(t.get(), path);
      o = Open(path);
      EXPECT_TRUE(Mentions(Corruption(o), std::string("record names: ") + c.why))
          << (o.index ? "opened" : o.index.error().message);
    }
  }
}

// No writer cut blocks of more than kEntriesPerBlock entries: a directory of three blocks that
// claims 65,536 entries each (a file of a few KiB claiming 196,607 entries) is refused, opened
// with verification or without.
TEST_F(IndexFileHostileTest, BlocksOfMoreEntriesThanAnyWriterCutAreRefused) {
  const fs::path path = WriteIndex(300);
  auto t = Unpack(path);
  ASSERT_EQ(t->block_refs.size(), 3u);
  t->entries_per_block = 1u << 16;
  t->entry_count = 3 * (1u << 16) - 1;
  Pack(t.get(), path);
  for (bool verify : {true, false}) {
    const Opened o = Open(path, verify);
    EXPECT_TRUE(Mentions(Corruption(o), "blocks of 65536 entries"))
        << (o.index ? "opened" : o.index.error().message);
  }
}

// A file of 1.3 MB whose 65,536 block references (all naming one byte) claim 2^32 - 1 entries:
// it is refused, or at least the pass over its blocks sees each block's entries in range, with
// no end wrapped round 2^32 (the last block's end, 65,536 × 65,536, is 0 in 32 bits).
TEST_F(IndexFileHostileTest, AFileClaimingFourBillionEntriesIsRefusedOrWalkedInRange) {
  fb::ShardIndexT t;
  t.format_version = index_format::kFormatVersionTwo;
  t.shard_id = 1;
  t.entry_count = 0xffffffffu;
  t.entries_per_block = 1u << 16;
  t.blocks = {0};
  for (uint32_t b = 0; b < (1u << 16); ++b) {
    t.block_refs.emplace_back(0, 1, 1);
    auto key = std::make_unique<fb::BlockKeyT>();
    key->kind = "Pod";
    t.block_keys.push_back(std::move(key));
  }
  const fs::path path = dir_ / "0000000001.idx";
  Pack(&t, path);
  std::vector<std::pair<uint32_t, uint32_t>> ranges;
  const Opened o = Open(path, /*verify=*/false, [&](const IndexReader&, uint32_t f, uint32_t l) {
    ranges.emplace_back(f, l);
  });
  if (!o.index) {
    EXPECT_TRUE(Mentions(Corruption(o), "blocks of 65536 entries")) << o.index.error().message;
    return;
  }
  ASSERT_EQ(ranges.size(), 1u << 16);
  uint32_t expected = 0;
  for (const auto& [first, last] : ranges) {
    ASSERT_EQ(first, expected);
    ASSERT_GT(last, first) << "block of entry " << first;
    expected = last;
  }
  EXPECT_EQ(expected, (*o.index)->size());
}

}  // namespace
}  // namespace sloop
