// The checksum of a version-3 index's directory (ShardIndex.directory_xxh64): XXH3-64 over the
// values a reader takes from outside the checksummed zstd frames, fed in one fixed order by the
// writer (from what it writes) and by the reader (from what it parsed). docs/format/index.md
// lists the order.
#pragma once

#include <xxhash.h>

#include <cstdint>
#include <string_view>

namespace sloop::index_internal {

class DirectoryHash {
 public:
  DirectoryHash() : state_(XXH3_createState()) { XXH3_64bits_reset(state_); }
  ~DirectoryHash() { XXH3_freeState(state_); }
  DirectoryHash(const DirectoryHash&) = delete;
  DirectoryHash& operator=(const DirectoryHash&) = delete;

  void Number(uint64_t v) { XXH3_64bits_update(state_, &v, sizeof v); }
  void String(std::string_view s) {
    Number(s.size());
    XXH3_64bits_update(state_, s.data(), s.size());
  }
  uint64_t Digest() const { return XXH3_64bits_digest(state_); }

 private:
  XXH3_state_t* state_;
};

}  // namespace sloop::index_internal
