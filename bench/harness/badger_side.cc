// The Badger side's command line. The replay itself is Go (bench/harness/badger/): Badger is a
// Go library, and Sloop's costs (encoding/json, golang/protobuf, Badger's iterators and
// transactions, Go's garbage collector) only show in a Go process.
#include <string>
#include <vector>

#include "bench/harness/stores.h"

namespace sloop::bench {

std::vector<std::string> BadgerCommand(const RunOptions& o, const std::string& binary) {
  const QueryRuns& r = o.runs;
  return {binary,
          "--capture",
          o.capture,
          "--dir",
          o.dir,
          "--plan",
          o.plan_file,
          "--runs",
          std::to_string(r.timeline_1h) + "," + std::to_string(r.timeline_24h) + "," +
              std::to_string(r.history) + "," + std::to_string(r.search) + "," +
              std::to_string(r.events),
          "--resync",
          std::to_string(o.rocksdb_resync_ns) + "ns",
          "--rules",
          kBenchExclusionRules,
          std::string("--sync-writes=") + (o.badger_sync_writes ? "true" : "false"),
          "--busy-capture",
          o.busy_capture,
          "--busy-rate",
          std::to_string(o.busy_rate),
          "--busy-seconds",
          std::to_string(r.busy_seconds)};
}

}  // namespace sloop::bench
