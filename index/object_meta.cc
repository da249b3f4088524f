#include "index/object_meta.h"

#include <simdjson.h>

#include <charconv>
#include <ctime>

namespace sloop {
namespace {

bool Digits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

}  // namespace

bool ParseRfc3339(std::string_view s, int64_t* ns) {
  int year, mon, day, hh, mm, ss;
  if (!Digits(s, 0, 4, &year) || s.size() < 19 || s[4] != '-' || !Digits(s, 5, 2, &mon) ||
      s[7] != '-' || !Digits(s, 8, 2, &day) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
      !Digits(s, 11, 2, &hh) || s[13] != ':' || !Digits(s, 14, 2, &mm) || s[16] != ':' ||
      !Digits(s, 17, 2, &ss)) {
    return false;
  }
  if (mon < 1 || mon > 12 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60) return false;
  size_t pos = 19;
  int64_t frac_ns = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int64_t scale = 100000000;
    size_t start = pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      frac_ns += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return false;
  }
  int64_t offset_s = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!Digits(s, pos + 1, 2, &oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !Digits(s, pos + 4, 2, &om)) {
      return false;
    }
    offset_s = (oh * 3600 + om * 60) * (s[pos] == '+' ? 1 : -1);
    pos += 6;
  } else {
    return false;
  }
  if (pos != s.size()) return false;
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = mon - 1;
  tm.tm_mday = day;
  tm.tm_hour = hh;
  tm.tm_min = mm;
  tm.tm_sec = ss;
  int64_t secs = static_cast<int64_t>(timegm(&tm)) - offset_s;
  *ns = secs * 1000000000LL + frac_ns;
  return true;
}

ObjectMeta ParseObjectMeta(std::string_view json) {
  ObjectMeta meta;
  // One parser per thread: simdjson parsers own reusable buffers.
  thread_local simdjson::ondemand::parser parser;
  simdjson::padded_string padded(json);
  auto doc = parser.iterate(padded);
  if (doc.error()) return meta;
  simdjson::ondemand::object metadata;
  if (doc.find_field_unordered("metadata").get_object().get(metadata)) return meta;
  for (auto field : metadata) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return meta;
    if (key == "creationTimestamp") {
      std::string_view ts;
      if (!field.value().get_string().get(ts)) ParseRfc3339(ts, &meta.creation_ns);
    } else if (key == "ownerReferences") {
      simdjson::ondemand::array refs;
      if (field.value().get_array().get(refs)) continue;
      for (auto ref_value : refs) {
        simdjson::ondemand::object ref;
        if (ref_value.get_object().get(ref)) break;
        OwnerRefData owner;
        for (auto rf : ref) {
          std::string_view rk;
          if (rf.unescaped_key().get(rk)) break;
          std::string_view sv;
          if (rk == "kind" && !rf.value().get_string().get(sv)) {
            owner.kind = sv;
          } else if (rk == "name" && !rf.value().get_string().get(sv)) {
            owner.name = sv;
          } else if (rk == "uid" && !rf.value().get_string().get(sv)) {
            owner.uid = sv;
          } else if (rk == "controller") {
            bool b = false;
            if (!rf.value().get_bool().get(b)) owner.controller = b;
          }
        }
        meta.owners.push_back(std::move(owner));
      }
    }
  }
  return meta;
}

}  // namespace sloop
