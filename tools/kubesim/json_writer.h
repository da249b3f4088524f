// A small append-only writer of compact JSON (no whitespace, no raw newlines), used to build the
// simulator's objects, lists, tables and frames. Kept inside tools/kubesim on purpose: the
// simulator shares no code with the recorder's ingest side, so that each checks the other; it
// uses only base/ (string escaping), which ingest does not use to read what kubesim writes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/json_text.h"

namespace kubesim {

// Appends JSON text to a caller-owned string. Commas are inserted automatically: a value written
// after another value or after a closed container gets one. The writer does not check nesting;
// callers pair begin/end themselves.
class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}

  JsonWriter& begin_object() {
    sep();
    out_ += '{';
    need_comma_ = false;
    return *this;
  }
  JsonWriter& end_object() {
    out_ += '}';
    need_comma_ = true;
    return *this;
  }
  JsonWriter& begin_array() {
    sep();
    out_ += '[';
    need_comma_ = false;
    return *this;
  }
  JsonWriter& end_array() {
    out_ += ']';
    need_comma_ = true;
    return *this;
  }
  JsonWriter& key(std::string_view k) {
    sep();
    sloop::AppendJsonString(&out_, k);
    out_ += ':';
    need_comma_ = false;
    return *this;
  }
  JsonWriter& str(std::string_view v) {
    sep();
    sloop::AppendJsonString(&out_, v);
    need_comma_ = true;
    return *this;
  }
  JsonWriter& num(int64_t v) {
    sep();
    out_ += std::to_string(v);
    need_comma_ = true;
    return *this;
  }
  JsonWriter& boolean(bool v) {
    sep();
    out_ += v ? "true" : "false";
    need_comma_ = true;
    return *this;
  }
  JsonWriter& null() {
    sep();
    out_ += "null";
    need_comma_ = true;
    return *this;
  }
  // Appends an already-encoded JSON value verbatim.
  JsonWriter& raw(std::string_view json) {
    sep();
    out_ += json;
    need_comma_ = true;
    return *this;
  }

  // Shorthands for "key": value.
  JsonWriter& kv(std::string_view k, std::string_view v) { return key(k).str(v); }
  JsonWriter& kv(std::string_view k, const char* v) { return key(k).str(v); }
  JsonWriter& kv(std::string_view k, const std::string& v) { return key(k).str(v); }
  JsonWriter& kv(std::string_view k, int64_t v) { return key(k).num(v); }
  JsonWriter& kv(std::string_view k, int v) { return key(k).num(v); }
  JsonWriter& kv(std::string_view k, bool v) { return key(k).boolean(v); }
  // "key":{} — common in managedFields.
  JsonWriter& empty_object(std::string_view k) {
    key(k);
    sep();
    out_ += "{}";
    need_comma_ = true;
    return *this;
  }

  std::string& out() { return out_; }

 private:
  void sep() {
    if (need_comma_) out_ += ',';
  }

  std::string& out_;
  bool need_comma_ = false;
};

}  // namespace kubesim
