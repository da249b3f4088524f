#include "engine/backup.h"

#include <fcntl.h>
#include <simdjson.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>

#include "engine/shard.h"
#include "engine/store_lock.h"
#include "base/log.h"

namespace sloop {
namespace {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------------
// The format (docs/format/backup.md)

constexpr size_t kTarBlock = 512;
constexpr std::string_view kManifestName = "MANIFEST.json";
constexpr std::string_view kFormatName = "sloop-backup";
constexpr int64_t kFormatVersion = 1;
constexpr std::string_view kShardDir = "shards/";
constexpr size_t kShardIdDigits = 10;
constexpr uint64_t kMaxManifestBytes = 64ull << 20;
constexpr char kStagingDir[] = ".restore-staging";
// Written into the staging shards directory once every check has passed: a staging directory
// with it holds a restore that may be put in place; without it, one that may only be removed.
constexpr char kCheckedMarker[] = "RESTORE-CHECKED";
constexpr char kOldShardsPrefix[] = "shards.old-";
// Numbers in the manifest are right-aligned in this many characters (JSON allows the spaces),
// so that its length, and the archive's, depend only on the names.
constexpr int kNumberWidth = 20;

uint64_t Padded(uint64_t n) { return (n + kTarBlock - 1) / kTarBlock * kTarBlock; }

// "shards/NNNNNNNNNN.seg|.idx|.active": the only member names besides the manifest.
bool IsShardFileName(std::string_view name, uint64_t* id = nullptr,
                     std::string_view* ext = nullptr) {
  if (!name.starts_with(kShardDir)) return false;
  name.remove_prefix(kShardDir.size());
  if (name.size() <= kShardIdDigits) return false;
  uint64_t value = 0;
  for (size_t i = 0; i < kShardIdDigits; ++i) {
    if (name[i] < '0' || name[i] > '9') return false;
    value = value * 10 + static_cast<uint64_t>(name[i] - '0');
  }
  std::string_view e = name.substr(kShardIdDigits);
  if (e != ".seg" && e != ".idx" && e != ".active") return false;
  if (id) *id = value;
  if (ext) *ext = e;
  return true;
}

void AppendJsonString(std::string* out, std::string_view s) {
  out->push_back('"');
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char esc[8];
      std::snprintf(esc, sizeof(esc), "\\u%04x", static_cast<unsigned>(c));
      out->append(esc);
    } else {
      out->push_back(c);
    }
  }
  out->push_back('"');
}

std::string Hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

// The manifest's text. Its length does not depend on created_ns or the hashes.
std::string ManifestText(const std::vector<Store::BackupFile>& files, int64_t created_ns,
                         const std::vector<uint64_t>& hashes) {
  char num[32];
  std::string out = "{\"format\":\"";
  out += kFormatName;
  out += "\",\"version\":" + std::to_string(kFormatVersion) + ",\"created_ns\":";
  std::snprintf(num, sizeof(num), "%*lld", kNumberWidth, static_cast<long long>(created_ns));
  out += num;
  out += ",\"files\":[";
  for (size_t i = 0; i < files.size(); ++i) {
    out += i ? ",\n" : "\n";
    out += "{\"name\":";
    AppendJsonString(&out, files[i].name);
    std::snprintf(num, sizeof(num), "%*llu", kNumberWidth,
                  static_cast<unsigned long long>(files[i].size));
    out += ",\"size\":";
    out += num;
    out += ",\"xxh64\":\"" + Hex64(hashes[i]) + "\"}";
  }
  out += "\n]}\n";
  return out;
}

// ---- ustar headers

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

struct TarHeader {
  std::string name;
  uint64_t size = 0;
  char type = '0';
};

enum class HeaderKind { kMember, kEnd, kBad };

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

// ---------------------------------------------------------------------------------------------
// Small POSIX helpers

struct Fd {
  int fd = -1;
  Fd() = default;
  explicit Fd(int f) : fd(f) {}
  Fd(Fd&& o) noexcept : fd(std::exchange(o.fd, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd = std::exchange(o.fd, -1);
    }
    return *this;
  }
  ~Fd() { reset(); }
  void reset() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

Result<void> SyncDir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return IOError("open directory", dir.string(), errno);
  int rc = ::fsync(fd);
  int e = errno;
  ::close(fd);
  if (rc != 0) return IOError("fsync directory", dir.string(), e);
  return {};
}

Result<void> WriteAll(int fd, const char* p, size_t n, const fs::path& path) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return IOError("write", path.string(), errno);
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return {};
}

int64_t WallNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct XxhStateDeleter {
  void operator()(XXH64_state_t* s) const { XXH64_freeState(s); }
};
using XxhState = std::unique_ptr<XXH64_state_t, XxhStateDeleter>;

XxhState NewXxh() {
  XxhState s(XXH64_createState());
  XXH64_reset(s.get(), 0);
  return s;
}

// ---------------------------------------------------------------------------------------------
// Writing

// Collects the archive into chunks of kBackupChunkBytes and hands each full one to out.
class ChunkBuffer {
 public:
  explicit ChunkBuffer(const std::function<Result<void>(std::string_view)>& out)
      : out_(out), buf_(new char[kBackupChunkBytes]) {}

  char* free_space() { return buf_.get() + used_; }
  size_t free_bytes() const { return kBackupChunkBytes - used_; }
  uint64_t written() const { return written_; }

  // Marks n bytes of free_space() as filled; sends the chunk when it is full.
  Result<void> Commit(size_t n) {
    used_ += n;
    written_ += n;
    return used_ == kBackupChunkBytes ? Flush() : Result<void>{};
  }

  Result<void> Append(const char* p, size_t n) {
    while (n > 0) {
      size_t k = std::min(n, free_bytes());
      std::memcpy(free_space(), p, k);
      if (auto r = Commit(k); !r) return r;
      p += k;
      n -= k;
    }
    return {};
  }

  Result<void> AppendZeros(size_t n) {
    while (n > 0) {
      size_t k = std::min(n, free_bytes());
      std::memset(free_space(), 0, k);
      if (auto r = Commit(k); !r) return r;
      n -= k;
    }
    return {};
  }

  Result<void> Flush() {
    if (used_ == 0) return {};
    size_t n = std::exchange(used_, 0);
    return out_(std::string_view(buf_.get(), n));
  }

 private:
  const std::function<Result<void>(std::string_view)>& out_;
  std::unique_ptr<char[]> buf_;
  size_t used_ = 0;
  uint64_t written_ = 0;
};

Result<Fd> OpenForBackup(const Store::BackupFile& f) {
  int fd = ::open(f.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    if (e == ENOENT && dynamic_cast<const SealedShard*>(f.keep_alive.get()) == nullptr) {
      return MakeError(ErrorCode::kUnavailable,
                       "backup: " + f.path.string() +
                           " was sealed after the backup's snapshot was taken; start the backup "
                           "again");
    }
    return IOError("backup: open", f.path.string(), e);
  }
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  return Fd(fd);
}

}  // namespace

uint64_t BackupArchiveSize(const std::vector<Store::BackupFile>& files) {
  uint64_t total = 0;
  for (const auto& f : files) total += kTarBlock + Padded(f.size);
  const uint64_t manifest = ManifestText(files, 0, std::vector<uint64_t>(files.size(), 0)).size();
  return total + kTarBlock + Padded(manifest) + 2 * kTarBlock;
}

Result<void> WriteBackupArchive(const std::vector<Store::BackupFile>& files, int64_t created_ns,
                                const std::function<Result<void>(std::string_view chunk)>& out) {
  std::set<std::string_view> names;
  for (const auto& f : files) {
    if (f.name.empty() || f.name.size() > 100 || f.name == kManifestName ||
        !names.insert(f.name).second) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "backup: cannot archive '" + f.name +
                           "': names must be unique, at most 100 bytes and not " +
                           std::string(kManifestName));
    }
  }
  // Sealed files stay on disk while their shard is referenced (keep_alive); an active segment is
  // unlinked when its shard is sealed, so those are opened before anything else is done.
  std::vector<Fd> fds(files.size());
  for (size_t i = 0; i < files.size(); ++i) {
    if (dynamic_cast<const SealedShard*>(files[i].keep_alive.get()) != nullptr) continue;
    auto fd = OpenForBackup(files[i]);
    if (!fd) return std::unexpected(fd.error());
    fds[i] = std::move(*fd);
  }

  const int64_t mtime_s = created_ns / 1000000000;
  ChunkBuffer chunks(out);
  char header[kTarBlock];
  std::vector<uint64_t> hashes(files.size(), 0);
  XxhState xxh = NewXxh();
  for (size_t i = 0; i < files.size(); ++i) {
    const auto& f = files[i];
    if (fds[i].fd < 0) {
      auto fd = OpenForBackup(f);
      if (!fd) return std::unexpected(fd.error());
      fds[i] = std::move(*fd);
    }
    EncodeHeader(f.name, f.size, mtime_s, header);
    if (auto r = chunks.Append(header, kTarBlock); !r) return r;
    XXH64_reset(xxh.get(), 0);
    uint64_t done = 0;
    while (done < f.size) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(f.size - done, chunks.free_bytes()));
      ssize_t n = ::pread(fds[i].fd, chunks.free_space(), want, static_cast<off_t>(done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return IOError("backup: read", f.path.string(), errno);
      }
      if (n == 0) {
        return MakeError(ErrorCode::kIOError,
                         "backup: " + f.path.string() + " has only " + std::to_string(done) +
                             " bytes, the snapshot promised " + std::to_string(f.size) +
                             " (was it truncated by hand?)");
      }
      XXH64_update(xxh.get(), chunks.free_space(), static_cast<size_t>(n));
      done += static_cast<uint64_t>(n);
      if (auto r = chunks.Commit(static_cast<size_t>(n)); !r) return r;
    }
    hashes[i] = XXH64_digest(xxh.get());
    fds[i].reset();
    if (auto r = chunks.AppendZeros(Padded(f.size) - f.size); !r) return r;
  }

  const std::string manifest = ManifestText(files, created_ns, hashes);
  EncodeHeader(kManifestName, manifest.size(), mtime_s, header);
  if (auto r = chunks.Append(header, kTarBlock); !r) return r;
  if (auto r = chunks.Append(manifest.data(), manifest.size()); !r) return r;
  if (auto r = chunks.AppendZeros(Padded(manifest.size()) - manifest.size() + 2 * kTarBlock); !r) {
    return r;
  }
  if (auto r = chunks.Flush(); !r) return r;
  if (chunks.written() != BackupArchiveSize(files)) {
    // A broken promise to an HTTP client that was told the length: never let it pass quietly.
    return MakeError(ErrorCode::kAborted,
                     "backup: internal error: wrote " + std::to_string(chunks.written()) +
                         " bytes, announced " + std::to_string(BackupArchiveSize(files)));
  }
  return {};
}

// ---------------------------------------------------------------------------------------------
// Restoring

namespace {

constexpr uint32_t kZstdMagic = 0xFD2FB528;  // little-endian on disk: 28 b5 2f fd

// The tar stream of an archive: the bytes as read, or as decompressed when they are zstd.
class ArchiveInput {
 public:
  explicit ArchiveInput(const ArchiveReadFn& read) : read_(read), in_(new char[kInBytes]) {}
  ~ArchiveInput() {
    if (dctx_) ZSTD_freeDCtx(dctx_);
  }

  // Looks at the first bytes to tell zstd from plain.
  Result<void> Start() {
    while (in_len_ < 4 && !eof_) {
      if (auto r = Fill(); !r) return r;
    }
    uint32_t magic = 0;
    if (in_len_ >= 4) std::memcpy(&magic, in_.get(), 4);
    if (magic == kZstdMagic) {
      dctx_ = ZSTD_createDCtx();
      if (!dctx_) return MakeError(ErrorCode::kIOError, "out of memory for a zstd context");
    }
    return {};
  }
  bool empty() const { return eof_ && in_len_ == 0 && raw_offset_ == 0; }
  bool compressed() const { return dctx_ != nullptr; }
  uint64_t offset() const { return offset_; }  // in the tar stream

  // Reads n bytes, fewer only at the end of the archive.
  Result<size_t> Read(char* buf, size_t n) {
    auto got = dctx_ ? ReadZstd(buf, n) : ReadPlain(buf, n);
    if (got) offset_ += *got;
    return got;
  }

 private:
  static constexpr size_t kInBytes = 1 << 20;

  // Appends to in_ (after compacting it) what read_ gives.
  Result<void> Fill() {
    if (in_pos_ > 0) {
      std::memmove(in_.get(), in_.get() + in_pos_, in_len_ - in_pos_);
      in_len_ -= in_pos_;
      in_pos_ = 0;
    }
    auto n = read_(std::span<char>(in_.get() + in_len_, kInBytes - in_len_));
    if (!n) return std::unexpected(n.error());
    if (*n == 0) eof_ = true;
    in_len_ += *n;
    raw_offset_ += *n;
    return {};
  }

  Result<size_t> ReadPlain(char* buf, size_t n) {
    size_t got = 0;
    while (got < n) {
      if (in_pos_ == in_len_) {
        if (eof_) break;
        if (auto r = Fill(); !r) return std::unexpected(r.error());
        continue;
      }
      size_t k = std::min(n - got, in_len_ - in_pos_);
      std::memcpy(buf + got, in_.get() + in_pos_, k);
      in_pos_ += k;
      got += k;
    }
    return got;
  }

  Result<size_t> ReadZstd(char* buf, size_t n) {
    size_t got = 0;
    while (got < n) {
      if (in_pos_ == in_len_ && !eof_) {
        if (auto r = Fill(); !r) return std::unexpected(r.error());
      }
      ZSTD_inBuffer in{in_.get(), in_len_, in_pos_};
      ZSTD_outBuffer out{buf + got, n - got, 0};
      size_t r = ZSTD_decompressStream(dctx_, &out, &in);
      if (ZSTD_isError(r)) {
        return MakeError(ErrorCode::kCorruption,
                         std::string("zstd decompression failed at compressed byte ") +
                             std::to_string(raw_offset_ - (in_len_ - in.pos)) + ": " +
                             ZSTD_getErrorName(r));
      }
      const bool progress = out.pos > 0 || in.pos > in_pos_;
      in_pos_ = in.pos;
      got += out.pos;
      if (progress) frame_done_ = (r == 0);
      if (!progress && in_pos_ == in_len_ && eof_) {
        if (!frame_done_) {
          return MakeError(ErrorCode::kCorruption,
                           "the zstd stream ends in the middle of a frame (the file is cut short)");
        }
        break;
      }
    }
    return got;
  }

  const ArchiveReadFn& read_;
  std::unique_ptr<char[]> in_;
  size_t in_pos_ = 0, in_len_ = 0;
  bool eof_ = false;
  uint64_t raw_offset_ = 0;  // bytes read from read_
  uint64_t offset_ = 0;
  ZSTD_DCtx* dctx_ = nullptr;
  bool frame_done_ = true;
};

struct Member {
  std::string name;
  uint64_t size = 0;
  uint64_t xxh64 = 0;
  uint64_t offset = 0;  // of its header in the tar stream
};

struct ManifestFile {
  std::string name;
  uint64_t size = 0;
  uint64_t xxh64 = 0;
};

bool ParseHex64(std::string_view s, uint64_t* out) {
  if (s.size() != 16) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out, 16);
  return ec == std::errc() && p == s.data() + s.size();
}

// Removes the staging directory unless the restore committed, and the store's directory too
// when the restore created it.
struct StagingGuard {
  fs::path dir;
  fs::path created_root;
  bool keep = false;
  ~StagingGuard() {
    if (keep || dir.empty()) return;
    std::error_code ec;
    fs::remove_all(dir, ec);
    if (!created_root.empty()) {
      // The restore created the store's directory (and its lock file): leave nothing behind.
      fs::remove(created_root / StoreLock::kFileName, ec);
      fs::remove(created_root, ec);  // only when empty
    }
  }
};

class Restorer {
 public:
  Restorer(std::string_view archive, const fs::path& root, const RestoreOptions& options)
      : archive_(archive), root_(root), options_(options) {}

  Result<RestoreReport> Run(const ArchiveReadFn& read) {
    std::error_code ec;
    if (fs::exists(root_, ec) && !fs::is_directory(root_, ec)) {
      return Fail(ErrorCode::kInvalidArgument, root_.string() + " is not a directory",
                  "give the store's directory (-store-root)");
    }
    if (!fs::exists(root_, ec)) staging_.created_root = root_;
    auto lock = StoreLock::Acquire(root_, "restore a backup into it");
    if (!lock) {
      return Fail(lock.error().code, lock.error().message, "");
    }
    lock_ = std::move(*lock);
    if (auto r = RecoverInterruptedRestore(root_); !r) {
      return Fail(r.error().code, r.error().message, "");
    }
    staging_.dir = root_ / kStagingDir;
    fs::remove_all(staging_.dir, ec);  // left by a restore that was interrupted
    if (ec) {
      return Fail(ErrorCode::kIOError,
                  "cannot clear " + staging_.dir.string() + ": " + ec.message(), "");
    }
    fs::create_directories(staging_.dir / "shards", ec);
    if (ec) {
      return Fail(ErrorCode::kIOError,
                  "cannot create " + (staging_.dir / "shards").string() + ": " + ec.message(),
                  "check the permissions and free space of the store's directory");
    }
    if (auto r = Extract(read); !r) return std::unexpected(r.error());
    if (auto r = CheckManifest(); !r) return std::unexpected(r.error());
    if (auto r = CheckShards(); !r) return std::unexpected(r.error());
    if (auto r = CheckNotEmptying(); !r) return std::unexpected(r.error());
    if (auto r = Swap(); !r) return std::unexpected(r.error());
    return report_;
  }

 private:
  static constexpr const char* kDamaged =
      "the archive is damaged: copy it again or restore another backup";
  static constexpr const char* kForeign =
      "give a backup file written by sloop-cpp, as is or compressed with zstd (backups of the "
      "original, Go, Sloop are another format)";

  std::unexpected<Error> Fail(ErrorCode code, const std::string& what, const std::string& todo) {
    std::string msg = "restore from " + archive_ + ": " + what;
    if (!todo.empty()) msg += "; " + todo;
    msg += " (nothing was restored; " + (root_ / "shards").string() + " is unchanged)";
    return std::unexpected(Error{code, std::move(msg)});
  }

  // An error from reading or writing, with the advice that fits it.
  std::unexpected<Error> Pass(const Error& e) {
    return Fail(e.code, e.message, e.code == ErrorCode::kCorruption ? kDamaged : "");
  }

  std::string At(const Member& m) const {
    return "member '" + m.name + "' (header at byte " + std::to_string(m.offset) + ")";
  }

  std::unexpected<Error> Truncated(const std::string& where) {
    return Fail(ErrorCode::kCorruption, "the archive ends " + where + ": it was cut short",
                "copy the whole file again or restore another backup");
  }

  Result<void> Extract(const ArchiveReadFn& read) {
    ArchiveInput in(read);
    if (auto r = in.Start(); !r) return Pass(r.error());
    if (in.empty())
      return Fail(ErrorCode::kInvalidArgument, "the file is empty, not a sloop backup", kForeign);
    std::unique_ptr<char[]> buf(new char[kBackupChunkBytes]);
    char header[kTarBlock];
    XxhState xxh = NewXxh();
    for (;;) {
      const uint64_t header_offset = in.offset();
      auto n = in.Read(header, kTarBlock);
      if (!n) return Pass(n.error());
      if (*n < kTarBlock) {
        if (members_.empty() && !have_manifest_) {
          return Fail(ErrorCode::kInvalidArgument,
                      std::string("too short to be a tar archive") +
                          (in.compressed() ? " (after zstd decompression)" : "") +
                          ", not a sloop backup",
                      kForeign);
        }
        return Truncated("before its end-of-archive marker (at byte " +
                         std::to_string(header_offset + *n) + ")");
      }
      TarHeader h;
      std::string why;
      HeaderKind kind = DecodeHeader(header, &h, &why);
      if (kind == HeaderKind::kEnd) {
        // The end is two zero blocks; a zero block followed by more is a wiped header.
        auto more = in.Read(header, kTarBlock);
        if (!more) return Pass(more.error());
        if (*more > 0 && !std::all_of(header, header + *more, [](char c) { return c == 0; })) {
          return Fail(ErrorCode::kCorruption,
                      "the tar header at byte " + std::to_string(header_offset) +
                          " is all zeros but the archive goes on",
                      kDamaged);
        }
        break;
      }
      if (kind == HeaderKind::kBad) {
        if (members_.empty() && !have_manifest_) {
          return Fail(ErrorCode::kInvalidArgument,
                      std::string("not a tar archive") +
                          (in.compressed() ? " after zstd decompression" : "") + " (" + why +
                          " in its first 512 bytes), so not a sloop backup",
                      kForeign);
        }
        return Fail(
            ErrorCode::kCorruption,
            "the tar header at byte " + std::to_string(header_offset) + " is damaged (" + why + ")",
            kDamaged);
      }
      Member m{h.name, h.size, 0, header_offset};
      if (auto r = CheckMember(m, h.type); !r) return r;
      if (m.name == kManifestName) {
        if (m.size > kMaxManifestBytes) {
          return Fail(ErrorCode::kCorruption,
                      At(m) + ": " + std::to_string(m.size) + " bytes, implausibly large",
                      kDamaged);
        }
        manifest_.resize(m.size);
        auto got = in.Read(manifest_.data(), manifest_.size());
        if (!got) return Pass(got.error());
        if (*got < m.size) return Truncated("inside " + At(m));
        have_manifest_ = true;
      } else {
        if (auto r = ExtractFile(in, &m, buf.get(), xxh.get()); !r) return r;
        members_.push_back(std::move(m));
      }
      const size_t pad = Padded(h.size) - h.size;
      auto got = in.Read(header, pad);
      if (!got) return Pass(got.error());
      if (*got < pad) return Truncated("inside the padding of member '" + h.name + "'");
    }
    if (!have_manifest_) {
      return Fail(ErrorCode::kInvalidArgument,
                  members_.empty() ? "a tar archive with no members, not a sloop backup"
                                   : "a tar archive without " + std::string(kManifestName) +
                                         ", not a sloop backup",
                  kForeign);
    }
    // Every file reaches the disk before the swap can make it the store.
    for (const auto& m : members_) {
      const fs::path path = staging_.dir / m.name;
      Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
      if (fd.fd < 0 || ::fdatasync(fd.fd) != 0)
        return Pass(IOError("fsync", path.string(), errno).error());
    }
    if (auto r = SyncDir(staging_.dir / "shards"); !r) return Pass(r.error());
    return {};
  }

  Result<void> CheckMember(const Member& m, char type) {
    const bool foreign = members_.empty() && !have_manifest_;
    const ErrorCode code = foreign ? ErrorCode::kInvalidArgument : ErrorCode::kCorruption;
    const char* todo = foreign ? kForeign : kDamaged;
    const std::string lead = foreign ? "not a sloop backup: " : "";
    if (have_manifest_) {
      return Fail(
          ErrorCode::kCorruption,
          At(m) + " follows " + std::string(kManifestName) + ", which must be the last member",
          kDamaged);
    }
    if (type != '0' && type != '\0') {
      return Fail(
          code,
          lead + At(m) + " is " + TypeName(type) + "; a sloop backup holds only regular files",
          todo);
    }
    if (m.name != kManifestName && !IsShardFileName(m.name)) {
      const bool unsafe = m.name.starts_with('/') || m.name.find("..") != std::string::npos;
      return Fail(code,
                  lead + At(m) +
                      (unsafe ? " has an unsafe path" : " is not a file a sloop backup holds") +
                      " (allowed: shards/NNNNNNNNNN.seg, .idx, .active and " +
                      std::string(kManifestName) + ")",
                  todo);
    }
    if (m.name != kManifestName && !names_.insert(m.name).second) {
      return Fail(ErrorCode::kCorruption, At(m) + " appears twice", kDamaged);
    }
    return {};
  }

  Result<void> ExtractFile(ArchiveInput& in, Member* m, char* buf, XXH64_state_t* xxh) {
    const fs::path path = staging_.dir / m->name;
    Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (fd.fd < 0) {
      return Fail(ErrorCode::kIOError,
                  "cannot create " + path.string() + ": " + std::strerror(errno),
                  "check the permissions and free space of the store's directory");
    }
    XXH64_reset(xxh, 0);
    uint64_t done = 0;
    while (done < m->size) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(m->size - done, kBackupChunkBytes));
      auto got = in.Read(buf, want);
      if (!got) return Pass(got.error());
      XXH64_update(xxh, buf, *got);
      if (auto r = WriteAll(fd.fd, buf, *got, path); !r) {
        return Fail(r.error().code, r.error().message, "free space on the store's disk");
      }
      // Start writing back now, so that the fsync of all files at the end has little to wait for.
      ::sync_file_range(fd.fd, static_cast<off_t>(done), static_cast<off_t>(*got),
                        SYNC_FILE_RANGE_WRITE);
      done += *got;
      if (*got < want) {
        return Truncated("inside " + At(*m) + " after " + std::to_string(done) + " of its " +
                         std::to_string(m->size) + " bytes");
      }
    }
    m->xxh64 = XXH64_digest(xxh);
    report_.files++;
    report_.bytes += m->size;
    return {};
  }

  Result<void> CheckManifest() {
    const std::string where = "its " + std::string(kManifestName);
    simdjson::dom::parser parser;
    simdjson::padded_string json(manifest_);
    simdjson::dom::element doc;
    if (auto err = parser.parse(json).get(doc); err) {
      return Fail(ErrorCode::kCorruption,
                  where + " is not valid JSON (" + simdjson::error_message(err) + ")", kDamaged);
    }
    std::string_view format;
    if (doc["format"].get_string().get(format) || format != kFormatName) {
      return Fail(ErrorCode::kInvalidArgument,
                  where + " does not say \"format\":\"" + std::string(kFormatName) +
                      "\", so this is not a sloop backup",
                  kForeign);
    }
    int64_t version = 0;
    if (doc["version"].get_int64().get(version)) {
      return Fail(ErrorCode::kCorruption, where + " has no version", kDamaged);
    }
    if (version != kFormatVersion) {
      return Fail(ErrorCode::kUnsupported,
                  "backup format version " + std::to_string(version) + " (this build reads " +
                      std::to_string(kFormatVersion) + ")",
                  "restore it with the sloop version that wrote it, or a newer one");
    }
    simdjson::dom::array files;
    if (doc["files"].get_array().get(files)) {
      return Fail(ErrorCode::kCorruption, where + " has no \"files\" list", kDamaged);
    }
    std::map<std::string, ManifestFile, std::less<>> listed;
    for (simdjson::dom::element f : files) {
      std::string_view name, hex;
      ManifestFile mf;
      if (f["name"].get_string().get(name) || f["size"].get_uint64().get(mf.size) ||
          f["xxh64"].get_string().get(hex) || !ParseHex64(hex, &mf.xxh64)) {
        return Fail(ErrorCode::kCorruption,
                    where + " has an entry without a name, size or 16-digit xxh64", kDamaged);
      }
      mf.name = name;
      if (!listed.emplace(mf.name, mf).second) {
        return Fail(ErrorCode::kCorruption, where + " lists '" + mf.name + "' twice", kDamaged);
      }
    }
    std::map<std::string_view, const Member*> present;
    for (const auto& m : members_) present.emplace(m.name, &m);
    for (const auto& [name, mf] : listed) {
      auto it = present.find(name);
      if (it == present.end()) {
        return Fail(ErrorCode::kCorruption,
                    where + " lists '" + name + "' but the archive does not contain it", kDamaged);
      }
      const Member& m = *it->second;
      if (m.size != mf.size) {
        return Fail(ErrorCode::kCorruption,
                    At(m) + ": size mismatch: the manifest says " + std::to_string(mf.size) +
                        " bytes, the archive holds " + std::to_string(m.size),
                    kDamaged);
      }
      if (m.xxh64 != mf.xxh64) {
        return Fail(ErrorCode::kCorruption,
                    At(m) + ": xxh64 mismatch: the manifest says " + Hex64(mf.xxh64) +
                        ", the content hashes to " + Hex64(m.xxh64),
                    kDamaged);
      }
    }
    for (const auto& m : members_) {
      if (!listed.contains(m.name)) {
        return Fail(ErrorCode::kCorruption, At(m) + " is not listed in " + where, kDamaged);
      }
    }
    return {};
  }

  // Every segment's blocks verify; every sealed pair opens as a shard.
  Result<void> CheckShards() {
    std::map<uint64_t, std::set<std::string_view>> shards;
    for (const auto& m : members_) {
      uint64_t id = 0;
      std::string_view ext;
      IsShardFileName(m.name, &id, &ext);
      shards[id].insert(ext);
    }
    const fs::path dir = staging_.dir / "shards";
    for (const auto& [id, exts] : shards) {
      char base[32];
      std::snprintf(base, sizeof(base), "%010llu", static_cast<unsigned long long>(id));
      const std::string name = std::string(kShardDir) + base;
      const bool seg = exts.contains(".seg"), idx = exts.contains(".idx"),
                 active = exts.contains(".active");
      if (seg != idx || (active && seg)) {
        return Fail(ErrorCode::kCorruption,
                    "shard " + std::string(base) +
                        " is incomplete or inconsistent: a sealed shard needs both .seg and .idx "
                        "and no .active",
                    kDamaged);
      }
      for (const char* ext : {".seg", ".active"}) {
        if (!exts.contains(ext)) continue;
        const std::string member = name + ext;
        auto reader = SegmentReader::Open(dir / (std::string(base) + ext));
        if (!reader) {
          return Fail(
              ErrorCode::kCorruption,
              "member '" + member + "' is not a readable segment (" + reader.error().message + ")",
              kDamaged);
        }
        std::vector<CorruptBlock> corrupt;
        auto blocks = (*reader)->ListBlocks(&corrupt);
        if (!blocks || !corrupt.empty()) {
          return Fail(ErrorCode::kCorruption,
                      "member '" + member + "': " +
                          (!blocks ? blocks.error().message
                                   : "block at offset " + std::to_string(corrupt[0].offset) + ": " +
                                         corrupt[0].reason +
                                         (corrupt.size() > 1
                                              ? " (and " + std::to_string(corrupt.size() - 1) +
                                                    " more bad blocks)"
                                              : "")),
                      kDamaged);
        }
      }
      if (seg) {
        auto shard = SealedShard::Open(dir / (std::string(base) + ".seg"),
                                       dir / (std::string(base) + ".idx"));
        if (!shard) {
          return Fail(ErrorCode::kCorruption,
                      "shard '" + name + ".seg/.idx' does not open (" + shard.error().message + ")",
                      kDamaged);
        }
      }
      report_.shards++;
    }
    return {};
  }

  // An archive without shards would leave the store empty: only when asked for.
  Result<void> CheckNotEmptying() {
    if (report_.shards > 0 || options_.allow_empty) return {};
    const fs::path live = root_ / "shards";
    uint64_t files = 0;
    std::error_code ec;
    for (fs::directory_iterator it(live, ec), end; !ec && it != end; it.increment(ec)) {
      if (IsShardFileName(std::string(kShardDir) + it->path().filename().string())) ++files;
    }
    if (files == 0) return {};
    return Fail(ErrorCode::kInvalidArgument,
                "the archive holds no shards, and restoring it would empty the store, whose " +
                    live.string() + " holds " + std::to_string(files) + " shard files",
                "to empty the store on purpose, restore with -restore-allow-empty");
  }

  std::unexpected<Error> Injected(int step) {
    staging_.keep = true;  // as if the process had died here
    return std::unexpected(Error{
        ErrorCode::kAborted,
        "restore from " + archive_ + ": injected fault after swap step " + std::to_string(step)});
  }

  // Puts the checked staging shards in place of the live ones (CommitStagedShards).
  Result<void> Swap() {
    CommitOutcome outcome;
    auto r =
        CommitStagedShards(root_, "restore from " + archive_, options_.fault_after_step, &outcome);
    if (outcome.keep_staging) staging_.keep = true;
    if (r) return {};
    if (outcome.final_message) return std::unexpected(r.error());
    return Fail(r.error().code, r.error().message, "");
  }

  std::string archive_;
  fs::path root_;
  RestoreOptions options_;
  StoreLock lock_;  // declared before staging_: held until the guard has tidied up
  StagingGuard staging_;
  std::vector<Member> members_;
  std::set<std::string> names_;
  std::string manifest_;
  bool have_manifest_ = false;
  RestoreReport report_;
};

}  // namespace

std::filesystem::path StagingDir(const std::filesystem::path& store_root) {
  return store_root / kStagingDir;
}

Result<void> CommitStagedShards(const std::filesystem::path& store_root, std::string_view what,
                                int fault_after_step, CommitOutcome* outcome) {
  const std::string who(what);
  const fs::path staging_dir = StagingDir(store_root);
  *outcome = {};
  // Errors before the exchange name only the failed step (the caller words them).
  auto Pass = [](const Error& e) { return std::unexpected(e); };
  auto Final = [&](Error e) {
    outcome->final_message = true;
    return std::unexpected(std::move(e));
  };
  auto Injected = [&](int step) {
    outcome->keep_staging = true;  // as if the process had died here
    return Final(Error{ErrorCode::kAborted,
                       who + ": injected fault after swap step " + std::to_string(step)});
  };
  const fs::path live = store_root / "shards";
  const fs::path staged = staging_dir / "shards";
  std::error_code ec;
  // 1. Mark the staging directory as checked: RecoverInterruptedRestore may now finish it.
  {
    const fs::path marker = staged / kCheckedMarker;
    Fd fd(::open(marker.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (fd.fd < 0 || ::fsync(fd.fd) != 0)
      return Pass(IOError("create", marker.string(), errno).error());
    if (auto r = SyncDir(staged); !r) return Pass(r.error());
  }
  if (fault_after_step == 1) return Injected(1);
  const bool had_live = fs::exists(fs::symlink_status(live, ec));
  fs::path old;  // the replaced shards, when two renames were needed
  if (!had_live) {
    if (::rename(staged.c_str(), live.c_str()) != 0) {
      auto e = IOError("rename " + staged.string() + " to", live.string(), errno);
      return Pass(e.error());
    }
  } else if (fault_after_step != 3 &&
             ::renameat2(AT_FDCWD, staged.c_str(), AT_FDCWD, live.c_str(), RENAME_EXCHANGE) == 0) {
    // staged now holds the replaced shards.
  } else if (fault_after_step != 3 && errno != EINVAL && errno != ENOSYS && errno != ENOTSUP) {
    auto e = IOError("exchange " + staged.string() + " with", live.string(), errno);
    return Pass(e.error());
  } else {
    // No RENAME_EXCHANGE on this filesystem: two renames. Between them there is no shards/,
    // and the checked marker tells RecoverInterruptedRestore to finish the restore.
    old = store_root / (kOldShardsPrefix + std::to_string(WallNowNs()));
    if (::rename(live.c_str(), old.c_str()) != 0) {
      auto e = IOError("rename " + live.string() + " to", old.string(), errno);
      return Pass(e.error());
    }
    if (fault_after_step == 3) {
      (void)SyncDir(store_root);
      return Injected(3);
    }
    if (::rename(staged.c_str(), live.c_str()) != 0) {
      auto e = IOError("rename " + staged.string() + " to", live.string(), errno);
      if (::rename(old.c_str(), live.c_str()) != 0) {
        return Final(Error{ErrorCode::kIOError,
                           who + ": " + e.error().message +
                               "; and putting the old shards back failed too: they are in " +
                               old.string() + ": rename it to " + live.string()});
      }
      return Pass(e.error());
    }
  }
  if (auto r = SyncDir(store_root); !r) {
    outcome->committed = true;
    return Final(Error{r.error().code, who + ": done, but " + r.error().message});
  }
  // The restore has committed; what is left is tidying up.
  outcome->committed = true;
  if (fault_after_step == 2) return Injected(2);
  outcome->keep_staging = true;
  fs::remove(live / kCheckedMarker, ec);
  fs::remove_all(staging_dir, ec);  // after an exchange, the replaced shards
  if (ec) {
    LogLine("restore", "the replaced shards could not be removed from " + staging_dir.string() +
                           ": " + ec.message() +
                           "; the next start removes them, or delete that directory by hand");
  }
  if (!old.empty()) fs::remove_all(old, ec);
  (void)SyncDir(store_root);
  return {};
}

Result<RestoreReport> RestoreBackupArchive(const ArchiveReadFn& read, std::string_view archive_name,
                                           const std::filesystem::path& store_root,
                                           const RestoreOptions& options) {
  return Restorer(archive_name, store_root, options).Run(read);
}

Result<RestoreReport> RestoreBackupArchive(const std::filesystem::path& archive_path,
                                           const std::filesystem::path& store_root,
                                           const RestoreOptions& options) {
  const std::string name = archive_path.string();
  Fd fd(::open(archive_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.fd < 0) {
    const int e = errno;
    return MakeError(e == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIOError,
                     "restore: cannot open the backup file " + name + ": " + std::strerror(e) +
                         " (check -restore-database-file)");
  }
  struct stat st;
  if (::fstat(fd.fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "restore: " + name +
                         " is a directory, not a backup file; to use a copied "
                         "store directory, point -store-root at it instead");
  }
  ::posix_fadvise(fd.fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  ArchiveReadFn read = [&](std::span<char> buf) -> Result<size_t> {
    for (;;) {
      ssize_t n = ::read(fd.fd, buf.data(), buf.size());
      if (n >= 0) return static_cast<size_t>(n);
      if (errno != EINTR) return IOError("read", name, errno);
    }
  };
  return RestoreBackupArchive(read, name, store_root, options);
}

Result<void> RecoverInterruptedRestore(const std::filesystem::path& store_root) {
  auto log = [](const std::string& line) { LogLine("restore", line); };
  const fs::path live = store_root / "shards";
  const fs::path staging = store_root / kStagingDir;
  const fs::path staged = staging / "shards";
  std::error_code ec;
  std::vector<fs::path> olds;
  for (fs::directory_iterator it(store_root, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().filename().string().starts_with(kOldShardsPrefix)) olds.push_back(it->path());
  }
  std::sort(olds.begin(), olds.end());  // shards.old-<ns>: oldest first
  bool changed = false;
  const bool staged_checked = fs::exists(staged / kCheckedMarker, ec);
  if (!fs::exists(fs::symlink_status(live, ec))) {
    if (staged_checked) {
      if (::rename(staged.c_str(), live.c_str()) != 0) {
        return IOError("finish an interrupted restore: rename " + staged.string() + " to",
                       live.string(), errno);
      }
      log("finished a restore that was interrupted after its archive had passed every check: "
          "its shards are now in " +
          live.string());
      changed = true;
    } else if (!olds.empty()) {
      const fs::path newest = olds.back();
      olds.pop_back();
      if (::rename(newest.c_str(), live.c_str()) != 0) {
        return IOError("roll back an interrupted restore: rename " + newest.string() + " to",
                       live.string(), errno);
      }
      log("rolled back a restore that was interrupted between its renames: put the shards it "
          "had moved aside back from " +
          newest.string() + "; the store is as before the restore: run the restore again");
      changed = true;
    }
  }
  if (fs::exists(staging, ec)) {
    if (staged_checked && fs::exists(staged, ec)) {
      log("a restore was interrupted before it replaced the store: removing its staging "
          "directory " +
          staging.string() + "; the store is as before the restore");
    } else if (fs::exists(staged, ec) && !fs::is_empty(staged, ec)) {
      log("a restore was interrupted after it replaced the store: removing the replaced (or "
          "unfinished) shards in " +
          staging.string());
    } else {
      log("removing the staging directory of an interrupted restore: " + staging.string());
    }
    fs::remove_all(staging, ec);
    if (ec) return IOError("remove", staging.string(), ec.value());
    changed = true;
  }
  for (const auto& old : olds) {
    log("removing the shards a restore replaced, left in " + old.string());
    fs::remove_all(old, ec);
    if (ec) return IOError("remove", old.string(), ec.value());
    changed = true;
  }
  if (fs::exists(live / kCheckedMarker, ec)) {
    fs::remove(live / kCheckedMarker, ec);
    changed = true;
  }
  if (changed) return SyncDir(store_root);
  return {};
}

}  // namespace sloop
