#include <fcntl.h>
#include <simdjson.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>

#include "engine/backup.h"
#include "engine/backup_internal.h"
#include "engine/shard.h"
#include "engine/store_internal.h"
#include "engine/store_lock.h"
#include "engine/tar_codec.h"

namespace sloop {

using namespace backup_internal;
using namespace tar;

// ---------------------------------------------------------------------------------------------
// Restoring

namespace {

namespace fs = std::filesystem;

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
    // A shard's index may read keys in another's (docs/format/index.md): that one opens first.
    SealedShardOpener opener(dir, [&](uint64_t base) {
      auto f = shards.find(base);
      return f != shards.end() && f->second.contains(".seg") && f->second.contains(".idx");
    });
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
        auto shard = opener.Open(id);
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

}  // namespace sloop
