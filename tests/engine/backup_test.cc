#include "engine/backup.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xxhash.h>
#include <zstd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "engine/store.h"
#include "index/index_reader.h"
#include "index/index_rebase.h"
#include "tests/engine/record_maker.h"

namespace sloop {
namespace {

using testing::RecordMaker;
namespace fs = std::filesystem;

constexpr int64_t kSec = 1000000000LL;
constexpr int64_t kMin = 60 * kSec;
constexpr int64_t kHour = 60 * kMin;
// 2026-11-20T09:00:00Z, a whole hour.
constexpr int64_t kT0 = 1795165200LL * kSec;
constexpr int64_t kCreated = kT0 + 5 * kHour;

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const fs::path& p, std::string_view data) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

// Every regular file under root (relative path → xxh64 of its bytes) and every directory.
std::map<std::string, uint64_t> DirDigest(const fs::path& root) {
  std::map<std::string, uint64_t> out;
  if (!fs::exists(root)) return out;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    std::string rel = fs::relative(e.path(), root).string();
    if (e.is_regular_file()) {
      std::string data = ReadFile(e.path());
      out[rel] = XXH64(data.data(), data.size(), 0);
    } else {
      out[rel + "/"] = 0;
    }
  }
  return out;
}

// An independent ustar header writer, to build archives the restorer must refuse.
std::string TarMember(const std::string& name, std::string_view content, char type = '0') {
  char h[512] = {};
  std::snprintf(h, 100, "%s", name.c_str());
  std::snprintf(h + 100, 8, "%07o", 0644);
  std::snprintf(h + 108, 8, "%07o", 0);
  std::snprintf(h + 116, 8, "%07o", 0);
  std::snprintf(h + 124, 12, "%011llo", static_cast<unsigned long long>(content.size()));
  std::snprintf(h + 136, 12, "%011o", 0);
  h[156] = type;
  std::memcpy(h + 257, "ustar", 6);
  std::memcpy(h + 263, "00", 2);
  std::memset(h + 148, ' ', 8);
  unsigned sum = 0;
  for (unsigned char c : h) sum += c;
  std::snprintf(h + 148, 8, "%06o", sum);
  std::string out(h, 512);
  out.append(content);
  out.append((512 - content.size() % 512) % 512, '\0');
  return out;
}

std::string TarEnd() { return std::string(1024, '\0'); }

std::string ZstdCompress(std::string_view data, int level = 3) {
  std::string out(ZSTD_compressBound(data.size()), '\0');
  size_t n = ZSTD_compress(out.data(), out.size(), data.data(), data.size(), level);
  EXPECT_FALSE(ZSTD_isError(n));
  out.resize(n);
  return out;
}

std::string Shell(const std::string& cmd, int* status) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  *status = ::pclose(p);
  return out;
}

std::string HistoryText(const Store& s, const ResourceKey& key) {
  std::string out;
  auto h = s.History(key.view(), {0, INT64_MAX}, false, [&](const RecordView& r) {
    out += std::to_string(r.observed_ns) + "|" + std::string(WatchTypeName(r.watch_type)) + "|" +
           std::string(r.api_group) + "|" + std::string(r.api_version) + "|" + std::string(r.kind) +
           "|" + std::string(r.namespace_) + "|" + std::string(r.name) + "|" + std::string(r.uid) +
           "|" + std::string(r.resource_version) + "|" + std::string(r.payload) + "\n";
    if (r.event) {
      const auto& e = *r.event;
      out += "  event " + std::string(e.involved_kind) + "/" + std::string(e.involved_namespace) +
             "/" + std::string(e.involved_name) + "/" + std::string(e.involved_uid) + " " +
             std::string(e.reason) + " " + std::to_string(static_cast<int>(e.severity)) + " " +
             std::to_string(e.count) + " " + std::to_string(e.first_timestamp_ns) + " " +
             std::to_string(e.last_timestamp_ns) + " " + std::string(e.message) + "\n";
    }
    return true;
  });
  EXPECT_TRUE(h.has_value()) << (h ? "" : h.error().ToString());
  return out;
}

std::string TimelineText(const Store& s, const TimeRange& range) {
  TimelineQuery q;
  q.range = range;
  auto t = s.Timeline(q);
  EXPECT_TRUE(t.has_value()) << (t ? "" : t.error().ToString());
  if (!t) return "";
  std::string out = std::to_string(t->matched) + (t->truncated ? " truncated\n" : "\n");
  for (const auto& r : t->rows) {
    out += r.key.ToString() + " " + std::string(r.api_group) + "/" + std::string(r.api_version) +
           " " + std::to_string(r.start_ns) + ".." + std::to_string(r.end_ns) + " c" +
           std::to_string(r.creation_ns) + (r.deleted ? " deleted" : "") + " e" +
           std::to_string(r.events) + " w" + std::to_string(r.warnings) + " changed";
    auto num = [&out](char sep, int64_t v) {
      out += sep;
      out += std::to_string(v);
    };
    for (uint32_t c : r.changed_at) num(' ', c);
    out += " nochange";
    for (uint32_t c : r.nochange_at) num(' ', c);
    for (const auto& h : r.heat) {
      out += " heat";
      num('(', h.minute_unix);
      out += ",";
      out += h.reason;
      num(',', static_cast<int>(h.severity));
      num(',', h.count);
      out += ")";
    }
    for (const auto& o : r.owners)
      out += " owner(" + std::string(o.kind) + "," + std::string(o.name) + "," +
             std::string(o.uid) + ")";
    out += "\n";
  }
  return out;
}

class BackupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = fs::temp_directory_path() /
            ("sloop-backup-test-" + std::to_string(getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(base_);
    fs::create_directories(base_);
    src_ = base_ / "src";
    dst_ = base_ / "dst";
    now_ = kT0 + 4 * kHour + 50 * kMin;
  }
  void TearDown() override { fs::remove_all(base_); }

  StoreOptions Options(const fs::path& root) {
    StoreOptions o;
    o.root = root;
    o.background = false;
    o.now_ns = [this] { return now_.load(); };
    o.writer.target_block_bytes = 16 * 1024;
    if (look_back_.count() > 0) o.max_look_back = look_back_;
    return o;
  }

  std::unique_ptr<Store> OpenStore(const fs::path& root) {
    auto s = Store::Open(Options(root));
    EXPECT_TRUE(s.has_value()) << (s ? "" : s.error().ToString());
    return s ? std::move(*s) : nullptr;
  }

  void Append(Store& s, const RecordView& r) {
    keys_.insert(ResourceKey(r.kind, r.namespace_, r.name, r.uid));
    auto a = s.Append(r);
    ASSERT_TRUE(a.has_value()) << a.error().ToString();
  }

  // Five hours of a small cluster: pods come and go, a node, Events about the pods. The first
  // four hours are sealed, the fifth is the active shard.
  std::unique_ptr<Store> BuildStore(const fs::path& root, int hours = 5, int seed = 1) {
    auto store = OpenStore(root);
    if (!store) return nullptr;
    std::mt19937 rng(seed);
    int rv = 1000;
    for (int64_t t = kT0; t < kT0 + hours * kHour - 10 * kMin; t += 5 * kMin) {
      const int step = static_cast<int>((t - kT0) / (5 * kMin));
      for (int p = 0; p < 8; ++p) {
        // Pod p lives from step p to step p + 40, then a new generation of it appears.
        const int gen = (step + 40 - p) / 40;
        if (step < p) continue;
        const std::string ns = p % 2 ? "shop" : "default";
        const std::string name = "web-" + std::to_string(p) + "-g" + std::to_string(gen);
        const std::string uid = "uid-" + name;
        const int age = (step - p) % 40;
        WatchType type = age == 0         ? WatchType::kAdded
                         : age == 39      ? WatchType::kDeleted
                         : rng() % 4 == 0 ? WatchType::kRelisted
                                          : WatchType::kModified;
        Append(*store, mk_.Pod(t + p * kSec, ns, name, uid, ++rv, type, t - age * 5 * kMin));
        if (rng() % 3 == 0) {
          Append(*store, mk_.Event(t + p * kSec + 1, ns, name + ".ev" + std::to_string(step), "Pod",
                                   name, uid, rng() % 2 ? "BackOff" : "Pulled", rng() % 2 == 0,
                                   1 + static_cast<int>(rng() % 5), t, ++rv, WatchType::kAdded));
        }
      }
      Append(*store, mk_.Node(t + 30 * kSec, "node-a", "uid-node-a", ++rv));
    }
    return store;
  }

  // The archive of a store's snapshot, as one string, checking the writer's promises on the way.
  std::string Backup(Store& store, int64_t created_ns = kCreated) {
    auto files = store.SnapshotForBackup();
    EXPECT_TRUE(files.has_value()) << (files ? "" : files.error().ToString());
    if (!files) return "";
    std::string archive;
    auto w = WriteBackupArchive(*files, created_ns, [&](std::string_view chunk) -> Result<void> {
      EXPECT_LE(chunk.size(), kBackupChunkBytes);
      EXPECT_FALSE(chunk.empty());
      archive.append(chunk);
      return {};
    });
    EXPECT_TRUE(w.has_value()) << (w ? "" : w.error().ToString());
    EXPECT_EQ(archive.size(), BackupArchiveSize(*files));
    EXPECT_EQ(archive.size() % 512, 0u);
    return archive;
  }

  fs::path SaveArchive(std::string_view bytes, const std::string& name = "backup.tar") {
    fs::path p = base_ / name;
    WriteFile(p, bytes);
    return p;
  }

  // Restoring bytes into dst_ must fail with code and a message holding every one of needles,
  // and leave dst_ exactly as it was.
  void ExpectRejected(std::string_view bytes, ErrorCode code,
                      std::initializer_list<std::string_view> needles) {
    const fs::path archive = SaveArchive(bytes, "bad.tar");
    const auto before = DirDigest(dst_);
    auto r = RestoreBackupArchive(archive, dst_);
    ASSERT_FALSE(r.has_value()) << "a bad archive was restored";
    EXPECT_EQ(r.error().code, code) << r.error().ToString();
    EXPECT_NE(r.error().message.find(archive.string()), std::string::npos) << r.error().message;
    for (auto n : needles) {
      EXPECT_NE(r.error().message.find(n), std::string::npos)
          << "expected \"" << n << "\" in: " << r.error().message;
    }
    EXPECT_NE(r.error().message.find("is unchanged"), std::string::npos) << r.error().message;
    EXPECT_EQ(DirDigest(dst_), before) << "a refused restore changed the store";
    EXPECT_FALSE(fs::exists(dst_ / ".restore-staging"));
  }

  // A store at dst_ that a bad restore must not touch.
  void MakeExistingStore() {
    auto other = BuildStore(dst_, 2, 7);
    ASSERT_TRUE(other);
    ASSERT_TRUE(other->Close().has_value());
    ASSERT_FALSE(DirDigest(dst_ / "shards").empty());
  }

  fs::path base_, src_, dst_;
  std::atomic<int64_t> now_;
  std::chrono::nanoseconds look_back_{0};  // StoreOptions::max_look_back when set
  RecordMaker mk_;
  std::set<ResourceKey> keys_;
};

TEST_F(BackupTest, RoundTripRestoresEveryFileAndHistoryByteForByte) {
  auto store = BuildStore(src_);
  ASSERT_TRUE(store);
  auto shards = store->Shards();
  ASSERT_GE(shards.size(), 5u);
  EXPECT_FALSE(shards.back().sealed);
  // Records appended after the snapshot's flush are not in the backup: take it, then write more.
  auto files = store->SnapshotForBackup();
  ASSERT_TRUE(files.has_value());
  std::map<std::string, std::string> originals;  // name → bytes at snapshot time
  for (const auto& f : *files) originals[f.name] = ReadFile(f.path).substr(0, f.size);
  ASSERT_TRUE(originals.contains("shards/0000000005.active"));
  const std::string timeline_before = TimelineText(*store, {kT0, kT0 + 5 * kHour});
  std::map<ResourceKey, std::string> histories;
  for (const auto& k : keys_) histories[k] = HistoryText(*store, k);

  std::string archive;
  ASSERT_TRUE(WriteBackupArchive(*files, kCreated, [&](std::string_view c) -> Result<void> {
                archive.append(c);
                return {};
              }).has_value());
  EXPECT_EQ(archive.size(), BackupArchiveSize(*files));
  Append(*store, mk_.Pod(now_ - kMin, "late", "after-backup", "uid-late", 99999));
  files->clear();  // let the snapshot's references go

  auto report = RestoreBackupArchive(SaveArchive(archive), dst_);
  ASSERT_TRUE(report.has_value()) << report.error().ToString();
  EXPECT_EQ(report->files, originals.size());
  EXPECT_EQ(report->shards, shards.size());
  uint64_t bytes = 0;
  for (const auto& [name, data] : originals) bytes += data.size();
  EXPECT_EQ(report->bytes, bytes);

  // Every file byte-equal, nothing else in the store's directory.
  std::set<std::string> restored;
  for (const auto& e : fs::directory_iterator(dst_ / "shards")) {
    restored.insert("shards/" + e.path().filename().string());
  }
  std::set<std::string> expected;
  for (const auto& [name, data] : originals) {
    expected.insert(name);
    EXPECT_EQ(ReadFile(dst_ / name), data) << name << " differs from the original";
  }
  EXPECT_EQ(restored, expected);
  // The shards and the store's lock file (StoreLock), no staging or old directories.
  EXPECT_EQ(std::distance(fs::directory_iterator(dst_), fs::directory_iterator()), 2)
      << "staging or old directories left behind";

  // The restored store answers exactly as the original did at the time of the backup.
  auto copy = OpenStore(dst_);
  ASSERT_TRUE(copy);
  EXPECT_EQ(TimelineText(*copy, {kT0, kT0 + 5 * kHour}), timeline_before);
  for (const auto& [key, text] : histories) {
    EXPECT_FALSE(text.empty());
    EXPECT_EQ(HistoryText(*copy, key), text) << key.ToString();
  }
  EXPECT_EQ(HistoryText(*copy, {"Pod", "late", "after-backup", "uid-late"}), "");
  // And it goes on taking records in the shard that was active.
  Append(*copy, mk_.Pod(now_ - kMin, "late", "after-restore", "uid-late2", 100000));
  EXPECT_EQ(copy->Shards().size(), shards.size());
}

TEST_F(BackupTest, RestoreReplacesAnExistingStoreAndLeavesNothingBehind) {
  auto store = BuildStore(src_, 3);
  ASSERT_TRUE(store);
  const std::string archive = Backup(*store);
  MakeExistingStore();
  auto report = RestoreBackupArchive(SaveArchive(archive), dst_);
  ASSERT_TRUE(report.has_value()) << report.error().ToString();
  std::set<std::string> entries;
  for (const auto& e : fs::directory_iterator(dst_)) entries.insert(e.path().filename().string());
  EXPECT_EQ(entries, (std::set<std::string>{"LOCK", "shards"}));
  auto copy = OpenStore(dst_);
  ASSERT_TRUE(copy);
  EXPECT_EQ(TimelineText(*copy, {kT0, kT0 + 5 * kHour}),
            TimelineText(*store, {kT0, kT0 + 5 * kHour}));
}

TEST_F(BackupTest, ArchiveIsAPlainTarThatTarLists) {
  auto store = BuildStore(src_, 3);
  ASSERT_TRUE(store);
  const std::string archive = Backup(*store);
  // Deterministic for a given store state and creation time.
  EXPECT_EQ(Backup(*store), archive);
  const fs::path path = SaveArchive(archive);
  if (!fs::exists("/usr/bin/tar")) GTEST_SKIP() << "no /usr/bin/tar";
  int status = 0;
  std::string listing = Shell("/usr/bin/tar tf " + path.string() + " 2>&1", &status);
  EXPECT_EQ(status, 0) << listing;
  EXPECT_EQ(listing,
            "shards/0000000001.seg\nshards/0000000001.idx\nshards/0000000002.seg\n"
            "shards/0000000002.idx\nshards/0000000003.active\nMANIFEST.json\n");
  // GNU tar extracts exactly the bytes the restorer does.
  const fs::path out = base_ / "untar";
  fs::create_directories(out);
  Shell("/usr/bin/tar xf " + path.string() + " -C " + out.string() + " 2>&1", &status);
  ASSERT_EQ(status, 0);
  auto files = store->SnapshotForBackup();
  ASSERT_TRUE(files.has_value());
  for (const auto& f : *files) {
    EXPECT_EQ(ReadFile(out / f.name), ReadFile(f.path).substr(0, f.size)) << f.name;
  }
  const std::string manifest = ReadFile(out / "MANIFEST.json");
  EXPECT_TRUE(manifest.starts_with("{\"format\":\"sloop-backup\",\"version\":1,\"created_ns\":"))
      << manifest;
  EXPECT_NE(manifest.find(std::to_string(kCreated)), std::string::npos);
  EXPECT_NE(manifest.find("\"name\":\"shards/0000000003.active\""), std::string::npos);
  // What tar unpacks is a store directory.
  {
    auto unpacked = OpenStore(out);
    ASSERT_TRUE(unpacked);
    EXPECT_EQ(TimelineText(*unpacked, {kT0, kT0 + 5 * kHour}),
              TimelineText(*store, {kT0, kT0 + 5 * kHour}));
  }
  // tvf shows the sizes and the creation time as mtime.
  listing = Shell("/usr/bin/tar tvf " + path.string() + " 2>&1", &status);
  EXPECT_EQ(status, 0) << listing;
  EXPECT_NE(listing.find("sloop/sloop"), std::string::npos) << listing;
}

TEST_F(BackupTest, SizeIsKnownBeforeWritingWhateverTheCreationTime) {
  auto store = BuildStore(src_, 2);
  ASSERT_TRUE(store);
  auto files = store->SnapshotForBackup();
  ASSERT_TRUE(files.has_value());
  const uint64_t size = BackupArchiveSize(*files);
  for (int64_t created : {int64_t{0}, int64_t{1}, kCreated, INT64_MAX, INT64_MIN + 1}) {
    uint64_t written = 0;
    ASSERT_TRUE(WriteBackupArchive(*files, created, [&](std::string_view c) -> Result<void> {
                  written += c.size();
                  return {};
                }).has_value());
    EXPECT_EQ(written, size) << created;
  }
  // An empty store: just the manifest.
  std::vector<Store::BackupFile> none;
  std::string empty;
  ASSERT_TRUE(WriteBackupArchive(none, 5, [&](std::string_view c) -> Result<void> {
                empty.append(c);
                return {};
              }).has_value());
  EXPECT_EQ(empty.size(), BackupArchiveSize(none));
  auto r = RestoreBackupArchive(SaveArchive(empty), dst_);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->files, 0u);
  EXPECT_TRUE(fs::is_directory(dst_ / "shards"));
}

TEST_F(BackupTest, ChunksAreBoundedAndAnOutputErrorStopsTheBackup) {
  // A file larger than a chunk.
  const fs::path big = base_ / "big.active";
  std::string data(3 * kBackupChunkBytes + 123, 'x');
  WriteFile(big, data);
  std::vector<Store::BackupFile> files{
      {"shards/0000000001.active", big, data.size(), nullptr, nullptr}};
  size_t chunks = 0;
  ASSERT_TRUE(WriteBackupArchive(files, 0, [&](std::string_view c) -> Result<void> {
                EXPECT_LE(c.size(), kBackupChunkBytes);
                ++chunks;
                return {};
              }).has_value());
  EXPECT_EQ(chunks, 4u);
  int calls = 0;
  auto w = WriteBackupArchive(files, 0, [&](std::string_view) -> Result<void> {
    if (++calls == 2) return MakeError(ErrorCode::kUnavailable, "client went away");
    return {};
  });
  ASSERT_FALSE(w.has_value());
  EXPECT_EQ(w.error().message, "client went away");
  EXPECT_EQ(calls, 2);
}

TEST_F(BackupTest, WriterRefusesBadNamesShortFilesAndVanishedActiveSegments) {
  const fs::path f = base_ / "f";
  WriteFile(f, "hello");
  auto write = [](const std::vector<Store::BackupFile>& files) {
    return WriteBackupArchive(files, 0, [](std::string_view) -> Result<void> { return {}; });
  };
  auto r = write({{"MANIFEST.json", f, 5, nullptr, nullptr}});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  r = write({{std::string(101, 'a'), f, 5, nullptr, nullptr}});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  r = write({{"shards/0000000001.active", f, 5, nullptr, nullptr},
             {"shards/0000000001.active", f, 5, nullptr, nullptr}});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  r = write({{"shards/0000000001.active", f, 6, nullptr, nullptr}});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kIOError);
  EXPECT_NE(r.error().message.find("has only 5 bytes"), std::string::npos) << r.error().message;
  r = write({{"shards/0000000001.active", base_ / "gone.active", 5, nullptr, nullptr}});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable) << r.error().ToString();
  EXPECT_NE(r.error().message.find("start the backup again"), std::string::npos);
}

TEST_F(BackupTest, ZstdCompressedArchiveRestores) {
  auto store = BuildStore(src_, 3);
  ASSERT_TRUE(store);
  const std::string archive = Backup(*store);
  // Two frames, as `zstd` of concatenated input or a streaming compressor may produce.
  const std::string compressed = ZstdCompress(std::string_view(archive).substr(0, 70000)) +
                                 ZstdCompress(std::string_view(archive).substr(70000), 9);
  ASSERT_LT(compressed.size(), archive.size());
  auto r = RestoreBackupArchive(SaveArchive(compressed, "backup.tar.zst"), dst_);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  auto copy = OpenStore(dst_);
  ASSERT_TRUE(copy);
  for (const auto& k : keys_) EXPECT_EQ(HistoryText(*copy, k), HistoryText(*store, k));
  copy.reset();

  // The zstd command line tool's output restores too.
  if (fs::exists("/usr/bin/zstd")) {
    const fs::path plain = SaveArchive(archive, "cli.tar");
    int status = 0;
    Shell("/usr/bin/zstd -q -f " + plain.string() + " -o " + plain.string() + ".zst 2>&1", &status);
    ASSERT_EQ(status, 0);
    r = RestoreBackupArchive(fs::path(plain.string() + ".zst"), dst_);
    ASSERT_TRUE(r.has_value()) << r.error().ToString();
  }

  // Cut short or damaged compressed archives are refused.
  ExpectRejected(std::string_view(compressed).substr(0, compressed.size() / 2),
                 ErrorCode::kCorruption, {"cut short"});
  std::string flipped = compressed;
  flipped[flipped.size() / 3] ^= 0x10;
  const fs::path archive_path = SaveArchive(flipped, "bad.tar");
  auto bad = RestoreBackupArchive(archive_path, dst_);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, ErrorCode::kCorruption) << bad.error().ToString();
  EXPECT_FALSE(fs::exists(dst_ / ".restore-staging"));
}

TEST_F(BackupTest, ReadCallbackWithOddSizedReadsRestores) {
  auto store = BuildStore(src_, 2);
  ASSERT_TRUE(store);
  const std::string archive = Backup(*store);
  size_t pos = 0;
  ArchiveReadFn read = [&](std::span<char> buf) -> Result<size_t> {
    size_t n = std::min({buf.size(), archive.size() - pos, size_t{777}});
    std::memcpy(buf.data(), archive.data() + pos, n);
    pos += n;
    return n;
  };
  auto r = RestoreBackupArchive(read, "upload", dst_);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(pos, archive.size());
  // A read error is passed on and restores nothing.
  pos = 0;
  fs::remove_all(dst_);
  ArchiveReadFn failing = [&](std::span<char> buf) -> Result<size_t> {
    if (pos > archive.size() / 2) return MakeError(ErrorCode::kUnavailable, "upload interrupted");
    return read(buf);
  };
  r = RestoreBackupArchive(failing, "upload", dst_);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find("upload interrupted"), std::string::npos);
  EXPECT_FALSE(fs::exists(dst_)) << "a failed restore into a new directory leaves nothing";
}

TEST_F(BackupTest, BackupWhileRecordsArriveAndShardsSeal) {
  auto store = BuildStore(src_, 2);
  ASSERT_TRUE(store);
  // Appends run on while backups are taken; each crossing of an hour seals a shard (and unlinks
  // its active segment) under the writer's feet.
  std::atomic<bool> done{false};
  std::thread writer([&] {
    RecordMaker mk;
    int rv = 50000;
    for (int64_t t = kT0 + 2 * kHour; t < kT0 + 6 * kHour; t += 20 * kSec) {
      const std::string k = std::to_string(rv % 7);
      auto a = store->Append(mk.Pod(t, "busy", "churn-" + k, "uid-churn-" + k, ++rv));
      if (!a) {
        ADD_FAILURE() << a.error().ToString();
        break;
      }
    }
    done = true;
  });
  int restored = 0;
  for (int i = 0; i < 6 || !done; ++i) {
    auto files = store->SnapshotForBackup();
    ASSERT_TRUE(files.has_value());
    std::string archive;
    auto w = WriteBackupArchive(*files, kCreated, [&](std::string_view c) -> Result<void> {
      archive.append(c);
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      return {};
    });
    if (!w && w.error().code == ErrorCode::kUnavailable) continue;  // sealed before opened
    ASSERT_TRUE(w.has_value()) << w.error().ToString();
    files->clear();
    const fs::path root = base_ / ("copy-" + std::to_string(i));
    auto r = RestoreBackupArchive(SaveArchive(archive, "concurrent.tar"), root);
    ASSERT_TRUE(r.has_value()) << r.error().ToString();
    ++restored;
  }
  writer.join();
  ASSERT_GT(restored, 0);
  now_ = kT0 + 6 * kHour;
  // Every restored copy holds, for every resource, a prefix of the history the store ends with.
  for (const auto& e : fs::directory_iterator(base_)) {
    if (!e.path().filename().string().starts_with("copy-")) continue;
    auto copy = OpenStore(e.path());
    ASSERT_TRUE(copy);
    for (int k = 0; k < 7; ++k) {
      ResourceKey key("Pod", "busy", "churn-" + std::to_string(k),
                      "uid-churn-" + std::to_string(k));
      const std::string part = HistoryText(*copy, key), whole = HistoryText(*store, key);
      EXPECT_TRUE(whole.starts_with(part)) << e.path() << " " << key.ToString();
    }
  }
}

// An index rewritten on disk after its shard was opened (a rebase renames the new file into
// place before the shard is reopened): the snapshot copies the file it opened, at that file's
// size, not the size the shard knew (the backup failed, saying the file was rewritten smaller).
TEST_F(BackupTest, AnIndexReplacedOnDiskBeforeItsShardIsReopenedIsCopiedAsOpened) {
  auto store = BuildStore(src_);
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->Maintain());
  // An index read through a base that is whole itself.
  auto name_of = [](uint64_t id) {
    char name[32];
    std::snprintf(name, sizeof name, "%010llu.idx", static_cast<unsigned long long>(id));
    return std::string(name);
  };
  fs::path rebased, base_path;
  for (const auto& e : fs::directory_iterator(src_ / "shards")) {
    if (e.path().extension() != ".idx") continue;
    const uint64_t b = IndexReader::BaseShardOf(e.path()).value_or(0);
    if (b != 0 && IndexReader::BaseShardOf(src_ / "shards" / name_of(b)).value_or(1) == 0) {
      rebased = e.path();
      base_path = src_ / "shards" / name_of(b);
      break;
    }
  }
  ASSERT_FALSE(rebased.empty()) << "no index was rewritten against a whole base";
  auto base = IndexReader::Open(base_path);
  ASSERT_TRUE(base.has_value()) << base.error().ToString();
  auto index = IndexReader::Open(rebased, true, {}, [&](uint64_t) { return *base; });
  ASSERT_TRUE(index.has_value()) << index.error().ToString();
  const fs::path whole = fs::path(rebased) += ".whole";
  ASSERT_TRUE(WriteWholeIndex(**index, whole));
  const uint64_t before = fs::file_size(rebased);
  fs::rename(whole, rebased);  // what a rewrite does, with the store not told yet
  ASSERT_NE(fs::file_size(rebased), before);
  const std::string archive = Backup(*store);
  const std::string name = "shards/" + rebased.filename().string();
  EXPECT_NE(archive.find(name), std::string::npos);
  std::ifstream in(rebased, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(archive.find(bytes), std::string::npos) << "the file as opened, whole";
}

TEST_F(BackupTest, ActiveSegmentSealedDuringTheBackupIsStillCopied) {
  auto store = BuildStore(src_, 2);
  ASSERT_TRUE(store);
  auto files = store->SnapshotForBackup();
  ASSERT_TRUE(files.has_value());
  const Store::BackupFile active = files->back();
  ASSERT_TRUE(active.name.ends_with(".active"));
  const std::string prefix = ReadFile(active.path).substr(0, active.size);
  // A large file first, so that the first chunk goes out before the active segment is read; the
  // shard is sealed (its active segment unlinked) from inside that first chunk's callback.
  const fs::path big = base_ / "big";
  WriteFile(big, std::string(2 * kBackupChunkBytes, 'b'));
  std::vector<Store::BackupFile> list{
      {"shards/0000000099.active", big, 2 * kBackupChunkBytes, nullptr, nullptr}, active};
  std::string archive;
  auto w = WriteBackupArchive(list, kCreated, [&](std::string_view c) -> Result<void> {
    if (archive.empty()) {
      auto sealed = store->SealActive();
      EXPECT_TRUE(sealed.has_value());
      EXPECT_FALSE(fs::exists(active.path));
    }
    archive.append(c);
    return {};
  });
  ASSERT_TRUE(w.has_value()) << w.error().ToString();
  const size_t at = 512 + 2 * kBackupChunkBytes + 512;
  EXPECT_EQ(archive.substr(at, prefix.size()), prefix);

  // Sealed between the snapshot and the backup: copied from the descriptor the snapshot opened.
  ASSERT_TRUE(
      store->Append(mk_.Pod(now_ - kMin, "shop", "one-more", "uid-one-more", 7)).has_value());
  files = store->SnapshotForBackup();
  ASSERT_TRUE(files.has_value());
  ASSERT_TRUE(files->back().name.ends_with(".active"));
  const std::string later = ReadFile(files->back().path).substr(0, files->back().size);
  ASSERT_TRUE(store->SealActive().has_value());
  ASSERT_FALSE(fs::exists(files->back().path));
  archive.clear();
  w = WriteBackupArchive(*files, kCreated, [&](std::string_view c) -> Result<void> {
    archive.append(c);
    return {};
  });
  ASSERT_TRUE(w.has_value()) << w.error().ToString();
  EXPECT_NE(archive.find(later), std::string::npos);
}

// What a backup holds is the store at its snapshot, whatever happens to the files before the
// backup reads them: the active shard sealed, the index of the shard before it rewritten against
// the new one, the oldest shard deleted by retention. (Each used to fail the backup, or, for an
// index rewritten larger, copy a cut of the new file.)
TEST_F(BackupTest, ABackupIsItsSnapshotWhenShardsAreSealedRebasedAndDeletedMeanwhile) {
  look_back_ = std::chrono::hours(4);
  auto store = BuildStore(src_);
  ASSERT_TRUE(store);
  const auto shards = store->Shards();
  ASSERT_GE(shards.size(), 5u);
  const std::string timeline_before = TimelineText(*store, {kT0, kT0 + 5 * kHour});
  std::map<ResourceKey, std::string> histories;
  for (const auto& k : keys_) histories[k] = HistoryText(*store, k);
  auto files = store->SnapshotForBackup();
  ASSERT_TRUE(files.has_value());
  std::map<std::string, std::string> originals;
  for (const auto& f : *files) originals[f.name] = ReadFile(f.path).substr(0, f.size);

  // An hour and a half later: the active shard is sealed, the index before it rewritten, the
  // oldest shard past -max-look-back deleted.
  now_ = kT0 + 6 * kHour + 30 * kMin;
  Append(*store, mk_.Pod(now_ - kMin, "late", "after-snapshot", "uid-late", 99999));
  ASSERT_TRUE(store->Maintain().has_value());
  ASSERT_FALSE(fs::exists(src_ / "shards" / "0000000001.seg")) << "retention kept shard 1";
  ASSERT_FALSE(fs::exists(src_ / "shards" / "0000000005.active")) << "shard 5 not sealed";
  size_t changed = 0;
  for (const auto& f : *files)
    changed += !fs::exists(f.path) || ReadFile(f.path) != originals[f.name];
  EXPECT_GE(changed, 3u) << "the files the snapshot opened did not change";

  std::string archive;
  auto w = WriteBackupArchive(*files, kCreated, [&](std::string_view c) -> Result<void> {
    archive.append(c);
    return {};
  });
  ASSERT_TRUE(w.has_value()) << w.error().ToString();
  files->clear();
  auto report = RestoreBackupArchive(SaveArchive(archive), dst_);
  ASSERT_TRUE(report.has_value()) << report.error().ToString();
  for (const auto& [name, data] : originals) {
    EXPECT_EQ(ReadFile(dst_ / name), data) << name << " is not as it was at the snapshot";
  }
  look_back_ = {};
  now_ = kT0 + 4 * kHour + 50 * kMin;
  auto copy = OpenStore(dst_);
  ASSERT_TRUE(copy);
  EXPECT_EQ(TimelineText(*copy, {kT0, kT0 + 5 * kHour}), timeline_before);
  for (const auto& [key, text] : histories)
    EXPECT_EQ(HistoryText(*copy, key), text) << key.ToString();
}

TEST_F(BackupTest, CopiedStoreDirectoryOpensElsewhere) {
  auto store = BuildStore(src_, 3);
  ASSERT_TRUE(store);
  std::map<ResourceKey, std::string> histories;
  for (const auto& k : keys_) histories[k] = HistoryText(*store, k);
  ASSERT_TRUE(store->Close().has_value());
  store.reset();
  fs::copy(src_, dst_, fs::copy_options::recursive);
  auto copy = OpenStore(dst_);
  ASSERT_TRUE(copy);
  for (const auto& [key, text] : histories)
    EXPECT_EQ(HistoryText(*copy, key), text) << key.ToString();
}

// ---- refusals: each leaves the existing store byte-for-byte as it was.

class BackupRejectTest : public BackupTest {
 protected:
  void SetUp() override {
    BackupTest::SetUp();
    store_ = BuildStore(src_, 3);
    ASSERT_TRUE(store_);
    archive_ = Backup(*store_);
    MakeExistingStore();
  }

  // Offset of a member's header in archive_.
  size_t MemberOffset(std::string_view name) const {
    for (size_t off = 0; off + 512 <= archive_.size();) {
      std::string_view h(archive_.data() + off, 512);
      if (h[0] == '\0') break;
      size_t size = std::stoull(std::string(h.substr(124, 11)), nullptr, 8);
      if (h.substr(0, name.size()) == name && h[name.size()] == '\0') return off;
      off += 512 + (size + 511) / 512 * 512;
    }
    ADD_FAILURE() << "no member " << name;
    return 0;
  }

  // The archive without its trailing manifest and end blocks, to build others from.
  std::string MembersOnly() const { return archive_.substr(0, MemberOffset("MANIFEST.json")); }
  std::string ManifestAndEnd() const { return archive_.substr(MemberOffset("MANIFEST.json")); }

  std::unique_ptr<Store> store_;
  std::string archive_;
};

TEST_F(BackupRejectTest, TruncatedArchive) {
  ExpectRejected(std::string_view(archive_).substr(0, archive_.size() / 2), ErrorCode::kCorruption,
                 {"cut short", "shards/"});
  ExpectRejected(std::string_view(archive_).substr(0, archive_.size() - 1024),
                 ErrorCode::kCorruption, {"cut short", "end-of-archive"});
  ExpectRejected(std::string_view(archive_).substr(0, MemberOffset("MANIFEST.json") + 600),
                 ErrorCode::kCorruption, {"cut short", "MANIFEST.json"});
  ExpectRejected(std::string_view(archive_).substr(0, MemberOffset("MANIFEST.json")),
                 ErrorCode::kCorruption, {"cut short"});
}

TEST_F(BackupRejectTest, FlippedBitInAMember) {
  for (const char* name :
       {"shards/0000000001.seg", "shards/0000000002.idx", "shards/0000000003.active"}) {
    std::string bad = archive_;
    bad[MemberOffset(name) + 512 + 300] ^= 0x04;
    ExpectRejected(bad, ErrorCode::kCorruption, {name, "xxh64 mismatch"});
  }
}

TEST_F(BackupRejectTest, DamagedTarHeader) {
  std::string bad = archive_;
  bad[MemberOffset("shards/0000000002.seg") + 130] ^= 0x01;  // a size digit
  ExpectRejected(bad, ErrorCode::kCorruption, {"tar header", "checksum"});
  // A header wiped to zeros looks like the end of the archive, but more follows.
  bad = archive_;
  std::memset(bad.data() + MemberOffset("shards/0000000002.idx"), 0, 512);
  ExpectRejected(bad, ErrorCode::kCorruption, {"all zeros but the archive goes on"});
}

TEST_F(BackupRejectTest, UnsafeOrForeignMemberNames) {
  ExpectRejected(MembersOnly() + TarMember("../x", "evil") + ManifestAndEnd(),
                 ErrorCode::kCorruption, {"'../x'", "unsafe path"});
  EXPECT_FALSE(fs::exists(base_ / "x"));
  EXPECT_FALSE(fs::exists(dst_ / "x"));
  ExpectRejected(TarMember("/etc/cron.d/x", "evil") + ManifestAndEnd(), ErrorCode::kInvalidArgument,
                 {"unsafe path", "not a sloop backup"});
  ExpectRejected(MembersOnly() + TarMember("shards/../../x.seg", "evil") + ManifestAndEnd(),
                 ErrorCode::kCorruption, {"unsafe path"});
  ExpectRejected(MembersOnly() + TarMember("shards/notes.txt", "hi") + ManifestAndEnd(),
                 ErrorCode::kCorruption, {"'shards/notes.txt'", "not a file a sloop backup holds"});
  ExpectRejected(MembersOnly() + TarMember("shards/0000000009.seg", "", '2') + ManifestAndEnd(),
                 ErrorCode::kCorruption, {"symbolic link", "only regular files"});
  ExpectRejected(MembersOnly() + TarMember("shards/", "", '5') + ManifestAndEnd(),
                 ErrorCode::kCorruption, {"directory"});
  // The same member twice.
  const size_t first = MemberOffset("shards/0000000001.seg");
  const size_t second = MemberOffset("shards/0000000001.idx");
  ExpectRejected(MembersOnly() + archive_.substr(first, second - first) + ManifestAndEnd(),
                 ErrorCode::kCorruption, {"appears twice"});
  // Anything after the manifest.
  ExpectRejected(MembersOnly() +
                     archive_.substr(MemberOffset("MANIFEST.json"),
                                     archive_.size() - 1024 - MemberOffset("MANIFEST.json")) +
                     TarMember("shards/0000000009.active", "x") + TarEnd(),
                 ErrorCode::kCorruption, {"must be the last"});
}

TEST_F(BackupRejectTest, ForeignFiles) {
  ExpectRejected("", ErrorCode::kInvalidArgument, {"empty", "not a sloop backup"});
  std::mt19937 rng(3);
  std::string random(100000, '\0');
  for (char& c : random) c = static_cast<char>(rng());
  ExpectRejected(random, ErrorCode::kInvalidArgument, {"not a tar archive", "not a sloop backup"});
  ExpectRejected("hello\n", ErrorCode::kInvalidArgument, {"too short", "not a sloop backup"});
  // zstd of something that is not a tar (what a backup of the original Go Sloop looks like).
  ExpectRejected(ZstdCompress(random), ErrorCode::kInvalidArgument,
                 {"after zstd decompression", "original, Go, Sloop"});
  // A tar, but no manifest: with shard-like members, and with nothing at all.
  ExpectRejected(MembersOnly() + TarEnd(), ErrorCode::kInvalidArgument,
                 {"without MANIFEST.json", "not a sloop backup"});
  ExpectRejected(TarEnd(), ErrorCode::kInvalidArgument, {"no members"});
  // A tar the tar command made of other files.
  if (fs::exists("/usr/bin/tar")) {
    fs::create_directories(base_ / "other");
    WriteFile(base_ / "other" / "notes.txt", "some notes\n");
    int status = 0;
    Shell("/usr/bin/tar cf " + (base_ / "other.tar").string() + " -C " +
              (base_ / "other").string() + " notes.txt 2>&1",
          &status);
    ASSERT_EQ(status, 0);
    ExpectRejected(ReadFile(base_ / "other.tar"), ErrorCode::kInvalidArgument,
                   {"'notes.txt'", "not a sloop backup"});
  }
  // A manifest that is some other program's.
  ExpectRejected(
      TarMember("MANIFEST.json", "{\"format\":\"other\",\"version\":1,\"files\":[]}") + TarEnd(),
      ErrorCode::kInvalidArgument, {"not a sloop backup"});
  // A missing archive file.
  auto r = RestoreBackupArchive(base_ / "does-not-exist.tar", dst_);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
  EXPECT_NE(r.error().message.find("does-not-exist.tar"), std::string::npos);
}

TEST_F(BackupRejectTest, ManifestThatDisagreesWithTheMembers) {
  const size_t m = MemberOffset("MANIFEST.json") + 512;
  auto edit = [&](std::string_view from, std::string_view to) {
    std::string bad = archive_;
    size_t at = bad.find(from, m);
    EXPECT_NE(at, std::string::npos) << from;
    EXPECT_EQ(from.size(), to.size());
    if (at != std::string::npos) bad.replace(at, from.size(), to);
    return bad;
  };
  // A hash digit changed.
  {
    std::string bad = archive_;
    size_t at = bad.find("\"xxh64\":\"", m) + 9;
    bad[at] = bad[at] == '0' ? '1' : '0';
    ExpectRejected(bad, ErrorCode::kCorruption, {"shards/0000000001.seg", "xxh64 mismatch"});
  }
  // A size changed (a leading space becomes a digit).
  {
    std::string bad = archive_;
    size_t at = bad.find("\"size\":", m) + 7;
    ASSERT_EQ(bad[at], ' ');
    while (bad[at + 1] == ' ') ++at;
    bad[at] = '9';
    ExpectRejected(bad, ErrorCode::kCorruption, {"shards/0000000001.seg", "size mismatch"});
  }
  // A listed file the archive does not hold, and a member the manifest does not list.
  ExpectRejected(edit("\"shards/0000000001.seg\"", "\"shards/0000000009.seg\""),
                 ErrorCode::kCorruption, {"lists 'shards/0000000009.seg'", "does not contain"});
  ExpectRejected(MembersOnly() + TarMember("shards/0000000009.active", "x") + ManifestAndEnd(),
                 ErrorCode::kCorruption, {"'shards/0000000009.active'", "not listed"});
  // Not JSON, a newer format version.
  ExpectRejected(edit("{\"format\"", "[\"format\""), ErrorCode::kCorruption, {"not valid JSON"});
  ExpectRejected(edit("\"version\":1", "\"version\":2"), ErrorCode::kUnsupported,
                 {"version 2", "newer"});
}

TEST_F(BackupRejectTest, SegmentWithABadBlockEvenWhenTheManifestAgrees) {
  // An archive whose manifest matches its members, but whose segment was damaged before the
  // backup was taken: the block checksums catch it.
  auto files = store_->SnapshotForBackup();
  ASSERT_TRUE(files.has_value());
  const fs::path copies = base_ / "copies";
  fs::create_directories(copies);
  for (auto& f : *files) {
    fs::path c = copies / fs::path(f.name).filename();
    WriteFile(c, ReadFile(f.path).substr(0, f.size));
    f.path = c;
    f.keep_alive = nullptr;
    f.fd = nullptr;  // read the copies by path, not the originals the snapshot opened
  }
  for (const char* victim : {"0000000002.seg", "0000000003.active"}) {
    const fs::path c = copies / victim;
    std::string data = ReadFile(c);
    const std::string saved = data;
    data[16 + 40 + 20] ^= 0x01;  // inside the first block's compressed payload
    WriteFile(c, data);
    std::string archive;
    ASSERT_TRUE(WriteBackupArchive(*files, kCreated, [&](std::string_view s) -> Result<void> {
                  archive.append(s);
                  return {};
                }).has_value());
    ExpectRejected(archive, ErrorCode::kCorruption,
                   {std::string("shards/") + victim, "block at offset 16"});
    WriteFile(c, saved);
  }
  // An index that does not belong to its segment.
  WriteFile(copies / "0000000001.idx", ReadFile(copies / "0000000002.idx"));
  for (auto& f : *files) f.size = fs::file_size(f.path);
  std::string archive;
  ASSERT_TRUE(WriteBackupArchive(*files, kCreated, [&](std::string_view s) -> Result<void> {
                archive.append(s);
                return {};
              }).has_value());
  ExpectRejected(archive, ErrorCode::kCorruption, {"shards/0000000001.seg/.idx", "does not open"});
}

TEST_F(BackupRejectTest, RestoreIntoAFileIsRefused) {
  WriteFile(base_ / "plain-file", "x");
  auto r = RestoreBackupArchive(SaveArchive(archive_), base_ / "plain-file");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message.find("not a directory"), std::string::npos);
}

// Throughput on a store of a few hundred MB (not run by default):
//   SLOOP_BACKUP_BENCH_MB=300 backup_test --gtest_also_run_disabled_tests
//     --gtest_filter='*Throughput*'
// ---- the store's lock, the atomic swap and its recovery (issue 15, items 6 and 7)

// The shard files of a store directory with their digests (the lock file and markers aside).
std::map<std::string, uint64_t> ShardDigest(const fs::path& root) {
  std::map<std::string, uint64_t> out;
  for (const auto& [name, digest] : DirDigest(root / "shards")) {
    if (name.find('.') == 10) out[name] = digest;
  }
  return out;
}

TEST_F(BackupTest, RestoreIntoAnOpenStoreIsRefusedNamingTheHolder) {
  auto store = BuildStore(src_, 2);
  ASSERT_TRUE(store);
  const fs::path archive = SaveArchive(Backup(*store));
  auto live = OpenStore(dst_);
  ASSERT_TRUE(live);
  Append(*live, mk_.Pod(kT0, "default", "keep", "uid-keep", 1));
  ASSERT_TRUE(live->Flush().has_value());
  const auto before = DirDigest(dst_ / "shards");
  auto r = RestoreBackupArchive(archive, dst_);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable) << r.error().ToString();
  EXPECT_NE(r.error().message.find("process " + std::to_string(getpid())), std::string::npos)
      << r.error().message;
  EXPECT_NE(r.error().message.find((dst_ / "LOCK").string()), std::string::npos)
      << r.error().message;
  EXPECT_EQ(DirDigest(dst_ / "shards"), before) << "a refused restore touched a live store";
  EXPECT_FALSE(fs::exists(dst_ / ".restore-staging"));
  // Once the store is closed, the same restore goes through.
  live.reset();
  ASSERT_TRUE(RestoreBackupArchive(archive, dst_).has_value());
}

TEST_F(BackupTest, StoreCannotOpenWhileARestoreHoldsTheLock) {
  // The restore holds the lock from its first byte: a Store opened from the read callback (as a
  // second process would, mid-restore) is refused.
  auto store = BuildStore(src_, 2);
  ASSERT_TRUE(store);
  const std::string archive = Backup(*store);
  size_t pos = 0;
  bool tried = false;
  ArchiveReadFn read = [&](std::span<char> buf) -> Result<size_t> {
    if (!tried) {
      tried = true;
      auto opened = Store::Open(Options(dst_));
      EXPECT_FALSE(opened.has_value()) << "a store opened during a restore";
      if (!opened) {
        EXPECT_EQ(opened.error().code, ErrorCode::kUnavailable);
        EXPECT_NE(opened.error().message.find("in use by process"), std::string::npos)
            << opened.error().message;
      }
    }
    size_t n = std::min(buf.size(), archive.size() - pos);
    std::memcpy(buf.data(), archive.data() + pos, n);
    pos += n;
    return n;
  };
  auto r = RestoreBackupArchive(read, "upload", dst_);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_TRUE(tried);
}

// A crash at each step of the swap (simulated by the test seam) leaves, after the next open,
// either the old store whole or the restored one whole, and nothing else behind.
TEST_F(BackupTest, InterruptedSwapIsFinishedOrRolledBackOnOpen) {
  auto store = BuildStore(src_, 3);
  ASSERT_TRUE(store);
  const fs::path archive = SaveArchive(Backup(*store));
  std::map<std::string, uint64_t> restored_digest;
  {
    // What the restored shards look like: a clean restore into a fresh directory.
    const fs::path clean = base_ / "clean";
    ASSERT_TRUE(RestoreBackupArchive(archive, clean).has_value());
    ASSERT_TRUE(OpenStore(clean));  // opened and closed, as the checks below do: .active sealed
    restored_digest = ShardDigest(clean);
  }
  // step 1: checked but not swapped → old; 2: swapped, not tidied → new; 3: between the two
  // renames of the fallback (no shards/ at all) → new.
  for (int step : {1, 2, 3}) {
    SCOPED_TRACE("fault after swap step " + std::to_string(step));
    fs::remove_all(dst_);
    MakeExistingStore();
    const auto old_digest = ShardDigest(dst_);
    ASSERT_NE(old_digest, restored_digest);
    RestoreOptions o;
    o.fault_after_step = step;
    auto r = RestoreBackupArchive(archive, dst_, o);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, ErrorCode::kAborted);
    if (step == 3) EXPECT_FALSE(fs::exists(dst_ / "shards"));
    auto reopened = OpenStore(dst_);
    ASSERT_TRUE(reopened);
    reopened.reset();
    EXPECT_EQ(ShardDigest(dst_), step == 1 ? old_digest : restored_digest);
    std::set<std::string> entries;
    for (const auto& e : fs::directory_iterator(dst_)) entries.insert(e.path().filename().string());
    EXPECT_EQ(entries, (std::set<std::string>{"LOCK", "shards"}));
    EXPECT_FALSE(fs::exists(dst_ / "shards" / "RESTORE-CHECKED"));
  }
}

TEST_F(BackupTest, OlderBuildsHalfDoneSwapIsRolledBack) {
  // An older build renamed shards → shards.old-<ns> and then the staging directory → shards; a
  // crash between the two left no shards/ at all. The old shards are put back.
  MakeExistingStore();
  const auto old_digest = ShardDigest(dst_);
  fs::rename(dst_ / "shards", dst_ / "shards.old-1795165200000000000");
  fs::create_directories(dst_ / ".restore-staging" / "shards");
  auto reopened = OpenStore(dst_);
  ASSERT_TRUE(reopened);
  EXPECT_EQ(ShardDigest(dst_), old_digest);
  EXPECT_FALSE(fs::exists(dst_ / ".restore-staging"));
  EXPECT_FALSE(fs::exists(dst_ / "shards.old-1795165200000000000"));
  EXPECT_GT(reopened->Shards().size(), 0u);
}

TEST_F(BackupTest, EmptyArchiveEmptiesAStoreOnlyWhenAskedTo) {
  std::string empty;
  ASSERT_TRUE(WriteBackupArchive({}, 5, [&](std::string_view c) -> Result<void> {
                empty.append(c);
                return {};
              }).has_value());
  MakeExistingStore();
  const auto before = DirDigest(dst_);
  auto r = RestoreBackupArchive(SaveArchive(empty), dst_);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message.find("-restore-allow-empty"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("is unchanged"), std::string::npos) << r.error().message;
  EXPECT_EQ(DirDigest(dst_), before);
  RestoreOptions o;
  o.allow_empty = true;
  ASSERT_TRUE(RestoreBackupArchive(SaveArchive(empty), dst_, o).has_value());
  EXPECT_TRUE(ShardDigest(dst_).empty());
}

TEST_F(BackupTest, DISABLED_Throughput) {
  const char* env = std::getenv("SLOOP_BACKUP_BENCH_MB");
  const uint64_t target = (env ? std::stoull(env) : 300) << 20;
  StoreOptions o = Options(src_);
  o.writer.target_block_bytes = 128 * 1024;
  o.writer.sync = SyncPolicy::kNever;
  o.max_disk_bytes = 64ull << 30;
  o.max_look_back = std::chrono::hours(24 * 365 * 10);
  auto opened = Store::Open(o);
  ASSERT_TRUE(opened.has_value());
  auto& store = **opened;
  // Pods with a 4 KiB annotation of random hex, so that they compress about 2:1; one a second,
  // so that the store has a shard per hour of them.
  std::mt19937_64 rng(11);
  std::string blob(4096, '0');
  int rv = 1;
  for (int64_t i = 0; i % 1000 != 0 || store.Stats().disk_bytes < target; ++i) {
    for (char& c : blob) c = "0123456789abcdef"[rng() & 15];
    RecordView r =
        mk_.Pod(kT0 + i * kSec, "ns-" + std::to_string(i % 20), "pod-" + std::to_string(i % 5000),
                "uid-" + std::to_string(i % 5000), ++rv);
    std::string payload(r.payload);
    testing::ReplaceAll(payload, "\"prometheus.io/port\":\"9102\"",
                        "\"prometheus.io/port\":\"9102\",\"blob\":\"" + blob + "\"");
    r.payload = payload;
    ASSERT_TRUE(store.Append(r).has_value());
  }
  auto files = store.SnapshotForBackup();
  ASSERT_TRUE(files.has_value());
  const fs::path path = base_ / "bench.tar";
  {
    // Into a sink that drops the bytes: the cost of the archive itself (reads and hashing).
    const auto t0 = std::chrono::steady_clock::now();
    ASSERT_TRUE(WriteBackupArchive(*files, kCreated, [&](std::string_view) -> Result<void> {
                  return {};
                }).has_value());
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double mb = double(BackupArchiveSize(*files)) / (1 << 20);
    std::printf("backup to a null sink: %.1f MiB in %.2f s: %.0f MiB/s\n", mb, s, mb / s);
  }
  {
    // The store's files are in the page cache: the disk only takes the archive's writes.
    ::sync();
    const auto t0 = std::chrono::steady_clock::now();
    std::ofstream out(path, std::ios::binary);
    ASSERT_TRUE(WriteBackupArchive(*files, kCreated, [&](std::string_view c) -> Result<void> {
                  out.write(c.data(), static_cast<std::streamsize>(c.size()));
                  return {};
                }).has_value());
    out.close();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double mb = double(BackupArchiveSize(*files)) / (1 << 20);
    std::printf("backup to a file: %zu files, %.1f MiB in %.2f s: %.0f MiB/s\n", files->size(), mb,
                s, mb / s);
  }
  files->clear();
  if (getenv("KEEP")) fs::copy_file(path, getenv("KEEP"));
  {
    ::sync();  // the archive just written is not the restore's to flush
    const auto t0 = std::chrono::steady_clock::now();
    auto r = RestoreBackupArchive(path, dst_);
    ASSERT_TRUE(r.has_value()) << r.error().ToString();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double mb = double(r->bytes) / (1 << 20);
    std::printf("restore: %llu files (%llu shards), %.1f MiB in %.2f s: %.0f MiB/s\n",
                static_cast<unsigned long long>(r->files),
                static_cast<unsigned long long>(r->shards), mb, s, mb / s);
  }
}

}  // namespace
}  // namespace sloop
