// ParseObjectMeta (index/object_meta.h): the creation time and owner references an index entry
// keeps of an object, and the bound on how many owners that is.
#include "index/object_meta.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "index/index_format.h"

namespace sloop {
namespace {

// An object with n ownerReferences, the one at controller (if any) marked as the controller.
std::string WithOwners(int n, int controller) {
  std::string json =
      R"({"kind":"ConfigMap","metadata":{"name":"shared","creationTimestamp":"2026-12-08T10:00:00Z",)"
      R"("ownerReferences":[)";
  for (int i = 0; i < n; ++i) {
    if (i > 0) json += ",";
    json += R"({"apiVersion":"v1","kind":"Owner","name":"owner-)" + std::to_string(i) +
            R"(","uid":"u-)" + std::to_string(i) + "\"";
    if (i == controller) json += R"(,"controller":true)";
    json += "}";
  }
  return json + "]}}";
}

TEST(ObjectMetaTest, ReadsTheCreationTimeAndEveryOwnerOfAnOrdinaryObject) {
  const ObjectMeta meta = ParseObjectMeta(WithOwners(3, 1));
  EXPECT_EQ(meta.creation_ns, 1'796'724'000'000'000'000LL);
  ASSERT_EQ(meta.owners.size(), 3u);
  EXPECT_EQ(meta.owners[0].name, "owner-0");
  EXPECT_EQ(meta.owners[0].uid, "u-0");
  EXPECT_EQ(meta.owners[0].kind, "Owner");
  EXPECT_FALSE(meta.owners[0].controller);
  EXPECT_TRUE(meta.owners[1].controller);
}

// An object may list thousands of owners; an index entry keeps the first ones, and the
// controller wherever it was (the timeline groups a resource under it).
TEST(ObjectMetaTest, KeepsAtMostTheOwnersAnEntryHoldsWithTheController) {
  constexpr size_t kMax = index_format::kMaxOwnersPerEntry;
  const ObjectMeta late = ParseObjectMeta(WithOwners(5000, 4000));
  ASSERT_EQ(late.owners.size(), kMax);
  EXPECT_EQ(late.owners[0].name, "owner-0");
  EXPECT_EQ(late.owners[kMax - 2].name, "owner-" + std::to_string(kMax - 2));
  EXPECT_EQ(late.owners[kMax - 1].name, "owner-4000");
  EXPECT_TRUE(late.owners[kMax - 1].controller);

  const ObjectMeta early = ParseObjectMeta(WithOwners(5000, 7));
  ASSERT_EQ(early.owners.size(), kMax);
  EXPECT_TRUE(early.owners[7].controller);
  EXPECT_EQ(early.owners[kMax - 1].name, "owner-" + std::to_string(kMax - 1));

  const ObjectMeta none = ParseObjectMeta(WithOwners(kMax + 1, -1));
  ASSERT_EQ(none.owners.size(), kMax);
  EXPECT_EQ(none.owners[kMax - 1].name, "owner-" + std::to_string(kMax - 1));

  const ObjectMeta exact = ParseObjectMeta(WithOwners(kMax, static_cast<int>(kMax - 1)));
  ASSERT_EQ(exact.owners.size(), kMax);
  EXPECT_TRUE(exact.owners[kMax - 1].controller);
}

TEST(ObjectMetaTest, KeepIndexedOwnersCutsOnlyLongerLists) {
  std::vector<OwnerRefData> owners(index_format::kMaxOwnersPerEntry, {"Owner", "o", "u", false});
  EXPECT_FALSE(KeepIndexedOwners(&owners));
  owners.push_back({"Owner", "boss", "b", true});
  EXPECT_TRUE(KeepIndexedOwners(&owners));
  ASSERT_EQ(owners.size(), index_format::kMaxOwnersPerEntry);
  EXPECT_EQ(owners.back().name, "boss");
}

}  // namespace
}  // namespace sloop
