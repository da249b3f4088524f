#include "engine/timeline.h"

#include <algorithm>
#include <compare>
#include <map>
#include <tuple>

#include "base/strings.h"
#include "engine/store.h"
#include "engine/store_internal.h"

namespace sloop {

using namespace store_internal;

namespace {

constexpr int64_t kNsPerSec = 1000000000LL;
// A timeline never holds more rows than this while merging shards; past it, it says truncated.
constexpr size_t kTimelineScanCap = 200000;

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

// A timeline's arena, counting what its rows take (lists abandoned as they grew included), so that
// one query stays within TimelineQuery::max_bytes. Used by the query's own thread only.
class CountingArena final : public std::pmr::monotonic_buffer_resource {
 public:
  using std::pmr::monotonic_buffer_resource::monotonic_buffer_resource;
  size_t bytes() const { return bytes_; }

 protected:
  void* do_allocate(size_t n, size_t align) override {
    bytes_ += n;
    return std::pmr::monotonic_buffer_resource::do_allocate(n, align);
  }

 private:
  size_t bytes_ = 0;
};

}  // namespace

Result<TimelineResult> Store::Timeline(const TimelineQuery& q) const {
  if (q.range.end_ns < q.range.start_ns) {
    return MakeError(ErrorCode::kInvalidArgument, "timeline: the range ends before it starts");
  }
  TimelineResult result;
  auto counting =
      std::make_unique<CountingArena>(std::clamp<size_t>(q.max_bytes / 16, 4 << 10, 256 << 10));
  const CountingArena& heap = *counting;
  result.arena = std::move(counting);
  std::pmr::memory_resource* arena = result.arena.get();
  TimelineStrings strings(arena);
  // Every row, in the order it was first seen, and their indices in key order. Each shard yields
  // its entries in key order, so a shard is merged into the rows in one pass: one comparison of
  // keys per entry, and rows never move while they are built.
  std::vector<TimelineRow> rows;
  std::vector<uint32_t> order, next;
  auto snapshot = QuerySnapshot(q.range.start_ns);
  if (!snapshot) return std::unexpected(snapshot.error());
  const auto& shards = *snapshot;
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
  // The shards leave out entries whose names cannot match before they read the rest of them
  // (their case is ignored there: the exact test is below).
  filter.name_contains = q.name_match;
  filter.shard_span_times = q.which_only;
  // Per row: alive at the end of the last shard scanned, and the last shard that had an entry.
  std::vector<uint8_t> alive;
  std::vector<uint32_t> seen_in;
  alive.reserve(rows.capacity());
  seen_in.reserve(rows.capacity());
  uint32_t serial = 0;
  bool previous_scanned = false;
  auto cancelled = [&] { return q.cancel && q.cancel->load(std::memory_order_relaxed); };
  // q.may_read's answers, once a namespace (entries come sorted by kind, then namespace).
  std::map<std::string, bool, std::less<>> may_read;
  auto readable = [&](std::string_view ns) {
    auto it = may_read.find(ns);
    if (it == may_read.end()) it = may_read.emplace(std::string(ns), q.may_read(ns)).first;
    return it->second;
  };
  uint32_t visited = 0;
  bool too_big = false;
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
      if (!q.uid.empty() && e.key.uid != q.uid) return true;
      if (q.may_read && !readable(e.key.namespace_)) return true;
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
      too_big = heap.bytes() + rows.capacity() * sizeof(TimelineRow) > q.max_bytes;
      return !too_big;
    });
    if (cancelled()) return MakeError(ErrorCode::kAborted, "timeline: cancelled");
    if (too_big) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "timeline: its rows would take more than " +
                           std::to_string(q.max_bytes >> 20) +
                           " MiB of memory (resources with many changes over a long window): "
                           "narrow it to a shorter window, a kind, a namespace or a name");
    }
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

}  // namespace sloop
