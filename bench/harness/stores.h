// The three replays. Each runs in its own child process: replays the capture end to end (read,
// decompress, parse, reconcile, store, seal or flush), then times the queries, and returns its
// figures. `dir` is a fresh directory. Ours and RocksDB run in a forked copy of sloop-bench; the
// Badger side is a Go program (bench/harness/badger/) that sloop-bench executes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bench/harness/replay.h"

namespace sloop::bench {

// The exclusion rules both sides evaluate on every object (docs/benchmarks.md): one rule for all
// kinds, as a typical config has, that excludes nothing in the generated workloads.
inline constexpr const char* kBenchExclusionRules =
    R"({"_all":[{"==":[{"var":"metadata.namespace"},"sloop-bench-excluded"]}]})";

// Sloop's informer resync period (-kube-watch-resync-interval, default 30m; sloop-reference
// section 5.4): the RocksDB and Badger sides replay a resync of every cached object at this
// interval.
inline constexpr int64_t kSloopResyncNs = 30 * kMin;

struct RunOptions {
  std::string capture;
  std::string dir;
  QueryPlan plan;  // the same targets for both stores
  QueryRuns runs;
  // RocksDB and Badger sides: the emulated informer resync period in capture time (0: none).
  // The captures hold no resync, which Sloop's timeline depends on (docs/benchmarks.md).
  int64_t rocksdb_resync_ns = kSloopResyncNs;
  // Badger side: the plan as SerializePlan wrote it, and Badger's SyncWrites (Sloop's default
  // is on; off unless asked, as neither other side syncs per record).
  std::string plan_file;
  bool badger_sync_writes = false;
  bool verbose = false;
  // The busy query phase (docs/benchmarks.md): WriteShiftedCapture's file, replayed at
  // `busy_rate` records a second while the 1 h timeline is timed again. Empty: no busy phase.
  std::string busy_capture;
  double busy_rate = 2000;
};

// Ours: sloop::ingest::Playback into sloop::Store (engine/store.h).
Figures RunOurs(const RunOptions& o, std::string* error);
// The baseline: RocksDB with Sloop's four tables and key layout.
Figures RunRocks(const RunOptions& o, std::string* error);
// Sloop's own engine: the command line of sloop-bench-badger (bench/harness/badger/main.go) for
// this replay; the caller executes it and reads its figures from its standard output.
std::vector<std::string> BadgerCommand(const RunOptions& o, const std::string& binary);

}  // namespace sloop::bench
