#include <algorithm>
#include <string>

#include "engine/store.h"
#include "engine/store_internal.h"

namespace sloop {

using namespace store_internal;

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
  // The shard before in time: the newest of those waiting to be sealed and the sealed ones (a
  // shard whose index is rebuilt at start-up waits to be sealed again, but is older than them).
  std::shared_ptr<ActiveShard> unsealed;
  for (const auto& s : sealing_) {
    if (!unsealed || TimeOrderLess(unsealed->info(), s->info())) unsealed = s;
  }
  if (unsealed && (sealed_.empty() || TimeOrderLess(sealed_.back()->info(), unsealed->info()))) {
    // The shard before is about to be sealed: carry its live resources over lazily rather than
    // hold a second full copy of them while the seal runs (at rotation the peak of memory).
    (*shard)->DeferCarryOver(unsealed);
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
    auto sealed = SealShard(old);
    if (sealed) RebaseIndexes();
    return sealed;
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
  if (segment >= std::min(active_segment_cap_, volume_segment_cap_.load()) ||
      grown >= options_.active_index_cap_bytes) {
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

}  // namespace sloop
