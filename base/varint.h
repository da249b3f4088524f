// Variable-length integers of the index's entry blocks (docs/format/index.md) and of segment
// block format 2's columns (docs/format/segment.md): LEB128 (7 bits a byte, least significant
// group first, the high bit set on every byte but the last) and zigzag for signed values (0, -1,
// 1, -2, ... as 0, 1, 2, 3, ...). A reader never reads past its end.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace sloop::varint {

inline uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
inline int64_t UnZigZag(uint64_t v) {
  return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}

inline void Put(std::string* out, uint64_t v) {
  char buf[10];
  size_t n = 0;
  while (v >= 0x80) {
    buf[n++] = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  buf[n++] = static_cast<char>(v);
  out->append(buf, n);
}
inline void PutSigned(std::string* out, int64_t v) { Put(out, ZigZag(v)); }

// Reads values from a byte range; any read past the end (or a varint longer than ten bytes)
// fails and leaves the reader failed: every later read returns 0 and ok() stays false.
class Reader {
 public:
  Reader() = default;
  explicit Reader(std::string_view bytes)
      : at_(reinterpret_cast<const uint8_t*>(bytes.data())), end_(at_ + bytes.size()) {}

  bool ok() const { return ok_; }
  bool done() const { return at_ == end_; }
  size_t left() const { return static_cast<size_t>(end_ - at_); }

  uint64_t Get() {
    uint64_t v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
      if (at_ == end_) return Fail();
      const uint8_t b = *at_++;
      if (shift == 63 && b > 1) return Fail();  // more than 64 bits
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    return Fail();
  }
  int64_t GetSigned() { return UnZigZag(Get()); }
  // A count of items that take at least min_bytes each: more than the bytes left is damage (and
  // would allocate without bound).
  uint64_t GetCount(size_t min_bytes = 1) {
    const uint64_t n = Get();
    if (min_bytes > 0 && n > left() / min_bytes) return Fail();
    return n;
  }
  uint8_t Byte() {
    if (at_ == end_) return static_cast<uint8_t>(Fail());
    return *at_++;
  }
  // n raw bytes, or empty (and failed) when fewer are left.
  std::string_view Bytes(uint64_t n) {
    if (n > left()) {
      Fail();
      return {};
    }
    std::string_view s(reinterpret_cast<const char*>(at_), n);
    at_ += n;
    return s;
  }
  uint64_t Fail() {
    ok_ = false;
    at_ = end_;
    return 0;
  }

 private:
  const uint8_t* at_ = nullptr;
  const uint8_t* end_ = nullptr;
  bool ok_ = true;
};

}  // namespace sloop::varint
