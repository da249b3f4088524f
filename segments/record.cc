#include "segments/record.h"

#include "schema/record_generated.h"

// The watch vocabulary (schema/watch_event.h) has the values the record schema stores.
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

}  // namespace sloop
