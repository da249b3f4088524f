#include "ingest/object_table.h"

#include <xxhash.h>

#include <vector>

namespace sloop::ingest {

ObjectTable::Id ObjectTable::MakeId(std::string_view ns, std::string_view name,
                                    std::string_view uid) {
  XXH128_hash_t h;
  if (!uid.empty()) {
    h = XXH3_128bits(uid.data(), uid.size());
  } else {
    // No uid: "/namespace/name", which no uid looks like.
    thread_local std::string key;
    key.assign("/").append(ns).append("/").append(name);
    h = XXH3_128bits(key.data(), key.size());
  }
  return {h.low64, h.high64};
}

ObjectTable::Entry ObjectTable::View(const Known& k) {
  std::string_view t = k.text;
  Entry e;
  size_t a = t.find('\0'), b = t.find('\0', a + 1), c = t.find('\0', b + 1);
  e.namespace_ = t.substr(0, a);
  e.name = t.substr(a + 1, b - a - 1);
  e.uid = t.substr(b + 1, c - b - 1);
  e.resource_version = t.substr(c + 1);
  return e;
}

ObjectTable::Observation ObjectTable::Observe(std::string_view ns, std::string_view name,
                                              std::string_view uid, std::string_view rv,
                                              uint64_t fingerprint) {
  auto [it, inserted] = entries_.try_emplace(MakeId(ns, name, uid));
  Known& k = it->second;
  k.relist_epoch = epoch_;
  if (inserted) {
    k.text.reserve(ns.size() + name.size() + uid.size() + rv.size() + 3);
    k.text.append(ns).append(1, '\0').append(name).append(1, '\0').append(uid);
    k.text.append(1, '\0').append(rv);
    k.fingerprint = fingerprint;
    return {Change::kNew, 0};
  }
  uint64_t previous = k.fingerprint;
  k.fingerprint = fingerprint;
  size_t rv_at = k.text.rfind('\0') + 1;
  if (std::string_view(k.text).substr(rv_at) == rv) return {Change::kUnchanged, previous};
  k.text.resize(rv_at);
  k.text.append(rv);
  return {Change::kChanged, previous};
}

void ObjectTable::Seed(std::string_view ns, std::string_view name, std::string_view uid,
                       std::string_view rv) {
  Observe(ns, name, uid, rv, 0);
}

bool ObjectTable::Remove(std::string_view ns, std::string_view name, std::string_view uid) {
  return entries_.erase(MakeId(ns, name, uid)) > 0;
}

bool ObjectTable::Touch(std::string_view ns, std::string_view name, std::string_view uid) {
  auto it = entries_.find(MakeId(ns, name, uid));
  if (it == entries_.end()) return false;
  it->second.relist_epoch = epoch_;
  return true;
}

std::optional<ObjectTable::Entry> ObjectTable::Find(std::string_view ns, std::string_view name,
                                                    std::string_view uid) const {
  auto it = entries_.find(MakeId(ns, name, uid));
  if (it == entries_.end()) return std::nullopt;
  return View(it->second);
}

void ObjectTable::Unrecorded(std::string_view ns, std::string_view name, std::string_view uid,
                             const Observation& observed) {
  auto it = entries_.find(MakeId(ns, name, uid));
  if (it == entries_.end()) return;
  if (observed.change == Change::kNew) {
    entries_.erase(it);
    return;
  }
  Known& k = it->second;
  k.text.resize(k.text.rfind('\0') + 1);
  k.fingerprint = 0;
}

void ObjectTable::BeginRelist() { ++epoch_; }

size_t ObjectTable::EndRelist(const std::function<bool(const Entry&)>& vanished) {
  std::vector<Id> gone;
  for (const auto& [id, k] : entries_) {
    if (k.relist_epoch != epoch_) gone.push_back(id);
  }
  for (const Id& id : gone) {
    auto it = entries_.find(id);
    if (vanished(View(it->second))) entries_.erase(it);
  }
  return gone.size();
}

}  // namespace sloop::ingest
