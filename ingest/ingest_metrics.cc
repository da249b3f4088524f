#include "ingest/ingest_metrics.h"

namespace sloop::ingest {

using prometheus::BuildCounter;
using prometheus::BuildGauge;

void KindMetrics::Error(std::string_view reason) {
  auto it = errors.find(reason);
  if (it == errors.end()) {
    auto* c =
        &errors_family->Add({{"kind", kind}, {"group", group}, {"reason", std::string(reason)}});
    it = errors.emplace(std::string(reason), c).first;
  }
  it->second->Increment();
  if (crd_watch_errors && reason != "store") crd_watch_errors->Increment();
}

namespace {

// Sloop's watch types (its KubeWatchResult enum): an inferred deletion is a DELETE, as client-go
// delivers one (DeletedFinalStateUnknown); a relist's record is an UPDATE, as a resync is.
size_t SloopWatchType(WatchType t) {
  switch (t) {
    case WatchType::kAdded:
      return 0;
    case WatchType::kModified:
    case WatchType::kRelisted:
      return 1;
    case WatchType::kDeleted:
    case WatchType::kDeletedInferred:
      return 2;
  }
  return 1;
}

}  // namespace

void KindMetrics::Stored(const RecordView& r) {
  events[static_cast<size_t>(r.watch_type)]->Increment();
  size_t t = SloopWatchType(r.watch_type);
  sloop_count[t]->Increment();
  sloop_bytes[t]->Increment(static_cast<double>(r.payload.size()));
  sloop_attempts->Increment();
  sloop_success->Increment();
  if (granular && r.event) {
    const EventInfoView& e = *r.event;
    granular
        ->Add({{"namespace", std::string(e.involved_namespace)},
               {"name", std::string(e.involved_name)},
               {"kind", std::string(e.involved_kind)},
               {"reason", std::string(e.reason)},
               {"type", std::string(EventSeverityName(e.severity))}})
        .Increment();
  }
}

void KindMetrics::StoreFailed() {
  Error("store");
  sloop_attempts->Increment();
  sloop_failure->Increment();
}

IngestMetrics::IngestMetrics(prometheus::Registry& r, bool granular_events)
    : events_(BuildCounter()
                  .Name("sloop_ingest_events_total")
                  .Help("Records handed to the store, by kind and watch type")
                  .Register(r)),
      bytes_(BuildCounter()
                 .Name("sloop_ingest_bytes_total")
                 .Help("Object JSON bytes received")
                 .Register(r)),
      relists_(BuildCounter()
                   .Name("sloop_ingest_relists_total")
                   .Help("Relists after a 410 Gone, a resync or a failed watch")
                   .Register(r)),
      inferred_(BuildCounter()
                    .Name("sloop_ingest_inferred_deletions_total")
                    .Help("Objects found deleted by a relist (deleted while disconnected)")
                    .Register(r)),
      unchanged_(BuildCounter()
                     .Name("sloop_ingest_relist_unchanged_total")
                     .Help("Objects a relist found unchanged (nothing recorded)")
                     .Register(r)),
      reconnects_(BuildCounter()
                      .Name("sloop_ingest_reconnects_total")
                      .Help("Watches reopened after a broken connection or a stall")
                      .Register(r)),
      errors_(BuildCounter()
                  .Name("sloop_ingest_errors_total")
                  .Help("Failed requests and frames, by reason")
                  .Register(r)),
      dropped_(BuildCounter()
                   .Name("sloop_ingest_dropped_total")
                   .Help("Objects not recorded: excluded by a rule, or minor Node updates")
                   .Register(r)),
      objects_(BuildGauge()
                   .Name("sloop_ingest_objects")
                   .Help("Objects of the kind currently known (the list size)")
                   .Register(r)),
      lag_(BuildGauge()
               .Name("sloop_ingest_watch_lag_seconds")
               .Help("Seconds since the kind's last watch event arrived")
               .Register(r)),
      buffer_peak_(BuildGauge()
                       .Name("sloop_ingest_buffer_peak_bytes")
                       .Help("The most bytes the kind's watch-frame or list-page buffer has held "
                             "(never above -max-watch-frame-mb)")
                       .Register(r)),
      forbidden_(BuildGauge()
                     .Name("sloop_ingest_forbidden_kinds")
                     .Help("1 while the API server refuses (403) to list or watch the kind: its "
                           "role lacks get/list/watch on it; retried every few minutes")
                     .Register(r)),
      sloop_count_(BuildCounter()
                       .Name("sloop_ingress_kubewatchcount")
                       .Help("Records stored, by kind and Sloop's watch type (ADD, UPDATE, "
                             "DELETE); Sloop's name")
                       .Register(r)),
      sloop_bytes_(BuildCounter()
                       .Name("sloop_ingress_kubewatchbytes")
                       .Help("Payload bytes of the records stored, by kind and Sloop's watch "
                             "type; Sloop's name")
                       .Register(r)),
      sloop_attempts_(BuildCounter()
                          .Name("sloop_processing_watchtable_updatecount")
                          .Help("Records offered to the store; Sloop's name")
                          .Register(r)
                          .Add({})),
      sloop_success_(BuildCounter()
                         .Name("sloop_ingestion_success_count")
                         .Help("Records the store took (Sloop counts 2-3 table updates per "
                               "record); Sloop's name")
                         .Register(r)
                         .Add({})),
      sloop_failure_(BuildCounter()
                         .Name("sloop_ingestion_failure_count")
                         .Help("Records the store refused; Sloop's name")
                         .Register(r)
                         .Add({})),
      crd_started_(BuildGauge()
                       .Name("sloop_crd_informer_started")
                       .Help("Custom resource types being watched; Sloop's name")
                       .Register(r)
                       .Add({})),
      crd_running_(BuildGauge()
                       .Name("sloop_crd_informer_running")
                       .Help("Custom resource types being watched; Sloop's name")
                       .Register(r)
                       .Add({})),
      crd_watch_errors_(BuildCounter()
                            .Name("sloop_crd_informer_watch_errors")
                            .Help("Watch and list failures of custom resource types; Sloop's name")
                            .Register(r)) {
  if (granular_events) {
    granular_ = &BuildCounter()
                     .Name("metric_ingress_event_kubewatchcount")
                     .Help(
                         "Events stored, by involved object and reason "
                         "(-enable-granular-metrics); Sloop's name")
                     .Register(r);
  }
}

void IngestMetrics::Watching(const ResourceType& type, bool on) {
  if (!type.is_crd) return;
  if (on) {
    KindMetrics& m = For(type.kind, type.group);
    std::lock_guard lock(mu_);
    m.crd_watch_errors = &crd_watch_errors_.Add(
        {{"kind", type.kind}, {"group", type.group}, {"version", type.version}});
  }
  crd_started_.Increment(on ? 1 : -1);
  crd_running_.Increment(on ? 1 : -1);
}

KindMetrics& IngestMetrics::For(std::string_view kind, std::string_view group) {
  std::string key = std::string(group) + "/" + std::string(kind);
  std::lock_guard lock(mu_);
  auto it = by_kind_.find(key);
  if (it != by_kind_.end()) return *it->second;
  auto m = std::make_unique<KindMetrics>();
  m->kind = kind;
  m->group = group;
  prometheus::Labels base{{"kind", m->kind}, {"group", m->group}};
  static const char* kTypes[] = {"ADDED", "MODIFIED", "DELETED", "RELISTED", "DELETED_INFERRED"};
  for (size_t i = 0; i < 5; ++i) {
    auto labels = base;
    labels["type"] = kTypes[i];
    m->events[i] = &events_.Add(labels);
  }
  m->bytes = &bytes_.Add(base);
  m->relists = &relists_.Add(base);
  m->inferred_deletions = &inferred_.Add(base);
  m->relist_unchanged = &unchanged_.Add(base);
  m->reconnects = &reconnects_.Add(base);
  auto excluded = base;
  excluded["reason"] = "excluded";
  m->excluded = &dropped_.Add(excluded);
  auto minor = base;
  minor["reason"] = "minor_node_update";
  m->minor_node_updates = &dropped_.Add(minor);
  m->objects = &objects_.Add(base);
  m->watch_lag = &lag_.Add(base);
  m->buffer_peak = &buffer_peak_.Add(base);
  m->forbidden = &forbidden_.Add(base);
  m->errors_family = &errors_;
  static const char* kSloopTypes[] = {"ADD", "UPDATE", "DELETE"};
  for (size_t i = 0; i < 3; ++i) {
    prometheus::Labels sl{{"kind", m->kind}, {"watchtype", kSloopTypes[i]}};
    m->sloop_count[i] = &sloop_count_.Add(sl);
    m->sloop_bytes[i] = &sloop_bytes_.Add(sl);
  }
  m->sloop_attempts = &sloop_attempts_;
  m->sloop_success = &sloop_success_;
  m->sloop_failure = &sloop_failure_;
  m->granular = granular_;
  auto& ref = *m;
  by_kind_.emplace(key, std::move(m));
  return ref;
}

}  // namespace sloop::ingest
