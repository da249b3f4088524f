// Time text: RFC 3339 times ("2026-11-20T09:14:03.123Z") read and written as nanoseconds since
// the Unix epoch (UTC), the one form every layer stores and compares.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sloop {

// What ParseRfc3339 accepts beyond "YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)".
struct Rfc3339Form {
  bool space_for_t = false;       // "2026-11-20 09:14:03Z": a space may stand for the 'T'
  bool optional_seconds = false;  // "2026-11-20T09:14Z" reads as 09:14:00 (a datetime-local field)
  bool optional_zone = false;     // "2026-11-20T09:14:03" reads as UTC
};

// Nanoseconds since the epoch of an RFC 3339 time; 'T' and 'Z' may be lower case, the fraction
// has 1 to 9 digits, a zone offset is ±HH:MM (HH up to 23). std::nullopt when the text is
// malformed, names a day the month lacks, a second 60 (as Go's time.Parse, no leap seconds), or
// a time outside what int64 nanoseconds hold (about 1678 to 2262).
std::optional<int64_t> ParseRfc3339(std::string_view text, Rfc3339Form form = {});

// Nanoseconds since the epoch of an HTTP date in its one form senders must use (RFC 9110
// IMF-fixdate: "Tue, 08 Dec 2026 02:40:00 GMT"); std::nullopt for anything else.
std::optional<int64_t> ParseHttpDate(std::string_view text);

// "2026-11-20T09:14:03Z", or with the fraction of a second when it is not zero, trailing zeros
// dropped: "2026-11-20T09:14:03.005Z" (as Go's time.RFC3339Nano). Rounds toward the past.
std::string FormatRfc3339(int64_t ns);

// "2026-11-20T09:14:03Z" when digits is 0, else exactly digits (1..9) digits of the fraction, cut
// (not rounded): digits 3 gives "2026-11-20T09:14:03.120Z". Rounds toward the past.
std::string FormatRfc3339Fixed(int64_t ns, int digits);

}  // namespace sloop
