#include "objstore/manifest.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace sloop::objstore {
namespace {

ShardManifest Example() {
  ShardManifest m;
  m.cluster = "prod \"east\"";
  m.shard_id = 42;
  m.window_start_ns = 1795165200000000000;
  m.window_end_ns = m.window_start_ns + 3600000000000;
  m.first_record_ns = m.window_start_ns + 5;
  m.last_record_ns = m.window_end_ns - 5;
  m.records = 123456;
  m.resources = 789;
  m.segment = {1 << 20, 0xfedcba9876543210ull};
  m.index = {4096, 0x0123456789abcdefull};
  m.segment_format = 2;
  m.index_format = 3;
  m.index_made_whole = true;
  m.uploaded_at_ns = m.window_end_ns + 1000;
  return m;
}

TEST(ManifestTest, RoundTrips) {
  const ShardManifest m = Example();
  const std::string json = ManifestJson(m);
  EXPECT_NE(json.find("\"xxh3_64\":\"fedcba9876543210\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"uploaded_at\":\"2026-11-20T10:00:00.000001Z\""), std::string::npos)
      << json;
  auto back = ParseManifest(json, "k.json");
  ASSERT_TRUE(back.has_value()) << back.error().ToString();
  EXPECT_EQ(*back, m);
}

TEST(ManifestTest, UnknownFieldsAreIgnored) {
  std::string json = ManifestJson(Example());
  json.insert(1, "\"later_field\":[1,2,{\"x\":null}],");
  auto back = ParseManifest(json, "k.json");
  ASSERT_TRUE(back.has_value()) << back.error().ToString();
  EXPECT_EQ(*back, Example());
}

TEST(ManifestTest, RefusesDamagedTextNamingTheKey) {
  const std::string good = ManifestJson(Example());
  for (const std::string& bad :
       {std::string(), good.substr(0, good.size() / 2), std::string("[1,2]"),
        std::string("{\"format_version\":1}"),
        [&] {
          std::string s = good;
          s.replace(s.find("fedcba9876543210"), 16, "fedcba98765432zz");
          return s;
        }(),
        [&] {
          std::string s = good;
          s.replace(s.find("\"records\""), 9, "\"recordz\"");
          return s;
        }()}) {
    auto r = ParseManifest(bad, "p/c/shards/x.json");
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kCorruption) << bad;
    EXPECT_NE(r.error().message.find("p/c/shards/x.json"), std::string::npos);
  }
}

TEST(ManifestTest, RefusesAnUnknownVersionSayingSo) {
  std::string json = ManifestJson(Example());
  json.replace(json.find("\"format_version\":1"), 18, "\"format_version\":2");
  auto r = ParseManifest(json, "k.json");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kUnsupported);
  EXPECT_NE(r.error().message.find("format_version 2"), std::string::npos) << r.error().message;
}

TEST(ManifestTest, DigestOfAFileIsItsSizeAndXxh3) {
  const auto path = std::filesystem::temp_directory_path() / "sloop-manifest-test-digest";
  std::string bytes(3 << 20, 'x');
  for (size_t i = 0; i < bytes.size(); i += 7) bytes[i] = static_cast<char>(i);
  std::ofstream(path, std::ios::binary) << bytes;
  auto d = DigestFile(path);
  std::filesystem::remove(path);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->bytes, bytes.size());
  EXPECT_EQ(d->xxh3, Xxh3(bytes));
  EXPECT_FALSE(DigestFile(path).has_value());
}

}  // namespace
}  // namespace sloop::objstore
