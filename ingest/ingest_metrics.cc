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
}

IngestMetrics::IngestMetrics(prometheus::Registry& r)
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
                     .Register(r)) {}

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
  auto& ref = *m;
  by_kind_.emplace(key, std::move(m));
  return ref;
}

}  // namespace sloop::ingest
