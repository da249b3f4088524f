// The Kubernetes vocabulary of a stored record: the watch event type (with the two kinds sloop
// adds: a relist and an inferred deletion) and what an Event object says about another object.
// The values are those schema/record.fbs stores (checked at compile time in segments/record.cc);
// the segment layer stores them, the layers above give them their meaning.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace sloop {

enum class WatchType : uint8_t {
  kAdded = 0,
  kModified = 1,
  kDeleted = 2,
  kRelisted = 3,         // seen in a relist after a watch gap, not in a watch frame
  kDeletedInferred = 4,  // missing from a relist: deleted while the watch was down
};

enum class EventSeverity : uint8_t { kUnknown = 0, kNormal = 1, kWarning = 2 };

// "ADDED", "MODIFIED", "DELETED", "RELISTED", "DELETED_INFERRED".
constexpr std::string_view WatchTypeName(WatchType type) {
  switch (type) {
    case WatchType::kAdded:
      return "ADDED";
    case WatchType::kModified:
      return "MODIFIED";
    case WatchType::kDeleted:
      return "DELETED";
    case WatchType::kRelisted:
      return "RELISTED";
    case WatchType::kDeletedInferred:
      return "DELETED_INFERRED";
  }
  return "UNKNOWN";
}

constexpr std::optional<WatchType> ParseWatchType(std::string_view name) {
  if (name == "ADDED") return WatchType::kAdded;
  if (name == "MODIFIED") return WatchType::kModified;
  if (name == "DELETED") return WatchType::kDeleted;
  if (name == "RELISTED") return WatchType::kRelisted;
  if (name == "DELETED_INFERRED") return WatchType::kDeletedInferred;
  return std::nullopt;
}

// "Normal", "Warning", "".
constexpr std::string_view EventSeverityName(EventSeverity severity) {
  switch (severity) {
    case EventSeverity::kNormal:
      return "Normal";
    case EventSeverity::kWarning:
      return "Warning";
    case EventSeverity::kUnknown:
      return "";
  }
  return "";
}

// What a core/v1 Event says about the object it involves (for Event records only).
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

}  // namespace sloop
