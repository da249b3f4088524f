// Parameter parsing and request target decoding.
#include "http/params.h"

#include <gtest/gtest.h>

#include "http/http_message.h"

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

}  // namespace
}  // namespace sloop::http
