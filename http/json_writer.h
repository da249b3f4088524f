// A small streaming JSON writer. Strings are escaped for any input: quotes, backslashes and
// control characters as JSON escapes, '<' '>' '&' U+2028 U+2029 as \u escapes (safe inside
// HTML, as Go's encoding/json does), and each byte of invalid UTF-8 as U+FFFD. Optional
// indentation reproduces Go's json.MarshalIndent layout (Sloop's /data answers use one space).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sloop::http {

bool IsValidUtf8(std::string_view s);

// Appends s as a quoted JSON string.
void AppendJsonString(std::string* out, std::string_view s);

// Appends s with HTML's five special characters escaped; invalid UTF-8 becomes U+FFFD.
void AppendHtmlEscaped(std::string* out, std::string_view s);
std::string HtmlEscape(std::string_view s);

class JsonWriter {
 public:
  // indent: the indentation unit ("" = compact).
  explicit JsonWriter(std::string* out, std::string_view indent = "")
      : out_(out), indent_(indent) {}

  JsonWriter& BeginObject() { return Open('{'); }
  JsonWriter& EndObject() { return Close('}'); }
  JsonWriter& BeginArray() { return Open('['); }
  JsonWriter& EndArray() { return Close(']'); }

  JsonWriter& Key(std::string_view key);
  JsonWriter& String(std::string_view s);
  JsonWriter& Int(int64_t v);
  JsonWriter& Uint(uint64_t v);
  JsonWriter& Double(double v);  // non-finite values are written as null
  JsonWriter& Bool(bool v);
  JsonWriter& Null();
  // An already serialised JSON value, copied verbatim (the caller vouches for its validity).
  JsonWriter& Raw(std::string_view json);

  // Key + value shorthands.
  JsonWriter& Field(std::string_view key, std::string_view v) { return Key(key).String(v); }
  JsonWriter& Field(std::string_view key, const char* v) { return Key(key).String(v); }
  JsonWriter& Field(std::string_view key, const std::string& v) { return Key(key).String(v); }
  JsonWriter& Field(std::string_view key, bool v) { return Key(key).Bool(v); }
  JsonWriter& Field(std::string_view key, int v) { return Key(key).Int(v); }
  JsonWriter& Field(std::string_view key, int64_t v) { return Key(key).Int(v); }
  JsonWriter& Field(std::string_view key, uint64_t v) { return Key(key).Uint(v); }
  JsonWriter& Field(std::string_view key, uint32_t v) { return Key(key).Uint(v); }

  std::string* out() { return out_; }

 private:
  JsonWriter& Open(char c);
  JsonWriter& Close(char c);
  void BeforeValue();
  void NewLine();

  struct Level {
    bool empty = true;
  };
  std::string* out_;
  std::string indent_;
  std::vector<Level> stack_;
  bool after_key_ = false;
};

}  // namespace sloop::http
