// Content-encoding negotiation and gzip/zstd round trips.
#include "http/compression.h"

#include <gtest/gtest.h>

namespace sloop::http {
namespace {

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
