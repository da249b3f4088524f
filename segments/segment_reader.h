// SegmentReader reads a segment file written by SegmentWriter: its blocks, one by offset or all
// in order, each verified against its checksum before any record is returned. Safe to use from
// several threads at once (reads are pread()s, or
// ByteSource reads; Block buffers belong to the caller).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "segments/record.h"
#include "segments/segment_writer.h"

namespace sloop {

class ByteSource;

// One decoded block: its frame's facts and its records. Record views point into this object.
class Block {
 public:
  Block() = default;
  Block(Block&&) = default;
  Block& operator=(Block&&) = default;
  // Hands its decompression buffer to the thread's spare (see SegmentReader::ReadBlock).
  ~Block();

  const BlockHandle& handle() const { return handle_; }
  // Its block format (segment_format::kBlockRecords or kBlockColumnar).
  uint16_t format() const { return format_; }
  size_t size() const {
    return format_ == segment_format::kBlockColumnar ? views_.size() : offsets_.size();
  }
  // The i-th record (i < size()).
  RecordView record(size_t i) const;

 private:
  friend class SegmentReader;
  BlockHandle handle_;
  uint16_t format_ = segment_format::kBlockColumnar;
  std::string data_;               // decompressed records
  std::vector<uint32_t> offsets_;  // format 1: start of each record in data_
  std::vector<RecordView> views_;  // format 2: each record, decoded when the block was read
  std::string scratch_;            // compressed frame, reused between reads
};

// A block that failed its checks while scanning.
struct CorruptBlock {
  uint64_t offset = 0;
  std::string reason;
};

class SegmentReader {
 public:
  // Opens path and checks its file header. kCorruption for an empty file or another format,
  // kUnsupported for a future format version; the message names the file and what to do.
  static Result<std::unique_ptr<SegmentReader>> Open(const std::filesystem::path& path);
  // The same over another source of the segment's bytes (segments/byte_source.h); path names it
  // in messages.
  static Result<std::unique_ptr<SegmentReader>> Open(std::unique_ptr<ByteSource> source,
                                                     const std::filesystem::path& path);
  ~SegmentReader();

  // Reads, verifies and decompresses the block whose frame starts at offset, into *out (whose
  // buffers are reused). kCorruption names the offset and the failed check.
  Result<void> ReadBlock(uint64_t offset, Block* out) const;
  // The watch type and observation time of each record of the block at offset, checked as
  // ReadBlock checks the frame. A block of format 2 is decompressed only as far as those
  // columns (its first bytes: a tenth of it or less); one of format 1 is read whole. scratch is
  // a buffer the caller reuses.
  Result<void> ReadBlockHeads(uint64_t offset, std::vector<RecordHead>* out,
                              std::string* scratch) const;

  // After ReadBlock failed at offset: where the next block frame may start (past the damaged
  // frame when its header is intact and another block header follows it, else at the next
  // block magic), or the file's size when there is none. Always > offset.
  uint64_t SkipDamaged(uint64_t offset) const;

  // Walks every block frame from the start of the file to its current end (the file may grow:
  // each call sees what is there now), but for the dictionary block, which holds no records. Calls
  // on_block for each good block (decoded into one reused Block) and on_corrupt for each bad one; a
  // bad block is skipped by its framed length when the header is intact, else by searching for the
  // next block magic. A torn tail is reported through on_corrupt as well. Stops early when on_block
  // returns false.
  Result<void> Scan(const std::function<bool(const Block&)>& on_block,
                    const std::function<void(const CorruptBlock&)>& on_corrupt) const;

  // Frames only (no decompression): the handle of every good block of records (not the
  // dictionary block), the bad ones in *corrupt.
  Result<std::vector<BlockHandle>> ListBlocks(std::vector<CorruptBlock>* corrupt) const;

  const std::filesystem::path& path() const;
  uint32_t format_version() const;
  // When the file starts with a whole dictionary block (sealed segments): where it ends, and the
  // bytes of its content (kept in memory while the reader lives). 0 and 0 when it has none.
  uint64_t dictionary_end() const;
  size_t dictionary_bytes() const;

  SegmentReader(const SegmentReader&) = delete;
  SegmentReader& operator=(const SegmentReader&) = delete;

 private:
  struct Impl;
  explicit SegmentReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sloop
