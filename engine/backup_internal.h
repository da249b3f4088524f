// What the backup writer (engine/backup_writer.cc), the restorer (backup_restore.cc) and the
// commit of a restore (restore_commit.cc) share: the archive's constants and small helpers. Not
// part of the contract (engine/backup.h).
#pragma once

#include <unistd.h>
#include <xxhash.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace sloop::backup_internal {

// ---------------------------------------------------------------------------------------------
// The format (docs/format/backup.md)

constexpr std::string_view kManifestName = "MANIFEST.json";
constexpr std::string_view kFormatName = "sloop-backup";
constexpr int64_t kFormatVersion = 1;
constexpr std::string_view kShardDir = "shards/";
constexpr size_t kShardIdDigits = 10;
constexpr uint64_t kMaxManifestBytes = 64ull << 20;
constexpr char kStagingDir[] = ".restore-staging";
// Written into the staging shards directory once every check has passed: a staging directory
// with it holds a restore that may be put in place; without it, one that may only be removed.
constexpr char kCheckedMarker[] = "RESTORE-CHECKED";
constexpr char kOldShardsPrefix[] = "shards.old-";
// Numbers in the manifest are right-aligned in this many characters (JSON allows the spaces),
// so that its length, and the archive's, depend only on the names.
constexpr int kNumberWidth = 20;

// "shards/NNNNNNNNNN.seg|.idx|.active": the only member names besides the manifest.
inline bool IsShardFileName(std::string_view name, uint64_t* id = nullptr,
                            std::string_view* ext = nullptr) {
  if (!name.starts_with(kShardDir)) return false;
  name.remove_prefix(kShardDir.size());
  if (name.size() <= kShardIdDigits) return false;
  uint64_t value = 0;
  for (size_t i = 0; i < kShardIdDigits; ++i) {
    if (name[i] < '0' || name[i] > '9') return false;
    value = value * 10 + static_cast<uint64_t>(name[i] - '0');
  }
  std::string_view e = name.substr(kShardIdDigits);
  if (e != ".seg" && e != ".idx" && e != ".active") return false;
  if (id) *id = value;
  if (ext) *ext = e;
  return true;
}

inline std::string Hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

// ---------------------------------------------------------------------------------------------
// Small POSIX helpers

struct Fd {
  int fd = -1;
  Fd() = default;
  explicit Fd(int f) : fd(f) {}
  Fd(Fd&& o) noexcept : fd(std::exchange(o.fd, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd = std::exchange(o.fd, -1);
    }
    return *this;
  }
  ~Fd() { reset(); }
  void reset() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

struct XxhStateDeleter {
  void operator()(XXH64_state_t* s) const { XXH64_freeState(s); }
};
using XxhState = std::unique_ptr<XXH64_state_t, XxhStateDeleter>;

inline XxhState NewXxh() {
  XxhState s(XXH64_createState());
  XXH64_reset(s.get(), 0);
  return s;
}

}  // namespace sloop::backup_internal
