#include "index/index_writer.h"

#include <fcntl.h>
#include <unistd.h>
#include <xxhash.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>
#include <utility>
#include <vector>

#include "index/directory_hash.h"
#include "index/entry_block.h"
#include "index/index_format.h"
#include "schema/index_generated.h"

namespace sloop {
namespace {

using index_format::kEntriesPerBlock;
using index_format::kNoEntry;

// A key's identity for the Event links of an index being written: a 128-bit hash of its four
// fields (no two keys of one shard share it in practice), so that no key is copied.
using KeyId = std::pair<uint64_t, uint64_t>;
KeyId IdOf(const ResourceKeyView& k) {
  thread_local std::string buf;
  buf.clear();
  for (std::string_view f : {k.kind, k.namespace_, k.name, k.uid}) {
    uint32_t n = static_cast<uint32_t>(f.size());
    buf.append(reinterpret_cast<const char*>(&n), sizeof n).append(f);
  }
  XXH128_hash_t h = XXH3_128bits(buf.data(), buf.size());
  return {h.high64, h.low64};
}

// Compresses one entry block (or the recorded-names list) as a zstd frame with its content
// checksum: appends it to out and returns its length.
Result<size_t> CompressBlock(const uint8_t* raw, size_t size, std::string* out) {
  static thread_local std::unique_ptr<ZSTD_CCtx, size_t (*)(ZSTD_CCtx*)> cctx(ZSTD_createCCtx(),
                                                                              ZSTD_freeCCtx);
  ZSTD_CCtx_reset(cctx.get(), ZSTD_reset_session_and_parameters);
  ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_compressionLevel, index_format::kBlockCompressionLevel);
  ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_checksumFlag, 1);
  size_t at = out->size();
  out->resize(at + ZSTD_compressBound(size));
  size_t n = ZSTD_compress2(cctx.get(), out->data() + at, out->size() - at, raw, size);
  if (ZSTD_isError(n)) {
    out->resize(at);
    return MakeError(ErrorCode::kIOError,
                     std::string("compressing an index block: ") + ZSTD_getErrorName(n));
  }
  out->resize(at + n);
  return n;
}

// Writes buf to path and fsyncs it.
Result<void> WriteFile(const std::filesystem::path& path, const uint8_t* buf, size_t size) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return IOError("create index", path.string(), errno);
  size_t done = 0;
  while (done < size) {
    ssize_t n = ::write(fd, buf + done, size - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      return IOError("write index", path.string(), e);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    int e = errno;
    ::close(fd);
    return IOError("fsync index", path.string(), e);
  }
  if (::close(fd) != 0) return IOError("close index", path.string(), errno);
  return {};
}

constexpr size_t kChunkBytes = 1 << 20;

}  // namespace

// The entries go out in blocks of kEntriesPerBlock, each in the compact encoding of
// index/entry_block.h, compressed on its own; the directory (first key and place of each block)
// stays uncompressed. The compressed blocks are kept in chunks (a string grown by doubling would
// hold up to twice its size, and copy itself as it grows) and the file's builder is made once
// their size is known, at the size of the file, so that it never grows: writing a shard's index
// costs about twice its compressed size in memory.
struct IndexWriter::State {
  explicit State(int64_t window_start_ns)
      : block(window_start_ns, [this](std::string_view str) { return StringId(str); }) {
    XXH3_64bits_reset(payload_hash);
  }
  ~State() { XXH3_freeState(payload_hash); }
  State(const State&) = delete;
  State& operator=(const State&) = delete;

  XXH3_state_t* payload_hash = XXH3_createState();  // of the compressed blocks, for index_id

  index_internal::EntryBlockBuilder block;
  // Some entry left its times to the segment: the file is version 4, else 3.
  bool times_in_segment = false;
  uint32_t format_version() const {
    return times_in_segment ? index_format::kFormatVersionFour : index_format::kFormatVersion;
  }
  std::set<std::string, std::less<>> kinds, namespaces;
  std::vector<std::string> chunks;
  uint64_t payload_bytes = 0;
  std::string frame;
  std::vector<fb::BlockRef> refs;
  std::vector<ResourceKey> block_keys;  // the first key of each block
  // Kinds, namespaces, API groups and versions, owner kinds, and the kinds and namespaces of the
  // objects Events are about: a sorted table of distinct strings, named by index from entries.
  std::map<std::string, uint32_t, std::less<>> string_ids;
  std::vector<std::string_view> string_list;
  std::vector<std::pair<KeyId, uint32_t>> ids;  // key identity -> entry index
  // Event links, first by the identity of the object (Plan), then (EndPlan) as (involved entry,
  // Event entry) sorted: each entry's block lists the Events about it.
  std::vector<std::pair<KeyId, uint32_t>> pending_links;
  std::vector<std::pair<uint32_t, uint32_t>> links;
  size_t next_link = 0;
  std::vector<uint32_t> about;
  // The segment blocks entries start in: offset -> ordinal of the block's first record.
  std::map<uint64_t, uint64_t> segment_blocks;
  uint64_t expected_ordinal = 0;  // records of the entries added so far
  uint32_t count = 0;             // entries planned
  bool planned = false;           // Plan's pass is over
  std::string record_names;       // see ShardIndex.record_names
  uint32_t i = 0;                 // entries added

  // After the first pass: the key identities sorted, the strings numbered, the links resolved.
  void EndPlan() {
    if (planned) return;
    planned = true;
    std::sort(ids.begin(), ids.end());
    string_list.reserve(string_ids.size());
    for (auto& [str, id] : string_ids) {
      id = static_cast<uint32_t>(string_list.size());
      string_list.push_back(str);
    }
    for (const auto& [target, event] : pending_links) {
      auto it = std::lower_bound(ids.begin(), ids.end(), std::make_pair(target, uint32_t{0}));
      if (it != ids.end() && it->first == target) links.emplace_back(it->second, event);
    }
    std::vector<std::pair<KeyId, uint32_t>>().swap(pending_links);
    std::sort(links.begin(), links.end());
  }
  uint32_t IndexOf(const ResourceKeyView& k) const {
    KeyId id = IdOf(k);
    auto it = std::lower_bound(ids.begin(), ids.end(), std::make_pair(id, uint32_t{0}));
    return it != ids.end() && it->first == id ? it->second : kNoEntry;
  }
  uint32_t StringId(std::string_view str) const { return string_ids.find(str)->second; }
  void Intern(std::string_view str) {
    if (string_ids.find(str) == string_ids.end()) string_ids.emplace(str, 0);
  }

  Result<void> FinishBlock() {
    const std::string raw = block.Finish();
    frame.clear();
    auto n = CompressBlock(reinterpret_cast<const uint8_t*>(raw.data()), raw.size(), &frame);
    if (!n) return std::unexpected(n.error());
    refs.emplace_back(payload_bytes, static_cast<uint32_t>(*n), static_cast<uint32_t>(raw.size()));
    XXH3_64bits_update(payload_hash, frame.data(), frame.size());
    payload_bytes += frame.size();
    for (size_t at = 0; at < frame.size();) {
      if (chunks.empty() || chunks.back().size() == kChunkBytes) {
        chunks.emplace_back().reserve(kChunkBytes);
      }
      size_t take = std::min(frame.size() - at, kChunkBytes - chunks.back().size());
      chunks.back().append(frame, at, take);
      at += take;
    }
    return {};
  }
};

IndexWriter::IndexWriter(std::filesystem::path path, int64_t window_start_ns)
    : path_(std::move(path)), st_(std::make_unique<State>(window_start_ns)) {}

IndexWriter::~IndexWriter() = default;

void IndexWriter::Plan(const ResourceKeyView& key, const ResourceSummary& s) {
  State& st = *st_;
  for (std::string_view str : {key.kind, key.namespace_, s.api_group, s.api_version}) {
    st.Intern(str);
  }
  if (s.owners) {
    for (const OwnerRefData& o : *s.owners) st.Intern(o.kind);
  }
  if (const ResourceKeyView* inv = s.involved()) {
    st.Intern(inv->kind);
    st.Intern(inv->namespace_);
    st.pending_links.emplace_back(IdOf(*inv), st.count);
  }
  if (!key.namespace_.empty() && !st.namespaces.count(key.namespace_)) {
    st.namespaces.emplace(key.namespace_);
  }
  if (!st.kinds.count(key.kind)) st.kinds.emplace(key.kind);
  st.ids.emplace_back(IdOf(key), st.count++);
}

Result<void> IndexWriter::Add(const ResourceKeyView& key, const ResourceSummary& s,
                              RecordPosition position, const index_internal::EntryRef* ref,
                              bool times_in_segment) {
  State& st = *st_;
  st.EndPlan();
  const uint32_t i = st.i;
  if (s.record_count > 0 && key.kind != "Event") {
    uint32_t entry = i;
    uint16_t len =
        static_cast<uint16_t>(std::min<size_t>(key.name.size(), index_format::kMaxNameBytes));
    st.record_names.append(reinterpret_cast<const char*>(&entry), 4);
    st.record_names.append(reinterpret_cast<const char*>(&len), 2);
    st.record_names.append(key.name.substr(0, len));
  }
  if (i % kEntriesPerBlock == 0) {
    st.block_keys.emplace_back(key);
    st.block.Start(i, st.expected_ordinal);
  }
  // Where its records start: by ordinal, with the segment block it lies in.
  std::optional<uint64_t> ordinal;
  if (s.record_count > 0 && position.first_block != 0) {
    if (position.ordinal < position.first_record) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "index " + path_.string() + ": " + ResourceKey(key).ToString() +
                           " starts at record " + std::to_string(position.first_record) +
                           " of its block but at ordinal " + std::to_string(position.ordinal));
    }
    const uint64_t block_first = position.ordinal - position.first_record;
    auto [it, fresh] = st.segment_blocks.emplace(position.first_block, block_first);
    if (!fresh && it->second != block_first) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "index " + path_.string() + ": the segment block at offset " +
                           std::to_string(position.first_block) + " starts at record " +
                           std::to_string(it->second) + " and at " + std::to_string(block_first));
    }
    ordinal = position.ordinal;
  }
  st.about.clear();
  while (st.next_link < st.links.size() && st.links[st.next_link].first == i) {
    st.about.push_back(st.links[st.next_link++].second);
  }
  const ResourceKeyView* inv = s.involved();
  const bool linked = inv && st.IndexOf(*inv) != kNoEntry;
  if (st.block.Add(key, s, ordinal, linked, st.about, ref, times_in_segment)) {
    st.times_in_segment = true;
  }
  st.expected_ordinal += s.record_count;
  ++st.i;
  if (st.i % kEntriesPerBlock == 0) return st.FinishBlock();
  return {};
}

Result<void> IndexWriter::Finish(const IndexShardInfo& shard,
                                 std::span<const std::string> reasons) {
  State& st = *st_;
  st.EndPlan();
  if (st.i != st.count) {
    return MakeError(ErrorCode::kCorruption,
                     "index " + path_.string() + ": the entries changed while being written");
  }
  if (st.block.size() > 0) {
    if (auto r = st.FinishBlock(); !r) return r;
  }
  // The segment's blocks are in file order and their records in ordinal order: one ascends with
  // the other.
  std::vector<fb::SegmentBlock> segment_blocks;
  segment_blocks.reserve(st.segment_blocks.size());
  for (const auto& [offset, first] : st.segment_blocks) {
    if (!segment_blocks.empty() && segment_blocks.back().first_record() >= first) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "index " + path_.string() + ": the segment block at offset " +
                           std::to_string(offset) + " starts at record " + std::to_string(first) +
                           ", not after the block before it");
    }
    segment_blocks.emplace_back(offset, first);
  }
  std::vector<std::string> kind_list(st.kinds.begin(), st.kinds.end());
  std::vector<std::string> ns_list(st.namespaces.begin(), st.namespaces.end());
  std::string names_frame;
  if (auto n = CompressBlock(reinterpret_cast<const uint8_t*>(st.record_names.data()),
                             st.record_names.size(), &names_frame);
      !n) {
    return std::unexpected(n.error());
  }
  const uint32_t record_names_bytes = static_cast<uint32_t>(st.record_names.size());
  std::string().swap(st.record_names);
  // What the file holds besides the blocks, over-estimated: the builder is never grown.
  size_t estimate = st.payload_bytes + names_frame.size() + st.refs.size() * sizeof(fb::BlockRef) +
                    segment_blocks.size() * sizeof(fb::SegmentBlock) + (64 << 10);
  for (const ResourceKey& k : st.block_keys) {
    estimate += 64 + k.kind.size() + k.namespace_.size() + k.name.size() + k.uid.size();
  }
  for (const std::string& r : reasons) estimate += 16 + r.size();
  for (std::string_view str : st.string_list) estimate += 16 + str.size();
  for (const auto& l : {kind_list, ns_list}) {
    for (const std::string& str : l) estimate += 16 + str.size();
  }
  // The directory's checksum, over the values in the order a reader parses them.
  index_internal::DirectoryHash hash;
  for (uint64_t v :
       {uint64_t{st.format_version()}, shard.shard_id,
        static_cast<uint64_t>(shard.window_start_ns), static_cast<uint64_t>(shard.window_end_ns),
        static_cast<uint64_t>(shard.min_ns), static_cast<uint64_t>(shard.max_ns),
        shard.segment_bytes, shard.record_count, uint64_t{st.count}, uint64_t{kEntriesPerBlock},
        uint64_t{record_names_bytes}, uint64_t{names_frame.size()}}) {
    hash.Number(v);
  }
  hash.Number(st.string_list.size());
  for (std::string_view str : st.string_list) hash.String(str);
  hash.Number(reasons.size());
  for (const std::string& r : reasons) hash.String(r);
  hash.Number(kind_list.size());
  for (const std::string& k : kind_list) hash.String(k);
  hash.Number(ns_list.size());
  for (const std::string& n : ns_list) hash.String(n);
  hash.Number(st.refs.size());
  for (const fb::BlockRef& r : st.refs) {
    hash.Number(r.offset());
    hash.Number(r.compressed_bytes());
    hash.Number(r.raw_bytes());
  }
  hash.Number(st.block_keys.size());
  for (const ResourceKey& k : st.block_keys) {
    for (std::string_view f : {k.kind, k.namespace_, k.name, k.uid}) hash.String(f);
  }
  hash.Number(segment_blocks.size());
  for (const fb::SegmentBlock& b : segment_blocks) {
    hash.Number(b.offset());
    hash.Number(b.first_record());
  }
  // A new file's identity follows from its content (its directory and compressed blocks): the
  // same shard indexed again the same way is the same file to those written against it.
  uint64_t index_id = shard.index_id;
  if (index_id == 0) {
    index_internal::DirectoryHash identity;
    identity.Number(hash.Digest());
    identity.Number(XXH3_64bits_digest(st.payload_hash));
    index_id = std::max<uint64_t>(identity.Digest(), 1);
  }
  for (uint64_t v :
       {index_id, shard.base_shard_id, shard.base_index_id, uint64_t{shard.base_entry_count}}) {
    hash.Number(v);
  }
  flatbuffers::FlatBufferBuilder fbb(estimate);
  uint8_t* blocks_at = nullptr;
  auto blocks_vec = fbb.CreateUninitializedVector(st.payload_bytes, &blocks_at);
  for (std::string& chunk : st.chunks) {
    std::memcpy(blocks_at, chunk.data(), chunk.size());
    blocks_at += chunk.size();
    std::string().swap(chunk);  // freed as it is copied
  }
  std::vector<flatbuffers::Offset<fb::BlockKey>> key_offsets;
  key_offsets.reserve(st.block_keys.size());
  for (const ResourceKey& k : st.block_keys) {
    key_offsets.push_back(fb::CreateBlockKey(fbb, fbb.CreateSharedString(k.kind),
                                             fbb.CreateSharedString(k.namespace_),
                                             fbb.CreateString(k.name), fbb.CreateString(k.uid)));
  }
  auto refs_vec = fbb.CreateVectorOfStructs(st.refs);
  auto keys_vec = fbb.CreateVector(key_offsets);
  auto segment_blocks_vec = fbb.CreateVectorOfStructs(segment_blocks);
  auto reasons_vec = fbb.CreateVectorOfStrings(reasons.begin(), reasons.end());
  std::vector<flatbuffers::Offset<flatbuffers::String>> string_offsets;
  string_offsets.reserve(st.string_list.size());
  for (std::string_view str : st.string_list) string_offsets.push_back(fbb.CreateString(str));
  auto strings_vec = fbb.CreateVector(string_offsets);
  auto names_vec =
      fbb.CreateVector(reinterpret_cast<const uint8_t*>(names_frame.data()), names_frame.size());
  auto kinds_vec = fbb.CreateVectorOfStrings(kind_list);
  auto ns_vec = fbb.CreateVectorOfStrings(ns_list);
  fb::ShardIndexBuilder ib(fbb);
  ib.add_format_version(st.format_version());
  ib.add_shard_id(shard.shard_id);
  ib.add_window_start_ns(shard.window_start_ns);
  ib.add_window_end_ns(shard.window_end_ns);
  ib.add_min_ns(shard.min_ns);
  ib.add_max_ns(shard.max_ns);
  ib.add_segment_bytes(shard.segment_bytes);
  ib.add_record_count(shard.record_count);
  ib.add_entry_count(st.count);
  ib.add_entries_per_block(kEntriesPerBlock);
  ib.add_block_refs(refs_vec);
  ib.add_block_keys(keys_vec);
  ib.add_blocks(blocks_vec);
  ib.add_strings(strings_vec);
  ib.add_record_names(names_vec);
  ib.add_record_names_bytes(record_names_bytes);
  ib.add_segment_blocks(segment_blocks_vec);
  ib.add_directory_xxh64(hash.Digest());
  ib.add_index_id(index_id);
  ib.add_base_shard_id(shard.base_shard_id);
  ib.add_base_index_id(shard.base_index_id);
  ib.add_base_entry_count(shard.base_entry_count);
  ib.add_reasons(reasons_vec);
  ib.add_kinds(kinds_vec);
  ib.add_namespaces(ns_vec);
  fbb.Finish(ib.Finish(), index_format::kFileIdentifier);
  return WriteFile(path_, fbb.GetBufferPointer(), fbb.GetSize());
}

}  // namespace sloop
