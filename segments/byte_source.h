// Where a segment's bytes come from. SegmentReader reads through a ByteSource: a local file
// (FileByteSource), or, for a shard kept in object storage, ranges fetched on demand into a local
// cache (objstore/remote_segment.h). Every block read is checked against its own checksum, so a
// source need not verify what it hands out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "base/status.h"

namespace sloop {

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Its size now (a local file being written grows).
  virtual uint64_t Size() const = 0;
  // Reads exactly n bytes at offset into buf. False when it cannot: *err is an errno (0: the
  // range runs past the end) and *why says what failed.
  virtual bool ReadAt(char* buf, size_t n, uint64_t offset, int* err, std::string* why) const = 0;
  // Safe to call from several threads at once.
};

// A local file, read with pread().
class FileByteSource : public ByteSource {
 public:
  static Result<std::unique_ptr<FileByteSource>> Open(const std::filesystem::path& path);
  ~FileByteSource() override;
  uint64_t Size() const override;
  bool ReadAt(char* buf, size_t n, uint64_t offset, int* err, std::string* why) const override;

  FileByteSource(const FileByteSource&) = delete;
  FileByteSource& operator=(const FileByteSource&) = delete;

 private:
  explicit FileByteSource(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace sloop
