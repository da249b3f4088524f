// Sloop's metrics, by name, type and labels, on /metrics: what its dashboards and alerts query
// (docs/migrating-from-sloop.md lists every one, and which have no meaning here).
#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "engine/store.h"
#include "http/http_message.h"
#include "http/http_metrics.h"
#include "http/path_router.h"
#include "http/routes.h"
#include "ingest/ingest_metrics.h"
#include "tests/engine/record_maker.h"

namespace sloop::http {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kSec = 1000000000LL;
constexpr int64_t kT0 = 1795165200LL * kSec;

// One exposition: family → type, and the label sets of its samples.
struct Exposition {
  std::map<std::string, std::string> types;
  std::map<std::string, std::vector<std::map<std::string, std::string>>> samples;

  explicit Exposition(const std::string& text) {
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
      if (line.starts_with("# TYPE ")) {
        std::istringstream t(line.substr(7));
        std::string name, type;
        t >> name >> type;
        types[name] = type;
        continue;
      }
      if (line.empty() || line[0] == '#') continue;
      size_t brace = line.find('{'), space = line.find(' ');
      std::string name = line.substr(0, std::min(brace, space));
      std::map<std::string, std::string> labels;
      if (brace < space) {
        size_t end = line.find("} ", brace);
        std::string body = line.substr(brace + 1, end - brace - 1);
        size_t pos = 0;
        while (pos < body.size()) {
          size_t eq = body.find("=\"", pos);
          size_t close = body.find('"', eq + 2);
          while (close != std::string::npos && body[close - 1] == '\\')
            close = body.find('"', close + 1);
          labels[body.substr(pos, eq - pos)] = body.substr(eq + 2, close - eq - 2);
          pos = close + 2;
        }
      }
      samples[name].push_back(std::move(labels));
    }
  }
  std::set<std::string> LabelNames(const std::string& name) const {
    std::set<std::string> out;
    auto it = samples.find(name);
    if (it == samples.end()) return out;
    for (const auto& s : it->second)
      for (const auto& [k, v] : s) out.insert(k);
    return out;
  }
};

class SloopMetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("sloop-metrics-" + std::to_string(getpid()));
    fs::remove_all(dir_);
    StoreOptions o;
    o.root = dir_;
    o.background = false;
    o.now_ns = [] { return kT0 + 600 * kSec; };
    store_ = std::move(*Store::Open(o));
    ingest_ = std::make_unique<ingest::IngestMetrics>(registry_, /*granular_events=*/true);
    options_.display_context = "prod";
    options_.enable_user_metrics = true;
    options_.user_metrics_headers = {{"team", {"X-Team", "X-Group"}}};
    router_ = MakeSloopRouter(options_, *store_, registry_);
  }
  void TearDown() override {
    router_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }
  Response Get(std::string target, std::vector<std::pair<std::string, std::string>> headers = {}) {
    Request req;
    req.method = "GET";
    req.target = std::move(target);
    req.headers = std::move(headers);
    std::string why;
    EXPECT_TRUE(ParseTarget(&req, &why)) << why;
    return router_->Handle(req);
  }

  fs::path dir_;
  prometheus::Registry registry_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<ingest::IngestMetrics> ingest_;
  HttpOptions options_;
  std::unique_ptr<Router> router_;
  testing::RecordMaker mk_;
};

TEST_F(SloopMetricsTest, SloopsMetricsAreExportedWithItsNamesTypesAndLabels) {
  // Records through the ingest layer's counting (what TypeRecorder calls when the store took one).
  auto& pods = ingest_->For("Pod", "");
  RecordView added = mk_.Pod(kT0, "shop", "web", "u1", 1, WatchType::kAdded);
  ASSERT_TRUE(store_->Append(added));
  pods.Stored(added);
  RecordView inferred = mk_.Pod(kT0 + kSec, "shop", "web", "u1", 2, WatchType::kDeletedInferred);
  pods.Stored(inferred);
  pods.StoreFailed();
  auto& events = ingest_->For("Event", "");
  RecordView ev = mk_.Event(kT0, "shop", "web.1", "Pod", "web", "u1", "BackOff", true, 1, kT0, 3,
                            WatchType::kAdded);
  events.Stored(ev);
  ingest::ResourceType crd;
  crd.group = "example.com";
  crd.kind = "Widget";
  crd.version = "v1";
  crd.is_crd = true;
  ingest_->Watching(crd, true);
  ingest_->For("Widget", "example.com").Error("network");
  ASSERT_TRUE(store_->Maintain());
  ASSERT_EQ(Get("/prod/data?query=Kinds&lookback=1h", {{"x-team", "blue"}}).status, 200);
  // Pages that do not exist make no user_requests series: a client sending random paths would
  // otherwise make one each.
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(Get("/nothing-here-" + std::to_string(i) + "/at/all").status, 404);
  }

  Response r = Get("/metrics");
  ASSERT_EQ(r.status, 200);
  Exposition m(r.body);
  struct Want {
    const char* name;
    const char* type;
    std::set<std::string> labels;
  } table[] = {
      {"sloop_ingress_kubewatchcount", "counter", {"kind", "watchtype"}},
      {"sloop_ingress_kubewatchbytes", "counter", {"kind", "watchtype"}},
      {"metric_ingress_event_kubewatchcount",
       "counter",
       {"namespace", "name", "kind", "reason", "type"}},
      {"sloop_crd_informer_started", "gauge", {}},
      {"sloop_crd_informer_running", "gauge", {}},
      {"sloop_crd_informer_watch_errors", "counter", {"kind", "group", "version"}},
      {"sloop_processing_watchtable_updatecount", "counter", {}},
      {"sloop_ingestion_success_count", "counter", {}},
      {"sloop_ingestion_failure_count", "counter", {}},
      {"sloop_gc_run_count", "counter", {}},
      {"sloop_gc_success_count", "counter", {}},
      {"sloop_gc_failed_count", "counter", {}},
      {"sloop_gc_latency_sec", "gauge", {}},
      {"sloop_gc_running", "gauge", {}},
      {"sloop_size_limit_has_hit", "gauge", {}},
      {"sloop_gc_cleanup_performed", "gauge", {}},
      {"sloop_gc_deleted_num_of_keys", "gauge", {}},
      {"sloop_gc_num_of_keys_to_delete", "gauge", {}},
      {"sloop_gc_age_of_minimum_partition_hr", "gauge", {}},
      {"sloop_gc_age_of_maximum_partition_hr", "gauge", {}},
      {"sloop_total_number_of_keys", "gauge", {}},
      {"sloop_total_key_count", "gauge", {}},
      {"sloop_store_sizeondiskmb", "gauge", {}},
      {"sloop_http_requests_total", "counter", {"code", "handler"}},
      {"sloop_http_request_duration_seconds", "histogram", {"handler", "le"}},
      {"user_requests",
       "counter",
       {"cluster", "handler", "kind", "lookback", "name", "namespace", "query", "team"}},
      {"process_cpu_seconds_total", "counter", {}},
      {"process_resident_memory_bytes", "gauge", {}},
      {"process_virtual_memory_bytes", "gauge", {}},
      {"process_virtual_memory_max_bytes", "gauge", {}},
      {"process_open_fds", "gauge", {}},
      {"process_max_fds", "gauge", {}},
      {"process_start_time_seconds", "gauge", {}},
  };
  for (const Want& w : table) {
    ASSERT_TRUE(m.types.count(w.name)) << w.name << " is not exported";
    EXPECT_EQ(m.types[w.name], w.type) << w.name;
    std::string sample = w.name;
    if (std::string(w.type) == "histogram") sample += "_bucket";
    EXPECT_EQ(m.LabelNames(sample), w.labels) << w.name;
  }
  // Values that say what Sloop's say.
  auto has = [&](const std::string& name, std::map<std::string, std::string> labels) {
    for (const auto& s : m.samples[name])
      if (s == labels) return true;
    return false;
  };
  EXPECT_TRUE(has("sloop_ingress_kubewatchcount", {{"kind", "Pod"}, {"watchtype", "ADD"}}));
  EXPECT_TRUE(has("sloop_ingress_kubewatchcount", {{"kind", "Pod"}, {"watchtype", "DELETE"}}));
  EXPECT_TRUE(has("metric_ingress_event_kubewatchcount", {{"namespace", "shop"},
                                                          {"name", "web"},
                                                          {"kind", "Pod"},
                                                          {"reason", "BackOff"},
                                                          {"type", "Warning"}}));
  EXPECT_EQ(m.samples["user_requests"].size(), 1u) << "a series for a page that does not exist";
  EXPECT_TRUE(has("user_requests", {{"cluster", "prod"},
                                    {"handler", "query"},
                                    {"kind", ""},
                                    {"lookback", "1h"},
                                    {"name", ""},
                                    {"namespace", ""},
                                    {"query", "Kinds"},
                                    {"team", "blue"}}));
  // Our own names stay.
  for (const char* own : {"sloop_ingest_events_total", "sloop_store_disk_bytes",
                          "sloop_store_records_appended_total"}) {
    EXPECT_TRUE(m.types.count(own)) << own;
  }
  auto value = [&](const std::string& name) {
    std::istringstream in(r.body);
    std::string line;
    while (std::getline(in, line))
      if (line.starts_with(name + " ")) return std::stod(line.substr(name.size() + 1));
    return -1.0;
  };
  EXPECT_EQ(value("sloop_ingestion_success_count"), 3);
  EXPECT_EQ(value("sloop_ingestion_failure_count"), 1);
  EXPECT_EQ(value("sloop_processing_watchtable_updatecount"), 4);
  EXPECT_EQ(value("sloop_crd_informer_running"), 1);
  EXPECT_EQ(value("sloop_gc_run_count"), 1);
  EXPECT_EQ(value("sloop_total_key_count"), 1);
  EXPECT_GT(value("process_resident_memory_bytes"), 0);
  EXPECT_GT(value("process_start_time_seconds"), 1.5e9);
}

// user_requests takes its labels from what clients send: a value that is not UTF-8 would make
// Prometheus refuse the whole page, and every new value would add a series for good. Values are
// made valid (a '?' for each bad byte), and past kMaxUserSeries label sets new ones share one
// series labelled "_other".
TEST(SloopUserMetrics, LabelsAreValidUtf8AndTheirSetsBounded) {
  prometheus::Registry registry;
  HttpMetrics http(registry, true);
  auto series = [&] {
    std::vector<std::map<std::string, std::string>> out;
    for (const auto& f : registry.Collect()) {
      if (f.name != "user_requests") continue;
      for (const auto& m : f.metric) {
        std::map<std::string, std::string> labels;
        for (const auto& l : m.label) labels[l.name] = l.value;
        out.push_back(labels);
      }
    }
    return out;
  };
  Request bad;
  bad.path = "/prod/data";
  bad.headers = {{"user-agent", "\xff\xfe bad \xc3\xa9t\xc3"}};  // é is kept
  http.ObserveUser("query", bad);
  auto one = series();
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0]["user_agent"], "?? bad \xc3\xa9t?");

  for (size_t i = 0; i < HttpMetrics::kMaxUserSeries + 50; ++i) {
    Request r;
    r.path = "/prod/data";
    r.headers = {{"user-agent", "agent-" + std::to_string(i)}};
    http.ObserveUser("query", r);
  }
  auto all = series();
  EXPECT_EQ(all.size(), HttpMetrics::kMaxUserSeries + 1) << "the bound, and one for the rest";
  size_t other = 0;
  for (auto& labels : all) other += labels["user_agent"] == "_other";
  EXPECT_EQ(other, 1u);
}

TEST(SloopMetricsOff, GranularAndUserMetricsOnlyWhenAsked) {
  prometheus::Registry registry;
  ingest::IngestMetrics ingest(registry);
  HttpMetrics http(registry);
  testing::RecordMaker mk;
  ingest.For("Event", "")
      .Stored(mk.Event(kT0, "shop", "web.1", "Pod", "web", "u1", "BackOff", true, 1, kT0, 3,
                       WatchType::kAdded));
  Request req;
  req.path = "/prod/data";
  http.ObserveUser("query", req);
  for (const auto& f : registry.Collect()) {
    EXPECT_NE(f.name, "metric_ingress_event_kubewatchcount");
    EXPECT_NE(f.name, "user_requests");
  }
}

}  // namespace
}  // namespace sloop::http
