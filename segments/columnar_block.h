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

// Appends the uncompressed body of a block holding `records`, in this order, to *out.
void Encode(std::span<const RecordView> records, std::string* out);

// Decodes the body of a block of `count` records into *out (resized to count): every view
// points into `body`, so they are valid while its bytes are. Returns false with *why when the
// body is not a well-formed format 2 body of exactly `count` records; *out is then unusable.
bool Decode(std::string_view body, uint32_t count, std::vector<RecordView>* out, const char** why);

}  // namespace sloop::columnar_block
