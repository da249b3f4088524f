// The one interface through which ingest reports the time it may have missed changes (a watch cut
// and relisted, a cluster it could not reach). The engine's RecordingLog implements it; tests
// implement it too. Header-only: ingest does not link the engine.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sloop {

// An interval of time, described by its reporter: scope ("watch", "recorder"), the resource type
// (kind and API group, empty when the interval concerns every type) and a sentence for people.
struct IntervalMark {
  std::string scope;
  std::string kind;
  std::string group;
  std::string reason;
  int64_t start_ns = 0;
};

class IntervalSink {
 public:
  virtual ~IntervalSink() = default;

  // Starts an interval at mark.start_ns, still open; returns its id (never 0). Thread-safe in
  // every implementation. Never fails: a sink that cannot persist it says so in its own log.
  virtual uint64_t OpenInterval(const IntervalMark& mark) = 0;
  // Ends interval id at end_ns (clamped to its start); a non-empty reason replaces the one it was
  // opened with (what it turned out to be). Unknown ids are ignored.
  virtual void CloseInterval(uint64_t id, int64_t end_ns, std::string_view reason) = 0;
  // Withdraws interval id: what it feared did not happen (a watch resumed from its
  // resourceVersion without loss).
  virtual void CancelInterval(uint64_t id) = 0;
};

}  // namespace sloop
