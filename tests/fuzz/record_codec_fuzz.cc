// Fuzzes the decoding of records inside a block's payload (segments/record_codec.h): any bytes
// must decode to views inside the input, or be refused, never read out of bounds.
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "segments/record_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The codec expects 8-byte aligned payloads, as blocks are decompressed into aligned buffers.
  std::vector<uint64_t> aligned((size + 7) / 8);
  if (size) std::memcpy(aligned.data(), data, size);
  const char* base = reinterpret_cast<const char*>(aligned.data());
  size_t pos = 0;
  while (pos < size) {
    sloop::RecordView r;
    size_t next = 0;
    const char* why = nullptr;
    if (!sloop::record_codec::Decode(base, pos, size, &r, &next, &why)) break;
    // Touch every view so that ASan checks it lies inside the input.
    size_t sum = r.kind.size() + r.namespace_.size() + r.name.size() + r.uid.size() +
                 r.payload.size() + r.resource_version.size();
    for (char c : r.payload) sum += static_cast<unsigned char>(c);
    for (char c : r.name) sum += static_cast<unsigned char>(c);
    if (r.event) sum += r.event->reason.size() + r.event->message.size();
    (void)sum;
    if (next <= pos) break;
    pos = next;
  }
  size_t skip = 0;
  while (skip < size) {
    size_t next = 0;
    if (!sloop::record_codec::Skip(base, skip, size, &next) || next <= skip) break;
    skip = next;
  }
  return 0;
}
