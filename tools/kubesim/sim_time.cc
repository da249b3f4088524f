#include "sim_time.h"

#include <charconv>

#include "base/time_text.h"

namespace kubesim {

std::string format_time(SimTime t) { return sloop::FormatRfc3339Fixed(t, 0); }

std::string format_micro_time(SimTime t) { return sloop::FormatRfc3339Fixed(t, 6); }

std::optional<SimTime> parse_time(std::string_view s) {
  if (s.empty() || s.back() != 'Z') return std::nullopt;
  std::optional<SimTime> t = sloop::ParseRfc3339(s);
  if (!t) return std::nullopt;
  return *t - (*t % kSecond + kSecond) % kSecond;  // whole seconds
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
