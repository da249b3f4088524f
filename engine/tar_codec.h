// The POSIX ustar subset a backup archive is written in (docs/format/backup.md): 512-byte
// headers for regular files, data padded to whole blocks, two zero blocks at the end. Encodes
// the headers the backup writer emits and decodes those the restorer meets, any tar's included.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace sloop::tar {

constexpr size_t kTarBlock = 512;

// n bytes of member data take this many in the archive (padded to whole blocks).
inline uint64_t Padded(uint64_t n) { return (n + kTarBlock - 1) / kTarBlock * kTarBlock; }

// A regular file's header for `name` (at most 100 bytes), size and mtime, into h[0..kTarBlock).
void EncodeHeader(std::string_view name, uint64_t size, int64_t mtime_s, char* h);

struct TarHeader {
  std::string name;
  uint64_t size = 0;
  char type = '0';
};

enum class HeaderKind { kMember, kEnd, kBad };

// Decodes the header in h[0..kTarBlock): kEnd for a zero block, kBad (why says what is wrong)
// without the ustar magic, with a wrong checksum or an unreadable size.
HeaderKind DecodeHeader(const char* h, TarHeader* out, std::string* why);

// What a member of this type flag is ("a symbolic link"), for errors.
const char* TypeName(char type);

}  // namespace sloop::tar
