// The manifest of a shard in a bucket (docs/format/object-store.md, "Manifest"): a small JSON
// object, uploaded last, whose presence says the shard's .seg and .idx are complete, and whose
// sizes and xxh3-64 checksums say what they must be.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "base/status.h"

namespace sloop::objstore {

// A file's size and XXH3-64 (seed 0) of its bytes.
struct FileDigest {
  uint64_t bytes = 0;
  uint64_t xxh3 = 0;
  bool operator==(const FileDigest&) const = default;
};

struct ShardManifest {
  static constexpr uint32_t kFormatVersion = 1;
  uint32_t format_version = kFormatVersion;
  std::string cluster;
  uint64_t shard_id = 0;
  int64_t window_start_ns = 0;
  int64_t window_end_ns = 0;
  int64_t first_record_ns = 0;  // observed times of its records (0 when it has none)
  int64_t last_record_ns = 0;
  uint64_t records = 0;
  uint64_t resources = 0;
  FileDigest segment;
  FileDigest index;
  uint32_t segment_format = 0;  // the sealed files' format versions (docs/format/*.md)
  uint32_t index_format = 0;
  // The uploaded index was written whole from one read through a base (it holds every key).
  bool index_made_whole = false;
  int64_t uploaded_at_ns = 0;

  bool operator==(const ShardManifest&) const = default;
};

// The manifest as JSON text (one line, then '\n').
std::string ManifestJson(const ShardManifest& m);

// Parses what ManifestJson wrote; unknown fields are ignored. kCorruption naming `what` (the
// key) when the text is not such an object or lacks a field, kUnsupported for another
// format_version.
Result<ShardManifest> ParseManifest(std::string_view json, std::string_view what);

// XXH3-64 of bytes.
uint64_t Xxh3(std::string_view bytes);
// Size and XXH3-64 of what fd holds from offset 0 to its end (read with pread; the descriptor's
// offset is not moved). path names the file in errors.
Result<FileDigest> DigestFd(int fd, const std::filesystem::path& path);
Result<FileDigest> DigestFile(const std::filesystem::path& path);

// 16 lower-case hex digits.
std::string Hex64(uint64_t v);

}  // namespace sloop::objstore
