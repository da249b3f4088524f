// Plain log lines to stderr: "2026-11-25T09:25:05.123Z ingest: <message>".
#pragma once

#include <string_view>

namespace sloop::ingest {

void Log(std::string_view message);

}  // namespace sloop::ingest
