#include "http/params.h"

#include <charconv>
#include <ctime>

namespace sloop::http {

namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

std::string Quote(std::string_view text) {
  // Parameter values are already checked for control characters and UTF-8; bound the echo.
  std::string s = "\"";
  s.append(text.substr(0, 64));
  if (text.size() > 64) s.append("…");
  s.push_back('"');
  return s;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// Reads exactly n digits at s[*i].
bool Digits(std::string_view s, size_t* i, size_t n, int* out) {
  if (*i + n > s.size()) return false;
  int v = 0;
  for (size_t k = 0; k < n; ++k) {
    char c = s[*i + k];
    if (!IsDigit(c)) return false;
    v = v * 10 + (c - '0');
  }
  *i += n;
  *out = v;
  return true;
}

bool Expect(std::string_view s, size_t* i, char c) {
  if (*i >= s.size() || s[*i] != c) return false;
  ++*i;
  return true;
}

// "YYYY-MM-DDTHH:MM:SS[.fraction][Z|±HH:MM]"; a missing zone means UTC.
bool ParseDateTime(std::string_view s, int64_t* ns) {
  size_t i = 0;
  int y, mo, d, h, mi, se;
  if (!Digits(s, &i, 4, &y) || !Expect(s, &i, '-') || !Digits(s, &i, 2, &mo) ||
      !Expect(s, &i, '-') || !Digits(s, &i, 2, &d)) {
    return false;
  }
  if (i >= s.size() || (s[i] != 'T' && s[i] != 't')) return false;
  ++i;
  if (!Digits(s, &i, 2, &h) || !Expect(s, &i, ':') || !Digits(s, &i, 2, &mi) ||
      !Expect(s, &i, ':') || !Digits(s, &i, 2, &se)) {
    return false;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > DaysInMonth(y, mo) || h > 23 || mi > 59 || se > 59) {
    return false;
  }
  int64_t frac = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    size_t start = i;
    int64_t scale = 100'000'000;
    while (i < s.size() && IsDigit(s[i])) {
      frac += (s[i] - '0') * scale;
      scale /= 10;
      ++i;
      if (i - start > 9) return false;
    }
    if (i == start) return false;
  }
  int64_t offset_s = 0;
  if (i < s.size()) {
    if (s[i] == 'Z' || s[i] == 'z') {
      ++i;
    } else if (s[i] == '+' || s[i] == '-') {
      int sign = s[i] == '-' ? -1 : 1;
      ++i;
      int oh, om;
      if (!Digits(s, &i, 2, &oh) || !Expect(s, &i, ':') || !Digits(s, &i, 2, &om) || oh > 23 ||
          om > 59) {
        return false;
      }
      offset_s = sign * (oh * 3600 + om * 60);
    } else {
      return false;
    }
  }
  if (i != s.size()) return false;
  int64_t secs = DaysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - offset_s;
  if (secs < 0 || secs > kMaxUnixSeconds) return false;
  *ns = secs * kNsPerSec + frac;
  return true;
}

}  // namespace

int64_t ParseInt(std::string_view text, std::string_view param, int64_t min, int64_t max) {
  int64_t v = 0;
  const char* end = text.data() + text.size();
  auto r = std::from_chars(text.data(), end, v);
  if (text.empty() || r.ec == std::errc::result_out_of_range) {
    throw ParamError(std::string(param), Quote(text) + " is not an integer between " +
                                             std::to_string(min) + " and " + std::to_string(max));
  }
  if (r.ec != std::errc() || r.ptr != end || (text[0] == '+')) {
    throw ParamError(std::string(param), Quote(text) + " is not a decimal integer");
  }
  if (v < min || v > max) {
    throw ParamError(std::string(param), std::to_string(v) + " is out of range: expected " +
                                             std::to_string(min) + " to " + std::to_string(max));
  }
  return v;
}

bool ParseBool(std::string_view text, std::string_view param) {
  std::string lower;
  for (char c : text.substr(0, 8)) lower.push_back(static_cast<char>(std::tolower(c)));
  if (text.size() <= 8) {
    if (lower == "1" || lower == "true" || lower == "yes") return true;
    if (lower == "0" || lower == "false" || lower == "no") return false;
  }
  throw ParamError(std::string(param), Quote(text) + " is not a boolean: use true or false");
}

int64_t ParseDuration(std::string_view text, std::string_view param) {
  auto fail = [&](const std::string& why) -> ParamError {
    return ParamError(std::string(param),
                      Quote(text) + " " + why +
                          ": expected a duration such as 1h, 90m, 1h30m or 45s (units h, m, s, "
                          "ms, us, ns)");
  };
  std::string_view s = text;
  if (s == "0") return 0;
  if (s.empty()) throw fail("is empty");
  if (s.front() == '-') throw fail("is negative");
  if (s.front() == '+') s.remove_prefix(1);
  if (s.empty()) throw fail("has no value");
  __int128 total = 0;
  while (!s.empty()) {
    size_t i = 0;
    __int128 whole = 0;
    size_t whole_digits = 0;
    while (i < s.size() && IsDigit(s[i])) {
      whole = whole * 10 + (s[i] - '0');
      if (++whole_digits > 20) throw fail("is too large");
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
    if (whole_digits == 0 && frac_digits == 0) throw fail("is not a duration");
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
      mult = kNsPerSec;
    else if (unit == "m")
      mult = 60 * kNsPerSec;
    else if (unit == "h")
      mult = 3600 * kNsPerSec;
    else if (unit.empty())
      throw fail("has a number without a unit");
    else
      throw fail("has an unknown unit");
    total += whole * mult + frac * mult / frac_scale;
    if (total > kMaxDurationNs) throw fail("is too long (at most 100 years)");
    s.remove_prefix(i);
  }
  return static_cast<int64_t>(total);
}

int64_t ParseUnixSeconds(std::string_view text, std::string_view param) {
  if (text.empty() || text.size() > 12) {
    if (!text.empty() && text.front() != '-' &&
        text.find_first_not_of("0123456789") == std::string_view::npos) {
      throw ParamError(std::string(param), Quote(text) + " is after the year 2261");
    }
  }
  if (!text.empty() && text.front() == '-') {
    throw ParamError(std::string(param), Quote(text) + " is negative: expected Unix seconds");
  }
  if (text.empty() || text.find_first_not_of("0123456789") != std::string_view::npos) {
    throw ParamError(std::string(param),
                     Quote(text) + " is not a time: expected Unix seconds such as 1700000000");
  }
  int64_t v = 0;
  std::from_chars(text.data(), text.data() + text.size(), v);
  if (v > kMaxUnixSeconds) {
    throw ParamError(std::string(param), Quote(text) + " is after the year 2261");
  }
  return v * kNsPerSec;
}

int64_t ParseTime(std::string_view text, std::string_view param) {
  if (!text.empty() && (IsDigit(text.front()) || text.front() == '-') &&
      text.find_first_not_of("0123456789-") == std::string_view::npos &&
      (text.front() == '-' || text.find('-') == std::string_view::npos)) {
    return ParseUnixSeconds(text, param);
  }
  int64_t ns = 0;
  if (!ParseDateTime(text, &ns)) {
    throw ParamError(std::string(param),
                     Quote(text) +
                         " is not a time: expected Unix seconds (1700000000), RFC 3339 "
                         "(2026-11-20T09:14:03Z) or UTC without a zone (2026-11-20T09:14:03), "
                         "between 1970 and 2261");
  }
  return ns;
}

std::string FormatRfc3339(int64_t ns) {
  int64_t secs = ns >= 0 ? ns / kNsPerSec : (ns - (kNsPerSec - 1)) / kNsPerSec;
  int64_t frac = ns - secs * kNsPerSec;
  time_t t = static_cast<time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[48];
  size_t n = std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out(buf, n);
  if (frac) {
    char f[16];
    std::snprintf(f, sizeof(f), ".%09lld", static_cast<long long>(frac));
    std::string fs = f;
    while (fs.back() == '0') fs.pop_back();
    out += fs;
  }
  out.push_back('Z');
  return out;
}

std::string FormatIsoNoZone(int64_t ns) {
  std::string s = FormatRfc3339(ns - ns % kNsPerSec);
  s.pop_back();
  return s;
}

std::string FormatDuration(int64_t ns) {
  if (ns == 0) return "0s";
  std::string out;
  if (ns < 0) {
    out = "-";
    ns = -ns;
  }
  auto frac_str = [](int64_t v, int64_t unit) {
    std::string s = std::to_string(v / unit);
    int64_t rem = v % unit;
    if (rem) {
      std::string f = std::to_string(rem + unit).substr(1);  // zero-padded
      while (!f.empty() && f.back() == '0') f.pop_back();
      s += "." + f;
    }
    return s;
  };
  if (ns < 1000) return out + std::to_string(ns) + "ns";
  if (ns < 1'000'000) return out + frac_str(ns, 1000) + "µs";
  if (ns < kNsPerSec) return out + frac_str(ns, 1'000'000) + "ms";
  int64_t h = ns / (3600 * kNsPerSec);
  ns -= h * 3600 * kNsPerSec;
  int64_t m = ns / (60 * kNsPerSec);
  ns -= m * 60 * kNsPerSec;
  if (h) out += std::to_string(h) + "h";
  if (h || m) out += std::to_string(m) + "m";
  out += frac_str(ns, kNsPerSec) + "s";
  return out;
}

Params::Params(const Request& req) : req_(req) {
  if (req.bad_parameter) {
    throw ParamError(req.bad_parameter->first, req.bad_parameter->second);
  }
}

std::optional<std::string_view> Params::Get(std::string_view name) const {
  auto v = req_.Param(name);
  if (!v || v->empty()) return std::nullopt;
  return v;
}

std::string_view Params::Required(std::string_view name) const {
  auto v = Get(name);
  if (!v) throw ParamError(std::string(name), "is required");
  return *v;
}

std::string_view Params::GetOr(std::string_view name, std::string_view fallback) const {
  auto v = Get(name);
  return v ? *v : fallback;
}

std::optional<int64_t> Params::Duration(std::string_view name) const {
  auto v = Get(name);
  if (!v) return std::nullopt;
  return ParseDuration(*v, name);
}

std::optional<int64_t> Params::Time(std::string_view name) const {
  auto v = Get(name);
  if (!v) return std::nullopt;
  return ParseTime(*v, name);
}

std::optional<int64_t> Params::Int(std::string_view name, int64_t min, int64_t max) const {
  auto v = Get(name);
  if (!v) return std::nullopt;
  return ParseInt(*v, name, min, max);
}

std::optional<bool> Params::Bool(std::string_view name) const {
  auto v = Get(name);
  if (!v) return std::nullopt;
  return ParseBool(*v, name);
}

}  // namespace sloop::http
