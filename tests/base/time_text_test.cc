#include "base/time_text.h"

#include <gtest/gtest.h>

#include <ctime>
#include <string>
#include <vector>

namespace sloop {
namespace {

constexpr int64_t kS = 1'000'000'000;
constexpr int64_t kT = 1700000000 * kS;  // 2023-11-14T22:13:20Z

TEST(TimeTextTest, KnowsLeapYears) {
  EXPECT_EQ(ParseRfc3339("2000-02-29T00:00:00Z"), 951782400 * kS);
  EXPECT_EQ(ParseRfc3339("2100-02-29T00:00:00Z"), std::nullopt);
  EXPECT_EQ(ParseRfc3339("2023-04-30T00:00:00Z"), 1682812800 * kS);
  EXPECT_EQ(ParseRfc3339("2000-03-01T00:00:00Z"), 11017 * 86400 * kS);
}

TEST(TimeTextTest, ParsesSecondsFractionsAndZones) {
  EXPECT_EQ(ParseRfc3339("2023-11-14T22:13:20Z"), kT);
  EXPECT_EQ(ParseRfc3339("2023-11-14t22:13:20z"), kT);
  EXPECT_EQ(ParseRfc3339("2023-11-14T22:13:20.5Z"), kT + 500'000'000);
  EXPECT_EQ(ParseRfc3339("2023-11-14T22:13:20.123456Z"), kT + 123'456'000);
  EXPECT_EQ(ParseRfc3339("2023-11-14T22:13:20.000000001Z"), kT + 1);
  EXPECT_EQ(ParseRfc3339("2023-11-15T00:13:20+02:00"), kT);
  EXPECT_EQ(ParseRfc3339("2023-11-14T20:43:20-01:30"), kT);
  EXPECT_EQ(ParseRfc3339("2024-02-29T00:00:00Z"), 1709164800 * kS);
  EXPECT_EQ(ParseRfc3339("1969-12-31T23:59:59Z"), -kS);  // before 1970 is negative
}

TEST(TimeTextTest, RejectsMalformedTimes) {
  for (const char* bad : {"",
                          "2023",
                          "2023-11-14",
                          "2023-11-14T22:13:20",
                          "2023-11-14T22:13Z",
                          "2023-11-14 22:13:20Z",
                          "2023-11-14T22:13:20.Z",
                          "2023-11-14T22:13:20.1234567890Z",
                          "2023-11-14T22:13:20Zx",
                          "2023-11-14T22:13:20+0200",
                          "2023-11-14T22:13:20+24:00",
                          "2023-11-14T22:13:20+02:60",
                          "2023-13-14T22:13:20Z",
                          "2023-00-14T22:13:20Z",
                          "2023-02-29T22:13:20Z",
                          "2023-04-31T22:13:20Z",
                          "2023-11-14T24:00:00Z",
                          "2023-11-14T22:60:00Z",
                          "2016-12-31T23:59:60Z",
                          "2023-11-14T2a:13:20Z",
                          "+023-11-14T22:13:20Z",
                          "2023-11-14T22:13:20+02"}) {
    EXPECT_EQ(ParseRfc3339(bad), std::nullopt) << bad;
  }
}

// Found by the watch_frame fuzz target (in ingest's copy): a year past 2262 overflowed the count.
TEST(TimeTextTest, RejectsTimesOutsideNanosecondRange) {
  EXPECT_EQ(ParseRfc3339("2262-01-01T00:00:00Z"), 9214646400 * kS);
  EXPECT_EQ(ParseRfc3339("4052-11-20T09:14:05Z"), std::nullopt);
  EXPECT_EQ(ParseRfc3339("9999-12-31T23:59:59.999999999+23:59"), std::nullopt);
  EXPECT_EQ(ParseRfc3339("0001-01-01T00:00:00Z"), std::nullopt);
}

TEST(TimeTextTest, FormsWidenWhatIsAccepted) {
  EXPECT_EQ(ParseRfc3339("2023-11-14 22:13:20Z", {.space_for_t = true}), kT);
  EXPECT_EQ(ParseRfc3339("2023-11-14T22:13Z", {.optional_seconds = true}), kT - 20 * kS);
  EXPECT_EQ(ParseRfc3339("2023-11-14T22:13:20Z", {.optional_seconds = true}), kT);
  EXPECT_EQ(ParseRfc3339("2023-11-14T22:13:20", {.optional_zone = true}), kT);
  EXPECT_EQ(ParseRfc3339("2023-11-14T22:13", {.optional_seconds = true, .optional_zone = true}),
            kT - 20 * kS);
  EXPECT_EQ(ParseRfc3339("2023-11-14T22:13:", {.optional_seconds = true}), std::nullopt);
  EXPECT_EQ(ParseRfc3339("2023-11-14T22:13:20x", {.optional_zone = true}), std::nullopt);
}

TEST(TimeTextTest, FormatsTheFractionOnlyWhenThereIsOne) {
  EXPECT_EQ(FormatRfc3339(kT), "2023-11-14T22:13:20Z");
  EXPECT_EQ(FormatRfc3339(kT + 5'000'000), "2023-11-14T22:13:20.005Z");
  EXPECT_EQ(FormatRfc3339(kT + 1), "2023-11-14T22:13:20.000000001Z");
  EXPECT_EQ(FormatRfc3339(kT + 120'000'000), "2023-11-14T22:13:20.12Z");
  EXPECT_EQ(FormatRfc3339(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(-1), "1969-12-31T23:59:59.999999999Z");
}

TEST(TimeTextTest, FormatsEverySecondAsTheCLibraryDoes) {
  // The digit-by-digit formatter against gmtime_r + strftime: the days around leap days and
  // century years, and a spread of seconds over the whole range a nanosecond count holds.
  auto reference = [](int64_t secs) {
    time_t t = static_cast<time_t>(secs);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[48];
    size_t n = std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return std::string(buf, n);
  };
  std::vector<int64_t> secs = {0, -1, 86399, 86400, -86400, -86401, 951782399, 951782400,
                               951868800, 4107542400, 4107456000, -2208988800, -2203891200};
  for (int64_t s = -9'200'000'000; s < 9'200'000'000; s += 7'777'777 + s % 977) secs.push_back(s);
  for (int64_t s : secs) {
    ASSERT_EQ(FormatRfc3339(s * kS), reference(s)) << s;
  }
}

TEST(TimeTextTest, FormatsFixedDigits) {
  EXPECT_EQ(FormatRfc3339Fixed(kT + 123'456'789, 0), "2023-11-14T22:13:20Z");
  EXPECT_EQ(FormatRfc3339Fixed(kT + 123'456'789, 3), "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(FormatRfc3339Fixed(kT + 123'456'789, 6), "2023-11-14T22:13:20.123456Z");
  EXPECT_EQ(FormatRfc3339Fixed(kT + 123'456'789, 9), "2023-11-14T22:13:20.123456789Z");
  EXPECT_EQ(FormatRfc3339Fixed(kT, 9), "2023-11-14T22:13:20.000000000Z");
  EXPECT_EQ(FormatRfc3339Fixed(kT + 999'999'999, 3),
            "2023-11-14T22:13:20.999Z");  // cut, not rounded
  EXPECT_EQ(FormatRfc3339Fixed(-1, 6), "1969-12-31T23:59:59.999999Z");
}

TEST(TimeTextTest, FormatAndParseRoundTrip) {
  for (int64_t ns : {int64_t{0}, kT, kT + 1, kT + 999'999'999, int64_t{9214646400} * kS}) {
    EXPECT_EQ(ParseRfc3339(FormatRfc3339(ns)), ns) << ns;
  }
}

TEST(ParseHttpDate, TheImfFixdateForm) {
  EXPECT_EQ(ParseHttpDate("Tue, 08 Dec 2026 02:40:00 GMT"), ParseRfc3339("2026-12-08T02:40:00Z"));
  EXPECT_EQ(ParseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT"), int64_t{784111777} * 1'000'000'000);
  for (const char* bad : {"", "Tue, 08 Dec 2026 02:40:00 UTC", "Tuesday, 08-Dec-26 02:40:00 GMT",
                          "Tue Dec  8 02:40:00 2026", "Tue, 08 Dek 2026 02:40:00 GMT",
                          "Tue, 31 Feb 2026 02:40:00 GMT", "Tue, 08 Dec 2026 25:40:00 GMT",
                          "Tue, 08 Dec 2026 02:40:00 GMT "}) {
    EXPECT_FALSE(ParseHttpDate(bad)) << bad;
  }
}

}  // namespace
}  // namespace sloop
