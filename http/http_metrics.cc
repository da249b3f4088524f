#include "http/http_metrics.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "engine/store.h"

namespace sloop::http {

HttpMetrics::HttpMetrics(prometheus::Registry& registry)
    : requests_(prometheus::BuildCounter()
                    .Name("sloop_http_requests_total")
                    .Help("HTTP requests answered, by route (handler) and status code")
                    .Register(registry)),
      latency_(prometheus::BuildHistogram()
                   .Name("sloop_http_request_duration_seconds")
                   .Help("Time to compute an HTTP response, by route (handler) and status code")
                   .Register(registry)),
      rejected_(prometheus::BuildCounter()
                    .Name("sloop_http_connections_rejected_total")
                    .Help("Requests or connections refused by the server's limits, by reason")
                    .Register(registry)),
      open_(prometheus::BuildGauge()
                .Name("sloop_http_connections_open")
                .Help("HTTP connections currently open")
                .Register(registry)
                .Add({})) {}

void HttpMetrics::Observe(std::string_view handler, int status, double seconds) {
  Series series;
  {
    std::lock_guard lock(mu_);
    auto it = series_.find(std::pair<std::string_view, int>(handler, status));
    if (it == series_.end()) {
      // Sloop's buckets (.005 s to 60 s).
      static const prometheus::Histogram::BucketBoundaries kBuckets = {
          .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60};
      const std::map<std::string, std::string> labels = {{"handler", std::string(handler)},
                                                         {"code", std::to_string(status)}};
      it = series_
               .emplace(std::make_pair(std::string(handler), status),
                        Series{&requests_.Add(labels), &latency_.Add(labels, kBuckets)})
               .first;
    }
    series = it->second;
  }
  series.counter->Increment();
  series.histogram->Observe(seconds);
}

void HttpMetrics::ConnectionOpened() { open_.Increment(); }
void HttpMetrics::ConnectionClosed() { open_.Decrement(); }

void HttpMetrics::Rejected(std::string_view reason) {
  rejected_.Add({{"reason", std::string(reason)}}).Increment();
}

void StoreMetrics::CounterMirror::Set(uint64_t v) {
  if (v > last) counter->Increment(static_cast<double>(v - last));
  last = v;
}

StoreMetrics::StoreMetrics(prometheus::Registry& registry, const Store& store) : store_(store) {
  auto gauge = [&](const char* name, const char* help) {
    return &prometheus::BuildGauge().Name(name).Help(help).Register(registry).Add({});
  };
  auto counter = [&](const char* name, const char* help) {
    return CounterMirror{
        &prometheus::BuildCounter().Name(name).Help(help).Register(registry).Add({})};
  };
  shards_ = gauge("sloop_store_shards", "Shards in the store (sealed and active)");
  sealed_shards_ = gauge("sloop_store_sealed_shards", "Sealed (immutable) shards");
  disk_bytes_ = gauge("sloop_store_disk_bytes", "Bytes of segment and index files");
  size_mb_ = gauge("sloop_store_sizeondiskmb", "Store size on disk in MiB (Sloop's name)");
  memory_bytes_ = gauge("sloop_store_memory_bytes", "Active shard index and write buffers");
  oldest_ = gauge("sloop_store_oldest_record_timestamp_seconds", "Oldest stored record (Unix s)");
  newest_ = gauge("sloop_store_newest_record_timestamp_seconds", "Newest stored record (Unix s)");
  min_partition_age_hr_ = gauge("sloop_gc_age_of_minimum_partition_hr",
                                "Age in hours of the oldest stored record (Sloop's name)");
  max_partition_age_hr_ = gauge("sloop_gc_age_of_maximum_partition_hr",
                                "Age in hours of the newest stored record (Sloop's name)");
  records_ = counter("sloop_store_records_appended_total", "Records appended since start");
  evictions_ = counter("sloop_store_evicted_shards_total", "Shards deleted by retention");
  evicted_bytes_ = counter("sloop_store_evicted_bytes_total", "Bytes deleted by retention");
  seals_ = counter("sloop_store_seals_total", "Shards sealed");
  seal_failures_ = counter("sloop_store_seal_failures_total", "Seals that failed");
  recovered_dropped_ = counter("sloop_store_recovery_dropped_bytes_total",
                               "Bytes of torn or corrupt tails cut at start-up");
  recovered_corrupt_ =
      counter("sloop_store_recovery_corrupt_blocks_total", "Corrupt blocks found at start-up");
  corrupt_skipped_ = gauge("sloop_store_corrupt_blocks_skipped",
                           "Damaged blocks queries met and skipped in the shards held now");
  damaged_files_ =
      counter("sloop_store_damaged_files_total", "Damaged files set aside (*.damaged) at start-up");
  indexes_rebuilt_ = counter("sloop_store_indexes_rebuilt_total",
                             "Sealed shard indexes rebuilt from their segment at start-up");
}

void StoreMetrics::Refresh() {
  StoreStats s = store_.Stats();
  std::lock_guard lock(mu_);
  shards_->Set(double(s.shards));
  sealed_shards_->Set(double(s.sealed_shards));
  disk_bytes_->Set(double(s.disk_bytes));
  size_mb_->Set(double(s.disk_bytes) / (1 << 20));
  memory_bytes_->Set(double(s.memory_bytes));
  oldest_->Set(double(s.oldest_ns) / 1e9);
  newest_->Set(double(s.newest_ns) / 1e9);
  double now = double(store_.Now());
  min_partition_age_hr_->Set(s.oldest_ns ? (now - double(s.oldest_ns)) / 3.6e12 : 0);
  max_partition_age_hr_->Set(s.newest_ns ? (now - double(s.newest_ns)) / 3.6e12 : 0);
  records_.Set(s.records_appended);
  evictions_.Set(s.evictions);
  evicted_bytes_.Set(s.evicted_bytes);
  seals_.Set(s.seals);
  seal_failures_.Set(s.seal_failures);
  recovered_dropped_.Set(s.recovered_bytes_dropped);
  recovered_corrupt_.Set(s.recovered_corrupt_blocks);
  corrupt_skipped_->Set(double(s.corrupt_blocks_skipped));
  damaged_files_.Set(s.damaged_files_set_aside);
  indexes_rebuilt_.Set(s.indexes_rebuilt);
}

}  // namespace sloop::http
