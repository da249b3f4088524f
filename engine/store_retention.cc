#include <malloc.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <tuple>
#include <vector>

#include "engine/store.h"
#include "engine/store_internal.h"

namespace sloop {

using namespace store_internal;

// ---------------------------------------------------------------------------------------------
// Retention and background work

int64_t Store::NewestForAge(int64_t newest) {
  // Within a minute the clocks agree as far as retention cares (NTP slews, rounding).
  constexpr int64_t kSlack = 60'000'000'000;
  const int64_t ahead = clock_ahead_ns_.load();
  if (ahead > kSlack && newest > Now() - ahead) {
    // The API server says this clock is ahead: its records are stamped that far in the future,
    // and the time that has really passed is the server's.
    const int64_t trusted_now = Now() - ahead;
    if (std::abs(ahead - clock_ahead_logged_) > kSlack) {
      clock_ahead_logged_ = ahead;
      Log("CLOCK: this machine's clock is " + std::to_string(ahead / 1'000'000'000) +
          " s ahead of the API server's: retention by age counts from the server's time (" +
          std::to_string(trusted_now / 1'000'000'000) + " s), not from the newest record (" +
          std::to_string(newest / 1'000'000'000) +
          " s), keeping history that clock would "
          "delete. Set the clock right");
    }
    newest = trusted_now;
  }
  if (!options_.boot_ns) return newest;
  const int64_t now = Now();
  // How far the wall clock stepped forward since the store opened: the records stamped since
  // are that much ahead of the time that passed.
  const int64_t step = std::max<int64_t>(0, now - options_.boot_ns() - wall_minus_boot_at_open_);
  int64_t counted = newest;
  if (counted > now + kSlack) counted = now;  // a record ahead of the clock set right again
  if (step > kSlack) counted -= step;
  if (counted == newest) return newest;
  if (std::abs(step - clock_step_logged_) > kSlack || clock_step_logged_ == 0) {
    clock_step_logged_ = std::max<int64_t>(step, 1);
    Log("CLOCK: the newest record (" + std::to_string(newest / 1'000'000'000) +
        " s) is ahead of the time that has passed (the wall clock stepped forward " +
        std::to_string(step / 1'000'000'000) + " s since the store opened, now " +
        std::to_string(now / 1'000'000'000) + " s): retention by age counts from " +
        std::to_string(counted / 1'000'000'000) +
        " s instead, keeping history the step would delete. Set the clock right; after a "
        "restart with the right clock, age counts from the records again");
  }
  return counted;
}

int64_t Store::VolumeFreeBytes() const {
  if (options_.volume_free_bytes) return options_.volume_free_bytes();
  struct statvfs v{};
  if (::statvfs(ShardDir().c_str(), &v) != 0) return INT64_MAX;  // unknown: no pressure
  return static_cast<int64_t>(v.f_bavail) * static_cast<int64_t>(v.f_frsize);
}

Result<RetentionReport> Store::EnforceRetention() {
  RetentionReport report;
  if (options_.read_only) return report;
  // Read before the lock: a statvfs may wait on a slow disk.
  int64_t volume_free = VolumeFreeBytes();
  bool volume_full = false;
  std::vector<std::shared_ptr<SealedShard>> doomed;
  const uint64_t target = GcTargetBytes();
  bool deleted_newest = false;
  std::vector<std::pair<ShardInfo, const char*>> lost;  // deleted before they were uploaded
  {
    std::lock_guard lock(shards_mu_);
    // Space that deleted shards still held will give back: counted as free (see deleted_held_).
    std::erase_if(deleted_held_, [](const auto& d) { return d.first.expired(); });
    if (volume_free != INT64_MAX) {
      for (const auto& [shard, bytes] : deleted_held_) {
        volume_free = volume_free > INT64_MAX - static_cast<int64_t>(bytes)
                          ? INT64_MAX
                          : volume_free + static_cast<int64_t>(bytes);
      }
    }
    // What the store may occupy before anything else is deleted: the sealed files, and each
    // unsealed shard's arrival-order file with the room its seal will need (the active one also
    // with the block it is filling).
    // Shards are sealed one at a time, so the room the seals need is the largest one's, not
    // each one's: after a damaged base index, a whole chain of shards (up to eight) waits to be
    // sealed again, and counting room for each would delete the newest history to make it.
    uint64_t total = 0, unsealed = 0, largest = 0;
    for (const auto& s : sealed_) {
      for (const auto& [p, n] : s->Files()) total += n;
    }
    for (const auto& s : sealing_) {
      unsealed += s->segment_bytes();
      largest = std::max(largest, s->segment_bytes());
    }
    if (active_) {
      unsealed += active_->segment_bytes();
      largest = std::max(largest, active_->segment_bytes());
    }
    // The volume's room for the store (its files and the free space) caps the active shard as
    // -max-disk-mb does (Store::Open): the active shard and the one being sealed, each with the
    // room its seal needs, fit in it with the sealed shards deleted, so the store never wedges
    // with a seal that cannot finish and nothing left to delete.
    if (volume_free != INT64_MAX) {
      const uint64_t room =
          total + unsealed + static_cast<uint64_t>(std::max<int64_t>(0, volume_free));
      const auto fit = static_cast<uint64_t>(static_cast<double>(room) * options_.gc_threshold) /
                       (2 * (1 + kSealRoomFactor));
      const uint64_t cap = std::max<uint64_t>(fit, 4096);
      const uint64_t before = volume_segment_cap_.exchange(cap);
      if (cap < active_segment_cap_ && (before >= active_segment_cap_ || cap < before / 2)) {
        Log("the volume holds " + std::to_string(room >> 20) + " MiB for the store (less than " +
            "-max-disk-mb): the active shard is sealed at " + std::to_string(cap >> 10) +
            " KiB so that its seal always has room");
      }
    }
    total += unsealed + largest * kSealRoomFactor;
    if (active_) total += options_.writer.target_block_bytes;
    // Age is measured from the newest data, as Sloop does: a played-back capture or a restored
    // backup of last month is kept, not deleted the moment it is stored.
    int64_t newest = 0;
    for (const auto& s : sealed_) newest = std::max(newest, s->info().max_ns);
    for (const auto& s : sealing_) newest = std::max(newest, s->info().max_ns);
    if (active_) newest = std::max(newest, active_->info().max_ns);
    newest = NewestForAge(newest);
    const int64_t horizon = newest - options_.max_look_back.count();
    // Whether a shard is safely in the object store (always, without one).
    auto uploaded = [&](const ShardInfo& i) {
      return !options_.shard_uploaded || options_.shard_uploaded(i);
    };
    // A shard another one reads its index through goes after it (docs/format/index.md).
    auto is_base = [&](uint64_t id) {
      return std::any_of(sealed_.begin(), sealed_.end(),
                         [&](const auto& s) { return s->base_shard_id() == id; });
    };
    // What the seals still need on the volume beyond the files already written (their sorted
    // copy and index, and the block the active shard is filling), and a margin for the file
    // system.
    const int64_t needed =
        static_cast<int64_t>(largest * kSealRoomFactor) +
        (active_ ? static_cast<int64_t>(options_.writer.target_block_bytes) : 0) + (1 << 20);
    while (!sealed_.empty()) {
      // The shard whose newest record is oldest goes first (shards may overlap in time once
      // -shard-duration has changed).
      auto victim =
          std::min_element(sealed_.begin(), sealed_.end(), [](const auto& a, const auto& b) {
            auto ia = a->info(), ib = b->info();
            return std::tie(ia.max_ns, ia.id) < std::tie(ib.max_ns, ib.id);
          });
      ShardInfo oldest = (*victim)->info();
      const bool short_of_room = volume_free < needed;
      volume_full |= short_of_room;
      bool too_big = total > target || short_of_room;
      bool too_old = std::max(oldest.max_ns, oldest.window_start_ns) < horizon;
      if (!too_big && !too_old) break;
      if (!too_old && options_.shard_uploaded) {
        // By size with an object store: every uploaded shard (oldest first) before any that is
        // not, and of those the oldest last (newest first), so that the upload resumes where it
        // stopped with no gap behind it.
        std::vector<std::pair<std::tuple<bool, int64_t, uint64_t>, size_t>> order;
        for (size_t i = 0; i < sealed_.size(); ++i) {
          const ShardInfo si = sealed_[i]->info();
          const bool up = uploaded(si);
          order.push_back({{!up, up ? si.max_ns : -si.max_ns, up ? si.id : ~si.id}, i});
        }
        std::sort(order.begin(), order.end());
        size_t pick = order.front().second;
        for (const auto& [key, i] : order) {
          if (!is_base(sealed_[i]->info().id)) {
            pick = i;
            break;
          }
        }
        victim = sealed_.begin() + static_cast<std::ptrdiff_t>(pick);
        oldest = (*victim)->info();
      }
      if (!uploaded(oldest)) lost.emplace_back(oldest, too_old ? "-max-look-back" : "-max-disk-mb");
      uint64_t bytes = oldest.segment_bytes + oldest.index_bytes;
      total -= std::min(total, bytes);
      // Free once unlinked, and let go by its readers (INT64_MAX: the free space is unknown).
      volume_free = volume_free > INT64_MAX - static_cast<int64_t>(bytes)
                        ? INT64_MAX
                        : volume_free + static_cast<int64_t>(bytes);
      report.bytes_freed += bytes;
      report.records_deleted += oldest.records;
      report.size_limit_hit |= too_big;
      ++report.shards_deleted;
      // (Un-uploaded shards deleted are logged as such below.)
      deleted_newest |= too_big && !too_old && oldest.max_ns >= newest && uploaded(oldest);
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
  if (!doomed.empty()) {
    std::lock_guard lock(shards_mu_);
    for (const auto& shard : doomed) {
      uint64_t bytes = 0;
      for (const auto& [path, n] : shard->Files()) bytes += n;
      deleted_held_.emplace_back(shard, bytes);
    }
  }
  if (volume_full && report.shards_deleted > 0) {
    Log("DISK FULL: the volume of " + ShardDir().string() +
        " has less free space than the seals of the unsealed shards need; retention deleted the "
        "oldest " + std::to_string(report.shards_deleted) +
        " shard(s) so that the newest history keeps being recorded. Give the store a volume "
        "larger than -max-disk-mb, or lower -max-disk-mb");
  }
  if (deleted_newest) {
    Log("DISK LIMIT: retention deleted the newest sealed history to stay under " +
        std::to_string(target >> 10) + " KiB; -max-disk-mb is too small for this cluster");
  }
  for (const auto& [info, limit] : lost) {
    Log("UPLOAD BACKLOG LOST: retention (" + std::string(limit) + ") deleted shard " +
        std::to_string(info.id) + " (" + std::to_string(info.records) +
        " records) before it was uploaded to the object store; it is in no bucket. The object "
        "store has been unreachable longer than the local limits can hold");
  }
  unuploaded_shards_lost_.fetch_add(lost.size());
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
  auto retention = EnforceRetention();
  // Maintenance leaves no index to rewrite behind.
  while (RebaseIndexes() > 0) {
  }
  return retention;
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
    // Older indexes are rewritten against newer ones once what waited to be sealed is sealed
    // (and the appends waiting for the sealer went on): a pass a second, a few each.
    const bool rebased = RebaseIndexes() > 0;
    if (!pending.empty() || rebased) {
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

}  // namespace sloop
