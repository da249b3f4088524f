// The RBAC rules of sloop -print-rbac: exactly the kinds SelectResources picks, never Secrets.
#include "ingest/rbac.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <map>
#include <set>
#include <string>

#include "ingest/discovery.h"

namespace sloop::ingest {
namespace {

// group → resources, from the printed YAML (which must parse).
std::map<std::string, std::set<std::string>> Parse(const std::string& yaml) {
  std::map<std::string, std::set<std::string>> out;
  YAML::Node rules = YAML::Load(yaml);
  EXPECT_TRUE(rules.IsSequence()) << yaml;
  for (const auto& rule : rules) {
    EXPECT_EQ(rule["apiGroups"].size(), 1u);
    std::vector<std::string> verbs = rule["verbs"].as<std::vector<std::string>>();
    EXPECT_EQ(verbs, (std::vector<std::string>{"get", "list", "watch"}));
    for (const auto& r : rule["resources"]) {
      out[rule["apiGroups"][0].as<std::string>()].insert(r.as<std::string>());
    }
  }
  return out;
}

TEST(RbacTest, DefaultsAreTheDefaultKindsAndCrds) {
  auto rules = MakeRbacRules(IngestOptions{});
  EXPECT_TRUE(rules.unresolved.empty());
  auto got = Parse(rules.yaml);
  std::set<std::string> granted;
  for (const auto& [group, resources] : got) {
    for (const auto& r : resources) granted.insert(group.empty() ? r : r + "." + group);
  }
  std::set<std::string> want(DefaultGroupResources().begin(), DefaultGroupResources().end());
  want.insert("customresourcedefinitions.apiextensions.k8s.io");
  EXPECT_EQ(granted, want);
  EXPECT_FALSE(got[""].contains("secrets"));
  EXPECT_FALSE(got.contains("coordination.k8s.io"));
  EXPECT_NE(rules.yaml.find("apiGroups: [\"\"]"), std::string::npos) << rules.yaml;
}

TEST(RbacTest, FollowsIncludeExcludeLeasesAndCrds) {
  IngestOptions o;
  o.exclude_kinds = {"Event", "deployments.apps"};
  o.watch_leases = true;
  o.watch_crds = false;
  auto got = Parse(MakeRbacRules(o).yaml);
  EXPECT_FALSE(got[""].contains("events"));
  EXPECT_FALSE(got["apps"].contains("deployments"));
  EXPECT_TRUE(got["apps"].contains("replicasets"));
  EXPECT_TRUE(got["coordination.k8s.io"].contains("leases"));
  EXPECT_FALSE(got.contains("apiextensions.k8s.io"));

  IngestOptions only;
  only.include_kinds = {"Pod", "Secret", "widgets.example.com"};
  auto rules = MakeRbacRules(only);
  got = Parse(rules.yaml);
  EXPECT_EQ(got[""], (std::set<std::string>{"pods"})) << "Secrets are never granted";
  EXPECT_EQ(rules.unresolved, (std::vector<std::string>{"widgets.example.com"}));
}

// One namespace: a Role's rules. Only namespaced kinds, read under /namespaces/NS/, and no CRDs
// (a cluster-scoped kind a Role cannot grant).
TEST(RbacTest, OneNamespaceGrantsItsNamespacedKindsOnly) {
  IngestOptions o;
  o.watch_namespace = "shop";
  auto got = Parse(MakeRbacRules(o).yaml);
  EXPECT_FALSE(got.contains("apiextensions.k8s.io"));
  EXPECT_TRUE(got[""].contains("pods"));
  EXPECT_FALSE(got[""].contains("nodes"));
  EXPECT_FALSE(got[""].contains("namespaces"));
  EXPECT_FALSE(got[""].contains("persistentvolumes"));
  EXPECT_FALSE(got.contains("storage.k8s.io"));
  for (const auto& t : SelectResources(BuiltinResourceTypes(), o)) {
    EXPECT_TRUE(t.namespaced) << t.GroupResource();
    EXPECT_NE(t.CollectionPath("shop").find("/namespaces/shop/"), std::string::npos);
  }
  ResourceType node{"", "v1", "nodes", "Node", false, false};
  EXPECT_EQ(node.CollectionPath("shop"), "/api/v1/nodes");
  ResourceType deploy{"apps", "v1", "deployments", "Deployment", true, false};
  EXPECT_EQ(deploy.CollectionPath("shop"), "/apis/apps/v1/namespaces/shop/deployments");
  EXPECT_EQ(deploy.CollectionPath(), "/apis/apps/v1/deployments");
}

}  // namespace
}  // namespace sloop::ingest
