// Events (core/v1), aggregated as the client-side EventCorrelator does, expiring after the TTL.
#include <cstdio>

#include "cluster.h"
#include "cluster_internal.h"

namespace kubesim {

void Cluster::record(Kind kind, const ObjectMeta& involved, std::string_view type,
                     std::string_view reason, const std::string& message,
                     std::string_view component, const std::string& host,
                     const std::string& field_path) {
  ++reasons_[std::string(reason)];
  std::string index_key = involved.uid;
  index_key += '\x1f';
  index_key += reason;
  index_key += '\x1f';
  index_key += message;
  if (auto it = event_index_.find(index_key); it != event_index_.end()) {
    if (auto e = events_.find(it->second); e != events_.end()) {
      e->second->count++;
      e->second->last = now_;
      e->second->meta.updated = now_;
      e->second->involved_rv = involved.rv;
      commit(*e->second, EventType::Modified);
      return;
    }
  }
  const std::string ns = involved.ns.empty() ? "default" : involved.ns;
  char suffix[24];
  std::snprintf(suffix, sizeof suffix, ".%llx",
                static_cast<unsigned long long>(now_ + static_cast<SimTime>(random(1000))));
  auto e = std::make_unique<EventState>();
  e->meta = meta(ns, involved.name + suffix, 0);
  e->involved_kind = kind;
  e->involved_ns = involved.ns;
  e->involved_name = involved.name;
  e->involved_uid = involved.uid;
  e->involved_rv = involved.rv;
  e->field_path = field_path;
  e->reason = reason;
  e->message = message;
  e->type = type;
  e->component = component;
  e->host = host;
  e->first = e->last = now_;
  const std::string key = key_of(e->meta);
  if (events_.count(key)) return;  // same name in the same nanosecond: drop, as a real recorder
  auto& ref = *e;
  events_.emplace(key, std::move(e));
  event_index_[index_key] = key;
  commit(ref, EventType::Added);
  at(now_ + t_.event_ttl, [this, key] { expire_event(key); });
}

void Cluster::expire_event(const std::string& key) {
  auto it = events_.find(key);
  if (it == events_.end()) return;
  const SimTime due = it->second->last + t_.event_ttl;
  if (due > now_) {
    at(due, [this, key] { expire_event(key); });
    return;
  }
  const EventState& e = *it->second;
  event_index_.erase(e.involved_uid + '\x1f' + e.reason + '\x1f' + e.message);
  remove(events_, key);
}

}  // namespace kubesim
