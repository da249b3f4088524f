// Prometheus metrics of the HTTP layer, registered on a registry the caller owns:
//   sloop_http_requests_total{code,handler}       requests answered, by route label and status
//   sloop_http_request_duration_seconds{handler}  handler latency (Sloop's buckets and labels)
//   user_requests{cluster,handler,kind,lookback,name,namespace,query,+header labels}
//                                                 with -enable-user-metrics only (Sloop's)
//   process_*                                     the process collector of Prometheus clients
//   sloop_http_connections_open                        connections currently open
//   sloop_http_connections_rejected_total{reason}      closed early: limits, timeouts, bad requests
// and, refreshed from Store::Stats() at each scrape, the engine's gauges (StoreMetrics), with
//   sloop_recording_gaps_total{scope}             recording gaps: "recorder" (sloop was not
//       running, found at start; or could not read the cluster), "watch" (a watch cut and
//       relisted, or down now); from the recording log

#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace prometheus {
struct MetricFamily;
class Registry;
class Counter;
class Gauge;
class Histogram;
template <typename T>
class Family;
}  // namespace prometheus

namespace sloop {
class RecordingLog;
class Store;
}  // namespace sloop

namespace sloop::http {

struct Request;

class HttpMetrics {
 public:
  // user_metrics: count user_requests (Sloop's -enable-user-metrics) with these header rules
  // (label, headers in order of preference); empty rules mean Sloop's defaults.
  explicit HttpMetrics(
      prometheus::Registry& registry, bool user_metrics = false,
      std::vector<std::pair<std::string, std::vector<std::string>>> user_rules = {});

  void Observe(std::string_view handler, int status, double seconds);
  // One request's user_requests series (no-op unless user metrics are on).
  void ObserveUser(std::string_view handler, const Request& req);
  void ConnectionOpened();
  void ConnectionClosed();
  // reason: "header_too_large", "body_too_large", "timeout", "bad_request", "too_many",
  // "too_many_per_ip", "health_only", "queue_full", "response_budget", "tls_handshake".
  void Rejected(std::string_view reason);
  // Answers built and not yet written to their clients grew (or shrank) by this many bytes.
  void HeldBytes(double delta);

 private:
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& latency_;
  prometheus::Family<prometheus::Counter>& rejected_;
  prometheus::Gauge& open_;
  prometheus::Gauge& held_;
  std::mutex mu_;  // guards the caches below (Family::Add is slower: it hashes labels)
  struct Series {
    prometheus::Counter* counter;
    prometheus::Histogram* histogram;
  };
  struct Less {  // heterogeneous lookup by (string_view, status) without building a string
    using is_transparent = void;
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      return std::pair<std::string_view, int>(a.first, a.second) <
             std::pair<std::string_view, int>(b.first, b.second);
    }
  };
  std::map<std::pair<std::string, int>, Series, Less> series_;
  prometheus::Family<prometheus::Counter>* user_requests_ = nullptr;
  std::vector<std::pair<std::string, std::vector<std::string>>> user_rules_;  // headers lower-case
  // user_requests' label sets so far: past kMaxUserSeries, new ones are counted as "_other"
  // (every header and parameter a client sends would otherwise add a series for good).
  std::set<uint64_t> user_series_;
  bool user_series_full_logged_ = false;

 public:
  static constexpr size_t kMaxUserSeries = 10000;
};

// The process metrics every Prometheus client library exports (process_cpu_seconds_total,
// process_resident_memory_bytes, process_virtual_memory_bytes, process_virtual_memory_max_bytes,
// process_open_fds, process_max_fds, process_start_time_seconds), read from /proc/self now.
// prometheus-cpp has no such collector; /metrics appends these to the registry's families.
std::vector<prometheus::MetricFamily> CollectProcessMetrics();

// The engine's figures as gauges and counters; Refresh() copies Store::Stats() into them (call it
// right before serialising the registry).
class StoreMetrics {
 public:
  // With a recording log: sloop_recording_gaps_total{scope} too (RecordingLog::GapCounts).
  // labels go on every series (a gateway's {cluster="…"}: one StoreMetrics per store, all in
  // one registry).
  StoreMetrics(prometheus::Registry& registry, const Store& store,
               const RecordingLog* recording_log = nullptr,
               const std::map<std::string, std::string>& labels = {});
  void Refresh();

 private:
  struct CounterMirror {
    prometheus::Counter* counter;
    uint64_t last = 0;
    void Set(uint64_t v);
  };
  std::map<std::string, std::string> GapLabels(const std::string& scope) const;

  const Store& store_;
  const RecordingLog* recording_log_;
  const std::map<std::string, std::string> labels_;
  prometheus::Family<prometheus::Counter>* gaps_ = nullptr;
  std::map<std::string, CounterMirror> gap_counts_;  // by scope
  std::mutex mu_;
  prometheus::Gauge *shards_, *sealed_shards_, *disk_bytes_, *size_mb_, *memory_bytes_, *oldest_,
      *newest_, *min_partition_age_hr_, *max_partition_age_hr_, *corrupt_skipped_;
  CounterMirror records_, evictions_, evicted_bytes_, seals_, seal_failures_, recovered_dropped_,
      recovered_corrupt_, damaged_files_, indexes_rebuilt_;
  // Sloop's GC and key-count series, from the store's maintenance runs.
  CounterMirror gc_runs_, gc_successes_, gc_failures_;
  prometheus::Gauge *gc_latency_, *gc_running_, *size_limit_hit_, *cleanup_performed_,
      *gc_deleted_keys_, *gc_keys_to_delete_, *total_number_of_keys_, *total_key_count_;
};

}  // namespace sloop::http
