#include "engine/tar_codec.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace sloop::tar {
namespace {

void PutOctal(char* field, size_t width, uint64_t value) {
  // width - 1 digits and a NUL.
  field[width - 1] = '\0';
  for (size_t i = width - 1; i-- > 0;) {
    field[i] = static_cast<char>('0' + (value & 7));
    value >>= 3;
  }
}

// The size field: 11 octal digits up to 8 GiB - 1, else the base-256 form GNU tar and bsdtar
// read (first byte 0x80, the value big-endian in the remaining 11 bytes).
void PutSize(char* field, uint64_t size) {
  if (size < (1ull << 33)) {
    PutOctal(field, 12, size);
    return;
  }
  field[0] = static_cast<char>(0x80);
  for (int i = 11; i >= 1; --i) {
    field[i] = static_cast<char>(size & 0xff);
    size >>= 8;
  }
}

uint64_t HeaderChecksum(const char* h) {
  uint64_t sum = 0;
  for (size_t i = 0; i < kTarBlock; ++i) {
    sum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(h[i]);
  }
  return sum;
}

bool ParseOctal(const char* field, size_t width, uint64_t* out) {
  size_t i = 0;
  while (i < width && field[i] == ' ') ++i;
  uint64_t v = 0;
  size_t digits = 0;
  for (; i < width && field[i] >= '0' && field[i] <= '7'; ++i, ++digits) {
    if (v >> 61) return false;
    v = v * 8 + static_cast<uint64_t>(field[i] - '0');
  }
  for (; i < width; ++i) {
    if (field[i] != ' ' && field[i] != '\0') return false;
  }
  *out = v;
  return digits > 0;
}

bool ParseSize(const char* field, uint64_t* out) {
  if (static_cast<unsigned char>(field[0]) == 0x80) {
    uint64_t v = 0;
    for (int i = 1; i < 12; ++i) {
      if (v >> 56) return false;
      v = (v << 8) | static_cast<unsigned char>(field[i]);
    }
    *out = v;
    return true;
  }
  return ParseOctal(field, 12, out);
}

}  // namespace

void EncodeHeader(std::string_view name, uint64_t size, int64_t mtime_s, char* h) {
  std::memset(h, 0, kTarBlock);
  std::memcpy(h, name.data(), name.size());
  PutOctal(h + 100, 8, 0644);                                                   // mode
  PutOctal(h + 108, 8, 0);                                                      // uid
  PutOctal(h + 116, 8, 0);                                                      // gid
  PutSize(h + 124, size);                                                       // size
  PutOctal(h + 136, 12, static_cast<uint64_t>(std::max<int64_t>(mtime_s, 0)));  // mtime
  h[156] = '0';                      // typeflag: regular file
  std::memcpy(h + 257, "ustar", 6);  // magic, NUL-terminated
  std::memcpy(h + 263, "00", 2);     // version
  std::memcpy(h + 265, "sloop", 5);  // uname
  std::memcpy(h + 297, "sloop", 5);  // gname
  PutOctal(h + 329, 8, 0);           // devmajor
  PutOctal(h + 337, 8, 0);           // devminor
  char sum[8];
  std::snprintf(sum, sizeof(sum), "%06o", static_cast<unsigned>(HeaderChecksum(h)));
  std::memcpy(h + 148, sum, 6);
  h[154] = '\0';
  h[155] = ' ';
}

HeaderKind DecodeHeader(const char* h, TarHeader* out, std::string* why) {
  if (std::all_of(h, h + kTarBlock, [](char c) { return c == 0; })) return HeaderKind::kEnd;
  if (std::memcmp(h + 257, "ustar", 5) != 0) {
    *why = "no ustar magic";
    return HeaderKind::kBad;
  }
  uint64_t stored = 0;
  if (!ParseOctal(h + 148, 8, &stored) || stored != HeaderChecksum(h)) {
    *why = "header checksum mismatch";
    return HeaderKind::kBad;
  }
  if (!ParseSize(h + 124, &out->size)) {
    *why = "unreadable size field";
    return HeaderKind::kBad;
  }
  out->name.assign(h, strnlen(h, 100));
  // POSIX ustar ("ustar\0" "00") may split a long name into prefix/name.
  if (std::memcmp(h + 257,
                  "ustar\0"
                  "00",
                  8) == 0 &&
      h[345] != '\0') {
    out->name = std::string(h + 345, strnlen(h + 345, 155)) + "/" + out->name;
  }
  out->type = h[156];
  return HeaderKind::kMember;
}

const char* TypeName(char type) {
  switch (type) {
    case '1':
      return "a hard link";
    case '2':
      return "a symbolic link";
    case '3':
      return "a character device";
    case '4':
      return "a block device";
    case '5':
      return "a directory";
    case '6':
      return "a FIFO";
    case 'x':
    case 'g':
      return "a pax extended header";
    case 'L':
    case 'K':
      return "a GNU long name";
    default:
      return "not a regular file";
  }
}

}  // namespace sloop::tar
