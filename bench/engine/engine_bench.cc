// engine_bench: builds a store of simulated cluster history through the engine's append path,
// then times the queries a person runs. Prints a table, then one JSON object as its last line.
//
//   build/bench/engine_bench            14 days of a 1,000-pod, 50-node cluster (a few GB of JSON)
//   build/bench/engine_bench --small    a few minutes of it, for a quick check
//   --days N --pods N --nodes N --dir PATH --keep   to size it or keep the store afterwards
//   --object-store   then upload it to a one-node Ceph RADOS Gateway and query it back from
//                    there, cold and warm, beside the same queries on the local store
//                    (bench/engine/objstore_phase.h; Ceph: tools/install-deps.sh --objectstore)
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "base/time_text.h"
#include "bench/engine/objstore_phase.h"
#include "bench/fixtures.h"
#include "engine/store.h"
#include "objstore/upload_state.h"

namespace {

using namespace sloop::bench;

using namespace sloop;
namespace fs = std::filesystem;

double PeakRssMb() {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024.0;
}

double CurrentRssMb() {
  std::ifstream in("/proc/self/statm");
  long pages = 0, resident = 0;
  in >> pages >> resident;
  return resident * sysconf(_SC_PAGESIZE) / (1024.0 * 1024.0);
}

// "anon 40 MB, file 12 MB": heap versus mapped files, to tell where resident memory goes.
std::string RssBreakdown() {
  std::ifstream in("/proc/self/status");
  std::string line, out;
  while (std::getline(in, line)) {
    if (line.rfind("RssAnon:", 0) == 0 || line.rfind("RssFile:", 0) == 0) {
      long kb = std::atol(line.c_str() + line.find_first_of("0123456789"));
      out +=
          (out.empty() ? "" : ", ") + line.substr(3, 4) + " " + std::to_string(kb / 1024) + " MB";
    }
  }
  return out;
}

// A simulated cluster: Deployments whose Pods roll out a few times a day, crash-looping pods with
// BackOff Events, Nodes that change now and then. Every record's JSON is a fixture object with
// its identity, resourceVersion, node, phase and timestamps rewritten.
class Workload {
 public:
  Workload(int pods, int nodes, uint64_t seed)
      : rng_(seed),
        pod_(ReadCompact("pod.json")),
        node_(ReadCompact("node.json")),
        event_(ReadCompact("event.json")),
        deploy_(ReadCompact("deployment.json")) {
    int deployments = std::max(1, pods / 20);
    for (int d = 0; d < deployments; ++d) {
      Deploy dep;
      dep.ns = "team-" + std::to_string(d % 12);
      dep.name = "svc-" + std::to_string(d);
      dep.replicas = pods / deployments;
      deploys_.push_back(dep);
    }
    for (int n = 0; n < nodes; ++n)
      node_names_.push_back("ip-10-42-" + std::to_string(n / 200) + "-" + std::to_string(n % 200) +
                            ".ec2.internal");
  }

  template <typename Sink>
  void Initial(int64_t t, Sink&& sink) {
    for (size_t n = 0; n < node_names_.size(); ++n) EmitNode(t, n, WatchType::kAdded, sink);
    for (size_t d = 0; d < deploys_.size(); ++d) {
      EmitDeploy(t, d, sink);
      for (int r = 0; r < deploys_[d].replicas; ++r) StartPod(t, d, sink);
    }
  }

  // One simulated minute of churn.
  template <typename Sink>
  void Minute(int64_t t, Sink&& sink) {
    // Rollouts: each Deployment rolls about 3 times a day.
    for (size_t d = 0; d < deploys_.size(); ++d) {
      if (rng_() % 480 == 0) {
        ++deploys_[d].generation;
        EmitDeploy(t, d, sink);
        auto& live = deploys_[d].pods;
        size_t n = live.size();
        for (size_t i = 0; i < n; ++i) {
          StopPod(t + int64_t(i) * 2 * kSec, d, live.front(), sink);
          live.pop_front();
          StartPod(t + int64_t(i) * 2 * kSec + kSec, d, sink);
        }
      }
    }
    // Crash loops: a few pods restart each minute with BackOff.
    for (int k = 0; k < 3; ++k) {
      size_t d = rng_() % deploys_.size();
      if (deploys_[d].pods.empty()) continue;
      Pod& p = deploys_[d].pods[rng_() % deploys_[d].pods.size()];
      ++p.restarts;
      EmitPod(t + k * kSec, d, p, "Running", WatchType::kModified, sink);
      EmitEvent(t + k * kSec, d, p, "BackOff", true, p.restarts, sink);
    }
    // Nodes: a real change on one node every few minutes.
    if (rng_() % 3 == 0) EmitNode(t, rng_() % node_names_.size(), WatchType::kModified, sink);
    // The API server deletes Events an hour after their last update (--event-ttl).
    for (auto it = live_events_.begin(); it != live_events_.end();) {
      if (it->second.last + kHour <= t) {
        LiveEvent ev = std::move(it->second);
        std::string name = it->first;
        it = live_events_.erase(it);
        // The moved strings may have moved their bytes: point the views at the new ones.
        ev.info.involved_namespace = ev.ns;
        ev.info.involved_name = ev.involved_name;
        ev.info.involved_uid = ev.involved_uid;
        ev.info.reason = ev.reason;
        Emit(t, WatchType::kDeleted, "", "v1", "Event", ev.ns, name, ev.uid, std::move(ev.json),
             &ev.info, sink);
      } else {
        ++it;
      }
    }
  }

  uint64_t json_bytes = 0;
  uint64_t records = 0;
  std::vector<std::string> sample_pods;  // names to query

 private:
  struct Pod {
    std::string name, uid, node;
    int64_t created = 0;
    int restarts = 0;
  };
  struct LiveEvent {
    int64_t last = 0;
    std::string ns, uid, json, involved_name, involved_uid, reason;
    EventInfoView info;
  };
  std::map<std::string, LiveEvent> live_events_;
  struct Deploy {
    std::string ns, name;
    int replicas = 0;
    int generation = 1;
    std::deque<Pod> pods;
  };

  template <typename Sink>
  void Emit(int64_t t, WatchType type, std::string_view group, std::string_view version,
            std::string_view kind, std::string_view ns, std::string_view name, std::string_view uid,
            std::string json, const EventInfoView* ev, Sink& sink) {
    std::string rv = std::to_string(++rv_);
    RecordView r;
    r.observed_ns = t;
    r.watch_type = type;
    r.api_group = group;
    r.api_version = version;
    r.kind = kind;
    r.namespace_ = ns;
    r.name = name;
    r.uid = uid;
    r.resource_version = rv;
    ReplaceAll(json, "\"48213377\"", "\"" + rv + "\"");
    r.payload = json;
    if (ev) r.event = *ev;
    json_bytes += json.size();
    ++records;
    sink(r);
  }

  std::string Uid() {
    char buf[40];
    std::snprintf(buf, sizeof(buf), "%08x-%04x-4%03x-a%03x-%012llx", unsigned(rng_()),
                  unsigned(rng_() & 0xffff), unsigned(rng_() & 0xfff), unsigned(rng_() & 0xfff),
                  static_cast<unsigned long long>(rng_() & 0xffffffffffffULL));
    return buf;
  }

  template <typename Sink>
  void EmitPod(int64_t t, size_t d, const Pod& p, std::string_view phase, WatchType type,
               Sink& sink) {
    const Deploy& dep = deploys_[d];
    std::string json = pod_;
    ReplaceAll(json, "checkout-7d9f8c6b5d-x2k4q", p.name);
    ReplaceAll(json, "checkout-7d9f8c6b5d", dep.name + "-" + std::to_string(dep.generation));
    ReplaceAll(json, "checkout", dep.name);
    ReplaceAll(json, "\"shop\"", "\"" + dep.ns + "\"");
    ReplaceAll(json, "5f1c2b9e-3a47-4c0e-9d4b-8e2f6a1c7b30", p.uid);
    ReplaceAll(json, "ip-10-42-17-203.ec2.internal", p.node);
    ReplaceAll(json, "2026-11-20T09:14:03Z", FormatRfc3339Fixed(p.created, 0));
    ReplaceAll(json, "\"Running\"", "\"" + std::string(phase) + "\"");
    ReplaceAll(json, "\"restartCount\":0", "\"restartCount\":" + std::to_string(p.restarts));
    Emit(t, type, "", "v1", "Pod", dep.ns, p.name, p.uid, std::move(json), nullptr, sink);
  }

  template <typename Sink>
  void StartPod(int64_t t, size_t d, Sink& sink) {
    Deploy& dep = deploys_[d];
    Pod p;
    static const char kAlnum[] = "bcdfghjklmnpqrstvwxz2456789";
    p.name = dep.name + "-" + std::to_string(dep.generation) + "-";
    for (int i = 0; i < 5; ++i) p.name += kAlnum[rng_() % 27];
    p.uid = Uid();
    p.node = node_names_[rng_() % node_names_.size()];
    p.created = t;
    EmitPod(t, d, p, "Pending", WatchType::kAdded, sink);
    EmitEvent(t, d, p, "Scheduled", false, 1, sink);
    EmitPod(t + 2 * kSec, d, p, "Pending", WatchType::kModified, sink);
    EmitEvent(t + 3 * kSec, d, p, "Pulled", false, 1, sink);
    EmitEvent(t + 3 * kSec, d, p, "Started", false, 1, sink);
    EmitPod(t + 5 * kSec, d, p, "Running", WatchType::kModified, sink);
    if (sample_pods.size() < 64) sample_pods.push_back(dep.ns + "/" + p.name);
    dep.pods.push_back(std::move(p));
  }

  template <typename Sink>
  void StopPod(int64_t t, size_t d, const Pod& p, Sink& sink) {
    EmitEvent(t, d, p, "Killing", false, 1, sink);
    EmitPod(t, d, p, "Running", WatchType::kModified, sink);
    EmitPod(t + kSec, d, p, "Succeeded", WatchType::kDeleted, sink);
  }

  template <typename Sink>
  void EmitEvent(int64_t t, size_t d, const Pod& p, std::string_view reason, bool warning,
                 int count, Sink& sink) {
    const Deploy& dep = deploys_[d];
    std::string name = p.name + "." + std::string(reason);
    std::string json = event_;
    ReplaceAll(json, "checkout-7d9f8c6b5d-x2k4q", p.name);
    ReplaceAll(json, "\"shop\"", "\"" + dep.ns + "\"");
    ReplaceAll(json, "\"Pulled\"", "\"" + std::string(reason) + "\"");
    ReplaceAll(json, "\"count\":1", "\"count\":" + std::to_string(count));
    ReplaceAll(json, "2026-11-20T09:14:05Z", FormatRfc3339Fixed(t, 0));
    LiveEvent& live = live_events_[name];
    if (live.uid.empty()) live.uid = Uid();
    live.last = t;
    live.ns = dep.ns;
    live.json = json;
    live.involved_name = p.name;
    live.involved_uid = p.uid;
    live.reason = std::string(reason);
    live.info = EventInfoView{"Pod",
                              live.ns,
                              live.involved_name,
                              live.involved_uid,
                              live.reason,
                              warning ? EventSeverity::kWarning : EventSeverity::kNormal,
                              count,
                              p.created,
                              t,
                              "message"};
    EventInfoView ev = live.info;
    Emit(t, count > 1 ? WatchType::kModified : WatchType::kAdded, "", "v1", "Event", dep.ns, name,
         live.uid, std::move(json), &ev, sink);
  }

  template <typename Sink>
  void EmitDeploy(int64_t t, size_t d, Sink& sink) {
    const Deploy& dep = deploys_[d];
    std::string json = deploy_;
    ReplaceAll(json, "checkout", dep.name);
    ReplaceAll(json, "\"shop\"", "\"" + dep.ns + "\"");
    Emit(t, WatchType::kModified, "apps", "v1", "Deployment", dep.ns, dep.name,
         "deploy-" + dep.name, std::move(json), nullptr, sink);
  }

  template <typename Sink>
  void EmitNode(int64_t t, size_t n, WatchType type, Sink& sink) {
    std::string json = node_;
    ReplaceAll(json, "ip-10-42-17-203.ec2.internal", node_names_[n]);
    ReplaceAll(json, "2026-11-20T09:20:41Z", FormatRfc3339Fixed(t, 0));
    Emit(t, type, "", "v1", "Node", "", node_names_[n], "node-uid-" + std::to_string(n),
         std::move(json), nullptr, sink);
  }

  std::mt19937_64 rng_;
  std::string pod_, node_, event_, deploy_;
  std::vector<Deploy> deploys_;
  std::vector<std::string> node_names_;
  uint64_t rv_ = 1000;
};

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}
double P99(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[std::min(v.size() - 1, v.size() * 99 / 100)];
}

template <typename F>
std::vector<double> TimeRuns(int n, F&& f) {
  std::vector<double> ms;
  for (int i = 0; i < n; ++i) {
    auto a = std::chrono::steady_clock::now();
    f(i);
    ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - a).count());
  }
  return ms;
}

uint64_t DirBytes(const fs::path& dir) {
  uint64_t n = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) n += e.file_size();
  }
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  double days = 14;
  int pods = 1000, nodes = 50;
  bool keep = false, object_store = false;
  fs::path dir = fs::temp_directory_path() / ("sloop-engine-bench-" + std::to_string(getpid()));
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "engine_bench: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--small")
      days = 10.0 / (24 * 60) * 6;  // an hour of churn
    else if (a == "--days")
      days = std::stod(next());
    else if (a == "--pods")
      pods = std::stoi(next());
    else if (a == "--nodes")
      nodes = std::stoi(next());
    else if (a == "--dir")
      dir = next();
    else if (a == "--keep")
      keep = true;
    else if (a == "--object-store")
      object_store = true;
    else {
      std::fprintf(stderr,
                   "usage: engine_bench [--small] [--days N] [--pods N] [--nodes N] [--dir PATH] "
                   "[--keep] [--object-store]\n");
      return a == "--help" ? 0 : 2;
    }
  }
  fs::remove_all(dir);
  const int64_t t0 = 1795165200LL * kSec;
  const int64_t minutes = static_cast<int64_t>(days * 24 * 60);
  const int64_t t_end = t0 + minutes * kMin;
  int64_t sim_now = t0;

  StoreOptions o;
  o.root = dir;
  o.background = false;  // seal inline so that ingest time includes sealing
  o.now_ns = [&sim_now] { return sim_now; };
  o.max_look_back = std::chrono::hours(24 * 15);
  std::unique_ptr<objstore::UploadState> upload_state;
  if (object_store) {
    // The shards are uploaded once built: the store keeps their list (STORE/upload-state).
    fs::create_directories(dir);
    auto st = objstore::UploadState::Load(dir);
    if (!st) {
      std::fprintf(stderr, "engine_bench: %s\n", st.error().ToString().c_str());
      return 1;
    }
    upload_state = std::move(*st);
    objstore::UploadState::Attach(upload_state.get(), &o);
  }
  auto opened = Store::Open(o);
  if (!opened) {
    std::fprintf(stderr, "engine_bench: %s\n", opened.error().ToString().c_str());
    return 1;
  }
  auto& store = *opened;
  Workload w(pods, nodes, 42);
  uint64_t failures = 0;
  auto sink = [&](const RecordView& r) {
    if (!store->Append(r)) ++failures;
  };
  std::fprintf(stderr, "engine_bench: %.2f days, %d pods, %d nodes into %s\n", days, pods, nodes,
               dir.c_str());
  auto start = std::chrono::steady_clock::now();
  w.Initial(t0, sink);
  for (int64_t m = 0; m < minutes; ++m) {
    sim_now = t0 + m * kMin;
    w.Minute(sim_now, sink);
    if (m % (24 * 60) == 0 && m) {
      std::fprintf(stderr, "  day %lld: %llu records, %.0f MB JSON, RSS %.0f MB (%s)\n",
                   static_cast<long long>(m / (24 * 60)),
                   static_cast<unsigned long long>(w.records), w.json_bytes / 1e6, CurrentRssMb(),
                   RssBreakdown().c_str());
    }
  }
  sim_now = t_end;
  // What ingest reads at start to seed a type's known objects (RecordSink::LiveObjects): every
  // Pod alive, from the newest shard's index, while it is active and once it is sealed.
  size_t live_pods = 0;
  auto live_active =
      TimeRuns(5, [&](int) { live_pods = store->LiveObjects("", "Pod", "").size(); });
  (void)store->SealActive();
  auto live_sealed =
      TimeRuns(5, [&](int) { live_pods = store->LiveObjects("", "Pod", "").size(); });
  double ingest_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  double rss_after_ingest = CurrentRssMb();
  uint64_t disk = DirBytes(dir);

  // Queries over the newest data, as a person opening the UI would.
  TimelineQuery q1;
  q1.range = {t_end - kHour, t_end};
  size_t rows_1h = 0, rows_24h = 0;
  auto tl1 = TimeRuns(21, [&](int) { rows_1h = store->Timeline(q1)->rows.size(); });
  TimelineQuery q24 = q1;
  q24.range = {t_end - std::min<int64_t>(kDay, minutes * kMin), t_end};
  auto tl24 = TimeRuns(11, [&](int) { rows_24h = store->Timeline(q24)->rows.size(); });
  size_t versions = 0;
  auto hist = TimeRuns(41, [&](int i) {
    const std::string& id = w.sample_pods[i % w.sample_pods.size()];
    auto slash = id.find('/');
    (void)store->History(
        {"Pod", std::string_view(id).substr(0, slash), std::string_view(id).substr(slash + 1), ""},
        {t0, t_end}, true, [&](const RecordView&) {
          ++versions;
          return true;
        });
  });
  size_t hits = 0;
  auto search = TimeRuns(11, [&](int i) {
    hits = store
               ->Search(w.sample_pods[i % w.sample_pods.size()].substr(
                            w.sample_pods[0].find('/') + 1, 8),
                        "", 100)
               .size();
  });
  ObjectStoreFigures os;
  if (object_store) {
    os = RunObjectStorePhase(*store, *upload_state, dir.string() + "-objstore",
                             t0 + minutes / 2 * kMin);
    if (!os.error.empty()) {
      std::fprintf(stderr, "engine_bench: object store: %s\n", os.error.c_str());
      return 1;
    }
  }
  store.reset();
  double peak = PeakRssMb();
  if (!keep) fs::remove_all(dir);
  fs::remove_all(dir.string() + "-objstore");

  double eps = w.records / ingest_s;
  double ratio = disk ? double(w.json_bytes) / disk : 0;
  std::printf("%-34s %14s\n", "figure", "value");
  std::printf("%-34s %14llu\n", "records", static_cast<unsigned long long>(w.records));
  std::printf("%-34s %14.1f\n", "JSON MB", w.json_bytes / 1e6);
  std::printf("%-34s %14.1f\n", "ingest s (append + seal)", ingest_s);
  std::printf("%-34s %14.0f\n", "ingest events/s", eps);
  std::printf("%-34s %14.1f\n", "ingest MB/s of JSON", w.json_bytes / 1e6 / ingest_s);
  std::printf("%-34s %14.1f\n", "disk MB", disk / 1e6);
  std::printf("%-34s %14.1f\n", "disk bytes/event", double(disk) / w.records);
  std::printf("%-34s %14.1f\n", "compression ratio (JSON/disk)", ratio);
  std::printf("%-34s %10.2f (%zu rows)\n", "timeline 1h ms (median)", Median(tl1), rows_1h);
  std::printf("%-34s %10.2f (%zu rows)\n", "timeline 24h ms (median)", Median(tl24), rows_24h);
  std::printf("%-34s %14.3f\n", "history ms (median)", Median(hist));
  std::printf("%-34s %14.3f\n", "history ms (p99)", P99(hist));
  std::printf("%-34s %10.2f (%zu hits)\n", "name search ms (median)", Median(search), hits);
  std::printf("%-34s %10.2f (%zu pods)\n", "live objects, active shard ms", Median(live_active),
              live_pods);
  std::printf("%-34s %10.2f (%zu pods)\n", "live objects, sealed shard ms", Median(live_sealed),
              live_pods);
  std::printf("%-34s %14.1f\n", "RSS after ingest MB", rss_after_ingest);
  std::printf("%-34s %14.1f\n", "peak RSS MB", peak);
  std::printf("%-34s %14llu\n", "append failures", static_cast<unsigned long long>(failures));
  if (object_store) {
    std::printf("object store (1 h and 24 h windows ending mid-way, %llu shards uploaded in %.1f s, "
                "listed in %.0f ms)\n",
                static_cast<unsigned long long>(os.shards), os.upload_s, os.listing_ms);
    std::printf("%-34s %10s %10s %10s\n", "ms (median)", "cold", "warm", "local");
    std::printf("%-34s %10.2f %10.2f %10.2f (%zu rows)\n", "timeline 1h", os.timeline_1h_cold_ms,
                os.timeline_1h_warm_ms, os.timeline_1h_local_ms, os.rows_1h);
    std::printf("%-34s %10.2f %10.2f %10.2f (%zu rows)\n", "timeline 24h", os.timeline_24h_cold_ms,
                os.timeline_24h_warm_ms, os.timeline_24h_local_ms, os.rows_24h);
    std::printf("%-34s %10.2f %10.2f %10.2f (%zu records)\n", "pod history 1h", os.history_cold_ms,
                os.history_warm_ms, os.history_local_ms, os.history_records);
    std::printf("%-34s %10.0f GETs, %.0f KiB\n", "cold timeline 1h fetched",
                os.timeline_1h_cold_requests, os.timeline_1h_cold_kb);
    std::printf("%-34s %10.0f GETs, %.0f KiB\n", "then one pod's history fetched",
                os.history_cold_requests, os.history_cold_kb);
    std::printf("%-34s %14.1f\n", "reader cache MB after", os.cache_mb_after);
    std::printf("%-34s %14.1f\n", "RSS MB after", os.rss_mb_after);
  }
  std::printf(
      "{\"records\":%llu,\"json_bytes\":%llu,\"events_per_s\":%.0f,\"mb_per_s\":%.1f,"
      "\"disk_bytes\":%llu,\"bytes_per_event\":%.1f,\"compression_ratio\":%.2f,"
      "\"timeline_1h_ms\":%.3f,\"timeline_24h_ms\":%.3f,\"history_ms\":%.3f,\"search_ms\":%.3f,"
      "\"live_objects_active_ms\":%.3f,\"live_objects_sealed_ms\":%.3f,"
      "\"rss_after_ingest_mb\":%.1f,\"peak_rss_mb\":%.1f",
      static_cast<unsigned long long>(w.records), static_cast<unsigned long long>(w.json_bytes),
      eps, w.json_bytes / 1e6 / ingest_s, static_cast<unsigned long long>(disk),
      double(disk) / w.records, ratio, Median(tl1), Median(tl24), Median(hist), Median(search),
      Median(live_active), Median(live_sealed), rss_after_ingest, peak);
  if (object_store) {
    std::printf(
        ",\"objstore_shards\":%llu,\"objstore_upload_s\":%.2f,\"objstore_listing_ms\":%.1f,"
        "\"objstore_timeline_1h_cold_ms\":%.3f,\"objstore_timeline_1h_warm_ms\":%.3f,"
        "\"objstore_timeline_1h_local_ms\":%.3f,\"objstore_timeline_24h_cold_ms\":%.3f,"
        "\"objstore_timeline_24h_warm_ms\":%.3f,\"objstore_timeline_24h_local_ms\":%.3f,"
        "\"objstore_history_cold_ms\":%.3f,\"objstore_history_warm_ms\":%.3f,"
        "\"objstore_history_local_ms\":%.3f,\"objstore_timeline_1h_cold_gets\":%.0f,"
        "\"objstore_timeline_1h_cold_kib\":%.0f,\"objstore_history_cold_gets\":%.0f,"
        "\"objstore_history_cold_kib\":%.0f,\"objstore_rss_mb\":%.1f",
        static_cast<unsigned long long>(os.shards), os.upload_s, os.listing_ms,
        os.timeline_1h_cold_ms, os.timeline_1h_warm_ms, os.timeline_1h_local_ms,
        os.timeline_24h_cold_ms, os.timeline_24h_warm_ms, os.timeline_24h_local_ms,
        os.history_cold_ms, os.history_warm_ms, os.history_local_ms,
        os.timeline_1h_cold_requests, os.timeline_1h_cold_kb, os.history_cold_requests,
        os.history_cold_kb, os.rss_mb_after);
  }
  std::printf("}\n");
  return failures ? 1 : 0;
}
