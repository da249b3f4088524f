// Encoding of one record inside a block's uncompressed payload (see segment_format.h), shared by
// the writer and the reader. Internal to segments/.
#pragma once

#include <cstdint>
#include <string>

#include "segments/record.h"

namespace sloop::record_codec {

// Appends the record's entry (prefix, FlatBuffer, padding) to *out. `builder` is reused scratch.
class Encoder {
 public:
  Encoder();
  ~Encoder();
  void Append(const RecordView& record, std::string* out);

 private:
  struct Impl;
  Impl* impl_;
};

// Decodes the entry at data[pos, end): fills *record with views into data and sets *next to the
// following entry. Returns false (with *why) when the entry fails its checks.
bool Decode(const char* data, size_t pos, size_t end, RecordView* record, size_t* next,
            const char** why);

// Builds the view of an entry this process encoded (no checks): for the writer's own records.
void View(const char* data, size_t pos, RecordView* record);

// Like Decode, without verifying or building a view: just finds the next entry.
bool Skip(const char* data, size_t pos, size_t end, size_t* next);

}  // namespace sloop::record_codec
