// Ingester: watches every selected resource type of a cluster and appends each change to a
// RecordSink. One thread drives one libcurl multi handle carrying all lists and watches:
//   list (paginated) → watch from the list's resourceVersion, with bookmarks
//   watch ended by the server → watch again from the last resourceVersion seen
//   broken connection or stall → reconnect (with backoff) from the last resourceVersion
//   410 Gone, a malformed frame, or the resync interval → relist and reconcile (ADDED, MODIFIED,
//   DELETED_INFERRED for what vanished meanwhile)
//   429 → wait Retry-After; other failures → exponential backoff with jitter
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
#include "segments/status.h"

namespace sloop::ingest {

// What one resource type's watch is doing, for logs and debug pages.
struct KindStatus {
  std::string resource;  // "deployments.apps"
  std::string kind;
  std::string state;     // "listing", "watching", "backoff"
  size_t objects = 0;    // objects known (the list size)
  uint64_t records = 0;  // records appended
  uint64_t relists = 0;
  uint64_t reconnects = 0;
  int64_t last_event_ns = 0;
  std::string resource_version;
};

class Ingester {
 public:
  // Resolves the cluster config, checks /version and the credentials (an unreachable server, 401
  // and 403 fail here with a message naming the URL and the fix), discovers the resource types
  // and starts watching them on its own thread.
  static Result<std::unique_ptr<Ingester>> Start(const IngestOptions& options, RecordSink& sink,
                                                 prometheus::Registry& metrics);
  ~Ingester();  // Stop()s

  // Stops every watch (within a second) and joins the thread. Idempotent.
  void Stop();

  std::vector<KindStatus> Status() const;
  const ClusterConfig& cluster() const { return client_->config(); }
  // True once every resource type has finished its first list.
  bool Synced() const { return synced_.load(); }

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
