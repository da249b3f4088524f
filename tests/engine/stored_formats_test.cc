// Stores written by earlier builds keep opening and answering the same. Each directory
// tests/testdata/store/vN/ is a store whose sealed shards were written by the build of index
// format N (its `shards/`), and `answers.txt`: what that build answered about it (every index
// entry, timelines, histories, Events, searches, live objects, objects at a moment). This build
// opens a copy of each and must give the same answers, line for line.
//
// SLOOP_WRITE_STORE=DIR writes such a store into DIR with this build (the same recipe every
// time: three hours of Pods with owners, Nodes, a Deployment, changes, resyncs, deletions, a
// replaced Pod, Events about objects of the shard and about one it never saw) and its answers;
// committed as tests/testdata/store/vN/ when a build changes the index format.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "engine/store.h"
#include "index/index_reader.h"
#include "tests/engine/record_maker.h"

namespace sloop {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kSec = 1000000000LL;
constexpr int64_t kMin = 60 * kSec;
constexpr int64_t kHour = 60 * kMin;
constexpr int64_t kT0 = 1795165200LL * kSec;  // 2026-11-20T09:00:00Z

uint64_t Fnv(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

// Records of the recipe, owning their strings.
class Recipe {
 public:
  RecordView Pod(int64_t t, const std::string& ns, const std::string& name, const std::string& uid,
                 int rv, WatchType type, int owner, int64_t created) {
    RecordView v = mk_.Pod(t, ns, name, uid, rv, type, created);
    std::string json(v.payload);
    testing::ReplaceAll(json, "\"checkout-7d9f8c6b5d\"", "\"rs-" + std::to_string(owner) + "\"");
    testing::ReplaceAll(json, "0b8e4d21-6f3a-4a9c-b1e7-2d5c9f8a3e14",
                        "0b8e4d21-6f3a-4a9c-b1e7-00000000000" + std::to_string(owner % 10));
    v.payload = Keep(std::move(json));
    return v;
  }
  RecordView Deployment(int64_t t, const std::string& name, int rv, WatchType type) {
    RecordView v;
    v.observed_ns = t;
    v.watch_type = type;
    v.api_group = "apps";
    v.api_version = "v1";
    v.kind = "Deployment";
    v.namespace_ = "shop";
    v.name = Keep(name);
    v.uid = Keep("d-" + name);
    v.resource_version = Keep(std::to_string(rv));
    v.payload = Keep(R"({"metadata":{"name":")" + name +
                     R"(","creationTimestamp":"2026-11-19T08:00:00Z"}})");
    return v;
  }
  testing::RecordMaker& mk() { return mk_; }

 private:
  std::string_view Keep(std::string s) { return strings_.emplace_back(std::move(s)); }
  testing::RecordMaker mk_;
  std::deque<std::string> strings_;
};

std::string PodName(int i) { return "web-" + std::to_string(i / 10) + "-p" + std::to_string(i); }
std::string PodUid(int i, int gen = 0) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "6f1c2b9e-3a47-4c0e-9d4b-%012d", i + gen * 100000);
  return buf;
}

// Three hours: 120 Pods in two namespaces (owned by 12 ReplicaSets), 12 Nodes, 2 Deployments;
// changes, resyncs and deletions, one Pod replaced under the same name, Events about Pods (some
// updated hours later, some resynced, seen again unchanged, changed and deleted within an hour,
// some counted up twice or resynced twice), about Nodes and about a Pod the store never saw.
Result<void> WriteRecipe(Store& store, int hours = 3) {
  Recipe r;
  auto put = [&](const RecordView& v) { return store.Append(v); };
  int rv = 1000;
  std::map<std::string, int> event_rv;  // the resourceVersion each Event was created with
  for (int h = 0; h < hours; ++h) {
    const int64_t t = kT0 + h * kHour;
    for (int i = 0; i < 120; ++i) {
      const std::string ns = i % 3 ? "shop" : "web";
      const int64_t at = t + (i * 17 % 3000) * kSec + i * 1000;
      if (h == 0) {
        if (auto a = put(r.Pod(at, ns, PodName(i), PodUid(i), ++rv, WatchType::kAdded, i / 10, at));
            !a)
          return a;
      } else if (i % 11 == h) {
        if (auto a = put(r.Pod(at, ns, PodName(i), PodUid(i), ++rv, WatchType::kModified, i / 10,
                               kT0 + (i * 17 % 3000) * kSec + i * 1000));
            !a)
          return a;
      } else if (i % 29 == h) {  // a resync: same resourceVersion as before
        if (auto a = put(r.Pod(at, ns, PodName(i), PodUid(i), 1000 + i + 1, WatchType::kRelisted,
                               i / 10, kT0 + (i * 17 % 3000) * kSec + i * 1000));
            !a)
          return a;
      }
      if (h == 1 && i % 37 == 5) {
        if (auto a = put(r.Pod(at + kSec, ns, PodName(i), PodUid(i), ++rv, WatchType::kDeleted,
                               i / 10, kT0));
            !a)
          return a;
      }
      if (h == 2 && i == 42) {  // replaced: same name, new uid
        if (auto a = put(r.Pod(at + 2 * kSec, ns, PodName(i), PodUid(i, 1), ++rv, WatchType::kAdded,
                               i / 10, at + 2 * kSec));
            !a)
          return a;
      }
      if (i % 4 == h) {
        const std::string ev = PodName(i) + ".e" + std::to_string(h);
        event_rv[ev] = ++rv;
        if (auto a = put(r.mk().Event(at + 3 * kSec, ns, ev, "Pod", PodName(i), PodUid(i),
                                      i % 8 ? "Pulled" : "BackOff", i % 8 == 0, 1 + h,
                                      at - 2 * kMin, event_rv[ev], WatchType::kAdded));
            !a)
          return a;
      }
      // An Event of the hour before in records that do not all change it: which do is the
      // index's (or, once the index leaves an Event's times to its records, read from them).
      if ((h == 1 && i % 12 == 4) || (h == 2 && i % 12 == 1)) {
        const std::string ev = PodName(i) + ".e" + std::to_string(h - 1);
        const int was = event_rv[ev];
        struct Step {
          WatchType type;
          int rv;
          int count;
        };
        // Hour 1: resynced, seen again as it was, then changed. Hour 2: seen again as it was
        // first in this shard, changed, deleted.
        const std::vector<Step> steps =
            h == 1 ? std::vector<Step>{{WatchType::kRelisted, was, h},
                                       {WatchType::kModified, was, h},
                                       {WatchType::kModified, ++rv, h + 3}}
                   : std::vector<Step>{{WatchType::kModified, was, h},
                                       {WatchType::kModified, ++rv, h + 2},
                                       {WatchType::kDeleted, ++rv, h + 2}};
        for (size_t k = 0; k < steps.size(); ++k) {
          if (auto a = put(r.mk().Event(at + (5 + int64_t(k) * 7) * kSec, ns, ev, "Pod",
                                        PodName(i), PodUid(i), "Pulled", false, steps[k].count,
                                        at - 2 * kMin, steps[k].rv, steps[k].type));
              !a)
            return a;
        }
      }
      // Events of the hour before in several records that all change them (counted up twice)
      // or none does (resynced twice): read from the first columns of their block alone.
      if ((h == 1 && i % 12 == 8) || (h == 2 && i % 12 == 5)) {
        const std::string ev = PodName(i) + ".e" + std::to_string(h - 1);
        for (int k = 0; k < 2; ++k) {
          const bool counted = h == 1;
          if (auto a = put(r.mk().Event(at + (6 + int64_t(k) * 9) * kSec, ns, ev, "Pod",
                                        PodName(i), PodUid(i), "Pulled", false,
                                        counted ? 2 + k : 1, at - 2 * kMin,
                                        counted ? ++rv : event_rv[ev],
                                        counted ? WatchType::kModified : WatchType::kRelisted));
              !a)
            return a;
        }
      }
      if (h == 2 && i % 4 == 0) {  // an Event of hour 0 seen again, counted up
        const std::string ev = PodName(i) + ".e0";
        if (auto a = put(r.mk().Event(at + 4 * kSec, ns, ev, "Pod", PodName(i), PodUid(i),
                                      i % 8 ? "Pulled" : "BackOff", i % 8 == 0, 5, t - 2 * kHour,
                                      ++rv, WatchType::kModified));
            !a)
          return a;
      }
    }
    for (int n = 0; n < 12; ++n) {
      const std::string name = "ip-10-0-0-" + std::to_string(n) + ".ec2.internal";
      if (h == 0 || n % 5 == h) {
        if (auto a = put(r.mk().Node(t + n * kMin, name, "node-uid-" + std::to_string(n), ++rv,
                                     h == 0 ? WatchType::kAdded : WatchType::kModified));
            !a)
          return a;
      }
      if (n % 6 == h) {
        if (auto a = put(r.mk().Event(t + n * kMin + kSec, "default",
                                      name + ".n" + std::to_string(h), "Node", name, name,
                                      "NodeReady", false, 1, t, ++rv, WatchType::kAdded));
            !a)
          return a;
      }
    }
    if (h != 1) {
      if (auto a = put(r.Deployment(t + 30 * kMin, "web", ++rv,
                                    h ? WatchType::kModified : WatchType::kAdded));
          !a)
        return a;
    }
    if (h == 0) {
      if (auto a = put(r.Deployment(t + 31 * kMin, "api", ++rv, WatchType::kAdded)); !a) return a;
    }
    if (auto a = put(r.mk().Event(t + 40 * kMin, "shop", "ghost.x" + std::to_string(h), "Pod",
                                  "ghost", "ghost-uid", "Killing", true, 2, t + 39 * kMin, ++rv,
                                  WatchType::kAdded));
        !a)
      return a;
  }
  return {};
}

// Everything this build answers about the store, one fact a line.
class Answers {
 public:
  explicit Answers(const Store& store, int hours = 3) : store_(store), hours_(hours) {}

  std::string Run() {
    for (const ShardInfo& s : store_.Shards()) {
      if (!s.sealed) continue;
      Line() << "shard " << s.id << " window " << s.window_start_ns << " " << s.window_end_ns
             << " times " << s.min_ns << " " << s.max_ns << " records " << s.records
             << " resources " << s.resources;
    }
    for (const auto& shard : store_.Snapshot()) Entries(*shard);
    const int64_t end = kT0 + hours_ * kHour;
    std::vector<TimeRange> ranges = {{kT0, end},
                                     {kT0, kT0 + kHour},
                                     {kT0 + kHour + 20 * kMin, kT0 + 2 * kHour + 10 * kMin},
                                     {kT0 + 2 * kHour + 59 * kMin, kT0 + 3 * kHour}};
    for (int h = 3; h < hours_; ++h) ranges.push_back({kT0 + h * kHour, kT0 + (h + 1) * kHour});
    for (const TimeRange& range : ranges) {
      TimelineQuery q;
      q.range = range;
      Timeline(q);
      q.kind = "Event";
      Timeline(q);
      q.kind = "Pod";
      q.namespace_ = "web";
      q.sort = TimelineSort::kMostEvents;
      Timeline(q);
      q.namespace_.clear();
      q.kind.clear();
      q.name_match = "P4";
      q.sort = TimelineSort::kName;
      Timeline(q);
      q.name_match.clear();
      q.name_exact = PodName(42);
      Timeline(q);
      Line() << "kinds " << Join(store_.Kinds(range));
      Line() << "namespaces " << Join(store_.Namespaces(range));
    }
    TimeRange all{kT0 - kHour, end + kHour};
    for (const ResourceKey& k : keys_) {
      store_.History(k.view(), all, false, [&](const RecordView& v) {
        Record("history " + k.ToString(), v);
        return true;
      });
      if (k.kind != "Event") {
        store_.Events(k.view(), all, [&](const RecordView& v) {
          Record("events " + k.ToString(), v);
          return true;
        });
      }
    }
    // By name only (any uid).
    store_.History({"Pod", "shop", PodName(42), ""}, all, false, [&](const RecordView& v) {
      Record("history-any-uid", v);
      return true;
    });
    store_.Events({"Node", "", "ip-10-0-0-0.ec2.internal", ""}, all, [&](const RecordView& v) {
      Record("node-events-any-uid", v);
      return true;
    });
    std::vector<int64_t> moments = {kT0 + 10 * kMin, kT0 + kHour + 30 * kMin,
                                    kT0 + 2 * kHour + 59 * kMin};
    if (hours_ > 3) moments.push_back(kT0 + (hours_ - 1) * kHour + 30 * kMin);
    for (int64_t at : moments) {
      auto p = store_.PayloadAt({"Pod", "shop", PodName(1), PodUid(1)}, at);
      if (p && *p) Record("payload-at " + std::to_string(at), (*p)->view());
      for (std::string_view kind : {"Pod", "Node", "Deployment"}) {
        auto objects = store_.ObjectsAt(kind, "", at, nullptr);
        if (!objects) {
          Line() << "objects-at error " << objects.error().ToString();
          continue;
        }
        for (const ObjectAt& o : *objects) {
          Line() << "objects-at " << at << " " << o.key.ToString() << " " << o.api_group << "/"
                 << o.api_version << " " << o.creation_ns;
        }
      }
    }
    for (std::string_view needle : {"p1", "WEB-1", "ghost", "ec2", "api"}) {
      for (const SearchHit& h : store_.Search(needle, "", 1000)) {
        Line() << "search " << needle << " " << h.key.ToString() << " " << h.first_ns << " "
               << h.last_ns << " " << h.creation_ns << " " << h.deleted;
      }
    }
    for (auto [group, kind] : {std::pair<std::string_view, std::string_view>{"", "Pod"},
                               {"", "Node"},
                               {"apps", "Deployment"}}) {
      for (const LiveObject& o : store_.LiveObjects(group, kind, "")) {
        Line() << "live " << kind << " " << o.namespace_ << "/" << o.name << " " << o.uid << " "
               << o.resource_version;
      }
    }
    return out_.str();
  }

 private:
  std::ostream& Line() {
    out_ << "\n";
    return out_;
  }
  static std::string Join(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += x + ",";
    return s;
  }
  void Record(const std::string& what, const RecordView& v) {
    Line() << what << " " << v.observed_ns << " " << static_cast<int>(v.watch_type) << " "
           << v.api_group << "/" << v.api_version << " " << v.kind << " " << v.namespace_ << "/"
           << v.name << " " << v.uid << " rv " << v.resource_version << " payload "
           << v.payload.size() << " " << Fnv(v.payload);
    if (v.event) {
      out_ << " event " << v.event->involved_kind << " " << v.event->involved_namespace << "/"
           << v.event->involved_name << " " << v.event->involved_uid << " " << v.event->reason
           << " " << static_cast<int>(v.event->severity) << " " << v.event->count << " "
           << v.event->first_timestamp_ns << " " << v.event->last_timestamp_ns;
    }
  }
  void Entries(const Shard& shard) {
    const ShardInfo info = shard.info();
    if (!info.sealed) return;
    EntryFilter all;
    shard.ForEachEntry(all, true, [&](const EntryView& e) {
      keys_.emplace(e.key);
      std::ostream& o = Line();
      o << "entry " << info.id << " " << ResourceKey(e.key).ToString() << " " << e.api_group << "/"
        << e.api_version << " created " << e.creation_ns << " span " << e.first_ns << " "
        << e.last_ns << " counts " << e.change_count << " " << e.nochange_count << " "
        << e.record_count << " flags " << int(e.flags) << " rv " << e.last_resource_version
        << " changes";
      for (uint32_t s : e.change_secs) o << " " << s;
      o << " nochanges";
      for (uint32_t s : e.nochange_secs) o << " " << s;
      o << " heat";
      for (const HeatView& h : e.heat) {
        o << " " << h.minute << ":" << h.count << ":" << h.reason << ":" << int(h.severity);
      }
      o << " owners";
      for (const OwnerView& w : e.owners) {
        o << " " << w.kind << ":" << w.name << ":" << w.uid << ":" << w.controller;
      }
      return true;
    });
    // A name search the way the store runs one in an older shard.
    EntryFilter search;
    search.name_contains = "p4";
    search.skip_carried = true;
    search.skip_events = true;
    shard.ForEachEntry(search, false, [&](const EntryView& e) {
      Line() << "name-search " << info.id << " " << ResourceKey(e.key).ToString();
      return true;
    });
  }
  void Timeline(const TimelineQuery& q) {
    auto t = store_.Timeline(q);
    std::ostream& o = Line();
    o << "timeline " << q.range.start_ns << " " << q.range.end_ns << " kind " << q.kind << " ns "
      << q.namespace_ << " match " << q.name_match << " exact " << q.name_exact << " sort "
      << static_cast<int>(q.sort);
    if (!t) {
      o << " error " << t.error().ToString();
      return;
    }
    o << " matched " << t->matched << " truncated " << t->truncated;
    for (const TimelineRow& r : t->rows) {
      std::ostream& l = Line();
      l << "  row " << ResourceKey(r.key).ToString() << " " << r.api_group << "/" << r.api_version
        << " " << r.start_ns << " " << r.end_ns << " created " << r.creation_ns << " deleted "
        << r.deleted << " events " << r.events << " warnings " << r.warnings << " changed";
      for (uint32_t s : r.changed_at) l << " " << s;
      l << " nochange";
      for (uint32_t s : r.nochange_at) l << " " << s;
      l << " heat";
      for (const HeatCell& h : r.heat) {
        l << " " << h.minute_unix << ":" << h.count << ":" << h.reason << ":" << int(h.severity);
      }
      l << " owners";
      for (const OwnerView& w : r.owners) l << " " << w.kind << ":" << w.name << ":" << w.uid;
    }
  }

  const Store& store_;
  const int hours_;
  std::ostringstream out_;
  std::set<ResourceKey> keys_;
};

StoreOptions Options(const fs::path& root, bool read_only) {
  StoreOptions o;
  o.root = root;
  o.background = false;
  o.read_only = read_only;
  o.now_ns = [] { return kT0 + 4 * kHour; };
  o.writer.target_block_bytes = 16 * 1024;
  o.sealed_block_bytes = 64 * 1024;  // several blocks a shard
  return o;
}

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Not a test: with SLOOP_WRITE_STORE=DIR, writes the recipe's store and its answers into DIR.
TEST(StoredFormats, WriteStoreWhenAsked) {
  const char* dir = std::getenv("SLOOP_WRITE_STORE");
  if (!dir) GTEST_SKIP() << "SLOOP_WRITE_STORE is not set";
  ASSERT_FALSE(fs::exists(dir)) << dir << " exists: give a new directory";
  {
    auto store = Store::Open(Options(dir, false));
    ASSERT_TRUE(store) << store.error().ToString();
    ASSERT_TRUE(WriteRecipe(**store));
    ASSERT_TRUE((*store)->Close());
  }
  for (const auto& f : fs::directory_iterator(dir)) {
    if (!fs::is_directory(f)) fs::remove(f);  // the lock, the recording log: not the format
  }
  auto store = Store::Open(Options(dir, true));
  ASSERT_TRUE(store) << store.error().ToString();
  std::ofstream(fs::path(dir) / "answers.txt") << Answers(**store).Run() << "\n";
}

// Older indexes rewritten against the next shard's (Store::RebaseIndexes) answer every query as
// whole ones do, after a restart too; the newest stay whole, chains are bounded, and the store
// is smaller.
TEST(StoredFormats, RebasedIndexesAnswerAsWholeOnes) {
  constexpr int kHours = 10;
  const fs::path root =
      fs::temp_directory_path() / ("sloop-stored-formats-rebase-" + std::to_string(getpid()));
  fs::remove_all(root);
  std::string answers[2];
  uint64_t index_bytes[2] = {};
  for (int rebase = 0; rebase < 2; ++rebase) {
    const fs::path dir = root / (rebase ? "rebased" : "whole");
    StoreOptions o = Options(dir, false);
    o.rebase_indexes = rebase;
    std::string live;
    {
      auto store = Store::Open(o);
      ASSERT_TRUE(store) << store.error().ToString();
      ASSERT_TRUE(WriteRecipe(**store, kHours));
      ASSERT_TRUE((*store)->Close());
      EXPECT_EQ((*store)->Stats().indexes_rebased, rebase ? 8u : 0u);
      live = Answers(**store, kHours).Run();
    }
    auto store = Store::Open(Options(dir, true));
    ASSERT_TRUE(store) << store.error().ToString();
    EXPECT_EQ((*store)->Stats().indexes_rebuilt, 0u);
    answers[rebase] = Answers(**store, kHours).Run();
    EXPECT_EQ(answers[rebase], live) << "answers change with a restart";
    std::vector<uint64_t> bases;
    for (const ShardInfo& s : (*store)->Shards()) {
      index_bytes[rebase] += s.index_bytes;
      auto base = IndexReader::BaseShardOf(
          dir / "shards" /
          (std::string(10 - std::to_string(s.id).size(), '0') + std::to_string(s.id) + ".idx"));
      ASSERT_TRUE(base);
      bases.push_back(*base);
    }
    ASSERT_EQ(bases.size(), size_t{kHours});
    if (!rebase) {
      EXPECT_EQ(bases, std::vector<uint64_t>(kHours, 0));
      continue;
    }
    // Shard i reads through shard i + 1, but the eighth stays whole (no chain is longer than
    // seven: 1 -> 2 -> ... -> 8), and so does the newest.
    EXPECT_EQ(bases, (std::vector<uint64_t>{2, 3, 4, 5, 6, 7, 8, 0, 10, 0}));
  }
  EXPECT_EQ(answers[1], answers[0]);
  EXPECT_LT(index_bytes[1], index_bytes[0]);
  fs::remove_all(root);
}

// A shard whose index is rewritten after the ones after it (it waited for its upload to the
// object store) does not lengthen their chain past kMaxBaseChain: it stays whole instead.
TEST(StoredFormats, AnIndexRewrittenLateReadsThroughNoMoreThanSevenBases) {
  constexpr int kHours = 10;
  const fs::path dir =
      fs::temp_directory_path() / ("sloop-stored-formats-late-" + std::to_string(getpid()));
  fs::remove_all(dir);
  bool first_uploaded = false;
  StoreOptions o = Options(dir, false);
  o.shard_uploaded = [&](const ShardInfo& i) { return i.id != 1 || first_uploaded; };
  auto store = Store::Open(o);
  ASSERT_TRUE(store) << store.error().ToString();
  ASSERT_TRUE(WriteRecipe(**store, kHours));
  first_uploaded = true;
  ASSERT_TRUE((*store)->Maintain());
  ASSERT_TRUE((*store)->Close());
  std::map<uint64_t, uint64_t> base;
  for (const ShardInfo& s : (*store)->Shards()) {
    auto b = IndexReader::BaseShardOf(
        dir / "shards" /
        (std::string(10 - std::to_string(s.id).size(), '0') + std::to_string(s.id) + ".idx"));
    ASSERT_TRUE(b);
    base[s.id] = *b;
  }
  // Shards 2 to 8 read through the next, 9 stays whole; so does 1, which would read through 8.
  EXPECT_EQ(base[1], 0u);
  EXPECT_EQ(base[2], 3u);
  EXPECT_EQ(base[8], 9u);
  EXPECT_EQ(base[9], 0u);
  for (const auto& [id, b] : base) {
    size_t depth = 0;
    for (uint64_t at = b; at != 0 && depth <= base.size(); at = base[at]) ++depth;
    EXPECT_LE(depth, 7u) << "shard " << id;
  }
  fs::remove_all(dir);
}

// Each committed store opens and answers as the build that wrote it did.
TEST(StoredFormats, EveryCommittedStoreAnswersAsItsBuildDid) {
  const fs::path root = fs::path(SLOOP_TESTDATA_DIR) / "store";
  int stores = 0;
  for (const auto& version : fs::directory_iterator(root)) {
    SCOPED_TRACE(version.path().string());
    const fs::path copy =
        fs::temp_directory_path() / ("sloop-stored-formats-" + std::to_string(getpid()) + "-" +
                                     version.path().filename().string());
    fs::remove_all(copy);
    fs::create_directories(copy);
    fs::copy(version.path() / "shards", copy / "shards");
    std::string got;
    {
      auto store = Store::Open(Options(copy, true));
      ASSERT_TRUE(store) << store.error().ToString();
      EXPECT_EQ((*store)->Stats().indexes_rebuilt, 0u);
      EXPECT_EQ((*store)->Stats().damaged_files_set_aside, 0u);
      got = Answers(**store).Run() + "\n";
    }
    fs::remove_all(copy);
    const std::string want = ReadAll(version.path() / "answers.txt");
    ASSERT_FALSE(want.empty());
    if (got != want) {
      std::istringstream g(got), w(want);
      std::string gl, wl;
      int line = 0;
      while (true) {
        ++line;
        bool more_g = static_cast<bool>(std::getline(g, gl));
        bool more_w = static_cast<bool>(std::getline(w, wl));
        if (!more_g && !more_w) break;
        if (gl != wl || more_g != more_w) {
          ADD_FAILURE() << "answers differ from line " << line << "\n  want: " << wl
                        << "\n  got:  " << gl;
          break;
        }
      }
    }
    ++stores;
  }
  EXPECT_GE(stores, 1);
}

}  // namespace
}  // namespace sloop
