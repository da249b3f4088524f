// ingest/crd_deletions: the kind a CRD defines, and the tap that notes CRDs' deletions.
#include "ingest/crd_deletions.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sloop::ingest {
namespace {

TEST(CrdResourceType, TheStorageVersionKindPluralAndScope) {
  auto t =
      CrdResourceType(R"({"kind":"CustomResourceDefinition","spec":{"group":"example.com",)"
                      R"("names":{"kind":"Gizmo","plural":"gizmos"},"scope":"Cluster","versions":[)"
                      R"({"name":"v1alpha1","served":true,"storage":false},)"
                      R"({"name":"v1","served":false,"storage":true}]}})");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->group, "example.com");
  EXPECT_EQ(t->kind, "Gizmo");
  EXPECT_EQ(t->resource, "gizmos");
  EXPECT_EQ(t->version, "v1") << "the storage version";
  EXPECT_FALSE(t->namespaced);
  EXPECT_TRUE(t->is_crd);
  EXPECT_EQ(t->GroupResource(), "gizmos.example.com");
}

TEST(CrdResourceType, AServedVersionOrTheOldSpecVersionWhenNoneIsStorage) {
  auto served = CrdResourceType(R"({"spec":{"group":"a.io","names":{"kind":"A","plural":"as"},)"
                                R"("versions":[{"name":"v2","served":true}]}})");
  ASSERT_TRUE(served);
  EXPECT_EQ(served->version, "v2");
  EXPECT_TRUE(served->namespaced) << "Namespaced when the scope is not given";
  auto old = CrdResourceType(
      R"({"spec":{"group":"a.io","version":"v1beta1","names":{"kind":"A","plural":"as"}}})");
  ASSERT_TRUE(old);
  EXPECT_EQ(old->version, "v1beta1");
}

TEST(CrdResourceType, NothingWhenThePayloadDoesNotSay) {
  for (
      const char* bad : {
          "",
          "not json",
          "[]",
          R"({"spec":{}})",
          R"({"spec":{"group":"a.io","names":{"kind":"A"}}})",
          R"({"spec":{"group":"","names":{"kind":"A","plural":"as"},"versions":[{"name":"v1","storage":true}]}})",
          R"({"spec":{"group":"a.io","names":{"kind":"A","plural":"as"},"versions":[]}})",
          R"({"spec":{"group":7,"names":{"kind":"A","plural":"as"}}})",
      }) {
    EXPECT_FALSE(CrdResourceType(bad)) << bad;
  }
}

class CountingSink : public RecordSink {
 public:
  Result<void> Append(const RecordView&) override {
    ++appended;
    if (fail) return MakeError(ErrorCode::kIOError, "disk full");
    return {};
  }
  int appended = 0;
  bool fail = false;
};

RecordView Crd(WatchType type, const std::string& payload,
               std::string_view kind = "CustomResourceDefinition") {
  RecordView r;
  r.watch_type = type;
  r.api_group = "apiextensions.k8s.io";
  r.api_version = "v1";
  r.kind = kind;
  r.name = "gizmos.example.com";
  r.payload = payload;
  return r;
}

// Only deletions of CRDs that were stored are noted, each kind once until taken; everything is
// passed on.
TEST(CrdDeletionTap, NotesTheKindsOfStoredCrdDeletionsOnce) {
  const std::string gizmos =
      R"({"spec":{"group":"example.com","names":{"kind":"Gizmo","plural":"gizmos"},)"
      R"("versions":[{"name":"v1","served":true,"storage":true}]}})";
  CountingSink inner;
  CrdDeletionTap tap(inner);
  ASSERT_TRUE(tap.Append(Crd(WatchType::kAdded, gizmos)));
  ASSERT_TRUE(tap.Append(Crd(WatchType::kModified, gizmos)));
  ASSERT_TRUE(tap.Append(Crd(WatchType::kDeleted, gizmos, "Gizmo")));  // not a CRD
  EXPECT_TRUE(tap.TakeDeletedKinds().empty());
  ASSERT_TRUE(tap.Append(Crd(WatchType::kDeleted, gizmos)));
  ASSERT_TRUE(tap.Append(Crd(WatchType::kDeletedInferred, gizmos)));
  auto kinds = tap.TakeDeletedKinds();
  ASSERT_EQ(kinds.size(), 1u);
  EXPECT_EQ(kinds[0].kind, "Gizmo");
  EXPECT_TRUE(tap.TakeDeletedKinds().empty());
  EXPECT_EQ(inner.appended, 5);
  inner.fail = true;
  EXPECT_FALSE(tap.Append(Crd(WatchType::kDeleted, gizmos)));
  EXPECT_TRUE(tap.TakeDeletedKinds().empty()) << "a deletion the store refused is not noted";
}

}  // namespace
}  // namespace sloop::ingest
