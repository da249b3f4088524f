#include "engine/store.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <functional>
#include <map>
#include <set>

#include "base/log.h"
#include "engine/backup.h"
#include "engine/store_internal.h"
#include "index/index_reader.h"
#include "segments/segment_format.h"

namespace sloop {

namespace store_internal {

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

Result<void> Rename(const std::filesystem::path& from, const std::filesystem::path& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    return IOError("rename " + from.string() + " to", to.string(), errno);
  }
  return {};
}

}  // namespace store_internal

using namespace store_internal;

namespace {

int64_t SystemNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
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
// Open, recover, close

Store::Store(StoreOptions options) : options_(std::move(options)) {
  if (!options_.now_ns) {
    options_.now_ns = SystemNowNs;
    if (!options_.boot_ns) {
      options_.boot_ns = [] {
        timespec t{};
        ::clock_gettime(CLOCK_BOOTTIME, &t);
        return int64_t{t.tv_sec} * 1'000'000'000 + t.tv_nsec;
      };
    }
  }
  if (options_.boot_ns) wall_minus_boot_at_open_ = options_.now_ns() - options_.boot_ns();
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

  // A sealed shard's index may read keys in another shard's (docs/format/index.md): that one
  // opens first. A shard whose base does not open cannot open either, and is rebuilt from its
  // segment like any shard with a damaged index.
  SealedShardOpener opener(dir, [&](uint64_t base) {
    auto f = files.find(base);
    return f != files.end() && f->second.count(".seg") && f->second.count(".idx");
  });

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
      auto shard = opener.Open(id);
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
        if (IndexReader::BaseUnusable(shard.error())) {
          // Whole itself, but of no use without its base: nothing to keep aside (a copy would
          // be disk that no limit counts, for each shard of a chain behind a damaged base).
          Log("shard " + std::to_string(id) + ": " + shard.error().message +
              "; rebuilding its index from " + seg.string());
          std::error_code ec;
          std::filesystem::remove(idx, ec);
          if (ec) Log("cannot remove " + idx.string() + ": " + ec.message());
        } else {
          set_aside(idx, shard.error().ToString() + "; rebuilding it from " + seg.string());
        }
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
      // Nothing to read, and nothing to keep: an index is derived from its segment. Retention
      // leaves one when the process dies between its two unlinks (the segment goes first).
      if (!options_.read_only) {
        std::error_code ec;
        std::filesystem::remove(idx, ec);
        Log("removed " + idx.string() + ": an index without its segment (nothing to read)");
      }
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

  std::vector<std::shared_ptr<ActiveShard>> reopened;
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
    reopened.push_back(*shard);
  }
  // Resources alive before a shard that it did not touch are carried over from the shard just
  // before it in time: a sealed one, or one reopened here. Not the newest sealed shard: after
  // a crash between the close of a shard and its seal, two are reopened and the second follows
  // the first; and a shard whose index is rebuilt from its segment may be older than every
  // sealed one. In time order, so that each has its own carry-over before the next copies it.
  std::sort(reopened.begin(), reopened.end(),
            [](const auto& a, const auto& b) { return TimeOrderLess(a->info(), b->info()); });
  std::shared_ptr<ActiveShard> previous;
  for (const auto& shard : reopened) {
    const ShardInfo info = shard->info();
    const Shard* from = previous.get();
    for (auto it = sealed_.rbegin(); it != sealed_.rend(); ++it) {
      const ShardInfo before = (*it)->info();
      if (!TimeOrderLess(before, info)) continue;
      if (!previous || TimeOrderLess(previous->info(), before)) from = it->get();
      break;
    }
    if (from) shard->CarryOver(*from);
    sealing_.push_back(shard);
    previous = shard;
  }
  if (!sealing_.empty()) {
    Log("recovered " + std::to_string(sealing_.size()) + " unsealed shard(s)" +
        (recovered_bytes_dropped_
             ? ", dropped a torn tail of " + std::to_string(recovered_bytes_dropped_) + " bytes"
             : ""));
  }
  if (options_.read_only) return {};
  // The newest unsealed shard keeps taking records if its window is still open, and if it is
  // newer than every sealed one: a shard whose index is rebuilt from its segment may be older
  // than shards sealed after it in the same window (a shard sealed early by its size), and
  // records appended to it would then sit behind newer ones (a payload or a carry-over read
  // from the newest shard would miss them).
  if (!sealing_.empty()) {
    auto newest = sealing_.back();
    const bool newer_than_sealed = std::all_of(
        sealed_.begin(), sealed_.end(),
        [&](const auto& sealed) { return TimeOrderLess(sealed->info(), newest->info()); });
    if (newer_than_sealed && Now() < newest->window_end_ns()) {
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
    if (!pending.empty()) RebaseIndexes();
  }
  std::lock_guard lock(bg_mu_);
  closed_ = true;
  return result;
}

}  // namespace sloop
