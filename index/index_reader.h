// IndexReader is the read-only, memory-mapped index of one sealed shard: a FlatBuffers
// ShardIndex (schema/index.fbs, index/index_format.h, docs/format/index.md) whose entries are
// sorted by (kind, namespace, name, uid), so every lookup is a binary search. Since format
// version 2 the entries are cut into zstd-compressed blocks with the first key of each block kept
// uncompressed: a lookup binary searches those keys, decodes one block and searches inside it
// (version 3 blocks are a compact columnar encoding, version 2 FlatBuffers tables; version 1 has
// one uncompressed vector; all read the same). A version-3 file may have been rewritten to read
// the keys (and equal parts) it shares with the next shard's index there, its base: it is opened
// with that base and answers as the whole file did. Decoded blocks are cached in the IndexReader
// object until it is destroyed; Reader() gives each query its own object over the same mapping
// (and a reader of its own of the base), so memory follows the queries running, not the shards
// stored. Thread-safe.
//
// Callers see plain views (IndexEntry, IndexHeader, IndexHeatCell, IndexOwner, IndexBlock),
// never the file's tables: its layout is known only inside index/.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "index/resource_key.h"

namespace sloop {
namespace fb {
struct ShardIndex;
}  // namespace fb
namespace index_internal {
struct EntryBlock;
struct EntryRow;
struct EventRow;
}  // namespace index_internal

class IndexReader;

// The shard an index describes (ShardIndex's scalars).
struct IndexHeader {
  uint32_t format_version = 0;
  uint64_t shard_id = 0;
  int64_t window_start_ns = 0;  // the shard's nominal window [start, end)
  int64_t window_end_ns = 0;
  int64_t min_ns = 0;  // observed times of the records it holds
  int64_t max_ns = 0;
  uint64_t segment_bytes = 0;  // size of the shard's segment file
  uint64_t record_count = 0;
  // Version 3: the file's identity (kept when it is rewritten against a base), and the shard
  // whose index names some of its keys (0: none; the file holds every key itself).
  uint64_t index_id = 0;
  uint64_t base_shard_id = 0;
};

// Event occurrences about a resource in one minute, for one reason.
struct IndexHeatCell {
  uint32_t minute = 0;  // Unix minutes
  uint32_t count = 0;
  uint16_t reason = 0;  // IndexReader::reason(reason) names it
  uint8_t severity = 0;
};

// One ownerReference of an entry.
struct IndexOwner {
  std::string_view kind;
  std::string_view name;
  std::string_view uid;
  bool controller = false;
};

// Where one compressed entry block lies in the file.
struct IndexBlock {
  uint64_t file_offset = 0;  // of its zstd frame, from the start of the file
  uint32_t compressed_bytes = 0;
  uint32_t raw_bytes = 0;
};

// A view of one entry of an index. Its strings and spans point into the reader's mapping or
// into the block the reader decoded: valid while that reader lives and the block is not dropped
// (DropBlocks). An entry of a block found damaged after opening reads as all defaults.
class IndexEntry {
 public:
  ResourceKeyView key() const;
  // Its name and uid are read in the base index (a file written against a base): an entry
  // carried over with nothing new, or an Event. Answered without reading the base.
  bool key_in_base() const;
  std::string_view api_group() const;
  std::string_view api_version() const;
  int64_t creation_ns() const;  // metadata.creationTimestamp, 0 when unknown
  // As stored: a carried-over entry with no record leaves them out (0), its span is the shard's;
  // so does an entry whose times are in the segment (times_in_segment()).
  int64_t first_ns() const;
  int64_t last_ns() const;
  uint32_t change_count() const;
  uint32_t nochange_count() const;
  uint32_t record_count() const;
  uint8_t flags() const;                            // ResourceFlags (index/resource_summary.h)
  std::span<const uint32_t> change_secs() const;    // Unix seconds, ascending
  std::span<const uint32_t> nochange_secs() const;  // Unix seconds, ascending
  // Its first_ns, last_ns and ticks were left out of the index (an Event's entry with records in
  // an index rewritten against its base, since 2026-12-07): they read 0 and empty, and are its
  // records' (their observation times, first and last, and the seconds of those that changed
  // it and of those that did not; counts are kept).
  bool times_in_segment() const;
  uint32_t heat_size() const;
  IndexHeatCell heat(uint32_t k) const;  // k < heat_size(), by minute then reason
  uint32_t owner_count() const;
  IndexOwner owner(uint32_t k) const;  // k < owner_count()
  // Where its records start in the sealed segment: the offset of the block frame holding the
  // first one, and its index in that block (0, 0 with no record).
  uint64_t first_block() const;
  uint32_t first_record() const;
  std::pair<uint64_t, uint32_t> first_position() const;  // both, for the cost of one
  // Version 3: the ordinal of its first record in the segment (the records before it), when it
  // has one there.
  std::optional<uint64_t> first_record_ordinal() const;
  // The Event entries about this one (entry indices, ascending).
  std::span<const uint32_t> events_about() const;
  std::string_view last_resource_version() const;
  // Event entries: the object it is about as spelled in the entry (an Event about an entry of
  // the shard names only its kind here: that entry lists it in events_about()), and the count
  // and lastTimestamp last seen.
  std::string_view involved_kind() const;
  std::string_view involved_namespace() const;
  std::string_view involved_name() const;
  std::string_view involved_uid() const;
  int32_t event_count() const;
  int64_t event_last_ns() const;

 private:
  friend class IndexReader;
  IndexEntry(const IndexReader* reader, const index_internal::EntryBlock* block,
             const index_internal::EntryRow* row)
      : reader_(reader), block_(block), row_(row) {}
  const index_internal::EventRow& event_row() const;
  const IndexReader* reader_;
  const index_internal::EntryBlock* block_;
  const index_internal::EntryRow* row_;
};

class IndexReader {
 public:
  // Maps path and verifies the whole file (FlatBuffers verifier, identifier, format version,
  // and every entry block: its zstd frame, which declares its size and carries its content
  // checksum as every writer made it, that checksum, its size, and that it decodes: every
  // reference, count and length inside it in bounds).
  // kCorruption / kUnsupported name the file. verify=false maps a file verified before (sealed
  // files are immutable) and checks only its identifier, version and block directory.
  // on_block, when given, sees the entries [first, last) of each block in order while the block
  // is decoded: a first pass over the index at the cost of one block of memory (the blocks are
  // freed as the pass goes on).
  // A file written against a base index (header().base_shard_id, see WriteRebasedIndex) reads
  // some keys and parts of entries there: base(id) gives the base, opened; kCorruption when it
  // gives none or not the index the file was written against.
  using BlockFn = std::function<void(const IndexReader&, uint32_t first, uint32_t last)>;
  using BaseFn = std::function<std::shared_ptr<const IndexReader>(uint64_t shard_id)>;
  static Result<std::shared_ptr<IndexReader>> Open(const std::filesystem::path& path,
                                                   bool verify = true, const BlockFn& on_block = {},
                                                   const BaseFn& base = {});
  // The base shard a file names (0: none), from its header alone, so that its base can be opened
  // first. kCorruption / kUnsupported as Open.
  static Result<uint64_t> BaseShardOf(const std::filesystem::path& path);
  // Whether Open refused a file only because its base did not open, or is not the file it was
  // written against: the file itself passed its checks, and is of no use without that base.
  static bool BaseUnusable(const Error& error);
  ~IndexReader();

  // Another reader of the same mapping with an empty block cache.
  std::shared_ptr<IndexReader> Reader() const;

  const IndexHeader& header() const { return header_; }
  uint32_t format_version() const { return header_.format_version; }
  uint32_t size() const { return entry_count_; }  // number of entries
  // Entry i < size(); see IndexEntry for how long the view lives.
  IndexEntry entry(uint32_t i) const;
  ResourceKeyView key(uint32_t i) const { return entry(i).key(); }
  // Bytes of decompressed blocks this object (and its readers of the base) holds: the query
  // buffer it costs.
  size_t cached_bytes() const;
  // The base index this one reads keys from (null: none).
  const std::shared_ptr<const IndexReader>& base() const { return base_; }

  // Half-open ranges [first, second) of entry indices. An empty field matches everything after
  // the fields before it; fields after an empty one are ignored.
  std::pair<uint32_t, uint32_t> Find(std::string_view kind, std::string_view ns = {},
                                     std::string_view name = {}) const;
  // Exact entry, or size() when absent.
  uint32_t FindExact(const ResourceKeyView& key) const;
  // As Find and FindExact, for entries that hold their own keys (not key_in_base()), which every
  // entry with records does but an Event's: the search compares no key read in the base, so a
  // lookup in an index at the end of a chain of bases decodes no block of theirs. Find's range
  // may still hold entries whose keys are in the base: callers skip them.
  std::pair<uint32_t, uint32_t> FindOwnKeys(std::string_view kind, std::string_view ns,
                                            std::string_view name) const;
  uint32_t FindExactOwnKey(const ResourceKeyView& key) const;
  // First entry whose key is not less than `key` (size() when none).
  uint32_t LowerBound(const ResourceKeyView& key) const;

  // The Event entries about entry `involved` < size(), ascending (a view like entry()'s).
  std::span<const uint32_t> EventsAbout(uint32_t involved) const;
  // Calls fn(event entry, entry it is about) for every Event link of the shard: a pass over the
  // whole index (the blocks are decoded and freed as it goes).
  void ForEachEventLink(const std::function<void(uint32_t event, uint32_t involved)>& fn) const;

  // An Event reason by the index an IndexHeatCell holds ("" when the file has no such reason).
  std::string_view reason(uint32_t id) const;
  std::vector<std::string_view> reasons() const;  // all of them, by index
  // Distinct kinds, and distinct non-empty namespaces, of the entries, sorted.
  std::vector<std::string_view> kinds() const;
  std::vector<std::string_view> namespaces() const;

  // Calls fn(entry, name) for each entry with records in the shard, Events left out, in entry
  // order, until fn returns false; reads one small compressed list, not the entry blocks.
  // Returns false (and calls nothing) when the file has no such list (format version 1).
  bool ForEachRecordedName(const std::function<bool(uint32_t, std::string_view)>& fn) const;

  // Entries per compressed block (0: format version 1, no blocks).
  uint32_t entries_per_block() const { return per_block_; }
  uint32_t block_count() const { return block_count_; }
  IndexBlock block(uint32_t b) const;  // b < block_count()
  // Decodes, in order, the blocks holding entries [first, last) that are not decoded yet,
  // skipping those up to the block of entry *cursor (the scan it runs ahead of), until stop is
  // set. It runs at most kPrefetchLead blocks ahead of the cursor's and then waits for the scan
  // to move it, so that a slow scan does not have the whole index decoded ahead of it. The scan
  // wakes it with cursor.notify_all() after a store, best every kPrefetchLead / 2 blocks (a
  // wake a block costs more than the decoding it saves); to end the wait, set stop, then store
  // and notify. Errors are left to the scan (it meets them when it reads the block).
  static constexpr uint32_t kPrefetchLead = 32;
  void Prefetch(uint32_t first, uint32_t last, const std::atomic<uint32_t>& cursor,
                const std::atomic<bool>& stop) const;
  // How many of its blocks are decoded now (not its base's).
  uint32_t blocks_decoded() const;
  // Frees the decoded blocks from the one holding entry `first` to the one before the block of
  // entry `before`, or to the last one when `before` is size() or more (one is kept, emptied,
  // for the next block decoded to reuse). Only for a reader that one scan owns (Reader()):
  // views into them die.
  void DropBlocks(uint32_t first, uint32_t before) const;
  // Frees every decoded block, the one kept for reuse, and the base's (DropBlocks keeps the
  // last base block it was given: the next block here may name entries in it). Same rule as
  // DropBlocks.
  void DropAllBlocks() const;
  // Drops the mapped pages from this process's resident set (they stay in the page cache and
  // fault back in when read again), so that resident memory does not grow with shards queried.
  void ReleaseMemory() const;
  const std::filesystem::path& path() const { return map_->path; }
  size_t file_bytes() const { return map_->size; }

  IndexReader(const IndexReader&) = delete;
  IndexReader& operator=(const IndexReader&) = delete;

 private:
  friend class IndexEntry;
  struct Mapping {
    std::filesystem::path path;
    void* addr = nullptr;
    size_t size = 0;
    std::vector<std::string_view> strings;  // ShardIndex.strings
    ~Mapping();
  };
  using Decoded = index_internal::EntryBlock;

  explicit IndexReader(std::shared_ptr<const Mapping> map);
  Result<void> CheckDirectory();
  Result<void> CheckDirectoryHash() const;  // version 3
  Result<std::string> RecordedNames() const;
  IndexEntry Entry(uint32_t i) const;
  IndexEntry BaseEntry(uint32_t j) const;  // entry j of the base
  // Where the record of ordinal `ordinal` lies in the segment (version 3).
  std::pair<uint64_t, uint32_t> SegmentPosition(uint64_t ordinal) const;
  Result<void> DecodeFlatBuffers(uint32_t block, Decoded* d) const;  // versions 1 and 2
  Result<const Decoded*> Decode(uint32_t block) const;
  bool Claim(uint32_t block) const;
  Result<const Decoded*> DecodeClaimed(uint32_t block) const;  // and ends the claim
  Result<const Decoded*> DecodeBlock(uint32_t block) const;
  static constexpr uint32_t kHelpWindow = 8;  // blocks ahead a waiting reader may decode
  // First entry index in [0, size()] whose key is not less than the target (less(key) is
  // "key < target"), found through the block keys and one block.
  template <typename Less>
  uint32_t LowerBound(const Less& less) const;
  // The entries [first, second) a lower bound lies among, found through the directory's block
  // keys: one block (or all entries of a file without blocks); {0, 0} when it is entry 0.
  template <typename Less>
  std::pair<uint32_t, uint32_t> CandidateRange(const Less& less) const;
  // The first entry holding its own key whose key is not less (or the entry after the last such
  // one), probing only entries that hold their own keys.
  template <typename Less>
  uint32_t LowerBoundOwnKeys(const Less& less) const;

  std::shared_ptr<const Mapping> map_;
  // The base index: for the object Open made, the one Open was given; for a Reader(), a reader
  // of its own of that base (so that its decoded blocks follow this reader's).
  std::shared_ptr<const IndexReader> base_;
  const fb::ShardIndex* root_ = nullptr;
  IndexHeader header_;
  uint32_t entry_count_ = 0;
  uint32_t per_block_ = 0;  // 0: version 1, entries in root_->entries()
  uint32_t block_count_ = 0;
  // Blocks as this object decodes them: version 1's single vector is read in slices of
  // kEntriesPerBlock (not blocks of the file: entries_per_block() and block_count() say 0).
  uint32_t rows_per_block_ = 0;
  uint32_t decoded_count_ = 0;
  // Every block was verified when the file was opened: later decodes rely on zstd's checksum.
  bool verified_ = false;
  std::unique_ptr<std::atomic<Decoded*>[]> decoded_;
  std::unique_ptr<std::atomic<uint8_t>[]> claims_;  // 1 while a thread decodes the block
  mutable std::atomic<bool> prefetching_{false};
  mutable std::atomic<size_t> cached_bytes_{0};
  mutable std::atomic<bool> damage_logged_{false};
  // A block dropped (DropBlocks), emptied, for the next block decoded to reuse: a scan then
  // decodes into memory it has touched before rather than into new pages.
  mutable std::atomic<Decoded*> spare_{nullptr};
  void Recycle(Decoded* d) const;  // a dropped block: kept as the spare, or freed
};

}  // namespace sloop
