// http_bench: the 1 h timeline over HTTP while ingest runs. Opens a store (one built by
// `engine_bench --keep --dir PATH`, or a small one it builds itself), keeps appending records at
// --ingest-rate on a thread, serves it with HttpServer, and drives the timeline query open-loop at
// --rate requests/s from keep-alive clients, measuring latency from each request's scheduled
// start (no coordinated omission). Optionally runs wrk (closed loop) against the same URL.
//
//   build/bench/engine_bench --days 14 --keep --dir /tmp/sloop-bench-store
//   build/bench/http_bench --dir /tmp/sloop-bench-store --rate 200 --seconds 30 [--wrk]
//   build/bench/http_bench --small          (builds 6 h of a 1,000-pod cluster itself)
//
// Prints a table, then one JSON object as its last line.
#include <httplib.h>
#include <prometheus/registry.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/fixtures.h"
#include "engine/store.h"
#include "http/compression.h"
#include "http/http_message.h"
#include "http/http_server.h"
#include "http/path_router.h"
#include "http/routes.h"

namespace {

using namespace sloop::bench;

using namespace sloop;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Pod updates spread over `pods` pods in 20 namespaces.
class PodFeed {
 public:
  explicit PodFeed(int pods) : pods_(pods), json_(ReadCompact("pod.json")) {}
  Result<void> Append(Store& store, int64_t t) {
    int i = static_cast<int>(n_++ % pods_);
    std::string name = "bench-pod-" + std::to_string(i);
    std::string ns = "ns-" + std::to_string(i % 20);
    std::string uid = "uid-" + std::to_string(i);
    std::string rv = std::to_string(n_);
    std::string json = json_;
    ReplaceAll(json, "checkout-7d9f8c6b5d-x2k4q", name);
    ReplaceAll(json, "\"shop\"", "\"" + ns + "\"");
    ReplaceAll(json, "\"48213377\"", "\"" + rv + "\"");
    RecordView r;
    r.observed_ns = t;
    r.watch_type = n_ <= uint64_t(pods_) ? WatchType::kAdded : WatchType::kModified;
    r.api_version = "v1";
    r.kind = "Pod";
    r.namespace_ = ns;
    r.name = name;
    r.uid = uid;
    r.resource_version = rv;
    r.payload = json;
    return store.Append(r);
  }

 private:
  int pods_;
  uint64_t n_ = 0;
  std::string json_;
};

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = std::min(v.size() - 1, static_cast<size_t>(p * (v.size() - 1) + 0.5));
  return v[i];
}

}  // namespace

int main(int argc, char** argv) {
  fs::path dir;
  bool small = false, run_wrk = false, keep = false;
  double rate = 200, seconds = 20, ingest_rate = 500;
  int threads = 2, clients = 16;
  std::string target = "/cluster/data?query=EventHeatMap&lookback=1h&namespace=_all&kind=_all";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "http_bench: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--dir")
      dir = next();
    else if (a == "--small")
      small = true;
    else if (a == "--rate")
      rate = std::stod(next());
    else if (a == "--seconds")
      seconds = std::stod(next());
    else if (a == "--ingest-rate")
      ingest_rate = std::stod(next());
    else if (a == "--threads")
      threads = std::stoi(next());
    else if (a == "--clients")
      clients = std::stoi(next());
    else if (a == "--target")
      target = next();
    else if (a == "--wrk")
      run_wrk = true;
    else if (a == "--keep")
      keep = true;
    else {
      std::fprintf(stderr,
                   "usage: http_bench (--dir STORE | --small) [--rate R] [--seconds S] "
                   "[--ingest-rate R] [--threads N] [--clients N] [--target URL] [--wrk] "
                   "[--keep]\n");
      return a == "--help" ? 0 : 2;
    }
  }
  if (dir.empty() && !small) {
    std::fprintf(stderr, "http_bench: give --dir (a store from engine_bench --keep) or --small\n");
    return 2;
  }
  bool own_dir = dir.empty();
  if (own_dir) dir = fs::temp_directory_path() / ("sloop-http-bench-" + std::to_string(getpid()));

  // The store's clock: simulated time continues from its newest record.
  std::atomic<int64_t> base{1795165200LL * kSec};
  const auto wall0 = Clock::now();
  auto now_ns = [&] {
    return base.load() +
           std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - wall0).count();
  };
  if (own_dir) {
    // 6 h of a 1,000-pod cluster: each pod updated every ~3 minutes.
    fs::remove_all(dir);
    StoreOptions o;
    o.root = dir;
    o.background = false;
    int64_t t = base.load();
    o.now_ns = [&t] { return t; };
    auto s = Store::Open(o);
    if (!s) {
      std::fprintf(stderr, "http_bench: %s\n", s.error().ToString().c_str());
      return 1;
    }
    PodFeed feed(1000);
    for (int64_t m = 0; m < 6 * 60; ++m) {
      for (int k = 0; k < 333; ++k) {
        t = base.load() + m * kMin + k * (kMin / 333);
        (void)feed.Append(**s, t);
      }
    }
    (void)(*s)->Close();
    base = t + kSec;
  }
  StoreOptions o;
  o.root = dir;
  o.background = true;
  o.now_ns = now_ns;
  o.max_look_back = std::chrono::hours(24 * 15);
  auto opened = Store::Open(o);
  if (!opened) {
    std::fprintf(stderr, "http_bench: %s\n", opened.error().ToString().c_str());
    return 1;
  }
  Store& store = **opened;
  StoreStats st = store.Stats();
  if (st.newest_ns) base = st.newest_ns + kSec;
  std::fprintf(stderr, "http_bench: store %s: %llu shards, %.0f MB, newest %lld\n", dir.c_str(),
               static_cast<unsigned long long>(st.shards), st.disk_bytes / 1e6,
               static_cast<long long>(st.newest_ns / kSec));

  prometheus::Registry registry;
  http::HttpOptions ho;
  ho.bind_address = "127.0.0.1";
  ho.port = 0;
  ho.threads = threads;
  ho.display_context = "cluster";
  auto router = http::MakeSloopRouter(ho, store, registry);
  http::HttpServer server(ho, *router);
  if (auto r = server.Start(); !r) {
    std::fprintf(stderr, "http_bench: %s\n", r.error().ToString().c_str());
    return 1;
  }
  const uint16_t port = server.port();

  // Ingest while serving.
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> appended{0};
  std::thread ingest([&] {
    PodFeed feed(1000);
    auto start = Clock::now();
    while (!stop) {
      double due = std::chrono::duration<double>(Clock::now() - start).count() * ingest_rate;
      while (appended < due && !stop) {
        (void)feed.Append(store, now_ns());
        ++appended;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });

  // In-process costs of one request: the engine's query, the whole handler (query + JSON), and
  // compressing its answer.
  double q_ms = 0, handler_ms = 0, gzip_ms = 0, zstd_ms = 0;
  size_t rows = 0;
  {
    constexpr int kRuns = 20;
    http::Request req;
    req.method = "GET";
    req.target = target;
    std::string why;
    http::ParseTarget(&req, &why);
    TimelineQuery q;
    q.range = {now_ns() - 3600 * kSec, now_ns()};
    std::string packed;
    http::Response res;
    auto time = [&](auto fn) {
      auto t = Clock::now();
      for (int i = 0; i < kRuns; ++i) fn();
      return std::chrono::duration<double, std::milli>(Clock::now() - t).count() / kRuns;
    };
    q_ms = time([&] { rows = store.Timeline(q)->rows.size(); });
    handler_ms = time([&] { res = router->Handle(req); });
    gzip_ms = time([&] { http::Compress("gzip", res.body, &packed); });
    zstd_ms = time([&] { http::Compress("zstd", res.body, &packed); });
  }

  // Warm-up, and the response size.
  size_t body_bytes = 0, wire_bytes = 0;
  {
    httplib::Client c("127.0.0.1", port);
    c.set_decompress(false);
    auto r = c.Get(target);
    auto rz = c.Get(target, {{"Accept-Encoding", "gzip, deflate, br"}});
    if (!r || r->status != 200 || !rz) {
      std::fprintf(stderr, "http_bench: warm-up request failed (%d)\n", r ? r->status : -1);
      return 1;
    }
    body_bytes = r->body.size();
    wire_bytes = rz->body.size();
  }

  // Open loop: request k is due at k / rate; latency counts from when it was due.
  std::mutex mu;
  std::vector<double> latencies_ms;
  std::atomic<uint64_t> next{0}, errors{0};
  const uint64_t total = static_cast<uint64_t>(rate * seconds);
  const auto t_start = Clock::now() + std::chrono::milliseconds(100);
  std::vector<std::thread> workers;
  for (int w = 0; w < clients; ++w) {
    workers.emplace_back([&] {
      httplib::Client c("127.0.0.1", port);
      c.set_keep_alive(true);
      c.set_decompress(false);
      c.set_read_timeout(30, 0);
      std::vector<double> mine;
      for (uint64_t k; (k = next++) < total;) {
        auto due = t_start + std::chrono::nanoseconds(static_cast<int64_t>(k * 1e9 / rate));
        std::this_thread::sleep_until(due);
        auto r = c.Get(target, {{"Accept-Encoding", "gzip, deflate, br"}});
        if (!r || r->status != 200) ++errors;
        mine.push_back(std::chrono::duration<double, std::milli>(Clock::now() - due).count());
      }
      std::lock_guard lock(mu);
      latencies_ms.insert(latencies_ms.end(), mine.begin(), mine.end());
    });
  }
  for (auto& w : workers) w.join();
  double elapsed = std::chrono::duration<double>(Clock::now() - t_start).count();
  double achieved = latencies_ms.size() / elapsed;
  double p50 = Percentile(latencies_ms, 0.50), p90 = Percentile(latencies_ms, 0.90);
  double p99 = Percentile(latencies_ms, 0.99), pmax = Percentile(latencies_ms, 1.0);

  std::printf("%-34s %s\n", "target", target.c_str());
  std::printf("%-34s %d\n", "server threads", threads);
  std::printf("%-34s %.0f\n", "offered requests/s", rate);
  std::printf("%-34s %.1f\n", "achieved requests/s", achieved);
  std::printf("%-34s %.0f\n", "ingest records/s (offered)", ingest_rate);
  std::printf("%-34s %llu\n", "records appended during the run",
              static_cast<unsigned long long>(appended.load()));
  std::printf("%-34s %zu / %zu\n", "response bytes (plain / gzip)", body_bytes, wire_bytes);
  std::printf("%-34s %zu\n", "timeline rows", rows);
  std::printf("%-34s %.2f / %.2f / %.2f / %.2f\n", "in-process ms: query/handler/gz/zstd", q_ms,
              handler_ms, gzip_ms, zstd_ms);
  std::printf("%-34s %.2f / %.2f / %.2f / %.2f\n", "latency ms p50 / p90 / p99 / max", p50, p90,
              p99, pmax);
  std::printf("%-34s %llu\n", "errors", static_cast<unsigned long long>(errors.load()));
  std::fflush(stdout);

  if (run_wrk) {
    std::string cmd = "wrk -t2 -c8 -d" + std::to_string(static_cast<int>(seconds)) +
                      "s --latency -H 'Accept-Encoding: gzip, deflate, br' 'http://127.0.0.1:" +
                      std::to_string(port) + target + "'";
    std::printf("\n$ %s\n", cmd.c_str());
    std::fflush(stdout);
    if (std::system(cmd.c_str()) != 0) std::fprintf(stderr, "http_bench: wrk failed\n");
  }
  stop = true;
  ingest.join();
  server.Stop();
  std::printf(
      "{\"target\":\"%s\",\"threads\":%d,\"offered_rps\":%.0f,\"achieved_rps\":%.1f,"
      "\"p50_ms\":%.2f,\"p90_ms\":%.2f,\"p99_ms\":%.2f,\"max_ms\":%.2f,\"errors\":%llu,"
      "\"ingest_records\":%llu,\"body_bytes\":%zu,\"gzip_bytes\":%zu,\"rows\":%zu,"
      "\"query_ms\":%.2f,\"handler_ms\":%.2f,\"gzip_ms\":%.2f,\"zstd_ms\":%.2f}\n",
      target.c_str(), threads, rate, achieved, p50, p90, p99, pmax,
      static_cast<unsigned long long>(errors.load()),
      static_cast<unsigned long long>(appended.load()), body_bytes, wire_bytes, rows, q_ms,
      handler_ms, gzip_ms, zstd_ms);
  opened->reset();
  if (own_dir && !keep) fs::remove_all(dir);
  return 0;
}
