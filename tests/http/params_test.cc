// Parameter parsing, request target decoding, JSON writing and diffing, compression.
#include "http/params.h"

#include <gtest/gtest.h>

#include "http/compression.h"
#include "http/http_message.h"
#include "http/json_diff.h"
#include "http/json_writer.h"

namespace sloop::http {
namespace {

constexpr int64_t kS = kNsPerSec;

std::string ParamOf(auto fn) {
  try {
    fn();
  } catch (const ParamError& e) {
    return e.parameter();
  }
  return "(no error)";
}

TEST(ParseDuration, GoForms) {
  EXPECT_EQ(ParseDuration("1h", "lookback"), 3600 * kS);
  EXPECT_EQ(ParseDuration("1h30m", "lookback"), 5400 * kS);
  EXPECT_EQ(ParseDuration("90s", "lookback"), 90 * kS);
  EXPECT_EQ(ParseDuration("1.5h", "lookback"), 5400 * kS);
  EXPECT_EQ(ParseDuration("300ms", "lookback"), 300'000'000);
  EXPECT_EQ(ParseDuration("2h45m30.5s", "lookback"), (2 * 3600 + 45 * 60 + 30) * kS + kS / 2);
  EXPECT_EQ(ParseDuration("336h", "lookback"), 336 * 3600 * kS);
  EXPECT_EQ(ParseDuration("0", "lookback"), 0);
  EXPECT_EQ(ParseDuration("1us", "x"), 1000);
  EXPECT_EQ(ParseDuration("1\xc2\xb5s", "x"), 1000);
  // d is accepted here as in flags and config files (one parser: http/go_duration.h).
  EXPECT_EQ(ParseDuration("14d", "lookback"), 14 * 86400 * kS);
}

TEST(ParseDuration, RejectsBadInput) {
  for (const char* bad : {"", "1", "h", "-1h", "1x", "1h-", "1.h.5", "abc", "1w", "1hh",
                          "99999999999999999999h", "1000000h", ".", "1 h", "+"}) {
    try {
      ParseDuration(bad, "lookback");
      ADD_FAILURE() << "accepted " << bad;
    } catch (const ParamError& e) {
      EXPECT_EQ(e.parameter(), "lookback");
      EXPECT_FALSE(e.message().empty());
    }
  }
}

TEST(ParseTime, Forms) {
  EXPECT_EQ(ParseTime("1700000000", "t"), 1700000000 * kS);
  EXPECT_EQ(ParseTime("0", "t"), 0);
  EXPECT_EQ(ParseTime("2023-11-14T22:13:20Z", "t"), 1700000000 * kS);
  EXPECT_EQ(ParseTime("2023-11-14T22:13:20", "t"), 1700000000 * kS);
  EXPECT_EQ(ParseTime("2023-11-14T23:13:20+01:00", "t"), 1700000000 * kS);
  EXPECT_EQ(ParseTime("2023-11-14T22:13:20.25Z", "t"), 1700000000 * kS + kS / 4);
  EXPECT_EQ(ParseTime("2024-02-29T00:00:00Z", "t"), 1709164800 * kS);
}

TEST(ParseTime, RejectsBadInput) {
  for (const char* bad : {"",
                          "-1",
                          "-1700000000",
                          "abc",
                          "2023-13-01T00:00:00",
                          "2023-02-30T00:00:00",
                          "2023-02-29T00:00:00",
                          "2023-11-14T24:00:00",
                          "2023-11-14T22:13:60",
                          "2023-11-14",
                          "2023-11-14T22:13:20ZZ",
                          "2023-11-14T22:13:20+1",
                          "99999999999999999999999",
                          "9999999999999",
                          "9300000000",
                          "2263-01-01T00:00:00Z",
                          "1e9",
                          "0x10",
                          "1700000000.5",
                          "2023-11-14T22:13:20.1234567891Z",
                          " 1700000000"}) {
    EXPECT_EQ(ParamOf([&] { ParseTime(bad, "end_time"); }), "end_time") << bad;
  }
}

TEST(ParseInt, Bounds) {
  EXPECT_EQ(ParseInt("42", "limit", 1, 100), 42);
  for (const char* bad : {"", "0", "101", "-5", "+5", "1.5", "12abc", "99999999999999999999999",
                          "-99999999999999999999999"}) {
    EXPECT_EQ(ParamOf([&] { ParseInt(bad, "limit", 1, 100); }), "limit") << bad;
  }
}

TEST(ParseBool, Forms) {
  EXPECT_TRUE(ParseBool("true", "b"));
  EXPECT_TRUE(ParseBool("1", "b"));
  EXPECT_FALSE(ParseBool("FALSE", "b"));
  EXPECT_EQ(ParamOf([] { ParseBool("maybe", "b"); }), "b");
}

TEST(Format, TimesAndDurations) {
  EXPECT_EQ(FormatRfc3339(1700000000 * kS), "2023-11-14T22:13:20Z");
  EXPECT_EQ(FormatRfc3339(1700000000 * kS + 5'000'000), "2023-11-14T22:13:20.005Z");
  EXPECT_EQ(FormatIsoNoZone(1700000000 * kS + 5), "2023-11-14T22:13:20");
  EXPECT_EQ(FormatDuration(900 * kS), "15m0s");
  EXPECT_EQ(FormatDuration(3600 * kS), "1h0m0s");
  EXPECT_EQ(FormatDuration(kS + kS / 2), "1.5s");
}

TEST(ParseTarget, DecodesAndFlagsBadParameters) {
  Request r;
  r.target = "/a%20b/data?query=EventHeatMap&namespace=kube%2Dsystem&namematch=a+b&empty=&flag";
  std::string why;
  ASSERT_TRUE(ParseTarget(&r, &why)) << why;
  EXPECT_EQ(r.path, "/a b/data");
  EXPECT_EQ(r.Param("query"), "EventHeatMap");
  EXPECT_EQ(r.Param("namespace"), "kube-system");
  EXPECT_EQ(r.Param("namematch"), "a b");
  EXPECT_EQ(r.Param("empty"), "");
  EXPECT_FALSE(r.bad_parameter.has_value());

  auto bad = [](std::string target) {
    Request q;
    q.target = std::move(target);
    std::string w;
    EXPECT_TRUE(ParseTarget(&q, &w));
    return q.bad_parameter ? q.bad_parameter->first : std::string("(none)");
  };
  EXPECT_EQ(bad("/x?name=a%00b"), "name");
  EXPECT_EQ(bad("/x?name=%ff%fe"), "name");
  EXPECT_EQ(bad("/x?name=%zz"), "name");
  EXPECT_EQ(bad("/x?name=%4"), "name");
  EXPECT_EQ(bad("/x?kind=Pod&name=" + std::string(2000, 'a')), "name");
  EXPECT_EQ(bad("/x?kind=%0a"), "kind");

  Request p;
  p.target = "/a%00";
  EXPECT_FALSE(ParseTarget(&p, &why));
  p.target = "noslash";
  EXPECT_FALSE(ParseTarget(&p, &why));
}

TEST(Params, BadParameterIsReportedFirst) {
  Request r;
  r.target = "/x?lookback=1h&name=%ff";
  std::string why;
  ASSERT_TRUE(ParseTarget(&r, &why));
  EXPECT_EQ(ParamOf([&] { Params p(r); }), "name");
}

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

std::string Diff(std::string_view a, std::string_view b) {
  std::string out;
  JsonWriter w(&out);
  size_t n = 0;
  if (!WriteJsonDiff(a, b, w, &n)) return "invalid";
  return out;
}

TEST(JsonDiff, Operations) {
  EXPECT_EQ(Diff(R"({"a":1})", R"({"a":1})"), "[]");
  EXPECT_EQ(Diff(R"({"a":1,"b":{"c":"x"}})", R"({"a":2,"b":{"c":"x","d/e~":[1]}})"),
            R"([{"op":"replace","path":"/a","value":2,"old":1},)"
            R"({"op":"add","path":"/b/d~1e~0","value":[1]}])");
  EXPECT_EQ(Diff(R"({"l":[1,2,3]})", R"({"l":[1,5]})"),
            R"([{"op":"replace","path":"/l/1","value":5,"old":2},)"
            R"({"op":"remove","path":"/l/2","old":3}])");
  EXPECT_EQ(Diff(R"({"l":[1]})", R"({"l":[1,{"k":null}]})"),
            R"([{"op":"add","path":"/l/1","value":{"k":null}}])");
  EXPECT_EQ(Diff(R"({"x":"s"})", R"({"x":{"y":1}})"),
            R"([{"op":"replace","path":"/x","value":{"y":1},"old":"s"}])");
  EXPECT_EQ(Diff(R"({"gone":true})", R"({})"), R"([{"op":"remove","path":"/gone","old":true}])");
  EXPECT_EQ(Diff("{", "{}"), "invalid");
}

TEST(Compression, ChooseAndRoundTrip) {
  EXPECT_EQ(ChooseEncoding("gzip, deflate, br"), "gzip");
  EXPECT_EQ(ChooseEncoding("gzip, zstd"), "zstd");
  EXPECT_EQ(ChooseEncoding("zstd;q=0, gzip;q=0.5"), "gzip");
  EXPECT_EQ(ChooseEncoding("identity"), "");
  EXPECT_EQ(ChooseEncoding(""), "");
  EXPECT_EQ(ChooseEncoding("*"), "gzip");
  std::string text;
  for (int i = 0; i < 1000; ++i) text += "{\"hello\":\"world\"," + std::to_string(i) + "}";
  for (std::string_view enc : {"gzip", "zstd"}) {
    std::string packed, unpacked;
    ASSERT_TRUE(Compress(enc, text, &packed));
    EXPECT_LT(packed.size(), text.size() / 4);
    ASSERT_TRUE(Decompress(enc, packed, &unpacked));
    EXPECT_EQ(unpacked, text);
  }
}

}  // namespace
}  // namespace sloop::http
