// SegmentWriter appends records to one segment file, in blocks: a block collects records until
// its uncompressed size reaches the target, then is compressed with zstd, framed (magic, version,
// lengths, record count, min/max observation time, xxh64 checksum) and written with one pwrite()
// at the end of the last whole block.
// Not thread-safe: one writer per file, guarded by its owner.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "base/status.h"
#include "segments/record.h"
#include "segments/segment_format.h"

namespace sloop {

enum class SyncPolicy {
  kEveryBlock,  // fsync after every block: nothing written is lost on power failure
  kInterval,    // fsync when a block is written and sync_interval has passed since the last
  kNever,       // leave it to the kernel (a process crash still loses nothing written)
};

struct WriterOptions {
  // Records per block: a block is written once its records take this many bytes in block
  // format 1 (FlatBuffers, as they wait in memory), whatever format it is written in.
  size_t target_block_bytes = 128 * 1024;
  int zstd_level = 3;
  // The format of the blocks written: 2 (columnar, smaller) or 1, which a build that reads only
  // format 1 reads (tests of reading old files). See docs/format/segment.md.
  uint16_t block_format = segment_format::kBlockColumnar;
  // Create only, format 2 only: raw zstd dictionary content (examples of the records' JSON, see
  // segments/dictionary.h), written as the file's first block; every block is then compressed
  // against it. Empty: none. Sealed segments use one; a dictionary costs its bytes once per
  // file and a reader keeps it in memory.
  std::string dictionary;
  // Format 2: end a zstd block of each frame where the block's first columns end and where its
  // last column ends (docs/format/segment.md): SegmentReader::ReadBlockHeads then decompresses
  // only those columns, and the file is about 2 % smaller, for about 5 % more compression
  // time. The sealer sets it; the active segment, written as the records arrive, does not.
  bool split_columns = false;
  // With split_columns: zstd reads the block in place (ZSTD_c_stableInBuffer) when the library
  // takes it, else through its window buffer. false: through the buffer always, the way a library
  // that refuses the parameter is written with (tests of that path).
  bool zstd_stable_input = true;
  SyncPolicy sync = SyncPolicy::kInterval;
  // Also the longest a record waits in the current block before its owner writes the block out
  // (FlushAged) and the longest written bytes wait for an fsync under kInterval.
  std::chrono::milliseconds sync_interval{1000};
  // Tests: stand-ins for pwrite(2) and fdatasync(2) on this writer's file, to inject short writes
  // and ENOSPC. Null: the system calls. Copied into every writer made with these options.
  std::function<ssize_t(int fd, const void* buf, size_t n, off_t offset)> pwrite_fn;
  std::function<int(int fd)> fdatasync_fn;
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
  // block) is truncated away and described in *report; the loss is also logged to stderr. A
  // file of format version 1 appended with format 2 blocks has its header's version raised.
  // Fails with kCorruption / kUnsupported when the file header is not a segment of this format.
  static Result<std::unique_ptr<SegmentWriter>> OpenForAppend(const std::filesystem::path& path,
                                                              const WriterOptions& options,
                                                              RecoveryReport* report);

  ~SegmentWriter();  // closes without fsync; call Close() to flush and sync

  // Copies the record into the current block; writes the block out when it reaches the target.
  // All or nothing: on error the record is not kept (the current block is as it was before the
  // call) and the file holds whole blocks only (a short or failed write is cut back off).
  Result<RecordLocation> Append(const RecordView& record);

  // Ends the current block (if it has records) and writes it. No-op when it is empty. On error
  // the block stays pending (nothing is lost) and the file is cut back to its last whole block.
  Result<void> Flush();

  // Timer work, so that sync_interval bounds how long a record waits: writes the current block
  // when its oldest record arrived sync_interval or more before `now`, and (kInterval) fsyncs
  // written bytes not synced for sync_interval. *next_due (when given) gets the time this
  // should be called again, or time_point::max() when nothing waits.
  Result<void> FlushAged(std::chrono::steady_clock::time_point now,
                         std::chrono::steady_clock::time_point* next_due);

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
