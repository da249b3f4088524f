#include "ingest/raw_json.h"

#include <cstring>
#include <string>

namespace sloop::ingest {
namespace {

size_t SkipSpace(std::string_view t, size_t p) {
  while (p < t.size() && (t[p] == ' ' || t[p] == '\n' || t[p] == '\r' || t[p] == '\t')) ++p;
  return p;
}

// p is at the opening quote; returns the offset past the closing quote.
size_t SkipString(std::string_view t, size_t p) {
  ++p;
  while (p < t.size()) {
    const void* hit = std::memchr(t.data() + p, '"', t.size() - p);
    if (hit == nullptr) return std::string_view::npos;
    size_t q = static_cast<const char*>(hit) - t.data();
    size_t backslashes = 0;
    while (q - backslashes > p && t[q - backslashes - 1] == '\\') ++backslashes;
    if (backslashes % 2 == 0) return q + 1;
    p = q + 1;
  }
  return std::string_view::npos;
}

}  // namespace

size_t SkipJsonValue(std::string_view t, size_t p) {
  p = SkipSpace(t, p);
  if (p >= t.size()) return std::string_view::npos;
  char c = t[p];
  if (c == '"') return SkipString(t, p);
  if (c == '{' || c == '[') {
    int depth = 0;
    while (p < t.size()) {
      char d = t[p];
      if (d == '"') {
        p = SkipString(t, p);
        if (p == std::string_view::npos) return p;
        continue;
      }
      if (d == '{' || d == '[') {
        ++depth;
      } else if (d == '}' || d == ']') {
        if (--depth == 0) return p + 1;
      }
      ++p;
    }
    return std::string_view::npos;
  }
  // number, true, false, null
  size_t start = p;
  while (p < t.size()) {
    char d = t[p];
    if (d == ',' || d == '}' || d == ']' || d == ' ' || d == '\n' || d == '\r' || d == '\t') break;
    ++p;
  }
  return p == start ? std::string_view::npos : p;
}

Result<void> ForEachMember(std::string_view t,
                           const std::function<bool(std::string_view, std::string_view)>& fn) {
  size_t p = SkipSpace(t, 0);
  if (p >= t.size() || t[p] != '{') return MakeError(ErrorCode::kCorruption, "not a JSON object");
  p = SkipSpace(t, p + 1);
  if (p < t.size() && t[p] == '}') return {};
  while (p < t.size()) {
    if (t[p] != '"') {
      return MakeError(ErrorCode::kCorruption, "expected a key at byte " + std::to_string(p));
    }
    size_t key_end = SkipString(t, p);
    if (key_end == std::string_view::npos) break;
    std::string_view key = t.substr(p + 1, key_end - p - 2);
    p = SkipSpace(t, key_end);
    if (p >= t.size() || t[p] != ':') {
      return MakeError(ErrorCode::kCorruption, "expected ':' at byte " + std::to_string(p));
    }
    size_t vstart = SkipSpace(t, p + 1);
    size_t vend = SkipJsonValue(t, vstart);
    if (vend == std::string_view::npos) break;
    if (!fn(key, t.substr(vstart, vend - vstart))) return {};
    p = SkipSpace(t, vend);
    if (p < t.size() && t[p] == ',') {
      p = SkipSpace(t, p + 1);
      continue;
    }
    if (p < t.size() && t[p] == '}') return {};
    return MakeError(ErrorCode::kCorruption, "expected ',' or '}' at byte " + std::to_string(p));
  }
  return MakeError(ErrorCode::kCorruption, "JSON object ends early");
}

Result<std::string_view> FindMember(std::string_view t, std::string_view key) {
  std::string_view found;
  auto r = ForEachMember(t, [&](std::string_view k, std::string_view v) {
    if (k == key) {
      found = v;
      return false;
    }
    return true;
  });
  if (!r) return std::unexpected(r.error());
  return found;
}

Result<void> ForEachElement(std::string_view t, const std::function<void(std::string_view)>& fn) {
  size_t p = SkipSpace(t, 0);
  if (p >= t.size() || t[p] != '[') return MakeError(ErrorCode::kCorruption, "not a JSON array");
  p = SkipSpace(t, p + 1);
  if (p < t.size() && t[p] == ']') return {};
  while (p < t.size()) {
    size_t vend = SkipJsonValue(t, p);
    if (vend == std::string_view::npos) break;
    fn(t.substr(p, vend - p));
    p = SkipSpace(t, vend);
    if (p < t.size() && t[p] == ',') {
      p = SkipSpace(t, p + 1);
      continue;
    }
    if (p < t.size() && t[p] == ']') return {};
    return MakeError(ErrorCode::kCorruption, "expected ',' or ']' at byte " + std::to_string(p));
  }
  return MakeError(ErrorCode::kCorruption, "JSON array ends early");
}

std::string_view StringValue(std::string_view v) {
  if (v.size() < 2 || v.front() != '"' || v.back() != '"') return {};
  return v.substr(1, v.size() - 2);
}

}  // namespace sloop::ingest
