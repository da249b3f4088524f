// ObjectTable: what ingest remembers of each live object, and what a relist reports as vanished.
#include "ingest/object_table.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace sloop::ingest {
namespace {

using Change = ObjectTable::Change;

std::vector<std::string> EndRelist(ObjectTable& t) {
  std::vector<std::string> gone;
  t.EndRelist([&](const ObjectTable::Entry& e) {
    gone.push_back(std::string(e.namespace_) + "|" + std::string(e.name) + "|" +
                   std::string(e.uid) + "|" + std::string(e.resource_version));
    return true;
  });
  std::sort(gone.begin(), gone.end());
  return gone;
}

TEST(ObjectTableTest, NewChangedUnchangedAndFingerprints) {
  ObjectTable t;
  auto o = t.Observe("shop", "web-1", "u1", "10", 7);
  EXPECT_EQ(o.change, Change::kNew);
  EXPECT_EQ(o.previous_fingerprint, 0u);
  o = t.Observe("shop", "web-1", "u1", "10", 8);
  EXPECT_EQ(o.change, Change::kUnchanged);
  EXPECT_EQ(o.previous_fingerprint, 7u);
  o = t.Observe("shop", "web-1", "u1", "1000000000011", 9);  // a longer resourceVersion
  EXPECT_EQ(o.change, Change::kChanged);
  EXPECT_EQ(o.previous_fingerprint, 8u);
  o = t.Observe("shop", "web-1", "u1", "12", 9);  // and a shorter one
  EXPECT_EQ(o.change, Change::kChanged);
  EXPECT_EQ(t.Observe("shop", "web-1", "u1", "12", 9).change, Change::kUnchanged);
  // Re-created under the same name: a new uid is a new object.
  EXPECT_EQ(t.Observe("shop", "web-1", "u2", "13", 0).change, Change::kNew);
  EXPECT_EQ(t.size(), 2u);
  EXPECT_TRUE(t.Remove("shop", "web-1", "u1"));
  EXPECT_FALSE(t.Remove("shop", "web-1", "u1"));
  EXPECT_EQ(t.size(), 1u);
}

TEST(ObjectTableTest, ObjectsWithoutUidAreKeyedByNamespaceAndName) {
  ObjectTable t;
  EXPECT_EQ(t.Observe("a", "x", "", "1", 0).change, Change::kNew);
  EXPECT_EQ(t.Observe("b", "x", "", "1", 0).change, Change::kNew);
  EXPECT_EQ(t.Observe("", "a/x", "", "1", 0).change, Change::kNew) << "no confusion of a/x";
  EXPECT_EQ(t.Observe("a", "x", "", "1", 0).change, Change::kUnchanged);
  EXPECT_EQ(t.size(), 3u);
  EXPECT_TRUE(t.Remove("b", "x", ""));
  EXPECT_FALSE(t.Remove("b", "x", ""));
}

TEST(ObjectTableTest, RelistReportsVanishedObjectsWithTheirLastState) {
  ObjectTable t;
  t.Observe("shop", "web-1", "u1", "10", 0);
  t.Observe("shop", "web-2", "u2", "11", 0);
  t.Observe("", "node-1", "n1", "12", 0);
  t.Observe("shop", "web-2", "u2", "15", 0);
  t.BeginRelist();
  t.Observe("shop", "web-1", "u1", "10", 0);
  EXPECT_EQ(EndRelist(t), (std::vector<std::string>{"shop|web-2|u2|15", "|node-1|n1|12"}));
  EXPECT_EQ(t.size(), 1u);
  t.BeginRelist();
  EXPECT_EQ(EndRelist(t), std::vector<std::string>{"shop|web-1|u1|10"});
  EXPECT_EQ(t.size(), 0u);
}

}  // namespace
}  // namespace sloop::ingest
