#include <fcntl.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <utility>

#include "base/json_text.h"
#include "engine/backup.h"
#include "engine/backup_internal.h"
#include "engine/shard.h"
#include "engine/tar_codec.h"

namespace sloop {

using namespace backup_internal;
using namespace tar;

namespace {

namespace fs = std::filesystem;

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
    if (e == ENOENT) {
      return MakeError(ErrorCode::kUnavailable,
                       "backup: " + f.path.string() +
                           " was deleted by retention after the backup's snapshot was taken; "
                           "start the backup again");
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
  // Files the snapshot opened are read through its descriptors. Others (a caller's own list)
  // are opened here: an active segment, unlinked when its shard is sealed, before anything else
  // is done; a sealed file when its turn comes.
  std::vector<Fd> fds(files.size());
  for (size_t i = 0; i < files.size(); ++i) {
    if (files[i].fd || dynamic_cast<const SealedShard*>(files[i].keep_alive.get()) != nullptr) {
      continue;
    }
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
    if (fds[i].fd < 0 && !f.fd) {
      auto fd = OpenForBackup(f);
      if (!fd) return std::unexpected(fd.error());
      fds[i] = std::move(*fd);
    }
    const int in = f.fd ? *f.fd : fds[i].fd;
    if (f.fd) ::posix_fadvise(in, 0, 0, POSIX_FADV_SEQUENTIAL);
    EncodeHeader(f.name, f.size, mtime_s, header);
    if (auto r = chunks.Append(header, kTarBlock); !r) return r;
    XXH64_reset(xxh.get(), 0);
    uint64_t done = 0;
    while (done < f.size) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(f.size - done, chunks.free_bytes()));
      ssize_t n = ::pread(in, chunks.free_space(), want, static_cast<off_t>(done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return IOError("backup: read", f.path.string(), errno);
      }
      if (n == 0) {
        return MakeError(ErrorCode::kIOError,
                         "backup: " + f.path.string() + " has only " + std::to_string(done) +
                             " bytes, the snapshot promised " + std::to_string(f.size) +
                             (f.fd ? " (it was truncated by hand)"
                                   : " (an index rewritten smaller meanwhile, against the next "
                                     "shard's: start the backup again; else it was truncated "
                                     "by hand)"));
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

}  // namespace sloop
