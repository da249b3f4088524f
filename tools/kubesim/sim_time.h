// Simulated time: nanoseconds since the Unix epoch, Kubernetes timestamp formats, durations given
// on the command line, and the clock that maps real time onto simulated time in server mode.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace kubesim {

using SimTime = int64_t;  // ns since the Unix epoch
constexpr SimTime kSecond = 1'000'000'000;
constexpr SimTime kMillisecond = 1'000'000;
constexpr SimTime kMinute = 60 * kSecond;
constexpr SimTime kHour = 60 * kMinute;

// "2026-11-20T09:14:03Z" (metav1.Time: whole seconds).
std::string format_time(SimTime t);
// "2026-11-20T09:14:03.123456Z" (metav1.MicroTime).
std::string format_micro_time(SimTime t);
// Parses "2026-11-20T09:14:03Z"; nullopt when malformed.
std::optional<SimTime> parse_time(std::string_view s);
// Parses "90", "90s", "15m", "1h", "1h30m", "500ms", "1d" into ns; nullopt when malformed.
std::optional<SimTime> parse_duration(std::string_view s);
// kubectl's short age: "5s", "3m12s", "4h5m", "2d3h", "120d".
std::string format_age(SimTime age);

// Maps real (steady) time onto simulated time: sim = start + elapsed_real × speed. It can be
// paused (simulated time stands still) and resumed. Thread-safe.
class SimClock {
 public:
  SimClock(SimTime start, double speed);
  SimTime now() const;
  // The real duration until simulated time `t` is reached (zero if already passed; a large value
  // while paused).
  std::chrono::nanoseconds real_until(SimTime t) const;
  void pause();
  void resume();
  bool paused() const;
  double speed() const { return speed_; }

 private:
  SimTime now_locked() const;

  mutable std::mutex mu_;
  SimTime base_sim_;
  std::chrono::steady_clock::time_point base_real_;
  double speed_;
  bool paused_ = false;
};

}  // namespace kubesim
