// Ingester: watches every selected resource type of a cluster and appends each change to a
// RecordSink. One thread drives one libcurl multi handle carrying all lists and watches:
//   start → each type's known objects seeded from what the sink holds as alive, so that the first
//   list is a relist: what changed or vanished while sloop was not running is recorded (MODIFIED,
//   DELETED_INFERRED) and what did not change is not recorded again
//   list (paginated) → watch from the list's resourceVersion, with bookmarks
//   watch ended by the server → watch again from the last resourceVersion seen
//   broken connection or stall → reconnect (with backoff) from the last resourceVersion
//   410 Gone, or the resync interval → relist and reconcile (ADDED, MODIFIED, DELETED_INFERRED
//   for what vanished meanwhile)
//   429 → wait Retry-After; other failures → exponential backoff with jitter
// What cannot be read is skipped, counted (sloop_ingest_errors_total) and logged, never a reason
// to stop or to record what did not happen:
//   a bad list item (no metadata.name, too deep, invalid JSON) → skipped; that list infers no
//   deletions (what it did not show may still exist)
//   a bad watch frame or object → skipped, the watch goes on; only a stream with 32 unreadable
//   frames in a row (not a watch stream) is relisted, with a backoff a good list does not reset
//   a watch line over max_frame_bytes → dropped without being buffered; a list page over it →
//   asked again with a smaller limit (that list infers no deletions)
// Discovery runs again every crd_refresh_interval: new CRDs are watched, removed ones dropped.
#pragma once

#include <prometheus/registry.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/record_sink.h"
#include "ingest/api_client.h"
#include "ingest/ingest_options.h"
#include "ingest/kubeconfig.h"
#include "ingest/playback.h"
#include "base/status.h"

namespace sloop::ingest {

// What one resource type's watch is doing, for logs and debug pages.
struct KindStatus {
  std::string resource;  // "deployments.apps"
  std::string kind;
  std::string state;       // "listing", "watching", "backoff", "forbidden"
  bool forbidden = false;  // the last list or watch was refused (403); retried slowly
  size_t objects = 0;      // objects known (the list size)
  uint64_t records = 0;    // records appended
  uint64_t relists = 0;
  uint64_t reconnects = 0;
  int64_t last_event_ns = 0;
  std::string resource_version;
  uint64_t skipped_items = 0;    // list items that could not be read (none inferred deleted)
  uint64_t skipped_frames = 0;   // watch frames that could not be read, or were over the cap
  size_t buffer_peak_bytes = 0;  // the most bytes a frame or page buffer ever held
};

// Whether the recorder is doing its job yet, for /healthz and /readyz.
struct IngestReadiness {
  bool ready = false;  // the first list of every resource type has finished (or was refused)
  // Resource types ("configmaps", "deployments.apps") whose list or watch the server refuses (403):
  // they count as listed for readiness, are retried every few minutes, and are shown on
  // /api/v1/stats and as sloop_ingest_forbidden_kinds.
  std::vector<std::string> forbidden;
  // When not ready, what it waits for and what to fix, e.g. "API server https://10.0.0.1:443
  // unreachable: … (attempt 4, next in 8.0 s)" or "first list of pods (12 of 40 kinds listed)".
  std::string waiting_for;
};

class Ingester {
 public:
  // Resolves the cluster config (a missing or unreadable kubeconfig fails here, naming the file)
  // and starts the ingest thread, which then checks /version and the credentials, discovers the
  // resource types and watches them. A cluster that cannot be reached yet, refuses the
  // credentials, or fails discovery is tried again with capped, jittered exponential backoff;
  // each failure is logged with what to fix and shown by Readiness().
  static Result<std::unique_ptr<Ingester>> Start(const IngestOptions& options, RecordSink& sink,
                                                 prometheus::Registry& metrics);
  ~Ingester();  // Stop()s

  // Stops every watch (within a second) and joins the thread. Idempotent.
  void Stop();

  std::vector<KindStatus> Status() const;
  const ClusterConfig& cluster() const { return client_->config(); }
  // True once every resource type has finished its first list (or is refused: 403).
  bool Synced() const { return synced_.load(); }
  // Ready once connected and every resource type has finished its first list (and stays ready
  // after that: later failures are logged and counted, the history is still served). Thread-safe.
  IngestReadiness Readiness() const;

  Ingester(const Ingester&) = delete;
  Ingester& operator=(const Ingester&) = delete;

  struct Impl;

 private:
  Ingester() = default;
  std::unique_ptr<ApiClient> client_;
  std::unique_ptr<Impl> impl_;
  std::thread thread_;
  std::atomic<bool> synced_{false};
};

}  // namespace sloop::ingest
