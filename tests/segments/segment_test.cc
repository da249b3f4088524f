#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>
#include <xxhash.h>
#include <zstd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <set>
#include <thread>

#include "segments/block_frame.h"
#include "segments/columnar_block.h"
#include "segments/segment_format.h"
#include "segments/segment_reader.h"
#include "segments/segment_writer.h"
#include "tests/engine/record_maker.h"
#include "tests/segments/format_v1_records.h"

namespace sloop {
namespace {

namespace fs = std::filesystem;
using testing::ReadFixture;
constexpr int64_t kT0 = 1795165200LL * 1000000000LL;

// Owned records with every field set, built from the fixtures with varying identity.
struct Rec {
  int64_t t;
  WatchType type;
  std::string group, version, kind, ns, name, uid, rv, payload;
  bool event = false;
  std::string ik, ins, in, iu, reason, message;
  EventSeverity severity = EventSeverity::kUnknown;
  int32_t count = 0;
  int64_t first = 0, last = 0;

  RecordView view() const {
    RecordView v{t, type, group, version, kind, ns, name, uid, rv, payload, std::nullopt};
    if (event)
      v.event = EventInfoView{ik, ins, in, iu, reason, severity, count, first, last, message};
    return v;
  }
};

void ExpectSame(const Rec& want, const RecordView& got) {
  EXPECT_EQ(got.observed_ns, want.t);
  EXPECT_EQ(got.watch_type, want.type);
  EXPECT_EQ(got.api_group, want.group);
  EXPECT_EQ(got.api_version, want.version);
  EXPECT_EQ(got.kind, want.kind);
  EXPECT_EQ(got.namespace_, want.ns);
  EXPECT_EQ(got.name, want.name);
  EXPECT_EQ(got.uid, want.uid);
  EXPECT_EQ(got.resource_version, want.rv);
  EXPECT_EQ(got.payload, want.payload);
  ASSERT_EQ(got.event.has_value(), want.event);
  if (want.event) {
    EXPECT_EQ(got.event->involved_kind, want.ik);
    EXPECT_EQ(got.event->involved_namespace, want.ins);
    EXPECT_EQ(got.event->involved_name, want.in);
    EXPECT_EQ(got.event->involved_uid, want.iu);
    EXPECT_EQ(got.event->reason, want.reason);
    EXPECT_EQ(got.event->message, want.message);
    EXPECT_EQ(got.event->severity, want.severity);
    EXPECT_EQ(got.event->count, want.count);
    EXPECT_EQ(got.event->first_timestamp_ns, want.first);
    EXPECT_EQ(got.event->last_timestamp_ns, want.last);
  }
}

std::vector<Rec> MakeRecords(int n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  const std::string pod = ReadFixture("pod.json"), node = ReadFixture("node.json"),
                    event = ReadFixture("event.json"), deploy = ReadFixture("deployment.json");
  std::vector<Rec> out;
  for (int i = 0; i < n; ++i) {
    Rec r;
    r.t = kT0 + i * 1000000LL + static_cast<int64_t>(rng() % 1000);
    r.type = static_cast<WatchType>(rng() % 5);
    r.rv = std::to_string(1000 + i);
    r.uid = "uid-" + std::to_string(rng());
    switch (i % 4) {
      case 0:
        r.version = "v1", r.kind = "Pod", r.ns = "shop", r.name = "web-" + std::to_string(i);
        r.payload = pod;
        break;
      case 1:
        r.version = "v1", r.kind = "Node",
        r.name = "node-" + std::to_string(i % 7);  // cluster-scoped
        r.payload = node;
        break;
      case 2:
        r.version = "v1", r.kind = "Event", r.ns = "shop", r.name = "web.17" + std::to_string(i);
        r.payload = event;
        r.event = true, r.ik = "Pod", r.ins = "shop", r.in = "web-" + std::to_string(i - 2);
        r.iu = "uid-x", r.reason = i % 3 ? "BackOff" : "Pulled",
        r.message = "Back-off \"quoted\" \n";
        r.severity = i % 3 ? EventSeverity::kWarning : EventSeverity::kNormal;
        r.count = i, r.first = r.t - 5000, r.last = r.t;
        break;
      default:
        r.group = "apps", r.version = "v1", r.kind = "Deployment", r.ns = "shop", r.name = "web";
        r.payload = deploy;
        break;
    }
    // Vary the payload so blocks are not trivially identical.
    r.payload.insert(r.payload.size() - 1, ",\"x-test\":\"" + std::to_string(rng()) + "\"");
    out.push_back(std::move(r));
  }
  return out;
}

// Writes a segment of one block whose frame (checksum included) is valid around `body`.
void WriteRawBlock(const fs::path& path, uint16_t format, uint32_t count, const std::string& body) {
  std::string file(segment_format::kFileHeaderSize, '\0');
  std::memcpy(file.data(), segment_format::kFileMagic, 8);
  const uint32_t version = segment_format::kFormatVersion;
  std::memcpy(file.data() + 8, &version, 4);
  std::string compressed(ZSTD_compressBound(body.size()), '\0');
  const size_t n = ZSTD_compress(compressed.data(), compressed.size(), body.data(), body.size(), 3);
  ASSERT_FALSE(ZSTD_isError(n));
  block_frame::Header h;
  h.block_format = format;
  h.compressed_bytes = static_cast<uint32_t>(n);
  h.uncompressed_bytes = static_cast<uint32_t>(body.size());
  h.record_count = count;
  char header[segment_format::kBlockHeaderSize];
  block_frame::Encode(h, header);
  std::string frame(header, sizeof(header));
  frame.append(compressed.data(), n);
  const uint64_t sum = XXH64(frame.data(), frame.size(), 0);
  frame.append(reinterpret_cast<const char*>(&sum), 8);
  std::ofstream(path, std::ios::binary) << file << frame;
}

class SegmentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("sloop-seg-test-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = dir_ / "a.seg";
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Writes records with small blocks; returns the block handles the listener saw.
  std::vector<BlockHandle> Write(const std::vector<Rec>& recs, size_t block_bytes = 8 * 1024) {
    WriterOptions o;
    o.target_block_bytes = block_bytes;
    auto w = SegmentWriter::Create(path_, o);
    EXPECT_TRUE(w.has_value());
    std::vector<BlockHandle> blocks;
    (*w)->SetBlockListener([&](const BlockHandle& h) { blocks.push_back(h); });
    for (const auto& r : recs) EXPECT_TRUE((*w)->Append(r.view()).has_value());
    EXPECT_TRUE((*w)->Close().has_value());
    return blocks;
  }

  size_t CountReadable(std::vector<CorruptBlock>* corrupt = nullptr) {
    auto r = SegmentReader::Open(path_);
    EXPECT_TRUE(r.has_value());
    size_t n = 0;
    auto s = (*r)->Scan(
        [&](const Block& b) {
          n += b.size();
          return true;
        },
        [&](const CorruptBlock& c) {
          if (corrupt) corrupt->push_back(c);
        });
    EXPECT_TRUE(s.has_value());
    return n;
  }

  void FlipBit(uint64_t offset, int bit) {
    std::fstream f(path_, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(offset);
    char c;
    f.read(&c, 1);
    c ^= static_cast<char>(1 << bit);
    f.seekp(offset);
    f.write(&c, 1);
  }

  fs::path dir_, path_;
};

TEST_F(SegmentTest, RoundTripPreservesEveryFieldByteForByte) {
  auto recs = MakeRecords(600, 1);
  auto blocks = Write(recs);
  ASSERT_GT(blocks.size(), 10u);
  auto reader = SegmentReader::Open(path_);
  ASSERT_TRUE(reader.has_value());
  size_t i = 0;
  uint64_t expect_offset = segment_format::kFileHeaderSize;
  ASSERT_TRUE((*reader)
                  ->Scan(
                      [&](const Block& b) {
                        EXPECT_EQ(b.handle().offset, expect_offset);
                        expect_offset += b.handle().frame_bytes;
                        int64_t lo = INT64_MAX, hi = INT64_MIN;
                        for (size_t j = 0; j < b.size(); ++j, ++i) {
                          ExpectSame(recs[i], b.record(j));
                          lo = std::min(lo, recs[i].t);
                          hi = std::max(hi, recs[i].t);
                        }
                        EXPECT_EQ(b.handle().min_observed_ns, lo);
                        EXPECT_EQ(b.handle().max_observed_ns, hi);
                        return true;
                      },
                      [](const CorruptBlock& c) { ADD_FAILURE() << c.offset << " " << c.reason; })
                  .has_value());
  EXPECT_EQ(i, recs.size());
  EXPECT_EQ(expect_offset, fs::file_size(path_));
  // Reading one block by offset gives the same records as the listener's handle says.
  Block b;
  ASSERT_TRUE((*reader)->ReadBlock(blocks[3].offset, &b).has_value());
  EXPECT_EQ(b.size(), blocks[3].record_count);
  EXPECT_EQ(b.handle().frame_bytes, blocks[3].frame_bytes);
  std::vector<CorruptBlock> corrupt;
  auto listed = (*reader)->ListBlocks(&corrupt);
  ASSERT_TRUE(listed.has_value());
  EXPECT_EQ(listed->size(), blocks.size());
  EXPECT_TRUE(corrupt.empty());
}

// Blocks read one after another into the same Block, growing and shrinking, and into fresh
// Blocks that take over the buffers of destroyed ones (the reader keeps one a thread): every
// record comes back whole whatever buffer held the block before.
TEST_F(SegmentTest, BlocksOfEverySizeReadIntoReusedBuffersComeBackWhole) {
  auto recs = MakeRecords(1400, 11);
  WriterOptions o;
  o.target_block_bytes = 64 << 20;  // blocks end where the test flushes
  auto w = SegmentWriter::Create(path_, o);
  ASSERT_TRUE(w.has_value());
  std::vector<BlockHandle> blocks;
  (*w)->SetBlockListener([&](const BlockHandle& h) { blocks.push_back(h); });
  // Records per block: small, a little larger (within twice the last), much larger, smaller.
  const std::vector<size_t> sizes = {20, 27, 40, 75, 140, 400, 30, 500, 168};
  std::vector<size_t> first;
  size_t at = 0;
  for (size_t n : sizes) {
    first.push_back(at);
    for (size_t k = 0; k < n; ++k) ASSERT_TRUE((*w)->Append(recs[at++].view()).has_value());
    ASSERT_TRUE((*w)->Flush().has_value());
  }
  ASSERT_TRUE((*w)->Close().has_value());
  ASSERT_EQ(blocks.size(), sizes.size());
  auto reader = SegmentReader::Open(path_);
  ASSERT_TRUE(reader.has_value());
  auto expect_block = [&](const Block& b, size_t i) {
    ASSERT_EQ(b.size(), sizes[i]);
    for (size_t k = 0; k < b.size(); ++k) ExpectSame(recs[first[i] + k], b.record(k));
  };
  std::vector<size_t> order;
  for (int pass = 0; pass < 3; ++pass) {
    for (size_t i = 0; i < sizes.size(); ++i) order.push_back(i);
  }
  std::shuffle(order.begin(), order.end(), std::mt19937_64(3));
  Block reused;
  for (size_t i : order) {
    ASSERT_TRUE((*reader)->ReadBlock(blocks[i].offset, &reused).has_value());
    expect_block(reused, i);
    Block fresh;  // takes the spare buffer, gives it back when it goes
    ASSERT_TRUE((*reader)->ReadBlock(blocks[(i + 1) % sizes.size()].offset, &fresh).has_value());
    expect_block(fresh, (i + 1) % sizes.size());
  }
  std::thread other([&] {
    for (size_t i : order) {
      Block b;
      ASSERT_TRUE((*reader)->ReadBlock(blocks[i].offset, &b).has_value());
      expect_block(b, i);
    }
  });
  other.join();
}

TEST_F(SegmentTest, AppendReportsLocationsAndPendingRecordsAreVisible) {
  auto recs = MakeRecords(50, 2);
  WriterOptions o;
  o.target_block_bytes = 1 << 20;  // nothing written until Flush
  auto w = SegmentWriter::Create(path_, o);
  ASSERT_TRUE(w.has_value());
  for (size_t i = 0; i < recs.size(); ++i) {
    auto loc = (*w)->Append(recs[i].view());
    ASSERT_TRUE(loc.has_value());
    EXPECT_EQ(loc->block_offset, segment_format::kFileHeaderSize);
    EXPECT_EQ(loc->index_in_block, i);
  }
  EXPECT_EQ((*w)->pending_records(), recs.size());
  size_t seen = 0;
  (*w)->VisitPending([&](const RecordView& v, RecordLocation loc) {
    ExpectSame(recs[seen], v);
    EXPECT_EQ(loc.index_in_block, seen);
    ++seen;
  });
  EXPECT_EQ(seen, recs.size());
  ASSERT_TRUE((*w)->Flush().has_value());
  EXPECT_EQ((*w)->pending_records(), 0u);
  auto loc = (*w)->Append(recs[0].view());
  EXPECT_EQ(loc->block_offset, (*w)->file_bytes());
  ASSERT_TRUE((*w)->Close().has_value());
  EXPECT_FALSE((*w)->Append(recs[0].view()).has_value()) << "closed writers refuse appends";
  EXPECT_EQ(CountReadable(), recs.size() + 1);
}

TEST_F(SegmentTest, TornTailAtEveryByteOfTheLastBlockRecoversToThePreviousBlock) {
  auto recs = MakeRecords(40, 3);
  auto blocks = Write(recs, 2 * 1024);
  ASSERT_GE(blocks.size(), 3u);
  const BlockHandle last = blocks.back();
  const uint64_t full = fs::file_size(path_);
  ASSERT_EQ(last.offset + last.frame_bytes, full);
  const size_t before_last = recs.size() - last.record_count;
  std::string original;
  {
    std::ifstream in(path_, std::ios::binary);
    original.assign(std::istreambuf_iterator<char>(in), {});
  }
  for (uint64_t cut = last.offset; cut < full; ++cut) {
    {
      std::ofstream out(path_, std::ios::binary | std::ios::trunc);
      out.write(original.data(), static_cast<std::streamsize>(cut));
    }
    EXPECT_EQ(CountReadable(), before_last) << "cut at " << cut;
    if ((cut - last.offset) % 16 != 0 && cut + 1 != full) continue;  // recover a sample of cuts
    RecoveryReport report;
    auto w = SegmentWriter::OpenForAppend(path_, WriterOptions{}, &report);
    ASSERT_TRUE(w.has_value()) << w.error().ToString();
    EXPECT_EQ(report.bytes_dropped, cut - last.offset) << "cut at " << cut;
    EXPECT_EQ(fs::file_size(path_), last.offset);
    // Appending after recovery continues the file correctly.
    ASSERT_TRUE((*w)->Append(recs.back().view()).has_value());
    ASSERT_TRUE((*w)->Close().has_value());
    std::vector<CorruptBlock> corrupt;
    EXPECT_EQ(CountReadable(&corrupt), before_last + 1);
    EXPECT_TRUE(corrupt.empty());
  }
}

TEST_F(SegmentTest, AFlippedBitInAnyBlockIsDetectedAndNeverReturned) {
  auto recs = MakeRecords(30, 4);
  auto blocks = Write(recs, 3 * 1024);
  ASSERT_GE(blocks.size(), 4u);
  std::string original;
  {
    std::ifstream in(path_, std::ios::binary);
    original.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::mt19937 rng(9);
  for (const BlockHandle& b : blocks) {
    // Every byte of the frame header and trailer, and sampled payload bytes.
    std::vector<uint64_t> offsets;
    for (uint64_t o = 0; o < segment_format::kBlockHeaderSize; ++o) offsets.push_back(b.offset + o);
    for (uint64_t o = b.frame_bytes - 8; o < b.frame_bytes; ++o) offsets.push_back(b.offset + o);
    for (int k = 0; k < 20; ++k) offsets.push_back(b.offset + 40 + rng() % (b.frame_bytes - 48));
    for (uint64_t off : offsets) {
      {
        std::ofstream out(path_, std::ios::binary | std::ios::trunc);
        out.write(original.data(), static_cast<std::streamsize>(original.size()));
      }
      FlipBit(off, static_cast<int>(rng() % 8));
      std::vector<CorruptBlock> corrupt;
      size_t n = CountReadable(&corrupt);
      ASSERT_FALSE(corrupt.empty()) << "flip at " << off << " went unnoticed";
      EXPECT_EQ(n, recs.size() - b.record_count) << "flip at " << off;
      auto reader = SegmentReader::Open(path_);
      Block block;
      auto r = (*reader)->ReadBlock(b.offset, &block);
      ASSERT_FALSE(r.has_value());
      EXPECT_EQ(r.error().code, ErrorCode::kCorruption);
      EXPECT_NE(r.error().message.find("offset " + std::to_string(b.offset)), std::string::npos);
    }
  }
}

TEST_F(SegmentTest, CorruptMiddleBlockIsKeptOnRecoveryAndSkippedByReaders) {
  auto recs = MakeRecords(30, 5);
  auto blocks = Write(recs, 3 * 1024);
  ASSERT_GE(blocks.size(), 4u);
  FlipBit(blocks[1].offset + 60, 2);
  RecoveryReport report;
  auto w = SegmentWriter::OpenForAppend(path_, WriterOptions{}, &report);
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(report.corrupt_blocks_kept, 1u);
  EXPECT_EQ(report.bytes_dropped, 0u);
  EXPECT_EQ(report.good_blocks, blocks.size() - 1);
  std::vector<CorruptBlock> corrupt;
  EXPECT_EQ(CountReadable(&corrupt), recs.size() - blocks[1].record_count);
  ASSERT_EQ(corrupt.size(), 1u);
  EXPECT_EQ(corrupt[0].offset, blocks[1].offset);
  EXPECT_EQ(corrupt[0].reason, "checksum mismatch");
}

TEST_F(SegmentTest, GarbageInTheMiddleIsSkippedToTheNextBlock) {
  auto recs = MakeRecords(30, 6);
  auto blocks = Write(recs, 3 * 1024);
  // Overwrite block 2's header magic: the reader finds block 3 by its magic.
  FlipBit(blocks[2].offset, 0);
  std::vector<CorruptBlock> corrupt;
  EXPECT_EQ(CountReadable(&corrupt), recs.size() - blocks[2].record_count);
  ASSERT_FALSE(corrupt.empty());
  EXPECT_EQ(corrupt[0].reason, "bad block magic");
}

TEST_F(SegmentTest, EmptyForeignAndFutureFilesGiveClearErrors) {
  { std::ofstream(path_, std::ios::binary); }
  auto r = SegmentReader::Open(path_);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kCorruption);
  EXPECT_NE(r.error().message.find("empty"), std::string::npos);
  EXPECT_NE(r.error().message.find(path_.string()), std::string::npos);

  {
    std::ofstream(path_, std::ios::binary)
        << "{\"kind\":\"Pod\",\"this is\":\"json, not a segment\"}";
  }
  r = SegmentReader::Open(path_);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("not a sloop segment"), std::string::npos);

  {
    std::ofstream out(path_, std::ios::binary);
    out.write(segment_format::kFileMagic, 8);
    uint32_t version = segment_format::kFormatVersion + 1, flags = 0;
    out.write(reinterpret_cast<const char*>(&version), 4);
    out.write(reinterpret_cast<const char*>(&flags), 4);
  }
  r = SegmentReader::Open(path_);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kUnsupported);
  EXPECT_NE(r.error().message.find("format version " +
                                   std::to_string(segment_format::kFormatVersion + 1)),
            std::string::npos);
  EXPECT_NE(r.error().message.find("upgrade"), std::string::npos);
  EXPECT_FALSE(SegmentWriter::OpenForAppend(path_, WriterOptions{}, nullptr).has_value());

  auto missing = SegmentReader::Open(dir_ / "missing.seg");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, ErrorCode::kIOError);
}

TEST_F(SegmentTest, CreateRefusesToOverwriteAndEverySyncPolicyPersists) {
  auto recs = MakeRecords(20, 7);
  for (SyncPolicy p : {SyncPolicy::kEveryBlock, SyncPolicy::kInterval, SyncPolicy::kNever}) {
    fs::remove(path_);
    WriterOptions o;
    o.sync = p;
    o.target_block_bytes = 4096;
    o.sync_interval = std::chrono::milliseconds(0);
    auto w = SegmentWriter::Create(path_, o);
    ASSERT_TRUE(w.has_value());
    for (const auto& r : recs) ASSERT_TRUE((*w)->Append(r.view()).has_value());
    ASSERT_TRUE((*w)->Sync().has_value());
    EXPECT_EQ(CountReadable(), recs.size());
    ASSERT_TRUE((*w)->Close().has_value());
  }
  auto again = SegmentWriter::Create(path_, WriterOptions{});
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);
}

TEST_F(SegmentTest, AFullDiskIsAnErrorAndLeavesNoTornBlock) {
  // A file size limit makes write() fail part-way, as a full disk does.
  auto recs = MakeRecords(400, 8);
  WriterOptions o;
  o.target_block_bytes = 8 * 1024;
  auto w = SegmentWriter::Create(path_, o);
  ASSERT_TRUE(w.has_value());
  struct rlimit old;
  getrlimit(RLIMIT_FSIZE, &old);
  signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = old;
  small.rlim_cur = 64 * 1024;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  Error failure{ErrorCode::kAborted, ""};
  size_t appended = 0;
  for (const auto& r : recs) {
    auto a = (*w)->Append(r.view());
    if (!a) {
      failure = a.error();
      break;
    }
    ++appended;
  }
  setrlimit(RLIMIT_FSIZE, &old);
  EXPECT_EQ(failure.code, ErrorCode::kIOError) << failure.ToString();
  EXPECT_NE(failure.message.find(path_.string()), std::string::npos);
  EXPECT_LE(fs::file_size(path_), 64u * 1024);
  // What reached the disk is whole blocks only.
  std::vector<CorruptBlock> corrupt;
  size_t readable = CountReadable(&corrupt);
  EXPECT_TRUE(corrupt.empty()) << corrupt[0].reason;
  EXPECT_GT(readable, 0u);
  EXPECT_LE(readable, appended);
  // With space again, the pending block is written: everything appended is there, and the
  // record whose append failed is not (an append happens everywhere or nowhere).
  ASSERT_TRUE((*w)->Close().has_value());
  EXPECT_EQ(CountReadable(), appended);
}

// A disk that fills after `room` bytes: writes past it are cut short, then fail with ENOSPC.
struct FillingDisk {
  std::shared_ptr<std::atomic<int64_t>> room = std::make_shared<std::atomic<int64_t>>(0);
  void Install(WriterOptions* o) const {
    o->pwrite_fn = [room = room](int fd, const void* buf, size_t n, off_t off) -> ssize_t {
      int64_t left = room->load();
      if (left <= 0) {
        errno = ENOSPC;
        return -1;
      }
      size_t k = std::min<size_t>(n, static_cast<size_t>(left));
      ssize_t w = ::pwrite(fd, buf, k, off);
      if (w > 0) room->fetch_sub(w);
      return w;
    };
  }
};

TEST_F(SegmentTest, AFailedBlockWriteTakesBackTheRecordThatTriggeredIt) {
  auto recs = MakeRecords(300, 21);
  WriterOptions o;
  o.target_block_bytes = 8 * 1024;
  FillingDisk disk;
  disk.Install(&o);
  disk.room->store(1 << 30);
  auto w = SegmentWriter::Create(path_, o);
  ASSERT_TRUE(w.has_value());
  disk.room->store(20 * 1024);  // room for a few blocks, then a short write, then ENOSPC
  size_t appended = 0, failed = 0;
  for (const auto& r : recs) {
    uint64_t pending_before = (*w)->pending_records(), bytes_before = (*w)->file_bytes();
    auto a = (*w)->Append(r.view());
    if (a) {
      ++appended;
      continue;
    }
    ++failed;
    // Nothing of the failed append stays: the block in memory and the file are as they were.
    EXPECT_EQ((*w)->pending_records(), pending_before);
    EXPECT_EQ((*w)->file_bytes(), bytes_before);
    EXPECT_EQ(fs::file_size(path_), bytes_before);
    EXPECT_EQ(a.error().code, ErrorCode::kIOError);
  }
  EXPECT_GT(failed, 0u);
  std::vector<CorruptBlock> corrupt;
  EXPECT_GT(CountReadable(&corrupt), 0u);
  EXPECT_TRUE(corrupt.empty());
  disk.room->store(1 << 30);  // space comes back
  ASSERT_TRUE((*w)->Close().has_value());
  EXPECT_EQ(CountReadable(), appended);
}

TEST_F(SegmentTest, AFailedFsyncCutsTheBlockBackAndKeepsItPending) {
  auto recs = MakeRecords(50, 22);
  WriterOptions o;
  o.sync = SyncPolicy::kEveryBlock;
  auto fail_sync = std::make_shared<std::atomic<bool>>(true);
  o.fdatasync_fn = [fail_sync](int fd) {
    if (fail_sync->load()) {
      errno = EIO;
      return -1;
    }
    return ::fdatasync(fd);
  };
  auto w = SegmentWriter::Create(path_, o);
  ASSERT_TRUE(w.has_value());
  for (int i = 0; i < 10; ++i) ASSERT_TRUE((*w)->Append(recs[i].view()).has_value());
  EXPECT_FALSE((*w)->Flush().has_value());
  EXPECT_EQ(fs::file_size(path_), segment_format::kFileHeaderSize);
  EXPECT_EQ((*w)->pending_records(), 10u);
  fail_sync->store(false);
  ASSERT_TRUE((*w)->Close().has_value());
  EXPECT_EQ(CountReadable(), 10u);
}

// Every block is synced once, before it counts as written: a sync that fails only later (the
// second call) fails the next block alone, which stays pending whole; every record appended
// without an error is in the file, and the block listener saw each written block once.
TEST_F(SegmentTest, EachBlockIsSyncedOnceAndALaterFailedSyncFailsOnlyTheNextBlock) {
  auto recs = MakeRecords(40, 25);
  WriterOptions o;
  o.sync = SyncPolicy::kEveryBlock;
  o.target_block_bytes = 1;  // every append writes a block
  auto calls = std::make_shared<std::atomic<int>>(0);
  o.fdatasync_fn = [calls](int fd) {
    if (calls->fetch_add(1) == 1) {
      errno = EIO;
      return -1;
    }
    return ::fdatasync(fd);
  };
  auto w = SegmentWriter::Create(path_, o);
  ASSERT_TRUE(w.has_value());
  std::vector<BlockHandle> written;
  (*w)->SetBlockListener([&](const BlockHandle& h) { written.push_back(h); });
  size_t appended = 0, failed = 0;
  for (int i = 0; i < 6; ++i) {
    if ((*w)->Append(recs[i].view()).has_value()) {
      ++appended;
    } else {
      ++failed;
    }
  }
  EXPECT_EQ(failed, 1u) << "the block whose sync failed";
  EXPECT_EQ(calls->load(), 6) << "one sync a block";
  EXPECT_EQ(written.size(), appended);
  ASSERT_TRUE((*w)->Close().has_value());
  EXPECT_EQ(CountReadable(), appended);
}

TEST_F(SegmentTest, FlushAgedWritesABlockOnceItsOldestRecordIsOldEnough) {
  using Clock = std::chrono::steady_clock;
  auto recs = MakeRecords(3, 23);
  WriterOptions o;
  o.sync_interval = std::chrono::hours(1);
  auto w = SegmentWriter::Create(path_, o);
  ASSERT_TRUE(w.has_value());
  Clock::time_point due;
  ASSERT_TRUE((*w)->FlushAged(Clock::now(), &due).has_value());
  EXPECT_EQ(due, Clock::time_point::max());  // nothing waits
  auto before = Clock::now();
  ASSERT_TRUE((*w)->Append(recs[0].view()).has_value());
  ASSERT_TRUE((*w)->Append(recs[1].view()).has_value());
  ASSERT_TRUE((*w)->FlushAged(Clock::now(), &due).has_value());
  EXPECT_EQ(CountReadable(), 0u);  // younger than the interval: still in memory
  EXPECT_GE(due, before + std::chrono::hours(1));
  EXPECT_LE(due, Clock::now() + std::chrono::hours(1));
  // An hour later (as the timer sees it), the short block is written; a reader that opens the
  // file afresh, as one would after a crash, finds both records.
  ASSERT_TRUE((*w)->FlushAged(Clock::now() + std::chrono::hours(2), &due).has_value());
  EXPECT_EQ(CountReadable(), 2u);
  EXPECT_EQ((*w)->pending_records(), 0u);
}

TEST_F(SegmentTest, SkipDamagedFindsTheBlockAfterADamagedOne) {
  auto recs = MakeRecords(200, 24);
  WriterOptions o;
  o.target_block_bytes = 4 * 1024;
  {
    auto w = SegmentWriter::Create(path_, o);
    ASSERT_TRUE(w.has_value());
    for (const auto& r : recs) ASSERT_TRUE((*w)->Append(r.view()).has_value());
    ASSERT_TRUE((*w)->Close().has_value());
  }
  std::vector<BlockHandle> blocks;
  {
    auto r = SegmentReader::Open(path_);
    ASSERT_TRUE(r.has_value());
    blocks = *(*r)->ListBlocks(nullptr);
  }
  ASSERT_GE(blocks.size(), 4u);
  // Damage the payload of block 1 and the header (magic) of block 2.
  std::fstream f(path_, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(static_cast<std::streamoff>(blocks[1].offset + 60));
  f.put('\x5a');
  f.seekp(static_cast<std::streamoff>(blocks[2].offset));
  f.put('X');
  f.close();
  auto r = SegmentReader::Open(path_);
  ASSERT_TRUE(r.has_value());
  Block b;
  EXPECT_FALSE((*r)->ReadBlock(blocks[1].offset, &b).has_value());
  // Block 2's header is damaged too: from block 1 the skip lands past it, on block 3.
  uint64_t next = (*r)->SkipDamaged(blocks[1].offset);
  while (next < fs::file_size(path_) && !(*r)->ReadBlock(next, &b).has_value()) {
    next = (*r)->SkipDamaged(next);
  }
  EXPECT_EQ(next, blocks[3].offset);
  EXPECT_GT((*r)->SkipDamaged(blocks.back().offset), blocks.back().offset);
}

TEST_F(SegmentTest, FormatVersionOneFileIsStillRead) {
  // Written by the build that had only block format 1 (FlatBuffers records), from the records
  // of format_v1_records.h, in 2 KiB blocks.
  const fs::path fixture = std::string(SLOOP_TESTDATA_DIR) + "/segments/format-v1.seg";
  const auto want = testing::FormatV1Records();
  auto r = SegmentReader::Open(fixture);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ((*r)->format_version(), 1u);
  std::vector<CorruptBlock> corrupt;
  auto blocks = (*r)->ListBlocks(&corrupt);
  ASSERT_TRUE(blocks.has_value());
  EXPECT_TRUE(corrupt.empty());
  ASSERT_EQ(blocks->size(), 10u);
  size_t i = 0;
  Block b;
  for (const BlockHandle& h : *blocks) {
    ASSERT_TRUE((*r)->ReadBlock(h.offset, &b).has_value());
    ASSERT_EQ(b.size(), h.record_count);
    for (size_t j = 0; j < b.size(); ++j, ++i) {
      ASSERT_LT(i, want.size());
      const auto& w = want[i];
      ExpectSame(Rec{w.t,   w.type,   w.group,   w.version,  w.kind,  w.ns,    w.name,
                     w.uid, w.rv,     w.payload, w.event,    w.ik,    w.ins,   w.in,
                     w.iu,  w.reason, w.message, w.severity, w.count, w.first, w.last},
                 b.record(j));
    }
  }
  EXPECT_EQ(i, want.size());
}

TEST_F(SegmentTest, AFormatOneFileAppendedWithFormatTwoBlocksReadsBothAndSaysVersionTwo) {
  // An arrival-order file of an older build, opened for append by this one after an upgrade.
  fs::copy_file(std::string(SLOOP_TESTDATA_DIR) + "/segments/format-v1.seg", path_);
  const auto old = testing::FormatV1Records();
  auto recs = MakeRecords(30, 31);
  WriterOptions o;
  o.target_block_bytes = 4 * 1024;
  {
    RecoveryReport report;
    auto w = SegmentWriter::OpenForAppend(path_, o, &report);
    ASSERT_TRUE(w.has_value()) << w.error().ToString();
    EXPECT_EQ(report.good_blocks, 10u);
    EXPECT_EQ(report.bytes_dropped, 0u);
    for (const auto& r : recs) ASSERT_TRUE((*w)->Append(r.view()).has_value());
    ASSERT_TRUE((*w)->Close().has_value());
  }
  auto r = SegmentReader::Open(path_);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ((*r)->format_version(), 2u) << "raised before the first format 2 block";
  size_t i = 0, v1_blocks = 0, v2_blocks = 0;
  ASSERT_TRUE((*r)->Scan(
                      [&](const Block& b) {
                        (b.format() == segment_format::kBlockRecords ? v1_blocks : v2_blocks)++;
                        for (size_t j = 0; j < b.size(); ++j, ++i) {
                          if (i < old.size()) {
                            EXPECT_EQ(b.record(j).payload, old[i].payload);
                            EXPECT_EQ(b.record(j).name, old[i].name);
                          } else {
                            ExpectSame(recs[i - old.size()], b.record(j));
                          }
                        }
                        return true;
                      },
                      [](const CorruptBlock& c) { ADD_FAILURE() << c.offset << " " << c.reason; })
                  .has_value());
  EXPECT_EQ(i, old.size() + recs.size());
  EXPECT_EQ(v1_blocks, 10u);
  EXPECT_GT(v2_blocks, 1u);
  // Appending format 1 blocks (as an older build would) leaves the version at 2.
  o.block_format = segment_format::kBlockRecords;
  {
    auto w = SegmentWriter::OpenForAppend(path_, o, nullptr);
    ASSERT_TRUE(w.has_value());
    ASSERT_TRUE((*w)->Append(recs[0].view()).has_value());
    ASSERT_TRUE((*w)->Close().has_value());
  }
  r = SegmentReader::Open(path_);
  EXPECT_EQ((*r)->format_version(), 2u);
  EXPECT_EQ(CountReadable(), old.size() + recs.size() + 1);
  // A block format no build knows is refused when writing.
  o.block_format = 3;
  auto bad = SegmentWriter::Create(dir_ / "b.seg", o);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_FALSE(fs::exists(dir_ / "b.seg"));
}

TEST_F(SegmentTest, BothBlockFormatsRoundTripAndFormatTwoIsSmaller) {
  auto recs = MakeRecords(400, 41);
  uint64_t bytes[3] = {0, 0, 0};
  for (uint16_t format : {segment_format::kBlockRecords, segment_format::kBlockColumnar}) {
    fs::remove(path_);
    WriterOptions o;
    o.target_block_bytes = 64 * 1024;
    o.block_format = format;
    auto w = SegmentWriter::Create(path_, o);
    ASSERT_TRUE(w.has_value());
    for (const auto& r : recs) ASSERT_TRUE((*w)->Append(r.view()).has_value());
    ASSERT_TRUE((*w)->Close().has_value());
    bytes[format] = fs::file_size(path_);
    auto reader = SegmentReader::Open(path_);
    EXPECT_EQ((*reader)->format_version(), format);
    size_t i = 0;
    ASSERT_TRUE((*reader)
                    ->Scan(
                        [&](const Block& b) {
                          EXPECT_EQ(b.format(), format);
                          for (size_t j = 0; j < b.size(); ++j) ExpectSame(recs[i++], b.record(j));
                          return true;
                        },
                        [](const CorruptBlock& c) { ADD_FAILURE() << c.reason; })
                    .has_value());
    EXPECT_EQ(i, recs.size());
  }
  EXPECT_LT(bytes[2], bytes[1]);
}

TEST_F(SegmentTest, DamagedFormatTwoBodiesAreRefusedWithAReason) {
  // Bodies with a valid frame and checksum but wrong insides: the reader must say why and hand
  // out nothing (each case here is a body the columnar decoder has to refuse).
  auto recs = MakeRecords(8, 51);
  std::vector<RecordView> views;
  for (const auto& r : recs) views.push_back(r.view());
  struct Case {
    const char* what;
    std::function<void(std::string&)> damage;
    uint32_t count_delta;
  };
  const std::vector<Case> cases = {
      {"unknown watch type", [](std::string& b) { b[0] = 0x07; }, 0},
      {"unknown flag bit", [](std::string& b) { b[1] = static_cast<char>(0x40); }, 0},
      {"a record too many", [](std::string&) {}, 1},
      {"a record too few", [](std::string&) {}, static_cast<uint32_t>(-1)},
      {"cut short", [](std::string& b) { b.resize(b.size() / 2); }, 0},
      {"a byte more", [](std::string& b) { b.push_back('x'); }, 0},
  };
  for (const Case& c : cases) {
    std::string body;
    columnar_block::Encode(views, &body);
    c.damage(body);
    const uint32_t count = static_cast<uint32_t>(views.size()) + c.count_delta;
    fs::remove(path_);
    WriteRawBlock(path_, segment_format::kBlockColumnar, count, body);
    auto r = SegmentReader::Open(path_);
    ASSERT_TRUE(r.has_value());
    Block b;
    auto read = (*r)->ReadBlock(segment_format::kFileHeaderSize, &b);
    ASSERT_FALSE(read.has_value()) << c.what;
    EXPECT_EQ(read.error().code, ErrorCode::kCorruption) << c.what;
    EXPECT_NE(read.error().message.find("block at offset 16"), std::string::npos)
        << c.what << ": " << read.error().message;
  }
}

TEST_F(SegmentTest, ADictionaryIsTheFirstBlockAndTheRestDecodeAgainstIt) {
  auto recs = MakeRecords(300, 61);
  WriterOptions o;
  o.target_block_bytes = 16 * 1024;
  o.dictionary = recs[0].payload + recs[1].payload + recs[2].payload;
  std::vector<BlockHandle> written;
  {
    auto w = SegmentWriter::Create(path_, o);
    ASSERT_TRUE(w.has_value()) << w.error().ToString();
    (*w)->SetBlockListener([&](const BlockHandle& h) { written.push_back(h); });
    for (const auto& r : recs) ASSERT_TRUE((*w)->Append(r.view()).has_value());
    ASSERT_TRUE((*w)->Close().has_value());
  }
  auto r = SegmentReader::Open(path_);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ((*r)->dictionary_bytes(), o.dictionary.size());
  ASSERT_GT((*r)->dictionary_end(), segment_format::kFileHeaderSize);
  // Listings hold the blocks of records only, the first right after the dictionary.
  std::vector<CorruptBlock> corrupt;
  auto listed = (*r)->ListBlocks(&corrupt);
  ASSERT_TRUE(listed.has_value());
  EXPECT_TRUE(corrupt.empty());
  ASSERT_EQ(listed->size(), written.size());
  EXPECT_EQ(listed->front().offset, (*r)->dictionary_end());
  size_t i = 0;
  ASSERT_TRUE((*r)->Scan(
                      [&](const Block& b) {
                        for (size_t j = 0; j < b.size(); ++j) ExpectSame(recs[i++], b.record(j));
                        return true;
                      },
                      [](const CorruptBlock& c) { ADD_FAILURE() << c.reason; })
                  .has_value());
  EXPECT_EQ(i, recs.size());
  Block b;
  auto dict_read = (*r)->ReadBlock(segment_format::kFileHeaderSize, &b);
  ASSERT_FALSE(dict_read.has_value());
  EXPECT_NE(dict_read.error().message.find("dictionary"), std::string::npos);
  // The same records without the dictionary take more room.
  const uint64_t with = fs::file_size(path_);
  fs::remove(path_);
  o.dictionary.clear();
  Write(recs, 16 * 1024);
  EXPECT_LT(with, fs::file_size(path_));
}

// The first columns of a block (what an index entry whose times are in the segment reads): the
// same watch types and times as the whole block, whether its frame needs the dictionary or not,
// and however far past the first 128 KiB zstd block the payloads go; a damaged frame is refused.
// The lengths of output at which zstd has decoded the frame at `offset` of the file at path
// (a block frame of `frame_bytes`), fed one byte at a time: where the frame's zstd blocks end.
std::set<size_t> ZstdBlockEnds(const fs::path& path, uint64_t offset, uint32_t frame_bytes,
                               const std::string& dictionary) {
  std::string frame(frame_bytes, '\0');
  std::ifstream f(path, std::ios::binary);
  f.seekg(static_cast<std::streamoff>(offset));
  f.read(frame.data(), frame_bytes);
  const std::string_view z(frame.data() + segment_format::kBlockHeaderSize,
                           frame_bytes - segment_format::kBlockHeaderSize -
                               segment_format::kBlockTrailerSize);
  std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> d(ZSTD_createDCtx(), ZSTD_freeDCtx);
  if (!dictionary.empty()) ZSTD_DCtx_refPrefix(d.get(), dictionary.data(), dictionary.size());
  std::string out(8 << 20, '\0');
  ZSTD_outBuffer o{out.data(), out.size(), 0};
  std::set<size_t> ends;
  for (size_t fed = 1; fed <= z.size(); ++fed) {
    ZSTD_inBuffer in{z.data(), fed, fed - 1};
    const size_t before = o.pos;
    const size_t r = ZSTD_decompressStream(d.get(), &o, &in);
    if (ZSTD_isError(r)) break;
    if (o.pos != before) ends.insert(o.pos);
  }
  return ends;
}

TEST_F(SegmentTest, BlockHeadsAreTheRecordsWatchTypesAndTimes) {
  auto recs = MakeRecords(600, 63);
  for (const int variant : {0, 1, 2}) {
    // With a dictionary or without; and compressed through zstd's window buffer, as where the
    // library refuses to read the block in place.
    const bool dictionary = variant == 0;
    SCOPED_TRACE(variant == 0 ? "with a dictionary" : variant == 1 ? "without one" : "buffered");
    fs::remove(path_);
    WriterOptions o;
    o.target_block_bytes = 512 * 1024;  // blocks of several zstd blocks
    o.split_columns = true;
    o.zstd_stable_input = variant != 2;
    if (dictionary) o.dictionary = recs[0].payload + recs[1].payload;
    {
      auto w = SegmentWriter::Create(path_, o);
      ASSERT_TRUE(w.has_value()) << w.error().ToString();
      for (const auto& r : recs) ASSERT_TRUE((*w)->Append(r.view()).has_value());
      ASSERT_TRUE((*w)->Close().has_value());
    }
    auto r = SegmentReader::Open(path_);
    ASSERT_TRUE(r.has_value());
    std::vector<CorruptBlock> corrupt;
    auto listed = (*r)->ListBlocks(&corrupt);
    ASSERT_TRUE(listed.has_value());
    ASSERT_GE(listed->size(), 2u);
    size_t i = 0;
    bool big = false;
    int old_layouts = 0;
    std::string scratch;
    std::vector<RecordHead> heads;
    for (const BlockHandle& h : *listed) {
      Block b;
      ASSERT_TRUE((*r)->ReadBlock(h.offset, &b).has_value());
      big |= h.uncompressed_bytes > 3 * 128 * 1024;
      auto read = (*r)->ReadBlockHeads(h.offset, &heads, &scratch);
      ASSERT_TRUE(read.has_value()) << read.error().ToString();
      ASSERT_EQ(heads.size(), b.size());
      for (size_t j = 0; j < b.size(); ++j, ++i) {
        EXPECT_EQ(heads[j].observed_ns, recs[i].t) << "record " << i;
        EXPECT_EQ(heads[j].watch_type, recs[i].type) << "record " << i;
      }
      // The writer ends a zstd block where the first columns end, and where all the columns
      // do, so that ReadBlockHeads decompresses only the first.
      std::vector<RecordView> views;
      for (size_t j = 0; j < b.size(); ++j) views.push_back(b.record(j));
      std::string body;
      const columnar_block::BodyParts parts = columnar_block::Encode(views, &body);
      ASSERT_EQ(body.size(), h.uncompressed_bytes);
      const std::set<size_t> ends = ZstdBlockEnds(path_, h.offset, h.frame_bytes, o.dictionary);
      EXPECT_TRUE(ends.count(parts.heads)) << "no zstd block ends at " << parts.heads;
      EXPECT_TRUE(ends.count(parts.columns)) << "no zstd block ends at " << parts.columns;
      EXPECT_TRUE(ends.count(body.size()));
      // The same body in one run of 128 KiB zstd blocks, as builds before 2026-12-07 wrote it:
      // its first columns read the same.
      if (!dictionary && h.uncompressed_bytes > 3 * 128 * 1024) {
        const fs::path old_layout = dir_ / "old-layout.seg";
        WriteRawBlock(old_layout, segment_format::kBlockColumnar,
                      static_cast<uint32_t>(b.size()), body);
        auto old = SegmentReader::Open(old_layout);
        ASSERT_TRUE(old.has_value());
        EXPECT_FALSE(ZstdBlockEnds(old_layout, segment_format::kFileHeaderSize,
                                   static_cast<uint32_t>(fs::file_size(old_layout) -
                                                         segment_format::kFileHeaderSize),
                                   "")
                         .count(parts.heads));
        std::vector<RecordHead> old_heads;
        std::string old_scratch;
        auto old_read = (*old)->ReadBlockHeads(segment_format::kFileHeaderSize, &old_heads,
                                               &old_scratch);
        ASSERT_TRUE(old_read.has_value()) << old_read.error().ToString();
        ASSERT_EQ(old_heads.size(), b.size());
        for (size_t j = 0; j < b.size(); ++j) {
          EXPECT_EQ(old_heads[j].observed_ns, b.record(j).observed_ns);
          EXPECT_EQ(old_heads[j].watch_type, b.record(j).watch_type);
        }
        ++old_layouts;
      }
      // ReadBlock after a partial read on this thread's decompression context: still whole.
      Block again;
      ASSERT_TRUE((*r)->ReadBlock(h.offset, &again).has_value());
      ASSERT_EQ(again.size(), b.size());
    }
    EXPECT_EQ(i, recs.size());
    EXPECT_TRUE(big) << "no block spans several zstd blocks";
    if (!dictionary) EXPECT_GT(old_layouts, 0);
    // A flipped byte in the frame of the second block.
    const BlockHandle second = (*listed)[1];
    {
      std::fstream f(path_, std::ios::in | std::ios::out | std::ios::binary);
      f.seekg(static_cast<std::streamoff>(second.offset + 100));
      char c;
      f.read(&c, 1);
      c ^= 0x10;
      f.seekp(static_cast<std::streamoff>(second.offset + 100));
      f.write(&c, 1);
    }
    auto damaged = SegmentReader::Open(path_);
    ASSERT_TRUE(damaged.has_value());
    auto read = (*damaged)->ReadBlockHeads(second.offset, &heads, &scratch);
    ASSERT_FALSE(read.has_value());
    EXPECT_EQ(read.error().code, ErrorCode::kCorruption);
    EXPECT_NE(read.error().message.find(std::to_string(second.offset)), std::string::npos)
        << read.error().message;
  }
  // A file of format 1 blocks: read whole, the same answer.
  auto v1 = SegmentReader::Open(std::string(SLOOP_TESTDATA_DIR) + "/segments/format-v1.seg");
  ASSERT_TRUE(v1.has_value());
  std::vector<CorruptBlock> corrupt;
  auto listed = (*v1)->ListBlocks(&corrupt);
  ASSERT_TRUE(listed.has_value());
  std::string scratch;
  std::vector<RecordHead> heads;
  for (const BlockHandle& h : *listed) {
    Block b;
    ASSERT_TRUE((*v1)->ReadBlock(h.offset, &b).has_value());
    ASSERT_TRUE((*v1)->ReadBlockHeads(h.offset, &heads, &scratch).has_value());
    ASSERT_EQ(heads.size(), b.size());
    for (size_t j = 0; j < b.size(); ++j) {
      EXPECT_EQ(heads[j].observed_ns, b.record(j).observed_ns);
      EXPECT_EQ(heads[j].watch_type, b.record(j).watch_type);
    }
  }
}

TEST_F(SegmentTest, ADamagedDictionaryMakesOnlyTheBlocksThatNeedItUnreadable) {
  auto recs = MakeRecords(120, 62);
  WriterOptions o;
  o.target_block_bytes = 16 * 1024;
  o.dictionary = recs[0].payload;
  {
    auto w = SegmentWriter::Create(path_, o);
    ASSERT_TRUE(w.has_value());
    for (size_t i = 0; i < 60; ++i) ASSERT_TRUE((*w)->Append(recs[i].view()).has_value());
    ASSERT_TRUE((*w)->Close().has_value());
  }
  // Appended to later (a sealed file reopened as the active one): no dictionary for those.
  {
    RecoveryReport report;
    auto w = SegmentWriter::OpenForAppend(path_, o, &report);
    ASSERT_TRUE(w.has_value());
    EXPECT_EQ(report.bytes_dropped, 0u);
    for (size_t i = 60; i < recs.size(); ++i) ASSERT_TRUE((*w)->Append(recs[i].view()).has_value());
    ASSERT_TRUE((*w)->Close().has_value());
  }
  EXPECT_EQ(CountReadable(), recs.size());
  FlipBit(segment_format::kFileHeaderSize + segment_format::kBlockHeaderSize + 2, 3);
  std::vector<CorruptBlock> corrupt;
  const size_t readable = CountReadable(&corrupt);
  EXPECT_EQ(readable, 60u) << "the appended blocks need no dictionary";
  ASSERT_FALSE(corrupt.empty());
  EXPECT_EQ(corrupt.front().offset, segment_format::kFileHeaderSize);
  bool named = false;
  for (const auto& c : corrupt) named |= c.reason.find("dictionary") != std::string::npos;
  EXPECT_TRUE(named) << corrupt.back().reason;
  // Recovery for append keeps everything: the damage is not a tail.
  RecoveryReport report;
  const uint64_t size = fs::file_size(path_);
  auto w = SegmentWriter::OpenForAppend(path_, WriterOptions{}, &report);
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(report.bytes_dropped, 0u);
  EXPECT_EQ(fs::file_size(path_), size);
}

TEST_F(SegmentTest, ATornFirstBlockAfterTheDictionaryLeavesTheDictionary) {
  auto recs = MakeRecords(20, 63);
  WriterOptions o;
  o.target_block_bytes = 1 << 20;
  o.dictionary = recs[0].payload;
  {
    auto w = SegmentWriter::Create(path_, o);
    ASSERT_TRUE(w.has_value());
    for (const auto& r : recs) ASSERT_TRUE((*w)->Append(r.view()).has_value());
    ASSERT_TRUE((*w)->Close().has_value());
  }
  uint64_t dictionary_end = (*SegmentReader::Open(path_))->dictionary_end();
  fs::resize_file(path_, fs::file_size(path_) - 10);
  RecoveryReport report;
  auto w = SegmentWriter::OpenForAppend(path_, WriterOptions{}, &report);
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(fs::file_size(path_), dictionary_end);
  ASSERT_TRUE((*w)->Append(recs[0].view()).has_value());
  ASSERT_TRUE((*w)->Close().has_value());
  EXPECT_EQ(CountReadable(), 1u);
  EXPECT_EQ((*SegmentReader::Open(path_))->dictionary_end(), dictionary_end);
}

TEST_F(SegmentTest, ADictionaryNeedsFormatTwoAndABoundedSize) {
  WriterOptions o;
  o.block_format = segment_format::kBlockRecords;
  o.dictionary = "{}";
  EXPECT_EQ(SegmentWriter::Create(path_, o).error().code, ErrorCode::kInvalidArgument);
  o.block_format = segment_format::kBlockColumnar;
  o.dictionary.assign(segment_format::kMaxDictionaryBytes + 1, 'x');
  EXPECT_EQ(SegmentWriter::Create(path_, o).error().code, ErrorCode::kInvalidArgument);
  EXPECT_FALSE(fs::exists(path_));
}

}  // namespace
}  // namespace sloop
