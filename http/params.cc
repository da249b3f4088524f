#include "http/params.h"

#include <charconv>
#include <ctime>

#include "http/go_duration.h"

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
  if (!Digits(s, &i, 2, &h) || !Expect(s, &i, ':') || !Digits(s, &i, 2, &mi)) return false;
  // Seconds are optional: a browser's datetime-local field (Sloop's End Time) leaves ":00" out.
  se = 0;
  if (i < s.size() && s[i] == ':' && (!Expect(s, &i, ':') || !Digits(s, &i, 2, &se))) {
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
  auto ns = ParseGoDurationNs(text);
  if (!ns) throw ParamError(std::string(param), ns.error().message);
  if (*ns < 0) {
    throw ParamError(std::string(param), Quote(text) +
                                             " is negative: expected a duration such "
                                             "as 1h, 90m, 1h30m, 45s or 14d");
  }
  if (*ns > kMaxDurationNs) {
    throw ParamError(std::string(param), Quote(text) + " is too long (at most 100 years)");
  }
  return *ns;
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

std::string FormatDuration(int64_t ns) { return FormatGoDurationNs(ns); }

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
