#include "ingest/log.h"

#include "base/log.h"

namespace sloop::ingest {

void Log(std::string_view message) { LogLine("ingest", message); }

}  // namespace sloop::ingest
