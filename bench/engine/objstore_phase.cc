#include "bench/engine/objstore_phase.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <unistd.h>
#include <vector>

#include "objstore/remote_shards.h"
#include "objstore/s3_client.h"
#include "objstore/uploader.h"
#include "tests/objstore/rgw_fixture.h"

namespace sloop::bench {

namespace {

namespace fs = std::filesystem;
using objstore::ObjectCache;
using objstore::RemoteShards;
using objstore::RemoteShardsOptions;

constexpr int64_t kSec = 1000000000LL;
constexpr int64_t kHour = 3600 * kSec;

double Ms(std::chrono::steady_clock::time_point a) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - a).count();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

double RssMb() {
  std::ifstream in("/proc/self/statm");
  long pages = 0, resident = 0;
  in >> pages >> resident;
  return resident * sysconf(_SC_PAGESIZE) / (1024.0 * 1024.0);
}

// A store that holds nothing, reading `cluster` from the bucket through a cache of its own.
struct Reader {
  std::unique_ptr<ObjectCache> cache;
  std::unique_ptr<RemoteShards> remote;
  std::unique_ptr<Store> store;
};

Result<Reader> OpenReader(objstore::ObjectStore* bucket, const fs::path& dir, int64_t now) {
  Reader r;
  auto cache = ObjectCache::Open(dir / "cache", uint64_t{1} << 30, bucket);
  if (!cache) return std::unexpected(cache.error());
  r.cache = std::move(*cache);
  RemoteShardsOptions ro;
  ro.prefix = "bench";
  ro.cluster = "c1";
  ro.display = "s3://bench";
  r.remote = std::make_unique<RemoteShards>(bucket, r.cache.get(), ro);
  StoreOptions o;
  o.root = dir / "store";
  o.background = false;
  o.read_only = false;
  o.now_ns = [now] { return now; };
  std::error_code ec;
  fs::remove_all(o.root, ec);
  auto s = Store::Open(o);
  if (!s) return std::unexpected(s.error());
  r.store = std::move(*s);
  RemoteShards* remote = r.remote.get();
  r.store->SetOlderShards([remote](int64_t before, const std::vector<uint64_t>& local) {
    return remote->ShardsBefore(before, local);
  });
  return r;
}

}  // namespace

ObjectStoreFigures RunObjectStorePhase(Store& store, objstore::UploadState& state,
                                       const fs::path& work, int64_t t_mid) {
  ObjectStoreFigures f;
  std::fprintf(stderr, "engine_bench: object store: starting a one-node Ceph RADOS Gateway\n");
  auto rgw = objstore::testing::RgwCluster::Start();
  if (!rgw) {
    f.error = rgw.error().ToString();
    return f;
  }
  auto client = objstore::S3Client::Create((*rgw)->Options("bench"));
  if (!client) {
    f.error = client.error().ToString();
    return f;
  }
  if (auto made = (*client)->CreateBucket(); !made) {
    f.error = made.error().ToString();
    return f;
  }
  objstore::UploaderOptions u;
  u.prefix = "bench";
  u.cluster = "c1";
  u.now_ns = [&store] { return store.Now(); };
  auto up = objstore::Uploader::Create(store, **client, state, u);
  if (!up) {
    f.error = up.error().ToString();
    return f;
  }
  f.shards = store.SealedShards().size();
  std::fprintf(stderr, "engine_bench: object store: uploading %llu shards\n",
               static_cast<unsigned long long>(f.shards));
  auto a = std::chrono::steady_clock::now();
  if (auto r = (*up)->UploadPending(); !r) {
    f.error = "upload: " + r.error().ToString();
    return f;
  }
  f.upload_s = Ms(a) / 1000;
  if ((*up)->Stats().pending_shards != 0) {
    f.error = "upload: " + std::to_string((*up)->Stats().pending_shards) + " shards still pending";
    return f;
  }
  up->reset();

  TimelineQuery q1;
  q1.range = {t_mid - kHour, t_mid};
  // Pods that changed in the window, to read the histories of.
  std::vector<ResourceKey> pods;
  if (auto tl = store.Timeline(q1); tl) {
    for (const auto& row : tl->rows) {
      if (row.key.kind == "Pod" && !row.changed_at.empty() && pods.size() < 16) {
        pods.emplace_back(row.key);
      }
    }
  }
  if (pods.empty()) {
    f.error = "no pod changed in the window to read the history of";
    return f;
  }
  TimelineQuery q24;
  q24.range = {t_mid - 24 * kHour, t_mid};
  auto history = [&](const Store& s, size_t i) {
    size_t n = 0;
    (void)s.History(pods[i % pods.size()].view(), q1.range, false, [&](const RecordView&) {
      ++n;
      return true;
    });
    return n;
  };
  auto local = [&](auto&& fn, int runs) {
    std::vector<double> ms;
    for (int i = 0; i < runs; ++i) {
      auto t = std::chrono::steady_clock::now();
      fn(i);
      ms.push_back(Ms(t));
    }
    return Median(ms);
  };
  f.timeline_1h_local_ms = local([&](int) { f.rows_1h = store.Timeline(q1)->rows.size(); }, 21);
  f.timeline_24h_local_ms = local([&](int) { f.rows_24h = store.Timeline(q24)->rows.size(); }, 5);
  f.history_local_ms = local([&](int i) { f.history_records = history(store, i); }, 32);

  // Cold: each run a reader with a new (empty) cache and its own listing, untimed but the first.
  std::vector<double> tl1_cold, tl24_cold, hist_cold, tl1_req, tl1_kb, hist_req, hist_kb;
  const int64_t now = store.Now();
  for (int run = 0; run < 5; ++run) {
    auto reader = OpenReader(client->get(), work / "reader", now);
    auto reader24 = OpenReader(client->get(), work / "reader24", now);
    if (!reader || !reader24) {
      f.error = (reader ? reader24 : reader).error().ToString();
      return f;
    }
    auto t = std::chrono::steady_clock::now();
    if (auto r = reader->remote->Refresh(); !r) {
      f.error = "listing: " + r.error().ToString();
      return f;
    }
    if (run == 0) f.listing_ms = Ms(t);
    auto before = reader->cache->stats();
    t = std::chrono::steady_clock::now();
    size_t rows = reader->store->Timeline(q1)->rows.size();
    tl1_cold.push_back(Ms(t));
    if (rows != f.rows_1h) {
      f.error = "the 1 h timeline from the bucket has " + std::to_string(rows) +
                " rows, the local one " + std::to_string(f.rows_1h);
      return f;
    }
    auto after = reader->cache->stats();
    tl1_req.push_back(double(after.requests - before.requests));
    tl1_kb.push_back((after.fetched_bytes - before.fetched_bytes) / 1024.0);
    before = after;
    t = std::chrono::steady_clock::now();
    history(*reader->store, run);
    hist_cold.push_back(Ms(t));
    after = reader->cache->stats();
    hist_req.push_back(double(after.requests - before.requests));
    hist_kb.push_back((after.fetched_bytes - before.fetched_bytes) / 1024.0);
    // The 24 h timeline with a cache and a listing of its own.
    if (auto r = reader24->remote->Refresh(); !r) {
      f.error = "listing: " + r.error().ToString();
      return f;
    }
    t = std::chrono::steady_clock::now();
    reader24->store->Timeline(q24);
    tl24_cold.push_back(Ms(t));
    (void)reader24->store->Close();
    if (run == 4) {
      // Warm: the same reader again.
      f.timeline_1h_warm_ms = local([&](int) { reader->store->Timeline(q1); }, 21);
      f.timeline_24h_warm_ms = local([&](int) { reader->store->Timeline(q24); }, 5);
      f.history_warm_ms = local([&](int i) { history(*reader->store, i); }, 32);
      f.cache_mb_after = reader->cache->stats().held_bytes / 1e6;
      f.rss_mb_after = RssMb();
    }
    (void)reader->store->Close();
  }
  f.timeline_1h_cold_ms = Median(tl1_cold);
  f.timeline_24h_cold_ms = Median(tl24_cold);
  f.history_cold_ms = Median(hist_cold);
  f.timeline_1h_cold_requests = Median(tl1_req);
  f.timeline_1h_cold_kb = Median(tl1_kb);
  f.history_cold_requests = Median(hist_req);
  f.history_cold_kb = Median(hist_kb);
  std::error_code ec;
  fs::remove_all(work / "reader", ec);
  fs::remove_all(work / "reader24", ec);
  return f;
}

}  // namespace sloop::bench
