// A structural diff of two JSON documents as RFC 6902-style operations:
//   {"op":"add","path":"/metadata/labels/app","value":…}
//   {"op":"remove","path":"/spec/x","old":…}
//   {"op":"replace","path":"/status/phase","value":"Running","old":"Pending"}
// Objects are compared key by key; arrays element by element (index-wise), extra elements added
// or removed at the end. Paths are JSON Pointers (RFC 6901). Applying the add/remove/replace ops
// in order to the first document yields the second ("old" is extra, for readers).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sloop::http {

class JsonWriter;

// Writes the operations as a JSON array into w. False (and writes nothing) when either document
// is not valid JSON.
bool WriteJsonDiff(std::string_view from, std::string_view to, JsonWriter& w, size_t* op_count);

// The same operations as values. field is the path as kubectl's JSONPath-like field names read
// it: spec.template.spec.containers[0].image (a key holding '.', '/' or '[' as ["key"]).
struct JsonDiffOp {
  std::string_view op;  // "add", "remove", "replace"
  std::string path;     // JSON Pointer
  std::string field;
  std::string value;  // minified JSON; "" for remove
  std::string old;    // minified JSON; "" for add
};
bool JsonDiffOps(std::string_view from, std::string_view to, std::vector<JsonDiffOp>* ops);

}  // namespace sloop::http
