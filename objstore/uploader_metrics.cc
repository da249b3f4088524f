#include "objstore/uploader_metrics.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "objstore/remote_shards.h"
#include "objstore/uploader.h"

namespace sloop::objstore {

namespace {

// A series of its own (no labels) on the registry.
prometheus::Gauge* AddGauge(prometheus::Registry& registry, const char* name, const char* help) {
  return &prometheus::BuildGauge().Name(name).Help(help).Register(registry).Add({});
}
CounterMirror AddCounter(prometheus::Registry& registry, const char* name, const char* help) {
  return CounterMirror{
      &prometheus::BuildCounter().Name(name).Help(help).Register(registry).Add({})};
}

}  // namespace

void CounterMirror::Set(uint64_t v) {
  if (v > last) counter->Increment(static_cast<double>(v - last));
  last = v;
}

UploaderMetrics::UploaderMetrics(prometheus::Registry& registry, const Uploader& uploader,
                                 std::function<BucketTraffic()> traffic)
    : uploader_(uploader), traffic_(std::move(traffic)) {
  uploaded_shards_ =
      AddCounter(registry, "sloop_objstore_uploaded_shards_total",
                 "Sealed shards this process uploaded to the object store, verified");
  uploaded_bytes_ = AddCounter(registry, "sloop_objstore_uploaded_bytes_total",
                               "Bytes of the shards uploaded (segment, index and manifest)");
  failures_ =
      AddCounter(registry, "sloop_objstore_upload_failures_total", "Failed upload attempts");
  lost_ = AddCounter(registry, "sloop_objstore_unuploaded_shards_lost_total",
                     "Shards the local limits deleted before they were uploaded: history lost "
                     "for good");
  not_uploadable_ = AddCounter(registry, "sloop_objstore_not_uploadable_shards_total",
                               "Damaged local shards the uploader gave up on");
  expired_ = AddCounter(registry, "sloop_objstore_expired_shards_skipped_total",
                        "Shards older than the bucket retention, not uploaded");
  found_ = AddCounter(registry, "sloop_objstore_found_in_bucket_total",
                      "Shards found complete in the bucket already and not uploaded again");
  bucket_deleted_ = AddCounter(registry, "sloop_objstore_bucket_shards_deleted_total",
                               "Shards deleted from the bucket by its retention");
  retention_failures_ = AddCounter(registry, "sloop_objstore_bucket_retention_failures_total",
                                   "Bucket retention passes that failed");
  requests_ =
      AddCounter(registry, "sloop_objstore_requests_total", "HTTP requests to the object store");
  request_errors_ = AddCounter(registry, "sloop_objstore_request_errors_total",
                               "Object store requests that failed (after their retries)");
  retries_ =
      AddCounter(registry, "sloop_objstore_request_retries_total", "Object store requests retried");
  sent_ = AddCounter(registry, "sloop_objstore_sent_bytes_total",
                     "Request body bytes sent to the object store");
  received_ = AddCounter(registry, "sloop_objstore_received_bytes_total",
                         "Response body bytes received from the object store");
  pending_ =
      AddGauge(registry, "sloop_objstore_pending_shards", "Sealed shards waiting to be uploaded");
  oldest_pending_age_ =
      AddGauge(registry, "sloop_objstore_oldest_pending_age_seconds",
               "Seconds since the end of the oldest shard waiting to be uploaded");
  consecutive_failures_ = AddGauge(registry, "sloop_objstore_consecutive_failures",
                                   "Failed upload attempts since the last success (0: working)");
  last_upload_ = AddGauge(registry, "sloop_objstore_last_upload_timestamp_seconds",
                          "When the last shard was uploaded (Unix s; 0: never)");
}

void UploaderMetrics::Refresh() {
  UploaderStats s = uploader_.Stats();
  BucketTraffic t = traffic_ ? traffic_() : BucketTraffic{};
  std::lock_guard lock(mu_);
  uploaded_shards_.Set(s.uploaded_shards);
  uploaded_bytes_.Set(s.uploaded_bytes);
  failures_.Set(s.failures);
  lost_.Set(s.unuploaded_shards_lost);
  not_uploadable_.Set(s.not_uploadable_shards);
  expired_.Set(s.expired_shards_skipped);
  found_.Set(s.found_in_bucket);
  bucket_deleted_.Set(s.bucket_shards_deleted);
  retention_failures_.Set(s.bucket_retention_failures);
  requests_.Set(t.requests);
  request_errors_.Set(t.request_errors);
  retries_.Set(t.retries);
  sent_.Set(t.bytes_sent);
  received_.Set(t.bytes_received);
  pending_->Set(double(s.pending_shards));
  oldest_pending_age_->Set(s.oldest_pending_age_seconds);
  consecutive_failures_->Set(double(s.consecutive_failures));
  last_upload_->Set(double(s.last_upload_ns) / 1e9);
}

ObjectCacheMetrics::ObjectCacheMetrics(prometheus::Registry& registry, const ObjectCache& cache)
    : cache_(cache) {
  requests_ = AddCounter(registry, "sloop_objstore_cache_requests_total",
                         "GETs of pieces of shards the queries read from the bucket");
  fetched_bytes_ =
      AddCounter(registry, "sloop_objstore_cache_fetched_bytes_total", "Bytes those GETs brought");
  hits_ = AddCounter(registry, "sloop_objstore_cache_hits_total",
                     "Pieces of shards read from the cache");
  misses_ = AddCounter(registry, "sloop_objstore_cache_misses_total",
                       "Pieces of shards fetched from the bucket");
  evictions_ = AddCounter(registry, "sloop_objstore_cache_evictions_total",
                          "Pieces removed from the cache to stay under -cache-mb");
  bytes_ = AddGauge(registry, "sloop_objstore_cache_bytes", "Bytes in the object cache now");
  pieces_ =
      AddGauge(registry, "sloop_objstore_cache_pieces", "Pieces of shards in the object cache now");
  limit_ = AddGauge(registry, "sloop_objstore_cache_limit_bytes",
                    "The object cache's limit (-cache-mb)");
}

void ObjectCacheMetrics::Refresh() {
  ObjectCacheStats s = cache_.stats();
  std::lock_guard lock(mu_);
  requests_.Set(s.requests);
  fetched_bytes_.Set(s.fetched_bytes);
  hits_.Set(s.hits);
  misses_.Set(s.misses);
  evictions_.Set(s.evictions);
  bytes_->Set(double(s.held_bytes));
  pieces_->Set(double(s.held_pieces));
  limit_->Set(double(s.limit_bytes));
}

}  // namespace sloop::objstore
