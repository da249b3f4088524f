#include "base/time_text.h"

#include <cstdio>
#include <ctime>
#include <limits>

namespace sloop {
namespace {

constexpr int64_t kNsPerSec = 1'000'000'000;
// Whole seconds whose nanoseconds (plus a fraction) still fit an int64.
constexpr int64_t kMaxSeconds = std::numeric_limits<int64_t>::max() / kNsPerSec - 1;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

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

// "YYYY-MM-DDTHH:MM:SS" of the whole second secs (UTC). Years 0–9999 are written digit by
// digit (H. Hinnant's civil_from_days): an API answer formats tens of thousands of times, and
// strftime was a few percent of a large timeline's time. Others go through gmtime_r/strftime.
std::string FormatSeconds(int64_t secs) {
  constexpr int64_t kYear0 = -62167219200;      // 0000-01-01T00:00:00Z
  constexpr int64_t kYear10000 = 253402300800;  // 10000-01-01T00:00:00Z
  if (secs >= kYear0 && secs < kYear10000) {
    const int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
    const int64_t sod = secs - days * 86400;
    const int64_t z = days + 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned d = doy - (153 * mp + 2) / 5 + 1;
    const unsigned m = mp < 10 ? mp + 3 : mp - 9;
    const int64_t y = static_cast<int64_t>(yoe) + era * 400 + (m <= 2);
    char buf[19];
    auto two = [&](int at, unsigned v) {
      buf[at] = static_cast<char>('0' + v / 10);
      buf[at + 1] = static_cast<char>('0' + v % 10);
    };
    two(0, static_cast<unsigned>(y / 100));
    two(2, static_cast<unsigned>(y % 100));
    buf[4] = '-';
    two(5, m);
    buf[7] = '-';
    two(8, d);
    buf[10] = 'T';
    two(11, static_cast<unsigned>(sod / 3600));
    buf[13] = ':';
    two(14, static_cast<unsigned>(sod / 60 % 60));
    buf[16] = ':';
    two(17, static_cast<unsigned>(sod % 60));
    return std::string(buf, sizeof(buf));
  }
  time_t t = static_cast<time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[48];
  size_t n = std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  return std::string(buf, n);
}

int64_t FloorSeconds(int64_t ns) {
  return ns >= 0 ? ns / kNsPerSec : (ns - (kNsPerSec - 1)) / kNsPerSec;
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

int DaysInMonth(int64_t y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

}  // namespace

std::optional<int64_t> ParseRfc3339(std::string_view s, Rfc3339Form form) {
  size_t i = 0;
  int y, mo, d, h, mi, se = 0;
  if (!Digits(s, &i, 4, &y) || !Expect(s, &i, '-') || !Digits(s, &i, 2, &mo) ||
      !Expect(s, &i, '-') || !Digits(s, &i, 2, &d)) {
    return std::nullopt;
  }
  if (i >= s.size() || (s[i] != 'T' && s[i] != 't' && !(form.space_for_t && s[i] == ' '))) {
    return std::nullopt;
  }
  ++i;
  if (!Digits(s, &i, 2, &h) || !Expect(s, &i, ':') || !Digits(s, &i, 2, &mi)) return std::nullopt;
  if (!form.optional_seconds || (i < s.size() && s[i] == ':')) {
    if (!Expect(s, &i, ':') || !Digits(s, &i, 2, &se)) return std::nullopt;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > DaysInMonth(y, mo) || h > 23 || mi > 59 || se > 59) {
    return std::nullopt;
  }
  int64_t frac = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    size_t start = i;
    int64_t scale = 100'000'000;
    while (i < s.size() && IsDigit(s[i])) {
      if (i - start == 9) return std::nullopt;
      frac += (s[i] - '0') * scale;
      scale /= 10;
      ++i;
    }
    if (i == start) return std::nullopt;
  }
  int64_t offset_s = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    int sign = s[i] == '-' ? -1 : 1;
    ++i;
    int oh, om;
    if (!Digits(s, &i, 2, &oh) || !Expect(s, &i, ':') || !Digits(s, &i, 2, &om) || oh > 23 ||
        om > 59) {
      return std::nullopt;
    }
    offset_s = sign * (oh * 3600 + om * 60);
  } else if (!form.optional_zone) {
    return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  int64_t secs = DaysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - offset_s;
  if (secs > kMaxSeconds || secs < -kMaxSeconds) return std::nullopt;
  return secs * kNsPerSec + frac;
}

std::string FormatRfc3339(int64_t ns) {
  const int64_t secs = FloorSeconds(ns);
  const int64_t frac = ns - secs * kNsPerSec;
  std::string out = FormatSeconds(secs);
  if (frac) {
    char f[16];
    int n = std::snprintf(f, sizeof(f), ".%09lld", static_cast<long long>(frac));
    while (f[n - 1] == '0') --n;
    out.append(f, static_cast<size_t>(n));
  }
  out.push_back('Z');
  return out;
}

std::string FormatRfc3339Fixed(int64_t ns, int digits) {
  const int64_t secs = FloorSeconds(ns);
  std::string out = FormatSeconds(secs);
  if (digits > 0) {
    char f[16];
    std::snprintf(f, sizeof(f), ".%09lld", static_cast<long long>(ns - secs * kNsPerSec));
    out.append(f, static_cast<size_t>(1 + (digits > 9 ? 9 : digits)));
  }
  out.push_back('Z');
  return out;
}

std::optional<int64_t> ParseHttpDate(std::string_view text) {
  // "Tue, 08 Dec 2026 02:40:00 GMT": fixed positions.
  if (text.size() != 29 || text.substr(3, 2) != ", " || text[7] != ' ' || text[11] != ' ' ||
      text[16] != ' ' || text.substr(25) != " GMT") {
    return std::nullopt;
  }
  static constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::string_view month = text.substr(8, 3);
  int m = 0;
  while (m < 12 && kMonths[m] != month) ++m;
  if (m == 12) return std::nullopt;
  std::string rfc3339;
  rfc3339.append(text.substr(12, 4)).append("-");
  rfc3339.push_back(static_cast<char>('0' + (m + 1) / 10));
  rfc3339.push_back(static_cast<char>('0' + (m + 1) % 10));
  rfc3339.append("-").append(text.substr(5, 2)).append("T").append(text.substr(17, 8));
  rfc3339.append("Z");
  return ParseRfc3339(rfc3339);
}

}  // namespace sloop
