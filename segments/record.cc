#include "segments/record.h"

#include "schema/record_generated.h"

namespace sloop {

static_assert(static_cast<uint8_t>(WatchType::kAdded) ==
              static_cast<uint8_t>(fb::WatchType::Added));
static_assert(static_cast<uint8_t>(WatchType::kModified) ==
              static_cast<uint8_t>(fb::WatchType::Modified));
static_assert(static_cast<uint8_t>(WatchType::kDeleted) ==
              static_cast<uint8_t>(fb::WatchType::Deleted));
static_assert(static_cast<uint8_t>(WatchType::kRelisted) ==
              static_cast<uint8_t>(fb::WatchType::Relisted));
static_assert(static_cast<uint8_t>(WatchType::kDeletedInferred) ==
              static_cast<uint8_t>(fb::WatchType::DeletedInferred));
static_assert(static_cast<uint8_t>(EventSeverity::kNormal) ==
              static_cast<uint8_t>(fb::EventSeverity::Normal));
static_assert(static_cast<uint8_t>(EventSeverity::kWarning) ==
              static_cast<uint8_t>(fb::EventSeverity::Warning));

std::string_view WatchTypeName(WatchType type) {
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

std::optional<WatchType> ParseWatchType(std::string_view name) {
  if (name == "ADDED") return WatchType::kAdded;
  if (name == "MODIFIED") return WatchType::kModified;
  if (name == "DELETED") return WatchType::kDeleted;
  if (name == "RELISTED") return WatchType::kRelisted;
  if (name == "DELETED_INFERRED") return WatchType::kDeletedInferred;
  return std::nullopt;
}

std::string_view EventSeverityName(EventSeverity severity) {
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

}  // namespace sloop
