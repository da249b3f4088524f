// Rewriting a sealed shard's index against the index of the shard after it (its base), so that
// what both hold is stored once (docs/format/index.md, "Indexes written against a base"): the
// entries of resources carried over unchanged, and of Events, whose key the base also has are
// written as a reference to their entry there, and the parts equal there (creation time, owners,
// resourceVersion, Event fields) are left out. Everything else, and every answer a reader gives,
// stays as it was.
#pragma once

#include <filesystem>

#include "base/status.h"
#include "index/index_reader.h"

namespace sloop {

// Writes `index` (format 3, holding every key itself) to path as a file read through `base`
// (format 3, the index of the next shard; it may itself have a base), fsynced. The file keeps
// index's identity (header().index_id), so that files written against it stay valid.
// kInvalidArgument when index has a base already or either is of an older format.
Result<void> WriteRebasedIndex(const IndexReader& index, const IndexReader& base,
                               const std::filesystem::path& path);

// Writes `index` (format 3, with or without a base) to path holding every key itself, as it was
// before it was rewritten against a base: what the object-store tier uploads, so that a shard
// in a bucket is read alone. The file keeps index's identity (index_id); fsynced.
// kInvalidArgument for an older format (those hold their keys already).
Result<void> WriteWholeIndex(const IndexReader& index, const std::filesystem::path& path);

}  // namespace sloop
