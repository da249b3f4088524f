#include <algorithm>
#include <string>
#include <tuple>
#include <vector>

#include "engine/seal_faults.h"
#include "engine/sealer.h"
#include "engine/store.h"
#include "engine/store_internal.h"
#include "index/index_format.h"
#include "index/index_rebase.h"

namespace sloop {

using namespace store_internal;

void InjectSealFaultForTesting(Store& store, int step) { store.seal_fault_after_step_ = step; }

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
    return seal_fault_after_step_.load() == step
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
  auto sorted = WriteSortedSegment(
      shard->path(), seg_tmp, out_options, options_.seal_sort_budget_bytes,
      options_.sealed_dictionary_bytes,
      [&](const ResourceKeyView& key, const RecordLocation& loc, uint64_t ordinal) {
        while (summary != builder.summaries().end() && summary->first < key) {
          ++summary;
          ++j;
        }
        if (summary != builder.summaries().end() && summary->first == key) {
          positions[j] = {loc.block_offset, loc.index_in_block, ordinal};
        }
      },
      options_.sealed_event_block_bytes);
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
  if (options_.on_sealed) options_.on_sealed((*sealed)->info());
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

size_t Store::RebaseIndexes() {
  if (options_.read_only || !options_.rebase_indexes) return 0;
  // One pass at a time. Not under seal_mu_: a seal waiting meanwhile would hold an unsealed shard
  // (and the appends waiting for the sealer) for as long.
  std::lock_guard rebase_lock(rebase_mu_);
  std::vector<std::shared_ptr<SealedShard>> sealed;
  {
    std::lock_guard lock(shards_mu_);
    sealed = sealed_;  // in time order
  }
  // Oldest first, a few at a time (a store written whole by an earlier build is converted over
  // several passes, not all at once), and none while a shard waits to be sealed: sealing goes
  // first, the next pass goes on.
  size_t rebased = 0;
  for (size_t c = 0; c + kWholeNewestIndexes < sealed.size() && rebased < kRebasesPerPass; ++c) {
    {
      std::lock_guard lock(shards_mu_);
      if (!sealing_.empty()) break;
    }
    if (RebaseIndex(sealed, c)) ++rebased;
  }
  return rebased;
}

bool Store::RebaseIndex(std::vector<std::shared_ptr<SealedShard>>& sealed, size_t c) {
  const std::shared_ptr<SealedShard> shard = sealed[c];
  const std::shared_ptr<SealedShard> next = sealed[c + 1];
  const ShardInfo si = shard->info(), ni = next->info();
  if (rebase_failed_.contains(si.id)) return false;  // tried once by this process: logged
  // Not before it is in the bucket: an index read through a base cannot be read alone there.
  if (options_.shard_uploaded && !options_.shard_uploaded(si)) return false;
  if (shard->base_shard_id() != 0 ||
      !index_format::Columnar(shard->opened_index()->format_version()) ||
      !index_format::Columnar(next->opened_index()->format_version())) {
    return false;  // read through a base already, or of a format without bases
  }
  // Retention deletes by newest record: a base must outlive the shards that read it.
  if (std::tie(ni.max_ns, ni.id) <= std::tie(si.max_ns, si.id)) return false;
  // The shards before that read through this one: each gets one more base to read through,
  // and the bases `next` reads through itself (none but when it was rewritten first: this one
  // waited for its upload, or for a retry after a restart).
  size_t chain = 0;
  while (chain < c && sealed[c - chain - 1]->base_shard_id() == sealed[c - chain]->info().id) {
    ++chain;
  }
  size_t after = 0;
  while (c + 2 + after < sealed.size() &&
         sealed[c + 1 + after]->base_shard_id() == sealed[c + 2 + after]->info().id) {
    ++after;
  }
  // It stays whole: the chains before end here.
  if (chain + 1 + after > kMaxBaseChain) return false;
  const auto tmp = std::filesystem::path(shard->index_path()) += ".tmp";
  auto fail = [&](const std::string& why) {
    std::error_code ec;
    std::filesystem::remove(tmp, ec);
    rebase_failed_.insert(si.id);
    Log("the index of shard " + std::to_string(si.id) + " stays whole: " + why);
    return false;
  };
  if (auto w = WriteRebasedIndex(*shard->opened_index(), *next->opened_index(), tmp); !w) {
    return fail(w.error().ToString());
  }
  {
    // Nothing shared (a shard of the initial list: every entry has records of its own): the
    // whole index is as small and reads no base.
    std::error_code ec;
    const uint64_t rewritten = std::filesystem::file_size(tmp, ec);
    if (!ec && rewritten >= si.index_bytes) {
      return fail("it shares too little with shard " + std::to_string(ni.id) + "'s (" +
                  std::to_string(si.index_bytes) + " bytes, " + std::to_string(rewritten) +
                  " if rewritten)");
    }
  }
  {
    // Not over a shard retention has just taken away.
    std::lock_guard lock(shards_mu_);
    if (std::find(sealed_.begin(), sealed_.end(), shard) == sealed_.end()) {
      return fail("the shard was deleted meanwhile");
    }
    if (auto r = Rename(tmp, shard->index_path()); !r) return fail(r.error().ToString());
  }
  if (auto r = SyncDir(ShardDir()); !r) Log("rewriting an index: " + r.error().ToString());
  ++indexes_rebased_;
  std::error_code ec;
  Log("rewrote the index of shard " + std::to_string(si.id) +
      " to read the keys it shares with "
      "shard " +
      std::to_string(ni.id) + "'s: " + std::to_string(si.index_bytes) + " -> " +
      std::to_string(std::filesystem::file_size(shard->index_path(), ec)) + " bytes");
  // Reopened, with the shards that read through it (newest first: each reads the one after).
  std::shared_ptr<SealedShard> base = next;
  for (size_t i = c + 1; i-- > c - chain;) {
    const std::shared_ptr<SealedShard> old = sealed[i];
    auto reopened = SealedShard::Open(old->segment_path(), old->index_path(),
                                      [&](uint64_t id) -> std::shared_ptr<const SealedShard> {
                                        return id == base->info().id ? base : nullptr;
                                      });
    if (!reopened) {
      // The files are consistent (the next start opens them); this process keeps reading the
      // shards it has open, and does not rewrite this one again.
      rebase_failed_.insert(si.id);
      Log("reopening shard " + std::to_string(old->info().id) +
          " after rewriting an index: " + reopened.error().ToString());
      return false;
    }
    {
      std::lock_guard lock(shards_mu_);
      auto it = std::find(sealed_.begin(), sealed_.end(), old);
      if (it != sealed_.end()) *it = *reopened;
    }
    sealed[i] = *reopened;
    base = *reopened;
  }
  return true;
}

}  // namespace sloop
