// What both stores' replays share: the per-object fields pulled from a capture record's JSON, the
// LIST reconciliation the capture format asks for, the Node heartbeat fingerprint, the query plan
// (derived from the capture alone, so both child processes pick the same targets), timing helpers
// and the figures a child reports to the parent.
#pragma once

#include <simdjson.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "bench/harness/capture.h"

namespace sloop::bench {

constexpr int64_t kSec = 1000000000LL;
constexpr int64_t kMin = 60 * kSec;
constexpr int64_t kHour = 60 * kMin;
constexpr int64_t kDay = 24 * kHour;

struct OwnerRef {
  std::string_view kind, name, uid;
};

// Views into the record's object (valid during the record's callback).
struct ObjectFields {
  simdjson::dom::element root;  // the parsed object
  std::string_view ns, name, uid, resource_version, creation_timestamp;
  std::vector<OwnerRef> owners;
  bool is_event = false;
  // Events only.
  std::string_view involved_kind, involved_namespace, involved_name, involved_uid;
  std::string_view reason, type, message, first_timestamp, last_timestamp;
  int64_t count = 0;
};

class ObjectParser {
 public:
  // False when the object is not JSON or lacks metadata.name.
  bool Parse(const CaptureRecord& rec, ObjectFields* out);

 private:
  simdjson::dom::parser parser_;
};

// The capture's LIST semantics: an item is ADDED when unknown, MODIFIED when changed, dropped when
// identical to the object's last state. Returns "ADDED", "MODIFIED", "DELETED" or "" (drop).
class ListReconciler {
 public:
  std::string_view Apply(const CaptureRecord& rec, const ObjectFields& f);

 private:
  std::unordered_map<std::string, uint64_t> known_;  // kind/ns/name -> hash of the object
  std::string key_;
};

// A hash of a Node's JSON that ignores metadata.resourceVersion and every lastHeartbeatTime.
uint64_t NodeFingerprint(std::string_view json);

// base/time_text.h's ParseRfc3339, with 0 for a missing or malformed time (as the captures'
// fields).
int64_t ParseRfc3339(std::string_view s);

struct PodRef {
  std::string ns, name, uid;
};

// What the queries ask for, chosen from the capture alone.
struct QueryPlan {
  int64_t first_ns = 0, last_ns = 0;
  int64_t list_end_ns = 0;           // the last record of the initial LIST runs (0: none)
  std::vector<PodRef> pods;          // pods that have Events, evenly spread over the capture
  std::vector<std::string> needles;  // name substrings for search
};

// Reads the capture once (untimed) and picks n pods. Returns "" or an error.
std::string ComputePlan(const std::string& capture, size_t n, QueryPlan* out);
// The plan as text lines, for passing between processes.
std::string SerializePlan(const QueryPlan& p);
QueryPlan ParsePlan(std::string_view text);

// Collects the plan while a replay runs.
class PlanBuilder {
 public:
  void Observe(const CaptureRecord& rec, const ObjectFields& f);
  QueryPlan Finish(size_t n) const;

 private:
  int64_t first_ = 0, last_ = 0, list_end_ = 0;
  bool listing_ = true;
  std::vector<PodRef> pods_;
  std::unordered_map<std::string, bool> seen_;
};

// Figures a child reports: name -> value, in insertion order.
struct Figures {
  std::vector<std::pair<std::string, double>> items;
  void Set(const std::string& k, double v);
  double Get(const std::string& k) const;
  bool Has(const std::string& k) const;
  std::string Serialize() const;  // "key value\n" lines
  static Figures Parse(std::string_view text);
};

double Median(std::vector<double> v);
double P99(std::vector<double> v);

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

// Stores one query's median and p99 as NAME_median_ms / NAME_p99_ms.
void SetTimes(Figures& f, const std::string& name, const std::vector<double>& ms);

double CurrentRssMb();
// The resident set split: anonymous memory (heap, stacks) and file pages mapped (segments and
// indexes read through mmap), from /proc/self/status.
double CurrentRssAnonMb();
double CurrentRssFileMb();
double PeakRssMb();
uint64_t DirBytes(const std::string& dir);

// How many times each query runs.
struct QueryRuns {
  int timeline_1h = 21, timeline_24h = 11, history = 41, search = 11, events = 41;
  // The busy phase: the 1 h timeline again and again for this long (at least 5 runs) while the
  // concurrent ingest runs.
  double busy_seconds = 15;
};

// Keeps a feeder at `rate` items a second from its first Wait().
class Pacer {
 public:
  explicit Pacer(double rate) : rate_(rate) {}
  // Sleeps until the next item is due.
  void Wait();

 private:
  double rate_;
  uint64_t n_ = 0;
  std::chrono::steady_clock::time_point start_;
};

// The busy query phase's concurrent ingest: the capture's records at or after `from_ns`, moved
// `shift_ns` later, written to `out` as a capture of their own. Every side replays it through its
// own ingest path while the 1 h timeline over the capture's last hour is timed again, so the new
// data lands past the queried window (the answer stays the same) and rotates into a new hour
// (a seal or a flush runs meanwhile). Returns "" or an error; *records counts what was written.
std::string WriteShiftedCapture(const std::string& capture, int64_t from_ns, int64_t shift_ns,
                                const std::string& out, uint64_t* records);

// Times `query` again and again, 20 ms apart (the feeder runs in between too), for `seconds` and
// at least 5 times, while the caller's feeder thread ingests.
template <typename F>
std::vector<double> TimeBusyRuns(double seconds, F&& query) {
  std::vector<double> ms;
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  for (int i = 0; i < 5 || std::chrono::steady_clock::now() < until; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    auto a = std::chrono::steady_clock::now();
    query(i);
    ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - a).count());
  }
  return ms;
}

}  // namespace sloop::bench
