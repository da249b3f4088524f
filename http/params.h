// Strict parsing of query parameters. A parameter that is missing where required, malformed, or
// out of bounds throws ParamError naming it; the router turns that into
// 400 {"error":{"parameter":"<name>","message":"<what was wrong and what is accepted>"}}.
// (Exceptions stop at the router: no handler has to thread errors through its rendering code.)
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "base/time_text.h"
#include "http/http_message.h"

namespace sloop::http {

class ParamError : public std::runtime_error {
 public:
  ParamError(std::string parameter, std::string message)
      : std::runtime_error(parameter + ": " + message),
        parameter_(std::move(parameter)),
        message_(std::move(message)) {}
  const std::string& parameter() const { return parameter_; }
  const std::string& message() const { return message_; }

 private:
  std::string parameter_;
  std::string message_;
};

inline constexpr int64_t kNsPerSec = 1'000'000'000;
// Latest accepted time: 2261-12-31T23:59:59Z (times are int64 nanoseconds, which end in 2262).
inline constexpr int64_t kMaxUnixSeconds = 9'214'646'399;
// Longest accepted duration (lookback, window): 100 years; longer windows are narrowed later.
inline constexpr int64_t kMaxDurationNs = int64_t(100) * 366 * 24 * 3600 * kNsPerSec;

// The project's duration syntax (http/go_duration.h: Go's, plus d): "1h30m", "90s", "1.5h",
// "14d". Negative values, a bare number other than "0", and values above kMaxDurationNs are
// rejected. Returns nanoseconds.
int64_t ParseDuration(std::string_view text, std::string_view param);

// A point in time, as nanoseconds since the epoch. Accepts Unix seconds ("1700000000"),
// RFC 3339 ("2026-11-20T09:14:03Z", "…03.5+02:00") and Sloop's zone-less UTC form
// ("2026-11-20T09:14:03"). Rejects negative times and times after 2261.
int64_t ParseTime(std::string_view text, std::string_view param);

// Unix seconds only (Sloop's start_time/end_time pair).
int64_t ParseUnixSeconds(std::string_view text, std::string_view param);

// A decimal integer in [min, max].
int64_t ParseInt(std::string_view text, std::string_view param, int64_t min, int64_t max);

// "1", "true", "yes", "0", "false", "no" (any case).
bool ParseBool(std::string_view text, std::string_view param);

// Formatting helpers shared by the handlers (RFC 3339 is base/time_text.h's FormatRfc3339).
std::string FormatIsoNoZone(int64_t ns);  // "2026-11-20T09:14:03" (Sloop's end_time form)
std::string FormatDuration(int64_t ns);   // Go style: "1h0m0s", "15m0s", "1.5s"

// Typed access to a request's parameters. Every getter first rejects the request's
// bad_parameter (a value that did not decode) so that its name is what the client sees.
class Params {
 public:
  explicit Params(const Request& req);

  std::optional<std::string_view> Get(std::string_view name) const;
  std::string_view Required(std::string_view name) const;
  std::string_view GetOr(std::string_view name, std::string_view fallback) const;

  std::optional<int64_t> Duration(std::string_view name) const;
  std::optional<int64_t> Time(std::string_view name) const;
  std::optional<int64_t> Int(std::string_view name, int64_t min, int64_t max) const;
  std::optional<bool> Bool(std::string_view name) const;

  const Request& request() const { return req_; }

 private:
  const Request& req_;
};

}  // namespace sloop::http
