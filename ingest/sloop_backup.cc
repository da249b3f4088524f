#include "ingest/sloop_backup.h"

#include <fcntl.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <vector>

#include "schema/sloop_backup.pb.h"
#include "base/log.h"

namespace sloop::ingest {
namespace {

namespace fs = std::filesystem;
namespace pb = google::protobuf;

constexpr unsigned char kZstdMagic[4] = {0x28, 0xB5, 0x2F, 0xFD};

struct FdCloser {
  int fd = -1;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};

std::unexpected<Error> Damaged(const std::string& name, const std::string& what) {
  (void)name;
  return MakeError(
      ErrorCode::kCorruption,
      what + "; the file is damaged or cut short: download the backup from Sloop again");
}

// Decompresses fd into out_fd; errors name the compressed byte offset.
Result<void> Decompress(int fd, int out_fd, const std::string& name, const fs::path& out_path,
                        uint64_t file_bytes) {
  auto last_log = std::chrono::steady_clock::now();
  std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)> dctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
  std::vector<char> in(ZSTD_DStreamInSize()), out(ZSTD_DStreamOutSize());
  uint64_t consumed = 0;
  size_t last = 0;
  bool any = false;
  for (;;) {
    ssize_t n = ::read(fd, in.data(), in.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return IOError("read", name, errno);
    }
    if (n == 0) break;
    any = true;
    ZSTD_inBuffer input{in.data(), static_cast<size_t>(n), 0};
    while (input.pos < input.size) {
      ZSTD_outBuffer output{out.data(), out.size(), 0};
      const size_t before = input.pos;
      last = ZSTD_decompressStream(dctx.get(), &output, &input);
      if (ZSTD_isError(last)) {
        return Damaged(name, "the zstd stream is damaged at or after compressed byte " +
                                 std::to_string(consumed + before) + " (" +
                                 ZSTD_getErrorName(last) + ")");
      }
      for (size_t off = 0; off < output.pos;) {
        ssize_t w = ::write(out_fd, out.data() + off, output.pos - off);
        if (w < 0) {
          if (errno == EINTR) continue;
          return IOError("write", out_path.string(), errno);
        }
        off += static_cast<size_t>(w);
      }
    }
    consumed += static_cast<uint64_t>(n);
    if (std::chrono::steady_clock::now() - last_log > std::chrono::seconds(3)) {
      last_log = std::chrono::steady_clock::now();
      LogLine("import", "decompressing: " + std::to_string(consumed >> 20) + " of " +
                            std::to_string(file_bytes >> 20) + " MiB");
    }
  }
  // Frames that are complete leave `last` at 0; a cut-short one asks for more input.
  if (any && last != 0) {
    return Damaged(name, "the zstd stream ends early, at compressed byte " +
                             std::to_string(consumed) + ", in the middle of a frame");
  }
  return {};
}

uint64_t LoadLe64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

// The bytes of the last occurrence of length-delimited field `field` in the message at
// stream[offset, offset + length) (which has decoded), or "" when it is absent.
std::string_view FieldView(std::span<const char> stream, uint64_t offset, uint32_t length,
                           uint32_t field) {
  const char* base = stream.data() + offset;
  pb::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(base), static_cast<int>(length));
  std::string_view found;
  for (uint32_t tag = in.ReadTag(); tag != 0; tag = in.ReadTag()) {
    if (tag == ((field << 3) | 2u)) {
      uint32_t len = 0;
      if (!in.ReadVarint32(&len)) break;
      const int at = in.CurrentPosition();
      if (!in.Skip(static_cast<int>(len))) break;
      found = std::string_view(base + at, len);
    } else if (!pb::internal::WireFormatLite::SkipField(&in, tag)) {
      break;
    }
  }
  return found;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// The file

Result<std::unique_ptr<SloopBackupFile>> SloopBackupFile::Open(const fs::path& path,
                                                               const fs::path& scratch_dir) {
  const std::string name = path.string();
  FdCloser fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (fd.fd < 0) {
    const int e = errno;
    return MakeError(e == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIOError,
                     "cannot open the Sloop backup " + name + ": " + std::strerror(e) +
                         " (check -import-sloop-backup)");
  }
  struct stat st;
  if (::fstat(fd.fd, &st) != 0) return IOError("stat", name, errno);
  if (S_ISDIR(st.st_mode)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     name +
                         " is a directory; give the backup file Sloop's /data/backup route "
                         "wrote (a Badger directory cannot be imported directly: take a "
                         "backup of it with Sloop or `badger backup` first)");
  }
  std::unique_ptr<SloopBackupFile> f(new SloopBackupFile());
  f->name_ = name;
  f->file_bytes_ = static_cast<uint64_t>(st.st_size);
  char head[512] = {};
  const ssize_t got = ::pread(fd.fd, head, sizeof(head), 0);
  if (got < 0) return IOError("read", name, errno);
  if (got >= 262 && std::memcmp(head + 257, "ustar", 5) == 0) {
    return MakeError(ErrorCode::kInvalidArgument,
                     name +
                         " is a tar archive, likely a backup of sloop-cpp itself: restore it "
                         "with -restore-database-file instead");
  }
  int map_fd = fd.fd;
  FdCloser temp_fd;
  uint64_t size = f->file_bytes_;
  if (got >= 4 && std::memcmp(head, kZstdMagic, 4) == 0) {
    f->temp_ = scratch_dir / ("sloop-backup-" + std::to_string(::getpid()) + ".raw");
    temp_fd.fd = ::open(f->temp_.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (temp_fd.fd < 0) {
      const int e = errno;
      f->temp_.clear();
      return IOError("create", (scratch_dir / "sloop-backup-*.raw").string(), e);
    }
    if (auto r = Decompress(fd.fd, temp_fd.fd, name, f->temp_, f->file_bytes_); !r)
      return std::unexpected(r.error());
    struct stat ts;
    if (::fstat(temp_fd.fd, &ts) != 0) return IOError("stat", f->temp_.string(), errno);
    size = static_cast<uint64_t>(ts.st_size);
    map_fd = temp_fd.fd;
  }
  if (size > 0) {
    void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, map_fd, 0);
    if (p == MAP_FAILED) return IOError("mmap", name, errno);
    ::madvise(p, size, MADV_SEQUENTIAL);
    f->data_ = static_cast<const char*>(p);
    f->size_ = size;
  }
  return f;
}

SloopBackupFile::~SloopBackupFile() {
  if (data_ != nullptr) ::munmap(const_cast<char*>(data_), size_);
  if (!temp_.empty()) {
    std::error_code ec;
    fs::remove(temp_, ec);
  }
}

// ---------------------------------------------------------------------------------------------
// The stream

Result<void> DecodeBadgerKv(std::span<const char> stream, uint64_t offset, uint32_t length,
                            const std::function<Result<void>(const BadgerKv&)>& fn) {
  if (offset > stream.size() || length > stream.size() - offset) {
    return MakeError(ErrorCode::kCorruption,
                     "KV at byte " + std::to_string(offset) + " runs past the end of the stream");
  }
  sloopimport::KV kv;
  if (!kv.ParseFromArray(stream.data() + offset, static_cast<int>(length))) {
    return MakeError(ErrorCode::kCorruption,
                     "the Badger KV at byte " + std::to_string(offset) + " does not decode");
  }
  BadgerKv out;
  // The key and value as views into the stream, not into the parsed copy: callers keep keys of
  // millions of rows, and the stream (a mapped file) outlives them.
  out.key = FieldView(stream, offset, length, 1);
  out.value = FieldView(stream, offset, length, 2);
  out.version = kv.version();
  out.expires_at = kv.expires_at();
  out.meta = kv.meta().empty() ? 0 : static_cast<uint8_t>(kv.meta()[0]);
  out.offset = offset;
  out.length = length;
  return fn(out);
}

Result<void> ForEachBadgerKv(std::span<const char> stream,
                             const std::function<Result<void>(const BadgerKv&)>& fn,
                             const std::function<void(uint64_t offset)>& progress) {
  uint64_t pos = 0;
  const uint64_t size = stream.size();
  while (pos < size) {
    if (progress) progress(pos);
    if (size - pos < 8) {
      return MakeError(ErrorCode::kCorruption,
                       "the stream ends at byte " + std::to_string(size) +
                           " inside the length of a KVList that starts at byte " +
                           std::to_string(pos));
    }
    const uint64_t len = LoadLe64(stream.data() + pos);
    if (len > size - pos - 8) {
      return MakeError(ErrorCode::kCorruption, "the KVList at byte " + std::to_string(pos) +
                                                   " claims " + std::to_string(len) +
                                                   " bytes, but only " +
                                                   std::to_string(size - pos - 8) + " follow");
    }
    if (len > static_cast<uint64_t>(INT32_MAX)) {
      return MakeError(ErrorCode::kCorruption, "the KVList at byte " + std::to_string(pos) +
                                                   " claims " + std::to_string(len) +
                                                   " bytes, more than protobuf allows");
    }
    const uint64_t body = pos + 8;
    pb::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(stream.data() + body),
                                static_cast<int>(len));
    in.SetTotalBytesLimit(INT32_MAX);
    for (;;) {
      const uint64_t at = body + static_cast<uint64_t>(in.CurrentPosition());
      const uint32_t tag = in.ReadTag();
      if (tag == 0) {
        if (static_cast<uint64_t>(in.CurrentPosition()) != len) {
          return MakeError(ErrorCode::kCorruption, "the KVList at byte " + std::to_string(pos) +
                                                       " does not decode (bad field tag at byte " +
                                                       std::to_string(at) + ")");
        }
        break;
      }
      if (tag == ((1u << 3) | 2u)) {  // repeated KV kv = 1
        uint32_t kv_len = 0;
        if (!in.ReadVarint32(&kv_len)) {
          return MakeError(ErrorCode::kCorruption, "the KVList at byte " + std::to_string(pos) +
                                                       " does not decode (bad KV length at byte " +
                                                       std::to_string(at) + ")");
        }
        const uint64_t kv_at = body + static_cast<uint64_t>(in.CurrentPosition());
        if (!in.Skip(static_cast<int>(kv_len))) {
          return MakeError(ErrorCode::kCorruption, "the KVList at byte " + std::to_string(pos) +
                                                       ": the KV at byte " + std::to_string(kv_at) +
                                                       " runs past the list's end");
        }
        if (auto r = DecodeBadgerKv(stream, kv_at, kv_len, fn); !r) return r;
      } else if (!pb::internal::WireFormatLite::SkipField(&in, tag)) {
        return MakeError(ErrorCode::kCorruption, "the KVList at byte " + std::to_string(pos) +
                                                     " does not decode (bad field at byte " +
                                                     std::to_string(at) + ")");
      }
    }
    pos = body + len;
  }
  if (progress) progress(pos);
  return {};
}

// ---------------------------------------------------------------------------------------------
// Keys and values

std::string_view SloopTableName(SloopTable t) {
  switch (t) {
    case SloopTable::kWatch:
      return "watch";
    case SloopTable::kResSum:
      return "ressum";
    case SloopTable::kEventCount:
      return "eventcount";
    case SloopTable::kWatchActivity:
      return "watchactivity";
    case SloopTable::kOther:
      break;
  }
  return "other";
}

bool ParseSloopKey(std::string_view key, SloopKey* out) {
  std::string_view f[7];
  size_t n = 0;
  size_t start = 0;
  for (;;) {
    const size_t slash = key.find('/', start);
    if (n == 7) return false;
    f[n++] =
        key.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (n != 7 || !f[0].empty() || f[1].empty() || f[3].empty()) return false;
  out->table = SloopTable::kOther;
  for (SloopTable t : {SloopTable::kWatch, SloopTable::kResSum, SloopTable::kEventCount,
                       SloopTable::kWatchActivity}) {
    if (f[1] == SloopTableName(t)) out->table = t;
  }
  out->partition = f[2];
  out->kind = f[3];
  out->namespace_ = f[4];
  out->name = f[5];
  out->last = f[6];
  out->watch_ns = 0;
  if (out->table == SloopTable::kWatch) {
    auto [p, ec] = std::from_chars(f[6].data(), f[6].data() + f[6].size(), out->watch_ns);
    if (ec != std::errc() || p != f[6].data() + f[6].size() || out->watch_ns <= 0 ||
        out->name.empty()) {
      return false;
    }
  }
  return true;
}

Result<SloopWatchResult> DecodeKubeWatchResult(std::string_view value) {
  sloopimport::KubeWatchResult m;
  if (!m.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
    return MakeError(ErrorCode::kCorruption, "the value is not a KubeWatchResult protobuf");
  }
  SloopWatchResult r;
  switch (m.watchtype()) {
    case sloopimport::KubeWatchResult::ADD:
      r.watch_type = WatchType::kAdded;
      break;
    case sloopimport::KubeWatchResult::UPDATE:
      r.watch_type = WatchType::kModified;
      break;
    case sloopimport::KubeWatchResult::DELETE:
      r.watch_type = WatchType::kDeleted;
      break;
    default:
      return MakeError(ErrorCode::kCorruption, "the KubeWatchResult has watch type " +
                                                   std::to_string(m.watchtype()) +
                                                   ", which Sloop never writes");
  }
  if (m.has_timestamp()) {
    int64_t ns = 0;
    if (__builtin_mul_overflow(m.timestamp().seconds(), int64_t{1'000'000'000}, &ns) ||
        __builtin_add_overflow(ns, int64_t{m.timestamp().nanos()}, &ns)) {
      return MakeError(ErrorCode::kCorruption, "the KubeWatchResult's timestamp (" +
                                                   std::to_string(m.timestamp().seconds()) +
                                                   " s) is out of range");
    }
    r.timestamp_ns = ns;
  }
  r.kind = std::move(*m.mutable_kind());
  r.payload = std::move(*m.mutable_payload());
  return r;
}

SloopKindMapping MapSloopKind(std::string_view k) {
  // The kinds Sloop's informers watch (pkg/sloop/ingress/kubewatcher.go) and their API groups.
  static constexpr SloopKindMapping kKnown[] = {
      {"", "v1", "ConfigMap"},
      {"", "v1", "Endpoints"},
      {"", "v1", "Event"},
      {"", "v1", "Namespace"},
      {"", "v1", "Node"},
      {"", "v1", "PersistentVolume"},
      {"", "v1", "PersistentVolumeClaim"},
      {"", "v1", "Pod"},
      {"", "v1", "ReplicationController"},
      {"", "v1", "Service"},
      {"apps", "v1", "DaemonSet"},
      {"apps", "v1", "Deployment"},
      {"apps", "v1", "ReplicaSet"},
      {"apps", "v1", "StatefulSet"},
      {"autoscaling", "v1", "HorizontalPodAutoscaler"},
      {"batch", "v1", "Job"},
      {"policy", "v1beta1", "PodDisruptionBudget"},
      {"storage.k8s.io", "v1", "StorageClass"},
      {"admissionregistration.k8s.io", "v1", "MutatingWebhookConfiguration"},
  };
  // Sloop stores Endpoints under the singular "Endpoint".
  if (k == "Endpoint") k = "Endpoints";
  for (const auto& m : kKnown) {
    if (m.kind == k) return m;
  }
  return {"", "", k};
}

// ---------------------------------------------------------------------------------------------
// Inspection

Result<SloopBackupSummary> SummarizeSloopBackup(std::span<const char> stream, int64_t now_unix_s) {
  SloopBackupSummary s;
  s.stream_bytes = stream.size();
  // The newest version of each key decides (Badger lists a key's versions newest first, but
  // nothing in the format promises that, so it is not relied on).
  struct Newest {
    uint64_t version = 0;
    bool live = false;
    bool expired = false;
  };
  std::map<std::string, Newest, std::less<>> newest;
  auto r = ForEachBadgerKv(stream, [&](const BadgerKv& kv) -> Result<void> {
    ++s.kvs;
    const bool deleted = (kv.meta & kBadgerBitDelete) != 0;
    const bool expired =
        !deleted && kv.expires_at != 0 && static_cast<int64_t>(kv.expires_at) <= now_unix_s;
    SloopKey key;
    if (!ParseSloopKey(kv.key, &key)) {
      ++s.malformed_keys;
      return {};
    }
    if (key.table == SloopTable::kWatch && !deleted && !expired) {
      if (auto w = DecodeKubeWatchResult(kv.value); !w) {
        return MakeError(
            ErrorCode::kCorruption,
            "the /watch/ row at byte " + std::to_string(kv.offset) + ": " + w.error().message);
      }
    }
    auto it = newest.find(kv.key);
    if (it == newest.end()) {
      newest.emplace(std::string(kv.key), Newest{kv.version, !deleted && !expired, expired});
    } else {
      ++s.older_versions;
      if (kv.version > it->second.version) it->second = {kv.version, !deleted && !expired, expired};
    }
    return {};
  });
  if (!r) return std::unexpected(r.error());
  for (const auto& [k, n] : newest) {
    if (!n.live) {
      ++(n.expired ? s.expired : s.deleted);
      continue;
    }
    SloopKey key;
    ParseSloopKey(k, &key);
    s.rows_per_table[std::string(SloopTableName(key.table))]++;
    if (key.table != SloopTable::kWatch) continue;
    s.watch_rows_per_kind[std::string(key.kind)]++;
    s.partitions[std::string(key.partition)]++;
    if (s.first_ns == 0 || key.watch_ns < s.first_ns) s.first_ns = key.watch_ns;
    s.last_ns = std::max(s.last_ns, key.watch_ns);
  }
  return s;
}

}  // namespace sloop::ingest
