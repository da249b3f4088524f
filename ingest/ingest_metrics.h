// IngestMetrics: the Prometheus series of the ingest layer, per resource type (labels kind and
// group) and watch type.
//   sloop_ingest_events_total{kind,group,type}   records handed to the store
//   sloop_ingest_bytes_total{kind,group}         object JSON bytes received
//   sloop_ingest_relists_total{kind,group}       lists after a 410, a resync or a failure
//   sloop_ingest_inferred_deletions_total{kind,group}
//   sloop_ingest_relist_unchanged_total{kind,group}  objects a relist found unchanged
//   sloop_ingest_reconnects_total{kind,group}    watches reopened after a break or a stall
//   sloop_ingest_errors_total{kind,group,reason}
//   http_4xx/http_5xx/http_429/network/malformed/store;
//       what was skipped and the watch or list went on: malformed_item (a list item),
//       malformed_frame (a watch frame or its object), frame_too_large (a watch line over
//       -max-watch-frame-mb), page_too_large (a list page over it: asked again with a smaller
//       limit), object_too_large (one object over it, skipped)
//   sloop_ingest_dropped_total{kind,group,reason} excluded / minor_node_update
//   sloop_ingest_objects{kind,group}             objects known (the list size)
//   sloop_ingest_watch_lag_seconds{kind,group}   now minus the last event's arrival
//   sloop_ingest_buffer_peak_bytes{kind,group}   the most a frame or page buffer held (≤ the cap)
//   sloop_ingest_forbidden_kinds{kind,group}     1 while the kind's list/watch is refused (403)
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <array>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "ingest/resource_object.h"

namespace sloop::ingest {

struct KindMetrics {
  std::array<prometheus::Counter*, 5> events{};  // by WatchType
  prometheus::Counter* bytes = nullptr;
  prometheus::Counter* relists = nullptr;
  prometheus::Counter* inferred_deletions = nullptr;
  prometheus::Counter* relist_unchanged = nullptr;
  prometheus::Counter* reconnects = nullptr;
  prometheus::Counter* excluded = nullptr;
  prometheus::Counter* minor_node_updates = nullptr;
  prometheus::Gauge* objects = nullptr;
  prometheus::Gauge* watch_lag = nullptr;
  prometheus::Gauge* buffer_peak = nullptr;
  prometheus::Gauge* forbidden = nullptr;
  prometheus::Family<prometheus::Counter>* errors_family = nullptr;
  std::map<std::string, prometheus::Counter*, std::less<>> errors;
  std::string kind, group;

  void Error(std::string_view reason);
};

class IngestMetrics {
 public:
  explicit IngestMetrics(prometheus::Registry& registry);
  // The series of one resource type, created on first use. Thread-safe.
  KindMetrics& For(std::string_view kind, std::string_view group);

 private:
  prometheus::Family<prometheus::Counter>& events_;
  prometheus::Family<prometheus::Counter>& bytes_;
  prometheus::Family<prometheus::Counter>& relists_;
  prometheus::Family<prometheus::Counter>& inferred_;
  prometheus::Family<prometheus::Counter>& unchanged_;
  prometheus::Family<prometheus::Counter>& reconnects_;
  prometheus::Family<prometheus::Counter>& errors_;
  prometheus::Family<prometheus::Counter>& dropped_;
  prometheus::Family<prometheus::Gauge>& objects_;
  prometheus::Family<prometheus::Gauge>& lag_;
  prometheus::Family<prometheus::Gauge>& buffer_peak_;
  prometheus::Family<prometheus::Gauge>& forbidden_;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<KindMetrics>, std::less<>> by_kind_;
};

}  // namespace sloop::ingest
