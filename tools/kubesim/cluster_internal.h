// What the files that implement Cluster (cluster.cc, cluster_*.cc) share and nobody else uses:
// the object key of a state and the two templates every controller uses to publish a change.
#pragma once

#include <memory>
#include <string>

#include "cluster.h"

namespace kubesim {

inline std::string key_of(const ObjectMeta& m) { return object_key(m.ns, m.name); }

template <class T>
void Cluster::commit(T& s, EventType type) {
  s.meta.rv = ++rv_;
  ++emitted_;
  if (sink_ == nullptr) return;
  auto v = std::make_shared<const ObjectVersion>(render(s));
  sink_->on_event(WatchEvent{type, rv_, now_, std::move(v)});
}

template <class T>
void Cluster::remove(Collection<T>& c, const std::string& key) {
  auto it = c.find(key);
  if (it == c.end()) return;
  commit(*it->second, EventType::Deleted);
  c.erase(it);
}

}  // namespace kubesim
