// The one interface through which ingest hands records to storage. The engine's Store implements
// it; tests and the capture recorder implement it too.
#pragma once

#include "segments/record.h"
#include "segments/status.h"

namespace sloop {

class RecordSink {
 public:
  virtual ~RecordSink() = default;

  // Stores one record. The views need to live only for the call. Thread-safe in every
  // implementation: several watch streams may append at once. An error means the record was
  // not stored (the disk is full, the store is closed) and says why.
  virtual Result<void> Append(const RecordView& record) = 0;
};

}  // namespace sloop
