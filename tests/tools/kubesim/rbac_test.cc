// kubesim's RBAC: rules (verbs, apiGroups, resources, resourceNames, wildcards, subresources),
// bindings (ClusterRoleBinding, RoleBinding to a Role or a ClusterRole, subjects of every kind),
// the apiserver's refusal message, and YAML errors that name the document.
#include "rbac.h"

#include <gtest/gtest.h>

namespace kubesim {
namespace {

AccessRequest Sa(std::string verb, std::string group, std::string resource, std::string ns = "",
                 std::string name = "") {
  AccessRequest r;
  r.user = "system:serviceaccount:sloop:sloop";
  r.groups = Rbac::service_account_groups("sloop");
  r.verb = std::move(verb);
  r.api_group = std::move(group);
  r.resource = std::move(resource);
  r.namespace_ = std::move(ns);
  r.name = std::move(name);
  return r;
}

Rbac Parse(const std::string& yaml) {
  Rbac rbac;
  std::string error;
  EXPECT_TRUE(Rbac::parse(yaml, &rbac, &error)) << error;
  return rbac;
}

TEST(RbacRule, VerbsGroupsResources) {
  PolicyRule rule{{"get", "list", "watch"}, {"", "apps"}, {"pods", "deployments"}, {}};
  EXPECT_TRUE(rule_allows(rule, Sa("list", "", "pods")));
  EXPECT_TRUE(rule_allows(rule, Sa("watch", "apps", "deployments")));
  // Groups and resources are matched independently, as Kubernetes does.
  EXPECT_TRUE(rule_allows(rule, Sa("get", "apps", "pods")));
  EXPECT_FALSE(rule_allows(rule, Sa("delete", "", "pods")));
  EXPECT_FALSE(rule_allows(rule, Sa("list", "batch", "pods")));
  EXPECT_FALSE(rule_allows(rule, Sa("list", "", "configmaps")));
  EXPECT_FALSE(rule_allows(rule, Sa("get", "", "pods/log")));  // subresources are named
}

TEST(RbacRule, Wildcards) {
  EXPECT_TRUE(rule_allows({{"*"}, {"*"}, {"*"}, {}}, Sa("deletecollection", "x.io", "things")));
  EXPECT_TRUE(rule_allows({{"get"}, {""}, {"*"}, {}}, Sa("get", "", "pods/log")));
  EXPECT_TRUE(
      rule_allows({{"get"}, {"apps"}, {"*/scale"}, {}}, Sa("get", "apps", "deployments/scale")));
  EXPECT_FALSE(rule_allows({{"get"}, {"apps"}, {"*/scale"}, {}}, Sa("get", "apps", "deployments")));
  EXPECT_FALSE(rule_allows({{"list"}, {"*"}, {"*"}, {}}, Sa("watch", "", "pods")));
}

TEST(RbacRule, ResourceNames) {
  PolicyRule rule{{"get", "list"}, {""}, {"configmaps"}, {"kube-root-ca.crt"}};
  EXPECT_TRUE(rule_allows(rule, Sa("get", "", "configmaps", "sloop", "kube-root-ca.crt")));
  EXPECT_FALSE(rule_allows(rule, Sa("get", "", "configmaps", "sloop", "other")));
  // A collection request names no object: resourceNames never allow list.
  EXPECT_FALSE(rule_allows(rule, Sa("list", "", "configmaps", "sloop")));
}

constexpr const char* kClusterRole = R"(
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: sloop}
rules:
- apiGroups: [""]
  resources: [pods, nodes]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: sloop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: sloop}
subjects:
- {kind: ServiceAccount, name: sloop, namespace: sloop}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: sloop, namespace: sloop}
)";

TEST(Rbac, ClusterRoleBindingGrantsEverywhere) {
  Rbac rbac = Parse(kClusterRole);
  EXPECT_EQ(rbac.role_count(), 1u);
  EXPECT_EQ(rbac.binding_count(), 1u);
  EXPECT_TRUE(rbac.allowed(Sa("list", "", "pods")));
  EXPECT_TRUE(rbac.allowed(Sa("watch", "", "pods", "default")));
  EXPECT_FALSE(rbac.allowed(Sa("list", "", "configmaps")));
  AccessRequest other = Sa("list", "", "pods");
  other.user = "system:serviceaccount:default:default";
  other.groups = Rbac::service_account_groups("default");
  EXPECT_FALSE(rbac.allowed(other));
  AccessRequest admin = other;
  admin.groups = {"system:masters"};
  EXPECT_TRUE(rbac.allowed(admin));
}

TEST(Rbac, NamespacedRoleAndRoleBindingToClusterRole) {
  Rbac rbac = Parse(R"(
kind: Role
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: reader, namespace: team}
rules:
- {apiGroups: [""], resources: [configmaps], verbs: [list]}
---
kind: RoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: reader, namespace: team}
roleRef: {kind: Role, name: reader}
subjects: [{kind: ServiceAccount, name: sloop, namespace: sloop}]
---
kind: ClusterRole
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: view-apps}
rules:
- {apiGroups: [apps], resources: ["*"], verbs: ["*"]}
---
kind: RoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: apps, namespace: team}
roleRef: {kind: ClusterRole, name: view-apps}
subjects: [{kind: Group, name: "system:serviceaccounts:sloop"}]
)");
  EXPECT_TRUE(rbac.allowed(Sa("list", "", "configmaps", "team")));
  EXPECT_FALSE(rbac.allowed(Sa("list", "", "configmaps", "other")));
  EXPECT_FALSE(rbac.allowed(Sa("list", "", "configmaps")));  // cluster scope: no
  EXPECT_TRUE(rbac.allowed(Sa("watch", "apps", "deployments", "team")));
  // A RoleBinding to a ClusterRole grants only in its namespace.
  EXPECT_FALSE(rbac.allowed(Sa("watch", "apps", "deployments")));
  EXPECT_FALSE(rbac.allowed(Sa("watch", "apps", "deployments", "other")));
}

TEST(Rbac, UserSubjectAndMissingRole) {
  Rbac rbac = Parse(R"(
kind: ClusterRoleBinding
metadata: {name: alice}
roleRef: {kind: ClusterRole, name: does-not-exist}
subjects: [{kind: User, name: alice}]
---
kind: ClusterRoleBinding
metadata: {name: bob}
roleRef: {kind: ClusterRole, name: all}
subjects: [{kind: User, name: bob}]
---
kind: ClusterRole
metadata: {name: all}
rules: [{apiGroups: ["*"], resources: ["*"], verbs: ["*"]}]
)");
  AccessRequest r = Sa("list", "", "pods");
  r.user = "alice";
  r.groups = {"system:authenticated"};
  EXPECT_FALSE(rbac.allowed(r));
  r.user = "bob";
  EXPECT_TRUE(rbac.allowed(r));
}

TEST(Rbac, ForbiddenMessageIsTheApiserversOne) {
  EXPECT_EQ(Rbac::forbidden_message(Sa("list", "", "pods")),
            "pods is forbidden: User \"system:serviceaccount:sloop:sloop\" cannot list resource "
            "\"pods\" in API group \"\" at the cluster scope");
  EXPECT_EQ(Rbac::forbidden_message(Sa("get", "apps", "deployments", "team", "web")),
            "deployments.apps \"web\" is forbidden: User \"system:serviceaccount:sloop:sloop\" "
            "cannot get resource \"deployments\" in API group \"apps\" in the namespace \"team\"");
}

TEST(Rbac, ErrorsNameTheDocument) {
  Rbac rbac;
  std::string error;
  EXPECT_FALSE(Rbac::parse("kind: Role\nmetadata: {name: r}\nrules: []\n", &rbac, &error));
  EXPECT_NE(error.find("Role r: a Role needs metadata.namespace"), std::string::npos) << error;
  EXPECT_FALSE(Rbac::parse("kind: ClusterRole\nmetadata: {name: c}\nrules:\n- {verbs: get}\n",
                           &rbac, &error));
  EXPECT_NE(error.find("ClusterRole c rules[0]: verbs must be a list"), std::string::npos) << error;
  EXPECT_FALSE(
      Rbac::parse("kind: ClusterRoleBinding\nmetadata: {name: b}\nroleRef: {kind: Role, name: r}\n",
                  &rbac, &error));
  EXPECT_NE(error.find("roleRef must name a ClusterRole"), std::string::npos) << error;
  EXPECT_FALSE(Rbac::parse("kind: [", &rbac, &error));
  EXPECT_NE(error.find("invalid YAML"), std::string::npos) << error;
  EXPECT_FALSE(Rbac::load("/nonexistent/rbac.yaml", &rbac, &error));
  EXPECT_NE(error.find("cannot read /nonexistent/rbac.yaml"), std::string::npos);
}

TEST(Rbac, ListOfItems) {
  Rbac rbac = Parse(R"(
apiVersion: v1
kind: List
items:
- kind: ClusterRole
  metadata: {name: r}
  rules: [{apiGroups: [""], resources: [pods], verbs: [list]}]
- kind: ClusterRoleBinding
  metadata: {name: r}
  roleRef: {kind: ClusterRole, name: r}
  subjects: [{kind: ServiceAccount, name: sloop, namespace: sloop}]
)");
  EXPECT_TRUE(rbac.allowed(Sa("list", "", "pods")));
}

}  // namespace
}  // namespace kubesim
