// JSON diffs as JSON Patch operations.
#include "http/json_diff.h"

#include <gtest/gtest.h>

#include "http/json_writer.h"

namespace sloop::http {
namespace {

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

}  // namespace
}  // namespace sloop::http
