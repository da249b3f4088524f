// The API server's view of the cluster: the current version of every object, kept in list order,
// and a window of recent watch events. Fed by the Cluster through EventSink; read by the HTTP
// handlers. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "watch_event.h"

namespace kubesim {

using ObjectPtr = std::shared_ptr<const ObjectVersion>;

class ObjectStore : public EventSink {
 public:
  // Keeps the last `window` events for watches; a watch from an older resource version gets
  // 410 Expired.
  explicit ObjectStore(size_t window);

  void on_event(const WatchEvent& event) override;

  uint64_t resource_version() const;
  // The oldest resource version a watch can resume from: every event after it is still kept.
  uint64_t oldest_resource_version() const;

  struct Page {
    std::vector<ObjectPtr> items;
    uint64_t rv = 0;       // of the snapshot
    std::string last_key;  // key of the last item when more remain, else ""
    size_t remaining = 0;  // matching items after this page
  };
  // Objects of `kind` (in `ns` when not empty) matching `filter`, in key order, after
  // `after_key`, at most `limit` (0 = all).
  Page list(Kind kind, std::string_view ns, const std::function<bool(const ObjectVersion&)>& filter,
            std::string_view after_key, size_t limit) const;
  ObjectPtr get(Kind kind, std::string_view ns, std::string_view name) const;

  enum class Read { Ok, Expired };
  // Appends to *out the events with rv > after (at most `max`). Expired when `after` is older
  // than the window.
  Read events_after(uint64_t after, size_t max, std::vector<WatchEvent>* out) const;
  // Waits until an event newer than `after` arrives, `timeout` passes or shutdown() is called.
  void wait_for(uint64_t after, std::chrono::milliseconds timeout) const;
  void shutdown();
  bool is_shut_down() const;
  // Forgets every kept event (fault injection): a watch or continue token from before now gets
  // 410 Expired.
  void expire_all();

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  size_t window_;
  uint64_t rv_ = 0;
  uint64_t floor_ = 0;  // events with rv <= floor_ are no longer kept
  bool shutdown_ = false;
  std::map<std::string, ObjectPtr> objects_[kKindCount];
  std::deque<WatchEvent> events_;
};

}  // namespace kubesim
