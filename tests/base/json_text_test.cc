#include "base/json_text.h"

#include <gtest/gtest.h>

namespace sloop {
namespace {

TEST(JsonTextTest, QuotesAndBackslashesAreEscaped) {
  EXPECT_EQ(JsonQuote(""), "\"\"");
  EXPECT_EQ(JsonQuote("plain"), "\"plain\"");
  EXPECT_EQ(JsonQuote("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(JsonQuote("/<>&'"), "\"/<>&'\"");  // nothing else is escaped
}

TEST(JsonTextTest, ControlCharactersUseShortFormsOrUnicodeEscapes) {
  EXPECT_EQ(JsonQuote("\b\f\n\r\t"), "\"\\b\\f\\n\\r\\t\"");
  EXPECT_EQ(JsonQuote(std::string("x\0y", 3)), "\"x\\u0000y\"");
  EXPECT_EQ(JsonQuote("\x01\x1f\x0b"), "\"\\u0001\\u001f\\u000b\"");
  EXPECT_EQ(JsonQuote("\x7f"), "\"\x7f\"");  // DEL is not a JSON control character
}

TEST(JsonTextTest, Utf8AndInvalidBytesPassThrough) {
  EXPECT_EQ(JsonQuote("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
            "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
  EXPECT_EQ(JsonQuote("\xff\xc3"), "\"\xff\xc3\"");
  EXPECT_EQ(JsonQuote("\xe2\x80\xa8"), "\"\xe2\x80\xa8\"");
}

TEST(JsonTextTest, EscapesOneByte) {
  std::string out;
  for (unsigned char c : {'"', '\\', '\b', '\f', '\n', '\r', '\t', '\x01', '<', '&'}) {
    AppendJsonEscape(&out, c);
  }
  EXPECT_EQ(out, "\\\"\\\\\\b\\f\\n\\r\\t\\u0001\\u003c\\u0026");
}

TEST(JsonTextTest, AppendKeepsWhatIsThere) {
  std::string out = "{\"k\":";
  AppendJsonString(&out, "v\n");
  EXPECT_EQ(out, "{\"k\":\"v\\n\"");
}

TEST(JsonTextTest, CompactJsonDropsWhiteSpaceOutsideStrings) {
  EXPECT_EQ(CompactJson("{\n  \"a b\": [ 1,\t2 ],\r\n  \"c\": \"x\\\" y\\\\\" }\n"),
            "{\"a b\":[1,2],\"c\":\"x\\\" y\\\\\"}");
  EXPECT_EQ(CompactJson(""), "");
  EXPECT_EQ(CompactJson("\"open string \n"), "\"open string \n");
}

}  // namespace
}  // namespace sloop
