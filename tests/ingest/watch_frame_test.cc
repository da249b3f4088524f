// ParseWatchFrame and the raw JSON walk under hostile input: every frame is classified, nothing
// recurses (100,000 levels of nesting are walked), nothing reads past the text.
#include "ingest/watch_frame.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ingest/raw_json.h"

namespace sloop::ingest {
namespace {

using Kind = WatchFrame::Kind;

std::string Deep(size_t levels) { return std::string(levels, '[') + std::string(levels, ']'); }

TEST(WatchFrameTest, Events) {
  auto f = ParseWatchFrame(
      R"({"type":"MODIFIED","object":{"kind":"Pod","metadata":{"name":"a","resourceVersion":"7"}}})");
  EXPECT_EQ(f.kind, Kind::kEvent);
  EXPECT_EQ(f.type, WatchType::kModified);
  EXPECT_EQ(f.resource_version, "7");
  EXPECT_EQ(f.object.front(), '{');
  EXPECT_EQ(f.object.back(), '}');
  EXPECT_EQ(ParseWatchFrame(R"({"object":{},"type":"DELETED"})").type, WatchType::kDeleted);
  EXPECT_EQ(ParseWatchFrame(R"({"type":"ADDED","object":{}})").type, WatchType::kAdded);
}

TEST(WatchFrameTest, BookmarksErrorsAndUnknownTypes) {
  auto b = ParseWatchFrame(R"({"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"9"}}})");
  EXPECT_EQ(b.kind, Kind::kBookmark);
  EXPECT_EQ(b.resource_version, "9");
  auto e = ParseWatchFrame(
      R"({"type":"ERROR","object":{"kind":"Status","code":410,"message":"too old"}})");
  EXPECT_EQ(e.kind, Kind::kError);
  EXPECT_EQ(e.error_code, "410");
  EXPECT_EQ(e.error_message, "too old");
  EXPECT_EQ(ParseWatchFrame(R"({"type":"SURPRISE","object":{}})").kind, Kind::kUnknownType);
}

TEST(WatchFrameTest, WhatIsNotAFrameIsMalformed) {
  for (std::string bad :
       {std::string(""), std::string("}}}"), std::string("not json"), std::string("[1,2]"),
        std::string(R"({"type":"ADDED"})"), std::string(R"({"type":"ADDED","object":[]})"),
        std::string(R"({"type":"ADDED","object":"x"})"),
        std::string(R"({"type":"ADDED","object":{)"),
        std::string(R"({"type":"ADDED","object":)") + Deep(100000) + "}",
        std::string("{\"type\":\"ADDED\",\"object\":{\"a\":\"\\"), std::string(1, '\0')}) {
    EXPECT_EQ(ParseWatchFrame(bad).kind, Kind::kMalformed) << bad.substr(0, 60);
  }
}

// A frame whose object nests 100,000 levels deep is walked, not recursed: the object is found
// whole (TypeRecorder then refuses it as too deep).
TEST(WatchFrameTest, DeepNestingIsWalkedIteratively) {
  std::string object =
      R"({"metadata":{"name":"d","resourceVersion":"3"},"x":)" + Deep(100000) + "}";
  std::string frame = R"({"type":"ADDED","object":)" + object + "}";
  auto f = ParseWatchFrame(frame);
  EXPECT_EQ(f.kind, Kind::kEvent);
  EXPECT_EQ(f.object.size(), object.size());
  EXPECT_EQ(f.resource_version, "3");
  EXPECT_EQ(RawMetadataField(object, "name"), "d");
}

// The list walk goes past a bad element to the next one: a bad item never ends it.
TEST(RawJsonTest, ForEachElementWalksPastBadAndDeepElements) {
  std::string items = "[{\"a\":1}, " + Deep(100000) + ", {\"b\":tru}, {}, 5, \"s\"]";
  std::vector<std::string> seen;
  auto ok = ForEachElement(items, [&](std::string_view e) { seen.emplace_back(e.substr(0, 8)); });
  ASSERT_TRUE(ok) << ok.error().message;
  ASSERT_EQ(seen.size(), 6u);
  EXPECT_EQ(seen[0], "{\"a\":1}");
  EXPECT_EQ(seen[2], "{\"b\":tru");
  EXPECT_EQ(seen[3], "{}");
  EXPECT_FALSE(ForEachElement("[{\"a\":1}, {", [](std::string_view) {}));
  EXPECT_FALSE(ForEachElement("[" + std::string(100000, '['), [](std::string_view) {}));
}

}  // namespace
}  // namespace sloop::ingest
