// The object-store tier's Prometheus series (README, "Metrics"), registered on the server's
// registry and refreshed from Uploader::Stats() (and the bucket client's request counters) when
// /metrics is scraped:
//   sloop_objstore_uploaded_shards_total           shards this process uploaded and verified
//   sloop_objstore_uploaded_bytes_total            their .seg + .idx + manifest bytes
//   sloop_objstore_pending_shards                  sealed shards waiting for the bucket
//   sloop_objstore_oldest_pending_age_seconds      since the end of the oldest waiting shard
//   sloop_objstore_upload_failures_total           failed upload attempts
//   sloop_objstore_consecutive_failures            failed attempts since the last success (0: working)
//   sloop_objstore_last_upload_timestamp_seconds   when the last shard was uploaded (0: never)
//   sloop_objstore_unuploaded_shards_lost_total    shards local retention deleted before they were
//                                                  uploaded: history lost for good (alert on > 0)
//   sloop_objstore_not_uploadable_shards_total     damaged local shards given up
//   sloop_objstore_expired_shards_skipped_total    older than -object-store-retention: not uploaded
//   sloop_objstore_found_in_bucket_total           complete in the bucket already: not put again
//   sloop_objstore_bucket_shards_deleted_total     deleted by -object-store-retention
//   sloop_objstore_bucket_retention_failures_total
//   sloop_objstore_requests_total, sloop_objstore_request_errors_total,
//   sloop_objstore_request_retries_total, sloop_objstore_sent_bytes_total,
//   sloop_objstore_received_bytes_total            the bucket client's HTTP requests
// and, where queries read shards from the bucket (ObjectCacheMetrics, from ObjectCache::stats()):
//   sloop_objstore_cache_requests_total            GETs of pieces of shards (whole objects, ranges)
//   sloop_objstore_cache_fetched_bytes_total       the bytes they brought
//   sloop_objstore_cache_hits_total, sloop_objstore_cache_misses_total
//                                                  pieces read from the cache / fetched
//   sloop_objstore_cache_evictions_total           pieces removed to stay under -cache-mb
//   sloop_objstore_cache_bytes, sloop_objstore_cache_pieces, sloop_objstore_cache_limit_bytes
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>

namespace prometheus {
class Registry;
class Counter;
class Gauge;
}  // namespace prometheus

namespace sloop::objstore {

class ObjectCache;
class Uploader;

// A Prometheus counter that follows a running total read from elsewhere.
struct CounterMirror {
  prometheus::Counter* counter = nullptr;
  uint64_t last = 0;
  void Set(uint64_t v);
};

// The request counters of a bucket client (S3Client::stats()), all since the process started.
struct BucketTraffic {
  uint64_t requests = 0;
  uint64_t request_errors = 0;
  uint64_t retries = 0;
  uint64_t bytes_sent = 0;
  uint64_t bytes_received = 0;
};

class UploaderMetrics {
 public:
  // uploader and traffic must stay valid while Refresh() may be called; traffic may be empty.
  UploaderMetrics(prometheus::Registry& registry, const Uploader& uploader,
                  std::function<BucketTraffic()> traffic);
  void Refresh();

 private:
  const Uploader& uploader_;
  const std::function<BucketTraffic()> traffic_;
  std::mutex mu_;
  CounterMirror uploaded_shards_, uploaded_bytes_, failures_, lost_, not_uploadable_, expired_,
      found_, bucket_deleted_, retention_failures_, requests_, request_errors_, retries_, sent_,
      received_;
  prometheus::Gauge *pending_, *oldest_pending_age_, *consecutive_failures_, *last_upload_;
};

// The object cache's series; cache must stay valid while Refresh() may be called.
class ObjectCacheMetrics {
 public:
  ObjectCacheMetrics(prometheus::Registry& registry, const ObjectCache& cache);
  void Refresh();

 private:
  const ObjectCache& cache_;
  std::mutex mu_;
  CounterMirror requests_, fetched_bytes_, hits_, misses_, evictions_;
  prometheus::Gauge *bytes_, *pieces_, *limit_;
};

}  // namespace sloop::objstore
