#include "base/log.h"

#include <chrono>
#include <cstdio>

#include "base/time_text.h"

namespace sloop {

void LogLine(std::string_view component, std::string_view message) {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  const std::string stamp = FormatRfc3339Fixed(static_cast<int64_t>(ms) * 1'000'000, 3);
  // One fprintf per line: lines from different threads do not interleave.
  std::fprintf(stderr, "%s %.*s: %.*s\n", stamp.c_str(), static_cast<int>(component.size()),
               component.data(), static_cast<int>(message.size()), message.data());
}

}  // namespace sloop
