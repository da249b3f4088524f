// Capture files (docs/format/capture.md): a reader that streams the records of a plain or
// zstd-compressed capture, and a zstd writer for the synthetic generator. The harness's own
// implementation of the contract: it shares no code with kubesim or ingest.
#pragma once

#include <zstd.h>

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <string_view>

namespace sloop::bench {

// One record line, parsed: views into the reader's buffer, valid during the callback only.
struct CaptureRecord {
  int64_t ts_ns = 0;
  std::string_view type;  // LIST, ADDED, MODIFIED, DELETED
  std::string_view group, version, resource, kind;
  bool namespaced = true;
  std::string_view object;  // the object's JSON, exactly as in the file
  // The object's bytes are followed by at least kPadding readable bytes (for simdjson).
  static constexpr size_t kPadding = 64;
};

struct CaptureStats {
  uint64_t lines = 0;
  uint64_t records = 0;        // records handed to the callback
  uint64_t unknown_types = 0;  // skipped
  uint64_t file_bytes = 0;     // on disk
  uint64_t raw_bytes = 0;      // uncompressed
  uint64_t object_bytes = 0;   // sum of the objects' JSON sizes
  bool torn_tail = false;
};

// Reads the whole file, calling fn for each record in order. Returns "" or an error message
// (with the line number and byte offset where reading stopped).
std::string ReadCapture(const std::string& path,
                        const std::function<void(const CaptureRecord&)>& fn, CaptureStats* stats);

// Writes a zstd-compressed capture (one frame, streamed).
class CaptureWriter {
 public:
  CaptureWriter(const std::string& path, int level);
  ~CaptureWriter();
  bool ok() const { return file_ != nullptr; }
  void Header(std::string_view scenario, uint64_t seed);
  // `object` must be compact JSON.
  void Record(int64_t ts_ns, std::string_view type, std::string_view group,
              std::string_view version, std::string_view resource, std::string_view kind,
              bool namespaced, std::string_view object);
  bool Close();  // flushes; false on a write error
  uint64_t raw_bytes() const { return raw_bytes_; }

 private:
  void Write(std::string_view s, bool end);
  FILE* file_ = nullptr;
  ZSTD_CCtx* cctx_ = nullptr;
  std::string line_, out_;
  uint64_t raw_bytes_ = 0;
  bool error_ = false;
};

}  // namespace sloop::bench
