#include "ingest/object_table.h"

#include <vector>

namespace sloop::ingest {

std::string ObjectTable::Key(std::string_view ns, std::string_view name, std::string_view uid) {
  if (!uid.empty()) return std::string(uid);
  std::string key;
  key.reserve(ns.size() + name.size() + 2);
  key.append("/").append(ns).append("/").append(name);
  return key;
}

ObjectTable::Observation ObjectTable::Observe(std::string_view ns, std::string_view name,
                                              std::string_view uid, std::string_view rv,
                                              uint64_t fingerprint) {
  auto [it, inserted] = entries_.try_emplace(Key(ns, name, uid));
  Entry& e = it->second;
  e.relist_epoch = epoch_;
  if (inserted) {
    e.namespace_ = ns;
    e.name = name;
    e.uid = uid;
    e.resource_version = rv;
    e.fingerprint = fingerprint;
    return {Change::kNew, 0};
  }
  uint64_t previous = e.fingerprint;
  e.fingerprint = fingerprint;
  if (e.resource_version == rv) return {Change::kUnchanged, previous};
  e.resource_version = rv;
  return {Change::kChanged, previous};
}

bool ObjectTable::Remove(std::string_view ns, std::string_view name, std::string_view uid) {
  return entries_.erase(Key(ns, name, uid)) > 0;
}

void ObjectTable::BeginRelist() { ++epoch_; }

size_t ObjectTable::EndRelist(const std::function<void(const Entry&)>& vanished) {
  std::vector<std::string> gone;
  for (const auto& [key, e] : entries_) {
    if (e.relist_epoch != epoch_) gone.push_back(key);
  }
  for (const auto& key : gone) {
    auto it = entries_.find(key);
    vanished(it->second);
    entries_.erase(it);
  }
  return gone.size();
}

}  // namespace sloop::ingest
