// A timeline: which resources lived when within a time range, what changed and when, and the
// Events about them, one row per resource. Store::Timeline() answers a TimelineQuery with a
// TimelineResult (the types below); engine/timeline.cc holds how.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <memory_resource>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "engine/shard.h"
#include "index/resource_key.h"
#include "schema/watch_event.h"

namespace sloop {

struct TimeRange {
  int64_t start_ns = 0;
  int64_t end_ns = 0;
};

enum class TimelineSort { kStart, kMostEvents, kName };

struct TimelineQuery {
  TimeRange range;
  std::string namespace_;  // "" = all
  std::string kind;        // "" = all (Events are shown only when asked for by kind)
  std::string name_match;  // substring of the name; "" = any
  std::string name_exact;  // exact name; "" = any
  std::string uid;         // exact uid; "" = any
  // The namespaces the asker may read (null: all): rows of others are left out before they are
  // counted (matched, truncated) or take a place under the limit. Called once a namespace.
  std::function<bool(std::string_view namespace_)> may_read;
  TimelineSort sort = TimelineSort::kStart;
  size_t limit = 5000;
  // Which resources the window holds is all that is asked (their times and ticks are not
  // read): an Event of an older shard, whose times are its records', is taken to span the
  // shard's records, so the rows are a superset of those of the window, with times that may
  // be the shard's.
  bool which_only = false;
  // Raised by the caller to give up (its deadline passed): the scan stops soon after and the
  // query fails with kAborted. Null: never.
  const std::atomic<bool>* cancel = nullptr;
  // The most memory the rows may take while they are built (their strings, ticks and heat
  // included): past it the query fails with kInvalidArgument, saying to narrow it, rather than
  // take the recorder's memory (ticks of resources that change every few seconds add up over
  // days). Ordinary timelines take a few MB.
  size_t max_bytes = size_t{256} << 20;
};

// The strings of a timeline row (key, API group and version, reasons, owners) are views into the
// TimelineResult's arena, valid while the result lives: one query copies each string once, with
// no allocation of its own, however many shards the resource lived through.
struct HeatCell {
  int64_t minute_unix = 0;  // start of the minute, Unix seconds
  std::string_view reason;
  EventSeverity severity = EventSeverity::kUnknown;
  uint32_t count = 0;
};

// An array of plain values in a TimelineResult's arena, grown there (16 bytes, no destructor).
template <typename T>
class ArenaList {
 public:
  const T* begin() const { return data_; }
  const T* end() const { return data_ + size_; }
  T* begin() { return data_; }
  T* end() { return data_ + size_; }
  const T* data() const { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const T& operator[](size_t i) const { return data_[i]; }
  T& operator[](size_t i) { return data_[i]; }
  operator std::span<const T>() const { return {data_, size_}; }

  void push_back(const T& value, std::pmr::memory_resource* arena) {
    if (size_ == capacity_) Grow(arena);
    data_[size_++] = value;
  }
  void truncate(size_t n) { size_ = static_cast<uint32_t>(std::min<size_t>(n, size_)); }

 private:
  void Grow(std::pmr::memory_resource* arena) {
    uint32_t capacity = capacity_ ? capacity_ * 2 : 4;
    T* grown = static_cast<T*>(arena->allocate(capacity * sizeof(T), alignof(T)));
    for (uint32_t i = 0; i < size_; ++i) grown[i] = data_[i];
    data_ = grown;
    capacity_ = capacity;
  }
  T* data_ = nullptr;
  uint32_t size_ = 0;
  uint32_t capacity_ = 0;
};

struct TimelineRow {
  ResourceKeyView key;
  std::string_view api_group;
  std::string_view api_version;
  int64_t start_ns = 0;  // clipped to the query's range
  int64_t end_ns = 0;
  int64_t creation_ns = 0;
  bool deleted = false;             // deleted within the range
  ArenaList<uint32_t> changed_at;   // Unix seconds
  ArenaList<uint32_t> nochange_at;  // Unix seconds
  ArenaList<HeatCell> heat;         // by minute, then reason
  std::span<const OwnerView> owners;
  uint64_t events = 0;
  uint64_t warnings = 0;
};

// Rows own nothing (the arena does): the result's default moves may free the old arena first.
static_assert(std::is_trivially_destructible_v<TimelineRow>);

struct TimelineResult {
  // Holds what the rows point to (their strings and lists).
  std::unique_ptr<std::pmr::monotonic_buffer_resource> arena;
  std::vector<TimelineRow> rows;
  size_t matched = 0;      // rows before the limit
  bool truncated = false;  // the limit (or the scan cap) cut rows off
};

}  // namespace sloop
