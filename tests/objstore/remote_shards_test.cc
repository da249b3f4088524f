// The query side of the object-store tier: shards uploaded by a recorder read back lazily (whole
// index, segment chunks by range) into a bounded cache, answering as the recorder did.
#include "objstore/remote_shards.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "engine/store.h"
#include "objstore/memory_bucket.h"
#include "objstore/upload_state.h"
#include "objstore/uploader.h"
#include "objstore/uploader_metrics.h"
#include "tests/engine/record_maker.h"

namespace sloop::objstore {
namespace {

namespace fs = std::filesystem;
using testing::RecordMaker;

constexpr int64_t kSec = 1000000000LL;
constexpr int64_t kMin = 60 * kSec;
constexpr int64_t kHour = 60 * kMin;
constexpr int64_t kT0 = 1795165200LL * kSec;  // 2026-11-20T09:00:00Z

// A bucket that remembers every GET: its key and range.
class CountingBucket : public ObjectStore {
 public:
  struct GetCall {
    std::string key;
    uint64_t offset = 0;
    std::optional<uint64_t> length;
  };
  Result<void> PutFile(const std::string& key, const fs::path& file) override {
    return inner.PutFile(key, file);
  }
  Result<void> PutBytes(const std::string& key, std::string_view bytes) override {
    return inner.PutBytes(key, bytes);
  }
  Result<ObjectInfo> Head(const std::string& key) override { return inner.Head(key); }
  Result<std::string> Get(const std::string& key, uint64_t offset,
                          std::optional<uint64_t> length) override {
    {
      std::lock_guard lock(mu);
      gets.push_back({key, offset, length});
    }
    return inner.Get(key, offset, length);
  }
  Result<void> Delete(const std::string& key) override { return inner.Delete(key); }
  Result<ListPage> List(const std::string& prefix, const std::string& delimiter,
                        const std::string& token) override {
    return inner.List(prefix, delimiter, token);
  }
  std::vector<GetCall> Gets() {
    std::lock_guard lock(mu);
    return gets;
  }
  size_t GetsEndingWith(const std::string& suffix) {
    size_t n = 0;
    for (const auto& g : Gets()) n += g.key.ends_with(suffix);
    return n;
  }

  MemoryBucket inner{4};
  std::mutex mu;
  std::vector<GetCall> gets;
};

std::string TimelineText(const Store& store, const TimeRange& range, const std::string& kind = "") {
  TimelineQuery q;
  q.range = range;
  q.kind = kind;
  auto r = store.Timeline(q);
  EXPECT_TRUE(r.has_value()) << r.error().ToString();
  if (!r) return "";
  std::ostringstream out;
  for (const auto& row : r->rows) {
    out << row.key.kind << "/" << row.key.namespace_ << "/" << row.key.name << " " << row.start_ns
        << ".." << row.end_ns << (row.deleted ? " deleted" : "") << " changes";
    for (uint32_t t : row.changed_at) out << " " << t;
    out << " heat";
    for (const auto& h : row.heat) out << " " << h.minute_unix << ":" << h.reason << "x" << h.count;
    out << "\n";
  }
  return out.str();
}

std::string HistoryText(const Store& store, const std::string& name, const TimeRange& range,
                        bool previous) {
  std::ostringstream out;
  auto r = store.History(ResourceKeyView{"Pod", "ns", name, ""}, range, previous,
                         [&](const RecordView& rec) {
                           out << rec.observed_ns << " " << rec.resource_version << " "
                               << rec.payload.size() << "\n";
                           return true;
                         });
  EXPECT_TRUE(r.has_value()) << r.error().ToString();
  return out.str();
}

std::string EventsText(const Store& store, const std::string& name, const TimeRange& range) {
  std::ostringstream out;
  auto r = store.Events(ResourceKeyView{"Pod", "ns", name, ""}, range, [&](const RecordView& rec) {
    out << rec.observed_ns << " " << rec.name << " " << rec.resource_version << "\n";
    return true;
  });
  EXPECT_TRUE(r.has_value()) << r.error().ToString();
  return out.str();
}

class RemoteShardsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("sloop-remote-shards-test-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    now_ = kT0;
  }
  void TearDown() override {
    reader_.reset();  // before what its queries read through
    reader_remote_.reset();
    reader_cache_.reset();
    uploader_.reset();
    recorder_.reset();
    state_.reset();
    fs::remove_all(dir_);
  }

  StoreOptions Options(const fs::path& root) {
    StoreOptions o;
    o.root = root;
    o.background = false;
    o.now_ns = [this] { return now_.load(); };
    o.writer.target_block_bytes = 16 * 1024;
    o.sealed_block_bytes = 16 * 1024;  // several blocks a segment: ranges can be told apart
    return o;
  }

  // The recorder: a store that uploads to the bucket, hours [0, hours) written and uploaded.
  void Record(int hours, StoreOptions o) {
    auto st = UploadState::Load(o.root);
    ASSERT_TRUE(st.has_value()) << st.error().ToString();
    state_ = std::move(*st);
    UploadState::Attach(state_.get(), &o);
    auto s = Store::Open(std::move(o));
    ASSERT_TRUE(s.has_value()) << s.error().ToString();
    recorder_ = std::move(*s);
    UploaderOptions u;
    u.cluster = "prod";
    u.prefix = "sloop";
    u.now_ns = [this] { return now_.load(); };
    auto up = Uploader::Create(*recorder_, bucket_, *state_, u);
    ASSERT_TRUE(up.has_value()) << up.error().ToString();
    uploader_ = std::move(*up);
    for (int h = 0; h < hours; ++h) {
      for (int i = 0; i < 60; ++i) {
        now_ = kT0 + h * kHour + i * 30 * kSec;
        const std::string name = "p" + std::to_string(i);
        ASSERT_TRUE(
            recorder_->Append(mk_.Pod(now_, "ns", name, "u" + std::to_string(i), h * 1000 + i))
                .has_value());
        if (i % 10 == 1) {
          now_ += kSec;
          ASSERT_TRUE(recorder_
                          ->Append(mk_.Event(now_, "ns", name + "." + std::to_string(h), "Pod",
                                             name, "u" + std::to_string(i), "BackOff", true, 1,
                                             now_, h * 1000 + 500 + i, WatchType::kAdded))
                          .has_value());
        }
      }
    }
    now_ = kT0 + hours * kHour + kMin;
    ASSERT_TRUE(recorder_->Maintain().has_value());
    ASSERT_TRUE(uploader_->UploadPending().has_value());
    ASSERT_EQ(uploader_->Stats().pending_shards, 0u);
  }

  // The recorder stopped (its uploads done) and opened again with a shorter look-back, then
  // maintained: age retention deletes its oldest shards, all uploaded.
  void ReopenWithLookBack(std::chrono::hours look_back) {
    uploader_.reset();
    ASSERT_TRUE(recorder_->Close().has_value());
    recorder_.reset();
    StoreOptions o = Options(dir_ / "recorder");
    o.max_look_back = look_back;
    UploadState::Attach(state_.get(), &o);
    auto reopened = Store::Open(std::move(o));
    ASSERT_TRUE(reopened.has_value()) << reopened.error().ToString();
    recorder_ = std::move(*reopened);
    ASSERT_TRUE(recorder_->Maintain().has_value());
    ASSERT_EQ(recorder_->Stats().unuploaded_shards_lost, 0u);
  }

  std::unique_ptr<ObjectCache> Cache(uint64_t limit = 64 << 20) {
    auto c = ObjectCache::Open(dir_ / "cache", limit, &bucket_);
    EXPECT_TRUE(c.has_value()) << c.error().ToString();
    return c ? std::move(*c) : nullptr;
  }
  static RemoteShardsOptions Remote() {
    RemoteShardsOptions o;
    o.prefix = "sloop";
    o.cluster = "prod";
    o.display = "s3://test";
    return o;
  }
  // A store of its own that holds nothing, reading the bucket through a new cache.
  void OpenReader() {
    auto opened = Store::Open(Options(dir_ / "reader"));
    ASSERT_TRUE(opened.has_value()) << opened.error().ToString();
    reader_ = std::move(*opened);
    reader_cache_ = Cache();
    reader_remote_ = std::make_unique<RemoteShards>(&bucket_, reader_cache_.get(), Remote());
    Attach(*reader_, *reader_remote_);
  }
  static void Attach(Store& store, RemoteShards& remote) {
    store.SetOlderShards([&remote](int64_t before, const std::vector<uint64_t>& local) {
      return remote.ShardsBefore(before, local);
    });
  }

  fs::path dir_;
  std::atomic<int64_t> now_;
  RecordMaker mk_;
  CountingBucket bucket_;
  std::unique_ptr<UploadState> state_;
  std::unique_ptr<Store> recorder_;
  std::unique_ptr<Uploader> uploader_;
  std::unique_ptr<ObjectCache> reader_cache_;
  std::unique_ptr<RemoteShards> reader_remote_;
  std::unique_ptr<Store> reader_;
};

TEST_F(RemoteShardsTest, AnEmptyStoreAnswersFromTheBucketAsTheRecorderDid) {
  Record(4, Options(dir_ / "recorder"));
  const TimeRange all{kT0, kT0 + 4 * kHour};
  const TimeRange hour1{kT0 + kHour, kT0 + 2 * kHour - 1};
  const std::string timeline = TimelineText(*recorder_, hour1);
  const std::string events_timeline = TimelineText(*recorder_, all, "Event");
  const std::string history = HistoryText(*recorder_, "p11", all, false);
  const std::string history_prev = HistoryText(*recorder_, "p11", hour1, true);
  const std::string events = EventsText(*recorder_, "p11", all);
  ASSERT_NE(timeline.find("Pod/ns/p11"), std::string::npos) << timeline;
  ASSERT_NE(history.find("1011"), std::string::npos) << history;
  ASSERT_NE(events.find("p11.2"), std::string::npos) << events;

  ASSERT_NO_FATAL_FAILURE(OpenReader());
  Store* reader = reader_.get();
  EXPECT_EQ(TimelineText(*reader, hour1), timeline);
  EXPECT_EQ(TimelineText(*reader, all, "Event"), events_timeline);
  EXPECT_EQ(HistoryText(*reader, "p11", all, false), history);
  EXPECT_EQ(HistoryText(*reader, "p11", hour1, true), history_prev);
  EXPECT_EQ(EventsText(*reader, "p11", all), events);
  auto payload = reader->PayloadAt(ResourceKeyView{"Pod", "ns", "p11", ""}, kT0 + kHour + kMin);
  ASSERT_TRUE(payload.has_value() && payload->has_value());
  EXPECT_EQ((*payload)->resource_version, "11");
  EXPECT_EQ(reader->Kinds(all), recorder_->Kinds(all));
  // Nothing of the bucket counts as the reader's own: not in its stats, not in its backups, and
  // a name search stays on its own shards.
  EXPECT_EQ(reader->Stats().shards, 0u);
  EXPECT_EQ(reader->Stats().disk_bytes, 0u);
  EXPECT_TRUE(reader->Shards().empty());
  auto files = reader->SnapshotForBackup();
  ASSERT_TRUE(files.has_value());
  EXPECT_TRUE(files->empty());
  EXPECT_TRUE(reader->Search("p1", "", 10).empty());
  ASSERT_TRUE(reader->Close().has_value());
}

TEST_F(RemoteShardsTest, ARecorderAnswersFromTheBucketForTimesItNoLongerHolds) {
  Record(6, Options(dir_ / "recorder"));
  const TimeRange all{kT0, kT0 + 6 * kHour};
  const TimeRange hour1{kT0 + kHour, kT0 + 2 * kHour - 1};
  // What it answered while it held everything: shards of hours 0 to 5.
  ASSERT_EQ(recorder_->SealedShards().size(), 6u);
  const std::string timeline = TimelineText(*recorder_, hour1);
  const std::string history = HistoryText(*recorder_, "p21", all, false);
  const std::string events = EventsText(*recorder_, "p21", all);
  // Restarted with a shorter look-back: age retention deletes the oldest (uploaded) shards.
  ReopenWithLookBack(std::chrono::hours(3));
  ASSERT_LT(recorder_->SealedShards().size(), 6u);
  ASSERT_GT(recorder_->SealedShards().size(), 0u);
  EXPECT_NE(HistoryText(*recorder_, "p21", all, false), history) << "some history is gone here";

  auto cache = Cache();
  RemoteShards remote(&bucket_, cache.get(), Remote());
  Attach(*recorder_, remote);
  EXPECT_EQ(TimelineText(*recorder_, hour1), timeline);
  EXPECT_EQ(HistoryText(*recorder_, "p21", all, false), history);
  EXPECT_EQ(EventsText(*recorder_, "p21", all), events);
  EXPECT_GT(remote.known(), 0u);
}

TEST_F(RemoteShardsTest, AColdQueryFetchesTheIndexAndOnlyTheChunksItNeedsThenNothingWarm) {
  Record(3, Options(dir_ / "recorder"));
  ASSERT_NO_FATAL_FAILURE(OpenReader());
  Store* reader = reader_.get();
  ObjectCache* cache = reader_cache_.get();
  const size_t manifests = bucket_.GetsEndingWith(".json");
  // A timeline reads indexes only: one GET per shard it overlaps, no segment byte.
  const TimeRange hour1{kT0 + kHour + kMin, kT0 + 2 * kHour - kMin};
  TimelineText(*reader, hour1);
  EXPECT_EQ(bucket_.GetsEndingWith(".idx"), 1u);
  EXPECT_EQ(bucket_.GetsEndingWith(".seg"), 0u);
  EXPECT_EQ(bucket_.GetsEndingWith(".json"), manifests + 3) << "each manifest read once";
  // A history of one pod in that hour: its blocks' chunks, by range, not the whole segment.
  HistoryText(*reader, "p5", hour1, false);
  size_t seg_gets = 0;
  uint64_t seg_size = 0;
  for (const auto& g : bucket_.Gets()) {
    if (!g.key.ends_with(".seg")) continue;
    ++seg_gets;
    ASSERT_TRUE(g.length.has_value()) << "segments are read by range";
    EXPECT_EQ(g.offset % ObjectCache::kChunkBytes, 0u);
    EXPECT_LE(*g.length, ObjectCache::kChunkBytes);
    seg_size = bucket_.inner.Head(g.key)->size;
  }
  EXPECT_GE(seg_gets, 1u);
  EXPECT_LT(seg_gets, (seg_size + ObjectCache::kChunkBytes - 1) / ObjectCache::kChunkBytes + 1);
  // Warm: the same queries fetch nothing.
  const size_t before = bucket_.Gets().size();
  TimelineText(*reader, hour1);
  HistoryText(*reader, "p5", hour1, false);
  EXPECT_EQ(bucket_.Gets().size(), before);
  EXPECT_GT(cache->stats().hits, 0u);
  ASSERT_TRUE(reader->Close().has_value());
}

TEST_F(RemoteShardsTest, TheCacheStaysUnderItsLimitAndReadsRangesExactly) {
  std::string object(2 * 1024 * 1024 + 123, '\0');
  for (size_t i = 0; i < object.size(); ++i) object[i] = static_cast<char>((i * 2654435761u) >> 13);
  ASSERT_TRUE(bucket_.PutBytes("k/big", object).has_value());
  const uint64_t limit = 600 * 1024;
  auto cache = Cache(limit);
  std::string buf(100, '\0');
  // Within one chunk: one ranged GET of that chunk.
  ASSERT_TRUE(cache->Read("k/big", object.size(), 1024 * 1024 + 10, buf.data(), 100).has_value());
  EXPECT_EQ(buf, object.substr(1024 * 1024 + 10, 100));
  ASSERT_EQ(bucket_.Gets().size(), 1u);
  EXPECT_EQ(bucket_.Gets()[0].offset, 1024u * 1024);
  EXPECT_EQ(bucket_.Gets()[0].length, std::optional<uint64_t>(ObjectCache::kChunkBytes));
  // Across a chunk boundary: the next chunk too, the first from the cache.
  const uint64_t at = 1024 * 1024 + ObjectCache::kChunkBytes - 40;
  ASSERT_TRUE(cache->Read("k/big", object.size(), at, buf.data(), 100).has_value());
  EXPECT_EQ(buf, object.substr(at, 100));
  EXPECT_EQ(bucket_.Gets().size(), 2u);
  // The whole object, then its short last chunk: the limit holds, least recently used out.
  std::string whole(object.size(), '\0');
  ASSERT_TRUE(cache->Read("k/big", object.size(), 0, whole.data(), whole.size()).has_value());
  EXPECT_EQ(whole, object);
  auto st = cache->stats();
  EXPECT_LE(st.held_bytes, limit);
  EXPECT_GT(st.evictions, 0u);
  uint64_t on_disk = 0;
  for (const auto& e : fs::directory_iterator(cache->dir())) on_disk += fs::file_size(e.path());
  EXPECT_EQ(on_disk, st.held_bytes);
  // Past the end: refused, naming the object.
  auto past = cache->Read("k/big", object.size(), object.size() - 10, buf.data(), 100);
  ASSERT_FALSE(past.has_value());
  EXPECT_NE(past.error().message.find("k/big"), std::string::npos);
  // A cache that cannot write (its directory gone, as on a full or lost disk): reads still
  // answer, straight from the bucket, exactly the bytes asked for.
  fs::remove_all(cache->dir());
  const size_t gets = bucket_.Gets().size();
  for (uint64_t at2 : {uint64_t{5}, uint64_t{2 * 1024 * 1024}}) {
    ASSERT_TRUE(cache->Read("k/big", object.size(), at2, buf.data(), 100).has_value());
    EXPECT_EQ(buf, object.substr(at2, 100));
  }
  EXPECT_GE(bucket_.Gets().size(), gets + 1);
  EXPECT_EQ(bucket_.Gets().back().length, std::optional<uint64_t>(100));
}

TEST_F(RemoteShardsTest, TheCacheMetricsFollowItsCounts) {
  std::string object(3 * ObjectCache::kChunkBytes, 'x');
  ASSERT_TRUE(bucket_.PutBytes("k/obj", object).has_value());
  auto cache = Cache(ObjectCache::kChunkBytes * 2);
  prometheus::Registry registry;
  ObjectCacheMetrics metrics(registry, *cache);
  auto value = [&](const std::string& name) -> double {
    metrics.Refresh();
    std::string text = prometheus::TextSerializer().Serialize(registry.Collect());
    size_t at = text.find("\n" + name + " ");
    if (at == std::string::npos) return -1;
    return std::stod(text.substr(at + name.size() + 2));
  };
  EXPECT_EQ(value("sloop_objstore_cache_requests_total"), 0);
  EXPECT_EQ(value("sloop_objstore_cache_limit_bytes"), 2.0 * ObjectCache::kChunkBytes);
  std::string buf(10, '\0');
  // Three chunks read once each (two fetched and kept, the third pushing the first out), then the
  // last one again from the cache.
  for (uint64_t at : {uint64_t{0}, ObjectCache::kChunkBytes, 2 * ObjectCache::kChunkBytes,
                      2 * ObjectCache::kChunkBytes + 5}) {
    ASSERT_TRUE(cache->Read("k/obj", object.size(), at, buf.data(), buf.size()).has_value());
  }
  auto st = cache->stats();
  EXPECT_EQ(value("sloop_objstore_cache_requests_total"), double(st.requests));
  EXPECT_EQ(value("sloop_objstore_cache_misses_total"), 3);
  EXPECT_EQ(value("sloop_objstore_cache_hits_total"), 1);
  EXPECT_EQ(value("sloop_objstore_cache_fetched_bytes_total"), 3.0 * ObjectCache::kChunkBytes);
  EXPECT_EQ(value("sloop_objstore_cache_evictions_total"), double(st.evictions));
  EXPECT_GE(st.evictions, 1u);
  EXPECT_EQ(value("sloop_objstore_cache_bytes"), double(st.held_bytes));
  EXPECT_EQ(value("sloop_objstore_cache_pieces"), double(st.held_pieces));
}

TEST_F(RemoteShardsTest, ADamagedIndexInTheBucketIsRefusedByItsManifestChecksum) {
  Record(2, Options(dir_ / "recorder"));
  std::string idx_key;
  for (const auto& [k, v] : bucket_.inner.Objects()) {
    if (k.ends_with(".idx")) idx_key = k;
  }
  ASSERT_FALSE(idx_key.empty());
  std::string damaged = *bucket_.inner.Get(idx_key);
  damaged[damaged.size() / 2] ^= 0x20;
  bucket_.inner.Set(idx_key, damaged);
  auto cache = Cache();
  RemoteShards remote(&bucket_, cache.get(), Remote());
  auto listed = remote.ShardsBefore(INT64_MAX, {});
  ASSERT_TRUE(listed.has_value()) << listed.error().ToString();
  const auto& shards = *listed;
  ASSERT_EQ(shards.size(), 2u);
  const RemoteShard* last = nullptr;
  for (const auto& s : shards) {
    auto* r = dynamic_cast<const RemoteShard*>(s.get());
    ASSERT_NE(r, nullptr);
    if (r->manifest().shard_id == shards.back()->info().id) last = r;
  }
  ASSERT_NE(last, nullptr);
  auto got = last->Opened();
  ASSERT_FALSE(got.has_value()) << "damaged index opened";
  EXPECT_EQ(got.error().code, ErrorCode::kCorruption);
  EXPECT_NE(got.error().message.find(idx_key), std::string::npos) << got.error().message;
}

TEST_F(RemoteShardsTest, ABucketOutageLeavesRecentQueriesWhole) {
  Record(5, Options(dir_ / "recorder"));
  ReopenWithLookBack(std::chrono::hours(2));
  ASSERT_LT(recorder_->SealedShards().size(), 5u);
  const TimeRange recent{kT0 + 4 * kHour, kT0 + 5 * kHour};
  const std::string history = HistoryText(*recorder_, "p3", recent, true);
  const std::string timeline = TimelineText(*recorder_, recent);
  ASSERT_FALSE(history.empty());
  bucket_.inner.SetAvailable(false);
  auto cache = Cache();
  RemoteShards remote(&bucket_, cache.get(), Remote());
  Attach(*recorder_, remote);
  EXPECT_EQ(HistoryText(*recorder_, "p3", recent, true), history);
  EXPECT_EQ(TimelineText(*recorder_, recent), timeline);
  EXPECT_EQ(bucket_.inner.Requests(MemoryBucket::Op::kList), 0u) << "local times never list it";
  // Times only the bucket holds, never listed: said so, not answered as if there were none.
  const TimeRange old{kT0, kT0 + kHour};
  auto r = recorder_->History(ResourceKeyView{"Pod", "ns", "p3", ""}, old, false,
                              [](const RecordView&) { return true; });
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find("s3://test"), std::string::npos) << r.error().message;
  TimelineQuery q;
  q.range = old;
  EXPECT_FALSE(recorder_->Timeline(q).has_value());
  EXPECT_TRUE(recorder_->Kinds(old).empty()) << "none known here, and no failure";
  EXPECT_EQ(remote.known(), 0u);
  // Back: the next query lists it and reads the old times from it.
  bucket_.inner.SetAvailable(true);
  EXPECT_NE(HistoryText(*recorder_, "p3", old, false), "");
  EXPECT_GT(remote.known(), 0u);
}

TEST_F(RemoteShardsTest, OpenShardsAreBoundedAndClosedLeastRecentlyUsedFirst) {
  Record(5, Options(dir_ / "recorder"));
  auto cache = Cache();
  RemoteShardsOptions ro = Remote();
  ro.max_open = 2;
  RemoteShards remote(&bucket_, cache.get(), ro);
  auto listed = remote.ShardsBefore(INT64_MAX, {});
  ASSERT_TRUE(listed.has_value()) << listed.error().ToString();
  const auto& shards = *listed;
  ASSERT_EQ(shards.size(), 5u);
  for (const auto& s : shards) {
    ASSERT_TRUE(dynamic_cast<const RemoteShard*>(s.get())->Opened().has_value());
  }
  size_t open = 0;
  for (const auto& s : shards) open += dynamic_cast<const RemoteShard*>(s.get())->is_open();
  EXPECT_EQ(open, 2u);
  EXPECT_TRUE(dynamic_cast<const RemoteShard*>(shards.back().get())->is_open());
  // Local ids are left out, and so are shards that end after the horizon.
  EXPECT_EQ(remote.ShardsBefore(INT64_MAX, {shards[0]->info().id})->size(), 4u);
  EXPECT_EQ(remote.ShardsBefore(shards[1]->info().window_end_ns, {})->size(), 2u);
}

TEST_F(RemoteShardsTest, ClustersSharingOneLimitKeepThatManyOpenInAll) {
  Record(3, Options(dir_ / "recorder"));
  auto cache = Cache();
  auto limit = std::make_shared<OpenShardLimit>(2);
  RemoteShardsOptions ro = Remote();
  ro.open_limit = limit;
  // Two readers of the bucket (a gateway's clusters; the same shards here) under one limit.
  RemoteShards first(&bucket_, cache.get(), ro), second(&bucket_, cache.get(), ro);
  auto a = first.ShardsBefore(INT64_MAX, {});
  auto b = second.ShardsBefore(INT64_MAX, {});
  ASSERT_TRUE(a.has_value() && b.has_value());
  ASSERT_EQ(a->size(), 3u);
  auto open_of = [](const std::vector<std::shared_ptr<const Shard>>& shards) {
    size_t n = 0;
    for (const auto& s : shards) n += dynamic_cast<const RemoteShard*>(s.get())->is_open();
    return n;
  };
  for (const auto& s : *a) ASSERT_TRUE(dynamic_cast<const RemoteShard*>(s.get())->Opened());
  EXPECT_EQ(open_of(*a), 2u);
  for (const auto& s : *b) ASSERT_TRUE(dynamic_cast<const RemoteShard*>(s.get())->Opened());
  EXPECT_EQ(open_of(*b), 2u);
  EXPECT_EQ(open_of(*a), 0u) << "the other cluster's were closed first";
  EXPECT_EQ(limit->open(), 2u);
}

TEST(ListClustersTest, EveryClusterUnderThePrefixOverEveryPageAndNothingElse) {
  MemoryBucket bucket(2);  // two keys or prefixes a page: the listing takes several pages
  for (const std::string key :
       {"hist/west/shards/20261120T0900Z-0000000001.json", "hist/east/shards/a.seg",
        "hist/east/shards/b.seg", "hist/north.1/shards/x.idx", "hist/bad name/shards/x.idx",
        "hist/loose-file", "other/south/shards/y.seg", "histogram/x/shards/z.seg",
        "hist/zz_9/notes.txt"}) {
    ASSERT_TRUE(bucket.PutBytes(key, "x").has_value()) << key;
  }
  for (const std::string prefix : {"hist", "/hist/", "hist/"}) {
    auto clusters = ListClusters(bucket, prefix);
    ASSERT_TRUE(clusters.has_value()) << clusters.error().ToString();
    EXPECT_EQ(*clusters, (std::vector<std::string>{"east", "north.1", "west", "zz_9"})) << prefix;
  }
  auto all = ListClusters(bucket, "");
  ASSERT_TRUE(all.has_value());
  EXPECT_EQ(*all, (std::vector<std::string>{"hist", "histogram", "other"}));
  auto none = ListClusters(bucket, "nothing/here");
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->empty());
}

}  // namespace
}  // namespace sloop::objstore
