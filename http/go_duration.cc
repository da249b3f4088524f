#include "http/go_duration.h"

#include <limits>

namespace sloop {

namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

Result<int64_t> ParseGoDurationNs(std::string_view text) {
  auto fail = [&](const std::string& why) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "\"" + std::string(text.substr(0, 64)) + (text.size() > 64 ? "…" : "") +
                         "\" " + why +
                         ": expected a duration such as 1h, 90m, 1h30m, 45s or 14d (units d, h, "
                         "m, s, ms, us, ns)");
  };
  std::string_view s = text;
  if (s.empty()) return fail("is empty");
  bool negative = false;
  if (s.front() == '-' || s.front() == '+') {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return 0;
  if (s.empty()) return fail("has no value");
  constexpr __int128 kLimit = static_cast<__int128>(std::numeric_limits<int64_t>::max());
  __int128 total = 0;
  while (!s.empty()) {
    size_t i = 0;
    __int128 whole = 0;
    size_t whole_digits = 0;
    while (i < s.size() && IsDigit(s[i])) {
      whole = whole * 10 + (s[i] - '0');
      if (++whole_digits > 20) return fail("is too long");
      ++i;
    }
    __int128 frac = 0, frac_scale = 1;
    size_t frac_digits = 0;
    if (i < s.size() && s[i] == '.') {
      ++i;
      while (i < s.size() && IsDigit(s[i])) {
        if (frac_digits < 18) {
          frac = frac * 10 + (s[i] - '0');
          frac_scale *= 10;
        }
        ++frac_digits;
        ++i;
      }
    }
    if (whole_digits == 0 && frac_digits == 0) return fail("is not a duration");
    size_t unit_start = i;
    while (i < s.size() && !IsDigit(s[i]) && s[i] != '.') ++i;
    std::string_view unit = s.substr(unit_start, i - unit_start);
    int64_t mult;
    if (unit == "ns")
      mult = 1;
    else if (unit == "us" || unit == "\xc2\xb5s" || unit == "\xce\xbcs")
      mult = 1000;
    else if (unit == "ms")
      mult = 1'000'000;
    else if (unit == "s")
      mult = 1'000'000'000;
    else if (unit == "m")
      mult = 60'000'000'000;
    else if (unit == "h")
      mult = 3'600'000'000'000;
    else if (unit == "d")
      mult = 86'400'000'000'000;
    else if (unit.empty())
      return fail("has a number without a unit");
    else
      return fail("has an unknown unit \"" + std::string(unit.substr(0, 8)) + "\"");
    total += whole * mult + frac * mult / frac_scale;
    if (total > kLimit) return fail("is too long (at most about 292 years)");
    s.remove_prefix(i);
  }
  return static_cast<int64_t>(negative ? -total : total);
}

std::string FormatGoDurationNs(int64_t ns) {
  if (ns == 0) return "0s";
  std::string out;
  uint64_t v = static_cast<uint64_t>(ns);
  if (ns < 0) {
    out = "-";
    v = uint64_t(0) - v;
  }
  auto frac_str = [](uint64_t x, uint64_t unit) {
    std::string s = std::to_string(x / unit);
    uint64_t rem = x % unit;
    if (rem) {
      std::string f = std::to_string(rem + unit).substr(1);  // zero-padded
      while (!f.empty() && f.back() == '0') f.pop_back();
      s += "." + f;
    }
    return s;
  };
  if (v < 1000) return out + std::to_string(v) + "ns";
  if (v < 1'000'000) return out + frac_str(v, 1000) + "µs";
  if (v < 1'000'000'000) return out + frac_str(v, 1'000'000) + "ms";
  uint64_t h = v / 3'600'000'000'000;
  v -= h * 3'600'000'000'000;
  uint64_t m = v / 60'000'000'000;
  v -= m * 60'000'000'000;
  if (h) out += std::to_string(h) + "h";
  if (h || m) out += std::to_string(m) + "m";
  out += frac_str(v, 1'000'000'000) + "s";
  return out;
}

}  // namespace sloop
