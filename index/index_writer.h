// IndexWriter serialises the entries of one shard into its index file (format version 3: a
// FlatBuffers ShardIndex, schema/index.fbs, whose entry blocks are index/entry_block.h's compact
// encoding; docs/format/index.md; IndexReader reads it back). The entries come in key order,
// twice: Plan sees every key first (the file names kinds, namespaces and API strings by index
// into one sorted table, and an Event's link is kept with the entry it is about, which may come
// first), then Add sees each again and writes it into its compressed block. Finish writes the
// file. Not thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>

#include "base/status.h"
#include "index/resource_key.h"
#include "index/resource_summary.h"

namespace sloop {
namespace index_internal {
struct EntryRef;
}  // namespace index_internal

// Where an entry's records start in the sealed (key-ordered) segment: the offset of the block
// frame holding its first record, that record's index in the block, and its ordinal in the
// segment (records before it). first_block 0: none (no record of it reached the segment).
struct RecordPosition {
  uint64_t first_block = 0;
  uint32_t first_record = 0;
  uint64_t ordinal = 0;
};

// The shard an index describes (IndexHeader, as written; the format version is the writer's).
struct IndexShardInfo {
  uint64_t shard_id = 0;
  int64_t window_start_ns = 0;
  int64_t window_end_ns = 0;
  int64_t min_ns = 0;
  int64_t max_ns = 0;
  uint64_t segment_bytes = 0;
  uint64_t record_count = 0;
  // The file's identity: 0 draws a new one (a shard sealed), a rewrite keeps the old one.
  uint64_t index_id = 0;
  // Written against the index of another shard (WriteRebasedIndex): its shard id, identity and
  // entry count (0: none).
  uint64_t base_shard_id = 0;
  uint64_t base_index_id = 0;
  uint32_t base_entry_count = 0;
};

class IndexWriter {
 public:
  // path names the file in errors and is where Finish writes it (the caller renames it into
  // place). window_start_ns is the shard's (times are written against it).
  IndexWriter(std::filesystem::path path, int64_t window_start_ns);
  ~IndexWriter();

  // First pass: every entry, in key order.
  void Plan(const ResourceKeyView& key, const ResourceSummary& s);
  // Second pass: the same entries in the same order. The views are read during the call only.
  // Positions must agree with each other (two entries starting in one segment block put its
  // first record at one ordinal): kInvalidArgument otherwise.
  // ref (only with a base, see IndexShardInfo): the entry of the base with the same key, whose
  // key and equal parts this entry names instead of holding them.
  // times_in_segment: its times and ticks are left out, for readers to take from its records
  // (IndexEntry::times_in_segment); only for an entry with records at a known position.
  Result<void> Add(const ResourceKeyView& key, const ResourceSummary& s, RecordPosition position,
                   const index_internal::EntryRef* ref = nullptr, bool times_in_segment = false);
  // Writes the file and fsyncs it. reasons are the Event reasons the entries' heat cells name
  // (HeatCellData::reason). Refused when the passes did not see the same number of entries.
  Result<void> Finish(const IndexShardInfo& shard, std::span<const std::string> reasons);

  IndexWriter(const IndexWriter&) = delete;
  IndexWriter& operator=(const IndexWriter&) = delete;

 private:
  struct State;
  std::filesystem::path path_;
  std::unique_ptr<State> st_;
};

}  // namespace sloop
