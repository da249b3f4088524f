#include "engine/shard.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <system_error>
#include <thread>

#include "base/log.h"
#include "engine/query_damage.h"
#include "index/index_reader.h"
#include "segments/byte_source.h"

namespace sloop {
namespace {

// Scans of at least this many index blocks decompress ahead on a second thread.
constexpr uint32_t kPrefetchMinBlocks = 16;

// Whether the filter leaves out an entry carried over into the shard (skip_carried: any with no
// record here; skip_unchanged: those with no Event about them either).
bool SkipsCarried(const EntryFilter& filter, uint8_t flags, uint32_t records, bool has_heat) {
  if (!filter.skip_carried && !filter.skip_unchanged) return false;
  return (flags & kCarriedOver) && records == 0 && (filter.skip_carried || !has_heat);
}

bool SameResource(const RecordView& r, const ResourceKeyView& key) {
  return r.name == key.name && r.namespace_ == key.namespace_ && r.kind == key.kind &&
         (key.uid.empty() || r.uid == key.uid);
}

// Does key (of an entry) fall under filter's fields?
bool Matches(const ResourceKeyView& key, const EntryFilter& f) {
  if (!f.kind.empty() && key.kind != f.kind) return false;
  if (!f.namespace_.empty() && key.namespace_ != f.namespace_) return false;
  if (!f.name.empty() && key.name != f.name) return false;
  if (!f.name_contains.empty() && !ContainsIgnoreCase(key.name, f.name_contains)) return false;
  return true;
}

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

}  // namespace

bool ContainsIgnoreCase(std::string_view hay, std::string_view needle) {
  if (needle.empty()) return true;
  if (hay.size() < needle.size()) return false;
  const char first = Lower(needle[0]);
  for (size_t i = 0; i + needle.size() <= hay.size(); ++i) {
    if (Lower(hay[i]) != first) continue;
    size_t j = 1;
    while (j < needle.size() && Lower(hay[i + j]) == Lower(needle[j])) ++j;
    if (j == needle.size()) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Shard

uint64_t Shard::corrupt_blocks_skipped() const {
  std::lock_guard lock(corrupt_mu_);
  return corrupt_offsets_.size();
}

namespace {
thread_local uint64_t damaged_blocks_skipped = 0;
}  // namespace

uint64_t DamagedBlocksSkippedOnThisThread() { return damaged_blocks_skipped; }
void NoteDamagedBlockSkippedOnThisThread() { ++damaged_blocks_skipped; }

void Shard::NoteCorruptBlock(const std::filesystem::path& file, uint64_t offset,
                             const std::string& what) const {
  NoteDamagedBlockSkippedOnThisThread();
  {
    std::lock_guard lock(corrupt_mu_);
    if (std::find(corrupt_offsets_.begin(), corrupt_offsets_.end(), offset) !=
        corrupt_offsets_.end()) {
      return;
    }
    corrupt_offsets_.push_back(offset);
  }
  LogLine("shard", file.string() + ": damaged block at offset " + std::to_string(offset) +
                       " skipped; queries answer without its records (" + what +
                       "). Restore the shard from a backup to get them back.");
}

// ---------------------------------------------------------------------------------------------
// NameFilter

uint64_t NameFilter::Hash(std::string_view kind, std::string_view ns, std::string_view name) {
  uint64_t h = std::hash<std::string_view>{}(kind);
  h = h * 0x9e3779b97f4a7c15ULL ^ std::hash<std::string_view>{}(ns);
  return h * 0x9e3779b97f4a7c15ULL ^ std::hash<std::string_view>{}(name);
}

NameFilter::NameFilter(const std::vector<uint64_t>& hashes) {
  // About 10 bits a key and 4 probes: roughly 1% false positives.
  size_t bits = std::max<size_t>(64, hashes.size() * 10);
  bits_.assign((bits + 63) / 64, 0);
  for (uint64_t h : hashes) {
    for (int i = 0; i < 4; ++i) {
      uint64_t b = (h + i * (h >> 32 | 1)) % (bits_.size() * 64);
      bits_[b / 64] |= 1ULL << (b % 64);
    }
  }
}

bool NameFilter::MayContain(std::string_view kind, std::string_view ns,
                            std::string_view name) const {
  if (bits_.empty()) return true;
  uint64_t h = Hash(kind, ns, name);
  for (int i = 0; i < 4; ++i) {
    uint64_t b = (h + i * (h >> 32 | 1)) % (bits_.size() * 64);
    if (!(bits_[b / 64] & (1ULL << (b % 64)))) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// SealedShard

SealedShard::~SealedShard() = default;

Result<std::shared_ptr<SealedShard>> SealedShard::Open(const std::filesystem::path& segment_path,
                                                       const std::filesystem::path& index_path,
                                                       const BaseFn& base) {
  auto source = FileByteSource::Open(segment_path);
  if (!source) return std::unexpected(source.error());
  return Open(std::move(*source), segment_path, index_path, base, false);
}

Result<std::shared_ptr<SealedShard>> SealedShard::Open(std::unique_ptr<ByteSource> segment,
                                                       const std::filesystem::path& segment_path,
                                                       const std::filesystem::path& index_path,
                                                       const BaseFn& base) {
  return Open(std::move(segment), segment_path, index_path, base, true);
}

Result<const SegmentReader*> SealedShard::Segment() const {
  if (!lazy_) return reader_.get();  // opened with the shard, never changed
  std::lock_guard lock(reader_mu_);
  if (!reader_ && lazy_source_) {
    auto reader = SegmentReader::Open(std::move(lazy_source_), segment_path_);
    lazy_source_.reset();
    if (!reader) {
      reader_error_ = reader.error();
    } else {
      reader_ = std::move(*reader);
    }
  }
  if (!reader_) return std::unexpected(reader_error_);
  return reader_.get();
}

Result<std::shared_ptr<SealedShard>> SealedShard::Open(std::unique_ptr<ByteSource> segment,
                                                       const std::filesystem::path& segment_path,
                                                       const std::filesystem::path& index_path,
                                                       const BaseFn& base, bool lazy) {
  const uint64_t size = segment->Size();
  std::shared_ptr<SealedShard> shard(new SealedShard());
  shard->segment_path_ = segment_path;
  shard->index_path_ = index_path;
  // Which resources have records (or Events about them) here: point lookups skip the rest.
  // Gathered while the index is verified, block by block.
  std::vector<uint64_t> present;
  auto opened = IndexReader::Open(
      index_path, true,
      [&](const IndexReader& index, uint32_t first, uint32_t last) {
        for (uint32_t e = first; e < last; ++e) {
          const IndexEntry entry = index.entry(e);
          if (entry.record_count() > 0 || !entry.events_about().empty()) {
            ResourceKeyView k = entry.key();
            present.push_back(NameFilter::Hash(k.kind, k.namespace_, k.name));
          }
        }
      },
      [&](uint64_t id) -> std::shared_ptr<const IndexReader> {
        std::shared_ptr<const SealedShard> b = base ? base(id) : nullptr;
        return b ? b->index_ : nullptr;
      });
  if (!opened) return std::unexpected(opened.error());
  const IndexReader& index = **opened;
  shard->index_ = index.Reader();
  shard->lazy_ = lazy;
  if (lazy) {
    shard->lazy_source_ = std::move(segment);
  } else {
    auto reader = SegmentReader::Open(std::move(segment), segment_path);
    if (!reader) return std::unexpected(reader.error());
    shard->reader_ = std::move(*reader);
  }
  const IndexHeader& r = index.header();
  if (size != r.segment_bytes) {
    return MakeError(ErrorCode::kCorruption, "shard " + segment_path.string() + ": segment is " +
                                                 std::to_string(size) + " bytes but its index " +
                                                 index_path.string() + " describes " +
                                                 std::to_string(r.segment_bytes));
  }
  // What queries ask of every shard is kept here, so that only shards a query reads get mapped.
  ShardInfo& i = shard->info_;
  i.id = r.shard_id;
  i.sealed = true;
  i.window_start_ns = r.window_start_ns;
  i.window_end_ns = r.window_end_ns;
  i.min_ns = r.min_ns;
  i.max_ns = r.max_ns;
  i.records = r.record_count;
  i.resources = index.size();
  i.segment_bytes = size;
  i.index_bytes = index.file_bytes();
  shard->present_ = NameFilter(present);
  for (std::string_view k : index.kinds()) shard->kinds_.emplace_back(k);
  for (std::string_view n : index.namespaces()) shard->namespaces_.emplace_back(n);
  index.ReleaseMemory();
  return shard;
}

uint64_t SealedShard::base_shard_id() const { return index_->header().base_shard_id; }

std::shared_ptr<const IndexReader> SealedShard::index() const {
  // A reader of its own: the blocks the query decompresses are freed with it, and its mapped
  // pages are released, so that resident memory does not grow with the shards queried.
  std::shared_ptr<IndexReader> reader = index_->Reader();
  auto* raw = reader.get();
  return std::shared_ptr<const IndexReader>(
      raw, [keep = std::move(reader)](const IndexReader* i) mutable {
        i->ReleaseMemory();
        keep.reset();
      });
}

ShardInfo SealedShard::info() const { return info_; }

void SealedShard::ReadTimes(const IndexReader& index, uint32_t i, EntryView* v,
                            EntryScratch* scratch) const {
  // The records are in time order. Which changed the resource follows the builder's rule
  // (ShardIndexBuilder::Add): a deletion does, a relist does not, and any other record does
  // when its resourceVersion is not the one the resource had, which after any record but a
  // relist is that record's. Only the first such record depends on what the shard before
  // left: the index's change count says.
  scratch->change_secs.clear();
  scratch->nochange_secs.clear();
  v->change_secs = v->nochange_secs = {};
  v->first_ns = v->last_ns = 0;
  const IndexEntry e = index.entry(i);
  const uint32_t n = e.record_count();
  if (v->change_count == 0 || v->change_count >= n) {
    // Every record changed the resource, or none did (one record always is one of the two): the
    // index's counts say which, and the records' times are in the first columns of their segment
    // block, which is all that is decompressed. Records in more than one block are read whole
    // below.
    // The entries of a scan come in segment order: most are in the block read last, found by
    // their record ordinal without a search of the segment's blocks.
    const std::optional<uint64_t> ordinal = e.first_record_ordinal();
    uint64_t offset = 0;
    uint32_t first = 0;
    if (ordinal && scratch->heads_offset != 0 && *ordinal >= scratch->heads_ordinal &&
        *ordinal - scratch->heads_ordinal < scratch->heads.size()) {
      offset = scratch->heads_offset;
      first = static_cast<uint32_t>(*ordinal - scratch->heads_ordinal);
    } else {
      std::tie(offset, first) = e.first_position();
    }
    if (offset == 0) return;  // no record of it reached the segment
    if (scratch->heads_offset != offset) {
      scratch->heads_offset = 0;
      auto segment = Segment();
      if (!segment) return;
      auto read = (*segment)->ReadBlockHeads(offset, &scratch->heads, &scratch->frame);
      if (read) {
        scratch->heads_offset = offset;
        scratch->heads_ordinal = ordinal && *ordinal >= first ? *ordinal - first : UINT64_MAX;
      } else if (read.error().code == ErrorCode::kCorruption) {
        // Read whole below, which goes on past the damaged block to the entry's records in
        // the blocks after it, as a history does.
        NoteCorruptBlock(segment_path_, offset,
                         "reading " + ResourceKey(e.key()).ToString() + ": " +
                             read.error().message);
      }
    }
    if (scratch->heads_offset == offset && first < scratch->heads.size() &&
        scratch->heads.size() - first >= n) {
      auto& ticks = v->change_count > 0 ? scratch->change_secs : scratch->nochange_secs;
      for (uint32_t k = 0; k < n; ++k) {
        const int64_t t = scratch->heads[first + k].observed_ns;
        if (k == 0) v->first_ns = v->last_ns = t;
        v->last_ns = std::max(v->last_ns, t);
        ticks.push_back(static_cast<uint32_t>(std::max<int64_t>(0, t / 1'000'000'000)));
      }
      std::sort(ticks.begin(), ticks.end());
      ticks.erase(std::unique(ticks.begin(), ticks.end()), ticks.end());
      v->change_secs = scratch->change_secs;
      v->nochange_secs = scratch->nochange_secs;
      return;
    }
  }
  struct Seen {
    int64_t ns;
    bool change;
  };
  std::vector<Seen> seen;
  std::string version;
  bool have_version = false;
  size_t ambiguous = SIZE_MAX;
  uint32_t changes = 0;
  auto read = ReadEntryRecords(
      index, i,
      [&](const RecordView& r) {
        bool change = false;
        if (r.watch_type == WatchType::kRelisted) {
          change = false;
        } else if (r.watch_type == WatchType::kDeleted ||
                   r.watch_type == WatchType::kDeletedInferred) {
          change = true;
        } else if (!have_version) {
          ambiguous = seen.size();
        } else {
          change = r.resource_version != version;
        }
        if (r.watch_type != WatchType::kRelisted) {
          version.assign(r.resource_version);
          have_version = true;
        }
        changes += change;
        seen.push_back({r.observed_ns, change});
        return true;
      },
      &scratch->block, &scratch->decoded);
  if (!read) {
    // A damaged block is logged where it is met: the entry keeps the times of what was read.
    scratch->decoded = 0;
  }
  if (ambiguous != SIZE_MAX && v->change_count > changes) seen[ambiguous].change = true;
  for (size_t k = 0; k < seen.size(); ++k) {
    const int64_t t = seen[k].ns;
    if (k == 0) v->first_ns = v->last_ns = t;
    v->last_ns = std::max(v->last_ns, t);
    auto& ticks = seen[k].change ? scratch->change_secs : scratch->nochange_secs;
    ticks.push_back(static_cast<uint32_t>(std::max<int64_t>(0, t / 1'000'000'000)));
  }
  for (auto* ticks : {&scratch->change_secs, &scratch->nochange_secs}) {
    std::sort(ticks->begin(), ticks->end());
    ticks->erase(std::unique(ticks->begin(), ticks->end()), ticks->end());
  }
  v->change_secs = scratch->change_secs;
  v->nochange_secs = scratch->nochange_secs;
}

void SealedShard::FillEntry(const IndexReader& index, uint32_t i, bool with_details,
                            EntryView* v, EntryScratch* scratch, bool shard_span_times) const {
  const IndexEntry e = index.entry(i);
  v->key = e.key();
  v->api_group = e.api_group();
  v->api_version = e.api_version();
  v->creation_ns = e.creation_ns();
  v->first_ns = e.first_ns();
  v->last_ns = e.last_ns();
  if ((e.flags() & kCarriedOver) && e.record_count() == 0) {
    // Implied: a carried-over entry with no record spans the shard from its start.
    v->first_ns = v->last_ns = info_.window_start_ns;
  }
  v->change_count = e.change_count();
  v->nochange_count = e.nochange_count();
  v->record_count = e.record_count();
  v->flags = e.flags();
  v->last_resource_version = e.last_resource_version();
  v->change_secs = e.change_secs();
  v->nochange_secs = e.nochange_secs();
  if (e.times_in_segment()) {
    if (shard_span_times) {
      v->first_ns = info_.min_ns;
      v->last_ns = info_.max_ns;
    } else {
      ReadTimes(index, i, v, scratch);
    }
  }
  v->heat.clear();
  v->owners.clear();
  if (!with_details) return;
  for (uint32_t k = 0; k < e.heat_size(); ++k) {
    const IndexHeatCell h = e.heat(k);
    v->heat.push_back(HeatView{h.minute, h.count, index.reason(h.reason),
                               static_cast<EventSeverity>(h.severity)});
  }
  for (uint32_t k = 0; k < e.owner_count(); ++k) {
    const IndexOwner o = e.owner(k);
    v->owners.push_back(OwnerView{o.kind, o.name, o.uid, o.controller});
  }
}

void SealedShard::ForEachEntry(const EntryFilter& filter, bool with_details,
                               const EntryFn& fn) const {
  auto held = index();
  const IndexReader& index = *held;
  auto [first, last] = filter.kind.empty()
                           ? std::pair<uint32_t, uint32_t>{0, index.size()}
                           : index.Find(filter.kind, filter.namespace_, filter.name);
  // A name search in an older shard wants only entries with records: their names are listed
  // apart, so that only the blocks of the entries found are decompressed.
  if (filter.skip_carried && !filter.name_contains.empty() &&
      (filter.skip_events || (!filter.kind.empty() && filter.kind != "Event"))) {
    EntryView v;
    EntryScratch scratch;
    bool stop = false;
    bool listed = index.ForEachRecordedName([&](uint32_t i, std::string_view name) {
      if (i < first) return true;
      if (i >= last) return false;
      if (!ContainsIgnoreCase(name, filter.name_contains)) return true;
      ResourceKeyView k = index.key(i);
      if (!Matches(k, filter)) return true;
      FillEntry(index, i, with_details, &v, &scratch, filter.shard_span_times);
      stop = !fn(v);
      return !stop;
    });
    if (listed) return;
  }
  // Events sit together in key order: jump over them rather than decompress their blocks.
  std::pair<uint32_t, uint32_t> events{last, last};
  if (filter.skip_events && filter.kind.empty()) events = index.Find("Event");
  // A long scan has a second thread decompress the blocks ahead of it (decompression is most of
  // the cost of a scan), at most IndexReader::kPrefetchLead blocks ahead, and frees the blocks
  // behind it, so that a scan holds a few blocks of the index, not all of them. The reader is
  // this scan's own (index()).
  const uint32_t per_block = index.entries_per_block();
  std::atomic<uint32_t> cursor{first};
  std::atomic<bool> stop{false};
  std::thread prefetch;
  if (per_block && last - first >= kPrefetchMinBlocks * per_block) {
    try {
      prefetch = std::thread([&, skip = events] {
        index.Prefetch(first, std::clamp(skip.first, first, last), cursor, stop);
        index.Prefetch(std::clamp(skip.second, first, last), last, cursor, stop);
      });
    } catch (const std::system_error&) {
      // No thread to spare: the scan decompresses on its own.
    }
  }
  struct Join {
    std::atomic<bool>& stop;
    std::atomic<uint32_t>& cursor;
    std::thread& t;
    ~Join() {
      stop.store(true);
      // Wakes the prefetch if it waits for the cursor (IndexReader::Prefetch).
      cursor.store(UINT32_MAX);
      cursor.notify_all();
      if (t.joinable()) t.join();
    }
  } join{stop, cursor, prefetch};
  uint32_t block = per_block ? first / per_block : 0, dropped = first;
  EntryView v;
  EntryScratch scratch;
  for (uint32_t i = first; i < last; ++i) {
    if (i == events.first && events.second > i) {
      i = events.second - 1;
      continue;
    }
    if (per_block && i / per_block != block) {
      block = i / per_block;
      cursor.store(i, std::memory_order_release);
      if (block % (IndexReader::kPrefetchLead / 2) == 0) cursor.notify_all();
      index.DropBlocks(dropped, i);
      dropped = i;
    }
    if (filter.skip_carried || filter.skip_unchanged) {
      const IndexEntry e = index.entry(i);
      if (SkipsCarried(filter, e.flags(), e.record_count(), e.heat_size() > 0)) {
        continue;
      }
    }
    ResourceKeyView k = index.key(i);
    if (filter.skip_events && k.kind == "Event") continue;
    if (!Matches(k, filter)) continue;
    FillEntry(index, i, with_details, &v, &scratch, filter.shard_span_times);
    if (!fn(v)) return;
  }
}

Result<void> SealedShard::ReadEntryRecords(const IndexReader& index, uint32_t entry,
                                           const RecordFn& fn, Block* reuse,
                                           uint64_t* decoded) const {
  const IndexEntry e = index.entry(entry);
  if (e.record_count() == 0) return {};
  ResourceKeyView key = e.key();
  auto [offset, skip] = e.first_position();
  // None of its records reached the segment (a block of the arrival-order file was damaged
  // before the seal): nothing to read, and no block at offset 0 to step past.
  if (offset == 0) return {};
  Block own;
  Block& block = reuse ? *reuse : own;
  uint64_t none = 0;  // no block frame starts at 0 (the file header does)
  uint64_t& have = decoded ? *decoded : none;
  auto segment = Segment();
  if (!segment) {
    return MakeError(segment.error().code, "reading " + ResourceKey(key).ToString() + ": " +
                                               segment.error().message);
  }
  const SegmentReader* reader = *segment;
  // Records of one resource are contiguous in a sealed shard: read on from the first block
  // until the key changes.
  while (offset < info_.segment_bytes) {
    if (have != offset) {
      have = 0;
      auto read = reader->ReadBlock(offset, &block);
      if (!read) {
        if (read.error().code != ErrorCode::kCorruption) {
          return MakeError(read.error().code, "reading " + ResourceKey(key).ToString() + " from " +
                                                  segment_path_.string() + ": " +
                                                  read.error().message);
        }
        // Answer with what is readable: the resource's records in the blocks after it (those
        // after the damaged one still hold its key) are read on.
        NoteCorruptBlock(segment_path_, offset,
                         "reading " + ResourceKey(key).ToString() + ": " + read.error().message);
        offset = reader->SkipDamaged(offset);
        skip = 0;
        continue;
      }
      have = offset;
    }
    for (size_t j = skip; j < block.size(); ++j) {
      RecordView r = block.record(j);
      if (!SameResource(r, key)) return {};
      if (!fn(r)) return {};
    }
    skip = 0;
    offset = block.handle().offset + block.handle().frame_bytes;
  }
  return {};
}

Result<void> SealedShard::ForEachPickedRecord(const EntryFilter& filter, const EntryFn& pick,
                                              const RecordFn& fn) const {
  auto held = index();
  const IndexReader& index = *held;
  auto [first, last] = filter.kind.empty()
                           ? std::pair<uint32_t, uint32_t>{0, index.size()}
                           : index.Find(filter.kind, filter.namespace_, filter.name);
  std::vector<uint32_t> picked;
  EntryView v;
  EntryScratch scratch;
  for (uint32_t i = first; i < last; ++i) {
    if (index.entry(i).record_count() == 0) continue;
    ResourceKeyView k = index.key(i);
    if (filter.skip_events && k.kind == "Event") continue;
    if (!Matches(k, filter)) continue;
    FillEntry(index, i, false, &v, &scratch, filter.shard_span_times);
    if (pick(v)) picked.push_back(i);
  }
  // Entries in key order are records in file order: a block shared by neighbours is decoded
  // once.
  Block block;
  uint64_t decoded = 0;
  bool stopped = false;
  for (uint32_t i : picked) {
    auto r = ReadEntryRecords(
        index, i,
        [&](const RecordView& rec) {
          if (fn(rec)) return true;
          stopped = true;
          return false;
        },
        &block, &decoded);
    if (!r) return r;
    if (stopped) break;
  }
  return {};
}

Result<void> SealedShard::ForEachRecord(const ResourceKeyView& key, const RecordFn& fn) const {
  if (!present_.MayContain(key.kind, key.namespace_, key.name)) return {};
  auto held = index();
  const IndexReader& index = *held;
  std::vector<uint32_t> entries;
  // An entry with records holds its own key, but an Event's may be read in the base
  // (docs/format/index.md): for other kinds, the search reads no key there.
  const bool own_keys = key.kind != "Event";
  if (!key.uid.empty()) {
    uint32_t i = own_keys ? index.FindExactOwnKey(key) : index.FindExact(key);
    if (i < index.size()) entries.push_back(i);
  } else {
    auto [first, last] = own_keys ? index.FindOwnKeys(key.kind, key.namespace_, key.name)
                                  : index.Find(key.kind, key.namespace_, key.name);
    for (uint32_t i = first; i < last; ++i) {
      if (own_keys && index.entry(i).key_in_base()) continue;  // no record here
      ResourceKeyView k = index.key(i);
      // With an empty namespace (cluster-scoped), Find matched the whole kind.
      if (k.namespace_ == key.namespace_ && k.name == key.name) entries.push_back(i);
    }
    if (entries.size() > 1) {
      // By their first records' times (an Event's are in the segment in an older shard).
      std::vector<std::pair<int64_t, uint32_t>> by_time;
      EntryScratch scratch;
      for (uint32_t i : entries) {
        EntryView v;
        FillEntry(index, i, false, &v, &scratch);
        by_time.emplace_back(v.first_ns, i);
      }
      std::stable_sort(by_time.begin(), by_time.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; });
      for (size_t k = 0; k < by_time.size(); ++k) entries[k] = by_time[k].second;
    }
  }
  bool stopped = false;
  for (uint32_t i : entries) {
    auto r = ReadEntryRecords(index, i, [&](const RecordView& rec) {
      if (!fn(rec)) {
        stopped = true;
        return false;
      }
      return true;
    });
    if (!r) return r;
    if (stopped) break;
  }
  return {};
}

Result<void> SealedShard::ForEachEventAbout(const ResourceKeyView& involved,
                                            const RecordFn& fn) const {
  if (!present_.MayContain(involved.kind, involved.namespace_, involved.name)) return {};
  auto held = index();
  const IndexReader& index = *held;
  std::vector<uint32_t> targets;
  if (!involved.uid.empty()) {
    uint32_t i = index.FindExact(involved);
    if (i < index.size()) targets.push_back(i);
  }
  if (targets.empty()) {
    // Every uid the name had in this shard. Find ignores the name after an empty namespace (a
    // cluster-scoped object), so the range is filtered.
    auto [first, last] = index.Find(involved.kind, involved.namespace_, involved.name);
    for (uint32_t i = first; i < last; ++i) {
      ResourceKeyView k = index.key(i);
      if (k.namespace_ == involved.namespace_ && k.name == involved.name) targets.push_back(i);
    }
  }
  bool stopped = false;
  // The Events about one object sit next to each other in key order (an Event is named after
  // the object it is about), so they share segment blocks: each block is decoded once.
  Block block;
  uint64_t decoded = 0;
  for (uint32_t t : targets) {
    // A view into the block of entry t, which this query's reader keeps until it ends.
    const std::span<const uint32_t> events = index.EventsAbout(t);
    for (size_t l = 0; l < events.size() && !stopped; ++l) {
      auto r = ReadEntryRecords(
          index, events[l],
          [&](const RecordView& rec) {
            if (!fn(rec)) {
              stopped = true;
              return false;
            }
            return true;
          },
          &block, &decoded);
      if (!r) return r;
    }
  }
  return {};
}

std::vector<std::string> SealedShard::Kinds() const { return kinds_; }
std::vector<std::string> SealedShard::Namespaces() const { return namespaces_; }

std::vector<std::pair<std::filesystem::path, uint64_t>> SealedShard::Files() const {
  return {{segment_path_, info_.segment_bytes}, {index_path_, info_.index_bytes}};
}

// ---------------------------------------------------------------------------------------------
// ActiveShard

Result<std::shared_ptr<ActiveShard>> ActiveShard::Create(const std::filesystem::path& dir,
                                                         uint64_t id, int64_t window_start_ns,
                                                         int64_t window_end_ns,
                                                         const WriterOptions& options) {
  char name[32];
  std::snprintf(name, sizeof(name), "%010llu.active", static_cast<unsigned long long>(id));
  std::shared_ptr<ActiveShard> shard(
      new ActiveShard(dir / name, id, window_start_ns, window_end_ns));
  auto writer = SegmentWriter::Create(shard->path_, options);
  if (!writer) return std::unexpected(writer.error());
  shard->writer_ = std::move(*writer);
  // Opened now, so that queries still holding this shard can read it after sealing removes the
  // file (an open descriptor keeps an unlinked file readable).
  auto reader = SegmentReader::Open(shard->path_);
  if (!reader) return std::unexpected(reader.error());
  shard->reader_ = std::move(*reader);
  ActiveShard* raw = shard.get();
  shard->writer_->SetBlockListener(
      [raw](const BlockHandle& h) { raw->block_offsets_.push_back(h.offset); });
  {
    std::lock_guard lock(shard->mu_);
    shard->PublishInfo();
  }
  return shard;
}

Result<std::shared_ptr<ActiveShard>> ActiveShard::Reopen(const std::filesystem::path& path,
                                                         uint64_t id, int64_t window_start_ns,
                                                         int64_t window_end_ns,
                                                         const WriterOptions& options,
                                                         RecoveryReport* report) {
  std::shared_ptr<ActiveShard> shard(new ActiveShard(path, id, window_start_ns, window_end_ns));
  auto writer = SegmentWriter::OpenForAppend(path, options, report);
  if (!writer) return std::unexpected(writer.error());
  shard->writer_ = std::move(*writer);
  auto reader = SegmentReader::Open(path);
  if (!reader) return std::unexpected(reader.error());
  ActiveShard* raw = shard.get();
  auto scanned = (*reader)->Scan(
      [raw](const Block& block) {
        uint32_t id = static_cast<uint32_t>(raw->block_offsets_.size());
        raw->block_offsets_.push_back(block.handle().offset);
        for (size_t i = 0; i < block.size(); ++i) raw->builder_.Add(block.record(i), id);
        return true;
      },
      [](const CorruptBlock&) {});
  if (!scanned) return std::unexpected(scanned.error());
  shard->reader_ = std::move(*reader);
  shard->writer_->SetBlockListener(
      [raw](const BlockHandle& h) { raw->block_offsets_.push_back(h.offset); });
  {
    std::lock_guard lock(shard->mu_);
    shard->PublishInfo();
  }
  return shard;
}

Result<void> ActiveShard::Append(const RecordView& record, bool* first_pending) {
  std::lock_guard lock(mu_);
  if (finished_) {
    return MakeError(ErrorCode::kInvalidArgument, "shard " + path_.string() + " is sealed");
  }
  // The writer keeps the record or not at all: index it exactly when it is kept.
  auto loc = writer_->Append(record);
  if (!loc) return std::unexpected(loc.error());
  if (first_pending) *first_pending = writer_->pending_records() == 1;
  uint32_t id = static_cast<uint32_t>(block_offsets_.size());
  if (!block_offsets_.empty() && block_offsets_.back() == loc->block_offset) --id;
  builder_.Add(record, id);
  PublishInfo();
  return {};
}

Result<void> ActiveShard::Flush() {
  std::lock_guard lock(mu_);
  if (finished_) return {};
  auto r = writer_->Flush();
  PublishInfo();
  return r;
}

Result<void> ActiveShard::FlushAged(std::chrono::steady_clock::time_point now,
                                    std::chrono::steady_clock::time_point* next_due) {
  std::lock_guard lock(mu_);
  if (finished_) {
    if (next_due) *next_due = std::chrono::steady_clock::time_point::max();
    return {};
  }
  auto r = writer_->FlushAged(now, next_due);
  PublishInfo();
  return r;
}

Result<void> ActiveShard::Finish() {
  std::lock_guard lock(mu_);
  if (finished_) return {};
  auto closed = writer_->Close();
  if (!closed) return closed;
  finished_bytes_ = writer_->file_bytes();
  // A finished shard's index is read without its lock (sealing, and the next shard's deferred
  // carry-over): complete its own carry-over now if the shard before is still being sealed.
  if (builder_.carry_builder()) {
    uint64_t before = builder_.memory_bytes();
    builder_.MaterializeCarryOver();
    carried_bytes_ += builder_.memory_bytes() - before;
  }
  carry_from_.reset();
  finished_ = true;
  PublishInfo();
  return {};
}

void ActiveShard::CarryOver(const Shard& previous) {
  std::lock_guard lock(mu_);
  if (const auto* active = dynamic_cast<const ActiveShard*>(&previous)) {
    std::lock_guard prev_lock(active->mu_);
    builder_.CarryOver(active->builder_);
  } else if (const auto* sealed = dynamic_cast<const SealedShard*>(&previous)) {
    builder_.CarryOver(*sealed->index());
  }
  carried_bytes_ = builder_.memory_bytes();
  PublishInfo();
}

void ActiveShard::DeferCarryOver(std::shared_ptr<const ActiveShard> previous) {
  std::lock_guard lock(mu_);
  {
    std::lock_guard prev_lock(previous->mu_);
    if (!previous->finished_ || previous->builder_.carry_builder()) {
      builder_.CarryOver(previous->builder_);
      carried_bytes_ = builder_.memory_bytes();
      PublishInfo();
      return;
    }
  }
  carry_from_ = std::move(previous);
  builder_.CarryByReference(&carry_from_->builder_);
  PublishInfo();
}

void ActiveShard::FinishCarryOver(const SealedShard& sealed) {
  std::lock_guard lock(mu_);
  if (!carry_from_) return;
  builder_.CarryFromIndex(sealed.index());
  carry_from_.reset();
  PublishInfo();
}

const ActiveShard* ActiveShard::carry_source() const {
  std::lock_guard lock(mu_);
  return carry_from_.get();
}

uint64_t ActiveShard::carried_bytes() const {
  std::lock_guard lock(mu_);
  return carried_bytes_;
}

uint64_t ActiveShard::segment_bytes() const {
  std::lock_guard lock(mu_);
  return finished_ ? finished_bytes_ : writer_->file_bytes();
}

uint64_t ActiveShard::memory_bytes() const {
  std::lock_guard lock(mu_);
  return builder_.memory_bytes() + (finished_ ? 0 : writer_->pending_bytes());
}

ShardInfo ActiveShard::info() const {
  std::lock_guard lock(info_mu_);
  return info_;
}

void ActiveShard::PublishInfo() {
  ShardInfo i;
  i.id = id_;
  i.sealed = false;
  i.window_start_ns = builder_.window_start_ns();
  i.window_end_ns = builder_.window_end_ns();
  i.min_ns = builder_.min_ns();
  i.max_ns = builder_.max_ns();
  i.records = builder_.record_count();
  i.resources = builder_.summaries().size();
  i.segment_bytes = finished_ ? finished_bytes_ : writer_->file_bytes();
  i.index_bytes = builder_.memory_bytes();
  std::lock_guard lock(info_mu_);
  info_ = i;
}

void ActiveShard::FillEntry(const ResourceKeyView& key, const ResourceSummary& s, bool with_details,
                            EntryView* v) const {
  v->key = key;
  v->api_group = s.api_group;
  v->api_version = s.api_version;
  v->creation_ns = s.creation_ns;
  v->first_ns = s.first_ns;
  v->last_ns = s.last_ns;
  v->change_count = s.change_count;
  v->nochange_count = s.nochange_count;
  v->record_count = s.record_count;
  v->flags = s.flags;
  v->last_resource_version = s.last_resource_version;
  v->change_secs = {s.change_secs.data(), s.change_secs.size()};
  v->nochange_secs = {s.nochange_secs.data(), s.nochange_secs.size()};
  v->heat.clear();
  v->owners.clear();
  if (!with_details) return;
  const auto& reasons = builder_.reasons();
  for (const HeatCellData& h : s.heat) {
    v->heat.push_back(HeatView{h.minute, h.count,
                               h.reason < reasons.size() ? std::string_view(reasons[h.reason]) : "",
                               static_cast<EventSeverity>(h.severity)});
  }
  if (s.owners) {
    for (const OwnerRefData& o : *s.owners) {
      v->owners.push_back(OwnerView{o.kind, o.name, o.uid, o.controller});
    }
  }
}

void ActiveShard::ForEachEntry(const EntryFilter& filter, bool with_details,
                               const EntryFn& fn) const {
  std::lock_guard lock(mu_);
  // Its own summaries merged with those carried by reference (which have no record here, so
  // skip_carried leaves them all out).
  ResourceKeyView from{filter.kind, filter.namespace_, filter.name, ""};
  if (filter.kind.empty()) from = {};
  EntryView v;
  auto visit = [&](const ResourceKeyView& k, const ResourceSummary& s, bool) {
    if (!filter.kind.empty() && k.kind != filter.kind) return false;
    if (SkipsCarried(filter, s.flags, s.record_count, !s.heat.empty())) return true;
    if (filter.skip_events && k.kind == "Event") return true;
    if (!Matches(k, filter)) return true;
    FillEntry(k, s, with_details, &v);
    return fn(v);
  };
  if (filter.skip_carried || filter.skip_unchanged) {
    // Those carried by reference are unchanged (a record or an Event copies one in).
    const SummaryMap& map = builder_.summaries();
    for (auto it = map.lower_bound(from); it != map.end(); ++it) {
      if (!visit(it->first, it->second, true)) return;
    }
  } else {
    builder_.ForEachMerged(from, visit);
  }
}

Result<void> ActiveShard::ReadSummaryRecords(const ResourceKeyView& key, const ResourceSummary& s,
                                             const RecordFn& fn) const {
  Block block;
  bool stopped = false;
  for (uint32_t id : s.blocks) {
    if (id < block_offsets_.size()) {
      auto read = reader_->ReadBlock(block_offsets_[id], &block);
      if (!read) {
        if (read.error().code != ErrorCode::kCorruption) return read;
        NoteCorruptBlock(path_, block_offsets_[id], read.error().message);
        continue;
      }
      for (size_t j = 0; j < block.size(); ++j) {
        RecordView r = block.record(j);
        if (SameResource(r, key) && !fn(r)) return {};
      }
    } else if (!finished_) {
      writer_->VisitPending([&](const RecordView& r, RecordLocation) {
        if (!stopped && SameResource(r, key) && !fn(r)) stopped = true;
      });
      if (stopped) return {};
    }
  }
  return {};
}

Result<void> ActiveShard::ForEachRecord(const ResourceKeyView& key, const RecordFn& fn) const {
  std::lock_guard lock(mu_);
  const SummaryMap& map = builder_.summaries();
  std::vector<SummaryMap::const_iterator> matches;
  for (auto it = map.lower_bound(ResourceKeyView{key.kind, key.namespace_, key.name, key.uid});
       it != map.end(); ++it) {
    const ResourceKeyView& k = it->first;
    if (k.kind != key.kind || k.namespace_ != key.namespace_ || k.name != key.name) break;
    if (!key.uid.empty() && k.uid != key.uid) break;
    matches.push_back(it);
  }
  std::sort(matches.begin(), matches.end(),
            [](auto a, auto b) { return a->second.first_ns < b->second.first_ns; });
  for (auto it : matches) {
    ResourceKeyView exact = it->first;
    bool stopped = false;
    auto r = ReadSummaryRecords(exact, it->second, [&](const RecordView& rec) {
      if (!fn(rec)) {
        stopped = true;
        return false;
      }
      return true;
    });
    if (!r) return r;
    if (stopped) break;
  }
  return {};
}

Result<void> ActiveShard::ForEachEventAbout(const ResourceKeyView& involved,
                                            const RecordFn& fn) const {
  std::lock_guard lock(mu_);
  const SummaryMap& map = builder_.summaries();
  std::vector<const ResourceKeyView*> targets;
  if (!involved.uid.empty()) {
    auto it = map.find(involved);
    if (it != map.end()) targets.push_back(&it->first);
  }
  if (targets.empty()) {
    for (auto it = map.lower_bound(
             ResourceKeyView{involved.kind, involved.namespace_, involved.name, ""});
         it != map.end(); ++it) {
      const ResourceKeyView& k = it->first;
      if (k.kind != involved.kind || k.namespace_ != involved.namespace_ || k.name != involved.name)
        break;
      targets.push_back(&k);
    }
  }
  for (const ResourceKeyView* t : targets) {
    for (const ResourceKeyView* e : builder_.EventsAbout(*t)) {
      bool stopped = false;
      auto r = ReadSummaryRecords(*e, map.find(*e)->second, [&](const RecordView& rec) {
        if (!fn(rec)) {
          stopped = true;
          return false;
        }
        return true;
      });
      if (!r) return r;
      if (stopped) return {};
    }
  }
  return {};
}

Result<void> ActiveShard::ForEachPickedRecord(const EntryFilter& filter, const EntryFn& pick,
                                              const RecordFn& fn) const {
  std::lock_guard lock(mu_);
  // Only the shard's own summaries have records (those carried by reference have none).
  const SummaryMap& map = builder_.summaries();
  ResourceKeyView from{filter.kind, filter.namespace_, filter.name, ""};
  if (filter.kind.empty()) from = {};
  std::vector<ResourceKeyView> keys;  // in key order
  std::vector<uint32_t> blocks;
  EntryView v;
  for (auto it = map.lower_bound(from); it != map.end(); ++it) {
    const auto& [k, s] = *it;
    if (!filter.kind.empty() && k.kind != filter.kind) break;
    if (s.record_count == 0) continue;
    if (filter.skip_events && k.kind == "Event") continue;
    if (!Matches(k, filter)) continue;
    FillEntry(k, s, false, &v);
    if (!pick(v)) continue;
    keys.push_back(k);
    blocks.insert(blocks.end(), s.blocks.begin(), s.blocks.end());
  }
  if (keys.empty()) return {};
  std::sort(blocks.begin(), blocks.end());
  blocks.erase(std::unique(blocks.begin(), blocks.end()), blocks.end());
  auto wanted = [&](const RecordView& r) {
    return std::binary_search(keys.begin(), keys.end(),
                              ResourceKeyView{r.kind, r.namespace_, r.name, r.uid});
  };
  Block block;
  for (uint32_t id : blocks) {
    if (id >= block_offsets_.size()) {
      // The records not yet written out, in the writer's pending block (always the last).
      if (finished_) break;
      bool stopped = false;
      writer_->VisitPending([&](const RecordView& r, RecordLocation) {
        if (!stopped && wanted(r) && !fn(r)) stopped = true;
      });
      break;
    }
    auto read = reader_->ReadBlock(block_offsets_[id], &block);
    if (!read) {
      if (read.error().code != ErrorCode::kCorruption) return read;
      NoteCorruptBlock(path_, block_offsets_[id], read.error().message);
      continue;
    }
    for (size_t j = 0; j < block.size(); ++j) {
      RecordView r = block.record(j);
      if (wanted(r) && !fn(r)) return {};
    }
  }
  return {};
}

std::vector<std::string> ActiveShard::Kinds() const {
  std::lock_guard lock(mu_);
  std::set<std::string> kinds, ns;
  for (const auto& [k, s] : builder_.summaries()) kinds.emplace(k.kind);
  builder_.CarriedKindsAndNamespaces(&kinds, &ns);
  return {kinds.begin(), kinds.end()};
}

std::vector<std::string> ActiveShard::Namespaces() const {
  std::lock_guard lock(mu_);
  std::set<std::string> kinds, ns;
  for (const auto& [k, s] : builder_.summaries()) {
    if (!k.namespace_.empty()) ns.emplace(k.namespace_);
  }
  builder_.CarriedKindsAndNamespaces(&kinds, &ns);
  return {ns.begin(), ns.end()};
}

std::vector<std::pair<std::filesystem::path, uint64_t>> ActiveShard::Files() const {
  return {{path_, segment_bytes()}};
}

struct SealedShardOpener::State {
  std::filesystem::path dir;
  std::function<bool(uint64_t)> has_pair;
  std::map<uint64_t, Result<std::shared_ptr<SealedShard>>> opened;
  std::set<uint64_t> opening;
};

SealedShardOpener::SealedShardOpener(std::filesystem::path dir,
                                     std::function<bool(uint64_t)> has_pair)
    : state_(new State{std::move(dir), std::move(has_pair), {}, {}}) {}

SealedShardOpener::~SealedShardOpener() = default;

Result<std::shared_ptr<SealedShard>> SealedShardOpener::Open(uint64_t id) {
  State& s = *state_;
  if (auto it = s.opened.find(id); it != s.opened.end()) return it->second;
  char name[32];
  std::snprintf(name, sizeof(name), "%010llu", static_cast<unsigned long long>(id));
  s.opening.insert(id);
  auto shard = SealedShard::Open(
      s.dir / (std::string(name) + ".seg"), s.dir / (std::string(name) + ".idx"),
      [&](uint64_t base) -> std::shared_ptr<const SealedShard> {
        if (s.opening.count(base) || !s.has_pair(base)) return nullptr;
        auto b = Open(base);
        return b ? *b : nullptr;
      });
  s.opening.erase(id);
  s.opened.emplace(id, shard);
  return shard;
}

}  // namespace sloop
