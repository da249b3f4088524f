// A RecordSink for fuzz targets: keeps nothing, but touches every record's strings so that the
// sanitizers check them.
#pragma once

#include <cstddef>

#include "engine/record_sink.h"

namespace sloop::fuzz {

class NullSink : public RecordSink {
 public:
  Result<void> Append(const RecordView& r) override {
    bytes += r.payload.size() + r.name.size() + r.namespace_.size() + r.uid.size();
    return {};
  }
  size_t bytes = 0;
};

}  // namespace sloop::fuzz
