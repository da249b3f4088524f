// Writes a capture file (docs/format/capture.md): a header line, then one record per object
// observed — LIST records for the initial state, ADDED/MODIFIED/DELETED for the churn — as
// newline-delimited JSON, zstd-compressed when the path ends in ".zst".
#pragma once

#include <zstd.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "watch_event.h"

namespace kubesim {

struct CaptureHeader {
  std::string scenario;
  uint64_t seed = 0;
  SimTime created = 0;
};

class CaptureWriter : public EventSink {
 public:
  // Creates (truncates) `path` and writes the header. nullptr with *error on failure.
  static std::unique_ptr<CaptureWriter> open(const std::string& path, const CaptureHeader& header,
                                             std::string* error);
  ~CaptureWriter() override;

  // One LIST record: an item of the initial state, observed at `ts`.
  void write_list(const ObjectVersion& object, SimTime ts);
  // ADDED / MODIFIED / DELETED records.
  void on_event(const WatchEvent& event) override;
  // Pushes buffered records to the file (readers see whole lines up to here).
  bool flush();
  // Finishes the zstd stream and closes the file. Returns false with *error on an I/O error.
  bool close(std::string* error);

  uint64_t records() const { return records_; }
  uint64_t bytes_in() const { return bytes_in_; }  // uncompressed bytes written
  bool failed() const { return failed_; }

 private:
  CaptureWriter(FILE* f, bool zstd);
  void append_record(std::string_view type, const ObjectVersion& object, SimTime ts);
  bool drain(bool end_frame);

  FILE* file_;
  ZSTD_CStream* zstd_ = nullptr;
  std::string buf_;
  std::vector<char> out_;
  uint64_t records_ = 0;
  uint64_t bytes_in_ = 0;
  bool failed_ = false;
  bool closed_ = false;
};

}  // namespace kubesim
