// Our side, end to end through the recorder's own pipeline: sloop::ingest::Playback reads the
// capture (zstd, line parsing), and its TypeRecorders parse each object, reconcile LIST runs
// against what is known, drop heartbeat-only Node updates (keep-minor-node-updates off), evaluate
// the exclusion rules and append the record to sloop::Store. Sealing runs on the store's
// background thread as in production; ingest ends when every shard is sealed.
#include <atomic>
#include <cstdio>
#include <thread>

#include "bench/harness/stores.h"
#include "engine/store.h"
#include "ingest/exclusion_rules.h"
#include "ingest/playback.h"

namespace sloop::bench {
namespace {

// Forwards to the store, keeping the store's clock at the capture's time (retention by age and
// "now" follow the replayed cluster, not the wall clock).
class ClockedSink : public RecordSink {
 public:
  ClockedSink(Store& store, std::atomic<int64_t>& now, int64_t list_end_ns)
      : store_(store), now_(now), list_end_ns_(list_end_ns) {}
  Result<void> Append(const RecordView& r) override {
    now_.store(r.observed_ns, std::memory_order_relaxed);
    if (!list_done && r.observed_ns > list_end_ns_) {
      list_done = true;
      list_done_at = std::chrono::steady_clock::now();
    }
    auto ok = store_.Append(r);
    if (ok)
      ++appended;
    else
      ++failures;
    return ok;
  }
  uint64_t appended = 0, failures = 0;
  bool list_done = false;  // a record past the initial list has arrived
  std::chrono::steady_clock::time_point list_done_at;

 private:
  Store& store_;
  std::atomic<int64_t>& now_;
  int64_t list_end_ns_;
};

// The busy phase's feeder: paces the records into the store.
class PacedSink : public RecordSink {
 public:
  PacedSink(RecordSink& to, double rate) : to_(to), pacer_(rate) {}
  Result<void> Append(const RecordView& r) override {
    pacer_.Wait();
    ++records;
    return to_.Append(r);
  }
  uint64_t records = 0;

 private:
  RecordSink& to_;
  Pacer pacer_;
};

}  // namespace

Figures RunOurs(const RunOptions& o, std::string* error) {
  Figures fig;
  std::atomic<int64_t> now{0};
  StoreOptions so;
  so.root = o.dir;
  so.background = true;
  so.now_ns = [&now] { return now.load(std::memory_order_relaxed); };
  auto opened = Store::Open(so);
  if (!opened) {
    *error = opened.error().ToString();
    return fig;
  }
  auto& store = *opened;
  auto rules = ExclusionRules::FromConfig(kBenchExclusionRules);
  if (!rules) {
    *error = rules.error().ToString();
    return fig;
  }
  ingest::IngestOptions io;
  io.rules = &*rules;
  ClockedSink sink(*store, now, o.plan.list_end_ns);

  auto start = std::chrono::steady_clock::now();
  auto played = ingest::Playback(o.capture, io, sink, nullptr);
  if (!played) {
    *error = played.error().ToString();
    return fig;
  }
  auto played_at = std::chrono::steady_clock::now();
  if (auto r = store->SealActive(); !r) *error = r.error().ToString();
  if (auto r = store->Maintain(); !r) *error = r.error().ToString();
  auto done = std::chrono::steady_clock::now();
  double ingest_s = std::chrono::duration<double>(done - start).count();
  double playback_s = std::chrono::duration<double>(played_at - start).count();
  double list_s =
      std::chrono::duration<double>((sink.list_done ? sink.list_done_at : played_at) - start)
          .count();
  double rss_after = CurrentRssMb();
  double rss_anon = CurrentRssAnonMb(), rss_file = CurrentRssFileMb();
  uint64_t disk = DirBytes(o.dir);
  StoreStats stats = store->Stats();

  fig.Set("records", played->lines - played->unknown_types);
  fig.Set("json_bytes", played->object_bytes);
  fig.Set("stored_records", sink.appended);
  fig.Set("append_failures", sink.failures);
  fig.Set("ingest_s", ingest_s);
  fig.Set("initial_list_s", list_s);
  fig.Set("ingest_before_seal_s", playback_s);
  fig.Set("disk_bytes", disk);
  fig.Set("shards", stats.shards);
  fig.Set("rss_after_ingest_mb", rss_after);
  fig.Set("rss_anon_after_ingest_mb", rss_anon);
  fig.Set("rss_file_after_ingest_mb", rss_file);

  // Queries, over the newest data as a person opening the UI would.
  const QueryPlan& q = o.plan;
  const int64_t end = q.last_ns + 1;
  TimelineQuery t1;
  t1.range = {end - kHour, end};
  t1.limit = 10000000;  // every row, as Sloop returns them
  size_t rows = 0;
  SetTimes(fig, "timeline_1h",
           TimeRuns(o.runs.timeline_1h, [&](int) { rows = store->Timeline(t1)->rows.size(); }));
  fig.Set("timeline_1h_rows", rows);
  TimelineQuery t24 = t1;
  t24.range = {end - kDay, end};
  SetTimes(fig, "timeline_24h",
           TimeRuns(o.runs.timeline_24h, [&](int) { rows = store->Timeline(t24)->rows.size(); }));
  fig.Set("timeline_24h_rows", rows);
  if (!q.pods.empty()) {
    uint64_t n = 0;
    SetTimes(fig, "history", TimeRuns(o.runs.history, [&](int i) {
               const PodRef& p = q.pods[i % q.pods.size()];
               (void)store->History({"Pod", p.ns, p.name, ""}, {q.first_ns, end}, true,
                                    [&](const RecordView&) {
                                      ++n;
                                      return true;
                                    });
             }));
    fig.Set("history_records", double(n) / o.runs.history);
    n = 0;
    SetTimes(fig, "search", TimeRuns(o.runs.search, [&](int i) {
               n += store->Search(q.needles[i % q.needles.size()], "", 1000).size();
             }));
    fig.Set("search_hits", double(n) / o.runs.search);
    n = 0;
    SetTimes(fig, "events", TimeRuns(o.runs.events, [&](int i) {
               const PodRef& p = q.pods[i % q.pods.size()];
               (void)store->Events({"Pod", p.ns, p.name, p.uid}, {q.first_ns, end},
                                   [&](const RecordView&) {
                                     ++n;
                                     return true;
                                   });
             }));
    fig.Set("events_records", double(n) / o.runs.events);
  }
  // The busy phase's feeder has ingest state of its own (its LIST reconciliation starts empty):
  // the store's peak is the one before it.
  fig.Set("peak_rss_before_busy_mb", PeakRssMb());
  if (!o.busy_capture.empty()) {
    // The same 1 h timeline while newer records arrive through the same pipeline.
    PacedSink paced(sink, o.busy_rate);
    std::atomic<bool> stop{false};
    std::string feed_error;
    std::thread feeder([&] {
      auto r = ingest::Playback(o.busy_capture, io, paced, nullptr, &stop);
      if (!r) feed_error = r.error().ToString();
    });
    std::vector<double> busy_ms = TimeBusyRuns(o.runs.busy_seconds, [&](int) {
               rows = store->Timeline(t1)->rows.size();
             });
    SetTimes(fig, "timeline_1h_busy", busy_ms);
    stop = true;
    feeder.join();
    fig.Set("timeline_1h_busy_runs", busy_ms.size());
    fig.Set("timeline_1h_busy_rows", rows);
    fig.Set("busy_records", paced.records);
    if (!feed_error.empty()) *error = "busy phase: " + feed_error;
  }
  (void)store->Close();
  store.reset();
  fig.Set("peak_rss_mb", PeakRssMb());
  return fig;
}

}  // namespace sloop::bench
