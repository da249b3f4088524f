#include "objstore/uploader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "base/log.h"
#include "index/index_reader.h"
#include "index/index_rebase.h"
#include "objstore/manifest.h"
#include "objstore/shard_keys.h"

namespace sloop::objstore {
namespace {

void Log(const std::string& line) { LogLine("objstore", line); }

// "5 s", "0.25 s", "300 s".
std::string Seconds(std::chrono::milliseconds ms) {
  if (ms.count() % 1000 == 0) return std::to_string(ms.count() / 1000) + " s";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3g s", static_cast<double>(ms.count()) / 1000);
  return buf;
}

// An open file: what PutFile reads through /proc/self/fd even once retention has unlinked it.
class OpenFile {
 public:
  OpenFile() = default;
  explicit OpenFile(int fd) : fd_(fd) {}
  OpenFile(OpenFile&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  OpenFile& operator=(OpenFile&& o) noexcept {
    std::swap(fd_, o.fd_);
    return *this;
  }
  ~OpenFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  int fd() const { return fd_; }
  std::filesystem::path proc_path() const { return "/proc/self/fd/" + std::to_string(fd_); }

 private:
  int fd_ = -1;
};

int64_t ShardEnd(const ShardInfo& i) { return std::max(i.window_end_ns, i.max_ns); }

// A local step failed in a way that trying again will not mend.
bool Permanent(const Error& e) {
  return e.code == ErrorCode::kCorruption || e.code == ErrorCode::kInvalidArgument ||
         e.code == ErrorCode::kUnsupported;
}

}  // namespace

Result<std::unique_ptr<Uploader>> Uploader::Create(Store& store, ObjectStore& bucket,
                                                   UploadState& state, UploaderOptions options) {
  if (auto v = ValidateClusterName(options.cluster); !v) return std::unexpected(v.error());
  if (!options.now_ns) {
    options.now_ns = [] {
      return std::chrono::duration_cast<std::chrono::nanoseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
          .count();
    };
  }
  if (options.backoff_initial.count() <= 0) options.backoff_initial = std::chrono::milliseconds(1);
  options.backoff_max = std::max(options.backoff_max, options.backoff_initial);
  std::error_code ec;
  std::filesystem::remove(store.options().root / "upload-index.tmp", ec);  // a crash's leftover
  std::unique_ptr<Uploader> u(new Uploader(store, bucket, state, std::move(options)));
  Uploader* raw = u.get();
  state.SetSealedListener([raw] {
    std::lock_guard lock(raw->thread_mu_);
    raw->wake_ = true;
    raw->wake_cv_.notify_all();
  });
  return u;
}

Uploader::Uploader(Store& store, ObjectStore& bucket, UploadState& state, UploaderOptions options)
    : store_(store), bucket_(bucket), state_(state), options_(std::move(options)) {}

Uploader::~Uploader() {
  state_.SetSealedListener(nullptr);
  Stop();
}

void Uploader::Start() {
  std::lock_guard lock(thread_mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void Uploader::Stop() {
  std::thread t;
  {
    std::lock_guard lock(thread_mu_);
    stopping_ = true;
    wake_cv_.notify_all();
    t = std::move(thread_);
  }
  if (t.joinable()) t.join();
}

void Uploader::Loop() {
  std::chrono::milliseconds backoff{0};
  auto last_retention = std::chrono::steady_clock::time_point{};
  bool retention_due = options_.retention.count() > 0;
  for (;;) {
    auto r = UploadPendingLocked(true);
    std::chrono::milliseconds wait = options_.poll_interval;
    if (!r && r.error().code == ErrorCode::kAborted) break;
    if (!r) {
      backoff = backoff.count() ? std::min(backoff * 2, options_.backoff_max)
                                : options_.backoff_initial;
      wait = backoff;
    } else {
      backoff = std::chrono::milliseconds(0);
      const auto now = std::chrono::steady_clock::now();
      if (retention_due && now - last_retention >= options_.retention_interval) {
        last_retention = now;
        (void)ApplyRetention();  // counted and logged there; tried again next interval
      }
    }
    std::unique_lock lock(thread_mu_);
    // A seal wakes the thread unless it is backing off after a failure.
    wake_cv_.wait_for(lock, wait, [&] { return stopping_ || (backoff.count() == 0 && wake_); });
    wake_ = false;
    if (stopping_) break;
  }
}

Result<void> Uploader::UploadPending() { return UploadPendingLocked(false); }

Result<void> Uploader::UploadPendingLocked(bool background) {
  std::lock_guard work(work_mu_);
  // The shards' ids, oldest first. Each is looked up again when its turn comes, so that the pass
  // holds no shard but the one it uploads: one that retention deletes meanwhile (a backlog after
  // an outage takes a while) frees its disk space then, not when the pass ends.
  std::vector<uint64_t> ids;
  std::set<uint64_t> present;
  for (const auto& s : store_.SealedShards()) {
    ids.push_back(s->info().id);
    present.insert(ids.back());
  }
  if (auto r = state_.Retain(present); !r) Log("upload state: " + r.error().ToString());
  for (const uint64_t id : ids) {
    const std::shared_ptr<const SealedShard> shard = FindSealed(id);
    if (!shard) continue;  // retention took it
    const ShardInfo info = shard->info();
    if (state_.Uploaded(info) || state_.GaveUp(info.id)) continue;
    if (background) {
      std::lock_guard lock(thread_mu_);
      if (stopping_) return MakeError(ErrorCode::kAborted, "uploader stopping");
    }
    if (options_.retention.count() > 0 && ShardEnd(info) < Now() - options_.retention.count()) {
      state_.GiveUp(info.id);
      {
        std::lock_guard lock(stats_mu_);
        ++stats_.expired_shards_skipped;
      }
      Log("shard " + std::to_string(info.id) +
          " is older than -object-store-retention: not uploaded");
      continue;
    }
    if (auto r = UploadShard(shard); !r) {
      NoteFailure(info.id, r.error());
      return r;
    }
  }
  return {};
}

std::shared_ptr<const SealedShard> Uploader::FindSealed(uint64_t id) const {
  for (auto& s : store_.SealedShards()) {
    if (s->info().id == id) return s;
  }
  return nullptr;
}

bool Uploader::InStore(uint64_t id) const { return FindSealed(id) != nullptr; }

Result<void> Uploader::UploadShard(const std::shared_ptr<const SealedShard>& shard) {
  const ShardInfo info = shard->info();
  const std::string id_text = std::to_string(info.id);
  auto key = [&](ShardFile f) {
    return ShardKey(options_.prefix, options_.cluster, info.window_start_ns, info.id, f);
  };
  const std::string seg_key = key(ShardFile::kSegment), idx_key = key(ShardFile::kIndex),
                    man_key = key(ShardFile::kManifest);
  // A local failure: skipped when retention took the shard meanwhile (the store counted it),
  // given up when trying again will not help, else tried again like a bucket failure.
  auto local = [&](const Error& e) -> Result<void> {
    if (!InStore(info.id)) return {};
    if (!Permanent(e)) return std::unexpected(e);
    state_.GiveUp(info.id);
    {
      std::lock_guard lock(stats_mu_);
      ++stats_.not_uploadable_shards;
    }
    Log("shard " + id_text + " cannot be uploaded and is left out of the bucket: " +
        e.ToString());
    return {};
  };

  // 1. The files, opened first: their bytes stay readable if retention unlinks them meanwhile.
  int seg_fd = ::open(shard->segment_path().c_str(), O_RDONLY | O_CLOEXEC);
  if (seg_fd < 0) return local(IOError("open", shard->segment_path().string(), errno).error());
  OpenFile seg(seg_fd);
  OpenFile idx;
  bool made_whole = false;
  if (shard->base_shard_id() == 0) {
    int fd = ::open(shard->index_path().c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return local(IOError("open", shard->index_path().string(), errno).error());
    idx = OpenFile(fd);
    struct stat st;
    // Rewritten against a base since this shard was listed: written whole below instead.
    if (::fstat(fd, &st) != 0 || static_cast<uint64_t>(st.st_size) != info.index_bytes) {
      idx = OpenFile();
    }
  }
  if (idx.fd() < 0) {
    // Read through a base: a bucket holds each shard alone, so the index goes whole (the file
    // is unlinked once open; nothing stays behind in the store).
    const auto tmp = store_.options().root / "upload-index.tmp";
    if (auto w = WriteWholeIndex(*shard->opened_index(), tmp); !w) {
      std::error_code ec;
      std::filesystem::remove(tmp, ec);
      return local(w.error());
    }
    int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
    const int open_errno = errno;
    std::error_code ec;
    std::filesystem::remove(tmp, ec);
    if (fd < 0) return local(IOError("open", tmp.string(), open_errno).error());
    idx = OpenFile(fd);
    made_whole = true;
  }
  auto seg_digest = DigestFd(seg.fd(), shard->segment_path());
  if (!seg_digest) return local(seg_digest.error());
  auto idx_digest = DigestFd(idx.fd(), shard->index_path());
  if (!idx_digest) return local(idx_digest.error());
  uint32_t seg_format = 0;
  {
    unsigned char header[12];
    if (::pread(seg.fd(), header, sizeof(header), 0) != static_cast<ssize_t>(sizeof(header))) {
      return local(Error{ErrorCode::kCorruption,
                         "segment " + shard->segment_path().string() + ": no file header"});
    }
    seg_format = header[8] | header[9] << 8 | header[10] << 16 | uint32_t{header[11]} << 24;
  }

  // 2. Complete in the bucket already (the state was lost, or the process stopped between the
  // manifest's put and the state's write)?
  auto existing = bucket_.Get(man_key);
  if (existing) {
    auto m = ParseManifest(*existing, man_key);
    bool same = m && m->cluster == options_.cluster && m->shard_id == info.id &&
                m->segment == *seg_digest;
    if (same) {
      auto hs = bucket_.Head(seg_key);
      if (!hs && hs.error().code != ErrorCode::kNotFound) return std::unexpected(hs.error());
      auto hi = bucket_.Head(idx_key);
      if (!hi && hi.error().code != ErrorCode::kNotFound) return std::unexpected(hi.error());
      if (hs && hi && hs->size == m->segment.bytes && hi->size == m->index.bytes) {
        if (auto r = state_.MarkUploaded(info); !r) return std::unexpected(r.error());
        std::lock_guard lock(stats_mu_);
        ++stats_.found_in_bucket;
        return {};
      }
    }
    // Something else under this shard's keys (damage, or a restored store that reuses ids):
    // replaced, its manifest going first so that it is never seen as complete meanwhile.
    Log("shard " + id_text + ": " + man_key + " does not describe the local shard (" +
        (m ? std::string("other contents") : m.error().ToString()) + "); uploading it again");
    if (auto d = bucket_.Delete(man_key); !d) return d;
  } else if (existing.error().code != ErrorCode::kNotFound) {
    return std::unexpected(existing.error());
  }

  // 3. .seg, .idx, then the manifest, each checked by its size in the bucket.
  auto put = [&](const std::string& k, const OpenFile& f, uint64_t bytes) -> Result<void> {
    if (auto p = bucket_.PutFile(k, f.proc_path()); !p) return p;
    auto h = bucket_.Head(k);
    if (!h) return std::unexpected(h.error());
    if (h->size != bytes) {
      return MakeError(ErrorCode::kUnavailable, "object store: " + k + " holds " +
                                                    std::to_string(h->size) + " bytes after " +
                                                    "its upload, not " + std::to_string(bytes));
    }
    return {};
  };
  if (auto r = put(seg_key, seg, seg_digest->bytes); !r) return r;
  if (auto r = put(idx_key, idx, idx_digest->bytes); !r) return r;
  ShardManifest m;
  m.cluster = options_.cluster;
  m.shard_id = info.id;
  m.window_start_ns = info.window_start_ns;
  m.window_end_ns = info.window_end_ns;
  m.first_record_ns = info.min_ns;
  m.last_record_ns = info.max_ns;
  m.records = info.records;
  m.resources = info.resources;
  m.segment = *seg_digest;
  m.index = *idx_digest;
  m.segment_format = seg_format;
  m.index_format = shard->opened_index()->format_version();
  m.index_made_whole = made_whole;
  m.uploaded_at_ns = Now();
  const std::string manifest = ManifestJson(m);
  if (auto p = bucket_.PutBytes(man_key, manifest); !p) return p;
  auto h = bucket_.Head(man_key);
  if (!h) return std::unexpected(h.error());
  if (h->size != manifest.size()) {
    return MakeError(ErrorCode::kUnavailable,
                     "object store: " + man_key + " holds " + std::to_string(h->size) +
                         " bytes after its upload, not " + std::to_string(manifest.size()));
  }
  if (auto r = state_.MarkUploaded(info); !r) return std::unexpected(r.error());
  {
    std::lock_guard lock(stats_mu_);
    ++stats_.uploaded_shards;
    stats_.uploaded_bytes += seg_digest->bytes + idx_digest->bytes + manifest.size();
    stats_.last_upload_ns = m.uploaded_at_ns;
  }
  NoteSuccess();
  return {};
}

void Uploader::NoteFailure(uint64_t shard_id, const Error& e) {
  std::lock_guard lock(stats_mu_);
  ++stats_.failures;
  stats_.last_error = e.ToString();
  if (stats_.consecutive_failures++ == 0) {
    streak_start_ = std::chrono::steady_clock::now();
    Log("uploading shard " + std::to_string(shard_id) +
        " failed; sealed shards wait in the store and are uploaded in order once it works, tried "
        "again with backoff up to " +
        Seconds(options_.backoff_max) + " (logged again when it works): " + e.ToString());
  }
}

void Uploader::NoteSuccess() {
  std::lock_guard lock(stats_mu_);
  if (stats_.consecutive_failures == 0) return;
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - streak_start_);
  Log("uploading works again after " + std::to_string(stats_.consecutive_failures) +
      " failed attempts over " + Seconds(took));
  stats_.consecutive_failures = 0;
}

Result<void> Uploader::ApplyRetention() {
  if (options_.retention.count() <= 0) return {};
  std::lock_guard work(work_mu_);
  const int64_t cutoff = Now() - options_.retention.count();
  const std::string prefix = ClusterShardsPrefix(options_.prefix, options_.cluster);
  auto fail = [&](const Error& e) -> Result<void> {
    {
      std::lock_guard lock(stats_mu_);
      ++stats_.bucket_retention_failures;
    }
    Log("bucket retention stopped, tried again later: " + e.ToString());
    return std::unexpected(e);
  };
  struct Found {
    int64_t start_ns = 0;
    uint64_t id = 0;
    std::set<ShardFile> files;
  };
  std::map<std::string, Found> shards;  // by stem: in time order
  std::string token;
  do {
    auto page = bucket_.List(prefix, "", token);
    if (!page) return fail(page.error());
    for (const auto& o : page->objects) {
      auto k = ParseShardKey(options_.prefix, o.key);
      if (!k || k->cluster != options_.cluster) continue;
      Found& f = shards[k->stem];
      f.start_ns = k->start_ns;
      f.id = k->id;
      f.files.insert(k->file);
    }
    token = page->next_token;
  } while (!token.empty());
  for (const auto& [stem, f] : shards) {
    if (f.start_ns >= cutoff) break;  // keys are in start order: none later can have ended
    auto k = [&](ShardFile file) {
      return ShardKey(options_.prefix, options_.cluster, f.start_ns, f.id, file);
    };
    if (f.files.contains(ShardFile::kManifest)) {
      auto text = bucket_.Get(k(ShardFile::kManifest));
      if (!text) return fail(text.error());
      auto m = ParseManifest(*text, k(ShardFile::kManifest));
      if (!m) {
        // Its end is unknown: left for a person (a damaged manifest is never deleted unread).
        std::lock_guard lock(stats_mu_);
        ++stats_.bucket_retention_failures;
        Log("bucket retention leaves " + k(ShardFile::kManifest) + ": " + m.error().ToString());
        continue;
      }
      if (std::max(m->window_end_ns, m->last_record_ns) >= cutoff) continue;
    }
    // Without a manifest: the leftovers of an upload or a deletion that stopped half-way.
    // The manifest goes first, so that a shard half deleted is never seen as complete.
    for (ShardFile file : {ShardFile::kManifest, ShardFile::kIndex, ShardFile::kSegment}) {
      if (!f.files.contains(file)) continue;
      if (auto d = bucket_.Delete(k(file)); !d) return fail(d.error());
    }
    std::lock_guard lock(stats_mu_);
    ++stats_.bucket_shards_deleted;
  }
  return {};
}

UploaderStats Uploader::Stats() const {
  UploaderStats st;
  {
    std::lock_guard lock(stats_mu_);
    st = stats_;
  }
  const int64_t now = Now();
  for (const auto& s : store_.SealedShards()) {
    const ShardInfo info = s->info();
    if (state_.Uploaded(info) || state_.GaveUp(info.id)) continue;
    if (st.pending_shards++ == 0) {
      st.oldest_pending_age_seconds = std::max<double>(0, (now - ShardEnd(info)) / 1e9);
    }
  }
  st.unuploaded_shards_lost = store_.Stats().unuploaded_shards_lost;
  return st;
}

}  // namespace sloop::objstore
