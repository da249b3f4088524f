#include "objstore/shard_keys.h"

#include <gtest/gtest.h>

namespace sloop::objstore {
namespace {

constexpr int64_t kSec = 1000000000LL;
constexpr int64_t kT0 = 1795165200LL * kSec;  // 2026-11-20T09:00:00Z

TEST(ShardKeysTest, KeysNameClusterStartAndIdSortably) {
  EXPECT_EQ(ShardKey("backups/sloop/", "prod", kT0, 12, ShardFile::kSegment),
            "backups/sloop/prod/shards/20261120T0900Z-0000000012.seg");
  EXPECT_EQ(ShardKey("", "prod", kT0 + 90 * kSec, 3, ShardFile::kManifest),
            "prod/shards/20261120T0901Z-0000000003.json");
  EXPECT_EQ(ShardKey("/a//", "c", kT0, 1, ShardFile::kIndex), "a/c/shards/20261120T0900Z-0000000001.idx");
  EXPECT_EQ(ClusterShardsPrefix("p", "c"), "p/c/shards/");
  // Later starts sort later, whatever the id.
  EXPECT_LT(ShardKey("p", "c", kT0, 99, ShardFile::kSegment),
            ShardKey("p", "c", kT0 + 3600 * kSec, 1, ShardFile::kSegment));
  EXPECT_EQ(ShardStem(0, 0), "19700101T0000Z-0000000000");
  EXPECT_EQ(ShardStem(951782400LL * kSec, 7), "20000229T0000Z-0000000007");  // leap day
}

TEST(ShardKeysTest, ParseReadsWhatKeyWrote) {
  for (ShardFile f : {ShardFile::kSegment, ShardFile::kIndex, ShardFile::kManifest}) {
    auto k = ParseShardKey("p/q", ShardKey("p/q", "prod-1.eu", kT0 + 7200 * kSec, 4567, f));
    ASSERT_TRUE(k.has_value());
    EXPECT_EQ(k->cluster, "prod-1.eu");
    EXPECT_EQ(k->start_ns, kT0 + 7200 * kSec);
    EXPECT_EQ(k->id, 4567u);
    EXPECT_EQ(k->file, f);
    EXPECT_EQ(k->stem, "20261120T1100Z-0000004567");
  }
}

TEST(ShardKeysTest, ParseRefusesOtherKeys) {
  for (const char* key : {"p/prod/shards/20261120T0900Z-0000000012.tar",
                          "p/prod/shards/20261120T0900Z-000000012.seg",
                          "p/prod/shards/20261131T0900Z-0000000012.seg",  // 31 November
                          "p/prod/shards/20261120T2500Z-0000000012.seg",
                          "p/prod/other/20261120T0900Z-0000000012.seg",
                          "q/prod/shards/20261120T0900Z-0000000012.seg",
                          "p/prod/shards/20261120T0900Z-0000000012.seg.tmp",
                          "p/pr od/shards/20261120T0900Z-0000000012.seg", "p/prod", ""}) {
    EXPECT_FALSE(ParseShardKey("p", key).has_value()) << key;
  }
}

TEST(ShardKeysTest, ClusterNamesAreOnePathSegment) {
  for (const char* ok : {"prod", "a", "kind-kind", "eu.west_1", "C0"}) {
    EXPECT_TRUE(ValidateClusterName(ok).has_value()) << ok;
  }
  for (const char* bad : {"", ".", "..", "a/b", "a b", "prod?", "é"}) {
    auto r = ValidateClusterName(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().message.find("letters, digits"), std::string::npos);
  }
  EXPECT_FALSE(ValidateClusterName(std::string(129, 'a')).has_value());
}

}  // namespace
}  // namespace sloop::objstore
