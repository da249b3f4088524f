// One log line format for every part of sloop, on stderr:
//   2026-11-25T09:25:05.123Z ingest: listed 40 pods
#pragma once

#include <string_view>

namespace sloop {

void LogLine(std::string_view component, std::string_view message);

}  // namespace sloop
