#include "object_store.h"

#include <algorithm>

namespace kubesim {

ObjectStore::ObjectStore(size_t window) : window_(std::max<size_t>(window, 1)) {}

void ObjectStore::on_event(const WatchEvent& event) {
  {
    std::lock_guard lock(mu_);
    auto& objects = objects_[static_cast<size_t>(event.object->kind)];
    const std::string key = object_key(event.object->ns, event.object->name);
    if (event.type == EventType::Deleted) {
      objects.erase(key);
    } else {
      objects[key] = event.object;
    }
    rv_ = std::max(rv_, event.rv);
    events_.push_back(event);
    while (events_.size() > window_) {
      floor_ = events_.front().rv;
      events_.pop_front();
    }
  }
  cv_.notify_all();
}

uint64_t ObjectStore::resource_version() const {
  std::lock_guard lock(mu_);
  return rv_;
}

uint64_t ObjectStore::oldest_resource_version() const {
  std::lock_guard lock(mu_);
  return floor_;
}

ObjectStore::Page ObjectStore::list(Kind kind, std::string_view ns,
                                    const std::function<bool(const ObjectVersion&)>& filter,
                                    std::string_view after_key, size_t limit) const {
  Page page;
  std::vector<ObjectPtr> candidates;
  {
    std::lock_guard lock(mu_);
    page.rv = rv_;
    const auto& objects = objects_[static_cast<size_t>(kind)];
    auto it = objects.begin();
    std::string prefix;
    if (!ns.empty()) {
      prefix = std::string(ns) + "/";
      it = objects.lower_bound(prefix);
    }
    if (!after_key.empty()) {
      auto after = objects.upper_bound(std::string(after_key));
      if (after != objects.end() && (it == objects.end() || after->first > it->first)) it = after;
    }
    for (; it != objects.end(); ++it) {
      if (!prefix.empty() && !it->first.starts_with(prefix)) break;
      candidates.push_back(it->second);
    }
  }
  // Filtering outside the lock: the versions are immutable.
  for (auto& obj : candidates) {
    if (filter && !filter(*obj)) continue;
    if (limit > 0 && page.items.size() == limit) {
      ++page.remaining;
      continue;
    }
    page.items.push_back(std::move(obj));
  }
  if (page.remaining > 0) {
    page.last_key = object_key(page.items.back()->ns, page.items.back()->name);
  }
  return page;
}

ObjectPtr ObjectStore::get(Kind kind, std::string_view ns, std::string_view name) const {
  std::lock_guard lock(mu_);
  const auto& objects = objects_[static_cast<size_t>(kind)];
  auto it = objects.find(object_key(ns, name));
  return it == objects.end() ? nullptr : it->second;
}

ObjectStore::Read ObjectStore::events_after(uint64_t after, size_t max,
                                            std::vector<WatchEvent>* out) const {
  std::lock_guard lock(mu_);
  if (after < floor_) return Read::Expired;
  auto it = std::upper_bound(events_.begin(), events_.end(), after,
                             [](uint64_t rv, const WatchEvent& e) { return rv < e.rv; });
  for (; it != events_.end() && out->size() < max; ++it) out->push_back(*it);
  return Read::Ok;
}

void ObjectStore::wait_for(uint64_t after, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return shutdown_ || rv_ > after; });
}

void ObjectStore::shutdown() {
  {
    std::lock_guard lock(mu_);
    shutdown_ = true;
  }
  cv_.notify_all();
}

void ObjectStore::expire_all() {
  std::lock_guard lock(mu_);
  floor_ = rv_;
  events_.clear();
}

bool ObjectStore::is_shut_down() const {
  std::lock_guard lock(mu_);
  return shutdown_;
}

}  // namespace kubesim
