// RawJson: finds members and array elements in JSON text without parsing it into a tree, so that
// an object's bytes can be kept exactly as the API server sent them (a watch frame's "object", a
// list page's "items[i]", a capture line's "object"). Values are then parsed with simdjson.
// The scanner checks bracket and string structure only; the slices it returns are validated when
// simdjson parses them.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace sloop::ingest {

// Skips one JSON value starting at text[pos] (leading whitespace allowed). Returns the offset just
// past it, or npos when the text ends early or is not JSON-shaped.
size_t SkipJsonValue(std::string_view text, size_t pos);

// Calls fn(key, value) for each member of the top-level object `text`, in order; `key` is the
// raw key without quotes (escapes left as they are: Kubernetes keys have none). Stops early when
// fn returns false. kCorruption when `text` is not an object.
Result<void> ForEachMember(std::string_view text,
                           const std::function<bool(std::string_view, std::string_view)>& fn);

// The raw value of the top-level member `key` of object `text`; empty when absent.
Result<std::string_view> FindMember(std::string_view text, std::string_view key);

// Calls fn(element) for each element of the array `text`. kCorruption when not an array.
Result<void> ForEachElement(std::string_view text, const std::function<void(std::string_view)>& fn);

// The text of a JSON string value without quotes, or empty when `value` is not a string.
std::string_view StringValue(std::string_view value);

}  // namespace sloop::ingest
