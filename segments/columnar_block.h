// Block format 2: the records of one block stored by column, their payloads last (see
// docs/format/segment.md, "Records inside a block, format 2"). Shared by the writer and the
// reader. Internal to segments/.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "segments/record.h"

namespace sloop::columnar_block {

// Where the parts of an encoded body end, from its start.
struct BodyParts {
  size_t heads = 0;    // the first columns: watch types, observation times (what DecodeHeads reads)
  size_t columns = 0;  // every column; the payloads follow
};
// Appends the uncompressed body of a block holding `records`, in this order, to *out.
BodyParts Encode(std::span<const RecordView> records, std::string* out);

// Decodes the body of a block of `count` records into *out (resized to count): every view
// points into `body`, so they are valid while its bytes are. Returns false with *why when the
// body is not a well-formed format 2 body of exactly `count` records; *out is then unusable.
bool Decode(std::string_view body, uint32_t count, std::vector<RecordView>* out, const char** why);

// The most bytes at the start of a body of `count` records that DecodeHeads needs.
size_t HeadBytes(uint32_t count);
// Decodes the first columns of a body (watch types, observation times) from `prefix`, its
// first bytes (HeadBytes(count), or the whole body when shorter), into *out (resized to count).
// False with *why when they are not well formed. A prefix that holds those columns whole decodes
// as the whole body does; a shorter one fails.
bool DecodeHeads(std::string_view prefix, uint32_t count, std::vector<RecordHead>* out,
                 const char** why);

}  // namespace sloop::columnar_block
