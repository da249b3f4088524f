// The parser of the original Sloop's backups: keys, kinds, the stream framing and its errors.
// (Backups written by Badger itself are imported in sloop_import_test.)
#include "ingest/sloop_backup.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "schema/sloop_backup.pb.h"

namespace sloop::ingest {
namespace {

std::string Le64(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>(v >> (8 * i));
  return s;
}

std::string WatchValue(int64_t secs, const std::string& kind, int type,
                       const std::string& payload) {
  sloopimport::KubeWatchResult m;
  m.mutable_timestamp()->set_seconds(secs);
  m.set_kind(kind);
  m.set_watchtype(static_cast<sloopimport::KubeWatchResult::WatchType>(type));
  m.set_payload(payload);
  return m.SerializeAsString();
}

std::string List(const std::vector<std::pair<std::string, std::string>>& kvs, uint64_t version = 1,
                 uint8_t meta = 0) {
  sloopimport::KVList list;
  for (const auto& [k, v] : kvs) {
    auto* kv = list.add_kv();
    kv->set_key(k);
    kv->set_value(v);
    kv->set_version(version);
    kv->set_meta(std::string(1, static_cast<char>(meta)));
  }
  const std::string body = list.SerializeAsString();
  return Le64(body.size()) + body;
}

TEST(SloopKeyTest, ParsesSloopsLayout) {
  SloopKey k;
  ASSERT_TRUE(ParseSloopKey("/watch/001546398000/Pod/ns/name/1546398245000000006", &k));
  EXPECT_EQ(k.table, SloopTable::kWatch);
  EXPECT_EQ(k.partition, "001546398000");
  EXPECT_EQ(k.kind, "Pod");
  EXPECT_EQ(k.namespace_, "ns");
  EXPECT_EQ(k.name, "name");
  EXPECT_EQ(k.watch_ns, 1546398245000000006);
  ASSERT_TRUE(ParseSloopKey("/watch/001546398000/Node//node-1/1546398245000000006", &k));
  EXPECT_EQ(k.namespace_, "");
  ASSERT_TRUE(ParseSloopKey("/ressum/001567036800/Pod/ns/pod/uid", &k));
  EXPECT_EQ(k.table, SloopTable::kResSum);
  EXPECT_FALSE(ParseSloopKey("/watch/001546398000/Pod/ns/name/notanumber", &k));
  EXPECT_FALSE(ParseSloopKey("/watch/001546398000/Pod/ns/name", &k));
  EXPECT_FALSE(ParseSloopKey("/watch/001546398000/Pod/ns/name/1/extra", &k));
  EXPECT_FALSE(ParseSloopKey("watch/001546398000/Pod/ns/name/1/", &k));
  EXPECT_FALSE(ParseSloopKey("", &k));
}

TEST(SloopKindTest, MapsSloopsNamesToOurs) {
  EXPECT_EQ(MapSloopKind("Endpoint").kind, "Endpoints");
  EXPECT_EQ(MapSloopKind("Deployment").group, "apps");
  EXPECT_EQ(MapSloopKind("Pod").version, "v1");
  EXPECT_EQ(MapSloopKind("StorageClass").group, "storage.k8s.io");
  auto crd = MapSloopKind("Widget");
  EXPECT_EQ(crd.kind, "Widget");
  EXPECT_EQ(crd.group, "");
}

TEST(KubeWatchResultTest, Decodes) {
  auto w = DecodeKubeWatchResult(WatchValue(1795165200, "Pod", 2, R"({"metadata":{"name":"a"}})"));
  ASSERT_TRUE(w) << w.error().message;
  EXPECT_EQ(w->timestamp_ns, 1795165200'000000000);
  EXPECT_EQ(w->kind, "Pod");
  EXPECT_EQ(w->watch_type, WatchType::kDeleted);
  EXPECT_EQ(w->payload, R"({"metadata":{"name":"a"}})");
  EXPECT_FALSE(DecodeKubeWatchResult(WatchValue(1, "Pod", 7, "{}")));
  EXPECT_FALSE(DecodeKubeWatchResult("\xff\xff\xff"));
}

TEST(BadgerStreamTest, WalksEveryKvAndReportsOffsets) {
  const std::string a = List({{"/watch/001795165200/Pod/ns/a/1795165201000000000", "v1"},
                              {"/watch/001795165200/Pod/ns/b/1795165202000000000", "v2"}});
  const std::string b = List({{"/ressum/001795165200/Pod/ns/a/uid", "s"}}, 5, kBadgerBitDelete);
  const std::string stream = a + b;
  std::vector<BadgerKv> seen;
  std::vector<std::string> keys;
  auto r = ForEachBadgerKv(stream, [&](const BadgerKv& kv) -> Result<void> {
    seen.push_back(kv);
    keys.emplace_back(kv.key);
    return {};
  });
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(keys[2], "/ressum/001795165200/Pod/ns/a/uid");
  EXPECT_EQ(seen[2].version, 5u);
  EXPECT_EQ(seen[2].meta, kBadgerBitDelete);
  EXPECT_GT(seen[2].offset, a.size());
  // A KV decodes again from its offset and length.
  std::string again;
  ASSERT_TRUE(DecodeBadgerKv(stream, seen[1].offset, seen[1].length, [&](const BadgerKv& kv) {
    again = kv.value;
    return Result<void>{};
  }));
  EXPECT_EQ(again, "v2");
  // An empty stream is an empty backup.
  EXPECT_TRUE(ForEachBadgerKv({}, [](const BadgerKv&) { return Result<void>{}; }));
}

TEST(BadgerStreamTest, DamageIsRefusedWithItsOffset) {
  const std::string a = List({{"/watch/001795165200/Pod/ns/a/1795165201000000000", "v1"}});
  const std::string stream = a + a;
  auto walk = [](std::string_view s) {
    return ForEachBadgerKv(std::span<const char>(s.data(), s.size()),
                           [](const BadgerKv&) { return Result<void>{}; });
  };
  for (size_t cut = 1; cut < stream.size(); ++cut) {
    if (cut == a.size()) continue;  // a whole first list is a valid, shorter stream
    auto r = walk(std::string_view(stream).substr(0, cut));
    ASSERT_FALSE(r) << "cut at " << cut;
    EXPECT_EQ(r.error().code, ErrorCode::kCorruption);
    EXPECT_NE(r.error().message.find("byte"), std::string::npos) << r.error().message;
  }
  std::string bad = stream;
  bad[a.size() + 8] = '\x07';  // field 0, an invalid tag, in the second list
  auto r = walk(bad);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("byte " + std::to_string(a.size())), std::string::npos)
      << r.error().message;
}

}  // namespace
}  // namespace sloop::ingest
