// JSON string escaping, UTF-8 repair, the JSON writer, HTML escaping.
#include "http/json_writer.h"

#include <gtest/gtest.h>

namespace sloop::http {
namespace {

TEST(JsonWriter, EscapesEverything) {
  std::string out;
  AppendJsonString(&out, std::string("a\"b\\c\n\t\x01\x1f<>&\x7f", 13));
  EXPECT_EQ(out, "\"a\\\"b\\\\c\\n\\t\\u0001\\u001f\\u003c\\u003e\\u0026\x7f\"");
  out.clear();
  AppendJsonString(&out, std::string("x\0y", 3));
  EXPECT_EQ(out, "\"x\\u0000y\"");
  out.clear();
  AppendJsonString(&out, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");  // valid UTF-8 kept
  EXPECT_EQ(out, "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
  out.clear();
  AppendJsonString(&out,
                   "a\xff"
                   "b\xc3"
                   "c\xed\xa0\x80"
                   "d\xc0\xaf");  // invalid → U+FFFD
  EXPECT_EQ(out,
            "\"a\xef\xbf\xbd"
            "b\xef\xbf\xbd"
            "c\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
            "d\xef\xbf\xbd\xef\xbf\xbd\"");
  out.clear();
  AppendJsonString(&out, "\xe2\x80\xa8");
  EXPECT_EQ(out, "\"\\u2028\"");
  EXPECT_TRUE(IsValidUtf8(out));
}

TEST(JsonWriter, CompactAndIndented) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject().Field("a", int64_t(1)).Key("b").BeginArray().Int(1).Null().Bool(true).EndArray();
  w.Key("c").BeginObject().EndObject().Key("d").Raw("{\"x\":1}").EndObject();
  EXPECT_EQ(out, R"({"a":1,"b":[1,null,true],"c":{},"d":{"x":1}})");

  std::string pretty;
  JsonWriter p(&pretty, " ");
  p.BeginObject().Key("view_options").BeginObject().Field("sort", "").EndObject();
  p.Key("rows").BeginArray().EndArray().EndObject();
  EXPECT_EQ(pretty, "{\n \"view_options\": {\n  \"sort\": \"\"\n },\n \"rows\": []\n}");
}

TEST(HtmlEscape, Escapes) {
  EXPECT_EQ(HtmlEscape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
}

}  // namespace
}  // namespace sloop::http
