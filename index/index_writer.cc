#include "index/index_writer.h"

#include <fcntl.h>
#include <unistd.h>
#include <xxhash.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <set>
#include <unordered_map>
#include <utility>
#include <vector>

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

// The entries go out in blocks of kEntriesPerBlock, each its own FlatBuffers EntryBlock,
// compressed on its own; the directory (first key and place of each block) stays uncompressed.
// The compressed blocks are kept in chunks (a string grown by doubling would hold up to twice
// its size, and copy itself as it grows) and the file's builder is made once their size is
// known, at the size of the file, so that it never grows: writing a shard's index costs about
// twice its compressed size in memory, not four or five times.
struct IndexWriter::State {
  flatbuffers::FlatBufferBuilder bb{1 << 16};  // the block being filled
  std::vector<flatbuffers::Offset<fb::ResourceEntry>> entries;
  std::set<std::string, std::less<>> kinds, namespaces;
  std::vector<std::string> chunks;
  uint64_t payload_bytes = 0;
  std::string frame;
  std::vector<fb::BlockRef> refs;
  std::vector<ResourceKey> block_keys;  // the first key of each block
  // Owner lists are shared (InternOwners): the same pointer, the same vector in the block.
  std::unordered_map<const std::vector<OwnerRefData>*,
                     flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<fb::OwnerRef>>>>
      block_owners;
  // Kinds, namespaces, API groups and versions: a sorted table of distinct strings, named by
  // index from every entry.
  std::map<std::string, uint32_t, std::less<>> string_ids;
  std::vector<std::string_view> string_list;
  std::vector<std::pair<KeyId, uint32_t>> ids;  // key identity -> entry index
  uint32_t count = 0;                           // entries planned
  bool planned = false;                         // Plan's pass is over
  std::string record_names;                     // see ShardIndex.record_names
  std::vector<fb::EventLink> links;
  uint32_t i = 0;  // entries added

  // After the first pass: the key identities sorted, the strings numbered.
  void EndPlan() {
    if (planned) return;
    planned = true;
    std::sort(ids.begin(), ids.end());
    string_list.reserve(string_ids.size());
    for (auto& [str, id] : string_ids) {
      id = static_cast<uint32_t>(string_list.size());
      string_list.push_back(str);
    }
  }
  uint32_t IndexOf(const ResourceKeyView& k) const {
    KeyId id = IdOf(k);
    auto it = std::lower_bound(ids.begin(), ids.end(), std::make_pair(id, uint32_t{0}));
    return it != ids.end() && it->first == id ? it->second : kNoEntry;
  }
  uint32_t StringId(std::string_view str) const { return string_ids.find(str)->second; }

  Result<void> FinishBlock() {
    bb.Finish(fb::CreateEntryBlock(bb, bb.CreateVector(entries)));
    frame.clear();
    auto n = CompressBlock(bb.GetBufferPointer(), bb.GetSize(), &frame);
    if (!n) return std::unexpected(n.error());
    refs.emplace_back(payload_bytes, static_cast<uint32_t>(*n),
                      static_cast<uint32_t>(bb.GetSize()));
    payload_bytes += frame.size();
    for (size_t at = 0; at < frame.size();) {
      if (chunks.empty() || chunks.back().size() == kChunkBytes) {
        chunks.emplace_back().reserve(kChunkBytes);
      }
      size_t take = std::min(frame.size() - at, kChunkBytes - chunks.back().size());
      chunks.back().append(frame, at, take);
      at += take;
    }
    bb.Clear();
    entries.clear();
    block_owners.clear();
    return {};
  }
};

IndexWriter::IndexWriter(std::filesystem::path path)
    : path_(std::move(path)), st_(std::make_unique<State>()) {}

IndexWriter::~IndexWriter() = default;

void IndexWriter::Plan(const ResourceKeyView& key, const ResourceSummary& s) {
  State& st = *st_;
  for (std::string_view str : {key.kind, key.namespace_, s.api_group, s.api_version}) {
    if (st.string_ids.find(str) == st.string_ids.end()) st.string_ids.emplace(str, 0);
  }
  if (!key.namespace_.empty() && !st.namespaces.count(key.namespace_)) {
    st.namespaces.emplace(key.namespace_);
  }
  if (!st.kinds.count(key.kind)) st.kinds.emplace(key.kind);
  st.ids.emplace_back(IdOf(key), st.count++);
}

Result<void> IndexWriter::Add(const ResourceKeyView& key, const ResourceSummary& s,
                              RecordPosition position) {
  State& st = *st_;
  st.EndPlan();
  flatbuffers::FlatBufferBuilder& bb = st.bb;
  const uint32_t i = st.i;
  if (s.record_count > 0 && key.kind != "Event") {
    uint32_t entry = i;
    uint16_t len =
        static_cast<uint16_t>(std::min<size_t>(key.name.size(), index_format::kMaxNameBytes));
    st.record_names.append(reinterpret_cast<const char*>(&entry), 4);
    st.record_names.append(reinterpret_cast<const char*>(&len), 2);
    st.record_names.append(key.name.substr(0, len));
  }
  if (i % kEntriesPerBlock == 0) st.block_keys.emplace_back(key);
  // The entry goes into its block's buffer.
  // The Pods of one ReplicaSet have the same owners: they share one vector in the block.
  flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<fb::OwnerRef>>> owners_vec;
  if (s.owners && !s.owners->empty()) {
    auto [it, fresh] = st.block_owners.try_emplace(s.owners.get());
    if (fresh) {
      std::vector<flatbuffers::Offset<fb::OwnerRef>> owners;
      for (const OwnerRefData& o : *s.owners) {
        owners.push_back(fb::CreateOwnerRef(bb, bb.CreateSharedString(o.kind),
                                            bb.CreateSharedString(o.name),
                                            bb.CreateSharedString(o.uid), o.controller));
      }
      it->second = bb.CreateVector(owners);
    }
    owners_vec = it->second;
  }
  auto name = bb.CreateSharedString(key.name.data(), key.name.size());  // Events name it again
  auto uid = bb.CreateSharedString(key.uid.data(), key.uid.size());
  // Empty vectors and zero scalars are left out of the buffer (FlatBuffers stores no default).
  flatbuffers::Offset<flatbuffers::Vector<uint32_t>> change, nochange;
  if (!s.change_secs.empty()) change = bb.CreateVector(s.change_secs.data(), s.change_secs.size());
  if (!s.nochange_secs.empty()) {
    nochange = bb.CreateVector(s.nochange_secs.data(), s.nochange_secs.size());
  }
  flatbuffers::Offset<flatbuffers::Vector<const fb::HeatCell*>> heat_vec;
  if (!s.heat.empty()) {
    std::vector<fb::HeatCell> heat;
    heat.reserve(s.heat.size());
    for (const HeatCellData& h : s.heat)
      heat.emplace_back(h.minute, h.count, h.reason, h.severity, 0);
    heat_vec = bb.CreateVectorOfStructs(heat);
  }
  auto rv = bb.CreateSharedString(s.last_resource_version);
  // An Event about a resource of this shard names it through event_links; only an Event about
  // an object the shard has no entry for spells out the object's namespace, name and uid.
  flatbuffers::Offset<flatbuffers::String> ik, ins, in, iu;
  const ResourceKeyView* inv = s.involved();
  const uint32_t target = inv ? st.IndexOf(*inv) : kNoEntry;
  const bool linked = target != kNoEntry;
  if (linked) st.links.emplace_back(i, target);
  if (inv) {
    ik = bb.CreateSharedString(inv->kind);
    if (!linked) {
      ins = bb.CreateSharedString(inv->namespace_);
      in = bb.CreateSharedString(inv->name);
      iu = bb.CreateSharedString(inv->uid);
    }
  }
  // A carried-over entry with no record spans the whole shard: its times are implied.
  const bool implied_span = (s.flags & kCarriedOver) && s.record_count == 0;
  fb::ResourceEntryBuilder eb(bb);
  eb.add_kind_ref(st.StringId(key.kind));
  eb.add_namespace_ref(st.StringId(key.namespace_));
  eb.add_name(name);
  eb.add_uid(uid);
  eb.add_group_ref(st.StringId(s.api_group));
  eb.add_version_ref(st.StringId(s.api_version));
  eb.add_creation_ns(s.creation_ns);
  if (!implied_span) {
    eb.add_first_ns(s.first_ns);
    eb.add_last_ns(s.last_ns);
  }
  eb.add_change_count(s.change_count);
  eb.add_nochange_count(s.nochange_count);
  eb.add_record_count(s.record_count);
  eb.add_flags(s.flags);
  if (!owners_vec.IsNull()) eb.add_owners(owners_vec);
  if (!change.IsNull()) eb.add_change_secs(change);
  if (!nochange.IsNull()) eb.add_nochange_secs(nochange);
  if (!heat_vec.IsNull()) eb.add_heat(heat_vec);
  if (s.record_count > 0) {
    eb.add_first_block(position.first_block);
    eb.add_first_record(position.first_record);
  }
  eb.add_last_resource_version(rv);
  if (inv) {
    eb.add_involved_kind(ik);
    if (!linked) {
      eb.add_involved_namespace(ins);
      eb.add_involved_name(in);
      eb.add_involved_uid(iu);
    }
    eb.add_event_count(s.event->count);
    eb.add_event_last_ns(s.event->last_ns);
  }
  st.entries.push_back(eb.Finish());
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
  if (!st.entries.empty()) {
    if (auto r = st.FinishBlock(); !r) return r;
  }
  std::sort(st.links.begin(), st.links.end(), [](const fb::EventLink& a, const fb::EventLink& b) {
    return a.involved() != b.involved() ? a.involved() < b.involved() : a.entry() < b.entry();
  });
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
                    st.links.size() * sizeof(fb::EventLink) + (64 << 10);
  for (const ResourceKey& k : st.block_keys) {
    estimate += 64 + k.kind.size() + k.namespace_.size() + k.name.size() + k.uid.size();
  }
  for (const std::string& r : reasons) estimate += 16 + r.size();
  for (std::string_view str : st.string_list) estimate += 16 + str.size();
  for (const auto& l : {kind_list, ns_list}) {
    for (const std::string& str : l) estimate += 16 + str.size();
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
  auto links_vec = fbb.CreateVectorOfStructs(st.links);
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
  ib.add_format_version(index_format::kFormatVersion);
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
  ib.add_event_links(links_vec);
  ib.add_reasons(reasons_vec);
  ib.add_kinds(kinds_vec);
  ib.add_namespaces(ns_vec);
  fbb.Finish(ib.Finish(), index_format::kFileIdentifier);
  return WriteFile(path_, fbb.GetBufferPointer(), fbb.GetSize());
}

}  // namespace sloop
