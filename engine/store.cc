#include "engine/store.h"

#include <fcntl.h>
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <compare>
#include <cstdio>
#include <map>
#include <set>
#include <tuple>

#include "engine/backup.h"
#include "engine/sealer.h"
#include "index/index_reader.h"
#include "base/log.h"
#include "segments/segment_format.h"

namespace sloop {
namespace {

constexpr int64_t kNsPerSec = 1000000000LL;
// A timeline never holds more rows than this while merging shards; past it, it says truncated.
constexpr size_t kTimelineScanCap = 200000;

int64_t SystemNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void Log(const std::string& line) { LogLine("store", line); }

// "5 s", "0.25 s", "300 s".
std::string Seconds(std::chrono::milliseconds ms) {
  if (ms.count() % 1000 == 0) return std::to_string(ms.count() / 1000) + " s";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3g s", static_cast<double>(ms.count()) / 1000);
  return buf;
}

std::string ShardName(uint64_t id, const char* ext) {
  char name[48];
  std::snprintf(name, sizeof(name), "%010llu%s", static_cast<unsigned long long>(id), ext);
  return name;
}

Result<void> SyncDir(const std::filesystem::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return IOError("open directory", dir.string(), errno);
  int rc = ::fsync(fd);
  int e = errno;
  ::close(fd);
  if (rc != 0) return IOError("fsync directory", dir.string(), e);
  return {};
}

Result<void> Rename(const std::filesystem::path& from, const std::filesystem::path& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    return IOError("rename " + from.string() + " to", to.string(), errno);
  }
  return {};
}

// The span of time a shard may hold data for.
std::pair<int64_t, int64_t> ShardSpan(const ShardInfo& i) {
  int64_t lo = i.window_start_ns, hi = i.window_end_ns;
  if (i.records) {
    lo = std::min(lo, i.min_ns);
    hi = std::max(hi, i.max_ns);
  }
  return {lo, hi};
}

bool Overlaps(const ShardInfo& i, const TimeRange& r) {
  auto [lo, hi] = ShardSpan(i);
  return lo <= r.end_ns && hi >= r.start_ns;
}

// The wait before the next try after one more failure of the same work (a seal, maintenance, a
// timed flush): seal_retry_initial, then doubling up to seal_retry_max.
std::chrono::milliseconds NextBackoff(std::chrono::milliseconds current, const StoreOptions& o) {
  return current.count() ? std::min(current * 2, o.seal_retry_max) : o.seal_retry_initial;
}

// Shards in time order: by the span of their records (one with none by its window), ties by id.
// Not by window start: once -shard-duration changes, a 1 h window opened after 10 m ones starts
// before them, and its history would be read first and deleted last.
bool TimeOrderLess(const ShardInfo& a, const ShardInfo& b) {
  auto key = [](const ShardInfo& i) {
    return i.records ? std::tuple(i.min_ns, i.max_ns, i.id)
                     : std::tuple(i.window_start_ns, i.window_start_ns, i.id);
  };
  return key(a) < key(b);
}

// Room a seal needs beside the arrival-order file it reads, in multiples of that file: the sorted
// copy it writes, and the sort runs when the shard does not fit the sort budget.
constexpr uint64_t kSealRoomFactor = 2;

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && ContainsIgnoreCase(a, b);
}

struct FileName {
  uint64_t id = 0;
  std::string ext;
};

bool ParseShardFile(const std::string& name, FileName* out) {
  size_t dot = name.find('.');
  if (dot != 10) return false;
  for (size_t i = 0; i < dot; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(name[i]))) return false;
  }
  out->id = std::stoull(name.substr(0, dot));
  out->ext = name.substr(dot);
  return true;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// StoredRecord

StoredRecord StoredRecord::From(const RecordView& r) {
  StoredRecord s;
  s.observed_ns = r.observed_ns;
  s.watch_type = r.watch_type;
  s.api_group = r.api_group;
  s.api_version = r.api_version;
  s.kind = r.kind;
  s.namespace_ = r.namespace_;
  s.name = r.name;
  s.uid = r.uid;
  s.resource_version = r.resource_version;
  s.payload = r.payload;
  if (r.event) {
    const EventInfoView& e = *r.event;
    s.event = Event{std::string(e.involved_kind),
                    std::string(e.involved_namespace),
                    std::string(e.involved_name),
                    std::string(e.involved_uid),
                    std::string(e.reason),
                    std::string(e.message),
                    e.severity,
                    e.count,
                    e.first_timestamp_ns,
                    e.last_timestamp_ns};
  }
  return s;
}

RecordView StoredRecord::view() const {
  RecordView v;
  v.observed_ns = observed_ns;
  v.watch_type = watch_type;
  v.api_group = api_group;
  v.api_version = api_version;
  v.kind = kind;
  v.namespace_ = namespace_;
  v.name = name;
  v.uid = uid;
  v.resource_version = resource_version;
  v.payload = payload;
  if (event) {
    v.event = EventInfoView{event->involved_kind,
                            event->involved_namespace,
                            event->involved_name,
                            event->involved_uid,
                            event->reason,
                            event->severity,
                            event->count,
                            event->first_timestamp_ns,
                            event->last_timestamp_ns,
                            event->message};
  }
  return v;
}

size_t StoredRecord::bytes() const {
  size_t n = sizeof(StoredRecord) + api_group.size() + api_version.size() + kind.size() +
             namespace_.size() + name.size() + uid.size() + resource_version.size() +
             payload.size();
  if (event) {
    n += sizeof(Event) + event->involved_kind.size() + event->involved_namespace.size() +
         event->involved_name.size() + event->involved_uid.size() + event->reason.size() +
         event->message.size();
  }
  return n;
}

// ---------------------------------------------------------------------------------------------
// Open, recover, close

Store::Store(StoreOptions options) : options_(std::move(options)) {
  if (!options_.now_ns) options_.now_ns = SystemNowNs;
  // The active shard and the one before it (being sealed) each hold their arrival-order file
  // and, while sealed, the room their seal needs: together they must fit under the threshold
  // even when every sealed shard has been evicted.
  const uint64_t fit = GcTargetBytes() / (2 * (1 + kSealRoomFactor));
  active_segment_cap_ = std::min(options_.active_segment_cap_bytes, std::max<uint64_t>(fit, 4096));
}

uint64_t Store::GcTargetBytes() const {
  const double t =
      options_.gc_threshold > 0 && options_.gc_threshold <= 1 ? options_.gc_threshold : 1.0;
  return static_cast<uint64_t>(static_cast<double>(options_.max_disk_bytes) * t);
}

Store::~Store() {
  auto closed = Close();
  if (!closed) Log("closing " + options_.root.string() + ": " + closed.error().ToString());
}

Result<std::unique_ptr<Store>> Store::Open(StoreOptions options) {
  if (options.root.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "store: no directory given (-store-root)");
  }
  if (options.shard_duration < std::chrono::minutes(1)) {
    return MakeError(ErrorCode::kInvalidArgument, "store: shard duration must be at least 1m");
  }
  std::unique_ptr<Store> store(new Store(std::move(options)));
  // One process at a time: two writers corrupt the active segment, and a restore would swap the
  // shards under a reader. Read-only opens take the same exclusive lock.
  auto lock = StoreLock::Acquire(store->options_.root,
                                 store->options_.read_only ? "open it read-only" : "open it");
  if (!lock) return std::unexpected(lock.error());
  store->lock_ = std::move(*lock);
  // A restore that a crash interrupted is finished or rolled back before the shards are read.
  if (auto r = RecoverInterruptedRestore(store->options_.root); !r) {
    return MakeError(r.error().code,
                     "store " + store->options_.root.string() +
                         ": recovering an interrupted restore: " + r.error().message);
  }
  std::error_code ec;
  std::filesystem::create_directories(store->ShardDir(), ec);
  if (ec) {
    return MakeError(ErrorCode::kIOError, "store: cannot create " + store->ShardDir().string() +
                                              ": " + ec.message() +
                                              " (check -store-root and its permissions)");
  }
  if (auto r = store->Recover(); !r) return std::unexpected(r.error());
  if (store->active_segment_cap_ < store->options_.active_segment_cap_bytes &&
      !store->options_.read_only) {
    Log("the active shard is sealed at " + std::to_string(store->active_segment_cap_ >> 10) +
        " KiB (not " + std::to_string(store->options_.active_segment_cap_bytes >> 20) +
        " MiB) so that the disk limit of " + std::to_string(store->options_.max_disk_bytes >> 10) +
        " KiB holds at any moment");
  }
  if (store->options_.background && !store->options_.read_only) {
    store->background_ = std::thread([s = store.get()] { s->BackgroundLoop(); });
    store->flusher_ = std::thread([s = store.get()] { s->FlushLoop(); });
  }
  return store;
}

Result<void> Store::Recover() {
  const auto dir = ShardDir();
  std::map<uint64_t, std::set<std::string>> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::string name = entry.path().filename().string();
    FileName f;
    if (name.size() > 4 && name.ends_with(".tmp")) {
      // Left by a seal or a backup that did not finish: never authoritative.
      if (!options_.read_only) std::filesystem::remove(entry.path());
      continue;
    }
    if (name.find(".run") != std::string::npos) {
      if (!options_.read_only) std::filesystem::remove(entry.path());
      continue;
    }
    if (!ParseShardFile(name, &f)) continue;
    files[f.id].insert(f.ext);
    next_shard_id_ = std::max(next_shard_id_, f.id + 1);
  }

  // A damaged file is renamed *.damaged (kept for a person to look at, never deleted) and
  // counted; derived files (an index) are rebuilt from what they derive from.
  auto set_aside = [&](const std::filesystem::path& path, const std::string& why) {
    ++damaged_files_;
    if (options_.read_only) {
      Log(path.string() + " is damaged (left in place: the store is open read-only): " + why);
      return;
    }
    // Never over an earlier damaged copy: that one may hold what this one lost.
    std::filesystem::path aside = std::filesystem::path(path) += ".damaged";
    for (int n = 1; std::filesystem::exists(aside); ++n) {
      aside = std::filesystem::path(path) += ".damaged." + std::to_string(n);
    }
    Log(path.string() + " is damaged and set aside as " + aside.filename().string() + ": " + why);
    std::error_code ec;
    std::filesystem::rename(path, aside, ec);
    if (ec) Log("cannot rename " + path.string() + ": " + ec.message());
  };
  // The blocks of a segment that pass their checks (0 when it is not a segment at all).
  auto readable_blocks = [](const std::filesystem::path& path) -> size_t {
    auto reader = SegmentReader::Open(path);
    if (!reader) return 0;
    auto blocks = (*reader)->ListBlocks(nullptr);
    return blocks ? blocks->size() : 0;
  };

  std::vector<uint64_t> active_ids;
  for (auto& [id, exts] : files) {
    auto seg = dir / ShardName(id, ".seg");
    auto idx = dir / ShardName(id, ".idx");
    auto act = dir / ShardName(id, ".active");
    bool has_active = exts.count(".active");
    bool has_seg = exts.count(".seg");
    bool has_idx = exts.count(".idx");
    // Listing a segment's blocks reads every block header: at most once per shard.
    std::optional<size_t> seg_blocks;
    auto seg_readable = [&] {
      if (!seg_blocks) seg_blocks = readable_blocks(seg);
      return *seg_blocks;
    };
    if (has_idx && has_seg) {
      auto shard = SealedShard::Open(seg, idx);
      if (shard) {
        sealed_.push_back(*shard);
        if (has_active && !options_.read_only) {
          // The seal committed (its index is in place) before the arrival-order file was
          // removed.
          std::filesystem::remove(act);
        }
        continue;
      }
      if (!has_active && shard.error().code != ErrorCode::kCorruption) {
        // Not damage (a newer format, or the system refused): leave the files as they are.
        Log("shard " + std::to_string(id) + " is skipped: " + shard.error().ToString());
        continue;
      }
      if (has_active) {
        Log("shard " + std::to_string(id) + ": sealed files unusable (" + shard.error().ToString() +
            "); sealing again from its arrival-order file");
      } else if (seg_readable() == 0) {
        // Nothing in the segment to rebuild from.
        set_aside(seg, shard.error().ToString());
        set_aside(idx, "its segment is unreadable");
        continue;
      } else {
        // The index, or the segment's tail, is damaged: the index is derived from the segment,
        // so it is rebuilt from the segment's readable blocks (as a seal from an arrival-order
        // file does), and the old index is kept aside.
        if (options_.read_only) {
          Log("shard " + std::to_string(id) + " cannot be opened (" + shard.error().ToString() +
              "); open the store writable to rebuild its index from its segment");
          continue;
        }
        set_aside(idx, shard.error().ToString() + "; rebuilding it from " + seg.string());
        has_idx = false;
      }
    }
    if (!has_active && has_seg && !has_idx) {
      // A sealed segment without a (usable) index: seal it again; it is a valid segment.
      if (options_.read_only) continue;
      if (seg_readable() == 0) {
        set_aside(seg, "no readable block in it, and no index beside it");
        continue;
      }
      Log("shard " + std::to_string(id) + ": index missing or damaged; rebuilding it from " +
          seg.string());
      if (auto r = Rename(seg, act); !r) return r;
      ++indexes_rebuilt_;
      has_active = true;
    }
    if (!has_active && has_idx && !has_seg) {
      set_aside(idx, "an index without its segment (nothing to read)");
      continue;
    }
    if (has_active) {
      if (!options_.read_only) {
        std::filesystem::remove(seg);
        std::filesystem::remove(idx);
      }
      active_ids.push_back(id);
    }
  }
  std::sort(sealed_.begin(), sealed_.end(),
            [](const auto& a, const auto& b) { return TimeOrderLess(a->info(), b->info()); });

  for (uint64_t id : active_ids) {
    auto path = dir / ShardName(id, ".active");
    // The window comes from the records the file holds.
    std::error_code size_ec;
    const uint64_t size = std::filesystem::file_size(path, size_ec);
    auto reader = SegmentReader::Open(path);
    if (!reader) {
      if (!size_ec && size == 0) {
        // Created, then the process died before its header was written: it holds nothing.
        Log("removing the empty arrival-order file " + path.string() + " (no header, no data)");
        if (!options_.read_only) std::filesystem::remove(path);
      } else {
        set_aside(path, reader.error().ToString());
      }
      continue;
    }
    std::vector<CorruptBlock> corrupt;
    auto blocks = (*reader)->ListBlocks(&corrupt);
    reader->reset();
    if (!blocks || blocks->empty()) {
      if (!size_ec && size <= segment_format::kFileHeaderSize) {
        // Just a header: a shard that started and got no record.
        if (!options_.read_only) std::filesystem::remove(path);
      } else {
        set_aside(path, !blocks ? blocks.error().ToString()
                                : "no readable block in its " + std::to_string(size) + " bytes" +
                                      (corrupt.empty() ? "" : " (" + corrupt[0].reason + ")"));
      }
      continue;
    }
    int64_t min_ns = (*blocks)[0].min_observed_ns;
    for (const auto& b : *blocks) min_ns = std::min(min_ns, b.min_observed_ns);
    int64_t start = WindowStart(min_ns);
    int64_t end = start + options_.shard_duration.count();
    RecoveryReport report;
    auto shard = ActiveShard::Reopen(path, id, start, end, options_.writer, &report);
    if (!shard) return std::unexpected(shard.error());
    recovered_bytes_dropped_ += report.bytes_dropped;
    recovered_corrupt_blocks_ += report.corrupt_blocks_kept;
    // Resources alive before it that it did not touch are carried over from the shard before.
    if (!sealed_.empty()) (*shard)->CarryOver(*sealed_.back());
    sealing_.push_back(*shard);
  }
  if (!sealing_.empty()) {
    Log("recovered " + std::to_string(sealing_.size()) + " unsealed shard(s)" +
        (recovered_bytes_dropped_
             ? ", dropped a torn tail of " + std::to_string(recovered_bytes_dropped_) + " bytes"
             : ""));
  }
  if (options_.read_only) return {};
  // The newest unsealed shard keeps taking records if its window is still open.
  if (!sealing_.empty()) {
    auto newest = sealing_.back();
    if (Now() < newest->window_end_ns()) {
      active_ = newest;
      sealing_.pop_back();
    }
  }
  for (auto& shard : std::vector(sealing_)) {
    if (auto f = shard->Finish(); !f) return f;
    if (!options_.background) {
      if (auto s = SealShard(shard); !s) return s;
    }
  }
  return {};
}

Result<void> Store::Close() {
  {
    std::lock_guard lock(bg_mu_);
    if (closed_) return {};
    stopping_ = true;
  }
  {
    std::lock_guard s(shards_mu_);
    abort_waits_ = true;
    sealed_cv_.notify_all();
  }
  bg_cv_.notify_all();
  if (background_.joinable()) background_.join();
  {
    std::lock_guard f(flush_mu_);
    flush_stop_ = true;
  }
  flush_cv_.notify_all();
  if (flusher_.joinable()) flusher_.join();
  Result<void> result;
  if (!options_.read_only) {
    std::unique_lock lock(append_mu_);
    std::shared_ptr<ActiveShard> active;
    {
      std::lock_guard s(shards_mu_);
      active = active_;
      if (active) sealing_.push_back(active);
      active_.reset();
    }
    lock.unlock();
    std::vector<std::shared_ptr<ActiveShard>> pending;
    {
      std::lock_guard s(shards_mu_);
      pending = sealing_;
    }
    for (auto& shard : pending) {
      if (auto f = shard->Finish(); !f) {
        result = f;
        continue;
      }
      if (auto r = SealShard(shard, /*paced=*/false); !r && result) result = r;
    }
  }
  std::lock_guard lock(bg_mu_);
  closed_ = true;
  return result;
}

// ---------------------------------------------------------------------------------------------
// Append and rotation

int64_t Store::WindowStart(int64_t t_ns) const {
  int64_t d = options_.shard_duration.count();
  int64_t q = t_ns / d;
  if (t_ns < 0 && t_ns % d) --q;
  return q * d;
}

Result<void> Store::StartActive(int64_t t_ns) {
  int64_t start = WindowStart(t_ns);
  auto shard = ActiveShard::Create(ShardDir(), next_shard_id_++, start,
                                   start + options_.shard_duration.count(), options_.writer);
  if (!shard) return std::unexpected(shard.error());
  std::lock_guard lock(shards_mu_);
  if (!sealing_.empty()) {
    // The shard before is about to be sealed: carry its live resources over lazily rather than
    // hold a second full copy of them while the seal runs (at rotation the peak of memory).
    (*shard)->DeferCarryOver(sealing_.back());
  } else if (!sealed_.empty()) {
    (*shard)->CarryOver(*sealed_.back());
  }
  active_ = std::move(*shard);
  return {};
}

Result<void> Store::RotateLocked(int64_t t_ns) {
  std::shared_ptr<ActiveShard> old;
  {
    std::lock_guard lock(shards_mu_);
    old = active_;
  }
  if (old) {
    // `old` may still read the resources it carries over in the builder of the shard before,
    // which is being sealed: seal that one first, so that `old` reads them in the sealed index
    // from then on rather than copy them all in when it finishes (a full copy of every live
    // object while that seal runs is the memory carry-over by reference avoids). Only when
    // seals fall behind (a shard closed before the one before it was sealed) does this wait.
    SealFirst(old->carry_source());
    if (auto f = old->Finish(); !f) return f;
    std::lock_guard lock(shards_mu_);
    sealing_.push_back(old);
    active_.reset();
  }
  if (t_ns != 0) {
    if (auto s = StartActive(t_ns); !s) return s;
  }
  if (options_.background) {
    bg_cv_.notify_all();
  } else if (old) {
    return SealShard(old);
  }
  return {};
}

Result<void> Store::Append(const RecordView& record) {
  if (options_.read_only) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "store " + options_.root.string() + " is open read-only");
  }
  auto r = AppendLocked(record);
  if (options_.background && options_.max_unsealed_shards > 0) WaitForSealer();
  return r;
}

void Store::WaitForSealer() {
  std::unique_lock lock(shards_mu_);
  if (sealing_.size() <= options_.max_unsealed_shards || seal_backing_off_.load()) return;
  // A seal that fails (a full disk) leaves its shard waiting: stop waiting then, the failure is
  // logged and counted, and appends go on into the active shard.
  const uint64_t failures = seal_failures_.load();
  bg_cv_.notify_all();
  sealed_cv_.wait(lock, [&] {
    return sealing_.size() <= options_.max_unsealed_shards || abort_waits_.load() ||
           seal_failures_.load() != failures || seal_backing_off_.load();
  });
}

void Store::SealFirst(const ActiveShard* shard) {
  if (!shard) return;
  std::shared_ptr<ActiveShard> target;
  {
    std::lock_guard lock(shards_mu_);
    for (const auto& s : sealing_) {
      if (s.get() == shard) target = s;
    }
  }
  if (!target) return;
  // On this thread: the background sealer may be waiting for append_mu_ (Maintain), which the
  // caller holds. SealShard takes only seal_mu_ and shards_mu_; if the sealer is sealing this
  // shard right now, it waits for that and finds nothing left to do. A failed seal is logged and
  // counted by SealShard; the caller then copies the carry-over in (ActiveShard::Finish).
  (void)SealShard(target);
  std::lock_guard lock(shards_mu_);
  sealed_cv_.notify_all();
}

Result<void> Store::AppendLocked(const RecordView& record) {
  std::lock_guard lock(append_mu_);
  {
    std::lock_guard b(bg_mu_);
    if (stopping_ || closed_) {
      return MakeError(ErrorCode::kAborted, "store " + options_.root.string() + " is closed");
    }
  }
  std::shared_ptr<ActiveShard> active;
  {
    std::lock_guard s(shards_mu_);
    active = active_;
  }
  if (!active) {
    if (auto r = StartActive(record.observed_ns); !r) return r;
  } else if (record.observed_ns >= active->window_end_ns()) {
    if (auto r = RotateLocked(record.observed_ns); !r) return r;
  }
  {
    std::lock_guard s(shards_mu_);
    active = active_;
  }
  bool first_pending = false;
  if (auto r = active->Append(record, &first_pending); !r) return r;
  if (first_pending) KickFlusher();
  records_appended_.fetch_add(1, std::memory_order_relaxed);
  // The caps count what this shard added: the resources carried over from the shard before
  // (every live object of the cluster) would otherwise fill a big cluster's cap at once and
  // make every new shard seal again after a handful of records.
  const uint64_t segment = active->segment_bytes();
  const uint64_t memory = active->memory_bytes();
  const uint64_t grown = memory - std::min(memory, active->carried_bytes());
  if (segment != retention_checked_segment_) {
    // The active shard wrote a block: the disk limit is checked now, not only at the next seal.
    retention_checked_segment_ = segment;
    auto r = EnforceRetention();
    if (r && r->over_limit && segment > 0) {
      bool sealing_idle = false;
      {
        std::lock_guard s(shards_mu_);
        sealing_idle = sealing_.empty();
      }
      if (sealing_idle) {
        Log("DISK LIMIT: the store is over " + std::to_string(GcTargetBytes() >> 10) +
            " KiB (-gc-threshold of -max-disk-mb) with no sealed shard left to evict: sealing "
            "the active shard " +
            std::to_string(active->id()) +
            " early; retention will then delete it, the newest history, if it is still over. "
            "Raise -max-disk-mb");
        return RotateLocked(record.observed_ns);
      }
    }
  }
  if (segment >= active_segment_cap_ || grown >= options_.active_index_cap_bytes) {
    Log("shard " + std::to_string(active->id()) + " reached its size cap (segment " +
        std::to_string(segment >> 20) + " MiB, index " + std::to_string(grown >> 20) +
        " MiB added to " + std::to_string((memory - grown) >> 20) +
        " MiB carried over); sealing it early");
    return RotateLocked(record.observed_ns);
  }
  return {};
}

Result<void> Store::Flush() {
  std::lock_guard lock(append_mu_);
  std::shared_ptr<ActiveShard> active;
  {
    std::lock_guard s(shards_mu_);
    active = active_;
  }
  return active ? active->Flush() : Result<void>{};
}

Result<void> Store::SealActive() {
  std::lock_guard lock(append_mu_);
  return RotateLocked(0);
}

// ---------------------------------------------------------------------------------------------
// Sealing

Result<void> Store::SealShard(const std::shared_ptr<ActiveShard>& shard, bool paced) {
  using Clock = std::chrono::steady_clock;
  std::lock_guard seal_lock(seal_mu_);
  {
    std::lock_guard lock(shards_mu_);
    if (std::find(sealing_.begin(), sealing_.end(), shard) == sealing_.end()) return {};
  }
  if (paced) {
    // After a failure, not again before space may have come back: the shard keeps waiting
    // (its arrival-order file holds its records) and the retry comes with the backoff.
    std::lock_guard p(pace_mu_);
    if (seal_backoff_.count() && Clock::now() < seal_retry_at_) return {};
  }
  const auto dir = ShardDir();
  const uint64_t id = shard->id();
  const auto seg = dir / ShardName(id, ".seg");
  const auto idx = dir / ShardName(id, ".idx");
  const auto seg_tmp = dir / ShardName(id, ".seg.tmp");
  const auto idx_tmp = dir / ShardName(id, ".idx.tmp");
  bool seg_placed = false;  // step 2 done: the .seg is in place, not yet authoritative
  bool committed = false;   // step 4 done: the .idx is in place
  auto fail = [&](const Error& e) -> Result<void> {
    seal_failures_.fetch_add(1);
    // Every temporary goes (on a full disk they hold the space the next attempt needs): the
    // outputs and any sort run (WriteSortedSegment removes its own; these are what a failure
    // between its steps could leave).
    std::error_code ec;
    std::filesystem::remove(seg_tmp, ec);
    std::filesystem::remove(idx_tmp, ec);
    if (seg_placed && !committed) std::filesystem::remove(seg, ec);
    const std::string run_prefix = seg_tmp.filename().string() + ".run";
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
      if (entry.path().filename().string().starts_with(run_prefix)) {
        std::filesystem::remove(entry.path(), ec);
      }
    }
    std::chrono::milliseconds wait;
    {
      std::lock_guard p(pace_mu_);
      seal_backoff_ = NextBackoff(seal_backoff_, options_);
      seal_retry_at_ = Clock::now() + seal_backoff_;
      wait = seal_backoff_;
    }
    seal_backing_off_ = true;
    Log("sealing shard " + std::to_string(id) +
        " failed, its arrival-order file stays and queries read it; sealing is tried again in " +
        Seconds(wait) + ": " + e.ToString());
    return std::unexpected(e);
  };
  auto injected = [&](int step) {
    return options_.seal_fault_after_step == step
               ? MakeError(ErrorCode::kAborted,
                           "injected fault after seal step " + std::to_string(step))
               : Result<void>{};
  };
  const ShardIndexBuilder& builder = shard->builder();

  if (builder.record_count() == 0) {
    std::lock_guard lock(shards_mu_);
    sealing_.erase(std::find(sealing_.begin(), sealing_.end(), shard));
    std::filesystem::remove(shard->path());
    return {};
  }
  // 1. Rewrite the records in key order.
  WriterOptions out_options = options_.writer;
  out_options.sync = SyncPolicy::kNever;  // one fsync at the end
  out_options.target_block_bytes = options_.sealed_block_bytes;
  out_options.zstd_level = options_.sealed_zstd_level;
  // Each resource's first record lands in `positions` at its summary's place: the output and
  // the builder's summaries are both in key order (summaries without records stay {0,0}).
  std::vector<ShardIndexBuilder::SealedPosition> positions(builder.summaries().size());
  auto summary = builder.summaries().begin();
  size_t j = 0;
  auto sorted =
      WriteSortedSegment(shard->path(), seg_tmp, out_options, options_.seal_sort_budget_bytes,
                         [&](const ResourceKeyView& key, const RecordLocation& loc) {
                           while (summary != builder.summaries().end() && summary->first < key) {
                             ++summary;
                             ++j;
                           }
                           if (summary != builder.summaries().end() && summary->first == key) {
                             positions[j] = {loc.block_offset, loc.index_in_block};
                           }
                         });
  if (!sorted) return fail(sorted.error());
  if (auto f = injected(1); !f) return std::unexpected(f.error());
  // 2. Put the segment in place (not yet authoritative: no index).
  if (auto r = Rename(seg_tmp, seg); !r) return fail(r.error());
  seg_placed = true;
  if (auto r = SyncDir(dir); !r) return fail(r.error());
  if (auto f = injected(2); !f) return std::unexpected(f.error());
  // 3. Write the index, with each resource's first record position.
  if (auto r = builder.WriteIndexFile(idx_tmp, id, sorted->bytes, positions); !r) {
    return fail(r.error());
  }
  if (auto f = injected(3); !f) return std::unexpected(f.error());
  // 4. Commit: the index's rename makes the sealed shard authoritative.
  if (auto r = Rename(idx_tmp, idx); !r) return fail(r.error());
  committed = true;
  if (auto r = SyncDir(dir); !r) return fail(r.error());
  if (auto f = injected(4); !f) return std::unexpected(f.error());
  // 5. Swap it in and drop the arrival-order file.
  auto sealed = SealedShard::Open(seg, idx);
  if (!sealed) return fail(sealed.error());
  {
    std::lock_guard lock(shards_mu_);
    sealing_.erase(std::find(sealing_.begin(), sealing_.end(), shard));
    sealed_.push_back(*sealed);
    std::sort(sealed_.begin(), sealed_.end(),
              [](const auto& a, const auto& b) { return TimeOrderLess(a->info(), b->info()); });
  }
  // 6. The shard after it may have deferred its carry-over until now: it copies it from the
  // sealed index, and the builder it read meanwhile can go.
  {
    std::vector<std::shared_ptr<ActiveShard>> after;
    {
      std::lock_guard lock(shards_mu_);
      after = sealing_;
      if (active_) after.push_back(active_);
    }
    for (const auto& a : after) {
      if (a->carry_source() == shard.get()) a->FinishCarryOver(**sealed);
    }
  }
  if (auto f = injected(5); !f) return std::unexpected(f.error());
  std::error_code ec;
  std::filesystem::remove(shard->path(), ec);
  seals_.fetch_add(1);
  if (seal_backing_off_.exchange(false)) {
    std::lock_guard p(pace_mu_);
    seal_backoff_ = std::chrono::milliseconds(0);
    Log("sealing works again");
  }
  Log("sealed shard " + std::to_string(id) + ": " + std::to_string(sorted->records) + " records, " +
      std::to_string(builder.summaries().size()) + " resources, " + std::to_string(sorted->bytes) +
      " bytes" + (sorted->runs ? " (" + std::to_string(sorted->runs) + " sorted runs)" : ""));
  auto retention = EnforceRetention();
  if (!retention) return std::unexpected(retention.error());
  return {};
}

// ---------------------------------------------------------------------------------------------
// Retention and background work

Result<RetentionReport> Store::EnforceRetention() {
  RetentionReport report;
  if (options_.read_only) return report;
  std::vector<std::shared_ptr<SealedShard>> doomed;
  const uint64_t target = GcTargetBytes();
  bool deleted_newest = false;
  {
    std::lock_guard lock(shards_mu_);
    // What the store may occupy before anything else is deleted: the sealed files, and each
    // unsealed shard's arrival-order file with the room its seal will need (the active one also
    // with the block it is filling).
    uint64_t total = 0, unsealed = 0;
    for (const auto& s : sealed_) {
      for (const auto& [p, n] : s->Files()) total += n;
    }
    for (const auto& s : sealing_) unsealed += s->segment_bytes();
    if (active_) unsealed += active_->segment_bytes();
    total += unsealed * (1 + kSealRoomFactor);
    if (active_) total += options_.writer.target_block_bytes;
    // Age is measured from the newest data, as Sloop does: a played-back capture or a restored
    // backup of last month is kept, not deleted the moment it is stored.
    int64_t newest = 0;
    for (const auto& s : sealed_) newest = std::max(newest, s->info().max_ns);
    for (const auto& s : sealing_) newest = std::max(newest, s->info().max_ns);
    if (active_) newest = std::max(newest, active_->info().max_ns);
    const int64_t horizon = newest - options_.max_look_back.count();
    while (!sealed_.empty()) {
      // The shard whose newest record is oldest goes first (shards may overlap in time once
      // -shard-duration has changed).
      auto victim =
          std::min_element(sealed_.begin(), sealed_.end(), [](const auto& a, const auto& b) {
            auto ia = a->info(), ib = b->info();
            return std::tie(ia.max_ns, ia.id) < std::tie(ib.max_ns, ib.id);
          });
      ShardInfo oldest = (*victim)->info();
      bool too_big = total > target;
      bool too_old = std::max(oldest.max_ns, oldest.window_start_ns) < horizon;
      if (!too_big && !too_old) break;
      uint64_t bytes = oldest.segment_bytes + oldest.index_bytes;
      total -= std::min(total, bytes);
      report.bytes_freed += bytes;
      report.records_deleted += oldest.records;
      report.size_limit_hit |= too_big;
      ++report.shards_deleted;
      deleted_newest |= too_big && !too_old && oldest.max_ns >= newest;
      doomed.push_back(*victim);
      sealed_.erase(victim);
    }
    // Really over, not only short of the room reserved for seals: only the unsealed shards are
    // left, and the caller seals the active one early.
    report.over_limit = sealed_.empty() && unsealed > target;
  }
  for (const auto& shard : doomed) {
    // Unlinked now, so disk use falls now; queries that hold the shard keep reading their open
    // descriptors and mappings until they finish.
    for (const auto& [path, n] : shard->Files()) {
      std::error_code ec;
      std::filesystem::remove(path, ec);
    }
    Log("retention deleted shard " + std::to_string(shard->info().id));
  }
  if (deleted_newest) {
    Log("DISK LIMIT: retention deleted the newest sealed history to stay under " +
        std::to_string(target >> 10) + " KiB; -max-disk-mb is too small for this cluster");
  }
  evictions_.fetch_add(report.shards_deleted);
  evicted_bytes_.fetch_add(report.bytes_freed);
  return report;
}

Result<RetentionReport> Store::Maintain() {
  maintenance_running_ = true;
  auto started = std::chrono::steady_clock::now();
  auto r = MaintainOnce();
  last_maintenance_seconds_ =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  ++maintenance_runs_;
  if (r) {
    last_maintenance_deleted_ = r->shards_deleted;
    last_maintenance_records_deleted_ = r->records_deleted;
    last_maintenance_over_limit_ = r->size_limit_hit || r->over_limit;
  } else {
    ++maintenance_failures_;
  }
  maintenance_running_ = false;
  return r;
}

Result<RetentionReport> Store::MaintainOnce() {
  std::vector<std::shared_ptr<ActiveShard>> pending;
  {
    std::lock_guard lock(append_mu_);
    std::shared_ptr<ActiveShard> active;
    {
      std::lock_guard s(shards_mu_);
      active = active_;
    }
    // A window that closed with no record arriving after it: seal it now.
    if (active && Now() >= active->window_end_ns()) {
      if (auto r = RotateLocked(0); !r) return std::unexpected(r.error());
    }
    std::lock_guard s(shards_mu_);
    pending = sealing_;
  }
  for (auto& shard : pending) {
    if (auto r = SealShard(shard); !r) return std::unexpected(r.error());
  }
  return EnforceRetention();
}

void Store::BackgroundLoop() {
  auto last_cleanup = std::chrono::steady_clock::now();
  auto maintain_retry_at = last_cleanup;
  std::chrono::milliseconds maintain_backoff{0};
  std::unique_lock lock(bg_mu_);
  while (!stopping_) {
    bg_cv_.wait_for(lock, std::chrono::seconds(1));
    if (stopping_) break;
    lock.unlock();
    std::vector<std::shared_ptr<ActiveShard>> pending;
    {
      std::lock_guard s(shards_mu_);
      pending = sealing_;
    }
    for (auto& shard : pending) {
      (void)SealShard(shard);
      std::lock_guard s(shards_mu_);
      sealed_cv_.notify_all();
    }
    if (!pending.empty()) {
      // The sealed shards' in-memory indexes are freed here; hand the pages back to the system
      // so that resident memory follows the configured budget rather than its high-water mark.
      pending.clear();
      malloc_trim(0);
    }
    bool window_closed = false;
    {
      std::lock_guard s(shards_mu_);
      window_closed = active_ && Now() >= active_->window_end_ns();
    }
    // The disk limit holds between clean-ups too (cheap: sums the sizes the shards know).
    if (auto r = EnforceRetention(); !r) Log("retention: " + r.error().ToString());
    auto now = std::chrono::steady_clock::now();
    if ((window_closed && now >= maintain_retry_at) ||
        now - last_cleanup >= options_.cleanup_interval) {
      last_cleanup = now;
      auto r = Maintain();
      if (!r) {
        // A shard that cannot be finished (its last block does not fit on a full disk) is not
        // tried again every second: back off as for seals, and log once per step.
        maintain_backoff = NextBackoff(maintain_backoff, options_);
        maintain_retry_at = now + maintain_backoff;
        Log("maintenance failed, tried again in " + Seconds(maintain_backoff) + ": " +
            r.error().ToString());
      } else {
        maintain_backoff = std::chrono::milliseconds(0);
      }
      std::lock_guard s(shards_mu_);
      sealed_cv_.notify_all();
    }
    lock.lock();
  }
}

void Store::KickFlusher() {
  {
    std::lock_guard lock(flush_mu_);
    flush_kick_ = true;
  }
  flush_cv_.notify_one();
}

void Store::FlushLoop() {
  using Clock = std::chrono::steady_clock;
  std::chrono::milliseconds backoff{0};  // after a failed write, as for seals
  std::unique_lock lock(flush_mu_);
  while (!flush_stop_) {
    flush_kick_ = false;
    lock.unlock();
    std::shared_ptr<ActiveShard> active;
    {
      std::lock_guard s(shards_mu_);
      active = active_;
    }
    Clock::time_point due = Clock::time_point::max();
    if (active) {
      // Only the shard's own lock: a rotation holding append_mu_ (sealing the shard before)
      // must not hold up the timer.
      const auto now = Clock::now();
      if (auto r = active->FlushAged(now, &due); !r) {
        backoff = NextBackoff(backoff, options_);
        due = now + backoff;
        Log("writing out the active shard's recent records failed; they stay in memory (queries "
            "read them) and it is tried again in " +
            Seconds(backoff) + ": " + r.error().ToString());
      } else if (backoff.count()) {
        backoff = std::chrono::milliseconds(0);
        Log("writing out the active shard's records works again");
      }
    }
    active.reset();
    lock.lock();
    if (flush_stop_) break;
    if (flush_kick_) continue;
    auto woken = [&] { return flush_stop_ || flush_kick_; };
    if (due == Clock::time_point::max()) {
      flush_cv_.wait(lock, woken);
    } else {
      flush_cv_.wait_until(lock, due, woken);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Queries

std::vector<std::shared_ptr<const Shard>> Store::Snapshot() const {
  std::vector<std::shared_ptr<const Shard>> out;
  std::lock_guard lock(shards_mu_);
  out.reserve(sealed_.size() + sealing_.size() + 1);
  for (const auto& s : sealed_) out.push_back(s);
  for (const auto& s : sealing_) out.push_back(s);
  if (active_) out.push_back(active_);
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return TimeOrderLess(a->info(), b->info());
  });
  return out;
}

namespace {

// Copies of the strings a timeline's rows point to, made once per query into its arena. Kinds,
// namespaces, API groups and reasons repeat across rows: one copy each.
class TimelineStrings {
 public:
  explicit TimelineStrings(std::pmr::memory_resource* arena) : arena_(arena), keys_(arena) {}

  std::string_view Intern(std::string_view s) { return keys_.Intern(s); }
  // Entries come in key order: the kind and the namespace are almost always the last ones.
  ResourceKeyView Key(const ResourceKeyView& k) {
    if (k.kind != last_kind_) last_kind_ = keys_.Intern(k.kind);
    if (k.namespace_ != last_namespace_) last_namespace_ = keys_.Intern(k.namespace_);
    return {last_kind_, last_namespace_, keys_.Copy(k.name), keys_.Copy(k.uid)};
  }
  // Siblings (the Pods of a ReplicaSet) are neighbours in key order and share their owners.
  std::span<const OwnerView> Owners(std::span<const OwnerView> seen) {
    if (!Same(last_owners_, seen)) {
      auto* out = static_cast<OwnerView*>(
          arena_->allocate(seen.size() * sizeof(OwnerView), alignof(OwnerView)));
      for (size_t i = 0; i < seen.size(); ++i) {
        out[i] = OwnerView{keys_.Intern(seen[i].kind), keys_.Copy(seen[i].name),
                           keys_.Copy(seen[i].uid), seen[i].controller};
      }
      last_owners_ = {out, seen.size()};
    }
    return last_owners_;
  }
  static bool Same(std::span<const OwnerView> a, std::span<const OwnerView> b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      if (a[i].uid != b[i].uid || a[i].name != b[i].name || a[i].kind != b[i].kind ||
          a[i].controller != b[i].controller) {
        return false;
      }
    }
    return true;
  }

 private:
  std::pmr::memory_resource* arena_;
  KeyArena keys_;
  std::string_view last_kind_, last_namespace_;
  std::span<const OwnerView> last_owners_;
};

}  // namespace

Result<TimelineResult> Store::Timeline(const TimelineQuery& q) const {
  if (q.range.end_ns < q.range.start_ns) {
    return MakeError(ErrorCode::kInvalidArgument, "timeline: the range ends before it starts");
  }
  TimelineResult result;
  result.arena = std::make_unique<std::pmr::monotonic_buffer_resource>(256 << 10);
  std::pmr::memory_resource* arena = result.arena.get();
  TimelineStrings strings(arena);
  // Every row, in the order it was first seen, and their indices in key order. Each shard yields
  // its entries in key order, so a shard is merged into the rows in one pass: one comparison of
  // keys per entry, and rows never move while they are built.
  std::vector<TimelineRow> rows;
  std::vector<uint32_t> order, next;
  auto shards = Snapshot();
  uint64_t most = 0;
  for (const auto& shard : shards) most = std::max(most, shard->info().resources);
  rows.reserve(std::min<uint64_t>(most, kTimelineScanCap));
  const int64_t now = Now();
  const uint32_t lo_sec = static_cast<uint32_t>(std::max<int64_t>(0, q.range.start_ns / kNsPerSec));
  const uint32_t hi_sec = static_cast<uint32_t>(std::max<int64_t>(0, q.range.end_ns / kNsPerSec));

  EntryFilter filter;
  filter.kind = q.kind;
  filter.skip_events = q.kind.empty();  // Events are heat on other rows, not rows of their own
  if (!q.kind.empty() && q.kind != "Namespace") filter.namespace_ = q.namespace_;
  // Per row: alive at the end of the last shard scanned, and the last shard that had an entry.
  std::vector<uint8_t> alive;
  std::vector<uint32_t> seen_in;
  alive.reserve(rows.capacity());
  seen_in.reserve(rows.capacity());
  uint32_t serial = 0;
  bool previous_scanned = false;
  auto cancelled = [&] { return q.cancel && q.cancel->load(std::memory_order_relaxed); };
  uint32_t visited = 0;
  for (const auto& shard : shards) {
    if (cancelled()) return MakeError(ErrorCode::kAborted, "timeline: cancelled");
    ShardInfo info = shard->info();
    if (!Overlaps(info, q.range)) {
      previous_scanned = false;
      continue;
    }
    ++serial;
    // A resource not deleted in a shard lived on to the shard's end (or to now, while active).
    int64_t alive_until = info.sealed ? std::max(info.window_end_ns, info.max_ns)
                                      : std::max(std::min(now, info.window_end_ns), info.max_ns);
    // Every resource alive at the end of a shard is carried into the next one (Events only for a
    // while: not when they are asked for), and an entry carried with nothing new (no record, no
    // Event) says only that the resource lived on: such entries are left out and their rows
    // extended below, rather than read one by one.
    const bool infer = previous_scanned && q.kind != "Event";
    filter.skip_unchanged = infer;
    previous_scanned = true;
    next.clear();
    next.reserve(order.size());
    size_t pos = 0;  // rows before order[pos] have keys below the entry's
    shard->ForEachEntry(filter, true, [&](const EntryView& e) {
      if ((++visited & 4095) == 0 && cancelled()) return false;
      if (q.kind.empty() && e.key.kind == "Event") return true;
      if (!q.namespace_.empty() && e.key.namespace_ != q.namespace_) {
        bool namespace_row = e.key.kind == "Namespace" && e.key.name == q.namespace_;
        bool cluster_scoped_asked = e.key.namespace_.empty() && !q.kind.empty();
        if (!namespace_row && !cluster_scoped_asked) return true;
      }
      if (!q.name_match.empty() && e.key.name.find(q.name_match) == std::string_view::npos) {
        return true;
      }
      if (!q.name_exact.empty() && !EqualsIgnoreCase(e.key.name, q.name_exact)) return true;
      int64_t begin, end;
      if (e.flags & kEventOnly) {
        if (e.heat.empty()) return true;
        begin = int64_t(e.heat.front().minute) * 60 * kNsPerSec;
        end = int64_t(e.heat.back().minute + 1) * 60 * kNsPerSec;
      } else {
        begin = e.creation_ns ? std::min(e.creation_ns, e.first_ns) : e.first_ns;
        end = (e.flags & kDeletedInShard) ? e.last_ns : alive_until;
      }
      // The rows before the entry's go through as they are, found by galloping: the entries
      // of a shard after the first are few (the unchanged ones are left out), the rows many.
      auto before = [&](uint32_t row) { return rows[row].key < e.key; };
      size_t past = pos;
      if (past < order.size() && before(order[past])) {
        size_t bound = 1;
        while (pos + bound < order.size() && before(order[pos + bound])) bound *= 2;
        past = std::partition_point(order.begin() + pos + bound / 2 + 1,
                                    order.begin() + std::min(order.size(), pos + bound), before) -
               order.begin();
      }
      next.insert(next.end(), order.begin() + pos, order.begin() + past);
      pos = past;
      auto cmp =
          pos < order.size() ? rows[order[pos]].key <=> e.key : std::strong_ordering::greater;
      uint32_t index;
      if (cmp == 0) {
        index = order[pos++];
      } else {
        if (rows.size() >= kTimelineScanCap) {
          result.truncated = true;
          return true;
        }
        index = static_cast<uint32_t>(rows.size());
        TimelineRow& fresh = rows.emplace_back();
        fresh.key = strings.Key(e.key);
        fresh.start_ns = INT64_MAX;  // begin and end while the rows are built
        fresh.end_ns = 0;
        alive.push_back(0);
        seen_in.push_back(0);
      }
      next.push_back(index);
      seen_in[index] = serial;
      if (!(e.flags & kEventOnly)) alive[index] = !(e.flags & kDeletedInShard);
      TimelineRow& r = rows[index];
      r.start_ns = std::min(r.start_ns, begin);
      if (!(e.flags & kEventOnly) || r.end_ns == 0) {
        // Later shards come later in the snapshot: the newest word on the resource wins.
        r.end_ns = std::max(end, (e.flags & kDeletedInShard) ? end : r.end_ns);
        if (!(e.flags & kEventOnly)) r.deleted = e.flags & kDeletedInShard;
      } else {
        r.end_ns = std::max(r.end_ns, end);
      }
      // The same facts come again from every shard the resource lived through: copy on change.
      if (!e.api_version.empty() && r.api_version != e.api_version) {
        r.api_group = strings.Intern(e.api_group);
        r.api_version = strings.Intern(e.api_version);
      }
      if (e.creation_ns) r.creation_ns = e.creation_ns;
      if (!e.owners.empty() && !TimelineStrings::Same(r.owners, e.owners)) {
        r.owners = strings.Owners(e.owners);
      }
      for (uint32_t s : e.change_secs) {
        if (s >= lo_sec && s <= hi_sec) r.changed_at.push_back(s, arena);
      }
      for (uint32_t s : e.nochange_secs) {
        if (s >= lo_sec && s <= hi_sec) r.nochange_at.push_back(s, arena);
      }
      for (const HeatView& h : e.heat) {
        int64_t m = int64_t(h.minute) * 60;
        if (m + 60 <= lo_sec || m > hi_sec) continue;
        r.heat.push_back(HeatCell{m, strings.Intern(h.reason), h.severity, h.count}, arena);
      }
      return true;
    });
    if (cancelled()) return MakeError(ErrorCode::kAborted, "timeline: cancelled");
    next.insert(next.end(), order.begin() + pos, order.end());
    order.swap(next);
    if (infer) {
      for (uint32_t index : order) {
        if (seen_in[index] != serial && alive[index]) {
          rows[index].end_ns = std::max(rows[index].end_ns, alive_until);
        }
      }
    }
  }

  // The rows in range, finished in place, then sorted through their indices.
  std::vector<uint32_t> kept;
  kept.reserve(rows.size());
  for (uint32_t index : order) {
    TimelineRow& row = rows[index];
    if (row.start_ns > q.range.end_ns || row.end_ns < q.range.start_ns) continue;
    int64_t begin = row.start_ns, end = row.end_ns;
    row.start_ns = std::max(begin, q.range.start_ns);
    row.end_ns = std::min(std::max(end, begin), q.range.end_ns);
    if (row.deleted && end > q.range.end_ns) row.deleted = false;
    auto dedupe = [](ArenaList<uint32_t>& v) {
      std::sort(v.begin(), v.end());
      v.truncate(static_cast<size_t>(std::unique(v.begin(), v.end()) - v.begin()));
    };
    dedupe(row.changed_at);
    dedupe(row.nochange_at);
    if (row.heat.size() > 1) {
      std::sort(row.heat.begin(), row.heat.end(), [](const HeatCell& a, const HeatCell& b) {
        return std::tie(a.minute_unix, a.reason, a.severity) <
               std::tie(b.minute_unix, b.reason, b.severity);
      });
      size_t n = 0;
      for (const HeatCell& h : row.heat) {
        if (n && row.heat[n - 1].minute_unix == h.minute_unix &&
            row.heat[n - 1].reason == h.reason && row.heat[n - 1].severity == h.severity) {
          row.heat[n - 1].count += h.count;
        } else {
          row.heat[n++] = h;
        }
      }
      row.heat.truncate(n);
    }
    for (const HeatCell& h : row.heat) {
      row.events += h.count;
      if (h.severity == EventSeverity::kWarning) row.warnings += h.count;
    }
    kept.push_back(index);
  }
  result.matched = kept.size();
  // kept is in key order: its positions stand in for the keys as the tie-breaker, so that most
  // comparisons are of integers.
  struct Sortable {
    int64_t first;
    uint32_t rank;
    uint32_t index;
    bool operator<(const Sortable& o) const {
      return std::tie(first, rank) < std::tie(o.first, o.rank);
    }
  };
  auto sort = [&](auto& items, auto less) {
    if (items.size() > q.limit) {
      std::partial_sort(items.begin(), items.begin() + q.limit, items.end(), less);
      items.resize(q.limit);
      result.truncated = true;
    } else {
      std::sort(items.begin(), items.end(), less);
    }
  };
  if (q.sort == TimelineSort::kName) {
    sort(kept, [&](uint32_t a, uint32_t b) {
      const TimelineRow &x = rows[a], &y = rows[b];
      return std::tie(x.key.name, x.key.namespace_, x.key.kind, x.start_ns) <
             std::tie(y.key.name, y.key.namespace_, y.key.kind, y.start_ns);
    });
  } else {
    std::vector<Sortable> items(kept.size());
    for (uint32_t i = 0; i < kept.size(); ++i) {
      const TimelineRow& row = rows[kept[i]];
      int64_t first = q.sort == TimelineSort::kStart
                          ? row.start_ns
                          : -static_cast<int64_t>(std::min<uint64_t>(row.events, INT64_MAX));
      items[i] = Sortable{first, i, kept[i]};
    }
    sort(items, std::less<>());
    kept.resize(items.size());
    for (size_t i = 0; i < items.size(); ++i) kept[i] = items[i].index;
  }
  // Rows go to their places in `rows` itself, each moved once along the cycles of the
  // permutation (the rows left out take the places after the kept ones, then go): no second
  // buffer of rows to fault in, fill and free.
  const size_t n = kept.size();
  {
    std::vector<uint8_t> in_kept(rows.size(), 0);
    for (uint32_t index : kept) in_kept[index] = 1;
    for (uint32_t index = 0; index < rows.size(); ++index) {
      if (!in_kept[index]) kept.push_back(index);
    }
  }
  std::vector<uint8_t> placed(rows.size(), 0);
  for (size_t i = 0; i < rows.size(); ++i) {
    if (placed[i] || kept[i] == i) {
      placed[i] = 1;
      continue;
    }
    TimelineRow held = std::move(rows[i]);
    size_t j = i;
    for (;;) {
      placed[j] = 1;
      size_t from = kept[j];
      if (from == i) {
        rows[j] = std::move(held);
        break;
      }
      rows[j] = std::move(rows[from]);
      j = from;
    }
  }
  rows.erase(rows.begin() + static_cast<std::ptrdiff_t>(n), rows.end());
  result.rows = std::move(rows);
  return result;
}

Result<void> Store::History(const ResourceKeyView& key, const TimeRange& range,
                            bool include_previous, const RecordFn& fn) const {
  auto shards = Snapshot();
  if (include_previous) {
    std::optional<StoredRecord> previous;
    for (auto it = shards.rbegin(); it != shards.rend() && !previous; ++it) {
      ShardInfo info = (*it)->info();
      if (!info.records || info.min_ns >= range.start_ns) continue;
      auto r = (*it)->ForEachRecord(key, [&](const RecordView& rec) {
        if (rec.observed_ns < range.start_ns &&
            (!previous || rec.observed_ns >= previous->observed_ns)) {
          previous = StoredRecord::From(rec);
        }
        return true;
      });
      if (!r) return r;
    }
    if (previous && !fn(previous->view())) return {};
  }
  bool stopped = false;
  for (const auto& shard : shards) {
    if (stopped) break;
    ShardInfo info = shard->info();
    if (!info.records || info.max_ns < range.start_ns || info.min_ns > range.end_ns) continue;
    auto r = shard->ForEachRecord(key, [&](const RecordView& rec) {
      if (rec.observed_ns < range.start_ns || rec.observed_ns > range.end_ns) return true;
      if (!fn(rec)) {
        stopped = true;
        return false;
      }
      return true;
    });
    if (!r) return r;
  }
  return {};
}

Result<std::optional<StoredRecord>> Store::PayloadAt(const ResourceKeyView& key,
                                                     int64_t t_ns) const {
  auto shards = Snapshot();
  std::optional<StoredRecord> found;
  for (auto it = shards.rbegin(); it != shards.rend() && !found; ++it) {
    ShardInfo info = (*it)->info();
    if (!info.records || info.min_ns > t_ns) continue;
    auto r = (*it)->ForEachRecord(key, [&](const RecordView& rec) {
      if (rec.observed_ns <= t_ns && (!found || rec.observed_ns >= found->observed_ns)) {
        found = StoredRecord::From(rec);
      }
      return true;
    });
    if (!r) return std::unexpected(r.error());
  }
  return found;
}

Result<void> Store::Events(const ResourceKeyView& involved, const TimeRange& range,
                           const RecordFn& fn) const {
  bool stopped = false;
  for (const auto& shard : Snapshot()) {
    if (stopped) break;
    ShardInfo info = shard->info();
    if (!info.records || info.max_ns < range.start_ns || info.min_ns > range.end_ns) continue;
    auto r = shard->ForEachEventAbout(involved, [&](const RecordView& rec) {
      if (rec.observed_ns < range.start_ns || rec.observed_ns > range.end_ns) return true;
      if (!fn(rec)) {
        stopped = true;
        return false;
      }
      return true;
    });
    if (!r) return r;
  }
  return {};
}

std::vector<std::string> Store::Namespaces(const TimeRange& range) const {
  std::set<std::string> out;
  for (const auto& shard : Snapshot()) {
    if (!Overlaps(shard->info(), range)) continue;
    for (auto& n : shard->Namespaces()) out.insert(std::move(n));
  }
  return {out.begin(), out.end()};
}

std::vector<std::string> Store::Kinds(const TimeRange& range) const {
  std::set<std::string> out;
  for (const auto& shard : Snapshot()) {
    if (!Overlaps(shard->info(), range)) continue;
    for (auto& k : shard->Kinds()) out.insert(std::move(k));
  }
  return {out.begin(), out.end()};
}

std::vector<SearchHit> Store::Search(std::string_view needle, std::string_view kind,
                                     size_t limit) const {
  std::map<ResourceKey, SearchHit, ResourceKeyLess> hits;
  auto shards = Snapshot();
  const int64_t now = Now();
  EntryFilter filter;
  filter.kind = kind;
  filter.skip_events = kind.empty();
  filter.name_contains = needle;  // both kinds of shard apply it
  for (auto it = shards.rbegin(); it != shards.rend(); ++it) {
    ShardInfo info = (*it)->info();
    // A resource carried unchanged through a shard was seen, with the same facts, in the shard
    // it was last recorded in and in the newest shard: only the newest needs its carried entries.
    filter.skip_carried = it != shards.rbegin();
    int64_t alive_until = info.sealed ? std::max(info.window_end_ns, info.max_ns)
                                      : std::max(std::min(now, info.window_end_ns), info.max_ns);
    (*it)->ForEachEntry(filter, false, [&](const EntryView& e) {
      if ((e.flags & kEventOnly) || (kind.empty() && e.key.kind == "Event")) return true;
      auto h = hits.find(e.key);
      if (h == hits.end()) {
        // Newest shards come first: past the limit, older resources are left out.
        if (hits.size() >= limit) return true;
        SearchHit hit;
        hit.key = ResourceKey(e.key);
        hit.deleted = e.flags & kDeletedInShard;
        hit.last_ns = hit.deleted ? e.last_ns : std::min(alive_until, now);
        hit.first_ns = e.first_ns;
        hit.creation_ns = e.creation_ns;
        hits.emplace(hit.key, std::move(hit));
      } else {
        h->second.first_ns = std::min(h->second.first_ns, e.first_ns);
        if (e.creation_ns) h->second.creation_ns = e.creation_ns;
      }
      return true;
    });
  }
  std::vector<SearchHit> out;
  out.reserve(hits.size());
  for (auto& [k, h] : hits) out.push_back(std::move(h));
  std::sort(out.begin(), out.end(), [](const SearchHit& a, const SearchHit& b) {
    return std::tie(b.last_ns, a.key) < std::tie(a.last_ns, b.key);
  });
  return out;
}

std::vector<ShardInfo> Store::Shards() const {
  std::vector<ShardInfo> out;
  for (const auto& s : Snapshot()) out.push_back(s->info());
  return out;
}

std::optional<std::string> Store::LastPayload(std::string_view api_group, std::string_view kind,
                                              std::string_view namespace_, std::string_view name,
                                              std::string_view uid, int64_t t_ns) const {
  auto r = PayloadAt(ResourceKeyView{kind, namespace_, name, uid}, t_ns);
  if (!r || !*r || (*r)->api_group != api_group) return std::nullopt;
  return std::move((*r)->payload);
}

StoreStats Store::Stats() const {
  StoreStats st;
  for (const auto& s : Snapshot()) {
    ShardInfo i = s->info();
    st.corrupt_blocks_skipped += s->corrupt_blocks_skipped();
    ++st.shards;
    if (i.sealed) {
      ++st.sealed_shards;
      st.disk_bytes += i.segment_bytes + i.index_bytes;
    } else {
      st.disk_bytes += i.segment_bytes;
      st.memory_bytes += i.index_bytes;
    }
    st.records_held += i.records;
    if (i.records) {
      if (!st.oldest_ns || i.min_ns < st.oldest_ns) st.oldest_ns = i.min_ns;
      st.newest_ns = std::max(st.newest_ns, i.max_ns);
    }
  }
  st.records_appended = records_appended_.load();
  st.evictions = evictions_.load();
  st.evicted_bytes = evicted_bytes_.load();
  st.seals = seals_.load();
  st.seal_failures = seal_failures_.load();
  st.recovered_bytes_dropped = recovered_bytes_dropped_;
  st.recovered_corrupt_blocks = recovered_corrupt_blocks_;
  st.damaged_files_set_aside = damaged_files_;
  st.indexes_rebuilt = indexes_rebuilt_;
  st.maintenance_runs = maintenance_runs_.load();
  st.maintenance_failures = maintenance_failures_.load();
  st.maintenance_running = maintenance_running_.load();
  st.last_maintenance_seconds = last_maintenance_seconds_.load();
  st.last_maintenance_deleted = last_maintenance_deleted_.load();
  st.last_maintenance_records_deleted = last_maintenance_records_deleted_.load();
  st.last_maintenance_over_limit = last_maintenance_over_limit_.load();
  return st;
}

Result<std::vector<Store::BackupFile>> Store::SnapshotForBackup() {
  std::vector<BackupFile> files;
  std::lock_guard lock(append_mu_);
  std::lock_guard s(shards_mu_);
  for (const auto& shard : sealed_) {
    for (const auto& [path, size] : shard->Files()) {
      files.push_back(BackupFile{"shards/" + path.filename().string(), path, size, shard});
    }
  }
  auto add_active = [&](const std::shared_ptr<ActiveShard>& shard) -> Result<void> {
    if (auto f = shard->Flush(); !f) return f;
    files.push_back(BackupFile{"shards/" + shard->path().filename().string(), shard->path(),
                               shard->segment_bytes(), shard});
    return {};
  };
  for (const auto& shard : sealing_) {
    if (auto r = add_active(shard); !r) return std::unexpected(r.error());
  }
  if (active_) {
    if (auto r = add_active(active_); !r) return std::unexpected(r.error());
  }
  return files;
}

}  // namespace sloop
