#include "segments/segment_reader.h"

#include <xxhash.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "segments/block_frame.h"
#include "segments/byte_source.h"
#include "segments/columnar_block.h"
#include "segments/record_codec.h"
#include "segments/zstd_context.h"

namespace sloop {

namespace sf = segment_format;

ZSTD_DCtx* ThreadZstdDCtx() {
  thread_local struct Holder {
    ZSTD_DCtx* ctx = ZSTD_createDCtx();
    ~Holder() { ZSTD_freeDCtx(ctx); }
  } holder;
  return holder.ctx;
}

namespace {

// A decompressed block is about a MiB: above the allocator's mmap threshold, so a Block made for
// one query (a history, the Events of an object) would map fresh pages, fault each one in and
// unmap them again. Each thread keeps the buffer of the last Block it destroyed for the next one
// it reads into instead (and of its compressed frame): one block's memory a thread, at most
// kSpareMaxBytes each.
constexpr size_t kSpareMinBytes = 64 << 10;
constexpr size_t kSpareMaxBytes = 8 << 20;
thread_local std::string spare_block_buffer;
thread_local std::string spare_frame_buffer;
// The views of a format-2 block's records: a few hundred bytes each, megabytes a block.
thread_local std::vector<RecordView> spare_views;
constexpr size_t kSpareMaxViews = kSpareMaxBytes / sizeof(RecordView);

// s.resize(n) without zero-filling what the caller writes over anyway. The size comes from the
// capture, not from the operation's argument: libstdc++ 12 may pass a larger one when growing.
void SetSizeUninitialized(std::string& s, size_t n) {
  s.resize_and_overwrite(n, [n](char*, size_t) { return n; });
}

// Keeps the larger of buf and the spare in the spare (buf is left empty).
void GiveSpare(std::string& buf, std::string& spare) {
  if (buf.capacity() >= kSpareMinBytes && buf.capacity() <= kSpareMaxBytes &&
      buf.capacity() > spare.capacity()) {
    buf.clear();
    spare.swap(buf);
  }
}
// Takes the spare when it is larger than buf.
void TakeSpare(std::string& buf, std::string& spare) {
  if (spare.capacity() > buf.capacity()) buf.swap(spare);
}

}  // namespace

struct SegmentReader::Impl {
  std::filesystem::path path;
  std::unique_ptr<ByteSource> source;
  uint32_t version = 0;
  // The file's dictionary block (at kFileHeaderSize), when it starts with one: read at Open.
  uint64_t dictionary_end = 0;   // where the blocks of records start after it (0: none whole)
  std::string dictionary;        // its content
  std::string dictionary_error;  // why it cannot be used, when the file starts with a bad one
  uint64_t FileSize() const { return source->Size(); }

  bool PreadAll(char* buf, size_t n, uint64_t offset, int* err, std::string* why = nullptr) const {
    std::string ignored;
    return source->ReadAt(buf, n, offset, err, why ? why : &ignored);
  }

  // Outcome of looking at the frame at an offset.
  enum class Probe { kGood, kCorrupt, kTorn, kBadHeader };

  // Reads the frame at offset into *frame (header + payload + checksum) and verifies the
  // checksum. *h gets the header when it decoded.
  Probe ReadFrame(uint64_t offset, uint64_t file_size, std::string* frame, block_frame::Header* h,
                  std::string* why) const {
    if (file_size < offset + sf::kBlockHeaderSize) {
      *why = "incomplete block header (" + std::to_string(file_size - std::min(file_size, offset)) +
             " bytes at the end of the file)";
      return Probe::kTorn;
    }
    char header[sf::kBlockHeaderSize];
    int err = 0;
    if (!PreadAll(header, sizeof(header), offset, &err, why)) {
      if (!err) *why = "incomplete block header";
      return Probe::kTorn;
    }
    const char* reason = nullptr;
    if (!block_frame::Decode(header, h, &reason)) {
      *why = reason;
      return Probe::kBadHeader;
    }
    if (offset + h->frame_bytes() > file_size) {
      *why =
          "block of " + std::to_string(h->frame_bytes()) + " bytes runs past the end of the file";
      return Probe::kTorn;
    }
    SetSizeUninitialized(*frame, h->frame_bytes());  // pread fills it, or the frame is refused
    if (!PreadAll(frame->data(), frame->size(), offset, &err, why)) {
      if (!err) *why = "block cut short";
      return Probe::kTorn;
    }
    uint64_t stored;
    size_t body = sf::kBlockHeaderSize + h->compressed_bytes;
    std::memcpy(&stored, frame->data() + body, 8);
    if (XXH64(frame->data(), body, 0) != stored) {
      *why = "checksum mismatch";
      return Probe::kCorrupt;
    }
    return Probe::kGood;
  }

  // kCorruption naming the file and the block at offset.
  std::unexpected<Error> BlockError(uint64_t offset, const std::string& reason) const {
    return MakeError(ErrorCode::kCorruption, "segment " + path.string() + ": block at offset " +
                                                 std::to_string(offset) + ": " + reason);
  }

  // Reads the frame of a block of records at offset into *frame and checks it (ReadFrame; not
  // the dictionary block; the dictionary there when it was compressed against one).
  Result<block_frame::Header> RecordFrame(uint64_t offset, std::string* frame) const {
    block_frame::Header h;
    std::string why;
    if (ReadFrame(offset, FileSize(), frame, &h, &why) != Probe::kGood) {
      return BlockError(offset, why);
    }
    if (h.is_dictionary()) return BlockError(offset, "holds the segment's dictionary, not records");
    if (h.codec == sf::kCodecZstdDictionary && dictionary_end == 0) {
      return BlockError(offset, dictionary_error.empty()
                                    ? "compressed against a dictionary the segment does not "
                                      "start with"
                                    : dictionary_error);
    }
    return h;
  }

  // Reads the dictionary block, if the file starts with one. A damaged one is remembered (the
  // blocks compressed against it are then unreadable; the others are not).
  void LoadDictionary(uint64_t file_size) {
    char header[sf::kBlockHeaderSize];
    int err = 0;
    block_frame::Header h;
    const char* reason = nullptr;
    if (file_size < sf::kFileHeaderSize + sf::kBlockHeaderSize ||
        !PreadAll(header, sizeof(header), sf::kFileHeaderSize, &err) ||
        !block_frame::Decode(header, &h, &reason) || !h.is_dictionary()) {
      return;
    }
    std::string frame, why;
    if (ReadFrame(sf::kFileHeaderSize, file_size, &frame, &h, &why) != Probe::kGood) {
      dictionary_error = "the segment's dictionary (block at offset 16) is damaged: " + why;
      return;
    }
    dictionary.resize(h.uncompressed_bytes);
    size_t n = ZSTD_decompressDCtx(ThreadZstdDCtx(), dictionary.data(), dictionary.size(),
                                   frame.data() + sf::kBlockHeaderSize, h.compressed_bytes);
    if (ZSTD_isError(n) || n != h.uncompressed_bytes) {
      dictionary.clear();
      dictionary_error = "the segment's dictionary (block at offset 16) does not decompress";
      return;
    }
    dictionary_end = sf::kFileHeaderSize + h.frame_bytes();
  }

  // Next offset after `from` where a block magic appears, or file_size.
  uint64_t FindMagic(uint64_t from, uint64_t file_size) const {
    const uint32_t magic = sf::kBlockMagic;
    char needle[4];
    std::memcpy(needle, &magic, 4);
    std::string buf;
    const size_t chunk = 1 << 20;
    for (uint64_t pos = from; pos < file_size;) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(chunk + 3, file_size - pos));
      buf.resize(n);
      int err = 0;
      if (!PreadAll(buf.data(), n, pos, &err)) return file_size;
      auto it = std::search(buf.begin(), buf.end(), needle, needle + 4);
      if (it != buf.end()) return pos + static_cast<uint64_t>(it - buf.begin());
      if (n < 4) break;
      pos += n - 3;
    }
    return file_size;
  }
};

Block::~Block() {
  GiveSpare(data_, spare_block_buffer);
  GiveSpare(scratch_, spare_frame_buffer);
  if (views_.capacity() <= kSpareMaxViews && views_.capacity() > spare_views.capacity()) {
    views_.clear();
    spare_views.swap(views_);
  }
}

RecordView Block::record(size_t i) const {
  if (format_ == sf::kBlockColumnar) return views_[i];
  RecordView v;
  size_t next;
  const char* why;
  // Records were verified when the block was read; decoding again only builds the view.
  record_codec::Decode(data_.data(), offsets_[i], data_.size(), &v, &next, &why);
  return v;
}

SegmentReader::SegmentReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SegmentReader::~SegmentReader() = default;

Result<std::unique_ptr<SegmentReader>> SegmentReader::Open(const std::filesystem::path& path) {
  auto file = FileByteSource::Open(path);
  if (!file) return std::unexpected(file.error());
  return Open(std::move(*file), path);
}

Result<std::unique_ptr<SegmentReader>> SegmentReader::Open(std::unique_ptr<ByteSource> source,
                                                           const std::filesystem::path& path) {
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->source = std::move(source);
  uint64_t size = impl->FileSize();
  if (size == 0) {
    return MakeError(ErrorCode::kCorruption,
                     "segment " + path.string() +
                         ": the file is empty (no segment header); it holds no data and can be "
                         "removed");
  }
  char header[sf::kFileHeaderSize];
  int err = 0;
  if (size < sf::kFileHeaderSize || !impl->PreadAll(header, sizeof(header), 0, &err)) {
    return MakeError(ErrorCode::kCorruption, "segment " + path.string() + ": the file is " +
                                                 std::to_string(size) +
                                                 " bytes, shorter than a segment header (16)");
  }
  if (std::memcmp(header, sf::kFileMagic, 8) != 0) {
    return MakeError(ErrorCode::kCorruption,
                     "segment " + path.string() +
                         ": not a sloop segment file (bad magic); is this the right file?");
  }
  std::memcpy(&impl->version, header + 8, 4);
  if (impl->version > sf::kFormatVersion || impl->version == 0) {
    return MakeError(ErrorCode::kUnsupported,
                     "segment " + path.string() + ": format version " +
                         std::to_string(impl->version) + " is newer than this build reads (" +
                         std::to_string(sf::kFormatVersion) + "); upgrade sloop to read it");
  }
  impl->LoadDictionary(size);
  return std::unique_ptr<SegmentReader>(new SegmentReader(std::move(impl)));
}

Result<void> SegmentReader::ReadBlock(uint64_t offset, Block* out) const {
  if (out->scratch_.capacity() < kSpareMinBytes) TakeSpare(out->scratch_, spare_frame_buffer);
  auto frame = impl_->RecordFrame(offset, &out->scratch_);
  if (!frame) return std::unexpected(frame.error());
  const block_frame::Header& h = *frame;
  auto fail = [&](const std::string& reason) { return impl_->BlockError(offset, reason); };
  if (out->data_.capacity() < h.uncompressed_bytes) TakeSpare(out->data_, spare_block_buffer);
  // Every byte is written by the decompression below, or the block is refused.
  SetSizeUninitialized(out->data_, h.uncompressed_bytes);
  const char* compressed = out->scratch_.data() + sf::kBlockHeaderSize;
  size_t n;
  if (h.codec == sf::kCodecZstdDictionary) {
    n = ZSTD_decompress_usingDict(ThreadZstdDCtx(), out->data_.data(), out->data_.size(),
                                  compressed, h.compressed_bytes, impl_->dictionary.data(),
                                  impl_->dictionary.size());
  } else {
    n = ZSTD_decompressDCtx(ThreadZstdDCtx(), out->data_.data(), out->data_.size(), compressed,
                            h.compressed_bytes);
  }
  if (ZSTD_isError(n)) return fail(std::string("decompression failed: ") + ZSTD_getErrorName(n));
  if (n != h.uncompressed_bytes) return fail("decompressed size differs from the frame's");
  out->offsets_.clear();
  out->views_.clear();
  out->format_ = h.block_format;
  if (h.block_format == sf::kBlockColumnar) {
    const char* reason = nullptr;
    if (out->views_.capacity() < h.record_count && spare_views.capacity() > out->views_.capacity()) {
      out->views_.swap(spare_views);
    }
    if (!columnar_block::Decode(out->data_, h.record_count, &out->views_, &reason)) {
      out->views_.clear();
      return fail(reason);
    }
  } else {
    out->offsets_.reserve(h.record_count);
    size_t pos = 0;
    while (pos < out->data_.size()) {
      RecordView v;
      size_t next;
      const char* reason = nullptr;
      if (!record_codec::Decode(out->data_.data(), pos, out->data_.size(), &v, &next, &reason)) {
        out->offsets_.clear();
        return fail(reason);
      }
      out->offsets_.push_back(static_cast<uint32_t>(pos));
      pos = next;
    }
    if (out->offsets_.size() != h.record_count) {
      const size_t found = out->offsets_.size();
      out->offsets_.clear();
      return fail("holds " + std::to_string(found) + " records, its frame says " +
                  std::to_string(h.record_count));
    }
  }
  out->handle_ = BlockHandle{offset,
                             static_cast<uint32_t>(h.frame_bytes()),
                             h.uncompressed_bytes,
                             h.record_count,
                             h.min_observed_ns,
                             h.max_observed_ns};
  return {};
}

Result<void> SegmentReader::ReadBlockHeads(uint64_t offset, std::vector<RecordHead>* out,
                                           std::string* scratch) const {
  auto frame = impl_->RecordFrame(offset, scratch);
  if (!frame) return std::unexpected(frame.error());
  const block_frame::Header& h = *frame;
  auto fail = [&](const std::string& reason) { return impl_->BlockError(offset, reason); };
  if (h.block_format != sf::kBlockColumnar) {
    Block whole;
    if (auto r = ReadBlock(offset, &whole); !r) return r;
    out->resize(whole.size());
    for (size_t i = 0; i < whole.size(); ++i) {
      const RecordView v = whole.record(i);
      (*out)[i] = RecordHead{v.observed_ns, v.watch_type};
    }
    return {};
  }
  // The columns come first: decompress until they are out, not the payloads after them. The
  // frame is fed to zstd one of its blocks at a time (each call's hint is the next block's
  // size), so that it stops after the block that ends them: the sealer of this build ends the
  // first zstd block there, one of an earlier build after 128 KiB of the body.
  const size_t want =
      std::min<size_t>(h.uncompressed_bytes, columnar_block::HeadBytes(h.record_count));
  // The columns go after the frame in the caller's buffer, which a scan reuses: no allocation
  // a block.
  const size_t frame_size = scratch->size();
  SetSizeUninitialized(*scratch, frame_size + want);
  char* head = scratch->data() + frame_size;
  ZSTD_DCtx* d = ThreadZstdDCtx();
  ZSTD_DCtx_reset(d, ZSTD_reset_session_and_parameters);
  struct Reset {
    ZSTD_DCtx* d;
    ~Reset() { ZSTD_DCtx_reset(d, ZSTD_reset_session_and_parameters); }
  } reset{d};
  if (h.codec == sf::kCodecZstdDictionary) {
    const size_t r = ZSTD_DCtx_refPrefix(d, impl_->dictionary.data(), impl_->dictionary.size());
    if (ZSTD_isError(r)) return fail(std::string("decompression failed: ") + ZSTD_getErrorName(r));
  }
  const char* src = scratch->data() + sf::kBlockHeaderSize;
  const size_t src_size = h.compressed_bytes;
  constexpr size_t kFrameAndBlockHeader = 18 + 3;  // the most a zstd frame header takes, and 3
  ZSTD_inBuffer in{src, std::min(src_size, kFrameAndBlockHeader), 0};
  ZSTD_outBuffer o{head, want, 0};
  const char* reason = "decompressed size differs from the frame's";
  for (;;) {
    const size_t before_in = in.pos, before_out = o.pos;
    const size_t next = ZSTD_decompressStream(d, &o, &in);
    if (ZSTD_isError(next)) {
      return fail(std::string("decompression failed: ") + ZSTD_getErrorName(next));
    }
    if (o.pos > before_out &&
        columnar_block::DecodeHeads(std::string_view(head, o.pos), h.record_count, out,
                                    &reason)) {
      return {};  // a prefix that holds the columns whole decodes as the whole body does
    }
    if (next == 0 || o.pos == o.size) break;  // the frame ended, or the columns' room is full
    if (in.pos == in.size) {
      if (in.size == src_size) break;  // the frame is cut short
      in.size = std::min(src_size, in.pos + next);
    } else if (in.pos == before_in && o.pos == before_out) {
      return fail("decompression made no progress");
    }
  }
  return fail(o.pos < want ? "decompressed size differs from the frame's" : reason);
}

uint64_t SegmentReader::SkipDamaged(uint64_t offset) const {
  const uint64_t size = impl_->FileSize();
  char header[sf::kBlockHeaderSize];
  int err = 0;
  block_frame::Header h;
  const char* why = nullptr;
  if (offset + sf::kBlockHeaderSize <= size &&
      impl_->PreadAll(header, sizeof(header), offset, &err) &&
      block_frame::Decode(header, &h, &why)) {
    const uint64_t next = offset + h.frame_bytes();
    block_frame::Header following;
    if (next + sf::kBlockHeaderSize <= size &&
        impl_->PreadAll(header, sizeof(header), next, &err) &&
        block_frame::Decode(header, &following, &why)) {
      return next;
    }
  }
  return impl_->FindMagic(offset + 1, size);
}

Result<void> SegmentReader::Scan(const std::function<bool(const Block&)>& on_block,
                                 const std::function<void(const CorruptBlock&)>& on_corrupt) const {
  const uint64_t size = impl_->FileSize();
  uint64_t pos = sf::kFileHeaderSize;
  Block block;
  std::string scratch;
  while (pos < size) {
    block_frame::Header h;
    std::string why;
    auto probe = impl_->ReadFrame(pos, size, &scratch, &h, &why);
    if (probe == Impl::Probe::kGood && h.is_dictionary()) {
      pos += h.frame_bytes();  // not a block of records
      continue;
    }
    if (probe == Impl::Probe::kGood) {
      auto r = ReadBlock(pos, &block);
      if (r) {
        if (!on_block(block)) return {};
      } else {
        on_corrupt(CorruptBlock{pos, r.error().message});
      }
      pos += h.frame_bytes();
      continue;
    }
    on_corrupt(CorruptBlock{pos, why});
    // The damaged frame's own length cannot be trusted: resynchronise on the next block magic
    // (a false match inside compressed bytes fails its checksum and the search goes on).
    pos = impl_->FindMagic(pos + 1, size);
  }
  return {};
}

Result<std::vector<BlockHandle>> SegmentReader::ListBlocks(
    std::vector<CorruptBlock>* corrupt) const {
  const uint64_t size = impl_->FileSize();
  std::vector<BlockHandle> out;
  uint64_t pos = sf::kFileHeaderSize;
  std::string scratch;
  while (pos < size) {
    block_frame::Header h;
    std::string why;
    auto probe = impl_->ReadFrame(pos, size, &scratch, &h, &why);
    if (probe == Impl::Probe::kGood && h.is_dictionary()) {
      pos += h.frame_bytes();  // not a block of records
      continue;
    }
    if (probe == Impl::Probe::kGood) {
      out.push_back(BlockHandle{pos, static_cast<uint32_t>(h.frame_bytes()), h.uncompressed_bytes,
                                h.record_count, h.min_observed_ns, h.max_observed_ns});
      pos += h.frame_bytes();
      continue;
    }
    if (corrupt) corrupt->push_back(CorruptBlock{pos, why});
    pos = impl_->FindMagic(pos + 1, size);  // see Scan()
  }
  return out;
}

const std::filesystem::path& SegmentReader::path() const { return impl_->path; }
uint32_t SegmentReader::format_version() const { return impl_->version; }
uint64_t SegmentReader::dictionary_end() const { return impl_->dictionary_end; }
size_t SegmentReader::dictionary_bytes() const { return impl_->dictionary.size(); }

}  // namespace sloop
