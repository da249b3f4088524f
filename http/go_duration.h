// The one duration syntax of the project, used by flags, config files, HTTP parameters and tools:
// Go's time.ParseDuration ("1h30m", "90s", "1.5h", "300ms", "-5s", "0"; units ns, us, µs, ms,
// s, m, h) plus d (24h), which Sloop's users type for look-backs ("14d"). A bare number other
// than 0 has no unit and is refused, as in Go.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace sloop {

// Nanoseconds, or an error that quotes the text and says what is accepted. Values beyond
// ±2^63 ns (about 292 years) are refused.
Result<int64_t> ParseGoDurationNs(std::string_view text);

// Go's Duration.String(): "1h0m0s", "15m0s", "1.5s", "300ms", "0s".
std::string FormatGoDurationNs(int64_t ns);

}  // namespace sloop
