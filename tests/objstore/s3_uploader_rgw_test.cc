// The whole upload path against a real S3 server: a Store's sealed shards uploaded by the
// Uploader through S3Client into Ceph's RADOS Gateway (tests/objstore/rgw_fixture.h), verified
// object by object, through a gateway outage that starts in the middle of a shard. Label
// objectstore.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <thread>

#include "engine/store.h"
#include "objstore/manifest.h"
#include "objstore/s3_client.h"
#include "objstore/shard_keys.h"
#include "objstore/upload_state.h"
#include "objstore/uploader.h"
#include "tests/engine/record_maker.h"
#include "tests/objstore/rgw_fixture.h"

namespace sloop::objstore {
namespace {

namespace fs = std::filesystem;
using sloop::testing::RecordMaker;
using testing::RgwCluster;

constexpr int64_t kSec = 1000000000LL;
constexpr int64_t kMin = 60 * kSec;
constexpr int64_t kHour = 60 * kMin;
constexpr int64_t kT0 = 1795165200LL * kSec;  // 2026-11-20T09:00:00Z

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The S3 client, with the keys whose puts succeeded in their order, and a hook after each.
class Recording : public ObjectStore {
 public:
  explicit Recording(ObjectStore& inner) : inner_(inner) {}
  Result<void> PutFile(const std::string& key, const fs::path& file) override {
    return Note(key, inner_.PutFile(key, file));
  }
  Result<void> PutBytes(const std::string& key, std::string_view bytes) override {
    return Note(key, inner_.PutBytes(key, bytes));
  }
  Result<ObjectInfo> Head(const std::string& key) override { return inner_.Head(key); }
  Result<std::string> Get(const std::string& key, uint64_t offset,
                          std::optional<uint64_t> length) override {
    return inner_.Get(key, offset, length);
  }
  Result<void> Delete(const std::string& key) override { return inner_.Delete(key); }
  Result<ListPage> List(const std::string& prefix, const std::string& delimiter,
                        const std::string& token) override {
    return inner_.List(prefix, delimiter, token);
  }
  std::vector<std::string> PutOrder() {
    std::lock_guard lock(mu_);
    return order_;
  }
  std::function<void(const std::string& key)> after_put;

 private:
  Result<void> Note(const std::string& key, Result<void> r) {
    if (r) {
      std::lock_guard lock(mu_);
      order_.push_back(key);
    }
    if (r && after_put) after_put(key);
    return r;
  }
  ObjectStore& inner_;
  std::mutex mu_;
  std::vector<std::string> order_;
};

class S3UploaderRgwTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto c = RgwCluster::Start();
    ASSERT_TRUE(c.has_value()) << c.error().ToString();
    cluster_ = std::move(*c);
  }
  static void TearDownTestSuite() { cluster_.reset(); }

  void SetUp() override {
    ASSERT_NE(cluster_, nullptr) << "the RGW cluster did not start";
    // A bucket of each test's own (one process may run several on one cluster).
    static int n = 0;
    S3Options o = cluster_->Options("sloop-upload-" + std::to_string(++n));
    o.retries = 1;
    auto c = S3Client::Create(o);
    ASSERT_TRUE(c.has_value()) << c.error().ToString();
    client_ = std::move(*c);
    ASSERT_TRUE(client_->CreateBucket().has_value());
    bucket_ = std::make_unique<Recording>(*client_);
    dir_ = fs::temp_directory_path() / ("sloop-s3-uploader-" + std::to_string(getpid()));
    fs::remove_all(dir_);
    now_ = kT0;

    StoreOptions so;
    so.root = dir_ / "store";
    so.background = false;
    so.now_ns = [this] { return now_.load(); };
    so.writer.target_block_bytes = 16 * 1024;
    auto st = UploadState::Load(so.root);
    ASSERT_TRUE(st.has_value()) << st.error().ToString();
    state_ = std::move(*st);
    UploadState::Attach(state_.get(), &so);
    auto s = Store::Open(std::move(so));
    ASSERT_TRUE(s.has_value()) << s.error().ToString();
    store_ = std::move(*s);
    UploaderOptions u;
    u.prefix = "sloop";
    u.cluster = "prod";
    u.now_ns = [this] { return now_.load(); };
    u.backoff_initial = std::chrono::milliseconds(50);
    u.backoff_max = std::chrono::milliseconds(200);
    u.poll_interval = std::chrono::milliseconds(50);
    auto up = Uploader::Create(*store_, *bucket_, *state_, u);
    ASSERT_TRUE(up.has_value()) << up.error().ToString();
    uploader_ = std::move(*up);
  }
  void TearDown() override {
    uploader_.reset();
    if (store_) (void)store_->Close();
    store_.reset();
    state_.reset();
    fs::remove_all(dir_);
  }

  // 200 pods each hour in [from, to), then every closed window sealed.
  void Write(int from, int to) {
    for (int h = from; h < to; ++h) {
      for (int i = 0; i < 200; ++i) {
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

  std::string Key(const ShardInfo& i, ShardFile f) {
    return ShardKey("sloop", "prod", i.window_start_ns, i.id, f);
  }

  // Every sealed shard is in the bucket: .seg and .idx byte for byte, the manifest describing
  // them; the puts went shard by shard, oldest first, manifest last; nothing else is there.
  void ExpectAllUploaded(size_t shards) {
    const auto sealed = store_->SealedShards();
    ASSERT_EQ(sealed.size(), shards);
    std::vector<std::string> manifests, want_manifests, keys;
    for (const auto& s : sealed) {
      const ShardInfo i = s->info();
      const std::string seg = ReadFile(s->segment_path()), idx = ReadFile(s->index_path());
      auto got_seg = client_->Get(Key(i, ShardFile::kSegment));
      ASSERT_TRUE(got_seg.has_value()) << got_seg.error().ToString();
      EXPECT_EQ(*got_seg, seg) << Key(i, ShardFile::kSegment);
      auto got_idx = client_->Get(Key(i, ShardFile::kIndex));
      ASSERT_TRUE(got_idx.has_value()) << got_idx.error().ToString();
      auto json = client_->Get(Key(i, ShardFile::kManifest));
      ASSERT_TRUE(json.has_value()) << json.error().ToString();
      auto m = ParseManifest(*json, Key(i, ShardFile::kManifest));
      ASSERT_TRUE(m.has_value()) << m.error().ToString();
      EXPECT_EQ(m->shard_id, i.id);
      EXPECT_EQ(m->segment, (FileDigest{seg.size(), Xxh3(seg)}));
      EXPECT_EQ(m->index, (FileDigest{got_idx->size(), Xxh3(*got_idx)}));
      // Once uploaded, a local index may be rewritten against the next shard's; the one in the
      // bucket is the whole one that was uploaded.
      if (!m->index_made_whole && idx.size() == got_idx->size()) {
        EXPECT_EQ(*got_idx, idx);
      }
      for (ShardFile f : {ShardFile::kSegment, ShardFile::kIndex, ShardFile::kManifest}) {
        keys.push_back(Key(i, f));
      }
      want_manifests.push_back(Key(i, ShardFile::kManifest));
    }
    std::vector<std::string> order = bucket_->PutOrder();
    for (const auto& k : order) {
      if (k.ends_with(".json")) manifests.push_back(k);
    }
    EXPECT_EQ(manifests, want_manifests) << "manifests in shard order, each once";
    for (size_t n = 0; n < keys.size(); n += 3) {
      // Each shard's manifest after its .seg and .idx (their last successful puts).
      auto last = [&](const std::string& k) {
        return std::find(order.rbegin(), order.rend(), k) - order.rbegin();
      };
      EXPECT_GT(last(keys[n]), last(keys[n + 2])) << keys[n];
      EXPECT_GT(last(keys[n + 1]), last(keys[n + 2])) << keys[n + 1];
    }
    // The listing (in pages of a few keys: the gateway's limit) holds exactly these.
    std::vector<std::string> listed;
    std::string token;
    do {
      auto p = client_->List(ClusterShardsPrefix("sloop", "prod"), "", token);
      ASSERT_TRUE(p.has_value()) << p.error().ToString();
      for (const auto& o : p->objects) listed.push_back(o.key);
      token = p->next_token;
    } while (!token.empty());
    std::sort(keys.begin(), keys.end());
    EXPECT_EQ(listed, keys);
  }

  static inline std::unique_ptr<RgwCluster> cluster_;
  std::unique_ptr<S3Client> client_;
  std::unique_ptr<Recording> bucket_;
  fs::path dir_;
  std::atomic<int64_t> now_;
  RecordMaker mk_;
  std::unique_ptr<UploadState> state_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Uploader> uploader_;
};

TEST_F(S3UploaderRgwTest, EverySealedShardIsInTheBucketVerified) {
  Write(0, 4);
  auto r = uploader_->UploadPending();
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  ExpectAllUploaded(4);
  auto st = uploader_->Stats();
  EXPECT_EQ(st.uploaded_shards, 4u);
  EXPECT_EQ(st.failures, 0u);
  EXPECT_EQ(client_->stats().retries, 0u);
  // A lost upload state: the shards are found in the bucket by their manifests, not put again.
  const size_t puts = bucket_->PutOrder().size();
  ASSERT_TRUE(uploader_->UploadPending().has_value());
  EXPECT_EQ(bucket_->PutOrder().size(), puts) << "nothing uploaded twice";
}

TEST_F(S3UploaderRgwTest, AnOutageInTheMiddleOfAShardLosesNothing) {
  Write(0, 2);
  ASSERT_TRUE(uploader_->UploadPending().has_value());
  Write(2, 5);
  // The gateway goes right after the third shard's segment is in the bucket.
  std::atomic<bool> stopped{false};
  const std::string third_seg = Key(store_->SealedShards()[2]->info(), ShardFile::kSegment);
  bucket_->after_put = [&](const std::string& key) {
    if (key == third_seg && !stopped.exchange(true)) {
      auto s = cluster_->StopGateway();
      ASSERT_TRUE(s.has_value()) << s.error().ToString();
    }
  };
  auto r = uploader_->UploadPending();
  ASSERT_TRUE(stopped.load());
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable) << r.error().ToString();
  EXPECT_EQ(uploader_->Stats().pending_shards, 3u);
  // The background thread keeps trying with backoff while the gateway is down, and more
  // shards are sealed meanwhile.
  uploader_->Start();
  Write(5, 6);
  for (int i = 0; i < 100 && uploader_->Stats().failures < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_GE(uploader_->Stats().failures, 3u);
  auto s = cluster_->StartGateway();
  ASSERT_TRUE(s.has_value()) << s.error().ToString();
  for (int i = 0; i < 400 && uploader_->Stats().pending_shards > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  uploader_->Stop();
  auto st = uploader_->Stats();
  EXPECT_EQ(st.pending_shards, 0u) << st.last_error;
  EXPECT_EQ(st.consecutive_failures, 0u);
  EXPECT_EQ(st.unuploaded_shards_lost, 0u);
  ExpectAllUploaded(6);
}

// Two recorders (two clusters) uploading into one bucket and prefix at the same time: each
// cluster's listing holds its own shards only, and one's bucket retention leaves the other's.
TEST_F(S3UploaderRgwTest, TwoClustersShareABucketWithoutTouchingEachOther) {
  const fs::path west_root = dir_ / "west";
  std::atomic<int64_t> west_now{kT0};
  StoreOptions so;
  so.root = west_root;
  so.background = false;
  so.now_ns = [&] { return west_now.load(); };
  so.writer.target_block_bytes = 16 * 1024;
  auto wst = UploadState::Load(so.root);
  ASSERT_TRUE(wst.has_value()) << wst.error().ToString();
  UploadState::Attach(wst->get(), &so);
  auto west = Store::Open(std::move(so));
  ASSERT_TRUE(west.has_value()) << west.error().ToString();
  UploaderOptions u;
  u.prefix = "sloop";
  u.cluster = "prod-b";  // shares "prod" as a string prefix: listings must still not mix
  u.now_ns = [&] { return west_now.load(); };
  u.poll_interval = std::chrono::milliseconds(50);
  auto west_up = Uploader::Create(**west, *client_, **wst, u);
  ASSERT_TRUE(west_up.has_value()) << west_up.error().ToString();

  // Both write and upload at once, from their own threads.
  RecordMaker west_mk;
  std::thread other([&] {
    for (int h = 0; h < 3; ++h) {
      for (int i = 0; i < 150; ++i) {
        west_now = kT0 + h * kHour + i * kSec;
        ASSERT_TRUE((*west)
                        ->Append(west_mk.Pod(west_now, "ns", "w" + std::to_string(i),
                                         "wu" + std::to_string(i), h * 1000 + i))
                        .has_value());
      }
    }
    west_now = kT0 + 3 * kHour + kMin;
    ASSERT_TRUE((*west)->Maintain().has_value());
    ASSERT_TRUE((*west_up)->UploadPending().has_value());
  });
  Write(0, 4);
  ASSERT_TRUE(uploader_->UploadPending().has_value());
  other.join();
  ExpectAllUploaded(4);  // exactly prod's keys under prod's prefix
  auto list = [&](const std::string& cluster) {
    std::vector<std::string> keys;
    std::string token;
    do {
      auto p = client_->List(ClusterShardsPrefix("sloop", cluster), "", token);
      EXPECT_TRUE(p.has_value()) << p.error().ToString();
      if (!p) break;
      for (const auto& o : p->objects) keys.push_back(o.key);
      token = p->next_token;
    } while (!token.empty());
    return keys;
  };
  const auto west_keys = list("prod-b");
  ASSERT_EQ(west_keys.size(), 3u * 3);
  for (const auto& k : west_keys) {
    if (!k.ends_with(".json")) continue;
    auto json = client_->Get(k);
    ASSERT_TRUE(json.has_value());
    auto m = ParseManifest(*json, k);
    ASSERT_TRUE(m.has_value()) << m.error().ToString();
    EXPECT_EQ(m->cluster, "prod-b");
  }
  // prod's retention (two hours, with prod's clock at hour 6) deletes prod's old shards only.
  UploaderOptions pr;
  pr.prefix = "sloop";
  pr.cluster = "prod";
  pr.retention = std::chrono::hours(2);
  pr.now_ns = [] { return kT0 + 6 * kHour; };
  auto prod_retention = Uploader::Create(*store_, *client_, *state_, pr);
  ASSERT_TRUE(prod_retention.has_value());
  ASSERT_TRUE((*prod_retention)->ApplyRetention().has_value());
  EXPECT_LT(list("prod").size(), 4u * 3) << "prod's oldest shards are gone";
  EXPECT_EQ(list("prod-b"), west_keys) << "prod-b's are all there";
  west_up->reset();
  ASSERT_TRUE((*west)->Close().has_value());
}

}  // namespace
}  // namespace sloop::objstore
