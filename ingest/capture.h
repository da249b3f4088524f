// Capture files (docs/format/capture.md): a recorded watch stream, one JSON record per line,
// optionally one zstd stream. CaptureWriter writes them as events arrive (sloop -record-file);
// CaptureReader reads them back for Playback and the benchmark.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "ingest/resource_object.h"
#include "base/status.h"

namespace sloop::ingest {

// The capture's record type: LIST (an item of a list) or a watch event type; and where sloop
// writes it (docs/format/capture.md), the end of a list (LIST_END: read whole, LIST_INCOMPLETE:
// not, so it says nothing of what it did not show) and its start again from the first page
// (LIST_RESTART: its continue token expired).
enum class CaptureType {
  kList,
  kAdded,
  kModified,
  kDeleted,
  kListEnd,
  kListIncomplete,
  kListRestart,
  kUnknown
};
std::string_view CaptureTypeName(CaptureType t);

class CaptureWriter {
 public:
  // Creates (truncates) `path` and writes the header. A path ending in ".zst" is compressed.
  // list_ends: the writer writes LIST_END, LIST_INCOMPLETE and LIST_RESTART records (the header
  // says so), and a reader ends a list only at them.
  static Result<std::unique_ptr<CaptureWriter>> Create(const std::string& path,
                                                       std::string_view source,
                                                       bool list_ends = false);
  ~CaptureWriter();  // Close()s
  // Appends one record. Thread-safe. `object` is written as is, unless it holds a raw newline,
  // in which case it is minified (a line must be one record).
  Result<void> Write(int64_t ts_ns, CaptureType type, const ResourceType& rt,
                     std::string_view object);
  // Pushes buffered lines to the file (and ends a zstd frame's block).
  Result<void> Flush();
  Result<void> Close();
  uint64_t records() const { return records_; }

 private:
  CaptureWriter() = default;
  Result<void> WriteOut(std::string_view bytes, bool end_frame);
  std::mutex mu_;
  std::FILE* file_ = nullptr;
  std::string path_;
  void* zstd_ = nullptr;  // ZSTD_CCtx* when compressing
  std::string line_, buffer_, zbuf_;
  uint64_t records_ = 0;
};

// One parsed record; views into the reader's current line (valid until the next Next()).
struct CaptureRecord {
  int64_t ts_ns = 0;
  CaptureType type = CaptureType::kUnknown;
  std::string_view type_name;
  ResourceType resource;  // group, version, resource, kind, namespaced
  std::string_view object;
  uint64_t line = 0;
};

class CaptureReader {
 public:
  // Opens the file, detects zstd by its magic and checks the header line.
  static Result<std::unique_ptr<CaptureReader>> Open(const std::string& path);
  ~CaptureReader();
  // The next record; nullopt at the end. A line that cannot be parsed is kCorruption with its
  // line number and byte offset; a torn last line (no '\n') ends the file and is reported by
  // torn_tail().
  Result<std::optional<CaptureRecord>> Next();
  bool torn_tail() const { return torn_tail_; }
  uint64_t bytes_read() const { return offset_; }  // uncompressed bytes consumed
  // Bytes held for decoded text not yet read: about one line plus one decoder chunk.
  size_t buffer_capacity() const { return buf_.capacity(); }
  const std::string& header() const { return header_; }
  // The header says lists end at LIST_END / LIST_INCOMPLETE records ("list_ends":true).
  bool list_ends() const { return list_ends_; }

 private:
  CaptureReader() = default;
  Result<bool> ReadLine(std::string_view& line);  // false at the end
  Result<bool> Fill();
  std::FILE* file_ = nullptr;
  std::string path_;
  bool list_ends_ = false;
  void* zstd_ = nullptr;  // ZSTD_DCtx*
  // Compressed input not yet decoded (in_[in_pos_, in_size_)), and decoded text not yet read
  // (buf_[buf_pos_, end)). Each Fill decodes at most one zstd output chunk, so buf_ stays about
  // one line plus 128 KiB, whatever the file's compression ratio.
  std::string in_, out_, buf_;
  size_t in_pos_ = 0, in_size_ = 0;
  bool in_eof_ = false;
  size_t buf_pos_ = 0;
  bool eof_ = false;
  bool torn_tail_ = false;
  uint64_t line_no_ = 0;
  uint64_t offset_ = 0;
  std::string header_;
  std::string line_copy_;
};

}  // namespace sloop::ingest
