// SegmentWriter appends records to one segment file, in blocks: a block collects records until
// its uncompressed size reaches the target, then is compressed with zstd, framed (magic, version,
// lengths, record count, min/max observation time, xxh64 checksum) and written with one write().
// Not thread-safe: one writer per file, guarded by its owner.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "segments/record.h"
#include "segments/status.h"

namespace sloop {

enum class SyncPolicy {
  kEveryBlock,  // fsync after every block: nothing written is lost on power failure
  kInterval,    // fsync when a block is written and sync_interval has passed since the last
  kNever,       // leave it to the kernel (a process crash still loses nothing written)
};

struct WriterOptions {
  size_t target_block_bytes = 128 * 1024;  // uncompressed bytes of records per block
  int zstd_level = 3;
  SyncPolicy sync = SyncPolicy::kInterval;
  std::chrono::milliseconds sync_interval{1000};
};

// Where a record went: the file offset of its block's frame and its index inside the block.
struct RecordLocation {
  uint64_t block_offset = 0;
  uint32_t index_in_block = 0;
};

// What was written for one block, as its frame says.
struct BlockHandle {
  uint64_t offset = 0;       // of the frame's first byte
  uint32_t frame_bytes = 0;  // header + compressed payload + checksum
  uint32_t uncompressed_bytes = 0;
  uint32_t record_count = 0;
  int64_t min_observed_ns = 0;
  int64_t max_observed_ns = 0;
};

// What opening an existing segment for append found and did.
struct RecoveryReport {
  uint64_t good_blocks = 0;
  uint64_t corrupt_blocks_kept = 0;  // bad blocks followed by good ones: kept, skipped by readers
  uint64_t bytes_dropped = 0;        // torn or corrupt tail cut off
  std::string reason;                // why the tail was cut ("" when nothing was)
};

class SegmentWriter {
 public:
  // Creates a new, empty segment (header only). Fails with kAlreadyExists if path exists.
  static Result<std::unique_ptr<SegmentWriter>> Create(const std::filesystem::path& path,
                                                       const WriterOptions& options);

  // Opens an existing segment to append to it. A torn or corrupt tail (after the last good
  // block) is truncated away and described in *report; the loss is also logged to stderr.
  // Fails with kCorruption / kUnsupported when the file header is not a segment of this format.
  static Result<std::unique_ptr<SegmentWriter>> OpenForAppend(const std::filesystem::path& path,
                                                              const WriterOptions& options,
                                                              RecoveryReport* report);

  ~SegmentWriter();  // closes without fsync; call Close() to flush and sync

  // Copies the record into the current block; writes the block out when it reaches the target.
  Result<RecordLocation> Append(const RecordView& record);

  // Ends the current block (if it has records) and writes it. No-op when it is empty.
  Result<void> Flush();

  // Flush(), then fsync.
  Result<void> Sync();

  // Sync() and close the file. Further calls fail with kInvalidArgument.
  Result<void> Close();

  // Calls fn for each record appended but not yet written in a block, in append order.
  void VisitPending(const std::function<void(const RecordView&, RecordLocation)>& fn) const;

  // Called after each block is written (from inside Append/Flush), e.g. to index it.
  void SetBlockListener(std::function<void(const BlockHandle&)> listener);

  const std::filesystem::path& path() const;
  uint64_t file_bytes() const;     // bytes written to the file so far
  uint64_t pending_bytes() const;  // uncompressed bytes waiting in the current block
  uint64_t pending_records() const;

  SegmentWriter(const SegmentWriter&) = delete;
  SegmentWriter& operator=(const SegmentWriter&) = delete;

 private:
  struct Impl;
  explicit SegmentWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sloop
