#include "sim_time.h"

#include <charconv>
#include <cstdio>
#include <ctime>

namespace kubesim {
namespace {

void append2(std::string& s, int v) {
  s += static_cast<char>('0' + v / 10);
  s += static_cast<char>('0' + v % 10);
}

std::string format_base(SimTime t, int64_t* frac_ns) {
  int64_t secs = t / kSecond;
  int64_t rem = t % kSecond;
  if (rem < 0) {
    rem += kSecond;
    --secs;
  }
  *frac_ns = rem;
  std::tm tm{};
  const time_t tt = static_cast<time_t>(secs);
  gmtime_r(&tt, &tm);
  std::string s;
  s.reserve(28);
  s += std::to_string(tm.tm_year + 1900);
  s += '-';
  append2(s, tm.tm_mon + 1);
  s += '-';
  append2(s, tm.tm_mday);
  s += 'T';
  append2(s, tm.tm_hour);
  s += ':';
  append2(s, tm.tm_min);
  s += ':';
  append2(s, tm.tm_sec);
  return s;
}

}  // namespace

std::string format_time(SimTime t) {
  int64_t frac;
  std::string s = format_base(t, &frac);
  s += 'Z';
  return s;
}

std::string format_micro_time(SimTime t) {
  int64_t frac;
  std::string s = format_base(t, &frac);
  s += '.';
  std::string us = std::to_string(frac / 1000);
  s.append(6 - us.size(), '0');
  s += us;
  s += 'Z';
  return s;
}

std::optional<SimTime> parse_time(std::string_view s) {
  std::tm tm{};
  int y, mo, d, h, mi, se;
  if (s.size() < 20 || s.back() != 'Z') return std::nullopt;
  std::string str(s);
  if (std::sscanf(str.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &se) != 6) {
    return std::nullopt;
  }
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = se;
  return static_cast<SimTime>(timegm(&tm)) * kSecond;
}

std::optional<SimTime> parse_duration(std::string_view s) {
  if (s.empty()) return std::nullopt;
  SimTime total = 0;
  size_t i = 0;
  while (i < s.size()) {
    double v = 0;
    auto [p, ec] = std::from_chars(s.data() + i, s.data() + s.size(), v);
    if (ec != std::errc()) return std::nullopt;
    i = static_cast<size_t>(p - s.data());
    std::string_view unit;
    size_t j = i;
    while (j < s.size() && (s[j] < '0' || s[j] > '9') && s[j] != '.') ++j;
    unit = s.substr(i, j - i);
    i = j;
    double mult;
    if (unit.empty() || unit == "s") {
      mult = kSecond;
    } else if (unit == "ms") {
      mult = kMillisecond;
    } else if (unit == "m") {
      mult = kMinute;
    } else if (unit == "h") {
      mult = kHour;
    } else if (unit == "d") {
      mult = 24.0 * kHour;
    } else {
      return std::nullopt;
    }
    total += static_cast<SimTime>(v * mult);
  }
  return total;
}

std::string format_age(SimTime age) {
  int64_t s = age / kSecond;
  if (s < 0) s = 0;
  if (s < 120) return std::to_string(s) + "s";
  int64_t m = s / 60;
  if (m < 10) return std::to_string(m) + "m" + (s % 60 ? std::to_string(s % 60) + "s" : "");
  if (m < 180) return std::to_string(m) + "m";
  int64_t h = m / 60;
  if (h < 8) return std::to_string(h) + "h" + (m % 60 ? std::to_string(m % 60) + "m" : "");
  if (h < 48) return std::to_string(h) + "h";
  int64_t d = h / 24;
  if (d < 8) return std::to_string(d) + "d" + (h % 24 ? std::to_string(h % 24) + "h" : "");
  if (d < 365 * 2) return std::to_string(d) + "d";
  return std::to_string(d / 365) + "y";
}

SimClock::SimClock(SimTime start, double speed)
    : base_sim_(start), base_real_(std::chrono::steady_clock::now()), speed_(speed) {}

SimTime SimClock::now_locked() const {
  if (paused_) return base_sim_;
  const auto elapsed = std::chrono::steady_clock::now() - base_real_;
  return base_sim_ +
         static_cast<SimTime>(
             static_cast<double>(
                 std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count()) *
             speed_);
}

SimTime SimClock::now() const {
  std::lock_guard lock(mu_);
  return now_locked();
}

std::chrono::nanoseconds SimClock::real_until(SimTime t) const {
  std::lock_guard lock(mu_);
  if (paused_) return std::chrono::hours(1);
  const SimTime now = now_locked();
  if (t <= now) return std::chrono::nanoseconds(0);
  return std::chrono::nanoseconds(static_cast<int64_t>(static_cast<double>(t - now) / speed_));
}

void SimClock::pause() {
  std::lock_guard lock(mu_);
  if (paused_) return;
  base_sim_ = now_locked();
  paused_ = true;
}

void SimClock::resume() {
  std::lock_guard lock(mu_);
  if (!paused_) return;
  base_real_ = std::chrono::steady_clock::now();
  paused_ = false;
}

bool SimClock::paused() const {
  std::lock_guard lock(mu_);
  return paused_;
}

}  // namespace kubesim
