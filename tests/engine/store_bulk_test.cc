// Reading many resources at once (engine/store_bulk.cc, Shard::ForEachPickedRecord): the same
// records as one lookup per resource, in sealed and active shards, with blocks small enough that
// neighbours share them and one resource's records span several.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "engine/store.h"
#include "tests/engine/record_maker.h"

namespace sloop {
namespace {

using testing::RecordMaker;
namespace fs = std::filesystem;

constexpr int64_t kSec = 1000000000LL;
constexpr int64_t kMin = 60 * kSec;
constexpr int64_t kT0 = 1795165200LL * kSec;  // 2026-11-20T09:00:00Z

int64_t At(int hour, int minute) { return kT0 + (hour - 9) * 60 * kMin + minute * kMin; }

// Param: whether every shard is sealed (else the last, 11:00-12:00, is active).
class StoreBulkTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("sloop-bulk-test-" + std::to_string(getpid()) + "-" +
            std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
            (GetParam() ? "sealed" : "active") +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    now_ = At(11, 50);
    StoreOptions o;
    o.root = dir_;
    o.background = false;
    o.now_ns = [this] { return now_; };
    o.writer.target_block_bytes = 8 * 1024;  // a pod is ~5 KB: one or two a block
    o.sealed_block_bytes = 8 * 1024;
    auto s = Store::Open(o);
    ASSERT_TRUE(s.has_value()) << s.error().ToString();
    store_ = std::move(*s);
    auto add = [&](const RecordView& r) { ASSERT_TRUE(store_->Append(r).has_value()); };
    for (char c = 'a'; c <= 'e'; ++c) {
      std::string n(1, c);
      add(mk_.Pod(At(9, c - 'a' + 1), "shop", n, "u-" + n, c, WatchType::kAdded));
    }
    add(mk_.Pod(At(9, 10), "ops", "x", "u-x", 10, WatchType::kAdded));
    add(mk_.Node(At(9, 11), "n", "u-n", 11, WatchType::kAdded));
    add(mk_.Pod(At(10, 5), "shop", "b", "u-b", 20, WatchType::kModified, At(9, 2)));
    add(mk_.Pod(At(10, 10), "shop", "c", "u-c", 21, WatchType::kDeleted, At(9, 3)));
    add(mk_.Pod(At(10, 15), "shop", "b", "u-b", 22, WatchType::kModified, At(9, 2)));
    add(mk_.Pod(At(10, 20), "shop", "f", "u-f", 23, WatchType::kAdded, At(9, 30)));
    add(mk_.Pod(At(11, 5), "shop", "a", "u-a", 30, WatchType::kModified, At(9, 1)));
    add(mk_.Pod(At(11, 6), "shop", "g", "u-g", 31, WatchType::kAdded));
    if (GetParam()) now_ = At(12, 30);
    auto m = store_->Maintain();
    ASSERT_TRUE(m.has_value()) << m.error().ToString();
    auto shards = store_->Shards();
    ASSERT_EQ(shards.size(), 3u);
    EXPECT_EQ(shards.back().sealed, GetParam());
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }

  static std::vector<ResourceKey> Pods(std::string letters) {
    std::vector<ResourceKey> keys;
    for (char c : letters)
      keys.emplace_back("Pod", "shop", std::string(1, c), "u" + std::string("-") + c);
    return keys;
  }

  // "name:rv" (previous versions as "name:rv<"), in the order fn saw them.
  std::vector<std::string> Versions(const std::vector<ResourceKey>& keys, TimeRange range,
                                    bool previous) {
    std::vector<std::string> out;
    auto r = store_->Versions(
        keys, range, previous, nullptr, [&](size_t i, const RecordView& rec, bool prev) {
          EXPECT_EQ(keys[i].name, rec.name);
          out.push_back(std::string(rec.name) + ":" + std::string(rec.resource_version) +
                        (prev ? "<" : ""));
          return true;
        });
    EXPECT_TRUE(r.has_value()) << r.error().ToString();
    return out;
  }

  fs::path dir_;
  int64_t now_ = 0;
  RecordMaker mk_;
  std::unique_ptr<Store> store_;
};

using Strings = std::vector<std::string>;

Strings Sorted(Strings v) {
  std::sort(v.begin(), v.end());
  return v;
}

TEST_P(StoreBulkTest, PickedRecordsAreThoseOfOneLookupPerResource) {
  for (const auto& shard : store_->Snapshot()) {
    std::map<std::string, Strings> picked, looked_up;
    std::vector<ResourceKey> keys;
    EntryFilter filter;
    filter.kind = "Pod";
    auto r = shard->ForEachPickedRecord(
        filter,
        [&](const EntryView& e) {
          keys.emplace_back(e.key);
          return e.key.name != "d";  // leave one out
        },
        [&](const RecordView& rec) {
          picked[std::string(rec.name)].push_back(std::string(rec.resource_version));
          return true;
        });
    ASSERT_TRUE(r.has_value());
    for (const ResourceKey& k : keys) {
      if (k.name == "d") continue;
      ASSERT_TRUE(shard
                      ->ForEachRecord(k.view(),
                                      [&](const RecordView& rec) {
                                        looked_up[k.name].push_back(
                                            std::string(rec.resource_version));
                                        return true;
                                      })
                      .has_value());
    }
    EXPECT_EQ(picked, looked_up) << "shard " << shard->info().id;
    EXPECT_FALSE(picked.count("d"));
    EXPECT_FALSE(picked.empty());
  }
}

TEST_P(StoreBulkTest, ObjectsAtKnowsWhoExisted) {
  auto names = [&](std::string_view kind, std::string_view ns, int64_t t) {
    Strings out;
    auto objects = store_->ObjectsAt(kind, ns, t, nullptr);
    EXPECT_TRUE(objects.has_value());
    for (const ObjectAt& o : *objects) out.push_back(o.key.namespace_ + "/" + o.key.name);
    return out;
  };
  EXPECT_EQ(names("Pod", "shop", At(9, 3)), (Strings{"shop/a", "shop/b", "shop/c"}));
  // c's deletion (10:10) is told by its version, not here; f was created at 09:30 but first
  // recorded at 10:20; a, d, e carried over.
  EXPECT_EQ(names("Pod", "shop", At(10, 12)),
            (Strings{"shop/a", "shop/b", "shop/c", "shop/d", "shop/e", "shop/f"}));
  EXPECT_EQ(names("Pod", "shop", At(11, 30)),
            (Strings{"shop/a", "shop/b", "shop/d", "shop/e", "shop/f", "shop/g"}));
  EXPECT_EQ(names("Pod", "", At(11, 30)).front(), "ops/x");
  EXPECT_EQ(names("Node", "shop", At(11, 30)), (Strings{"/n"})) << "cluster-scoped";
  EXPECT_EQ(names("Pod", "shop", At(8, 0)), Strings{});
  EXPECT_EQ(names("", "shop", At(10, 0)), Strings{});
  EXPECT_EQ(names("Gadget", "", At(10, 0)), Strings{});
}

TEST_P(StoreBulkTest, VersionInEffectAndVersionsInARange) {
  // The version in effect at 10:45, from three shards' worth of history.
  EXPECT_EQ(Sorted(Versions(Pods("abcdef"), {At(10, 45), At(10, 45)}, true)),
            (Strings{"a:97<", "b:22<", "c:21<", "d:100<", "e:101<", "f:23<"}));
  // Previous first, then the records in (start, end] oldest first.
  Strings got = Versions(Pods("ab"), {At(10, 0), At(11, 40)}, true);
  auto pos = [&](const std::string& s) {
    return std::find(got.begin(), got.end(), s) - got.begin();
  };
  ASSERT_EQ(Sorted(got), (Strings{"a:30", "a:97<", "b:20", "b:22", "b:98<"}));
  EXPECT_LT(pos("a:97<"), pos("a:30"));
  EXPECT_LT(pos("b:98<"), pos("b:20"));
  EXPECT_LT(pos("b:20"), pos("b:22"));
  // Without previous versions; a key with none in the range gives nothing.
  EXPECT_EQ(Sorted(Versions(Pods("abd"), {At(10, 0), At(11, 40)}, false)),
            (Strings{"a:30", "b:20", "b:22"}));
  // Keys of several kinds.
  std::vector<ResourceKey> mixed = {ResourceKey("Node", "", "n", "u-n"),
                                    ResourceKey("Pod", "shop", "g", "u-g")};
  EXPECT_EQ(Sorted(Versions(mixed, {At(11, 30), At(11, 30)}, true)), (Strings{"g:31<", "n:11<"}));
  EXPECT_EQ(Versions({}, {At(11, 30), At(11, 30)}, true), Strings{});
}

TEST_P(StoreBulkTest, StopsWhenToldAndWhenCancelled) {
  int calls = 0;
  auto r = store_->Versions(Pods("abcdef"), {At(10, 45), At(11, 40)}, true, nullptr,
                            [&](size_t, const RecordView&, bool) { return ++calls < 2; });
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(calls, 2);
  std::atomic<bool> cancel{true};
  r = store_->Versions(Pods("abcdef"), {At(10, 45), At(11, 40)}, true, &cancel,
                       [&](size_t, const RecordView&, bool) { return true; });
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kAborted);
  auto o = store_->ObjectsAt("Pod", "shop", At(10, 45), &cancel);
  ASSERT_FALSE(o.has_value());
  EXPECT_EQ(o.error().code, ErrorCode::kAborted);
}

INSTANTIATE_TEST_SUITE_P(Shards, StoreBulkTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "AllSealed" : "LastActive"; });

}  // namespace
}  // namespace sloop
