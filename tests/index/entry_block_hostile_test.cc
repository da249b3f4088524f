// Hostile entry blocks (index/entry_block.h, DecodeEntryBlock): a block that EntryBlockBuilder
// wrote, with one stream rewritten the way an attacker who can write the index file (or damage
// that still passes the block's unkeyed xxh64) could. Counts that the bytes alone do not bound,
// gaps that wrap round 2^64 back to an index already named, links that stop ascending, and parts
// both inherited and held are refused, without a large allocation; so is such a block in an
// index file (kCorruption); and extreme times decode with wrapping arithmetic (no signed
// overflow for the sanitizer builds to report).
#include <gtest/gtest.h>
#include <unistd.h>
#include <zstd.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "base/varint.h"
#include "index/entry_block.h"
#include "index/index_format.h"
#include "index/index_reader.h"
#include "index/index_writer.h"
#include "tests/index/largest_allocation.h"

namespace sloop::index_internal {
namespace {

using namespace index_format;

constexpr int64_t kSec = 1000000000LL;
constexpr int64_t kStart = 1'790'000'000LL * kSec;

// Entry mask bits (docs/format/index.md, "masks").
constexpr uint64_t kHasOwnersBit = 16;
constexpr uint64_t kRefBit = 512;

std::string V(uint64_t v) {
  std::string out;
  varint::Put(&out, v);
  return out;
}
std::string S(int64_t v) { return V(varint::ZigZag(v)); }

// A payload cut into its header and streams, to rewrite one and join them again.
struct Parts {
  uint64_t n = 0;
  uint64_t ordinal = 0;
  std::array<std::string, kBlockStreams> streams;
};

Parts Split(std::string_view payload) {
  Parts p;
  varint::Reader r(payload);
  p.n = r.Get();
  p.ordinal = r.Get();
  for (std::string& s : p.streams) s = std::string(r.Bytes(r.Get()));
  EXPECT_TRUE(r.ok() && r.done());
  return p;
}

std::string Join(const Parts& p) {
  std::string out = V(p.n) + V(p.ordinal);
  for (const std::string& s : p.streams) out += V(s.size()) + s;
  return out;
}

// The varints of a stream of varints (the masks), and back.
std::vector<uint64_t> Varints(std::string_view s) {
  std::vector<uint64_t> out;
  varint::Reader r(s);
  while (!r.done()) out.push_back(r.Get());
  EXPECT_TRUE(r.ok());
  return out;
}
std::string Varints(const std::vector<uint64_t>& values) {
  std::string out;
  for (uint64_t v : values) out += V(v);
  return out;
}

// Why a decode refuses the payload ("" when it decodes it), and the largest single allocation it
// made.
struct Outcome {
  std::string why;
  size_t largest_allocation = 0;
};

Outcome Decode(std::string_view payload, const BlockContext& ctx) {
  EntryBlock block;
  std::string why;
  bool ok = false;
  const size_t largest =
      sloop::testing::LargestAllocation([&] { ok = DecodeEntryBlock(payload, ctx, &block, &why); });
  if (ok) why.clear();
  EXPECT_TRUE(ok || !why.empty());
  return {why, largest};
}

std::string Refusal(std::string_view payload, const BlockContext& ctx) {
  return Decode(payload, ctx).why;
}

class EntryBlockHostileTest : public ::testing::Test {
 protected:
  uint32_t Id(std::string_view s) {
    for (uint32_t i = 0; i < strings_.size(); ++i) {
      if (strings_[i] == s) return i;
    }
    strings_.emplace_back(s);
    return static_cast<uint32_t>(strings_.size() - 1);
  }

  // What the decoder needs from the file: the strings the builder numbered.
  BlockContext Context(uint32_t entries, uint32_t shard_entries, uint32_t base_entries = 0) {
    views_.assign(strings_.begin(), strings_.end());
    BlockContext ctx;
    ctx.strings = views_;
    ctx.window_start_ns = kStart;
    ctx.entries = entries;
    ctx.shard_entries = shard_entries;
    ctx.base_entries = base_entries;
    return ctx;
  }

  static ResourceSummary Pod(int64_t t, bool with_owners) {
    ResourceSummary s;
    s.api_version = "v1";
    s.flags = kCreatedInShard;
    s.creation_ns = t - 5 * kSec;
    s.first_ns = t;
    s.last_ns = t + 30 * kSec;
    s.record_count = 2;
    s.change_count = 2;
    s.change_secs = {static_cast<uint32_t>(t / kSec), static_cast<uint32_t>(t / kSec) + 30};
    s.heat.push_back({static_cast<uint32_t>(t / kSec / 60), 3, 0, 2});
    s.last_resource_version = "1001";
    if (with_owners) {
      s.owners = std::make_shared<std::vector<OwnerRefData>>(std::vector<OwnerRefData>{
          {"ReplicaSet", "web-5d8", "7f3a1c2e-8b4d-4e6f-9a0b-1c2d3e4f5a6b", true}});
    }
    return s;
  }

  // Three entries of a shard of three: two Pods with one owner list, the first with the third
  // (an Event about it) in its `about` list.
  std::string Block() {
    EntryBlockBuilder b(kStart, [this](std::string_view s) { return Id(s); });
    b.Start(0, 0);
    const ResourceSummary pod = Pod(kStart + 10 * kSec, true);
    b.Add({"Pod", "default", "web-1", "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"}, pod, 0, false,
          std::vector<uint32_t>{2});
    b.Add({"Pod", "default", "web-2", "1a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"}, pod, 2, false, {});
    ResourceSummary event = Pod(kStart + 12 * kSec, false);
    event.MakeEvent() = {{"Pod", "default", "web-1", ""}, 3, kStart + 40 * kSec};
    b.Add({"Event", "default", "web-1.17a", ""}, event, 4, true, {});
    return b.Finish();
  }

  // Three entries of a file written against a base of ten: the first two named through the base
  // (entries 3, which holds the same owners, and 7), the third with its own key and owners.
  std::string RefBlock() {
    EntryBlockBuilder b(kStart, [this](std::string_view s) { return Id(s); });
    b.Start(0, 0);
    ResourceSummary carried = Pod(kStart, true);
    carried.flags = kCarriedOver;
    carried.record_count = carried.change_count = 0;
    carried.first_ns = carried.last_ns = 0;
    carried.change_secs.clear();
    carried.heat.clear();
    const EntryRef first{3, kInheritOwners}, second{7, 0};
    b.Add({"Pod", "default", "a", ""}, carried, std::nullopt, false, {}, &first);
    b.Add({"Pod", "default", "b", ""}, carried, std::nullopt, false, {}, &second);
    b.Add({"Pod", "default", "c", "u"}, Pod(kStart + 10 * kSec, true), 0, false, {});
    return b.Finish();
  }

  std::deque<std::string> strings_;
  std::vector<std::string_view> views_;
};

TEST_F(EntryBlockHostileTest, TheBlocksTheTestsRewriteDecode) {
  const std::string block = Block();
  const std::string refs = RefBlock();
  EXPECT_EQ(Refusal(block, Context(3, 3)), "");
  EXPECT_EQ(Refusal(refs, Context(3, 3, 10)), "");
  EXPECT_EQ(Join(Split(block)), block);
  EXPECT_EQ(Join(Split(refs)), refs);
}

// An owner list is named by an entry at least: a block of zeros that claims millions of empty
// lists (one byte each) is refused before they are allocated, like a count beyond the bytes.
TEST_F(EntryBlockHostileTest, OwnerListsAreNoMoreThanTheEntries) {
  const std::string block = Block();
  const BlockContext ctx = Context(3, 3);
  const Parts parts = Split(block);
  const std::string& owners = parts.streams[kOwners];
  ASSERT_EQ(owners[0], 1);  // one list, then its owners, then each Pod's list number (0)
  const std::string table = owners.substr(1, owners.size() - 3);
  const std::string ids = owners.substr(owners.size() - 2);
  auto with_lists = [&](uint64_t lists) {
    Parts p = parts;
    p.streams[kOwners] = V(lists) + table + std::string(lists - 1, '\0') + ids;
    return Join(p);
  };
  EXPECT_EQ(Refusal(with_lists(3), ctx), "");
  EXPECT_EQ(Refusal(with_lists(4), ctx), "more owner lists than entries");
  const Outcome many = Decode(with_lists(4u << 20), ctx);
  EXPECT_EQ(many.why, "more owner lists than entries");
  EXPECT_LT(many.largest_allocation, 64u << 10);
  // Counts beyond the bytes: 2^31 lists, 2^40 owners in a list.
  Parts p = parts;
  p.streams[kOwners] = V(uint64_t{1} << 31) + table + ids;
  EXPECT_NE(Refusal(Join(p), ctx), "");
  p.streams[kOwners] = V(1) + V(uint64_t{1} << 40) + table.substr(1) + ids;
  const Outcome owners_beyond = Decode(Join(p), ctx);
  EXPECT_EQ(owners_beyond.why, "owner lists cut short");
  EXPECT_LT(owners_beyond.largest_allocation, 64u << 10);
}

// An owner list holds at most kMaxOwnersPerEntry owners: a decoded owner takes 56 bytes for its
// 4 stored, so a block of 64 MiB of one-byte owners would otherwise ask for 0.9 GB. The builder
// cuts a longer list itself, keeping the controller, so that no block it writes is refused.
TEST_F(EntryBlockHostileTest, OwnerListsHoldNoMoreThanAnEntryKeeps) {
  const Parts parts = Split(Block());
  const std::string& stream = parts.streams[kOwners];
  const std::string ids = stream.substr(stream.size() - 2);  // each Pod's list number (0)
  const uint32_t kind = Id("ReplicaSet");
  const BlockContext ctx = Context(3, 3);
  auto with_owners = [&](uint64_t owners) {
    std::string table = V(1) + V(owners);
    for (uint64_t i = 0; i < owners; ++i) table += V(kind) + V(1) + "o" + V(1) + '\0';
    Parts p = parts;
    p.streams[kOwners] = table + ids;
    return Join(p);
  };
  EXPECT_EQ(Refusal(with_owners(kMaxOwnersPerEntry), ctx), "");
  EXPECT_EQ(Refusal(with_owners(kMaxOwnersPerEntry + 1), ctx),
            "an owner list longer than an entry keeps");

  // What the builder writes of an object with 300 owners, its controller the 201st.
  std::vector<OwnerRefData> many;
  for (int i = 0; i < 300; ++i) {
    many.push_back({"ConfigMap", "owner-" + std::to_string(i), "", i == 200});
  }
  ResourceSummary pod = Pod(kStart + 10 * kSec, false);
  pod.owners = std::make_shared<std::vector<OwnerRefData>>(many);
  EntryBlockBuilder b(kStart, [this](std::string_view s) { return Id(s); });
  b.Start(0, 0);
  b.Add({"Pod", "default", "web-1", "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"}, pod, 0, false, {});
  const std::string written = b.Finish();
  EntryBlock decoded;
  std::string why;
  ASSERT_TRUE(DecodeEntryBlock(written, Context(1, 1), &decoded, &why)) << why;
  ASSERT_EQ(decoded.rows.size(), 1u);
  const EntryRow& row = decoded.rows[0];
  ASSERT_EQ(row.owners_n, kMaxOwnersPerEntry);
  EXPECT_EQ(decoded.owners[row.owners].name, "owner-0");
  const IndexOwner& last = decoded.owners[row.owners + kMaxOwnersPerEntry - 1];
  EXPECT_EQ(last.name, "owner-200");
  EXPECT_TRUE(last.controller);
  EXPECT_EQ(decoded.owners[row.owners + kMaxOwnersPerEntry - 2].name,
            "owner-" + std::to_string(kMaxOwnersPerEntry - 2));
}

// The about stream names the block's entries ascending: a gap near 2^64 (or 2^63, where signed
// arithmetic would overflow) is refused, not wrapped back to an entry named before; and so is
// a count of such entries above the block's.
TEST_F(EntryBlockHostileTest, EventLinkGapsNeitherOverflowNorWrap) {
  const std::string block = Block();
  const BlockContext ctx = Context(3, 3);
  Parts p = Split(block);
  ASSERT_EQ(p.streams[kAbout], V(1) + V(0) + V(1) + S(2));
  auto with_about = [&](const std::string& about) {
    p.streams[kAbout] = about;
    return Join(p);
  };
  // Entries 0 and 2, each with one Event (2, then 0 against it).
  EXPECT_EQ(Refusal(with_about(V(2) + V(0) + V(1) + S(2) + V(1) + V(1) + S(-2)), ctx), "");
  for (uint64_t gap : {~uint64_t{0}, ~uint64_t{0} - 1, (uint64_t{1} << 63) - 1, uint64_t{1} << 63,
                       (uint64_t{1} << 63) + 1, uint64_t{2}}) {
    SCOPED_TRACE(gap);
    EXPECT_EQ(Refusal(with_about(V(2) + V(0) + V(1) + S(2) + V(gap) + V(1) + S(-2)), ctx),
              "Event links cut short");
  }
  // Four entries with links in a block of three (each gap, as a signed number, -1: the same row).
  std::string four = V(4);
  for (int k = 0; k < 4; ++k) four += V(k == 0 ? 0 : ~uint64_t{0}) + V(1) + S(0);
  EXPECT_EQ(Refusal(with_about(four), ctx), "more entries with Event links than entries");
  // Counts beyond the bytes.
  EXPECT_NE(Refusal(with_about(V(uint64_t{1} << 62) + V(0) + V(1) + S(2)), ctx), "");
  EXPECT_NE(Refusal(with_about(V(1) + V(0) + V(uint64_t{1} << 40) + S(2)), ctx), "");
}

// Each entry's Events are entries of the shard, strictly ascending: no difference wraps modulo
// 2^32 onto an entry of the shard, and no list is longer than the shard.
TEST_F(EntryBlockHostileTest, EventLinksAscendWithinTheShard) {
  const std::string block = Block();
  const BlockContext ctx = Context(3, 3);
  Parts p = Split(block);
  auto with_links = [&](uint64_t count, const std::string& links) {
    p.streams[kAbout] = V(1) + V(0) + V(count) + links;
    return Join(p);
  };
  EXPECT_EQ(Refusal(with_links(2, S(1) + V(1)), ctx), "");
  // 2^32 + 1 is 1 modulo 2^32; 3 is past the shard; -1 before it.
  for (int64_t first : {(int64_t{1} << 32) + 1, int64_t{3}, int64_t{-1}, INT64_MIN, INT64_MAX}) {
    SCOPED_TRACE(first);
    EXPECT_EQ(Refusal(with_links(1, S(first)), ctx), "an Event link names no entry");
  }
  // The same entry twice, 2 then 1 (2 + 2^32 - 1 modulo 2^32), past the shard, a gap near 2^64.
  for (const std::string& links : {S(1) + V(0), S(2) + V(0xffffffffu), S(1) + V(2),
                                   S(1) + V(~uint64_t{0}), S(1) + V((uint64_t{1} << 63) + 1)}) {
    EXPECT_EQ(Refusal(with_links(2, links), ctx),
              "an Event link names no entry, or not after the one before");
  }
  // Four links in a shard of three (0, 1, 2, then 1 again modulo 2^32).
  EXPECT_EQ(Refusal(with_links(4, S(0) + V(1) + V(1) + V(0xffffffffu)), ctx),
            "more Event links than entries in the shard");
}

// Entries named through the base index ascend strictly below the base's entry count: a gap near
// 2^64 does not wrap back to an entry before the previous one.
TEST_F(EntryBlockHostileTest, RefsAscendWithinTheBase) {
  const std::string block = RefBlock();
  const BlockContext ctx = Context(3, 3, 10);
  Parts p = Split(block);
  ASSERT_EQ(p.streams[kRefs], V(3) + V(3));
  auto with_refs = [&](const std::string& refs) {
    p.streams[kRefs] = refs;
    return Join(p);
  };
  EXPECT_EQ(Refusal(with_refs(V(0) + V(8)), ctx), "");  // 0 and 9
  for (const std::string& refs : {V(3) + V(~uint64_t{0} - 2), V(3) + V(~uint64_t{0}), V(3) + V(6),
                                  V(10) + V(0), V(~uint64_t{0}) + V(0)}) {
    EXPECT_EQ(Refusal(with_refs(refs), ctx), "an entry names no entry of the base index");
  }
  EXPECT_EQ(Refusal(block, Context(3, 3, 0)), "an entry names no entry of the base index");
}

// An entry that inherits a part from the base holds none of it: the reader would read the base's
// and leave the held one to no one.
TEST_F(EntryBlockHostileTest, InheritedPartsAreNotHeld) {
  const std::string block = RefBlock();
  const BlockContext ctx = Context(3, 3, 10);
  Parts p = Split(block);
  std::vector<uint64_t> masks = Varints(p.streams[kMasks]);
  ASSERT_EQ(masks.size(), 3u);
  ASSERT_TRUE(masks[0] & kRefBit);
  ASSERT_FALSE(masks[0] & kHasOwnersBit);
  masks[0] |= kHasOwnersBit;
  p.streams[kMasks] = Varints(masks);
  p.streams[kOwners] += V(0);  // its list number, then the third entry's
  const std::string owners = p.streams[kOwners];
  ASSERT_EQ(owners.substr(owners.size() - 2), V(0) + V(0));
  EXPECT_EQ(Refusal(Join(p), ctx), "an entry inherits a part it holds");
}

// A count is a 32-bit number: 2^32 + 1 does not read as 1. Lists of ticks and heat cells longer
// than their bytes are refused before anything is allocated for them.
TEST_F(EntryBlockHostileTest, CountsBeyondTheirRangeOrTheirBytesAreRefused) {
  const std::string block = Block();
  const BlockContext ctx = Context(3, 3);
  Parts p = Split(block);
  const std::string counts = p.streams[kCounts];
  ASSERT_EQ(counts.substr(0, 3), V(2) + V(2) + V(0));
  p.streams[kCounts] = V((uint64_t{1} << 32) + 2) + counts.substr(1);
  EXPECT_EQ(Refusal(Join(p), ctx), "a count above 2^32");
  p.streams[kCounts] = V(2) + V(~uint64_t{0}) + counts.substr(2);
  EXPECT_EQ(Refusal(Join(p), ctx), "a count above 2^32");
  p.streams[kCounts] = counts;
  const std::string ticks = p.streams[kTicks];
  ASSERT_EQ(ticks[0], 2);
  p.streams[kTicks] = V(uint64_t{1} << 40) + ticks.substr(1);
  Outcome o = Decode(Join(p), ctx);
  EXPECT_NE(o.why, "");
  EXPECT_LT(o.largest_allocation, 64u << 10);
  p.streams[kTicks] = ticks;
  const std::string heat = p.streams[kHeat];
  ASSERT_EQ(heat[0], 1);
  p.streams[kHeat] = V(uint64_t{1} << 40) + heat.substr(1);
  o = Decode(Join(p), ctx);
  EXPECT_NE(o.why, "");
  EXPECT_LT(o.largest_allocation, 64u << 10);
}

// Times are differences added with wrapping arithmetic: any difference decodes (to a time modulo
// 2^64) without signed overflow, which the sanitizer builds would report.
TEST_F(EntryBlockHostileTest, ExtremeTimesWrap) {
  const std::string block = Block();
  const BlockContext ctx = Context(3, 3);
  Parts p = Split(block);
  std::string raw_min(8, '\0');
  raw_min[7] = static_cast<char>(0x80);  // INT64_MIN, little-endian
  // Each entry's first, last and creation times: the largest differences of each form (whole
  // seconds, eight bytes, nanoseconds), every one added to a time far from it.
  std::string times;
  for (int k = 0; k < 9; ++k) {
    times += k % 3 == 0 ? V(~uint64_t{0} - 1) : k % 3 == 1 ? V(1) + raw_min : V(~uint64_t{0});
  }
  p.streams[kTimes] = times;
  p.streams[kEvents] = V(Id("Pod")) + S(INT64_MIN) + V(~uint64_t{0}) + V(0);
  p.streams[kPositions] = V(~uint64_t{0} - 1) + V(~uint64_t{0} - 1) + V(~uint64_t{0} - 1);
  p.streams[kVersions] = V(~uint64_t{0} - 1) + V(~uint64_t{0} - 1) + V(~uint64_t{0} - 1);
  EXPECT_EQ(Refusal(Join(p), ctx), "");
}

// The same refusals through the reader: a file whose block holds more owner lists than entries
// (its zstd frame intact) does not open (kCorruption).
class HostileIndexFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("entry_block_hostile_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path dir_;
};

TEST_F(HostileIndexFileTest, ABlockWithMoreOwnerListsThanEntriesIsCorruption) {
  // An owner name no compressor shrinks, so that the rewritten block (whose name is shorter and
  // plain) compresses into less than the frame it replaces: the rest is a skippable frame.
  std::string noise;
  uint32_t x = 12345;
  for (int k = 0; k < 60; ++k) {
    x = x * 1103515245u + 12345u;
    noise.push_back(static_cast<char>('a' + (x >> 16) % 26));
  }
  ResourceSummary s;
  s.api_version = "v1";
  s.flags = kCarriedOver;
  s.owners = std::make_shared<std::vector<OwnerRefData>>(
      std::vector<OwnerRefData>{{"ReplicaSet", noise, "u", true}});
  const ResourceKeyView keys[] = {{"Pod", "default", "web-1", "u1"},
                                  {"Pod", "default", "web-2", "u2"}};
  const std::filesystem::path path = dir_ / "0000000001.idx";
  {
    IndexWriter w(path, kStart);
    for (const ResourceKeyView& k : keys) w.Plan(k, s);
    for (const ResourceKeyView& k : keys) ASSERT_TRUE(w.Add(k, s, {}));
    IndexShardInfo info;
    info.shard_id = 1;
    info.window_start_ns = kStart;
    info.window_end_ns = kStart + 3600 * kSec;
    ASSERT_TRUE(w.Finish(info, {}));
  }
  IndexBlock where;
  {
    auto index = IndexReader::Open(path);
    ASSERT_TRUE(index) << index.error().message;
    ASSERT_EQ((*index)->block_count(), 1u);
    where = (*index)->block(0);
  }
  std::string file;
  {
    std::ifstream in(path, std::ios::binary);
    file.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  std::string payload(where.raw_bytes, '\0');
  ASSERT_EQ(ZSTD_decompress(payload.data(), payload.size(), file.data() + where.file_offset,
                            where.compressed_bytes),
            where.raw_bytes);
  // Three lists in a block of two entries, the same size: the name two bytes shorter, two empty
  // lists after the first.
  Parts p = Split(payload);
  std::string& owners = p.streams[kOwners];
  ASSERT_EQ(owners[0], 1);
  std::string table = owners.substr(1, owners.size() - 3);
  const size_t at = table.find(noise);
  ASSERT_NE(at, std::string::npos);
  table.replace(at - 1, noise.size() + 1, V(noise.size() - 2) + std::string(noise.size() - 2, 'a'));
  owners = V(3) + table + std::string(2, '\0') + owners.substr(owners.size() - 2);
  const std::string hostile = Join(p);
  ASSERT_EQ(hostile.size(), payload.size());
  std::unique_ptr<ZSTD_CCtx, decltype(&ZSTD_freeCCtx)> cctx(ZSTD_createCCtx(), ZSTD_freeCCtx);
  ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_checksumFlag, 1);
  std::string frame(ZSTD_compressBound(hostile.size()), '\0');
  const size_t n =
      ZSTD_compress2(cctx.get(), frame.data(), frame.size(), hostile.data(), hostile.size());
  ASSERT_FALSE(ZSTD_isError(n));
  ASSERT_LE(n + 8, where.compressed_bytes) << "the rewritten block must compress smaller";
  frame.resize(n);
  const uint32_t skip = where.compressed_bytes - static_cast<uint32_t>(n) - 8;
  for (uint32_t v : {uint32_t{ZSTD_MAGIC_SKIPPABLE_START}, skip}) {
    for (int k = 0; k < 4; ++k) frame.push_back(static_cast<char>(v >> (8 * k)));
  }
  frame.append(skip, '\0');
  file.replace(where.file_offset, where.compressed_bytes, frame);
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(file.data(), static_cast<std::streamsize>(file.size()));
  }
  auto index = IndexReader::Open(path);
  ASSERT_FALSE(index);
  EXPECT_EQ(index.error().code, ErrorCode::kCorruption);
  EXPECT_NE(index.error().message.find("more owner lists than entries"), std::string::npos)
      << index.error().message;
}

}  // namespace
}  // namespace sloop::index_internal
