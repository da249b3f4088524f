// snapshot_bench: GET /api/v1/snapshot of a large kind, called in-process through the router.
// Builds a store of --pods pods (default 10,000, in 20 namespaces): all added in the first hour,
// a tenth of them updated in each of the next two hours; the first two hours are sealed, the
// third is the active shard. Times --runs snapshots at a moment in the sealed history and at
// now (versions in the active shard, the rest carried over from sealed shards), and, for
// comparison, the same versions fetched with one Store::PayloadAt per pod.
//
//   build/bench/snapshot_bench [--pods 10000] [--runs 7] [--dir /tmp/snapshot-bench]
//
// Prints one line per measurement, then one JSON object as its last line.
#include <prometheus/registry.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "bench/fixtures.h"
#include "engine/store.h"
#include "http/http_message.h"
#include "http/path_router.h"
#include "http/routes.h"

namespace {

using namespace sloop;
using namespace sloop::bench;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr int64_t kT0 = 1795165200LL * kSec;  // 2026-11-20T09:00:00Z

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int pods = 10000, runs = 7;
  fs::path dir = fs::temp_directory_path() / ("snapshot-bench-" + std::to_string(getpid()));
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--pods"))
      pods = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--runs"))
      runs = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--dir"))
      dir = argv[i + 1];
    else {
      std::fprintf(stderr, "unknown flag %s\n", argv[i]);
      return 2;
    }
  }
  if (pods < 1 || runs < 1) {
    std::fprintf(stderr, "--pods and --runs must be at least 1\n");
    return 2;
  }
  fs::remove_all(dir);
  int64_t now = kT0 + 2 * kHour + 50 * kMin;
  StoreOptions o;
  o.root = dir;
  o.background = false;
  o.now_ns = [&] { return now; };
  auto opened = Store::Open(o);
  if (!opened) {
    std::fprintf(stderr, "%s\n", opened.error().ToString().c_str());
    return 1;
  }
  Store& store = **opened;
  const std::string pod = ReadCompact("pod.json");
  uint64_t rv = 1;
  auto append = [&](int i, int64_t t, WatchType type) {
    std::string name = "bench-pod-" + std::to_string(i);
    std::string ns = "ns-" + std::to_string(i % 20);
    std::string uid = "uid-" + std::to_string(i);
    std::string version = std::to_string(++rv);
    std::string json = pod;
    ReplaceAll(json, "checkout-7d9f8c6b5d-x2k4q", name);
    ReplaceAll(json, "\"shop\"", "\"" + ns + "\"");
    ReplaceAll(json, "\"48213377\"", "\"" + version + "\"");
    RecordView r;
    r.observed_ns = t;
    r.watch_type = type;
    r.api_version = "v1";
    r.kind = "Pod";
    r.namespace_ = ns;
    r.name = name;
    r.uid = uid;
    r.resource_version = version;
    r.payload = json;
    auto a = store.Append(r);
    if (!a) {
      std::fprintf(stderr, "%s\n", a.error().ToString().c_str());
      std::exit(1);
    }
  };
  auto built = Clock::now();
  for (int i = 0; i < pods; ++i) append(i, kT0 + int64_t(i) * 30 * kMin / pods, WatchType::kAdded);
  for (int hour = 1; hour <= 2; ++hour) {
    for (int i = hour; i < pods; i += 10) {
      append(i, kT0 + hour * kHour + int64_t(i) * 30 * kMin / pods, WatchType::kModified);
    }
  }
  if (auto m = store.Maintain(); !m) {
    std::fprintf(stderr, "%s\n", m.error().ToString().c_str());
    return 1;
  }
  double build_s = std::chrono::duration<double>(Clock::now() - built).count();
  std::printf("store: %d pods, %zu shards, built in %.1f s\n", pods, store.Shards().size(),
              build_s);

  http::HttpOptions options;
  options.display_context = "bench";
  prometheus::Registry registry;
  auto router = http::MakeSloopRouter(options, store, registry);
  auto time_snapshot = [&](const std::string& query, size_t* rows) {
    std::vector<double> ms;
    for (int r = 0; r < runs; ++r) {
      http::Request req;
      req.method = "GET";
      req.target = "/api/v1/snapshot?" + query;
      std::string why;
      http::ParseTarget(&req, &why);
      auto start = Clock::now();
      http::Response resp = router->Handle(req);
      ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
      if (resp.status != 200) {
        std::fprintf(stderr, "%d %s\n", resp.status, resp.body.substr(0, 300).c_str());
        std::exit(1);
      }
      size_t n = 0;
      for (size_t pos = 0; (pos = resp.body.find("\"version_time\"", pos)) != std::string::npos;
           ++pos) {
        ++n;
      }
      *rows = n;
    }
    return Median(ms);
  };
  size_t rows_sealed = 0, rows_now = 0;
  double sealed_ms = time_snapshot("kind=Pod&limit=100000&at=2026-11-20T10:45:00Z", &rows_sealed);
  std::printf("snapshot in the sealed history (10:45): %zu rows, median %.1f ms of %d\n",
              rows_sealed, sealed_ms, runs);
  double now_ms = time_snapshot("kind=Pod&limit=100000", &rows_now);
  std::printf("snapshot now (active shard + carried): %zu rows, median %.1f ms of %d\n", rows_now,
              now_ms, runs);

  // The changes of the last two hours: 2,000 pods updated (their versions read in bulk with the
  // one in force at the start, compared, and left out: only resourceVersion differs).
  std::vector<double> changes_ms;
  size_t changes_bytes = 0;
  for (int r = 0; r < runs; ++r) {
    http::Request req;
    req.method = "GET";
    req.target = "/api/v1/changes?lookback=2h&limit=100000";
    std::string why;
    http::ParseTarget(&req, &why);
    auto start = Clock::now();
    http::Response resp = router->Handle(req);
    changes_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    if (resp.status != 200) {
      std::fprintf(stderr, "%d %s\n", resp.status, resp.body.substr(0, 300).c_str());
      return 1;
    }
    changes_bytes = resp.body.size();
  }
  double changes_median = Median(changes_ms);
  std::printf("changes over 2 h (%d pods updated): %zu bytes, median %.1f ms of %d\n", pods / 5,
              changes_bytes, changes_median, runs);

  // The same versions one PayloadAt at a time: what the bulk read saves.
  auto start = Clock::now();
  size_t found = 0;
  for (int i = 0; i < pods; ++i) {
    std::string name = "bench-pod-" + std::to_string(i);
    std::string ns = "ns-" + std::to_string(i % 20);
    std::string uid = "uid-" + std::to_string(i);
    auto r = store.PayloadAt(ResourceKeyView{"Pod", ns, name, uid}, kT0 + kHour + 45 * kMin);
    if (r && *r) ++found;
  }
  double payload_at_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  std::printf("%d PayloadAt calls (10:45, once): %zu found, %.1f ms\n", pods, found, payload_at_ms);
  std::printf(
      "{\"pods\":%d,\"runs\":%d,\"snapshot_sealed_median_ms\":%.1f,\"snapshot_now_median_ms\":%.1f,"
      "\"rows_sealed\":%zu,\"rows_now\":%zu,\"payload_at_loop_ms\":%.1f,\"changes_median_ms\":%.1f}"
      "\n",
      pods, runs, sealed_ms, now_ms, rows_sealed, rows_now, payload_at_ms, changes_median);
  opened->reset();
  fs::remove_all(dir);
  return rows_sealed == size_t(pods) && rows_now == size_t(pods) ? 0 : 1;
}
