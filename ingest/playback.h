// Playback: ingests a capture file (docs/format/capture.md) instead of watching a cluster
// (sloop -playback-file), through the same pipeline as live watching: LIST runs are reconciled
// (ADDED when unknown, MODIFIED when changed, nothing when identical, DELETED_INFERRED for
// objects a later LIST run no longer holds), minor Node updates and excluded objects dropped.
#pragma once

#include <prometheus/registry.h>

#include <atomic>
#include <cstdint>
#include <string>

#include "engine/record_sink.h"
#include "ingest/ingest_options.h"
#include "base/status.h"

namespace sloop::ingest {

struct PlaybackStats {
  uint64_t lines = 0;          // records read (header excluded)
  uint64_t list_items = 0;     // LIST records
  uint64_t watch_events = 0;   // ADDED / MODIFIED / DELETED records
  uint64_t unknown_types = 0;  // records of a type this build does not know (skipped)
  uint64_t appended = 0;       // records handed to the sink
  uint64_t inferred_deletions = 0;
  uint64_t object_bytes = 0;  // JSON bytes of the objects read
  uint64_t resource_types = 0;
  bool stopped = false;    // ended early because `stop` was set
  bool torn_tail = false;  // the last line was cut short (and ignored)
  double seconds = 0;
};

// Replays `path` into `sink`. A line that cannot be parsed stops playback with its line number
// and byte offset; so does a store error. Progress is logged every few seconds. When `stop` is
// set (e.g. at shutdown) playback ends after the current record; what was read so far is kept.
Result<PlaybackStats> Playback(const std::string& path, const IngestOptions& options,
                               RecordSink& sink, prometheus::Registry* metrics,
                               const std::atomic<bool>* stop = nullptr);

}  // namespace sloop::ingest
