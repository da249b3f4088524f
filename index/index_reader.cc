#include "index/index_reader.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
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
#include "index/index_format.h"
#include "schema/index_generated.h"
#include "segments/zstd_context.h"

namespace sloop {
namespace {

using index_format::kMaxBlockRawBytes;
using index_format::kMaxNamesRawBytes;

std::string_view Str(const flatbuffers::String* s) {
  return s ? std::string_view(s->data(), s->size()) : std::string_view();
}

// One entry with every field at its default, for a block that fails to decode at query time.
const fb::ResourceEntry* EmptyEntry() {
  static const std::vector<uint8_t> buf = [] {
    flatbuffers::FlatBufferBuilder fbb;
    std::vector<flatbuffers::Offset<fb::ResourceEntry>> one{fb::ResourceEntryBuilder(fbb).Finish()};
    fbb.Finish(fb::CreateEntryBlock(fbb, fbb.CreateVector(one)));
    return std::vector<uint8_t>(fbb.GetBufferPointer(), fbb.GetBufferPointer() + fbb.GetSize());
  }();
  return flatbuffers::GetRoot<fb::EntryBlock>(buf.data())->entries()->Get(0);
}

}  // namespace

struct IndexReader::Decoded {
  std::unique_ptr<uint8_t[]> buf;
  size_t size = 0;
  const flatbuffers::Vector<flatbuffers::Offset<fb::ResourceEntry>>* entries = nullptr;
};

IndexReader::Mapping::~Mapping() {
  if (addr) munmap(addr, size);
}

IndexReader::IndexReader(std::shared_ptr<const Mapping> map) : map_(std::move(map)) {}

IndexReader::~IndexReader() {
  if (!decoded_) return;  // refused before its block cache was made
  for (uint32_t b = 0; b < block_count_; ++b) delete decoded_[b].load(std::memory_order_acquire);
}

std::shared_ptr<IndexReader> IndexReader::Reader() const {
  std::shared_ptr<IndexReader> r(new IndexReader(map_));
  r->root_ = root_;
  r->header_ = header_;
  r->entry_count_ = entry_count_;
  r->per_block_ = per_block_;
  r->block_count_ = block_count_;
  r->string_count_ = string_count_;
  r->verified_ = verified_;
  r->decoded_ = std::make_unique<std::atomic<Decoded*>[]>(block_count_);
  r->claims_ = std::make_unique<std::atomic<uint8_t>[]>(block_count_);
  return r;
}

Result<std::shared_ptr<IndexReader>> IndexReader::Open(const std::filesystem::path& path,
                                                       bool verify, const BlockFn& on_block) {
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
      IndexHeader{r->format_version(), r->shard_id(), r->window_start_ns(), r->window_end_ns(),
                  r->min_ns(),         r->max_ns(),   r->segment_bytes(),   r->record_count()};
  uint32_t version = r->format_version();
  if (version != index_format::kFormatVersionOne && version != index_format::kFormatVersion) {
    return MakeError(ErrorCode::kUnsupported,
                     "index " + path.string() + ": format version " + std::to_string(version) +
                         " is not supported by this build (it reads 1 and " +
                         std::to_string(index_format::kFormatVersion) + "); upgrade sloop");
  }
  if (auto r = index->CheckDirectory(); !r) return std::unexpected(r.error());
  index->decoded_ = std::make_unique<std::atomic<Decoded*>[]>(index->block_count_);
  index->claims_ = std::make_unique<std::atomic<uint8_t>[]>(index->block_count_);
  if (verify || on_block) {
    // Every block decompresses (zstd checks its content checksum) and verifies, and is freed once
    // the caller's pass has seen it.
    const uint32_t per = index->per_block_;
    for (uint32_t b = 0; b < index->block_count_; ++b) {
      if (verify) {
        if (auto d = index->Decode(b); !d) return std::unexpected(d.error());
      }
      if (on_block) on_block(*index, b * per, std::min(index->entry_count_, (b + 1) * per));
      index->DropBlocks(b * per, (b + 1) * per);
    }
    if (per == 0 && on_block) on_block(*index, 0, index->entry_count_);  // version 1: no blocks
    if (verify) {
      if (auto names = index->RecordedNames(); !names) return std::unexpected(names.error());
      index->verified_ = true;
    }
  }
  // Verification touched every page: let them go until a query reads them.
  index->ReleaseMemory();
  return index;
}

Result<void> IndexReader::CheckDirectory() {
  const std::string where = "index " + map_->path.string() + ": ";
  if (root_->format_version() == index_format::kFormatVersionOne) {
    if (!root_->entries()) return MakeError(ErrorCode::kCorruption, where + "no entry vector");
    entry_count_ = root_->entries()->size();
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
  string_count_ = root_->strings() ? root_->strings()->size() : 0;
  // In 64 bits: a damaged count near 2^32 must not wrap to a small directory that passes.
  const uint64_t blocks_needed = (uint64_t{entry_count_} + per_block_ - 1) / per_block_;
  if (refs->size() != blocks_needed || keys->size() != blocks_needed) {
    return MakeError(ErrorCode::kCorruption,
                     where + std::to_string(entry_count_) + " entries in blocks of " +
                         std::to_string(per_block_) + " need " + std::to_string(blocks_needed) +
                         " blocks, the directory lists " + std::to_string(refs->size()));
  }
  block_count_ = static_cast<uint32_t>(blocks_needed);
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
  const fb::BlockRef* ref = root_->block_refs()->Get(b);
  auto fail = [&](const std::string& why) -> Result<const Decoded*> {
    return MakeError(ErrorCode::kCorruption, "index " + map_->path.string() + ": entry block " +
                                                 std::to_string(b) + ": " + why +
                                                 " (damaged file)");
  };
  auto d = std::make_unique<Decoded>();
  d->size = ref->raw_bytes();
  d->buf.reset(new uint8_t[d->size]);
  size_t n = ZSTD_decompressDCtx(ThreadZstdDCtx(), d->buf.get(), d->size,
                                 root_->blocks()->data() + ref->offset(), ref->compressed_bytes());
  if (ZSTD_isError(n)) return fail(std::string("decompression failed: ") + ZSTD_getErrorName(n));
  if (n != d->size)
    return fail("decompressed to " + std::to_string(n) + " bytes, not " + std::to_string(d->size));
  if (!verified_) {
    // Sealed files are immutable: a block verified once, whose bytes still match their zstd
    // checksum, needs no second FlatBuffers verification.
    flatbuffers::Verifier::Options opts;
    opts.max_tables = 0xffffffffu;
    flatbuffers::Verifier verifier(d->buf.get(), d->size, opts);
    if (!verifier.VerifyBuffer<fb::EntryBlock>(nullptr)) return fail("failed verification");
  }
  d->entries = flatbuffers::GetRoot<fb::EntryBlock>(d->buf.get())->entries();
  uint32_t want = std::min(per_block_, entry_count_ - b * per_block_);
  if (!d->entries || d->entries->size() != want) return fail("wrong number of entries");
  if (!verified_) {
    for (const fb::ResourceEntry* e : *d->entries) {
      if (e->kind_ref() >= string_count_ || e->namespace_ref() >= string_count_ ||
          e->group_ref() >= string_count_ || e->version_ref() >= string_count_) {
        return fail("an entry names a string the index does not have");
      }
    }
  }
  Decoded* expected = nullptr;
  const size_t size = d->size;  // once published, a scan's DropBlocks may free it
  if (!decoded_[b].compare_exchange_strong(expected, d.get(), std::memory_order_acq_rel)) {
    return expected;  // another thread decoded it first
  }
  cached_bytes_.fetch_add(size, std::memory_order_relaxed);
  return d.release();
}

void IndexReader::Prefetch(uint32_t first, uint32_t last, const std::atomic<uint32_t>& cursor,
                           const std::atomic<bool>& stop) const {
  if (per_block_ == 0 || first >= last) return;
  prefetching_.store(true, std::memory_order_relaxed);
  for (uint32_t b = first / per_block_; b <= (last - 1) / per_block_; ++b) {
    if (stop.load(std::memory_order_relaxed)) break;
    // The scan decodes the block it is in: run ahead of it.
    if (b <= cursor.load(std::memory_order_relaxed) / per_block_) continue;
    if (decoded_[b].load(std::memory_order_acquire) || !Claim(b)) continue;
    (void)DecodeClaimed(b);
  }
  prefetching_.store(false, std::memory_order_relaxed);
}

void IndexReader::DropBlocks(uint32_t first, uint32_t before) const {
  if (per_block_ == 0) return;
  for (uint32_t b = first / per_block_; b < std::min(before / per_block_, block_count_); ++b) {
    if (Decoded* d = decoded_[b].exchange(nullptr, std::memory_order_acq_rel)) {
      cached_bytes_.fetch_sub(d->size, std::memory_order_relaxed);
      delete d;
    }
  }
}

void IndexReader::ReleaseMemory() const { madvise(map_->addr, map_->size, MADV_DONTNEED); }

const fb::ResourceEntry* IndexReader::RawEntry(uint32_t i) const {
  if (per_block_ == 0) return root_->entries()->Get(i);
  auto d = Decode(i / per_block_);
  if (!d) {
    // Damage found after the file was opened without full verification: log it (once) and
    // answer with an empty entry rather than crash the query.
    if (!damage_logged_.exchange(true)) LogLine("index", d.error().message);
    return EmptyEntry();
  }
  return (*d)->entries->Get(i % per_block_);
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

std::string_view IndexReader::Ref(uint32_t ref) const {
  // Refs were checked against the table when their block was first verified.
  return ref < string_count_ ? Str(root_->strings()->Get(ref)) : std::string_view();
}

IndexEntry IndexReader::entry(uint32_t i) const { return IndexEntry(this, RawEntry(i)); }

IndexBlock IndexReader::block(uint32_t b) const {
  const fb::BlockRef* r = root_->block_refs()->Get(b);
  const auto* base = static_cast<const uint8_t*>(map_->addr);
  return {static_cast<uint64_t>(root_->blocks()->data() - base) + r->offset(),
          r->compressed_bytes(), r->raw_bytes()};
}

uint32_t IndexReader::event_link_count() const {
  return root_->event_links() ? root_->event_links()->size() : 0;
}

IndexEventLink IndexReader::event_link(uint32_t k) const {
  const fb::EventLink* l = root_->event_links()->Get(k);
  return {l->entry(), l->involved()};
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

std::vector<std::string_view> IndexReader::namespaces() const {
  return Strings(root_->namespaces());
}

// IndexEntry: version 1 spells the kind, namespace and API strings out in each entry; version 2
// names them by index into ShardIndex.strings, which an entry of a damaged block (EmptyEntry)
// does not.

ResourceKeyView IndexEntry::key() const {
  if (reader_->per_block_ == 0) {
    return {Str(e_->kind()), Str(e_->namespace_()), Str(e_->name()), Str(e_->uid())};
  }
  if (e_ == EmptyEntry()) return {};  // its block is damaged
  return {reader_->Ref(e_->kind_ref()), reader_->Ref(e_->namespace_ref()), Str(e_->name()),
          Str(e_->uid())};
}

std::string_view IndexEntry::api_group() const {
  if (reader_->per_block_ == 0) return Str(e_->api_group());
  return e_ == EmptyEntry() ? std::string_view() : reader_->Ref(e_->group_ref());
}

std::string_view IndexEntry::api_version() const {
  if (reader_->per_block_ == 0) return Str(e_->api_version());
  return e_ == EmptyEntry() ? std::string_view() : reader_->Ref(e_->version_ref());
}

int64_t IndexEntry::creation_ns() const { return e_->creation_ns(); }
int64_t IndexEntry::first_ns() const { return e_->first_ns(); }
int64_t IndexEntry::last_ns() const { return e_->last_ns(); }
uint32_t IndexEntry::change_count() const { return e_->change_count(); }
uint32_t IndexEntry::nochange_count() const { return e_->nochange_count(); }
uint32_t IndexEntry::record_count() const { return e_->record_count(); }
uint8_t IndexEntry::flags() const { return e_->flags(); }

std::span<const uint32_t> IndexEntry::change_secs() const {
  const auto* v = e_->change_secs();
  return v ? std::span<const uint32_t>(v->data(), v->size()) : std::span<const uint32_t>();
}

std::span<const uint32_t> IndexEntry::nochange_secs() const {
  const auto* v = e_->nochange_secs();
  return v ? std::span<const uint32_t>(v->data(), v->size()) : std::span<const uint32_t>();
}

uint32_t IndexEntry::heat_size() const { return e_->heat() ? e_->heat()->size() : 0; }

IndexHeatCell IndexEntry::heat(uint32_t k) const {
  const fb::HeatCell* h = e_->heat()->Get(k);
  return {h->minute(), h->count(), h->reason(), h->severity()};
}

uint32_t IndexEntry::owner_count() const { return e_->owners() ? e_->owners()->size() : 0; }

IndexOwner IndexEntry::owner(uint32_t k) const {
  const fb::OwnerRef* o = e_->owners()->Get(k);
  return {Str(o->kind()), Str(o->name()), Str(o->uid()), o->controller()};
}

uint64_t IndexEntry::first_block() const { return e_->first_block(); }
uint32_t IndexEntry::first_record() const { return e_->first_record(); }

std::string_view IndexEntry::last_resource_version() const {
  return Str(e_->last_resource_version());
}

std::string_view IndexEntry::involved_kind() const { return Str(e_->involved_kind()); }
std::string_view IndexEntry::involved_namespace() const { return Str(e_->involved_namespace()); }
std::string_view IndexEntry::involved_name() const { return Str(e_->involved_name()); }
std::string_view IndexEntry::involved_uid() const { return Str(e_->involved_uid()); }
int32_t IndexEntry::event_count() const { return e_->event_count(); }
int64_t IndexEntry::event_last_ns() const { return e_->event_last_ns(); }

template <typename Less>
uint32_t IndexReader::LowerBound(const Less& less) const {
  uint32_t lo = 0, hi = entry_count_;
  if (per_block_ != 0 && block_count_ > 1) {
    // The first block whose first key is not less than the target: the answer lies in the block
    // before it (or is that block's first entry).
    const auto* keys = root_->block_keys();
    uint32_t blo = 0, bhi = block_count_;
    while (blo < bhi) {
      uint32_t mid = blo + (bhi - blo) / 2;
      const fb::BlockKey* k = keys->Get(mid);
      if (less(
              ResourceKeyView{Str(k->kind()), Str(k->namespace_()), Str(k->name()), Str(k->uid())}))
        blo = mid + 1;
      else
        bhi = mid;
    }
    if (blo == 0) return 0;
    lo = (blo - 1) * per_block_;
    hi = std::min<uint64_t>(static_cast<uint64_t>(blo) * per_block_, entry_count_);
  }
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (less(key(mid)))
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

std::pair<uint32_t, uint32_t> IndexReader::Find(std::string_view kind, std::string_view ns,
                                                std::string_view name) const {
  // Compare a key with the prefix (kind[, ns[, name]]); -1, 0, 1.
  int depth = kind.empty() ? 0 : ns.empty() ? 1 : name.empty() ? 2 : 3;
  if (depth == 0) return {0, size()};
  auto cmp = [&](const ResourceKeyView& k) {
    if (int c = k.kind.compare(kind); c != 0 || depth == 1) return c;
    if (int c = k.namespace_.compare(ns); c != 0 || depth == 2) return c;
    return k.name.compare(name);
  };
  uint32_t first = LowerBound([&](const ResourceKeyView& k) { return cmp(k) < 0; });
  uint32_t last = LowerBound([&](const ResourceKeyView& k) { return cmp(k) <= 0; });
  return {first, std::max(first, last)};
}

uint32_t IndexReader::LowerBound(const ResourceKeyView& target) const {
  return LowerBound([&](const ResourceKeyView& k) { return k < target; });
}

uint32_t IndexReader::FindExact(const ResourceKeyView& target) const {
  uint32_t i = LowerBound([&](const ResourceKeyView& k) { return k < target; });
  return (i < size() && key(i) == target) ? i : size();
}

std::pair<uint32_t, uint32_t> IndexReader::EventsAbout(uint32_t involved) const {
  const auto* links = root_->event_links();
  if (!links || links->size() == 0) return {0, 0};
  const fb::EventLink* begin = links->Get(0);
  const fb::EventLink* end = begin + links->size();
  auto lo = std::lower_bound(begin, end, involved,
                             [](const fb::EventLink& l, uint32_t v) { return l.involved() < v; });
  auto hi = std::upper_bound(lo, end, involved,
                             [](uint32_t v, const fb::EventLink& l) { return v < l.involved(); });
  return {static_cast<uint32_t>(lo - begin), static_cast<uint32_t>(hi - begin)};
}

}  // namespace sloop
