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

// The same operations as values, with kubectl-style field names beside the pointers.
TEST(JsonDiff, OpsAsValues) {
  std::vector<JsonDiffOp> ops;
  ASSERT_TRUE(JsonDiffOps(
      R"({"spec":{"containers":[{"image":"a:1"}]},"metadata":{"labels":{"app.kubernetes.io/name":"x","k":1}}})",
      R"({"spec":{"containers":[{"image":"a:2"},{"image":"b"}]},"metadata":{"labels":{"app.kubernetes.io/name":"y"}}})",
      &ops));
  ASSERT_EQ(ops.size(), 4u);
  EXPECT_EQ(ops[0].op, "replace");
  EXPECT_EQ(ops[0].path, "/spec/containers/0/image");
  EXPECT_EQ(ops[0].field, "spec.containers[0].image");
  EXPECT_EQ(ops[0].value, R"("a:2")");
  EXPECT_EQ(ops[0].old, R"("a:1")");
  EXPECT_EQ(ops[1].op, "add");
  EXPECT_EQ(ops[1].field, "spec.containers[1]");
  EXPECT_EQ(ops[1].value, R"({"image":"b"})");
  EXPECT_EQ(ops[1].old, "");
  EXPECT_EQ(ops[2].field, R"(metadata.labels["app.kubernetes.io/name"])");
  EXPECT_EQ(ops[2].path, "/metadata/labels/app.kubernetes.io~1name");
  EXPECT_EQ(ops[3].op, "remove");
  EXPECT_EQ(ops[3].field, "metadata.labels.k");
  EXPECT_EQ(ops[3].value, "");
  ops.clear();
  EXPECT_TRUE(JsonDiffOps(R"({"a":[1]})", R"({"a":[1]})", &ops));
  EXPECT_TRUE(ops.empty());
  EXPECT_FALSE(JsonDiffOps("{", "{}", &ops));
  // A quote inside brackets is escaped; one in a plain key needs no brackets.
  ASSERT_TRUE(JsonDiffOps(R"({"a.\"b":1,"c\"d":1})", R"({"a.\"b":2,"c\"d":2})", &ops));
  ASSERT_EQ(ops.size(), 2u);
  EXPECT_EQ(ops[0].field, R"(["a.\"b"])");
  EXPECT_EQ(ops[1].field, R"(c"d)");
}

}  // namespace
}  // namespace sloop::http
