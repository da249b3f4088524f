#include "ingest/log.h"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace sloop::ingest {

void Log(std::string_view message) {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
  std::fprintf(stderr, "%s.%03dZ ingest: %.*s\n", stamp, static_cast<int>(ms % 1000),
               static_cast<int>(message.size()), message.data());
}

}  // namespace sloop::ingest
