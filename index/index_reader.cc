#include "index/index_reader.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#define ZSTD_STATIC_LINKING_ONLY  // ZSTD_getFrameHeader
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/log.h"
#include "index/directory_hash.h"
#include "index/entry_block.h"
#include "index/index_format.h"
#include "schema/index_generated.h"
#include "segments/zstd_context.h"

namespace sloop {

namespace {

// How an index that is whole itself, but whose base does not open, is refused (BaseUnusable).
constexpr std::string_view kBaseUnusable = "its keys are read in ";

using index_format::kEntriesPerBlock;
using index_format::kMaxBlockRawBytes;
using index_format::kMaxNamesRawBytes;

std::string_view Str(const flatbuffers::String* s) {
  return s ? std::string_view(s->data(), s->size()) : std::string_view();
}

// An entry with every field at its default, for a block that fails to decode at query time.
const index_internal::EntryBlock& EmptyBlock() {
  static const index_internal::EntryBlock block;
  return block;
}
const index_internal::EntryRow& EmptyRow() {
  static const index_internal::EntryRow row;
  return row;
}

// Whether a zstd frame (an entry block's, or the recorded-names list's) is one as every writer
// made it (format versions 2 to 4): a frame, not a skippable one, that declares its content size,
// raw_bytes, and carries its content checksum. Read from the frame's header alone, before any
// memory is allocated for its content. "" when it is; else what is wrong.
std::string CheckFrameHeader(const uint8_t* frame, size_t size, uint64_t raw_bytes) {
  ZSTD_frameHeader h;
  const size_t r = ZSTD_getFrameHeader(&h, frame, size);
  if (ZSTD_isError(r) || r != 0 || h.frameType != ZSTD_frame) return "no zstd frame header";
  if (h.frameContentSize == ZSTD_CONTENTSIZE_UNKNOWN) return "its zstd frame declares no size";
  if (h.frameContentSize != raw_bytes) {
    return "its zstd frame declares " + std::to_string(h.frameContentSize) + " bytes, not " +
           std::to_string(raw_bytes);
  }
  if (!h.checksumFlag) return "its zstd frame has no content checksum";
  return "";
}

}  // namespace

IndexReader::Mapping::~Mapping() {
  if (addr) munmap(addr, size);
}

IndexReader::IndexReader(std::shared_ptr<const Mapping> map) : map_(std::move(map)) {}

IndexReader::~IndexReader() {
  delete spare_.load(std::memory_order_acquire);
  if (!decoded_) return;  // refused before its block cache was made
  for (uint32_t b = 0; b < decoded_count_; ++b) delete decoded_[b].load(std::memory_order_acquire);
}

std::shared_ptr<IndexReader> IndexReader::Reader() const {
  std::shared_ptr<IndexReader> r(new IndexReader(map_));
  r->root_ = root_;
  r->header_ = header_;
  r->entry_count_ = entry_count_;
  r->per_block_ = per_block_;
  r->block_count_ = block_count_;
  r->rows_per_block_ = rows_per_block_;
  r->decoded_count_ = decoded_count_;
  r->verified_ = verified_;
  r->decoded_ = std::make_unique<std::atomic<Decoded*>[]>(decoded_count_);
  r->claims_ = std::make_unique<std::atomic<uint8_t>[]>(decoded_count_);
  if (base_) r->base_ = base_->Reader();
  return r;
}

Result<std::shared_ptr<IndexReader>> IndexReader::Open(const std::filesystem::path& path,
                                                       bool verify, const BlockFn& on_block,
                                                       const BaseFn& base) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return IOError("open index", path.string(), errno);
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    return IOError("stat index", path.string(), e);
  }
  auto map = std::make_shared<Mapping>();
  map->path = path;
  map->size = static_cast<size_t>(st.st_size);
  if (map->size < 8) {
    ::close(fd);
    return MakeError(ErrorCode::kCorruption,
                     "index " + path.string() + ": file is " + std::to_string(map->size) +
                         " bytes, too short to be a shard index; delete it to rebuild the index "
                         "from its segment");
  }
  void* addr = mmap(nullptr, map->size, PROT_READ, MAP_SHARED, fd, 0);
  int e = errno;
  ::close(fd);
  if (addr == MAP_FAILED) return IOError("mmap index", path.string(), e);
  map->addr = addr;
  std::shared_ptr<IndexReader> index(new IndexReader(map));
  const auto* buf = static_cast<const uint8_t*>(addr);
  if (!flatbuffers::BufferHasIdentifier(buf, index_format::kFileIdentifier)) {
    return MakeError(ErrorCode::kCorruption,
                     "index " + path.string() + ": not a sloop shard index (identifier)");
  }
  flatbuffers::Verifier::Options opts;
  opts.max_tables = 0xffffffffu;  // one table per resource and owner: large clusters have many
  flatbuffers::Verifier verifier(buf, map->size, opts);
  if (verify && !fb::VerifyShardIndexBuffer(verifier)) {
    return MakeError(ErrorCode::kCorruption,
                     "index " + path.string() + ": failed verification (damaged file)");
  }
  index->root_ = fb::GetShardIndex(buf);
  const fb::ShardIndex* r = index->root_;
  index->header_ =
      IndexHeader{r->format_version(), r->shard_id(),     r->window_start_ns(), r->window_end_ns(),
                  r->min_ns(),         r->max_ns(),       r->segment_bytes(),   r->record_count(),
                  r->index_id(),       r->base_shard_id()};
  uint32_t version = r->format_version();
  if (version != index_format::kFormatVersionOne && version != index_format::kFormatVersionTwo &&
      !index_format::Columnar(version)) {
    return MakeError(ErrorCode::kUnsupported,
                     "index " + path.string() + ": format version " + std::to_string(version) +
                         " is not supported by this build (it reads 1 to " +
                         std::to_string(index_format::kFormatVersionFour) + "); upgrade sloop");
  }
  if (auto r = index->CheckDirectory(); !r) return std::unexpected(r.error());
  if (verify && index_format::Columnar(version)) {
    if (auto r = index->CheckDirectoryHash(); !r) return std::unexpected(r.error());
  }
  if (const auto* strings = r->strings()) {
    map->strings.reserve(strings->size());
    for (const flatbuffers::String* str : *strings) map->strings.push_back(Str(str));
  }
  if (index_format::Columnar(version) && r->base_shard_id() != 0) {
    const std::string base_name = "the index of shard " + std::to_string(r->base_shard_id());
    std::shared_ptr<const IndexReader> b = base ? base(r->base_shard_id()) : nullptr;
    if (!b) {
      return MakeError(ErrorCode::kCorruption, "index " + path.string() + ": " +
                                                   std::string(kBaseUnusable) + base_name +
                                                   ", which is missing");
    }
    if (b->header().index_id != r->base_index_id() || b->size() != r->base_entry_count()) {
      return MakeError(ErrorCode::kCorruption,
                       "index " + path.string() + ": " + std::string(kBaseUnusable) + base_name +
                           ", which is not the file it was written against");
    }
    index->base_ = std::move(b);
  }
  index->decoded_ = std::make_unique<std::atomic<Decoded*>[]>(index->decoded_count_);
  index->claims_ = std::make_unique<std::atomic<uint8_t>[]>(index->decoded_count_);
  if (verify || on_block) {
    // Every block decompresses (zstd checks its content checksum) and decodes, and is freed once
    // the caller's pass has seen it.
    const uint32_t per = index->per_block_;
    for (uint32_t b = 0; b < index->block_count_; ++b) {
      // The block's entries [first, last), in 64 bits: the end of the last block of a count near
      // 2^32 is past it.
      const uint32_t first = b * per;
      const auto last =
          static_cast<uint32_t>(std::min<uint64_t>(index->entry_count_, uint64_t{first} + per));
      if (verify) {
        auto d = index->Decode(b);
        if (!d) return std::unexpected(d.error());
        // The directory's key of the block is the key of its first entry.
        const fb::BlockKey* k = r->block_keys()->Get(b);
        if ((*d)->rows.empty() ||
            index->Entry(first).key() != ResourceKeyView{Str(k->kind()), Str(k->namespace_()),
                                                         Str(k->name()), Str(k->uid())}) {
          return MakeError(ErrorCode::kCorruption,
                           "index " + path.string() + ": the directory's key of entry block " +
                               std::to_string(b) + " is not its first key (damaged file)");
        }
      }
      if (on_block) on_block(*index, first, last);
      index->DropBlocks(first, last);
    }
    if (per == 0 && on_block) on_block(*index, 0, index->entry_count_);  // version 1: no blocks
    // The base blocks the keys were read in: the base is the next shard's long-lived reader,
    // which nothing else decodes into, so they would stay for as long as both shards do.
    index->DropAllBlocks();
    if (verify) {
      if (auto names = index->RecordedNames(); !names) return std::unexpected(names.error());
      index->verified_ = true;
    }
  }
  // Verification touched every page: let them go until a query reads them.
  index->ReleaseMemory();
  return index;
}

bool IndexReader::BaseUnusable(const Error& error) {
  return error.code == ErrorCode::kCorruption &&
         error.message.find(kBaseUnusable) != std::string::npos;
}

Result<uint64_t> IndexReader::BaseShardOf(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return IOError("open index", path.string(), errno);
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    return IOError("stat index", path.string(), e);
  }
  const auto size = static_cast<size_t>(st.st_size);
  void* addr = size >= 8 ? mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0) : MAP_FAILED;
  ::close(fd);
  if (addr == MAP_FAILED) {
    return MakeError(ErrorCode::kCorruption,
                     "index " + path.string() + ": not readable as an index");
  }
  const auto* buf = static_cast<const uint8_t*>(addr);
  flatbuffers::Verifier::Options opts;
  opts.max_tables = 0xffffffffu;
  flatbuffers::Verifier verifier(buf, size, opts);
  Result<uint64_t> base = MakeError(
      ErrorCode::kCorruption, "index " + path.string() + ": failed verification (damaged file)");
  if (flatbuffers::BufferHasIdentifier(buf, index_format::kFileIdentifier) &&
      fb::VerifyShardIndexBuffer(verifier)) {
    const fb::ShardIndex* root = fb::GetShardIndex(buf);
    base = index_format::Columnar(root->format_version()) ? root->base_shard_id() : 0;
  }
  munmap(addr, size);
  return base;
}

Result<void> IndexReader::CheckDirectoryHash() const {
  const fb::ShardIndex* r = root_;
  index_internal::DirectoryHash hash;
  const auto* names = r->record_names();
  for (uint64_t v :
       {uint64_t{r->format_version()}, r->shard_id(), static_cast<uint64_t>(r->window_start_ns()),
        static_cast<uint64_t>(r->window_end_ns()), static_cast<uint64_t>(r->min_ns()),
        static_cast<uint64_t>(r->max_ns()), r->segment_bytes(), r->record_count(),
        uint64_t{r->entry_count()}, uint64_t{r->entries_per_block()},
        uint64_t{r->record_names_bytes()}, uint64_t{names ? names->size() : 0u}}) {
    hash.Number(v);
  }
  for (const auto* list : {r->strings(), r->reasons(), r->kinds(), r->namespaces()}) {
    hash.Number(list ? list->size() : 0);
    if (list) {
      for (const flatbuffers::String* str : *list) hash.String(Str(str));
    }
  }
  hash.Number(block_count_);
  for (uint32_t b = 0; b < block_count_; ++b) {
    const fb::BlockRef* ref = r->block_refs()->Get(b);
    hash.Number(ref->offset());
    hash.Number(ref->compressed_bytes());
    hash.Number(ref->raw_bytes());
  }
  hash.Number(block_count_);
  for (uint32_t b = 0; b < block_count_; ++b) {
    const fb::BlockKey* k = r->block_keys()->Get(b);
    for (const flatbuffers::String* f : {k->kind(), k->namespace_(), k->name(), k->uid()}) {
      hash.String(Str(f));
    }
  }
  const auto* segment_blocks = r->segment_blocks();
  hash.Number(segment_blocks ? segment_blocks->size() : 0);
  if (segment_blocks) {
    for (const fb::SegmentBlock* b : *segment_blocks) {
      hash.Number(b->offset());
      hash.Number(b->first_record());
    }
  }
  for (uint64_t v :
       {r->index_id(), r->base_shard_id(), r->base_index_id(), uint64_t{r->base_entry_count()}}) {
    hash.Number(v);
  }
  if (hash.Digest() != r->directory_xxh64()) {
    return MakeError(ErrorCode::kCorruption, "index " + map_->path.string() +
                                                 ": directory checksum mismatch (damaged file)");
  }
  return {};
}

Result<void> IndexReader::CheckDirectory() {
  const std::string where = "index " + map_->path.string() + ": ";
  if (root_->format_version() == index_format::kFormatVersionOne) {
    if (!root_->entries()) return MakeError(ErrorCode::kCorruption, where + "no entry vector");
    entry_count_ = root_->entries()->size();
    rows_per_block_ = kEntriesPerBlock;
    decoded_count_ =
        static_cast<uint32_t>((uint64_t{entry_count_} + kEntriesPerBlock - 1) / kEntriesPerBlock);
    return {};
  }
  entry_count_ = root_->entry_count();
  per_block_ = root_->entries_per_block();
  const auto* refs = root_->block_refs();
  const auto* keys = root_->block_keys();
  const auto* blocks = root_->blocks();
  if (per_block_ == 0 || !refs || !keys || (entry_count_ > 0 && !blocks)) {
    return MakeError(ErrorCode::kCorruption, where + "no block directory (damaged file)");
  }
  // The verifier checks a vector's length word (4-byte aligned), not that its 8-byte structs are
  // aligned: a damaged file may shift the directory off its alignment.
  if (refs->size() > 0 && reinterpret_cast<uintptr_t>(refs->Data()) % alignof(fb::BlockRef) != 0) {
    return MakeError(ErrorCode::kCorruption,
                     where + "block directory is misaligned (damaged file)");
  }
  if (per_block_ > index_format::kMaxEntriesPerBlock) {
    return MakeError(ErrorCode::kCorruption,
                     where + "blocks of " + std::to_string(per_block_) + " entries (damaged file)");
  }
  const auto* segment_blocks = root_->segment_blocks();
  if (segment_blocks && segment_blocks->size() > 0 &&
      reinterpret_cast<uintptr_t>(segment_blocks->Data()) % alignof(fb::SegmentBlock) != 0) {
    return MakeError(ErrorCode::kCorruption,
                     where + "segment block table is misaligned (damaged file)");
  }
  // In 64 bits: a damaged count near 2^32 must not wrap to a small directory that passes.
  const uint64_t blocks_needed = (uint64_t{entry_count_} + per_block_ - 1) / per_block_;
  if (refs->size() != blocks_needed || keys->size() != blocks_needed) {
    return MakeError(ErrorCode::kCorruption,
                     where + std::to_string(entry_count_) + " entries in blocks of " +
                         std::to_string(per_block_) + " need " + std::to_string(blocks_needed) +
                         " blocks, the directory lists " + std::to_string(refs->size()));
  }
  block_count_ = static_cast<uint32_t>(blocks_needed);
  rows_per_block_ = per_block_;
  decoded_count_ = block_count_;
  for (uint32_t b = 0; b < block_count_; ++b) {
    const fb::BlockRef* r = refs->Get(b);
    if (r->offset() > blocks->size() || r->compressed_bytes() > blocks->size() - r->offset() ||
        r->raw_bytes() == 0 || r->raw_bytes() > kMaxBlockRawBytes) {
      return MakeError(ErrorCode::kCorruption,
                       where + "block " + std::to_string(b) + " lies outside the file");
    }
  }
  return {};
}

Result<const IndexReader::Decoded*> IndexReader::Decode(uint32_t b) const {
  if (Decoded* d = decoded_[b].load(std::memory_order_acquire)) return d;
  // Whoever claims a block decodes it. While a prefetcher runs, a thread that needs a block the
  // other is decoding decodes one further on meanwhile (so a scan that outruns its prefetcher
  // does not decode the same blocks twice, and both cores decompress), then comes back for it.
  // With nothing left to help with it decodes the block itself rather than wait: on a busy
  // machine the thread holding the claim may not run again for a whole time slice, and waiting
  // for it made the slowest timelines several times slower than the median.
  for (;;) {
    if (Claim(b)) return DecodeClaimed(b);
    if (Decoded* d = decoded_[b].load(std::memory_order_acquire)) return d;
    bool helped = false;
    if (prefetching_.load(std::memory_order_relaxed)) {
      for (uint32_t c = b + 1; c < std::min(block_count_, b + 1 + kHelpWindow) && !helped; ++c) {
        if (decoded_[c].load(std::memory_order_acquire) || !Claim(c)) continue;
        (void)DecodeClaimed(c);  // an error comes back when its reader reaches it
        helped = true;
      }
    }
    if (!helped) return DecodeBlock(b);  // the first to publish wins; the other copy is freed
  }
}

bool IndexReader::Claim(uint32_t b) const {
  uint8_t free = 0;
  return claims_[b].compare_exchange_strong(free, 1, std::memory_order_acq_rel);
}

Result<const IndexReader::Decoded*> IndexReader::DecodeClaimed(uint32_t b) const {
  // The claim ends however the decoding does (a failure lets the next reader find it itself).
  struct Release {
    std::atomic<uint8_t>& claim;
    ~Release() { claim.store(0, std::memory_order_release); }
  } release{claims_[b]};
  return DecodeBlock(b);
}

Result<const IndexReader::Decoded*> IndexReader::DecodeBlock(uint32_t b) const {
  if (Decoded* d = decoded_[b].load(std::memory_order_acquire)) return d;
  std::unique_ptr<Decoded> d(spare_.exchange(nullptr, std::memory_order_acq_rel));
  if (!d) d = std::make_unique<Decoded>();
  if (per_block_ == 0) {
    // Version 1: a slice of the uncompressed entry vector, verified with the file.
    if (auto r = DecodeFlatBuffers(b, d.get()); !r) return std::unexpected(r.error());
  } else {
    const fb::BlockRef* ref = root_->block_refs()->Get(b);
    auto fail = [&](const std::string& why) -> Result<const Decoded*> {
      return MakeError(ErrorCode::kCorruption, "index " + map_->path.string() + ": entry block " +
                                                   std::to_string(b) + ": " + why +
                                                   " (damaged file)");
    };
    const uint8_t* frame = root_->blocks()->data() + ref->offset();
    if (std::string why = CheckFrameHeader(frame, ref->compressed_bytes(), ref->raw_bytes());
        !why.empty()) {
      return fail(why);
    }
    d->raw_bytes = ref->raw_bytes();
    d->raw.reset(new uint8_t[d->raw_bytes]);
    size_t n = ZSTD_decompressDCtx(ThreadZstdDCtx(), d->raw.get(), d->raw_bytes, frame,
                                   ref->compressed_bytes());
    if (ZSTD_isError(n)) return fail(std::string("decompression failed: ") + ZSTD_getErrorName(n));
    if (n != d->raw_bytes) {
      return fail("decompressed to " + std::to_string(n) + " bytes, not " +
                  std::to_string(d->raw_bytes));
    }
    if (header_.format_version == index_format::kFormatVersionTwo) {
      if (auto r = DecodeFlatBuffers(b, d.get()); !r) return std::unexpected(r.error());
    } else {
      index_internal::BlockContext ctx;
      ctx.strings = map_->strings;
      ctx.window_start_ns = header_.window_start_ns;
      ctx.times_in_segment = header_.format_version == index_format::kFormatVersionFour;
      ctx.first_entry = b * per_block_;
      ctx.entries = std::min(per_block_, entry_count_ - b * per_block_);
      ctx.shard_entries = entry_count_;
      ctx.base_entries = base_ ? base_->size() : 0;
      std::string why;
      const std::string_view payload(reinterpret_cast<const char*>(d->raw.get()), d->raw_bytes);
      if (!index_internal::DecodeEntryBlock(payload, ctx, d.get(), &why)) return fail(why);
      // Every string was copied out: the payload can go.
      d->raw.reset();
      d->raw_bytes = 0;
    }
  }
  Decoded* expected = nullptr;
  const size_t size = d->bytes();  // once published, a scan's DropBlocks may free it
  if (!decoded_[b].compare_exchange_strong(expected, d.get(), std::memory_order_acq_rel)) {
    return expected;  // another thread decoded it first
  }
  cached_bytes_.fetch_add(size, std::memory_order_relaxed);
  return d.release();
}

Result<void> IndexReader::DecodeFlatBuffers(uint32_t b, Decoded* d) const {
  auto fail = [&](const std::string& why) -> Result<void> {
    return MakeError(ErrorCode::kCorruption, "index " + map_->path.string() + ": entry block " +
                                                 std::to_string(b) + ": " + why +
                                                 " (damaged file)");
  };
  const uint32_t first = b * rows_per_block_;
  const uint32_t want = std::min(rows_per_block_, entry_count_ - first);
  const flatbuffers::Vector<flatbuffers::Offset<fb::ResourceEntry>>* entries;
  const bool v1 = per_block_ == 0;
  if (v1) {
    entries = root_->entries();
  } else {
    if (!verified_) {
      // Sealed files are immutable: a block verified once, whose bytes still match their zstd
      // checksum, needs no second FlatBuffers verification.
      flatbuffers::Verifier::Options opts;
      opts.max_tables = 0xffffffffu;
      flatbuffers::Verifier verifier(d->raw.get(), d->raw_bytes, opts);
      if (!verifier.VerifyBuffer<fb::EntryBlock>(nullptr)) return fail("failed verification");
    }
    entries = flatbuffers::GetRoot<fb::EntryBlock>(d->raw.get())->entries();
    if (!entries || entries->size() != want) return fail("wrong number of entries");
  }
  const std::vector<std::string_view>& strings = map_->strings;
  auto ref = [&](uint32_t id, bool* ok) {
    if (id < strings.size()) return strings[id];
    *ok = false;
    return std::string_view();
  };
  bool refs_ok = true;
  d->rows.assign(want, index_internal::kEmptyRow);
  for (uint32_t k = 0; k < want; ++k) {
    const fb::ResourceEntry* e = entries->Get(v1 ? first + k : k);
    index_internal::EntryRow& row = d->rows[k];
    if (v1) {
      row.key = {Str(e->kind()), Str(e->namespace_()), Str(e->name()), Str(e->uid())};
      row.api_group = Str(e->api_group());
      row.api_version = Str(e->api_version());
    } else {
      row.key = {ref(e->kind_ref(), &refs_ok), ref(e->namespace_ref(), &refs_ok), Str(e->name()),
                 Str(e->uid())};
      row.api_group = ref(e->group_ref(), &refs_ok);
      row.api_version = ref(e->version_ref(), &refs_ok);
    }
    row.last_resource_version = Str(e->last_resource_version());
    row.creation_ns = e->creation_ns();
    row.first_ns = e->first_ns();
    row.last_ns = e->last_ns();
    row.position = e->first_block();
    row.first_record = e->first_record();
    row.has_position = true;
    row.change_count = e->change_count();
    row.nochange_count = e->nochange_count();
    row.record_count = e->record_count();
    row.flags = e->flags();
    row.ticks = static_cast<uint32_t>(d->ticks.size());
    if (const auto* v = e->change_secs()) {
      d->ticks.insert(d->ticks.end(), v->begin(), v->end());
      row.change_n = v->size();
    }
    if (const auto* v = e->nochange_secs()) {
      d->ticks.insert(d->ticks.end(), v->begin(), v->end());
      row.nochange_n = v->size();
    }
    if (const auto* heat = e->heat()) {
      row.heat = static_cast<uint32_t>(d->heat.size());
      row.heat_n = heat->size();
      for (const fb::HeatCell* h : *heat) {
        d->heat.push_back({h->minute(), h->count(), h->reason(), h->severity()});
      }
    }
    if (const auto* owners = e->owners()) {
      row.owners = static_cast<uint32_t>(d->owners.size());
      row.owners_n = owners->size();
      for (const fb::OwnerRef* o : *owners) {
        d->owners.push_back({Str(o->kind()), Str(o->name()), Str(o->uid()), o->controller()});
      }
    }
    if (e->involved_kind() || e->involved_namespace() || e->involved_name() || e->involved_uid() ||
        e->event_count() || e->event_last_ns()) {
      row.event = static_cast<uint32_t>(d->events.size());
      d->events.push_back({Str(e->involved_kind()), Str(e->involved_namespace()),
                           Str(e->involved_name()), Str(e->involved_uid()), e->event_count(),
                           e->event_last_ns()});
    }
  }
  if (!refs_ok) return fail("an entry names a string the index does not have");
  // The Event links about the block's entries, from the shard's sorted list.
  if (const auto* links = root_->event_links(); links && links->size() > 0) {
    const fb::EventLink* begin = links->Get(0);
    const fb::EventLink* end = begin + links->size();
    auto lo = std::lower_bound(begin, end, first,
                               [](const fb::EventLink& l, uint32_t v) { return l.involved() < v; });
    std::vector<std::pair<uint32_t, uint32_t>> about;  // (row, Event entry)
    for (auto it = lo; it != end && it->involved() < first + want; ++it) {
      if (it->involved() >= first && it->entry() < entry_count_) {
        about.emplace_back(it->involved() - first, it->entry());
      }
    }
    std::sort(about.begin(), about.end());
    for (size_t k = 0; k < about.size();) {
      index_internal::EntryRow& row = d->rows[about[k].first];
      row.about = static_cast<uint32_t>(d->about.size());
      for (; k < about.size() && &d->rows[about[k].first] == &row; ++k) {
        d->about.push_back(about[k].second);
      }
      row.about_n = static_cast<uint32_t>(d->about.size()) - row.about;
    }
  }
  return {};
}

void IndexReader::Prefetch(uint32_t first, uint32_t last, const std::atomic<uint32_t>& cursor,
                           const std::atomic<bool>& stop) const {
  if (per_block_ == 0 || first >= last) return;
  prefetching_.store(true, std::memory_order_relaxed);
  for (uint32_t b = first / per_block_; b <= (last - 1) / per_block_; ++b) {
    uint32_t at = cursor.load(std::memory_order_acquire);
    // Not more than kPrefetchLead blocks ahead of the scan: wait for it to move on.
    while (!stop.load(std::memory_order_acquire) && b > at / per_block_ + kPrefetchLead) {
      cursor.wait(at, std::memory_order_acquire);
      at = cursor.load(std::memory_order_acquire);
    }
    if (stop.load(std::memory_order_acquire)) break;
    // The scan decodes the block it is in: run ahead of it.
    if (b <= at / per_block_) continue;
    if (decoded_[b].load(std::memory_order_acquire) || !Claim(b)) continue;
    (void)DecodeClaimed(b);
  }
  prefetching_.store(false, std::memory_order_relaxed);
}

uint32_t IndexReader::blocks_decoded() const {
  uint32_t n = 0;
  for (uint32_t b = 0; b < decoded_count_; ++b) {
    n += decoded_[b].load(std::memory_order_acquire) != nullptr;
  }
  return n;
}

void IndexReader::DropBlocks(uint32_t first, uint32_t before) const {
  if (per_block_ == 0) return;
  // The base entries the dropped blocks named (ascending in key order, as the entries): their
  // blocks in the base go too, but the last (the next block here may name entries in it).
  uint32_t lo = index_format::kNoRef, hi = 0;
  const uint32_t end = before >= entry_count_ ? block_count_ : before / per_block_;
  for (uint32_t b = first / per_block_; b < end; ++b) {
    if (Decoded* d = decoded_[b].exchange(nullptr, std::memory_order_acq_rel)) {
      if (base_) {
        for (const index_internal::EntryRow& row : d->rows) {
          if (row.ref == index_format::kNoRef) continue;
          lo = std::min(lo, row.ref);
          hi = std::max(hi, row.ref);
        }
      }
      cached_bytes_.fetch_sub(d->bytes(), std::memory_order_relaxed);
      Recycle(d);
    }
  }
  if (base_ && lo != index_format::kNoRef) base_->DropBlocks(lo, hi);
}

// AddressSanitizer, as GCC says it and as clang does (__SANITIZE_ADDRESS__ only since 2025).
#if defined(__SANITIZE_ADDRESS__)
#define SLOOP_INDEX_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SLOOP_INDEX_ASAN 1
#endif
#endif

void IndexReader::Recycle(Decoded* d) const {
#if defined(SLOOP_INDEX_ASAN)
  // Under AddressSanitizer a view used after its block was dropped must fault, not read the
  // next block's rows.
  delete d;
#else
  d->Clear();
  delete spare_.exchange(d, std::memory_order_acq_rel);
#endif
}

void IndexReader::DropAllBlocks() const {
  for (uint32_t b = 0; b < decoded_count_; ++b) {
    if (Decoded* d = decoded_[b].exchange(nullptr, std::memory_order_acq_rel)) {
      cached_bytes_.fetch_sub(d->bytes(), std::memory_order_relaxed);
      delete d;
    }
  }
  // And the block kept for reuse: a shard's long-lived reader, whose blocks the opening of the
  // shard before it decodes (as its base) and drops, would otherwise hold one for good.
  delete spare_.exchange(nullptr, std::memory_order_acq_rel);
  if (base_) base_->DropAllBlocks();
}

size_t IndexReader::cached_bytes() const {
  return cached_bytes_.load(std::memory_order_relaxed) + (base_ ? base_->cached_bytes() : 0);
}

void IndexReader::ReleaseMemory() const {
  madvise(map_->addr, map_->size, MADV_DONTNEED);
  if (base_) base_->ReleaseMemory();
}

IndexEntry IndexReader::Entry(uint32_t i) const {
  auto d = Decode(i / rows_per_block_);
  if (!d) {
    // Damage found after the file was opened without full verification: log it (once) and
    // answer with an empty entry rather than crash the query.
    if (!damage_logged_.exchange(true)) LogLine("index", d.error().message);
    return IndexEntry(this, &EmptyBlock(), &EmptyRow());
  }
  return IndexEntry(this, *d, &(*d)->rows[i % rows_per_block_]);
}

namespace {

// Items of a recorded-names list (ShardIndex.record_names): u32 entry, u16 length, name bytes.
// Calls fn(entry, name) for each until it returns false; false when an item is cut short.
template <typename Fn>
bool WalkNames(std::string_view buf, const Fn& fn) {
  for (size_t at = 0; at < buf.size();) {
    if (buf.size() - at < index_format::kNameItemHeaderSize) return false;
    uint32_t entry;
    uint16_t len;
    std::memcpy(&entry, buf.data() + at, 4);
    std::memcpy(&len, buf.data() + at + 4, 2);
    if (buf.size() - at - index_format::kNameItemHeaderSize < len) return false;
    if (!fn(entry, buf.substr(at + index_format::kNameItemHeaderSize, len))) return true;
    at += index_format::kNameItemHeaderSize + len;
  }
  return true;
}

}  // namespace

Result<std::string> IndexReader::RecordedNames() const {
  const auto* frame = root_->record_names();
  std::string out;
  if (!frame) return out;
  auto fail = [&](const std::string& why) -> Result<std::string> {
    return MakeError(ErrorCode::kCorruption,
                     "index " + map_->path.string() + ": record names: " + why + " (damaged file)");
  };
  const uint32_t size = root_->record_names_bytes();
  if (size > kMaxNamesRawBytes) return fail("too large");
  // One item at most an entry, each no longer than its header and the longest name kept.
  constexpr uint64_t kMaxItemBytes =
      index_format::kNameItemHeaderSize + index_format::kMaxNameBytes;
  if (size > uint64_t{entry_count_} * kMaxItemBytes) {
    return fail(std::to_string(size) + " bytes, more than " + std::to_string(entry_count_) +
                " entries can name");
  }
  if (std::string why = CheckFrameHeader(frame->data(), frame->size(), size); !why.empty()) {
    return fail(why);
  }
  out.resize(size);
  size_t n =
      ZSTD_decompressDCtx(ThreadZstdDCtx(), out.data(), out.size(), frame->data(), frame->size());
  if (ZSTD_isError(n)) return fail(std::string("decompression failed: ") + ZSTD_getErrorName(n));
  if (n != size) return fail("wrong size");
  if (verified_) return out;  // the walk below ran when Open verified the file
  // Entries ascending, each below entry_count, each name inside the list.
  int64_t previous = -1;
  bool ordered = true;
  bool whole = WalkNames(out, [&](uint32_t entry, std::string_view) {
    ordered = entry<entry_count_&& static_cast<int64_t>(entry)> previous;
    previous = entry;
    return ordered;
  });
  if (!whole) return fail("an item overruns the list");
  if (!ordered) return fail("entry out of order");
  return out;
}

bool IndexReader::ForEachRecordedName(
    const std::function<bool(uint32_t, std::string_view)>& fn) const {
  if (per_block_ == 0 || !root_->record_names()) return false;
  auto names = RecordedNames();
  if (!names) {
    if (!damage_logged_.exchange(true)) LogLine("index", names.error().message);
    return true;  // damaged: nothing found here (Open refuses such a file when it verifies)
  }
  WalkNames(*names, fn);
  return true;
}

IndexEntry IndexReader::entry(uint32_t i) const { return Entry(i); }

IndexEntry IndexReader::BaseEntry(uint32_t j) const { return base_->entry(j); }

IndexBlock IndexReader::block(uint32_t b) const {
  const fb::BlockRef* r = root_->block_refs()->Get(b);
  const auto* base = static_cast<const uint8_t*>(map_->addr);
  return {static_cast<uint64_t>(root_->blocks()->data() - base) + r->offset(),
          r->compressed_bytes(), r->raw_bytes()};
}

std::span<const uint32_t> IndexReader::EventsAbout(uint32_t involved) const {
  return Entry(involved).events_about();
}

void IndexReader::ForEachEventLink(
    const std::function<void(uint32_t event, uint32_t involved)>& fn) const {
  if (!index_format::Columnar(header_.format_version)) {
    if (const auto* links = root_->event_links()) {
      for (const fb::EventLink* l : *links) fn(l->entry(), l->involved());
    }
    return;
  }
  // Version 3 keeps the links with the entries they are about: read every block, each once.
  std::shared_ptr<IndexReader> pass = Reader();
  for (uint32_t i = 0; i < entry_count_; ++i) {
    if (i % rows_per_block_ == 0 && i > 0) pass->DropBlocks(i - rows_per_block_, i);
    for (uint32_t e : pass->Entry(i).events_about()) fn(e, i);
  }
}

std::pair<uint64_t, uint32_t> IndexReader::SegmentPosition(uint64_t ordinal) const {
  const auto* table = root_->segment_blocks();
  if (!table || table->size() == 0) return {0, 0};
  const fb::SegmentBlock* begin = table->Get(0);
  const fb::SegmentBlock* end = begin + table->size();
  auto it = std::upper_bound(begin, end, ordinal, [](uint64_t v, const fb::SegmentBlock& b) {
    return v < b.first_record();
  });
  if (it == begin) return {0, 0};
  --it;
  const uint64_t k = ordinal - it->first_record();
  if (k > UINT32_MAX) return {0, 0};
  return {it->offset(), static_cast<uint32_t>(k)};
}

std::string_view IndexReader::reason(uint32_t id) const {
  const auto* reasons = root_->reasons();
  return reasons && id < reasons->size() ? Str(reasons->Get(id)) : std::string_view();
}

namespace {

std::vector<std::string_view> Strings(
    const flatbuffers::Vector<flatbuffers::Offset<flatbuffers::String>>* list) {
  std::vector<std::string_view> out;
  if (!list) return out;
  out.reserve(list->size());
  for (const flatbuffers::String* s : *list) out.push_back(Str(s));
  return out;
}

}  // namespace

std::vector<std::string_view> IndexReader::kinds() const { return Strings(root_->kinds()); }

std::vector<std::string_view> IndexReader::reasons() const { return Strings(root_->reasons()); }

std::vector<std::string_view> IndexReader::namespaces() const {
  return Strings(root_->namespaces());
}

// IndexEntry: every version's entries are decoded into the same rows.

bool IndexEntry::key_in_base() const { return row_->ref != index_format::kNoRef; }

ResourceKeyView IndexEntry::key() const {
  if (row_->ref == index_format::kNoRef) return row_->key;
  const ResourceKeyView base = reader_->BaseEntry(row_->ref).key();
  return {row_->key.kind, row_->key.namespace_, base.name, base.uid};
}
std::string_view IndexEntry::api_group() const { return row_->api_group; }
std::string_view IndexEntry::api_version() const { return row_->api_version; }
int64_t IndexEntry::creation_ns() const {
  if (row_->inherit & index_internal::kInheritCreation) {
    return reader_->BaseEntry(row_->ref).creation_ns();
  }
  return row_->creation_ns;
}
int64_t IndexEntry::first_ns() const { return row_->first_ns; }
int64_t IndexEntry::last_ns() const { return row_->last_ns; }
uint32_t IndexEntry::change_count() const { return row_->change_count; }
uint32_t IndexEntry::nochange_count() const { return row_->nochange_count; }
uint32_t IndexEntry::record_count() const { return row_->record_count; }
uint8_t IndexEntry::flags() const { return row_->flags; }

bool IndexEntry::times_in_segment() const { return row_->times_in_segment; }

std::span<const uint32_t> IndexEntry::change_secs() const {
  if (row_->change_n == 0) return {};
  return {block_->ticks.data() + row_->ticks, row_->change_n};
}

std::span<const uint32_t> IndexEntry::nochange_secs() const {
  if (row_->nochange_n == 0) return {};
  return {block_->ticks.data() + row_->ticks + row_->change_n, row_->nochange_n};
}

uint32_t IndexEntry::heat_size() const { return row_->heat_n; }
IndexHeatCell IndexEntry::heat(uint32_t k) const { return block_->heat[row_->heat + k]; }
uint32_t IndexEntry::owner_count() const {
  if (row_->inherit & index_internal::kInheritOwners) {
    return reader_->BaseEntry(row_->ref).owner_count();
  }
  return row_->owners_n;
}

IndexOwner IndexEntry::owner(uint32_t k) const {
  if (row_->inherit & index_internal::kInheritOwners) return reader_->BaseEntry(row_->ref).owner(k);
  return block_->owners[row_->owners + k];
}

uint64_t IndexEntry::first_block() const { return first_position().first; }

uint32_t IndexEntry::first_record() const { return first_position().second; }

std::pair<uint64_t, uint32_t> IndexEntry::first_position() const {
  if (!row_->has_position) return {0, 0};
  if (!index_format::Columnar(reader_->header_.format_version)) {
    return {row_->position, row_->first_record};
  }
  return reader_->SegmentPosition(row_->position);
}

std::optional<uint64_t> IndexEntry::first_record_ordinal() const {
  if (!row_->has_position || !index_format::Columnar(reader_->header_.format_version)) {
    return std::nullopt;
  }
  return row_->position;
}

std::span<const uint32_t> IndexEntry::events_about() const {
  if (row_->about_n == 0) return {};
  return {block_->about.data() + row_->about, row_->about_n};
}

std::string_view IndexEntry::last_resource_version() const {
  if (row_->inherit & index_internal::kInheritVersion) {
    return reader_->BaseEntry(row_->ref).last_resource_version();
  }
  return row_->last_resource_version;
}

const index_internal::EventRow& IndexEntry::event_row() const {
  static const index_internal::EventRow none;
  if (row_->inherit & index_internal::kInheritEvent) {
    return reader_->BaseEntry(row_->ref).event_row();
  }
  return row_->event == index_internal::kNoEvent ? none : block_->events[row_->event];
}

std::string_view IndexEntry::involved_kind() const { return event_row().kind; }
std::string_view IndexEntry::involved_namespace() const { return event_row().namespace_; }
std::string_view IndexEntry::involved_name() const { return event_row().name; }
std::string_view IndexEntry::involved_uid() const { return event_row().uid; }
int32_t IndexEntry::event_count() const { return event_row().count; }
int64_t IndexEntry::event_last_ns() const { return event_row().last_ns; }

template <typename Less>
std::pair<uint32_t, uint32_t> IndexReader::CandidateRange(const Less& less) const {
  if (per_block_ == 0 || block_count_ <= 1) return {0, entry_count_};
  // The first block whose first key is not less than the target: the answer lies in the block
  // before it (or is that block's first entry). The directory's block keys are whole keys, read
  // in no base.
  const auto* keys = root_->block_keys();
  uint32_t blo = 0, bhi = block_count_;
  while (blo < bhi) {
    uint32_t mid = blo + (bhi - blo) / 2;
    const fb::BlockKey* k = keys->Get(mid);
    if (less(ResourceKeyView{Str(k->kind()), Str(k->namespace_()), Str(k->name()), Str(k->uid())}))
      blo = mid + 1;
    else
      bhi = mid;
  }
  if (blo == 0) return {0, 0};
  return {(blo - 1) * per_block_,
          static_cast<uint32_t>(std::min<uint64_t>(static_cast<uint64_t>(blo) * per_block_,
                                                   entry_count_))};
}

template <typename Less>
uint32_t IndexReader::LowerBound(const Less& less) const {
  auto [lo, hi] = CandidateRange(less);
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (less(key(mid)))
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

template <typename Less>
uint32_t IndexReader::LowerBoundOwnKeys(const Less& less) const {
  if (!base_) return LowerBound(less);
  auto [lo, hi] = CandidateRange(less);
  // Every entry holding its own key in [0, lo) is less, none in [hi, size()) is. A probe on an
  // entry whose key is in the base moves to the next one holding its own; when [mid, hi) has
  // none, the answer is not there.
  while (lo < hi) {
    uint32_t m = lo + (hi - lo) / 2;
    while (m < hi && entry(m).key_in_base()) ++m;
    if (m == hi) {
      hi = lo + (hi - lo) / 2;
    } else if (less(key(m))) {
      lo = m + 1;
    } else {
      hi = m;
    }
  }
  return lo;
}

namespace {

// Compares a key with the prefix (kind[, ns[, name]]): -1, 0, 1. depth 0: no prefix.
struct PrefixCmp {
  std::string_view kind, ns, name;
  int depth = kind.empty() ? 0 : ns.empty() ? 1 : name.empty() ? 2 : 3;
  int operator()(const ResourceKeyView& k) const {
    if (int c = k.kind.compare(kind); c != 0 || depth == 1) return c;
    if (int c = k.namespace_.compare(ns); c != 0 || depth == 2) return c;
    return k.name.compare(name);
  }
};

}  // namespace

std::pair<uint32_t, uint32_t> IndexReader::Find(std::string_view kind, std::string_view ns,
                                                std::string_view name) const {
  const PrefixCmp cmp{kind, ns, name};
  if (cmp.depth == 0) return {0, size()};
  uint32_t first = LowerBound([&](const ResourceKeyView& k) { return cmp(k) < 0; });
  uint32_t last = LowerBound([&](const ResourceKeyView& k) { return cmp(k) <= 0; });
  return {first, std::max(first, last)};
}

std::pair<uint32_t, uint32_t> IndexReader::FindOwnKeys(std::string_view kind, std::string_view ns,
                                                       std::string_view name) const {
  const PrefixCmp cmp{kind, ns, name};
  if (cmp.depth == 0) return {0, size()};
  uint32_t first = LowerBoundOwnKeys([&](const ResourceKeyView& k) { return cmp(k) < 0; });
  uint32_t last = LowerBoundOwnKeys([&](const ResourceKeyView& k) { return cmp(k) <= 0; });
  return {first, std::max(first, last)};
}

uint32_t IndexReader::FindExactOwnKey(const ResourceKeyView& target) const {
  uint32_t i = LowerBoundOwnKeys([&](const ResourceKeyView& k) { return k < target; });
  while (i < size() && entry(i).key_in_base()) ++i;
  return (i < size() && key(i) == target) ? i : size();
}

uint32_t IndexReader::LowerBound(const ResourceKeyView& target) const {
  return LowerBound([&](const ResourceKeyView& k) { return k < target; });
}

uint32_t IndexReader::FindExact(const ResourceKeyView& target) const {
  uint32_t i = LowerBound([&](const ResourceKeyView& k) { return k < target; });
  return (i < size() && key(i) == target) ? i : size();
}

}  // namespace sloop
