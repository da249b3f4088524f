// SparseIndex is the read-only, memory-mapped index of one sealed shard: a FlatBuffers
// ShardIndex (schema/index.fbs) whose entries are sorted by (kind, namespace, name, uid), so every
// lookup is a binary search over the mapped file. Since format version 2 the entries are cut into
// zstd-compressed blocks with the first key of each block kept uncompressed: a lookup binary
// searches those keys, decompresses one block and searches inside it. Decompressed blocks are
// cached in the SparseIndex object until it is destroyed; Reader() gives each query its own
// object over the same mapping, so memory follows the queries running, not the shards stored.
// Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string_view>
#include <utility>

#include "index/resource_key.h"
#include "base/status.h"

namespace sloop {
namespace fb {
struct ShardIndex;
struct ResourceEntry;
struct EventLink;
}  // namespace fb

class SparseIndex {
 public:
  // Written by this build; version 1 (one uncompressed entry vector) is still read.
  static constexpr uint32_t kFormatVersion = 2;
  static constexpr uint32_t kEntriesPerBlock = 128;

  // Maps path and verifies the whole file (FlatBuffers verifier, identifier, format version,
  // and every entry block: its zstd checksum, its size and its own FlatBuffers verification).
  // kCorruption / kUnsupported name the file. verify=false maps a file verified before (sealed
  // files are immutable) and checks only its identifier, version and block directory.
  // on_block, when given, sees the entries [first, last) of each block in order while the block
  // is decoded: a first pass over the index at the cost of one block of memory (the blocks are
  // freed as the pass goes on).
  using BlockFn = std::function<void(const SparseIndex&, uint32_t first, uint32_t last)>;
  static Result<std::shared_ptr<SparseIndex>> Open(const std::filesystem::path& path,
                                                   bool verify = true,
                                                   const BlockFn& on_block = {});
  ~SparseIndex();

  // Another reader of the same mapping with an empty block cache.
  std::shared_ptr<SparseIndex> Reader() const;

  // Serialises the entries of one block (a FlatBuffers EntryBlock) compressed, for the builder:
  // appends the zstd frame to out and returns its length.
  static Result<size_t> CompressBlock(const uint8_t* raw, size_t size, std::string* out);

  // Writes buf to path and fsyncs it (the caller renames it into place).
  static Result<void> WriteFile(const std::filesystem::path& path, const uint8_t* buf, size_t size);

  const fb::ShardIndex* root() const { return root_; }
  uint32_t size() const { return entry_count_; }  // number of entries
  // Entry i < size(); the pointer stays valid while this SparseIndex lives.
  const fb::ResourceEntry* entry(uint32_t i) const;
  uint32_t format_version() const;
  // Bytes of decompressed blocks this object holds (the query buffer it costs).
  size_t cached_bytes() const { return cached_bytes_.load(std::memory_order_relaxed); }

  // Half-open ranges [first, second) of entry indices. An empty field matches everything after
  // the fields before it; fields after an empty one are ignored.
  std::pair<uint32_t, uint32_t> Find(std::string_view kind, std::string_view ns = {},
                                     std::string_view name = {}) const;
  // Exact entry, or size() when absent.
  uint32_t FindExact(const ResourceKeyView& key) const;
  // First entry whose key is not less than `key` (size() when none).
  uint32_t LowerBound(const ResourceKeyView& key) const;
  // Indices of the Event entries about entry `involved`.
  std::pair<const fb::EventLink*, const fb::EventLink*> EventsAbout(uint32_t involved) const;

  ResourceKeyView key(uint32_t i) const;
  // Calls fn(entry, name) for each entry with records in the shard, Events left out, in entry
  // order, until fn returns false; reads one small compressed list, not the entry blocks.
  // Returns false (and calls nothing) when the file has no such list (format version 1).
  bool ForEachRecordedName(const std::function<bool(uint32_t, std::string_view)>& fn) const;
  std::string_view kind(const fb::ResourceEntry* e) const;
  std::string_view api_group(const fb::ResourceEntry* e) const;
  std::string_view api_version(const fb::ResourceEntry* e) const;
  // Entries per compressed block (0: format version 1, no blocks).
  uint32_t entries_per_block() const { return per_block_; }
  // Decodes, in order, the blocks holding entries [first, last) that are not decoded yet,
  // skipping those up to the block of entry *cursor (the scan it runs ahead of), until stop is
  // set. Errors are left to the scan (it meets them when it reads the block).
  void Prefetch(uint32_t first, uint32_t last, const std::atomic<uint32_t>& cursor,
                const std::atomic<bool>& stop) const;
  // Frees the decoded blocks from the one holding entry `first` to the one before the block of
  // entry `before`. Only for a reader that one scan owns (Reader()): views into them die.
  void DropBlocks(uint32_t first, uint32_t before) const;
  // Drops the mapped pages from this process's resident set (they stay in the page cache and
  // fault back in when read again), so that resident memory does not grow with shards queried.
  void ReleaseMemory() const;
  const std::filesystem::path& path() const { return map_->path; }
  size_t file_bytes() const { return map_->size; }

  SparseIndex(const SparseIndex&) = delete;
  SparseIndex& operator=(const SparseIndex&) = delete;

 private:
  struct Mapping {
    std::filesystem::path path;
    void* addr = nullptr;
    size_t size = 0;
    ~Mapping();
  };
  struct Decoded;

  explicit SparseIndex(std::shared_ptr<const Mapping> map);
  Result<void> CheckDirectory();
  Result<std::string> RecordedNames() const;
  Result<const Decoded*> Decode(uint32_t block) const;
  bool Claim(uint32_t block) const;
  Result<const Decoded*> DecodeClaimed(uint32_t block) const;  // and ends the claim
  Result<const Decoded*> DecodeBlock(uint32_t block) const;
  static constexpr uint32_t kHelpWindow = 8;  // blocks ahead a waiting reader may decode
  std::string_view Ref(uint32_t ref) const;
  // First entry index in [0, size()] whose key is not less than the target (less(key) is
  // "key < target"), found through the block keys and one block.
  template <typename Less>
  uint32_t LowerBound(const Less& less) const;

  std::shared_ptr<const Mapping> map_;
  const fb::ShardIndex* root_ = nullptr;
  uint32_t entry_count_ = 0;
  uint32_t per_block_ = 0;  // 0: version 1, entries in root_->entries()
  uint32_t block_count_ = 0;
  // Every block was verified when the file was opened: later decodes rely on zstd's checksum.
  bool verified_ = false;
  std::unique_ptr<std::atomic<Decoded*>[]> decoded_;
  std::unique_ptr<std::atomic<uint8_t>[]> claims_;  // 1 while a thread decodes the block
  mutable std::atomic<bool> prefetching_{false};
  uint32_t string_count_ = 0;  // ShardIndex.strings (version 2)
  mutable std::atomic<size_t> cached_bytes_{0};
  mutable std::atomic<bool> damage_logged_{false};
};

}  // namespace sloop
