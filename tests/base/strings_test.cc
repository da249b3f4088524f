#include "base/strings.h"

#include <gtest/gtest.h>

namespace sloop {
namespace {

TEST(StringsTest, EqualsIgnoreCase) {
  EXPECT_TRUE(EqualsIgnoreCase("", ""));
  EXPECT_TRUE(EqualsIgnoreCase("gzip", "GZip"));
  EXPECT_TRUE(EqualsIgnoreCase("Pod", "pod"));
  EXPECT_FALSE(EqualsIgnoreCase("pod", "pods"));
  EXPECT_FALSE(EqualsIgnoreCase("x-gzip", "x_gzip"));
  EXPECT_FALSE(EqualsIgnoreCase("\xc3\xa9", "\xc3\x89"));  // ASCII letters only
}

}  // namespace
}  // namespace sloop
