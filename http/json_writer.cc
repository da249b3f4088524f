#include "http/json_writer.h"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "base/json_text.h"

namespace sloop::http {

namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0 when it is invalid (overlong forms,
// surrogates and code points above U+10FFFF included).
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  size_t n = s.size() - i;
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) {
    return (n >= 2 && (b(i + 1) & 0xc0) == 0x80) ? 2 : 0;
  }
  if (c >= 0xe0 && c <= 0xef) {
    if (n < 3 || (b(i + 1) & 0xc0) != 0x80 || (b(i + 2) & 0xc0) != 0x80) return 0;
    if (c == 0xe0 && b(i + 1) < 0xa0) return 0;   // overlong
    if (c == 0xed && b(i + 1) >= 0xa0) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    if (n < 4 || (b(i + 1) & 0xc0) != 0x80 || (b(i + 2) & 0xc0) != 0x80 ||
        (b(i + 3) & 0xc0) != 0x80) {
      return 0;
    }
    if (c == 0xf0 && b(i + 1) < 0x90) return 0;   // overlong
    if (c == 0xf4 && b(i + 1) >= 0x90) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

constexpr std::string_view kReplacement = "\xef\xbf\xbd";

// The bytes a JSON string carries as they are: printable ASCII but " \ and < > & (escaped so
// that an answer pasted into HTML cannot close a script).
constexpr std::array<bool, 256> kPlainByte = [] {
  std::array<bool, 256> t{};
  for (int c = 0x20; c < 0x80; ++c) t[c] = true;
  for (char c : {'"', '\\', '<', '>', '&'}) t[static_cast<unsigned char>(c)] = false;
  return t;
}();

}  // namespace

bool IsValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    size_t n = Utf8SequenceLength(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

void AppendJsonString(std::string* out, std::string_view s) {
  out->reserve(out->size() + s.size() + 2);
  out->push_back('"');
  size_t run = 0;  // start of the pending run of bytes copied as they are
  const size_t size = s.size();
  for (size_t i = 0; i < size;) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (kPlainByte[c]) {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      size_t n = Utf8SequenceLength(s, i);
      if (n == 3 && c == 0xe2 && static_cast<unsigned char>(s[i + 1]) == 0x80 &&
          (static_cast<unsigned char>(s[i + 2]) == 0xa8 ||
           static_cast<unsigned char>(s[i + 2]) == 0xa9)) {
        out->append(s.substr(run, i - run));
        out->append(static_cast<unsigned char>(s[i + 2]) == 0xa8 ? "\\u2028" : "\\u2029");
        i += 3;
        run = i;
        continue;
      }
      if (n != 0) {
        i += n;
        continue;
      }
      out->append(s.substr(run, i - run));
      out->append(kReplacement);
      ++i;
      run = i;
      continue;
    }
    out->append(s.substr(run, i - run));
    AppendJsonEscape(out, c);  // < > & too: \u003c \u003e \u0026
    ++i;
    run = i;
  }
  out->append(s.substr(run));
  out->push_back('"');
}

void AppendHtmlEscaped(std::string* out, std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      size_t n = Utf8SequenceLength(s, i);
      if (n == 0) {
        out->append(kReplacement);
        ++i;
      } else {
        out->append(s.substr(i, n));
        i += n;
      }
      continue;
    }
    switch (c) {
      case '&':
        out->append("&amp;");
        break;
      case '<':
        out->append("&lt;");
        break;
      case '>':
        out->append("&gt;");
        break;
      case '"':
        out->append("&quot;");
        break;
      case '\'':
        out->append("&#39;");
        break;
      default:
        if (c < 0x20 && c != '\n' && c != '\t' && c != '\r') {
          out->append(kReplacement);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
    ++i;
  }
}

std::string HtmlEscape(std::string_view s) {
  std::string out;
  AppendHtmlEscaped(&out, s);
  return out;
}

void JsonWriter::NewLine() {
  out_->push_back('\n');
  if (indent_.size() == 1) {
    out_->append(stack_.size(), indent_[0]);  // the common case, in one call
  } else {
    for (size_t i = 0; i < stack_.size(); ++i) out_->append(indent_);
  }
}

void JsonWriter::BeforeValue() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (stack_.empty()) return;
  if (!stack_.back().empty) out_->push_back(',');
  stack_.back().empty = false;
  if (!indent_.empty()) NewLine();
}

JsonWriter& JsonWriter::Open(char c) {
  BeforeValue();
  out_->push_back(c);
  stack_.push_back(Level{});
  return *this;
}

JsonWriter& JsonWriter::Close(char c) {
  bool empty = stack_.empty() || stack_.back().empty;
  if (!stack_.empty()) stack_.pop_back();
  if (!empty && !indent_.empty()) NewLine();
  out_->push_back(c);
  return *this;
}

JsonWriter& JsonWriter::Key(std::string_view key) {
  BeforeValue();
  AppendJsonString(out_, key);
  out_->append(indent_.empty() ? ":" : ": ");
  after_key_ = true;
  return *this;
}

JsonWriter& JsonWriter::String(std::string_view s) {
  BeforeValue();
  AppendJsonString(out_, s);
  return *this;
}

JsonWriter& JsonWriter::Int(int64_t v) {
  BeforeValue();
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out_->append(buf, r.ptr);
  return *this;
}

JsonWriter& JsonWriter::Uint(uint64_t v) {
  BeforeValue();
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out_->append(buf, r.ptr);
  return *this;
}

JsonWriter& JsonWriter::Double(double v) {
  BeforeValue();
  if (!std::isfinite(v)) {
    out_->append("null");
    return *this;
  }
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out_->append(buf, r.ptr);
  return *this;
}

JsonWriter& JsonWriter::Bool(bool v) {
  BeforeValue();
  out_->append(v ? "true" : "false");
  return *this;
}

JsonWriter& JsonWriter::Null() {
  BeforeValue();
  out_->append("null");
  return *this;
}

JsonWriter& JsonWriter::Raw(std::string_view json) {
  BeforeValue();
  out_->append(json);
  return *this;
}

}  // namespace sloop::http
