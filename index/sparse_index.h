// SparseIndex is the read-only, memory-mapped index of one sealed shard: a FlatBuffers
// ShardIndex (schema/index.fbs) whose entries are sorted by (kind, namespace, name, uid), so every
// lookup is a binary search over the mapped file. Thread-safe (immutable after Open).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string_view>
#include <utility>

#include "index/resource_key.h"
#include "segments/status.h"

namespace sloop {
namespace fb {
struct ShardIndex;
struct ResourceEntry;
struct EventLink;
}  // namespace fb

class SparseIndex {
 public:
  static constexpr uint32_t kFormatVersion = 1;

  // Maps path and verifies the whole buffer (FlatBuffers verifier, identifier, format version).
  // kCorruption / kUnsupported name the file. verify=false maps a file verified before (sealed
  // files are immutable) and checks only its identifier and version.
  static Result<std::shared_ptr<SparseIndex>> Open(const std::filesystem::path& path,
                                                   bool verify = true);
  ~SparseIndex();

  // A view of an index already in memory (a copy read with pread, say); buf must stay valid and
  // 8-byte aligned while the view is used. Checks only identifier and version: for files that
  // were verified when first opened.
  static Result<SparseIndex> View(const uint8_t* buf, size_t size,
                                  const std::filesystem::path& path);

  SparseIndex(SparseIndex&& other) noexcept;

  // Writes buf to path and fsyncs it (the caller renames it into place).
  static Result<void> WriteFile(const std::filesystem::path& path, const uint8_t* buf, size_t size);

  const fb::ShardIndex* root() const { return root_; }
  uint32_t size() const;  // number of entries
  const fb::ResourceEntry* entry(uint32_t i) const;

  // Half-open ranges [first, second) of entry indices. An empty field matches everything after
  // the fields before it; fields after an empty one are ignored.
  std::pair<uint32_t, uint32_t> Find(std::string_view kind, std::string_view ns = {},
                                     std::string_view name = {}) const;
  // Exact entry, or size() when absent.
  uint32_t FindExact(const ResourceKeyView& key) const;
  // Indices of the Event entries about entry `involved`.
  std::pair<const fb::EventLink*, const fb::EventLink*> EventsAbout(uint32_t involved) const;

  ResourceKeyView key(uint32_t i) const;
  // Drops the mapped pages from this process's resident set (they stay in the page cache and
  // fault back in when read again), so that resident memory does not grow with shards queried.
  void ReleaseMemory() const;
  const std::filesystem::path& path() const { return path_; }
  size_t file_bytes() const { return size_; }

  SparseIndex(const SparseIndex&) = delete;
  SparseIndex& operator=(const SparseIndex&) = delete;

 private:
  SparseIndex() = default;
  std::filesystem::path path_;
  void* map_ = nullptr;
  size_t size_ = 0;
  const fb::ShardIndex* root_ = nullptr;
};

}  // namespace sloop
