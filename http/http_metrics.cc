#include "http/http_metrics.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/log.h"
#include "engine/recording_log.h"
#include "engine/store.h"
#include "http/http_message.h"

namespace sloop::http {

HttpMetrics::HttpMetrics(prometheus::Registry& registry, bool user_metrics,
                         std::vector<std::pair<std::string, std::vector<std::string>>> user_rules)
    : requests_(prometheus::BuildCounter()
                    .Name("sloop_http_requests_total")
                    .Help("HTTP requests answered, by route (handler) and status code")
                    .Register(registry)),
      latency_(prometheus::BuildHistogram()
                   .Name("sloop_http_request_duration_seconds")
                   .Help("Time to compute an HTTP response, by route (handler)")
                   .Register(registry)),
      rejected_(prometheus::BuildCounter()
                    .Name("sloop_http_connections_rejected_total")
                    .Help("Requests or connections refused by the server's limits, by reason")
                    .Register(registry)),
      open_(prometheus::BuildGauge()
                .Name("sloop_http_connections_open")
                .Help("HTTP connections currently open")
                .Register(registry)
                .Add({})),
      held_(prometheus::BuildGauge()
                .Name("sloop_http_response_bytes_held")
                .Help("Bytes of answers built and not yet written to their clients "
                      "(bounded by -http-response-budget-mb)")
                .Register(registry)
                .Add({})) {
  if (!user_metrics) return;
  if (user_rules.empty()) {
    user_rules = {{"username", {"X-Username", "x-username"}}, {"user_agent", {"User-Agent"}}};
  }
  for (auto& [label, headers] : user_rules) {
    for (auto& h : headers) {
      std::transform(h.begin(), h.end(), h.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    }
    if (!label.empty() && !headers.empty()) user_rules_.emplace_back(label, headers);
  }
  user_requests_ = &prometheus::BuildCounter()
                        .Name("user_requests")
                        .Help("Counter of requests broken out by user and request information.")
                        .Register(registry);
}

namespace {

// A label value as Prometheus' text format needs it: valid UTF-8 (a scraper refuses the whole
// page over one bad byte), each invalid byte a '?', and at most max bytes.
std::string LabelValue(std::string_view v, size_t max = 256) {
  std::string out;
  out.reserve(std::min(v.size(), max));
  size_t i = 0;
  while (i < v.size()) {
    const auto c = static_cast<unsigned char>(v[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    bool ok = n > 0 && i + n <= v.size();
    for (size_t k = 1; ok && k < n; ++k) ok = (static_cast<unsigned char>(v[i + k]) >> 6) == 2;
    if (ok && n > 1) {
      // No overlong forms, surrogates or code points past U+10FFFF.
      const auto c1 = static_cast<unsigned char>(v[i + 1]);
      if (n == 2) ok = c >= 0xC2;
      if (n == 3) ok = !(c == 0xE0 && c1 < 0xA0) && !(c == 0xED && c1 >= 0xA0);
      if (n == 4) ok = c <= 0xF4 && !(c == 0xF0 && c1 < 0x90) && !(c == 0xF4 && c1 >= 0x90);
    }
    if (!ok) n = 1;
    if (out.size() + n > max) break;
    if (ok) {
      out.append(v.substr(i, n));
    } else {
      out.push_back('?');
    }
    i += n;
  }
  return out;
}

}  // namespace

void HttpMetrics::ObserveUser(std::string_view handler, const Request& req) {
  if (!user_requests_) return;
  // Sloop's built-in request labels, then the header labels; a header rule never overrides a
  // built-in label (Sloop merges the request's labels over the headers').
  std::map<std::string, std::string> labels;
  for (const auto& [label, headers] : user_rules_) {
    std::string value;
    for (const auto& h : headers) {
      std::string_view v = req.Header(h);
      if (!v.empty()) {
        value = LabelValue(v);
        break;
      }
    }
    labels[label] = std::move(value);
  }
  auto param = [&](std::string_view name) {
    auto v = req.Param(name);
    return v ? LabelValue(*v) : std::string();
  };
  std::string_view path = req.path;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  labels["handler"] = std::string(handler);
  labels["cluster"] = LabelValue(path.substr(0, std::min<size_t>(path.find('/'), 256)));
  labels["query"] = param("query");
  labels["namespace"] = param("namespace");
  labels["kind"] = param("kind");
  labels["name"] = req.Param("namematch") ? param("namematch") : param("name");
  labels["lookback"] = param("lookback");
  {
    std::lock_guard lock(mu_);
    uint64_t h = 0;
    for (const auto& [k, v] : labels) {
      h = h * 1099511628211ull ^ std::hash<std::string>()(k);
      h = h * 1099511628211ull ^ std::hash<std::string>()(v);
    }
    if (!user_series_.contains(h)) {
      if (user_series_.size() >= kMaxUserSeries) {
        // Counted, but under one series: what the client sent stays out of the labels.
        for (auto& [k, v] : labels) {
          if (k != "handler" && k != "cluster") v = "_other";
        }
        if (!user_series_full_logged_) {
          user_series_full_logged_ = true;
          LogLine("http", "warning: user_requests has " + std::to_string(kMaxUserSeries) +
                              " label sets (-enable-user-metrics): further ones are counted with "
                              "their labels \"_other\"");
        }
      } else {
        user_series_.insert(h);
      }
    }
  }
  user_requests_->Add(labels).Increment();
}

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
      // Sloop's histogram has the handler only; every status of a handler shares its series.
      it = series_
               .emplace(std::make_pair(std::string(handler), status),
                        Series{&requests_.Add(labels),
                               &latency_.Add({{"handler", std::string(handler)}}, kBuckets)})
               .first;
    }
    series = it->second;
  }
  series.counter->Increment();
  series.histogram->Observe(seconds);
}

void HttpMetrics::ConnectionOpened() { open_.Increment(); }
void HttpMetrics::ConnectionClosed() { open_.Decrement(); }

void HttpMetrics::HeldBytes(double delta) {
  if (delta >= 0) {
    held_.Increment(delta);
  } else {
    held_.Decrement(-delta);
  }
}

void HttpMetrics::Rejected(std::string_view reason) {
  rejected_.Add({{"reason", std::string(reason)}}).Increment();
}

void StoreMetrics::CounterMirror::Set(uint64_t v) {
  if (v > last) counter->Increment(static_cast<double>(v - last));
  last = v;
}

StoreMetrics::StoreMetrics(prometheus::Registry& registry, const Store& store,
                           const RecordingLog* recording_log,
                           const std::map<std::string, std::string>& labels)
    : store_(store), recording_log_(recording_log), labels_(labels) {
  if (recording_log_ != nullptr) {
    gaps_ = &prometheus::BuildCounter()
                 .Name("sloop_recording_gaps_total")
                 .Help(
                     "Recording gaps by scope: recorder (sloop was not running, or could not "
                     "read the cluster), watch (a watch cut and relisted, or down now)")
                 .Register(registry);
    for (const char* scope : {"recorder", "watch"}) {
      gap_counts_.emplace(scope, CounterMirror{&gaps_->Add(GapLabels(scope))});
    }
  }
  auto gauge = [&](const char* name, const char* help) {
    return &prometheus::BuildGauge().Name(name).Help(help).Register(registry).Add(labels);
  };
  auto counter = [&](const char* name, const char* help) {
    return CounterMirror{
        &prometheus::BuildCounter().Name(name).Help(help).Register(registry).Add(labels)};
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
  gc_runs_ = counter("sloop_gc_run_count",
                     "Store maintenance runs (seal, then retention); Sloop's "
                     "name for its GC runs");
  gc_successes_ = counter("sloop_gc_success_count", "Maintenance runs that succeeded");
  gc_failures_ = counter("sloop_gc_failed_count", "Maintenance runs that failed");
  gc_latency_ = gauge("sloop_gc_latency_sec", "Seconds the last maintenance run took");
  gc_running_ = gauge("sloop_gc_running", "1 while a maintenance run is under way");
  size_limit_hit_ =
      gauge("sloop_size_limit_has_hit", "1 when the last run found the store over its size limit");
  cleanup_performed_ = gauge("sloop_gc_cleanup_performed", "1 when the last run deleted shards");
  gc_deleted_keys_ =
      gauge("sloop_gc_deleted_num_of_keys", "Records in the shards the last run deleted");
  gc_keys_to_delete_ =
      gauge("sloop_gc_num_of_keys_to_delete", "Records the last run chose to delete");
  total_number_of_keys_ = gauge("sloop_total_number_of_keys", "Records held in the store");
  total_key_count_ = gauge("sloop_total_key_count", "Records held in the store");
}

std::map<std::string, std::string> StoreMetrics::GapLabels(const std::string& scope) const {
  auto out = labels_;
  out["scope"] = scope;
  return out;
}

void StoreMetrics::Refresh() {
  StoreStats s = store_.Stats();
  std::lock_guard lock(mu_);
  if (recording_log_ != nullptr) {
    for (const auto& [scope, n] : recording_log_->GapCounts()) {
      auto it = gap_counts_.find(scope);
      if (it == gap_counts_.end()) {
        it = gap_counts_.emplace(scope, CounterMirror{&gaps_->Add(GapLabels(scope))}).first;
      }
      it->second.Set(n);
    }
  }
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
  gc_runs_.Set(s.maintenance_runs);
  gc_successes_.Set(s.maintenance_runs - std::min(s.maintenance_runs, s.maintenance_failures));
  gc_failures_.Set(s.maintenance_failures);
  gc_latency_->Set(s.last_maintenance_seconds);
  gc_running_->Set(s.maintenance_running ? 1 : 0);
  size_limit_hit_->Set(s.last_maintenance_over_limit ? 1 : 0);
  cleanup_performed_->Set(s.last_maintenance_deleted ? 1 : 0);
  gc_deleted_keys_->Set(double(s.last_maintenance_records_deleted));
  gc_keys_to_delete_->Set(double(s.last_maintenance_records_deleted));
  total_number_of_keys_->Set(double(s.records_held));
  total_key_count_->Set(double(s.records_held));
}

namespace {

// /proc/self/stat split into fields; the command name (field 2, in parentheses, may hold spaces)
// is kept as one field.
std::vector<std::string> StatFields() {
  std::ifstream in("/proc/self/stat");
  std::string line;
  std::getline(in, line);
  std::vector<std::string> fields;
  size_t open = line.find('('), close = line.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open) return fields;
  fields.push_back(line.substr(0, open > 0 ? open - 1 : 0));
  fields.push_back(line.substr(open, close - open + 1));
  std::istringstream rest(line.substr(close + 1));
  std::string f;
  while (rest >> f) fields.push_back(f);
  return fields;
}

double Limit(rlim_t v) { return v == RLIM_INFINITY ? -1 : double(v); }

}  // namespace

std::vector<prometheus::MetricFamily> CollectProcessMetrics() {
  std::vector<prometheus::MetricFamily> out;
  auto add = [&](const char* name, const char* help, prometheus::MetricType type, double v) {
    prometheus::MetricFamily f;
    f.name = name;
    f.help = help;
    f.type = type;
    prometheus::ClientMetric m;
    if (type == prometheus::MetricType::Counter) {
      m.counter.value = v;
    } else {
      m.gauge.value = v;
    }
    f.metric.push_back(std::move(m));
    out.push_back(std::move(f));
  };
  const double ticks = double(sysconf(_SC_CLK_TCK));
  auto f = StatFields();
  auto num = [&](size_t i) { return i < f.size() ? std::strtod(f[i].c_str(), nullptr) : 0.0; };
  if (f.size() > 23) {
    add("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
        prometheus::MetricType::Counter, (num(13) + num(14)) / ticks);
    add("process_virtual_memory_bytes", "Virtual memory size in bytes.",
        prometheus::MetricType::Gauge, num(22));
    add("process_resident_memory_bytes", "Resident memory size in bytes.",
        prometheus::MetricType::Gauge, num(23) * double(sysconf(_SC_PAGESIZE)));
    // Start time: the boot time (btime in /proc/stat) plus the start in ticks (field 22).
    std::ifstream stat("/proc/stat");
    std::string key;
    double btime = 0;
    while (stat >> key) {
      if (key == "btime") {
        stat >> btime;
        break;
      }
    }
    if (btime > 0) {
      add("process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
          prometheus::MetricType::Gauge, btime + num(21) / ticks);
    }
  }
  std::error_code ec;
  size_t fds = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++fds;
  }
  if (!ec) {
    add("process_open_fds", "Number of open file descriptors.", prometheus::MetricType::Gauge,
        double(fds > 0 ? fds - 1 : 0));  // less the one that lists the directory
  }
  rlimit fd_limit{};
  if (getrlimit(RLIMIT_NOFILE, &fd_limit) == 0) {
    add("process_max_fds", "Maximum number of open file descriptors.",
        prometheus::MetricType::Gauge, Limit(fd_limit.rlim_cur));
  }
  rlimit as_limit{};
  if (getrlimit(RLIMIT_AS, &as_limit) == 0) {
    add("process_virtual_memory_max_bytes", "Maximum amount of virtual memory available in bytes.",
        prometheus::MetricType::Gauge, Limit(as_limit.rlim_cur));
  }
  return out;
}

}  // namespace sloop::http
