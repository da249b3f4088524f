// A shard is one time window of records. The active shard appends in arrival order and indexes
// in memory; a sealed shard is a key-ordered segment plus a memory-mapped IndexReader. Both are
// read through the same interface so that queries need not care which they are reading.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "index/resource_key.h"
#include "index/shard_index_builder.h"
#include "segments/record.h"
#include "segments/segment_reader.h"
#include "segments/segment_writer.h"

namespace sloop {

class ByteSource;
class IndexReader;

struct HeatView {
  uint32_t minute = 0;  // Unix minutes
  uint32_t count = 0;
  std::string_view reason;
  EventSeverity severity = EventSeverity::kUnknown;
};

struct OwnerView {
  std::string_view kind;
  std::string_view name;
  std::string_view uid;
  bool controller = false;
};

// One index entry, borrowed from the shard for the duration of a callback.
struct EntryView {
  ResourceKeyView key;
  std::string_view api_group;
  std::string_view api_version;
  int64_t creation_ns = 0;
  int64_t first_ns = 0;
  int64_t last_ns = 0;
  uint32_t change_count = 0;
  uint32_t nochange_count = 0;
  uint32_t record_count = 0;
  uint8_t flags = 0;
  std::string_view last_resource_version;  // of its newest record that changed it
  std::span<const uint32_t> change_secs;
  std::span<const uint32_t> nochange_secs;
  std::vector<HeatView> heat;
  std::vector<OwnerView> owners;
};

// ASCII case-insensitive substring test (an empty needle is found everywhere).
bool ContainsIgnoreCase(std::string_view hay, std::string_view needle);

// Which entries a scan visits. Empty strings match everything.
struct EntryFilter {
  std::string_view kind;
  std::string_view namespace_;
  std::string_view name;           // exact name (with kind and namespace: a binary search)
  std::string_view name_contains;  // names containing this, ASCII case ignored
  bool skip_events = false;        // leave out kind Event (unless kind asks for it)
  bool skip_carried = false;       // leave out entries carried over with no record in the shard
  bool skip_unchanged = false;     // ... and with no Event about them either (what the shard
                                   // before said of them holds through this one)
  // An entry whose times are in the segment (an Event's in an older shard) is given the span of
  // the shard's records and no ticks instead of reading them: for a caller that asks which
  // resources a window holds (a superset), not when.
  bool shard_span_times = false;
};

struct ShardInfo {
  uint64_t id = 0;
  bool sealed = false;
  int64_t window_start_ns = 0;
  int64_t window_end_ns = 0;
  int64_t min_ns = 0;  // observed times of its records (0 when it has none)
  int64_t max_ns = 0;
  uint64_t records = 0;
  uint64_t resources = 0;
  uint64_t segment_bytes = 0;
  uint64_t index_bytes = 0;  // sealed: index file; active: approximate memory of its index
  // Kept in the object store, not here (objstore/remote_shards.h): read on demand.
  bool remote = false;
};

using EntryFn = std::function<bool(const EntryView&)>;    // false stops
using RecordFn = std::function<bool(const RecordView&)>;  // false stops

class Shard {
 public:
  virtual ~Shard() = default;
  virtual ShardInfo info() const = 0;

  // Visits entries matching filter in key order. The view is valid only inside fn.
  virtual void ForEachEntry(const EntryFilter& filter, bool with_details,
                            const EntryFn& fn) const = 0;

  // Visits the records of one resource in time order. An empty key.uid means every uid of that
  // kind/namespace/name.
  virtual Result<void> ForEachRecord(const ResourceKeyView& key, const RecordFn& fn) const = 0;

  // Visits the records of the Events about a resource (empty uid: any uid of that name).
  virtual Result<void> ForEachEventAbout(const ResourceKeyView& involved,
                                         const RecordFn& fn) const = 0;

  // The records of many resources in one pass: those of the entries with records here that
  // filter matches and pick accepts (pick sees each such entry once, in key order), each block
  // read once however many of them share it. Sealed: in key order, each resource's records
  // oldest first. Active: in arrival order. fn returning false stops.
  virtual Result<void> ForEachPickedRecord(const EntryFilter& filter, const EntryFn& pick,
                                           const RecordFn& fn) const = 0;

  // Distinct kinds and namespaces of the shard's entries.
  virtual std::vector<std::string> Kinds() const = 0;
  virtual std::vector<std::string> Namespaces() const = 0;

  // Files that make up the shard (for backup and retention), with their sizes.
  virtual std::vector<std::pair<std::filesystem::path, uint64_t>> Files() const = 0;

  // Distinct blocks that failed their checks when a query read them: queries skip them and
  // answer with the rest (each is logged once, naming the file and offset).
  uint64_t corrupt_blocks_skipped() const;

 protected:
  // Counts (and logs, the first time) a damaged block at offset of file, met while reading what.
  void NoteCorruptBlock(const std::filesystem::path& file, uint64_t offset,
                        const std::string& what) const;

 private:
  mutable std::mutex corrupt_mu_;
  mutable std::vector<uint64_t> corrupt_offsets_;  // distinct offsets, few
};

// A Bloom filter over (kind, namespace, name): "certainly not here" or "maybe here".
class NameFilter {
 public:
  NameFilter() = default;
  // From Hash(kind, namespace, name) of every key that is present.
  explicit NameFilter(const std::vector<uint64_t>& hashes);
  static uint64_t Hash(std::string_view kind, std::string_view ns, std::string_view name);
  bool MayContain(std::string_view kind, std::string_view ns, std::string_view name) const;

 private:
  std::vector<uint64_t> bits_;  // empty: everything may be here
};

// A sealed shard: immutable; safe for any number of concurrent readers.
class SealedShard : public Shard {
 public:
  // An index written against the index of another shard (docs/format/index.md) reads it
  // through base(shard id): the shard's, opened (kCorruption when it gives none).
  using BaseFn = std::function<std::shared_ptr<const SealedShard>(uint64_t shard_id)>;
  static Result<std::shared_ptr<SealedShard>> Open(const std::filesystem::path& segment_path,
                                                   const std::filesystem::path& index_path,
                                                   const BaseFn& base = {});
  // The same with the segment's bytes read through `segment` (a shard kept in object storage:
  // objstore/remote_shards.h); segment_path names it in messages and Files(). Nothing of the
  // segment is read until a query reads records (a timeline reads the index alone): its header is
  // checked then, and a bad one fails that read.
  static Result<std::shared_ptr<SealedShard>> Open(std::unique_ptr<ByteSource> segment,
                                                   const std::filesystem::path& segment_path,
                                                   const std::filesystem::path& index_path,
                                                   const BaseFn& base = {});
  ~SealedShard() override;

  ShardInfo info() const override;
  void ForEachEntry(const EntryFilter& filter, bool with_details, const EntryFn& fn) const override;
  Result<void> ForEachRecord(const ResourceKeyView& key, const RecordFn& fn) const override;
  Result<void> ForEachEventAbout(const ResourceKeyView& involved,
                                 const RecordFn& fn) const override;
  Result<void> ForEachPickedRecord(const EntryFilter& filter, const EntryFn& pick,
                                   const RecordFn& fn) const override;
  std::vector<std::string> Kinds() const override;
  std::vector<std::string> Namespaces() const override;
  std::vector<std::pair<std::filesystem::path, uint64_t>> Files() const override;

  // The index, held for one use: its pages leave the resident set when the last holder lets go,
  // so resident memory does not grow with the number of shards kept or queried.
  std::shared_ptr<const IndexReader> index() const;
  // The index as opened, for another shard's index to read it as its base (and for rewriting).
  const std::shared_ptr<const IndexReader>& opened_index() const { return index_; }
  // The shard whose index this one's reads keys in (0: none).
  uint64_t base_shard_id() const;
  const std::filesystem::path& segment_path() const { return segment_path_; }
  const std::filesystem::path& index_path() const { return index_path_; }

 private:
  SealedShard() = default;
  // With block (its buffers reused), a block already decoded there (at *decoded, the offset it
  // was read from) is not read again: neighbours in key order share blocks.
  Result<void> ReadEntryRecords(const IndexReader& index, uint32_t entry, const RecordFn& fn,
                                Block* block = nullptr, uint64_t* decoded = nullptr) const;
  // What FillEntry keeps between the entries of one scan: the segment block it read last (the
  // Events of one object share blocks) and the ticks it read for the entry it filled.
  struct EntryScratch {
    Block block;
    uint64_t decoded = 0;
    // The first columns of the segment block at heads_offset (0: none), for entries whose
    // records all changed them or none did, which need only their times.
    std::vector<RecordHead> heads;
    uint64_t heads_offset = 0;
    uint64_t heads_ordinal = 0;  // of its first record in the segment (UINT64_MAX: unknown)
    std::string frame;
    std::vector<uint32_t> change_secs;
    std::vector<uint32_t> nochange_secs;
  };
  // An entry whose times are in the segment (IndexEntry::times_in_segment) has them read from
  // its records, into scratch (its ticks live there until the next call).
  void FillEntry(const IndexReader& index, uint32_t i, bool with_details, EntryView* v,
                 EntryScratch* scratch, bool shard_span_times = false) const;
  // The times and ticks of such an entry, as the index would have held them.
  void ReadTimes(const IndexReader& index, uint32_t i, EntryView* v,
                 EntryScratch* scratch) const;
  static Result<std::shared_ptr<SealedShard>> Open(std::unique_ptr<ByteSource> segment,
                                                   const std::filesystem::path& segment_path,
                                                   const std::filesystem::path& index_path,
                                                   const BaseFn& base, bool lazy);
  // The segment's reader, opened on first use when the shard was opened lazily.
  Result<const SegmentReader*> Segment() const;

  std::filesystem::path segment_path_;
  std::filesystem::path index_path_;
  bool lazy_ = false;  // the segment's reader is opened on first use, under reader_mu_
  mutable std::mutex reader_mu_;
  mutable std::unique_ptr<SegmentReader> reader_;
  mutable std::unique_ptr<ByteSource> lazy_source_;  // until the reader is opened
  mutable Error reader_error_{ErrorCode::kIOError, "the segment was not opened"};
  ShardInfo info_;
  NameFilter present_;  // resources with records or Events in this shard
  std::vector<std::string> kinds_;
  std::vector<std::string> namespaces_;
  std::shared_ptr<const IndexReader> index_;
};

// Opens the sealed shards of one directory (NNNNNNNNNN.seg and .idx) with the shards their
// indexes read keys in (docs/format/index.md): a base opens first, and each shard once. A shard
// whose base is not there, does not open, or reads (through others) in itself, fails to open
// (kCorruption), as one with a damaged index does.
class SealedShardOpener {
 public:
  // has_pair(id): whether the directory holds both files of shard id.
  SealedShardOpener(std::filesystem::path dir, std::function<bool(uint64_t)> has_pair);
  ~SealedShardOpener();
  Result<std::shared_ptr<SealedShard>> Open(uint64_t id);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// The shard being written. Appends are serialised by the Store; reads take the shard's lock.
class ActiveShard : public Shard {
 public:
  // Creates the shard's arrival-order segment ("<id>.active"), or reopens one after a restart:
  // its torn tail is cut and its index rebuilt by scanning it.
  static Result<std::shared_ptr<ActiveShard>> Create(const std::filesystem::path& dir, uint64_t id,
                                                     int64_t window_start_ns, int64_t window_end_ns,
                                                     const WriterOptions& options);
  static Result<std::shared_ptr<ActiveShard>> Reopen(const std::filesystem::path& path, uint64_t id,
                                                     int64_t window_start_ns, int64_t window_end_ns,
                                                     const WriterOptions& options,
                                                     RecoveryReport* report);

  // All or nothing (SegmentWriter::Append): on error neither the segment nor the index holds
  // the record. *first_pending (when given) says whether the record started a new block in
  // memory, i.e. whether the writer's timer (FlushAged) has something new to wait for.
  Result<void> Append(const RecordView& record, bool* first_pending = nullptr);
  Result<void> Flush();
  // SegmentWriter::FlushAged on the shard's writer (nothing once finished).
  Result<void> FlushAged(std::chrono::steady_clock::time_point now,
                         std::chrono::steady_clock::time_point* next_due);
  // Closes the writer (flush + fsync); the shard stays readable.
  Result<void> Finish();

  // Seeds the index with the resources alive at the end of the shard before.
  void CarryOver(const Shard& previous);
  // The same by reference (ShardIndexBuilder::CarryByReference): the live resources of
  // `previous` (finished, being sealed) are read there, not copied, and queries see them all
  // along. If this shard finishes before `previous` is sealed, it copies them in then.
  void DeferCarryOver(std::shared_ptr<const ActiveShard> previous);
  // `previous` is sealed: the resources are read in its index from now on.
  void FinishCarryOver(const SealedShard& sealed);
  // The shard whose builder this one reads, or null.
  const ActiveShard* carry_source() const;

  ShardInfo info() const override;
  void ForEachEntry(const EntryFilter& filter, bool with_details, const EntryFn& fn) const override;
  Result<void> ForEachRecord(const ResourceKeyView& key, const RecordFn& fn) const override;
  Result<void> ForEachEventAbout(const ResourceKeyView& involved,
                                 const RecordFn& fn) const override;
  Result<void> ForEachPickedRecord(const EntryFilter& filter, const EntryFn& pick,
                                   const RecordFn& fn) const override;
  std::vector<std::string> Kinds() const override;
  std::vector<std::string> Namespaces() const override;
  std::vector<std::pair<std::filesystem::path, uint64_t>> Files() const override;

  uint64_t id() const { return id_; }
  int64_t window_start_ns() const { return builder_.window_start_ns(); }
  int64_t window_end_ns() const { return builder_.window_end_ns(); }
  uint64_t segment_bytes() const;
  uint64_t memory_bytes() const;
  // The index memory the carry-over seeded (the resources alive at the start): the part of
  // memory_bytes() that a new shard would start with again, so it does not count towards caps.
  uint64_t carried_bytes() const;
  const std::filesystem::path& path() const { return path_; }

  // For sealing: the index (no lock: call only after Finish()).
  const ShardIndexBuilder& builder() const { return builder_; }

 private:
  ActiveShard(std::filesystem::path path, uint64_t id, int64_t start, int64_t end)
      : path_(std::move(path)), id_(id), builder_(start, end) {}
  Result<void> ReadSummaryRecords(const ResourceKeyView& key, const ResourceSummary& s,
                                  const RecordFn& fn) const;
  void FillEntry(const ResourceKeyView& key, const ResourceSummary& s, bool with_details,
                 EntryView* v) const;

  // Copies what info() says into info_ (with mu_ held): info() reads it under info_mu_ alone,
  // so that a snapshot of the shards (every query, /metrics) does not wait out an append or a
  // flush, which hold mu_ through the file's write and fdatasync.
  void PublishInfo();

  std::filesystem::path path_;
  uint64_t id_;
  mutable std::mutex mu_;
  mutable std::mutex info_mu_;
  ShardInfo info_;  // under info_mu_
  std::unique_ptr<SegmentWriter> writer_;
  std::unique_ptr<SegmentReader> reader_;
  ShardIndexBuilder builder_;
  std::shared_ptr<const ActiveShard> carry_from_;  // DeferCarryOver: kept alive until finished
  uint64_t carried_bytes_ = 0;
  std::vector<uint64_t> block_offsets_;  // block id → offset of its frame
  uint64_t finished_bytes_ = 0;          // file size once finished
  bool finished_ = false;
};

}  // namespace sloop
