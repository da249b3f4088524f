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
// and Sloop's own names, for its dashboards (docs/migrating-from-sloop.md):
//   sloop_ingress_kubewatchcount{kind,watchtype}  records stored; watchtype ADD, UPDATE, DELETE
//   sloop_ingress_kubewatchbytes{kind,watchtype}  their payload bytes
//   sloop_processing_watchtable_updatecount       records offered to the store
//   sloop_ingestion_success_count / _failure_count  records the store took / refused
//   sloop_crd_informer_started / _running         custom resource types being watched
//   sloop_crd_informer_watch_errors{kind,group,version}  their watch and list failures
//   metric_ingress_event_kubewatchcount{namespace,name,kind,reason,type}  Events by involved
//       object (only with -enable-granular-metrics)
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
#include "segments/record.h"

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
  // Sloop's series: by its watch types ADD, UPDATE, DELETE.
  std::array<prometheus::Counter*, 3> sloop_count{}, sloop_bytes{};
  prometheus::Counter* sloop_attempts = nullptr;  // shared by every kind
  prometheus::Counter* sloop_success = nullptr;
  prometheus::Counter* sloop_failure = nullptr;
  prometheus::Family<prometheus::Counter>* granular = nullptr;  // null unless enabled
  prometheus::Counter* crd_watch_errors = nullptr;              // custom resource types only

  void Error(std::string_view reason);
  // A record offered to the store, and whether it took it: our series and Sloop's.
  void Stored(const RecordView& r);
  void StoreFailed();
};

class IngestMetrics {
 public:
  explicit IngestMetrics(prometheus::Registry& registry, bool granular_events = false);
  // The series of one resource type, created on first use. Thread-safe.
  KindMetrics& For(std::string_view kind, std::string_view group);
  // A resource type's watch started (on) or stopped: Sloop's CRD informer gauges count the
  // custom ones.
  void Watching(const ResourceType& type, bool on);

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
  prometheus::Family<prometheus::Counter>& sloop_count_;
  prometheus::Family<prometheus::Counter>& sloop_bytes_;
  prometheus::Counter& sloop_attempts_;
  prometheus::Counter& sloop_success_;
  prometheus::Counter& sloop_failure_;
  prometheus::Gauge& crd_started_;
  prometheus::Gauge& crd_running_;
  prometheus::Family<prometheus::Counter>& crd_watch_errors_;
  prometheus::Family<prometheus::Counter>* granular_ = nullptr;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<KindMetrics>, std::less<>> by_kind_;
};

}  // namespace sloop::ingest
