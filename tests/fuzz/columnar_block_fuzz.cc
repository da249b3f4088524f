// Fuzzes the decoding of a format 2 block's body (segments/columnar_block.h): any bytes must
// decode to views inside the input, or be refused, never read out of bounds. Whatever decodes
// must encode again and decode to the same records, and its first columns alone (DecodeHeads,
// from the bytes a partial read gives) to the same watch types and times.
// Input: record count (u32, little-endian), then the body.
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "segments/columnar_block.h"

namespace {

void ExpectSame(const sloop::RecordView& a, const sloop::RecordView& b) {
  bool same = a.observed_ns == b.observed_ns && a.watch_type == b.watch_type &&
              a.api_group == b.api_group && a.api_version == b.api_version && a.kind == b.kind &&
              a.namespace_ == b.namespace_ && a.name == b.name && a.uid == b.uid &&
              a.resource_version == b.resource_version && a.payload == b.payload &&
              a.event.has_value() == b.event.has_value();
  if (same && a.event) {
    const auto &x = *a.event, &y = *b.event;
    same = x.involved_kind == y.involved_kind && x.involved_namespace == y.involved_namespace &&
           x.involved_name == y.involved_name && x.involved_uid == y.involved_uid &&
           x.reason == y.reason && x.severity == y.severity && x.count == y.count &&
           x.first_timestamp_ns == y.first_timestamp_ns &&
           x.last_timestamp_ns == y.last_timestamp_ns && x.message == y.message;
  }
  if (!same) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4) return 0;
  uint32_t count;
  std::memcpy(&count, data, 4);
  // A copy of exactly the body, so that ASan sees any read past its end.
  const std::string body(reinterpret_cast<const char*>(data) + 4, size - 4);
  std::vector<sloop::RecordView> records;
  const char* why = nullptr;
  // The first columns alone, from the bytes a partial read decompresses (a copy of just those).
  const std::string prefix = body.substr(0, sloop::columnar_block::HeadBytes(count));
  std::vector<sloop::RecordHead> heads;
  const char* heads_why = nullptr;
  const bool heads_ok = sloop::columnar_block::DecodeHeads(prefix, count, &heads, &heads_why);
  if (!heads_ok && (!heads_why || !*heads_why)) __builtin_trap();
  if (!sloop::columnar_block::Decode(body, count, &records, &why)) {
    if (!why || !*why) __builtin_trap();  // a refusal says why
    return 0;
  }
  if (records.size() != count) __builtin_trap();
  // A body that decodes whole has first columns that decode alone, to the same values.
  if (!heads_ok || heads.size() != count) __builtin_trap();
  for (size_t i = 0; i < records.size(); ++i) {
    if (heads[i].observed_ns != records[i].observed_ns ||
        heads[i].watch_type != records[i].watch_type) {
      __builtin_trap();
    }
  }
  std::string again;
  sloop::columnar_block::Encode(records, &again);
  std::vector<sloop::RecordView> round;
  if (!sloop::columnar_block::Decode(again, count, &round, &why)) __builtin_trap();
  for (size_t i = 0; i < records.size(); ++i) ExpectSame(records[i], round[i]);
  return 0;
}
