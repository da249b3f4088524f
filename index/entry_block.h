// One block of a shard index's entries, as IndexReader holds it in memory once decoded
// (EntryBlock: plain rows whatever the file's format version), and the compact encoding of
// format version 3 (docs/format/index.md, "Entry block"): EntryBlockBuilder writes one block's
// payload, DecodeEntryBlock reads it back. Internal to index/: callers see IndexEntry.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "index/index_format.h"
#include "index/index_reader.h"
#include "index/resource_key.h"
#include "index/resource_summary.h"

namespace sloop::index_internal {

inline constexpr uint32_t kNoEvent = 0xffffffffu;

// Which parts of an entry named through the base index (EntryRow::ref) are the base entry's.
enum Inherit : uint8_t {
  kInheritCreation = 1,
  kInheritOwners = 2,
  kInheritVersion = 4,
  kInheritEvent = 8,
};

// An entry written as a reference into the base index: the base entry with the same key, and
// which of its parts (Inherit) are equal to this entry's and left out.
struct EntryRef {
  uint32_t entry = 0;
  uint8_t inherit = 0;
};

// Copies of strings that stay where they are for as long as the arena lives.
class CharArena {
 public:
  char* Allocate(size_t n);
  std::string_view Copy(std::string_view s);
  size_t bytes() const { return bytes_; }
  // Forgets every string, keeping the first chunk for the next ones.
  void Reset();

 private:
  std::vector<std::unique_ptr<char[]>> chunks_;
  char* at_ = nullptr;
  size_t left_ = 0;
  size_t bytes_ = 0;
  size_t first_bytes_ = 0;  // the size of chunks_[0]
};

// One entry. Lists are ranges of the block's shared vectors.
struct EntryRow {
  ResourceKeyView key;
  std::string_view api_group;
  std::string_view api_version;
  std::string_view last_resource_version;
  int64_t creation_ns = 0;
  int64_t first_ns = 0;
  int64_t last_ns = 0;
  // Where its records start. Version 3: the ordinal of its first record in the segment
  // (has_position false: none). Versions 1 and 2: the block frame's offset and first_record.
  uint64_t position = 0;
  uint32_t first_record = 0;
  uint32_t change_count = 0;
  uint32_t nochange_count = 0;
  uint32_t record_count = 0;
  uint32_t ticks = 0;  // change_secs then nochange_secs, in EntryBlock::ticks
  uint32_t change_n = 0;
  uint32_t nochange_n = 0;
  uint32_t heat = 0;  // in EntryBlock::heat
  uint32_t heat_n = 0;
  uint32_t owners = 0;  // in EntryBlock::owners
  uint32_t owners_n = 0;
  uint32_t about = 0;  // the Event entries about it, in EntryBlock::about
  uint32_t about_n = 0;
  uint32_t event = kNoEvent;  // in EntryBlock::events
  // Named through the base index: its entry there (index_format::kNoRef: its own key). The
  // row's name and uid are then empty, and the parts `inherit` lists are read from there.
  uint32_t ref = index_format::kNoRef;
  uint8_t inherit = 0;
  uint8_t flags = 0;
  bool has_position = false;
  // Its times and ticks were left out of the index (first_ns, last_ns 0, no ticks): they are
  // its records' (IndexEntry::times_in_segment).
  bool times_in_segment = false;
};

// A row as decoding starts it. Rows are made by copying it (`assign(n, kEmptyRow)`), not by
// value-initialising each: GCC clears each row with a string instruction of its own, whose
// start-up cost made that 9.4 % of the CPU samples of 24-hour Event timelines (3.6 % as
// copies; the decoding runs mostly on the prefetch thread, so answers come no sooner).
inline constexpr EntryRow kEmptyRow{};

// What only an Event entry has.
struct EventRow {
  std::string_view kind;  // of the object it is about
  std::string_view namespace_;
  std::string_view name;
  std::string_view uid;
  int32_t count = 0;
  int64_t last_ns = 0;
};

struct EntryBlock {
  std::vector<EntryRow> rows;
  std::vector<uint32_t> ticks;
  std::vector<IndexHeatCell> heat;
  std::vector<IndexOwner> owners;
  std::vector<EventRow> events;
  std::vector<uint32_t> about;  // entry indices, ascending per row
  CharArena chars;
  std::unique_ptr<uint8_t[]> raw;  // the decompressed payload, when rows point into it
  size_t raw_bytes = 0;

  // Heap bytes held, for IndexReader::cached_bytes.
  size_t bytes() const;
  // Empties it for another block, keeping what it allocated.
  void Clear();
};

// What a version-3 block needs from the rest of its file to decode.
struct BlockContext {
  std::span<const std::string_view> strings;  // ShardIndex.strings
  int64_t window_start_ns = 0;
  uint32_t first_entry = 0;  // index of the block's first entry in the shard
  uint32_t entries = 0;      // entries the block must hold
  uint32_t shard_entries = 0;
  uint32_t base_entries = 0;  // entries of the base index (0: none; no entry may name one)
  bool times_in_segment = false;  // version 4: entries may leave their times to the segment
};

// Decodes a version-3 block payload (decompressed) into *out. False, with *why set, when the
// payload is damaged: every count, reference, length and index is checked against what holds it,
// and every list of indices (refs, Event links) against its order, with no arithmetic that can
// overflow; what it allocates is bounded by the payload's bytes and the block's entries.
bool DecodeEntryBlock(std::string_view payload, const BlockContext& ctx, EntryBlock* out,
                      std::string* why);

// Writes the payload of one version-3 block, entry by entry in key order.
class EntryBlockBuilder {
 public:
  using StringId = std::function<uint32_t(std::string_view)>;
  // string_id numbers kinds, namespaces, API groups and versions, owner kinds and the kinds and
  // namespaces of involved objects in ShardIndex.strings.
  EntryBlockBuilder(int64_t window_start_ns, StringId string_id);

  // The entry index of the block's first entry, and the ordinal its records would have if they
  // followed those of the entries before it (the running total of record counts).
  void Start(uint32_t first_entry, uint64_t expected_ordinal);
  // An entry. ordinal: of its first record in the segment (nullopt: it has none there though
  // it counts records). linked: an Event whose object has an entry in the shard (named through
  // that entry's `about` list, not spelled out here). about: the Event entries about it,
  // ascending. ref: the base entry that names its key (and the parts it inherits), entries
  // increasing within the block; null: the key is written here.
  // times_in_segment: leave its times and ticks out, for readers to take from its records (an
  // entry with records and an ordinal only; ignored otherwise). Returns whether they were left
  // out (the file is then version 4).
  bool Add(const ResourceKeyView& key, const ResourceSummary& s, std::optional<uint64_t> ordinal,
           bool linked, std::span<const uint32_t> about, const EntryRef* ref = nullptr,
           bool times_in_segment = false);
  uint32_t size() const { return n_; }
  // The block's payload; the builder is empty again.
  std::string Finish();

 private:
  void EndRun();

  int64_t window_start_ns_;
  StringId string_id_;
  std::string streams_[index_format::kBlockStreams];
  std::string owner_table_;
  uint32_t owner_lists_ = 0;
  std::vector<std::pair<std::string, uint32_t>> owner_ids_;  // content key -> id
  uint32_t first_entry_ = 0;
  uint64_t expected_ordinal_ = 0;
  uint64_t next_ordinal_ = 0;
  uint32_t n_ = 0;
  std::string previous_name_;
  int64_t previous_creation_ = 0;
  uint64_t previous_version_ = 0;
  uint32_t run_[4] = {};
  uint32_t run_length_ = 0;
  int64_t previous_about_local_ = -1;
  uint32_t about_targets_ = 0;
  std::string about_;
  uint32_t previous_event_ = 0;
  int64_t previous_ref_ = -1;
};

}  // namespace sloop::index_internal
