// WatchFrame: one line of a Kubernetes watch stream ({"type":"ADDED","object":{...}}),
// classified from its raw text without parsing the object into a tree. The object's bytes are
// kept as sent; TypeRecorder parses them.
#pragma once

#include <string_view>

#include "schema/watch_event.h"

namespace sloop::ingest {

struct WatchFrame {
  enum class Kind {
    kEvent,        // ADDED, MODIFIED or DELETED: `type` and `object` are set
    kBookmark,     // BOOKMARK: `resource_version` is where the watch stands
    kError,        // ERROR: `error_code` ("410") and `error_message` of the Status object
    kUnknownType,  // a well-formed frame of a type this recorder does not know
    kMalformed,    // not a watch frame at all (no "type", no object, not JSON-shaped)
  };
  Kind kind = Kind::kMalformed;
  WatchType type = WatchType::kAdded;
  std::string_view type_name;         // the raw "type" string
  std::string_view object;            // the raw "object" value, '{' … '}'
  std::string_view resource_version;  // object.metadata.resourceVersion, when readable
  std::string_view error_code;        // raw "code" of an ERROR's Status
  std::string_view error_message;     // "message" of an ERROR's Status, without quotes
};

// Classifies one frame (no trailing newline). Views point into `frame`. Never fails: what cannot
// be read is kMalformed. Bounded work: linear in the frame's size, no recursion.
WatchFrame ParseWatchFrame(std::string_view frame);

// metadata.<field> of an object (or a list) from its raw text, as a string without quotes;
// empty when absent or unreadable.
std::string_view RawMetadataField(std::string_view json, std::string_view field);

}  // namespace sloop::ingest
