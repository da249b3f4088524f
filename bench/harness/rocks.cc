// The baseline: the same replay into RocksDB (zstd), doing per record the work Sloop does against
// BadgerDB (docs: sloop-reference sections 6, 7, 10.3, 10.4):
//   eventcount (Events): find the Event's previous copy in this hour's watch rows and parse it,
//     work out the new occurrences, clip them to the min/max partitions of all four tables (eight
//     seeks), spread them over minutes, read-modify-write one eventcount row per minute;
//   watchactivity (others): read the previous watch row of the object in this hour, parse it,
//     compare resourceVersions, read-modify-write the row's ChangedAt/NoChangeAt;
//   watch: Nodes are compared (heartbeats and resourceVersion masked) with the previous watch row
//     of the hour and skipped when equal; the row /watch/PARTITION/KIND/NS/NAME/TS is written;
//   ressum (others): read-modify-write first/last seen, creation time, deleted, relationships.
// Sloop's informer resync is emulated (RunOptions::rocksdb_resync_ns, 30 minutes by default as in
// Sloop): every cached live object goes through the same steps again as an UPDATE at each resync
// time, which writes it a full watch row, a "no change" tick and a ressum row (section 5.4).
// Values use the protobuf wire format of Sloop's messages (hand-encoded, same field numbers).
// Queries follow Sloop's: EventHeatMap range-reads three tables over every partition of the
// window; history and Events are prefix range reads of watch over the window's partitions.
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <thread>
#include <unordered_map>

#include "bench/harness/stores.h"
#include "ingest/exclusion_rules.h"

namespace sloop::bench {
namespace {

// ---- protobuf wire format, just what Sloop's messages need.
void PutVarint(std::string& s, uint64_t v) {
  while (v >= 0x80) {
    s.push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  s.push_back(static_cast<char>(v));
}
void PutTag(std::string& s, int field, int wire) { PutVarint(s, uint64_t(field) << 3 | wire); }
void PutBytes(std::string& s, int field, std::string_view b) {
  PutTag(s, field, 2);
  PutVarint(s, b.size());
  s.append(b);
}
void PutVarintField(std::string& s, int field, uint64_t v) {
  PutTag(s, field, 0);
  PutVarint(s, v);
}
// google.protobuf.Timestamp {seconds = 1, nanos = 2}
void PutTimestamp(std::string& s, int field, int64_t ns) {
  std::string t;
  if (ns / kSec) PutVarintField(t, 1, uint64_t(ns / kSec));
  if (ns % kSec) PutVarintField(t, 2, uint64_t(ns % kSec));
  PutBytes(s, field, t);
}

struct Reader {
  std::string_view s;
  bool ok = true;
  uint64_t Varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64 && !s.empty(); shift += 7) {
      uint8_t b = static_cast<uint8_t>(s[0]);
      s.remove_prefix(1);
      v |= uint64_t(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    ok = false;
    return 0;
  }
  // Next field: false at the end. Varint fields set *v, length-delimited set *b.
  bool Next(int* field, int* wire, uint64_t* v, std::string_view* b) {
    if (s.empty() || !ok) return false;
    uint64_t tag = Varint();
    *field = int(tag >> 3);
    *wire = int(tag & 7);
    if (*wire == 0) {
      *v = Varint();
    } else if (*wire == 2) {
      uint64_t n = Varint();
      if (n > s.size()) return ok = false;
      *b = s.substr(0, n);
      s.remove_prefix(n);
    } else {
      return ok = false;
    }
    return ok;
  }
};
int64_t ReadTimestamp(std::string_view b) {
  Reader r{b};
  int f, w;
  uint64_t v = 0;
  std::string_view x;
  int64_t ns = 0;
  while (r.Next(&f, &w, &v, &x)) {
    if (f == 1) ns += int64_t(v) * kSec;
    if (f == 2) ns += int64_t(v);
  }
  return ns;
}

// KubeWatchResult {timestamp = 1, kind = 2, watchType = 3 (ADD, UPDATE, DELETE), payload = 4}
std::string EncodeWatch(int64_t ts, std::string_view kind, int type, std::string_view payload) {
  std::string s;
  s.reserve(payload.size() + 48);
  PutTimestamp(s, 1, ts);
  PutBytes(s, 2, kind);
  if (type) PutVarintField(s, 3, type);
  PutBytes(s, 4, payload);
  return s;
}
struct WatchValue {
  int64_t ts = 0;
  int type = 0;
  std::string_view payload;
};
WatchValue DecodeWatch(std::string_view b) {
  WatchValue w;
  Reader r{b};
  int f, wt;
  uint64_t v = 0;
  std::string_view x;
  while (r.Next(&f, &wt, &v, &x)) {
    if (f == 1) w.ts = ReadTimestamp(x);
    if (f == 3) w.type = int(v);
    if (f == 4) w.payload = x;
  }
  return w;
}

// ResourceSummary {firstSeen = 1, lastSeen = 2, createTime = 3, deletedAtEnd = 4,
// relationships = 5}
struct ResSum {
  int64_t first = 0, last = 0, create = 0;
  bool deleted = false;
  std::vector<std::string> relationships;
};
std::string EncodeResSum(const ResSum& r) {
  std::string s;
  PutTimestamp(s, 1, r.first);
  PutTimestamp(s, 2, r.last);
  PutTimestamp(s, 3, r.create);
  if (r.deleted) PutVarintField(s, 4, 1);
  for (const auto& rel : r.relationships) PutBytes(s, 5, rel);
  return s;
}
ResSum DecodeResSum(std::string_view b) {
  ResSum out;
  Reader r{b};
  int f, w;
  uint64_t v = 0;
  std::string_view x;
  while (r.Next(&f, &w, &v, &x)) {
    if (f == 1) out.first = ReadTimestamp(x);
    if (f == 2) out.last = ReadTimestamp(x);
    if (f == 3) out.create = ReadTimestamp(x);
    if (f == 4) out.deleted = v != 0;
    if (f == 5) out.relationships.emplace_back(x);
  }
  return out;
}

// WatchActivity {NoChangeAt = 1, ChangedAt = 2} (packed repeated int64)
struct Activity {
  std::vector<int64_t> nochange, changed;
};
std::string EncodeActivity(const Activity& a) {
  std::string s, p;
  for (int field = 1; field <= 2; ++field) {
    const auto& list = field == 1 ? a.nochange : a.changed;
    if (list.empty()) continue;
    p.clear();
    for (int64_t t : list) PutVarint(p, uint64_t(t));
    PutBytes(s, field, p);
  }
  return s;
}
Activity DecodeActivity(std::string_view b) {
  Activity a;
  Reader r{b};
  int f, w;
  uint64_t v = 0;
  std::string_view x;
  while (r.Next(&f, &w, &v, &x)) {
    auto& list = f == 1 ? a.nochange : a.changed;
    if (w == 0) {
      list.push_back(int64_t(v));
    } else {
      Reader p{x};
      while (!p.s.empty() && p.ok) list.push_back(int64_t(p.Varint()));
    }
  }
  return a;
}

// ResourceEventCounts {mapMinToEvents = 1: map<int64, EventCounts {mapReasonToCount = 1:
// map<string, int32>}>}; a map entry is a message {key = 1, value = 2}.
using EventCounts = std::map<int64_t, std::map<std::string, int32_t, std::less<>>>;
std::string EncodeCounts(const EventCounts& c) {
  std::string s, entry, inner, kv;
  for (const auto& [minute, reasons] : c) {
    inner.clear();
    for (const auto& [reason, n] : reasons) {
      kv.clear();
      PutBytes(kv, 1, reason);
      PutVarintField(kv, 2, uint64_t(int64_t(n)));
      PutBytes(inner, 1, kv);
    }
    entry.clear();
    PutVarintField(entry, 1, uint64_t(minute));
    PutBytes(entry, 2, inner);
    PutBytes(s, 1, entry);
  }
  return s;
}
EventCounts DecodeCounts(std::string_view b) {
  EventCounts c;
  Reader r{b};
  int f, w;
  uint64_t v = 0;
  std::string_view x;
  while (r.Next(&f, &w, &v, &x)) {
    Reader e{x};
    int64_t minute = 0;
    std::string_view inner;
    while (e.Next(&f, &w, &v, &x)) {
      if (f == 1) minute = int64_t(v);
      if (f == 2) inner = x;
    }
    auto& reasons = c[minute];
    Reader in{inner};
    while (in.Next(&f, &w, &v, &x)) {
      Reader kv{x};
      std::string_view reason;
      int32_t n = 0;
      while (kv.Next(&f, &w, &v, &x)) {
        if (f == 1) reason = x;
        if (f == 2) n = int32_t(int64_t(v));
      }
      reasons[std::string(reason)] += n;
    }
  }
  return c;
}

// ---- keys: /table/partition/kind/namespace/name/last
int64_t PartitionOf(int64_t ns) {
  int64_t s = ns / kSec;
  return s - s % 3600;
}
std::string PartitionId(int64_t partition_s) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "%012lld", static_cast<long long>(partition_s));
  return buf;
}
std::string Key(std::string_view table, int64_t partition_s, std::string_view kind,
                std::string_view ns, std::string_view name, std::string_view last) {
  std::string k;
  k.reserve(32 + kind.size() + ns.size() + name.size() + last.size());
  k += '/';
  k += table;
  k += '/';
  k += PartitionId(partition_s);
  k += '/';
  k += kind;
  k += '/';
  k += ns;
  k += '/';
  k += name;
  k += '/';
  k += last;
  return k;
}
struct ParsedKey {
  std::string_view table, partition, kind, ns, name, last;
};
bool ParseKey(std::string_view k, ParsedKey* out) {
  std::string_view f[7];
  int n = 0;
  size_t pos = 0;
  while (n < 7) {
    size_t slash = k.find('/', pos);
    f[n++] = k.substr(pos, slash == std::string_view::npos ? slash : slash - pos);
    if (slash == std::string_view::npos) break;
    pos = slash + 1;
  }
  if (n != 7 || !f[0].empty() || k.find('/', pos) != std::string_view::npos) return false;
  *out = {f[1], f[2], f[3], f[4], f[5], f[6]};
  return true;
}

class SloopOnRocks {
 public:
  bool Open(const std::string& dir, std::string* error) {
    rocksdb::Options o;
    o.create_if_missing = true;
    o.IncreaseParallelism(2);
    o.compression = rocksdb::kZSTD;
    o.bottommost_compression = rocksdb::kZSTD;
    o.max_open_files = 512;
    rocksdb::BlockBasedTableOptions t;
    t.block_cache = rocksdb::NewLRUCache(64 << 20);
    t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
    rocksdb::DB* db = nullptr;
    auto s = rocksdb::DB::Open(o, dir, &db);
    if (!s.ok()) {
      *error = s.ToString();
      return false;
    }
    db_.reset(db);
    return true;
  }
  rocksdb::DB* db() { return db_.get(); }

  // Waits for the memtable flush and every compaction: the LSM's "seal".
  void Settle() {
    rocksdb::FlushOptions fo;
    fo.wait = true;
    db_->Flush(fo);
    while (true) {
      uint64_t running = 0, pending = 0;
      db_->GetIntProperty("rocksdb.num-running-compactions", &running);
      db_->GetIntProperty("rocksdb.compaction-pending", &pending);
      if (!running && !pending) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  // ---- ingest, one record, in Sloop's order.
  void Ingest(const CaptureRecord& rec, std::string_view type, const ObjectFields& f) {
    int64_t part = PartitionOf(rec.ts_ns);
    int wtype = type == "ADDED" ? 0 : type == "DELETED" ? 2 : 1;
    if (f.is_event) {
      EventCountStep(rec, f);
    } else {
      ActivityStep(rec, f, part);
    }
    WatchStep(rec, f, part, wtype);
    if (!f.is_event) ResSumStep(rec, f, part, wtype);
  }

  uint64_t watch_rows = 0, node_skipped = 0, failures = 0;

  // ---- queries
  struct Row {
    std::string kind, ns, name, uid;
    int64_t start = 0, end = 0;
    bool deleted = false;
    std::map<int64_t, std::map<std::string, int32_t>> heat;
    std::vector<int64_t> changed, nochange;
    std::vector<std::string> overlays;
  };

  // EventHeatMap over [start, end], all namespaces and kinds.
  size_t Timeline(int64_t start, int64_t end) {
    std::map<std::string, ResSum> ressum;
    std::map<std::string, EventCounts> counts;
    std::map<std::string, Activity> activity;
    RangeRead("eventcount", start, end,
              [&](const ParsedKey& k, std::string_view v) { counts[Join(k)] = DecodeCounts(v); });
    RangeRead("ressum", start, end, [&](const ParsedKey& k, std::string_view v) {
      ResSum r = DecodeResSum(v);
      if (r.create > end || r.last < start) return;
      r.create = std::max(r.create, start);
      r.last = std::min(r.last, end);
      if (!r.deleted && r.last + 30 * kMin >= end) r.last = end;
      std::string key = Join(k);
      auto [it, inserted] = ressum.try_emplace(key, r);
      if (!inserted && r.last > it->second.last) it->second = r;
    });
    RangeRead("watchactivity", start, end, [&](const ParsedKey& k, std::string_view v) {
      Activity a = DecodeActivity(v);
      auto in = [&](int64_t s) { return s * kSec < start || s * kSec > end; };
      std::erase_if(a.changed, in);
      std::erase_if(a.nochange, in);
      if (a.changed.empty() && a.nochange.empty()) return;
      Activity& dst = activity[Join(k)];
      dst.changed.insert(dst.changed.end(), a.changed.begin(), a.changed.end());
      dst.nochange.insert(dst.nochange.end(), a.nochange.begin(), a.nochange.end());
    });
    std::unordered_map<std::string, Row> rows;
    for (const auto& [key, r] : ressum) {
      Row& row = rows[key];
      row.start = r.create;
      row.end = r.last;
      row.deleted = r.deleted;
    }
    for (const auto& [key, c] : counts) {
      auto it = rows.find(key);
      if (it == rows.end()) continue;
      for (const auto& [minute, reasons] : c)
        for (const auto& [reason, n] : reasons) it->second.heat[minute][reason] += n;
    }
    for (auto& [key, a] : activity) {
      auto it = rows.find(key);
      if (it == rows.end()) continue;
      it->second.changed = std::move(a.changed);
      it->second.nochange = std::move(a.nochange);
    }
    for (auto& [key, row] : rows) {
      for (const auto& [minute, reasons] : row.heat) {
        std::string text;
        for (const auto& [reason, n] : reasons)
          text += (text.empty() ? "" : " ") + reason + ":" + std::to_string(n);
        row.overlays.push_back(std::move(text));
      }
    }
    return rows.size();
  }

  // GetResPayload: the object's watch rows in range, plus the last one before it, de-duplicated.
  size_t History(std::string_view kind, std::string_view ns, std::string_view name, int64_t start,
                 int64_t end) {
    std::vector<std::pair<int64_t, std::string>> out;
    std::string suffix = std::string(kind) + "/" + std::string(ns) + "/" + std::string(name) + "/";
    for (int64_t p = PartitionOf(start); p <= PartitionOf(end); p += 3600) {
      std::string prefix = "/watch/" + PartitionId(p) + "/" + suffix;
      std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
      for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
        WatchValue w = DecodeWatch(ToView(it->value()));
        if (w.ts < start || w.ts > end) continue;
        out.emplace_back(w.ts, std::string(w.payload));
      }
    }
    // The last row before the range, walking partitions back to the oldest.
    int64_t min_part = MinMaxPartitions().first;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
    for (int64_t p = PartitionOf(start); min_part && p >= min_part; p -= 3600) {
      std::string prefix = "/watch/" + PartitionId(p) + "/" + suffix;
      std::string seek = p == PartitionOf(start) ? prefix + std::to_string(start) : prefix + "\xff";
      it->SeekForPrev(seek);
      if (it->Valid() && it->key().starts_with(prefix) && it->key().ToStringView() != seek) {
        WatchValue w = DecodeWatch(ToView(it->value()));
        out.emplace_back(w.ts, std::string(w.payload));
        break;
      }
    }
    std::sort(out.begin(), out.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    size_t kept = 0;
    for (size_t i = 0; i < out.size(); ++i)
      if (i == 0 || out[i].second != out[i - 1].second) ++kept;
    return kept;
  }

  // GetEventData: Event rows named "<name>." in the window's partitions whose
  // [firstTimestamp, lastTimestamp] overlaps it and whose involvedObject.kind matches.
  size_t Events(std::string_view kind, std::string_view ns, std::string_view name, int64_t start,
                int64_t end) {
    size_t n = 0;
    std::string suffix = "Event/" + std::string(ns) + "/" + std::string(name) + ".";
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
    for (int64_t p = PartitionOf(start); p <= PartitionOf(end); p += 3600) {
      std::string prefix = "/watch/" + PartitionId(p) + "/" + suffix;
      for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
        WatchValue w = DecodeWatch(ToView(it->value()));
        simdjson::dom::element e;
        if (json_.parse(w.payload.data(), w.payload.size()).get(e)) continue;
        std::string_view first, last, ikind;
        if (e["firstTimestamp"].get_string().get(first)) {
        }
        if (e["lastTimestamp"].get_string().get(last)) {
        }
        if (e["involvedObject"]["kind"].get_string().get(ikind)) {
        }
        if (ikind != kind) continue;
        if (ParseRfc3339(last) < start || ParseRfc3339(first) > end) continue;
        ++n;
      }
    }
    return n;
  }

  // Name search: Sloop has no index by name; the closest is its timeline's name filter, a key
  // predicate over every ressum row of every partition in the store.
  size_t Search(std::string_view needle) {
    auto [min_part, max_part] = MinMaxPartitions();
    std::set<std::string> hits;
    RangeRead(
        "ressum", min_part * kSec, max_part * kSec,
        [&](const ParsedKey& k, std::string_view) { hits.insert(Join(k)); },
        [&](const ParsedKey& k) { return k.name.find(needle) != std::string_view::npos; });
    return hits.size();
  }

 private:
  static std::string_view ToView(const rocksdb::Slice& s) { return {s.data(), s.size()}; }
  static std::string Join(const ParsedKey& k) {
    std::string s(k.kind);
    s += '/';
    s += k.ns;
    s += '/';
    // Node Events carry the node's name as involvedObject.uid: join Nodes by name.
    s += k.name;
    if (k.kind != "Node") {
      s += '/';
      s += k.last;
    }
    return s;
  }

  // Every row of `table` in the partitions of [start, end] (key predicate before decoding).
  template <typename F>
  void RangeRead(std::string_view table, int64_t start, int64_t end, F&& fn) {
    RangeRead(table, start, end, fn, [](const ParsedKey&) { return true; });
  }
  template <typename F, typename P>
  void RangeRead(std::string_view table, int64_t start, int64_t end, F&& fn, P&& pred) {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
    for (int64_t p = PartitionOf(start); p <= PartitionOf(end); p += 3600) {
      std::string prefix = "/" + std::string(table) + "/" + PartitionId(p) + "/";
      for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
        ParsedKey k;
        if (!ParseKey(ToView(it->key()), &k) || !pred(k)) continue;
        fn(k, ToView(it->value()));
      }
    }
  }

  // The value of the newest watch row under `prefix` (kind/ns/name/ in one partition).
  bool PreviousWatch(const std::string& prefix, std::string* value) {
    // A fresh iterator sees the latest writes (an iterator is a snapshot).
    iter_.reset(db_->NewIterator(rocksdb::ReadOptions()));
    iter_->SeekForPrev(prefix + "\xff");
    if (!iter_->Valid() || !iter_->key().starts_with(prefix)) return false;
    value->assign(iter_->value().data(), iter_->value().size());
    return true;
  }

  // The smallest and largest partition over all four tables (eight seeks), in Unix seconds.
  std::pair<int64_t, int64_t> MinMaxPartitions() {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
    int64_t lo = 0, hi = 0;
    for (const char* table : {"watch", "ressum", "eventcount", "watchactivity"}) {
      std::string prefix = "/" + std::string(table) + "/";
      it->Seek(prefix);
      ParsedKey k;
      if (it->Valid() && it->key().starts_with(prefix) && ParseKey(ToView(it->key()), &k)) {
        int64_t p = std::atoll(std::string(k.partition).c_str());
        lo = lo ? std::min(lo, p) : p;
      }
      it->SeekForPrev(prefix + "\xff");
      if (it->Valid() && it->key().starts_with(prefix) && ParseKey(ToView(it->key()), &k)) {
        hi = std::max<int64_t>(hi, std::atoll(std::string(k.partition).c_str()));
      }
    }
    return {lo, hi};
  }

  void Put(const std::string& k, const std::string& v) {
    if (!db_->Put(wo_, k, v).ok()) ++failures;
  }
  bool Get(const std::string& k, std::string* v) {
    return db_->Get(rocksdb::ReadOptions(), k, v).ok();
  }

  struct EventFacts {
    int64_t first = 0, last = 0;
    int64_t count = 0;
  };

  void EventCountStep(const CaptureRecord& rec, const ObjectFields& f) {
    EventFacts now{ParseRfc3339(f.first_timestamp), ParseRfc3339(f.last_timestamp), f.count};
    std::string reason = std::string(f.reason) + ":" + std::string(f.type);
    // 1-2: the previous copy of this Event, in this hour's partition only.
    int64_t part = PartitionOf(rec.ts_ns);
    std::string prev;
    int64_t first = now.first, last = now.last, count = now.count;
    if (PreviousWatch(Key("watch", part, rec.kind, f.ns, f.name, ""), &prev)) {
      WatchValue w = DecodeWatch(prev);
      simdjson::dom::element e;
      if (!json_.parse(w.payload.data(), w.payload.size()).get(e)) {
        std::string_view a, b;
        int64_t c = 0;
        if (e["firstTimestamp"].get_string().get(a)) {
        }
        if (e["lastTimestamp"].get_string().get(b)) {
        }
        if (e["count"].get_int64().get(c)) {
        }
        EventFacts old{ParseRfc3339(a), ParseRfc3339(b), c};
        // 3: how many occurrences are new.
        if (old.last < now.first) {
          // the whole new range
        } else if (old.last >= now.last) {
          return;
        } else if (old.first == now.first) {
          first = old.last;
          count = std::max<int64_t>(0, now.count - old.count);
        } else {
          double overlap =
              old.last > old.first
                  ? double(old.last - std::max(old.first, now.first)) / double(old.last - old.first)
                  : 1.0;
          count = std::max<int64_t>(0, now.count - int64_t(old.count * overlap));
        }
      }
    }
    if (count <= 0) return;
    // 4: clip to the partitions that exist.
    auto [min_part, max_part] = MinMaxPartitions();
    if (!min_part) return;
    int64_t lo = (min_part == max_part ? min_part : min_part + 3600) * kSec;
    int64_t hi = (max_part + 3600) * kSec;
    int64_t c_first = std::max(first, lo), c_last = std::min(last, hi);
    if (c_last < c_first) return;
    if (last > first)
      count = int64_t(double(count) * double(c_last - c_first) / double(last - first));
    if (count <= 0) return;
    // 5: spread over minutes.
    int64_t m_first = (c_first + 30 * kSec) / kMin, m_last = (c_last + 30 * kSec) / kMin;
    int64_t n = std::max<int64_t>(1, m_last - m_first);
    // 7: read-modify-write one row per minute.
    std::string_view iuid = f.involved_uid;
    std::string node_uid;
    if (f.involved_kind == "Node") iuid = f.involved_name;
    for (int64_t i = 0; i < n; ++i) {
      int64_t share = count / n + (i < count % n ? 1 : 0);
      if (share == 0) continue;
      int64_t minute = m_first + i;
      std::string key = Key("eventcount", PartitionOf(minute * kMin), f.involved_kind,
                            f.involved_namespace, f.involved_name, iuid);
      std::string v;
      EventCounts c;
      if (Get(key, &v)) c = DecodeCounts(v);
      c[minute * 60][reason] += int32_t(share);
      Put(key, EncodeCounts(c));
    }
  }

  void ActivityStep(const CaptureRecord& rec, const ObjectFields& f, int64_t part) {
    bool changed = false;
    std::string prev;
    if (PreviousWatch(Key("watch", part, rec.kind, f.ns, f.name, ""), &prev)) {
      WatchValue w = DecodeWatch(prev);
      simdjson::dom::element e;
      std::string_view rv;
      if (!json_.parse(w.payload.data(), w.payload.size()).get(e) &&
          !e["metadata"]["resourceVersion"].get_string().get(rv))
        changed = rv != f.resource_version;
    }
    std::string key = Key("watchactivity", part, rec.kind, f.ns, f.name, f.uid);
    std::string v;
    Activity a;
    if (Get(key, &v)) a = DecodeActivity(v);
    (changed ? a.changed : a.nochange).push_back(rec.ts_ns / kSec);
    Put(key, EncodeActivity(a));
  }

  void WatchStep(const CaptureRecord& rec, const ObjectFields& f, int64_t part, int wtype) {
    if (rec.kind == "Node") {
      std::string prev;
      if (PreviousWatch(Key("watch", part, rec.kind, f.ns, f.name, ""), &prev) &&
          NodeFingerprint(DecodeWatch(prev).payload) == NodeFingerprint(rec.object)) {
        ++node_skipped;
        return;
      }
    }
    Put(Key("watch", part, rec.kind, f.ns, f.name, std::to_string(rec.ts_ns)),
        EncodeWatch(rec.ts_ns, rec.kind, wtype, rec.object));
    ++watch_rows;
  }

  void ResSumStep(const CaptureRecord& rec, const ObjectFields& f, int64_t part, int wtype) {
    std::string key = Key("ressum", part, rec.kind, f.ns, f.name, f.uid);
    std::string v;
    ResSum r;
    if (Get(key, &v)) {
      r = DecodeResSum(v);
      if (wtype == 0) r.first = rec.ts_ns;
    } else {
      r.first = rec.ts_ns;
      r.create = ParseRfc3339(f.creation_timestamp);
      if (!r.create) {
        ++failures;
        return;
      }
    }
    r.last = rec.ts_ns;
    if (wtype == 2) r.deleted = true;
    r.relationships.clear();
    for (const auto& o : f.owners)
      r.relationships.push_back(Key("ressum", part, o.kind, f.ns, o.name, o.uid));
    Put(key, EncodeResSum(r));
  }

  std::unique_ptr<rocksdb::DB> db_;
  std::unique_ptr<rocksdb::Iterator> iter_;
  rocksdb::WriteOptions wo_;
  simdjson::dom::parser json_;
};

// What Sloop's informers hold: the latest state of every live object they watch (Events
// included), one cache per informer (group, version, resource), entries removed on DELETED. At
// every resync client-go calls the update handler for each cached object and Sloop records it as
// an UPDATE (sloop-reference section 5.4); Resync replays that. client-go holds decoded objects,
// so holding their JSON is a lower bound of that memory: it is Sloop's, and counts in this side's
// RSS like the rest of the replay's.
class InformerCache {
 public:
  // Follows one ingested record ("ADDED", "MODIFIED" or "DELETED" after LIST reconciliation).
  void Apply(const CaptureRecord& rec, std::string_view type, const ObjectFields& f) {
    uint32_t informer = SetKey(rec, f);
    if (type == "DELETED") {
      objects_.erase(key_);
      return;
    }
    Cached& c = objects_[key_];
    c.informer = informer;
    // The parser reads up to kPadding bytes past the object (no copy): keep them allocated.
    c.json.clear();
    c.json.reserve(rec.object.size() + CaptureRecord::kPadding);
    c.json.append(rec.object);
  }
  // An object the exclusion rules drop now: every resync of it would be dropped the same way.
  void Forget(const CaptureRecord& rec, const ObjectFields& f) {
    SetKey(rec, f);
    objects_.erase(key_);
  }

  // Calls fn(record) for every cached object as a MODIFIED record at ts_ns, in the hash map's
  // order: client-go lists its store (a Go map) in no key order either.
  template <typename F>
  void Resync(int64_t ts_ns, F&& fn) const {
    CaptureRecord rec;
    rec.ts_ns = ts_ns;
    rec.type = "MODIFIED";
    for (const auto& [key, o] : objects_) {
      const Informer& inf = informers_[o.informer];
      rec.group = inf.group;
      rec.version = inf.version;
      rec.resource = inf.resource;
      rec.kind = inf.kind;
      rec.namespaced = inf.namespaced;
      rec.object = o.json;
      fn(rec);
    }
  }

 private:
  struct Informer {
    std::string group, version, resource, kind;
    bool namespaced = true;
  };
  struct Cached {
    std::string json;
    uint32_t informer = 0;
  };

  // Sets key_ to "INFORMER/NAMESPACE/NAME" and returns the record's informer (its index).
  uint32_t SetKey(const CaptureRecord& rec, const ObjectFields& f) {
    uint32_t i = 0;
    for (; i < informers_.size(); ++i) {
      const Informer& inf = informers_[i];
      if (inf.group == rec.group && inf.version == rec.version && inf.resource == rec.resource &&
          inf.kind == rec.kind)
        break;
    }
    if (i == informers_.size())
      informers_.push_back({std::string(rec.group), std::string(rec.version),
                            std::string(rec.resource), std::string(rec.kind), rec.namespaced});
    key_ = std::to_string(i);
    key_ += '/';
    key_ += f.ns;
    key_ += '/';
    key_ += f.name;
    return i;
  }

  std::vector<Informer> informers_;  // a handful: linear search
  std::unordered_map<std::string, Cached> objects_;
  std::string key_;
};

}  // namespace

Figures RunRocks(const RunOptions& o, std::string* error) {
  Figures fig;
  SloopOnRocks db;
  if (!db.Open(o.dir, error)) return fig;
  auto rules = ExclusionRules::FromConfig(kBenchExclusionRules);
  if (!rules) {
    *error = rules.error().ToString();
    return fig;
  }
  ObjectParser parser;
  ListReconciler lists;
  InformerCache informers;
  // The informers start with the first record; they resync at start + k * interval, in capture
  // time. The captures hold no resync (a recorder sees only the watch stream), so without this
  // the RocksDB side would do less than Sloop does and its timeline would miss every object
  // alive but unchanged in the queried partitions (sloop-reference sections 5.4, 10.4).
  const int64_t resync = o.rocksdb_resync_ns;
  bool started = false;
  bool resyncing = true;  // the busy phase turns it off (see there)
  int64_t next_resync = 0;
  uint64_t bad_objects = 0, excluded = 0, resyncs = 0, resync_records = 0;
  bool list_done = false;
  std::chrono::steady_clock::time_point list_done_at;
  CaptureStats cs;
  ObjectFields f;
  auto start = std::chrono::steady_clock::now();
  auto on_record = [&](const CaptureRecord& rec) {
        if (!started) {
          started = true;
          next_resync = rec.ts_ns + resync;
        }
        // Every resync point this record reaches comes first, each at its own time (a gap in
        // the capture longer than the period passes several). Resync records bypass the LIST
        // reconciliation (they change nothing) and the rules (excluded objects are not cached).
        for (; resyncing && resync > 0 && rec.ts_ns >= next_resync; next_resync += resync) {
          ++resyncs;
          informers.Resync(next_resync, [&](const CaptureRecord& r) {
            if (!parser.Parse(r, &f)) {
              ++bad_objects;
              return;
            }
            db.Ingest(r, "MODIFIED", f);
            ++resync_records;
          });
        }
        if (!parser.Parse(rec, &f)) {
          ++bad_objects;
          return;
        }
        if (rules->ShouldExclude(rec.kind, f.root)) {
          ++excluded;
          if (resync > 0) informers.Forget(rec, f);
          return;
        }
        if (!list_done && rec.ts_ns > o.plan.list_end_ns) {
          list_done = true;
          list_done_at = std::chrono::steady_clock::now();
        }
        std::string_view type = lists.Apply(rec, f);
        if (type.empty()) return;
        db.Ingest(rec, type, f);
        if (resync > 0) informers.Apply(rec, type, f);
  };
  std::string err = ReadCapture(o.capture, on_record, &cs);
  if (!err.empty()) {
    *error = err;
    return fig;
  }
  auto played_at = std::chrono::steady_clock::now();
  db.Settle();
  double ingest_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  double playback_s = std::chrono::duration<double>(played_at - start).count();
  double list_s =
      std::chrono::duration<double>((list_done ? list_done_at : played_at) - start).count();
  double rss_after = CurrentRssMb();
  double rss_anon = CurrentRssAnonMb(), rss_file = CurrentRssFileMb();
  uint64_t disk = DirBytes(o.dir);
  fig.Set("records", cs.records);
  fig.Set("json_bytes", cs.object_bytes);
  fig.Set("capture_file_bytes", cs.file_bytes);
  fig.Set("stored_records", db.watch_rows);
  fig.Set("resync_interval_s", double(resync) / kSec);
  fig.Set("resyncs", resyncs);
  fig.Set("resync_records", resync_records);
  fig.Set("dropped_node_heartbeats", db.node_skipped);
  fig.Set("append_failures", db.failures + bad_objects);
  fig.Set("excluded", excluded);
  fig.Set("ingest_s", ingest_s);
  fig.Set("initial_list_s", list_s);
  fig.Set("ingest_before_seal_s", playback_s);
  fig.Set("disk_bytes", disk);
  fig.Set("rss_after_ingest_mb", rss_after);
  fig.Set("rss_anon_after_ingest_mb", rss_anon);
  fig.Set("rss_file_after_ingest_mb", rss_file);

  const QueryPlan& q = o.plan;
  const int64_t end = q.last_ns + 1;
  size_t rows = 0;
  SetTimes(fig, "timeline_1h",
           TimeRuns(o.runs.timeline_1h, [&](int) { rows = db.Timeline(end - kHour, end); }));
  fig.Set("timeline_1h_rows", rows);
  SetTimes(fig, "timeline_24h",
           TimeRuns(o.runs.timeline_24h, [&](int) { rows = db.Timeline(end - kDay, end); }));
  fig.Set("timeline_24h_rows", rows);
  if (!q.pods.empty()) {
    uint64_t n = 0;
    SetTimes(fig, "history", TimeRuns(o.runs.history, [&](int i) {
               const PodRef& p = q.pods[i % q.pods.size()];
               n += db.History("Pod", p.ns, p.name, q.first_ns, end);
             }));
    fig.Set("history_records", double(n) / o.runs.history);
    n = 0;
    SetTimes(fig, "search", TimeRuns(o.runs.search, [&](int i) {
               n += db.Search(q.needles[i % q.needles.size()]);
             }));
    fig.Set("search_hits", double(n) / o.runs.search);
    n = 0;
    SetTimes(fig, "events", TimeRuns(o.runs.events, [&](int i) {
               const PodRef& p = q.pods[i % q.pods.size()];
               n += db.Events("Pod", p.ns, p.name, q.first_ns, end);
             }));
    fig.Set("events_records", double(n) / o.runs.events);
  }
  fig.Set("peak_rss_before_busy_mb", PeakRssMb());
  if (!o.busy_capture.empty()) {
    // The same 1 h timeline while newer records arrive through the same per-record work
    // (reconciliation, Sloop's tables), as the informers would deliver them. Not the resync:
    // it follows capture time, and at the phase's rate capture time runs hundreds of times
    // faster than the clock (15 s pass an hour of it), so it would fire at every resync point
    // the jump to the phase's records passes, where Sloop's 30-minute wall-clock resync falls
    // in a 15-second window once in 120.
    resyncing = false;
    std::atomic<bool> stop{false};
    uint64_t fed = 0;
    std::string feed_error;
    std::thread feeder([&] {
      Pacer pacer(o.busy_rate);
      feed_error = ReadCapture(
          o.busy_capture,
          [&](const CaptureRecord& rec) {
            if (stop.load(std::memory_order_relaxed)) return;
            pacer.Wait();
            ++fed;
            on_record(rec);
          },
          nullptr);
    });
    std::vector<double> busy_ms = TimeBusyRuns(o.runs.busy_seconds, [&](int) {
               rows = db.Timeline(end - kHour, end);
             });
    SetTimes(fig, "timeline_1h_busy", busy_ms);
    stop = true;
    feeder.join();
    fig.Set("timeline_1h_busy_runs", busy_ms.size());
    fig.Set("timeline_1h_busy_rows", rows);
    fig.Set("busy_records", fed);
    if (!feed_error.empty()) *error = "busy phase: " + feed_error;
  }
  return fig;
}

}  // namespace sloop::bench
