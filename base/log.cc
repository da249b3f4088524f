#include "base/log.h"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace sloop {

void LogLine(std::string_view component, std::string_view message) {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
  // One fprintf per line: lines from different threads do not interleave.
  std::fprintf(stderr, "%s.%03dZ %.*s: %.*s\n", stamp, static_cast<int>(ms % 1000),
               static_cast<int>(component.size()), component.data(),
               static_cast<int>(message.size()), message.data());
}

}  // namespace sloop
