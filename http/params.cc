#include "http/params.h"

#include <charconv>

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

// "YYYY-MM-DDTHH:MM[:SS][.fraction][Z|±HH:MM]" between 1970 and 2261; a missing zone means UTC.
// Seconds are optional: a browser's datetime-local field (Sloop's End Time) leaves ":00" out.
bool ParseDateTime(std::string_view s, int64_t* ns) {
  auto t = ParseRfc3339(s, {.optional_seconds = true, .optional_zone = true});
  if (!t || *t < 0 || *t / kNsPerSec > kMaxUnixSeconds) return false;
  *ns = *t;
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
