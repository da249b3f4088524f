// The in-memory view of one stored record. Views borrow their bytes: from the caller's buffers
// when appending, from a decoded Block when reading (valid while that Block lives).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace sloop {

// Values match sloop.fb.WatchType in schema/record.fbs (checked at compile time in record.cc).
enum class WatchType : uint8_t {
  kAdded = 0,
  kModified = 1,
  kDeleted = 2,
  kRelisted = 3,
  kDeletedInferred = 4,
};

// Values match sloop.fb.EventSeverity.
enum class EventSeverity : uint8_t { kUnknown = 0, kNormal = 1, kWarning = 2 };

// "ADDED", "MODIFIED", "DELETED", "RELISTED", "DELETED_INFERRED".
std::string_view WatchTypeName(WatchType type);
std::optional<WatchType> ParseWatchType(std::string_view name);
std::string_view EventSeverityName(EventSeverity severity);  // "Normal", "Warning", ""

struct EventInfoView {
  std::string_view involved_kind;
  std::string_view involved_namespace;
  std::string_view involved_name;
  std::string_view involved_uid;
  std::string_view reason;
  EventSeverity severity = EventSeverity::kUnknown;
  int32_t count = 0;
  int64_t first_timestamp_ns = 0;
  int64_t last_timestamp_ns = 0;
  std::string_view message;
};

struct RecordView {
  int64_t observed_ns = 0;
  WatchType watch_type = WatchType::kAdded;
  std::string_view api_group;
  std::string_view api_version;
  std::string_view kind;
  std::string_view namespace_;
  std::string_view name;
  std::string_view uid;
  std::string_view resource_version;
  std::string_view payload;  // the object's JSON, exactly as received
  std::optional<EventInfoView> event;
};

}  // namespace sloop
