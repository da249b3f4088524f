#include "objstore/uploader.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <utility>

#include "engine/store.h"
#include "index/index_reader.h"
#include "objstore/manifest.h"
#include "objstore/memory_bucket.h"
#include "objstore/shard_keys.h"
#include "objstore/upload_state.h"
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

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class UploaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("sloop-uploader-test-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    now_ = kT0;
  }
  void TearDown() override {
    uploader_.reset();
    store_.reset();
    state_.reset();
    fs::remove_all(dir_);
  }

  StoreOptions Options() {
    StoreOptions o;
    o.root = dir_ / "store";
    o.background = false;
    o.now_ns = [this] { return now_.load(); };
    o.writer.target_block_bytes = 16 * 1024;
    return o;
  }

  // The state, the store with it attached (attach: false leaves the store on its own), the
  // uploader.
  void Open(StoreOptions o, bool attach = true, UploaderOptions u = {}) {
    auto st = UploadState::Load(o.root);
    ASSERT_TRUE(st.has_value()) << st.error().ToString();
    state_ = std::move(*st);
    if (attach) UploadState::Attach(state_.get(), &o);
    o.on_sealed = [this, inner = o.on_sealed](const ShardInfo& i) {
      {
        std::lock_guard lock(sealed_mu_);
        sealed_ids_.insert(i.id);
      }
      if (inner) inner(i);
    };
    auto s = Store::Open(std::move(o));
    ASSERT_TRUE(s.has_value()) << s.error().ToString();
    store_ = std::move(*s);
    if (u.cluster.empty()) u.cluster = "prod";
    if (u.prefix.empty()) u.prefix = "sloop";
    if (!u.now_ns) u.now_ns = [this] { return now_.load(); };
    u.backoff_initial = std::chrono::milliseconds(5);
    u.backoff_max = std::chrono::milliseconds(20);
    u.poll_interval = std::chrono::milliseconds(10);
    auto up = Uploader::Create(*store_, bucket_, *state_, u);
    ASSERT_TRUE(up.has_value()) << up.error().ToString();
    uploader_ = std::move(*up);
  }
  void Close() {
    uploader_.reset();
    ASSERT_TRUE(store_->Close().has_value());
    store_.reset();
    state_.reset();
  }

  // `per_hour` pods in each hour [from, to), the same names every hour (their entries carry
  // over), then every closed window sealed. `unchanged` more pods get a record in the first
  // hour only: the shards after it carry them over with nothing new (what makes an older index
  // smaller when it is rewritten against its base).
  void Write(int from, int to, int per_hour = 20, int unchanged = 0) {
    for (int i = 0; i < unchanged; ++i) {
      now_ = kT0 + from * kHour + kMin + i * kSec;
      ASSERT_TRUE(store_
                      ->Append(mk_.Pod(now_, "ns", "q" + std::to_string(i),
                                       "v" + std::to_string(i), from * 1000 + i))
                      .has_value());
    }
    for (int h = from; h < to; ++h) {
      for (int i = 0; i < per_hour; ++i) {
        now_ = kT0 + h * kHour + i * kSec;
        ASSERT_TRUE(store_
                        ->Append(mk_.Pod(now_, "ns", "p" + std::to_string(i),
                                         "u" + std::to_string(i), h * 1000 + i))
                        .has_value());
      }
    }
    now_ = kT0 + to * kHour + kMin;
    ASSERT_TRUE(store_->Maintain().has_value());
  }

  std::string Key(const ShardInfo& i, ShardFile f, const std::string& cluster = "prod") {
    return ShardKey("sloop", cluster, i.window_start_ns, i.id, f);
  }

  std::vector<ShardInfo> Sealed() {
    std::vector<ShardInfo> out;
    for (const auto& s : store_->SealedShards()) out.push_back(s->info());
    return out;
  }

  std::set<uint64_t> SealedIds() {
    std::lock_guard lock(sealed_mu_);
    return sealed_ids_;
  }

  fs::path dir_;
  std::atomic<int64_t> now_;
  std::mutex sealed_mu_;
  std::set<uint64_t> sealed_ids_;  // every shard sealed (StoreOptions::on_sealed)
  RecordMaker mk_;
  MemoryBucket bucket_{3};  // small pages: listings go through several
  std::unique_ptr<UploadState> state_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Uploader> uploader_;
};

TEST_F(UploaderTest, EverySealedShardIsUploadedByteIdenticalWithItsManifestLast) {
  Open(Options());
  Write(0, 4, 20, 100);
  auto sealed = Sealed();
  ASSERT_EQ(sealed.size(), 4u);
  EXPECT_EQ(store_->Stats().indexes_rebased, 0u) << "no index is rebased before its upload";
  ASSERT_TRUE(uploader_->UploadPending().has_value());
  std::vector<std::string> order;
  for (const auto& s : store_->SealedShards()) {
    const ShardInfo i = s->info();
    for (ShardFile f : {ShardFile::kSegment, ShardFile::kIndex, ShardFile::kManifest}) {
      order.push_back(Key(i, f));
    }
    EXPECT_EQ(*bucket_.Get(Key(i, ShardFile::kSegment)), ReadFile(s->segment_path()));
    EXPECT_EQ(*bucket_.Get(Key(i, ShardFile::kIndex)), ReadFile(s->index_path()));
    auto m = ParseManifest(*bucket_.Get(Key(i, ShardFile::kManifest)), "m");
    ASSERT_TRUE(m.has_value()) << m.error().ToString();
    EXPECT_EQ(m->cluster, "prod");
    EXPECT_EQ(m->shard_id, i.id);
    EXPECT_EQ(m->window_start_ns, i.window_start_ns);
    EXPECT_EQ(m->window_end_ns, i.window_end_ns);
    EXPECT_EQ(m->first_record_ns, i.min_ns);
    EXPECT_EQ(m->last_record_ns, i.max_ns);
    EXPECT_EQ(m->records, i.id == sealed.front().id ? 120u : 20u);
    EXPECT_EQ(m->resources, i.resources);
    EXPECT_EQ(m->segment, (FileDigest{i.segment_bytes, Xxh3(ReadFile(s->segment_path()))}));
    EXPECT_EQ(m->index, (FileDigest{i.index_bytes, Xxh3(ReadFile(s->index_path()))}));
    EXPECT_EQ(m->segment_format, 2u);
    EXPECT_EQ(m->index_format, 3u);
    EXPECT_FALSE(m->index_made_whole);
    EXPECT_EQ(m->uploaded_at_ns, now_.load());
  }
  EXPECT_EQ(bucket_.PutOrder(), order) << "oldest shard first; .seg, .idx, then the manifest";
  auto st = uploader_->Stats();
  EXPECT_EQ(st.uploaded_shards, 4u);
  EXPECT_EQ(st.pending_shards, 0u);
  EXPECT_EQ(st.failures, 0u);
  EXPECT_GT(st.uploaded_bytes, 0u);
  EXPECT_EQ(st.last_upload_ns, now_.load());
  EXPECT_EQ(state_->size(), 4u);
  // Uploaded, the older indexes may now be rewritten against their bases.
  ASSERT_TRUE(store_->Maintain().has_value());
  EXPECT_GT(store_->Stats().indexes_rebased, 0u);
  ASSERT_TRUE(uploader_->UploadPending().has_value());
  EXPECT_EQ(bucket_.PutOrder().size(), order.size()) << "nothing uploaded twice";
}

TEST_F(UploaderTest, AnOutageLosesNothingAndTheUploadResumesInOrder) {
  Open(Options());
  bucket_.SetAvailable(false);
  Write(0, 3);
  auto r = uploader_->UploadPending();
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  auto st = uploader_->Stats();
  EXPECT_EQ(st.pending_shards, 3u);
  EXPECT_EQ(st.consecutive_failures, 1u);
  EXPECT_NE(st.last_error.find("injected failure"), std::string::npos);
  EXPECT_EQ(st.oldest_pending_age_seconds, static_cast<double>(now_ - (kT0 + kHour)) / 1e9);
  // The background thread retries with backoff while more shards are sealed.
  uploader_->Start();
  Write(3, 5);
  for (int i = 0; i < 200 && uploader_->Stats().failures < 4; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_GE(uploader_->Stats().failures, 4u) << "tried again with backoff";
  EXPECT_TRUE(bucket_.Objects().empty());
  bucket_.SetAvailable(true);
  for (int i = 0; i < 400 && uploader_->Stats().pending_shards > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  uploader_->Stop();
  st = uploader_->Stats();
  EXPECT_EQ(st.pending_shards, 0u);
  EXPECT_EQ(st.uploaded_shards, 5u);
  EXPECT_EQ(st.consecutive_failures, 0u);
  EXPECT_EQ(st.unuploaded_shards_lost, 0u);
  std::vector<std::string> order;
  for (const auto& i : Sealed()) {
    for (ShardFile f : {ShardFile::kSegment, ShardFile::kIndex, ShardFile::kManifest}) {
      order.push_back(Key(i, f));
    }
  }
  EXPECT_EQ(bucket_.PutOrder(), order);
}

// The series a recorder's /metrics shows: what waits, what failed, what went up, what was lost.
TEST_F(UploaderTest, MetricsFollowTheUploaderAndTheBucketTraffic) {
  StoreOptions o = Options();
  o.max_look_back = std::chrono::hours(2);
  bucket_.SetAvailable(false);
  Open(o);
  prometheus::Registry registry;
  BucketTraffic traffic{7, 2, 1, 1000, 300};
  UploaderMetrics metrics(registry, *uploader_, [&] { return traffic; });
  auto scrape = [&] {
    metrics.Refresh();
    return prometheus::TextSerializer().Serialize(registry.Collect());
  };
  auto value = [&](const std::string& text, const std::string& name) -> double {
    size_t at = text.find("\n" + name + " ");
    if (at == std::string::npos) return -1;
    return std::stod(text.substr(at + name.size() + 2));
  };
  Write(0, 3);
  EXPECT_FALSE(uploader_->UploadPending().has_value());
  std::string text = scrape();
  EXPECT_EQ(value(text, "sloop_objstore_pending_shards"), 3);
  EXPECT_EQ(value(text, "sloop_objstore_upload_failures_total"), 1);
  EXPECT_EQ(value(text, "sloop_objstore_consecutive_failures"), 1);
  EXPECT_EQ(value(text, "sloop_objstore_uploaded_shards_total"), 0);
  EXPECT_EQ(value(text, "sloop_objstore_last_upload_timestamp_seconds"), 0);
  EXPECT_EQ(value(text, "sloop_objstore_requests_total"), 7);
  EXPECT_EQ(value(text, "sloop_objstore_request_errors_total"), 2);
  EXPECT_EQ(value(text, "sloop_objstore_sent_bytes_total"), 1000);
  EXPECT_GT(value(text, "sloop_objstore_oldest_pending_age_seconds"), 3600);
  // The look-back deletes shards the bucket never got: the loud one counts them.
  Write(3, 6);
  const double lost = value(scrape(), "sloop_objstore_unuploaded_shards_lost_total");
  EXPECT_GT(lost, 0);
  EXPECT_EQ(lost, double(store_->Stats().unuploaded_shards_lost));
  bucket_.SetAvailable(true);
  traffic.requests = 20;
  ASSERT_TRUE(uploader_->UploadPending().has_value());
  text = scrape();
  EXPECT_EQ(value(text, "sloop_objstore_pending_shards"), 0);
  EXPECT_EQ(value(text, "sloop_objstore_consecutive_failures"), 0);
  EXPECT_EQ(value(text, "sloop_objstore_uploaded_shards_total"),
            double(uploader_->Stats().uploaded_shards));
  EXPECT_GT(value(text, "sloop_objstore_uploaded_bytes_total"), 0);
  EXPECT_EQ(value(text, "sloop_objstore_last_upload_timestamp_seconds"), double(now_) / 1e9);
  EXPECT_EQ(value(text, "sloop_objstore_requests_total"), 20) << "counters follow the totals";
  EXPECT_EQ(value(text, "sloop_objstore_unuploaded_shards_lost_total"), lost);
}

TEST_F(UploaderTest, DiskRetentionInAnOutageDeletesUploadedShardsFirstAndTheOldestPendingLast) {
  Open(Options());
  Write(0, 2, 40);
  ASSERT_TRUE(uploader_->UploadPending().has_value());
  const auto uploaded = Sealed();
  ASSERT_EQ(uploaded.size(), 2u);
  Close();
  // A small disk, and the bucket gone.
  StoreOptions o = Options();
  o.max_disk_bytes = 100 * 1024;  // room for about eight shards beside the active one
  bucket_.SetAvailable(false);
  Open(o);
  for (int h = 2; h < 14; ++h) Write(h, h + 1, 40);
  EXPECT_FALSE(uploader_->UploadPending().has_value());
  std::set<uint64_t> kept;
  for (const auto& i : Sealed()) kept.insert(i.id);
  ASSERT_FALSE(kept.empty());
  for (const auto& i : uploaded) EXPECT_FALSE(kept.contains(i.id)) << "uploaded shards go first";
  const uint64_t first_pending = uploaded.back().id + 1;
  EXPECT_TRUE(kept.contains(first_pending)) << "the oldest un-uploaded shard is the last to go";
  uint64_t lost = 0;
  for (uint64_t id : SealedIds()) lost += id >= first_pending && !kept.contains(id);
  auto ss = store_->Stats();
  EXPECT_GT(lost, 0u) << "the limit forced un-uploaded shards out";
  EXPECT_EQ(ss.unuploaded_shards_lost, lost);
  EXPECT_EQ(uploader_->Stats().unuploaded_shards_lost, lost);
  EXPECT_LE(ss.disk_bytes, o.max_disk_bytes);
  // Back again: what is left goes up, oldest first.
  bucket_.SetAvailable(true);
  ASSERT_TRUE(uploader_->UploadPending().has_value());
  EXPECT_EQ(uploader_->Stats().pending_shards, 0u);
  EXPECT_TRUE(bucket_.Contains(Key(Sealed().front(), ShardFile::kManifest)));
}

// Files of this process that are deleted but still open or mapped, whose path contains `part`.
std::vector<std::string> DeletedButHeld(const std::string& part) {
  std::vector<std::string> out;
  std::ifstream maps("/proc/self/maps");
  for (std::string line; std::getline(maps, line);) {
    if (line.find(part) != std::string::npos && line.find("(deleted)") != std::string::npos) {
      out.push_back(line);
    }
  }
  for (const auto& fd : fs::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    const std::string target = fs::read_symlink(fd.path(), ec).string();
    if (!ec && target.find(part) != std::string::npos &&
        target.find("(deleted)") != std::string::npos) {
      out.push_back(target);
    }
  }
  return out;
}

// An upload pass holds no shard but the one it uploads: shards that retention deletes while an
// earlier one goes up (a backlog after an outage) free their disk space at once, not when the
// pass ends; the pass skips them and goes on with the rest.
TEST_F(UploaderTest, AShardDeletedDuringAPassIsNotHeldOpenByIt) {
  class HookedBucket : public MemoryBucket {
   public:
    std::function<void()> on_put;
    Result<void> PutFile(const std::string& key, const std::filesystem::path& file) override {
      if (auto hook = std::exchange(on_put, nullptr)) hook();
      return MemoryBucket::PutFile(key, file);
    }
  };
  StoreOptions o = Options();
  o.max_look_back = std::chrono::hours(5);
  Open(o);
  Write(0, 6, 40);
  const auto before = Sealed();
  ASSERT_GE(before.size(), 4u);
  HookedBucket bucket;
  UploaderOptions u;
  u.cluster = "prod";
  u.prefix = "sloop";
  u.now_ns = [this] { return now_.load(); };
  auto up = Uploader::Create(*store_, bucket, *state_, u);
  ASSERT_TRUE(up.has_value()) << up.error().ToString();
  std::vector<std::string> held;
  std::set<uint64_t> deleted;
  bucket.on_put = [&] {
    // While the oldest shard goes up, time passes and retention deletes the next two.
    now_ = before[2].window_end_ns + o.max_look_back.count() + kMin;
    ASSERT_TRUE(store_->Append(mk_.Pod(now_, "ns", "late", "u-late", 99999)).has_value());
    ASSERT_TRUE(store_->Maintain().has_value());
    std::set<uint64_t> left;
    for (const auto& i : Sealed()) left.insert(i.id);
    // Every shard but the one going up that retention deleted: none is held.
    for (size_t k = 1; k < before.size(); ++k) {
      if (left.contains(before[k].id)) continue;
      deleted.insert(before[k].id);
      char name[32];
      std::snprintf(name, sizeof name, "%010llu.", static_cast<unsigned long long>(before[k].id));
      for (auto& h : DeletedButHeld(name)) held.push_back(h);
    }
  };
  ASSERT_TRUE((*up)->UploadPending().has_value());
  EXPECT_GE(deleted.size(), 2u) << "retention deleted shards after the one going up";
  EXPECT_TRUE(held.empty()) << held.size() << " deleted files held, e.g. " << held.front();
  const auto after = Sealed();
  EXPECT_FALSE(after.empty());
  for (const auto& i : after) {
    EXPECT_TRUE(bucket.Contains(Key(i, ShardFile::kManifest))) << "shard " << i.id;
  }
}

TEST_F(UploaderTest, AgeRetentionStillDeletesUnuploadedShardsAndCountsThem) {
  StoreOptions o = Options();
  o.max_look_back = std::chrono::hours(2);
  bucket_.SetAvailable(false);
  Open(o);
  Write(0, 6);
  auto ss = store_->Stats();
  EXPECT_GT(ss.evictions, 0u);
  EXPECT_EQ(ss.unuploaded_shards_lost, ss.evictions);
}

TEST_F(UploaderTest, ARestartWithItsStateUploadsNothingAgain) {
  Open(Options());
  Write(0, 3);
  ASSERT_TRUE(uploader_->UploadPending().has_value());
  Close();
  const uint64_t puts = bucket_.Requests(MemoryBucket::Op::kPut);
  const uint64_t gets = bucket_.Requests(MemoryBucket::Op::kGet);
  EXPECT_TRUE(fs::exists(dir_ / "store" / "upload-state"));
  Open(Options());
  ASSERT_TRUE(uploader_->UploadPending().has_value());
  EXPECT_EQ(bucket_.Requests(MemoryBucket::Op::kPut), puts);
  EXPECT_EQ(bucket_.Requests(MemoryBucket::Op::kGet), gets) << "not even a manifest read";
  EXPECT_EQ(uploader_->Stats().found_in_bucket, 0u);
  EXPECT_EQ(uploader_->Stats().pending_shards, 0u);
}

TEST_F(UploaderTest, ALostOrDamagedStateFileFindsTheShardsInTheBucket) {
  Open(Options());
  Write(0, 3);
  ASSERT_TRUE(uploader_->UploadPending().has_value());
  Close();
  const uint64_t puts = bucket_.Requests(MemoryBucket::Op::kPut);
  fs::remove(dir_ / "store" / "upload-state");
  Open(Options());
  ASSERT_TRUE(uploader_->UploadPending().has_value());
  EXPECT_EQ(bucket_.Requests(MemoryBucket::Op::kPut), puts);
  EXPECT_EQ(uploader_->Stats().found_in_bucket, 3u);
  EXPECT_EQ(state_->size(), 3u);
  Close();
  std::ofstream(dir_ / "store" / "upload-state", std::ios::trunc) << "sloop-upload-state 1\n1 2";
  Open(Options());
  EXPECT_TRUE(fs::exists(dir_ / "store" / "upload-state.damaged"));
  ASSERT_TRUE(uploader_->UploadPending().has_value());
  EXPECT_EQ(bucket_.Requests(MemoryBucket::Op::kPut), puts);
  EXPECT_EQ(uploader_->Stats().found_in_bucket, 3u);
  // A manifest that does not describe the local shard is replaced, not trusted.
  Close();
  fs::remove(dir_ / "store" / "upload-state");
  Open(Options());
  const ShardInfo first = Sealed().front();
  bucket_.Set(Key(first, ShardFile::kManifest), "{damaged");
  ASSERT_TRUE(uploader_->UploadPending().has_value());
  EXPECT_EQ(uploader_->Stats().found_in_bucket, 2u);
  EXPECT_EQ(uploader_->Stats().uploaded_shards, 1u);
  EXPECT_TRUE(ParseManifest(*bucket_.Get(Key(first, ShardFile::kManifest)), "m").has_value());
}

TEST_F(UploaderTest, BucketRetentionDeletesWholeShardsOfThisClusterOnly) {
  UploaderOptions u;
  u.retention = std::chrono::hours(2);
  Open(Options(), true, u);
  for (int h = 0; h < 5; ++h) {
    Write(h, h + 1);
    ASSERT_TRUE(uploader_->UploadPending().has_value());
  }
  const auto sealed = Sealed();
  ASSERT_EQ(sealed.size(), 5u);
  // Another cluster's copy of every shard, and the leftovers of a deletion that stopped.
  for (const auto& [k, v] : bucket_.Objects()) {
    std::string other = k;
    other.replace(other.find("/prod/"), 6, "/prod-b/");
    bucket_.Set(other, v);
  }
  const std::string orphan = ShardKey("sloop", "prod", kT0 - 5 * kHour, 99, ShardFile::kSegment);
  bucket_.Set(orphan, "x");
  // Now 5 h 1 min: hours 0 to 2 ended more than 2 h ago.
  ASSERT_TRUE(uploader_->ApplyRetention().has_value());
  for (size_t s = 0; s < sealed.size(); ++s) {
    for (ShardFile f : {ShardFile::kSegment, ShardFile::kIndex, ShardFile::kManifest}) {
      EXPECT_EQ(bucket_.Contains(Key(sealed[s], f)), s >= 3) << s;
      EXPECT_TRUE(bucket_.Contains(Key(sealed[s], f, "prod-b"))) << s;
    }
  }
  EXPECT_FALSE(bucket_.Contains(orphan));
  EXPECT_EQ(uploader_->Stats().bucket_shards_deleted, 4u);  // three shards and the orphan
  // A failure stops the pass and is counted; the next pass finishes the work.
  now_ = now_ + kHour;
  bucket_.FailNext(1);
  EXPECT_FALSE(uploader_->ApplyRetention().has_value());
  EXPECT_EQ(uploader_->Stats().bucket_retention_failures, 1u);
  ASSERT_TRUE(uploader_->ApplyRetention().has_value());
  EXPECT_FALSE(bucket_.Contains(Key(sealed[3], ShardFile::kManifest)));
  EXPECT_TRUE(bucket_.Contains(Key(sealed[4], ShardFile::kManifest)));
  // A shard that ended before the retention is not uploaded at all.
  Write(5, 6);
  now_ = now_ + 10 * kHour;
  ASSERT_TRUE(uploader_->UploadPending().has_value());
  EXPECT_EQ(uploader_->Stats().expired_shards_skipped, 1u);
  EXPECT_EQ(uploader_->Stats().pending_shards, 0u);
}

TEST_F(UploaderTest, ShardsWithRebasedIndexesAreUploadedReadableAlone) {
  // A store whose indexes were rewritten against their bases before any uploader existed.
  Open(Options(), /*attach=*/false);
  Write(0, 6, 20, 100);
  ASSERT_GT(store_->Stats().indexes_rebased, 0u);
  ASSERT_TRUE(uploader_->UploadPending().has_value());
  const fs::path down = dir_ / "downloaded";
  fs::create_directories(down);
  int checked = 0;
  for (const auto& s : store_->SealedShards()) {
    const ShardInfo i = s->info();
    auto m = ParseManifest(*bucket_.Get(Key(i, ShardFile::kManifest)), "m");
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(m->index_made_whole, s->base_shard_id() != 0);
    const std::string idx = *bucket_.Get(Key(i, ShardFile::kIndex));
    EXPECT_EQ(m->index, (FileDigest{idx.size(), Xxh3(idx)}));
    if (s->base_shard_id() == 0) continue;
    ++checked;
    std::ofstream(down / "x.seg", std::ios::binary) << *bucket_.Get(Key(i, ShardFile::kSegment));
    std::ofstream(down / "x.idx", std::ios::binary) << idx;
    auto alone = SealedShard::Open(down / "x.seg", down / "x.idx");  // no base to read through
    ASSERT_TRUE(alone.has_value()) << alone.error().ToString();
    EXPECT_EQ((*alone)->base_shard_id(), 0u);
    EXPECT_EQ((*alone)->info().records, i.records);
    EXPECT_EQ((*alone)->info().resources, i.resources);
    auto entries = [](const Shard& shard) {
      std::vector<std::string> out;
      shard.ForEachEntry({}, true, [&](const EntryView& e) {
        out.push_back(std::string(e.key.kind) + "/" + std::string(e.key.name) + "/" +
                      std::to_string(e.first_ns) + "/" + std::to_string(e.last_ns) + "/" +
                      std::to_string(e.record_count) + "/" + std::to_string(e.creation_ns) + "/" +
                      std::string(e.last_resource_version) + "/" + std::to_string(e.flags));
        return true;
      });
      return out;
    };
    EXPECT_EQ(entries(**alone), entries(*s));
    auto records = [](const Shard& shard) {
      std::vector<std::string> out;
      EXPECT_TRUE(shard.ForEachRecord({"Pod", "ns", "p3", ""}, [&](const RecordView& r) {
                     out.push_back(std::string(r.resource_version) + std::string(r.payload));
                     return true;
                   }).has_value());
      return out;
    };
    EXPECT_EQ(records(**alone), records(*s));
    EXPECT_EQ(records(*s).size(), 1u);
  }
  EXPECT_GT(checked, 0);
  EXPECT_FALSE(fs::exists(dir_ / "store" / "upload-index.tmp"));
}

TEST_F(UploaderTest, BadClusterNamesAreRefused) {
  auto st = UploadState::Load(dir_);
  ASSERT_TRUE(st.has_value());
  auto s = Store::Open(Options());
  ASSERT_TRUE(s.has_value());
  UploaderOptions u;
  u.cluster = "a/b";
  auto up = Uploader::Create(**s, bucket_, **st, u);
  ASSERT_FALSE(up.has_value());
  EXPECT_EQ(up.error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace sloop::objstore
