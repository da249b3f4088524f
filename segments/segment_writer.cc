#include "segments/segment_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>
#define ZSTD_STATIC_LINKING_ONLY  // ZSTD_c_stableInBuffer
#include <zstd.h>
#include <zstd_errors.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "base/log.h"
#include "segments/block_frame.h"
#include "segments/columnar_block.h"
#include "segments/record_codec.h"
#include "segments/segment_reader.h"

namespace sloop {

namespace sf = segment_format;

struct SegmentWriter::Impl {
  std::filesystem::path path;
  WriterOptions options;
  int fd = -1;
  uint64_t file_bytes = 0;
  bool closed = false;

  record_codec::Encoder encoder;
  std::string pending;                   // uncompressed entries of the current block
  std::vector<uint32_t> pending_starts;  // entry offsets in `pending`
  int64_t min_ns = 0, max_ns = 0;

  ZSTD_CCtx* cctx = nullptr;
  ZSTD_CDict* cdict = nullptr;     // the file's dictionary, when it has one (Create)
  uint8_t codec = sf::kCodecZstd;  // of the blocks written
  std::vector<RecordView> views;   // reused: the pending records, for a format 2 block
  std::string columnar;            // reused: a format 2 block's body
  std::string frame;               // reused: header + compressed payload + checksum
  std::function<void(const BlockHandle&)> listener;
  std::chrono::steady_clock::time_point last_sync = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point pending_since;  // arrival of the oldest pending record
  bool unsynced = false;                                // blocks written since the last fsync
  bool torn_tail = false;                               // a failed write could not be cut back off

  ~Impl() {
    if (cctx) ZSTD_freeCCtx(cctx);
    if (cdict) ZSTD_freeCDict(cdict);
    if (fd >= 0) ::close(fd);
  }

  ssize_t PWrite(const char* data, size_t n, uint64_t offset) {
    return options.pwrite_fn ? options.pwrite_fn(fd, data, n, static_cast<off_t>(offset))
                             : ::pwrite(fd, data, n, static_cast<off_t>(offset));
  }

  // Cuts the file back to `offset` (the end of its last whole block), so that no torn block is
  // left behind. Should that fail too, the next block is written over the torn bytes anyway
  // (writes go to file_bytes, not to the end of the file) and readers cut what may remain past
  // the last whole block as a torn tail; the cut is tried again before the next write.
  void CutBack(uint64_t offset) {
    torn_tail = ::ftruncate(fd, static_cast<off_t>(offset)) != 0;
    if (torn_tail) {
      LogLine("segment", path.string() + ": cannot cut a failed write back to offset " +
                             std::to_string(offset) + ": " + std::strerror(errno) +
                             " (the next block is written over it)");
    }
  }

  // Writes all of data at offset; on failure nothing of it stays in the file.
  Result<void> WriteAt(uint64_t offset, const char* data, size_t n) {
    if (torn_tail) CutBack(offset);
    size_t done = 0;
    while (done < n) {
      ssize_t w = PWrite(data + done, n - done, offset + done);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        int e = w < 0 ? errno : ENOSPC;  // a write of 0 bytes: no room
        CutBack(offset);
        return IOError("write segment (free disk space, or lower -max-disk-mb)", path.string(), e);
      }
      done += static_cast<size_t>(w);
    }
    return {};
  }

  Result<void> DataSync() {
    int rc = options.fdatasync_fn ? options.fdatasync_fn(fd) : ::fdatasync(fd);
    if (rc != 0) return IOError("fsync segment", path.string(), errno);
    last_sync = std::chrono::steady_clock::now();
    unsynced = false;
    return {};
  }

  // Writes options.dictionary as the dictionary block (right after the file header) and makes
  // the blocks that follow compress against it.
  Result<void> WriteDictionary() {
    const std::string& content = options.dictionary;
    frame.resize(sf::kBlockHeaderSize + ZSTD_compressBound(content.size()) + sf::kBlockTrailerSize);
    size_t csize = ZSTD_compress2(cctx, frame.data() + sf::kBlockHeaderSize,
                                  frame.size() - sf::kBlockHeaderSize - sf::kBlockTrailerSize,
                                  content.data(), content.size());
    if (ZSTD_isError(csize)) {
      return MakeError(ErrorCode::kIOError, "compress the dictionary of " + path.string() + ": " +
                                                ZSTD_getErrorName(csize));
    }
    block_frame::Header h;
    h.flags = sf::kFlagDictionary;
    h.compressed_bytes = static_cast<uint32_t>(csize);
    h.uncompressed_bytes = static_cast<uint32_t>(content.size());
    block_frame::Encode(h, frame.data());
    const uint64_t sum = XXH64(frame.data(), sf::kBlockHeaderSize + csize, 0);
    std::memcpy(frame.data() + sf::kBlockHeaderSize + csize, &sum, 8);
    if (auto w = WriteAt(file_bytes, frame.data(), h.frame_bytes()); !w) return w;
    file_bytes += h.frame_bytes();
    cdict = ZSTD_createCDict(content.data(), content.size(), options.zstd_level);
    if (!cdict || ZSTD_isError(ZSTD_CCtx_refCDict(cctx, cdict))) {
      return MakeError(ErrorCode::kIOError, "load the dictionary of " + path.string());
    }
    codec = sf::kCodecZstdDictionary;
    return {};
  }

  // Compresses body into one zstd frame at dst (capacity cap): its size, or a zstd error code.
  // A zstd block of the frame ends at each of `splits` (ascending; a flush there). For a
  // columnar body they are where its first columns and all its columns end:
  // - a reader of the first columns (SegmentReader::ReadBlockHeads) decompresses them alone,
  //   not the 128 KiB a zstd block holds;
  // - each part gets entropy tables of its own: binary columns, then JSON. On the benchmark's
  //   medium workload that makes the segments 2 % smaller than one run of blocks (a split at
  //   every column made them larger).
  // The frame stays one frame with its content size: any reader reads it as before. Without a
  // split (WriterOptions::split_columns off) it is ZSTD_compress2's one pass.
  size_t Compress(std::string_view body, std::span<const size_t> splits, char* dst, size_t cap) {
    if (std::none_of(splits.begin(), splits.end(),
                     [&](size_t at) { return at > 0 && at < body.size(); })) {
      return ZSTD_compress2(cctx, dst, cap, body.data(), body.size());
    }
    // The body stays where it is until the frame ends, and the input only grows: zstd reads it
    // in place, as ZSTD_compress2 does, instead of copying it through a window buffer (which
    // took 1.6 times as long at level 9). The parameter is experimental: a library that refuses
    // it, or refuses a flush with it (libzstd before 1.5.2 allows it only for a frame given
    // whole), compresses the same frame the slower way.
    const size_t r = CompressSplit(body, splits, dst, cap, options.zstd_stable_input);
    if (!ZSTD_isError(r) || r == kNoRoom || !options.zstd_stable_input) return r;
    return CompressSplit(body, splits, dst, cap, false);
  }

  static constexpr size_t kNoRoom = static_cast<size_t>(-ZSTD_error_dstSize_tooSmall);

  // Compress's frame with its zstd blocks ending at the splits; stable: zstd reads the body in
  // place (ZSTD_c_stableInBuffer) if the library takes the parameter.
  size_t CompressSplit(std::string_view body, std::span<const size_t> splits, char* dst,
                       size_t cap, bool stable) {
    ZSTD_CCtx_reset(cctx, ZSTD_reset_session_only);  // keeps the level and the dictionary
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_stableInBuffer, 0);
    if (stable) stable = !ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_stableInBuffer, 1));
    struct Unset {
      ZSTD_CCtx* c;
      bool on;
      ~Unset() {
        if (!on) return;
        // Parameters change only between frames: the session ends first.
        ZSTD_CCtx_reset(c, ZSTD_reset_session_only);
        ZSTD_CCtx_setParameter(c, ZSTD_c_stableInBuffer, 0);
      }
    } unset{cctx, stable};
    size_t r = ZSTD_CCtx_setPledgedSrcSize(cctx, body.size());
    if (ZSTD_isError(r)) return r;
    ZSTD_outBuffer out{dst, cap, 0};
    ZSTD_inBuffer in{body.data(), 0, 0};
    // Compresses the body up to `end` with `how`, to its end.
    auto run = [&](size_t end, ZSTD_EndDirective how) -> size_t {
      in.size = end;
      size_t left = 0;
      do {
        const size_t before = out.pos;
        left = ZSTD_compressStream2(cctx, &out, &in, how);
        if (ZSTD_isError(left)) return left;
        if (left != 0 && out.pos == before && out.pos == out.size) return kNoRoom;
      } while (left != 0);
      return 0;
    };
    for (size_t split : splits) {
      if (split <= in.size || split >= body.size()) continue;
      if (r = run(split, ZSTD_e_flush); ZSTD_isError(r)) return r;
    }
    if (r = run(body.size(), ZSTD_e_end); ZSTD_isError(r)) return r;
    return out.pos;
  }

  // Writes the current block. All or nothing: on error the block stays pending and the file
  // ends where it ended before.
  Result<void> WriteBlock() {
    if (pending_starts.empty()) return {};
    const std::string* body = &pending;
    columnar_block::BodyParts parts;  // none in a body of format 1
    if (options.block_format == sf::kBlockColumnar) {
      views.resize(pending_starts.size());
      for (size_t i = 0; i < pending_starts.size(); ++i) {
        record_codec::View(pending.data(), pending_starts[i], &views[i]);
      }
      columnar.clear();
      parts = columnar_block::Encode(views, &columnar);
      body = &columnar;
    }
    // Room for the frame, and for the zstd block headers the splits below add.
    const size_t bound = ZSTD_compressBound(body->size()) + 32;
    frame.resize(sf::kBlockHeaderSize + bound + sf::kBlockTrailerSize);
    const size_t splits[] = {options.split_columns ? parts.heads : 0,
                             options.split_columns ? parts.columns : 0};
    const size_t csize = Compress(*body, splits, frame.data() + sf::kBlockHeaderSize, bound);
    if (ZSTD_isError(csize)) {
      return MakeError(ErrorCode::kIOError,
                       "compress block for " + path.string() + ": " + ZSTD_getErrorName(csize));
    }
    block_frame::Header h;
    h.block_format = options.block_format;
    h.codec = codec;
    h.compressed_bytes = static_cast<uint32_t>(csize);
    h.uncompressed_bytes = static_cast<uint32_t>(body->size());
    h.record_count = static_cast<uint32_t>(pending_starts.size());
    h.min_observed_ns = min_ns;
    h.max_observed_ns = max_ns;
    block_frame::Encode(h, frame.data());
    uint64_t sum = XXH64(frame.data(), sf::kBlockHeaderSize + csize, 0);
    std::memcpy(frame.data() + sf::kBlockHeaderSize + csize, &sum, 8);
    size_t frame_bytes = sf::kBlockHeaderSize + csize + sf::kBlockTrailerSize;
    const uint64_t at = file_bytes;
    if (auto w = WriteAt(at, frame.data(), frame_bytes); !w) return w;
    if (options.sync == SyncPolicy::kEveryBlock ||
        (options.sync == SyncPolicy::kInterval &&
         std::chrono::steady_clock::now() - last_sync >= options.sync_interval)) {
      if (auto s = DataSync(); !s) {
        // The kernel may have dropped the block: do not count it as written.
        CutBack(at);
        return s;
      }
    } else {
      unsynced = true;
    }
    BlockHandle handle{file_bytes,
                       static_cast<uint32_t>(frame_bytes),
                       h.uncompressed_bytes,
                       h.record_count,
                       min_ns,
                       max_ns};
    // Written (and synced, when due, above): from here on the block is the file's, and nothing
    // may fail (the caller takes a failure to mean that its record was not appended).
    file_bytes += frame_bytes;
    pending.clear();
    pending_starts.clear();
    if (listener) listener(handle);
    return {};
  }
};

namespace {

Result<void> CheckOptions(const std::filesystem::path& path, const WriterOptions& options) {
  if (options.block_format != sf::kBlockRecords && options.block_format != sf::kBlockColumnar) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "segment " + path.string() + ": no block format " +
                         std::to_string(options.block_format) + " (1 or 2)");
  }
  if (!options.dictionary.empty() && (options.block_format != sf::kBlockColumnar ||
                                      options.dictionary.size() > sf::kMaxDictionaryBytes)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "segment " + path.string() +
                         ": a dictionary needs block format 2 and at most " +
                         std::to_string(sf::kMaxDictionaryBytes) + " bytes");
  }
  return {};
}

}  // namespace

SegmentWriter::SegmentWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SegmentWriter::~SegmentWriter() = default;

Result<std::unique_ptr<SegmentWriter>> SegmentWriter::Create(const std::filesystem::path& path,
                                                             const WriterOptions& options) {
  if (auto v = CheckOptions(path, options); !v) return std::unexpected(v.error());
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->options = options;
  impl->fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (impl->fd < 0) {
    if (errno == EEXIST) {
      return MakeError(ErrorCode::kAlreadyExists, "segment " + path.string() + " already exists");
    }
    return IOError("create segment", path.string(), errno);
  }
  char header[sf::kFileHeaderSize] = {};
  std::memcpy(header, sf::kFileMagic, 8);
  uint32_t version = options.block_format;  // the newest block format the file holds
  std::memcpy(header + 8, &version, 4);
  if (auto w = impl->WriteAt(0, header, sizeof(header)); !w) {
    ::unlink(path.c_str());  // nothing of it was written: leave no file that is not a segment
    return std::unexpected(w.error());
  }
  impl->file_bytes = sf::kFileHeaderSize;
  impl->cctx = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(impl->cctx, ZSTD_c_compressionLevel, options.zstd_level);
  ZSTD_CCtx_setParameter(impl->cctx, ZSTD_c_checksumFlag, 0);
  if (!options.dictionary.empty()) {
    if (auto d = impl->WriteDictionary(); !d) {
      ::unlink(path.c_str());
      return std::unexpected(d.error());
    }
  }
  return std::unique_ptr<SegmentWriter>(new SegmentWriter(std::move(impl)));
}

Result<std::unique_ptr<SegmentWriter>> SegmentWriter::OpenForAppend(
    const std::filesystem::path& path, const WriterOptions& options, RecoveryReport* report) {
  if (auto v = CheckOptions(path, options); !v) return std::unexpected(v.error());
  RecoveryReport local;
  RecoveryReport& r = report ? *report : local;
  r = RecoveryReport{};
  auto reader = SegmentReader::Open(path);
  if (!reader) return std::unexpected(reader.error());
  const uint32_t file_version = (*reader)->format_version();
  const uint64_t dictionary_end = (*reader)->dictionary_end();
  std::vector<CorruptBlock> corrupt;
  auto blocks = (*reader)->ListBlocks(&corrupt);
  if (!blocks) return std::unexpected(blocks.error());
  reader->reset();

  uint64_t good_end = std::max<uint64_t>(sf::kFileHeaderSize, dictionary_end);
  for (const BlockHandle& b : *blocks) good_end = std::max(good_end, b.offset + b.frame_bytes);
  r.good_blocks = blocks->size();
  for (const CorruptBlock& c : corrupt) {
    if (c.offset < good_end) {
      ++r.corrupt_blocks_kept;
      LogLine("segment", path.string() + ": corrupt block at offset " + std::to_string(c.offset) +
                             " (" + c.reason + ") is kept and skipped by readers");
    } else if (r.reason.empty()) {
      r.reason = c.reason;
    }
  }
  std::error_code ec;
  uint64_t size = std::filesystem::file_size(path, ec);
  if (ec) return IOError("stat segment", path.string(), ec.value());

  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->options = options;
  impl->fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (impl->fd < 0) return IOError("open segment", path.string(), errno);
  if (size > good_end) {
    r.bytes_dropped = size - good_end;
    if (r.reason.empty()) r.reason = "torn tail";
    LogLine("segment", path.string() + ": dropped " + std::to_string(r.bytes_dropped) +
                           " bytes at offset " + std::to_string(good_end) + ": " + r.reason);
    if (::ftruncate(impl->fd, static_cast<off_t>(good_end)) != 0 || ::fdatasync(impl->fd) != 0) {
      return IOError("truncate torn tail of segment", path.string(), errno);
    }
  }
  if (file_version < options.block_format) {
    // Before the first block of the newer format: a build that reads only the older one must
    // refuse the file, not take the new blocks for a torn tail and cut them off.
    uint32_t version = options.block_format;
    if (::pwrite(impl->fd, &version, 4, 8) != 4 || ::fdatasync(impl->fd) != 0) {
      return IOError("raise the format version of segment", path.string(), errno);
    }
  }
  impl->file_bytes = good_end;
  impl->cctx = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(impl->cctx, ZSTD_c_compressionLevel, options.zstd_level);
  return std::unique_ptr<SegmentWriter>(new SegmentWriter(std::move(impl)));
}

Result<RecordLocation> SegmentWriter::Append(const RecordView& record) {
  Impl& s = *impl_;
  if (s.closed) {
    return MakeError(ErrorCode::kInvalidArgument, "segment " + s.path.string() + " is closed");
  }
  const size_t mark = s.pending.size();
  const int64_t old_min = s.min_ns, old_max = s.max_ns;
  if (s.pending_starts.empty()) {
    s.min_ns = s.max_ns = record.observed_ns;
    s.pending_since = std::chrono::steady_clock::now();
  } else {
    s.min_ns = std::min(s.min_ns, record.observed_ns);
    s.max_ns = std::max(s.max_ns, record.observed_ns);
  }
  s.pending_starts.push_back(static_cast<uint32_t>(s.pending.size()));
  s.encoder.Append(record, &s.pending);
  RecordLocation loc{s.file_bytes, static_cast<uint32_t>(s.pending_starts.size() - 1)};
  if (s.pending.size() >= s.options.target_block_bytes ||
      s.pending_starts.size() >= sf::kMaxColumnarRecordsPerBlock) {
    if (auto w = s.WriteBlock(); !w) {
      // Take the record back out: the caller was told it was not appended, so it must not be
      // written with the block later (the block stays pending as it was, and stays bounded).
      s.pending.resize(mark);
      s.pending_starts.pop_back();
      s.min_ns = old_min;
      s.max_ns = old_max;
      return std::unexpected(w.error());
    }
  }
  return loc;
}

Result<void> SegmentWriter::Flush() {
  if (impl_->closed) return {};
  return impl_->WriteBlock();
}

Result<void> SegmentWriter::FlushAged(std::chrono::steady_clock::time_point now,
                                      std::chrono::steady_clock::time_point* next_due) {
  using Clock = std::chrono::steady_clock;
  Impl& s = *impl_;
  Clock::time_point due = Clock::time_point::max();
  if (!s.closed) {
    const auto interval = s.options.sync_interval;
    if (!s.pending_starts.empty()) {
      if (now - s.pending_since >= interval) {
        if (auto w = s.WriteBlock(); !w) {
          if (next_due) *next_due = due;
          return w;
        }
      } else {
        due = s.pending_since + interval;
      }
    }
    if (s.unsynced && s.options.sync == SyncPolicy::kInterval) {
      if (now - s.last_sync >= interval) {
        if (auto y = s.DataSync(); !y) {
          if (next_due) *next_due = Clock::time_point::max();
          return y;
        }
      } else {
        due = std::min(due, s.last_sync + interval);
      }
    }
  }
  if (next_due) *next_due = due;
  return {};
}

Result<void> SegmentWriter::Sync() {
  if (impl_->closed) return {};
  if (auto f = Flush(); !f) return f;
  return impl_->DataSync();
}

Result<void> SegmentWriter::Close() {
  if (impl_->closed) {
    return MakeError(ErrorCode::kInvalidArgument, "segment " + impl_->path.string() + " is closed");
  }
  if (auto s = Sync(); !s) return s;
  impl_->closed = true;
  if (::close(impl_->fd) != 0) {
    impl_->fd = -1;
    return IOError("close segment", impl_->path.string(), errno);
  }
  impl_->fd = -1;
  return {};
}

void SegmentWriter::VisitPending(
    const std::function<void(const RecordView&, RecordLocation)>& fn) const {
  const Impl& s = *impl_;
  for (size_t i = 0; i < s.pending_starts.size(); ++i) {
    RecordView v;
    size_t next;
    const char* why;
    if (record_codec::Decode(s.pending.data(), s.pending_starts[i], s.pending.size(), &v, &next,
                             &why)) {
      fn(v, RecordLocation{s.file_bytes, static_cast<uint32_t>(i)});
    }
  }
}

void SegmentWriter::SetBlockListener(std::function<void(const BlockHandle&)> listener) {
  impl_->listener = std::move(listener);
}

const std::filesystem::path& SegmentWriter::path() const { return impl_->path; }
uint64_t SegmentWriter::file_bytes() const { return impl_->file_bytes; }
uint64_t SegmentWriter::pending_bytes() const { return impl_->pending.size(); }
uint64_t SegmentWriter::pending_records() const { return impl_->pending_starts.size(); }

}  // namespace sloop
