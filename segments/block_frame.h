// Encoding and checking of block frame headers (see segment_format.h). Internal to segments/.
#pragma once

#include <cstdint>
#include <cstring>

#include "segments/segment_format.h"

namespace sloop::block_frame {

struct Header {
  uint16_t block_format = segment_format::kBlockColumnar;
  uint8_t codec = segment_format::kCodecZstd;
  uint8_t flags = 0;
  uint32_t compressed_bytes = 0;
  uint32_t uncompressed_bytes = 0;
  uint32_t record_count = 0;
  int64_t min_observed_ns = 0;
  int64_t max_observed_ns = 0;

  bool is_dictionary() const { return flags & segment_format::kFlagDictionary; }
  uint64_t frame_bytes() const {
    return segment_format::kBlockHeaderSize + compressed_bytes + segment_format::kBlockTrailerSize;
  }
};

inline void Encode(const Header& h, char* out) {
  namespace sf = segment_format;
  std::memset(out, 0, sf::kBlockHeaderSize);
  uint32_t magic = sf::kBlockMagic;
  std::memcpy(out + 0, &magic, 4);
  std::memcpy(out + 4, &h.block_format, 2);
  out[6] = static_cast<char>(h.codec);
  out[7] = static_cast<char>(h.flags);
  std::memcpy(out + 8, &h.compressed_bytes, 4);
  std::memcpy(out + 12, &h.uncompressed_bytes, 4);
  std::memcpy(out + 16, &h.record_count, 4);
  std::memcpy(out + 24, &h.min_observed_ns, 8);
  std::memcpy(out + 32, &h.max_observed_ns, 8);
}

// Checks magic, block format, codec, flags and that the lengths are plausible. *why says what
// failed.
inline bool Decode(const char* in, Header* h, const char** why) {
  namespace sf = segment_format;
  uint32_t magic;
  std::memcpy(&magic, in, 4);
  std::memcpy(&h->block_format, in + 4, 2);
  if (magic != sf::kBlockMagic) {
    *why = "bad block magic";
    return false;
  }
  if (h->block_format != sf::kBlockRecords && h->block_format != sf::kBlockColumnar) {
    *why = "unknown block format version";
    return false;
  }
  h->codec = static_cast<uint8_t>(in[6]);
  h->flags = static_cast<uint8_t>(in[7]);
  if (h->codec != sf::kCodecZstd &&
      !(h->codec == sf::kCodecZstdDictionary && h->block_format == sf::kBlockColumnar)) {
    *why = "unknown compression codec";
    return false;
  }
  if ((h->flags & ~sf::kFlagDictionary) != 0 ||
      (h->is_dictionary() &&
       (h->block_format != sf::kBlockColumnar || h->codec != sf::kCodecZstd))) {
    *why = "unknown block flags";
    return false;
  }
  std::memcpy(&h->compressed_bytes, in + 8, 4);
  std::memcpy(&h->uncompressed_bytes, in + 12, 4);
  std::memcpy(&h->record_count, in + 16, 4);
  std::memcpy(&h->min_observed_ns, in + 24, 8);
  std::memcpy(&h->max_observed_ns, in + 32, 8);
  const bool records_ok =
      h->is_dictionary() ? h->record_count == 0 && h->uncompressed_bytes <= sf::kMaxDictionaryBytes
                         : h->record_count != 0 && h->record_count <= sf::kMaxRecordsPerBlock &&
                               (h->block_format != sf::kBlockColumnar ||
                                h->record_count <= sf::kMaxColumnarRecordsPerBlock);
  if (h->compressed_bytes > sf::kMaxBlockBytes || h->uncompressed_bytes > sf::kMaxBlockBytes ||
      !records_ok) {
    *why = "implausible block lengths";
    return false;
  }
  return true;
}

}  // namespace sloop::block_frame
