// Rewrites a shard's arrival-order segment in key order (kind, namespace, name, uid, time), in
// bounded memory: records are sorted in runs of at most `budget` bytes, and the runs merged. The
// output starts with a dictionary of at most `dictionary_bytes` (0: none) sampled from the
// records (segments/dictionary.h). event_block_bytes (0: no difference) gives kind Event blocks
// of their own of about that size, cut between the Events of one object and the next's.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <vector>

#include "base/status.h"
#include "index/resource_key.h"
#include "segments/segment_writer.h"

namespace sloop {

struct SortedSegment {
  uint64_t records = 0;
  uint64_t bytes = 0;  // size of the output file
  uint64_t runs = 0;
};

// Called with the first record of each resource in the output, in key order (so that the caller
// can place each in its index without the keys being held here): where it went, and its ordinal
// in the output (the records before it).
using FirstRecordFn =
    std::function<void(const ResourceKeyView&, const RecordLocation&, uint64_t ordinal)>;

Result<SortedSegment> WriteSortedSegment(const std::filesystem::path& input,
                                         const std::filesystem::path& output,
                                         const WriterOptions& options, uint64_t budget_bytes,
                                         size_t dictionary_bytes, const FirstRecordFn& on_first,
                                         size_t event_block_bytes = 0);

}  // namespace sloop
