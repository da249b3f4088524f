// What the Store's source files share (engine/store.cc, store_append.cc, store_seal.cc,
// store_retention.cc, store_query.cc, timeline.cc): not part of its contract (engine/store.h).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <tuple>
#include <utility>

#include "base/file_sync.h"
#include "base/status.h"
#include "engine/shard.h"
#include "engine/store.h"

namespace sloop::store_internal {

// Room a seal needs beside the arrival-order file it reads, in multiples of that file: the sorted
// copy it writes, and the sort runs when the shard does not fit the sort budget.
constexpr uint64_t kSealRoomFactor = 2;

void Log(const std::string& line);

// "5 s", "0.25 s", "300 s".
std::string Seconds(std::chrono::milliseconds ms);

std::string ShardName(uint64_t id, const char* ext);

Result<void> Rename(const std::filesystem::path& from, const std::filesystem::path& to);

// The span of time a shard may hold data for.
inline std::pair<int64_t, int64_t> ShardSpan(const ShardInfo& i) {
  int64_t lo = i.window_start_ns, hi = i.window_end_ns;
  if (i.records) {
    lo = std::min(lo, i.min_ns);
    hi = std::max(hi, i.max_ns);
  }
  return {lo, hi};
}

inline bool Overlaps(const ShardInfo& i, const TimeRange& r) {
  auto [lo, hi] = ShardSpan(i);
  return lo <= r.end_ns && hi >= r.start_ns;
}

// The wait before the next try after one more failure of the same work (a seal, maintenance, a
// timed flush): seal_retry_initial, then doubling up to seal_retry_max.
inline std::chrono::milliseconds NextBackoff(std::chrono::milliseconds current,
                                             const StoreOptions& o) {
  return current.count() ? std::min(current * 2, o.seal_retry_max) : o.seal_retry_initial;
}

// Indexes written against the next shard's (docs/format/index.md, Store::RebaseIndexes): the
// newest sealed shard keeps a whole index (with the active shard, the last hour that most queries
// read), and no index reads through more than kMaxBaseChain others. Seven rather than three:
// 1.4 MB less on the medium workload (46.4 -> 45.0 MB) and a 24-hour timeline a quarter faster
// (fewer keys to decode); a history's lookups read no base (IndexReader::FindExactOwnKey), so
// longer chains do not slow them (docs/benchmarks.md).
inline constexpr size_t kWholeNewestIndexes = 1;
inline constexpr size_t kMaxBaseChain = 7;
inline constexpr size_t kRebasesPerPass = 2;

// Shards in time order: by the span of their records (one with none by its window), ties by id.
// Not by window start: once -shard-duration changes, a 1 h window opened after 10 m ones starts
// before them, and its history would be read first and deleted last.
inline bool TimeOrderLess(const ShardInfo& a, const ShardInfo& b) {
  auto key = [](const ShardInfo& i) {
    return i.records ? std::tuple(i.min_ns, i.max_ns, i.id)
                     : std::tuple(i.window_start_ns, i.window_start_ns, i.id);
  };
  return key(a) < key(b);
}

}  // namespace sloop::store_internal
