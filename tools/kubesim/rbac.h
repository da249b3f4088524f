// RBAC as the API server's RBAC authorizer decides it, for the simulator: ClusterRoles, Roles
// and their bindings read from YAML (multi-document, or a List), and a request (user, groups,
// verb, API group, resource, name, namespace) checked against the rules bound to that user.
// Not modelled: aggregated ClusterRoles (aggregationRule), nonResourceURLs (every authenticated
// user may read discovery and /version, as Kubernetes' system:discovery role allows).
#pragma once

#include <string>
#include <vector>

namespace kubesim {

struct PolicyRule {
  std::vector<std::string> verbs, api_groups, resources, resource_names;
};

// Who asks for what. `resource` may carry a subresource ("pods/log").
struct AccessRequest {
  std::string user;                 // "system:serviceaccount:sloop:sloop"
  std::vector<std::string> groups;  // "system:serviceaccounts", "system:authenticated", …
  std::string verb;                 // get, list, watch, …
  std::string api_group;            // "" for the core group
  std::string resource;             // "pods"
  std::string name;                 // "" for collections
  std::string namespace_;           // "" for the cluster scope
};

class Rbac {
 public:
  // Parses ClusterRole, ClusterRoleBinding, Role and RoleBinding documents (other kinds are
  // ignored: a rendered manifest set can be given as it is). False with *error naming the
  // document and field on a malformed one.
  static bool parse(const std::string& yaml, Rbac* out, std::string* error);
  static bool load(const std::string& path, Rbac* out, std::string* error);

  bool allowed(const AccessRequest& r) const;
  // The apiserver's message for a refusal, e.g. `pods is forbidden: User "u" cannot list
  // resource "pods" in API group "" at the cluster scope`.
  static std::string forbidden_message(const AccessRequest& r);

  // The groups Kubernetes gives a service account's token.
  static std::vector<std::string> service_account_groups(const std::string& ns);

  size_t role_count() const { return roles_.size(); }
  size_t binding_count() const { return bindings_.size(); }

 private:
  struct Role {
    std::string kind, namespace_, name;  // kind: Role or ClusterRole
    std::vector<PolicyRule> rules;
  };
  struct Subject {
    std::string kind, name, namespace_;  // kind: User, Group or ServiceAccount
  };
  struct Binding {
    std::string kind, namespace_, name;  // kind: RoleBinding or ClusterRoleBinding
    std::string role_kind, role_name;
    std::vector<Subject> subjects;
  };
  const Role* find_role(const std::string& kind, const std::string& ns,
                        const std::string& name) const;
  std::vector<Role> roles_;
  std::vector<Binding> bindings_;
};

// Whether one rule allows the request (verbs, apiGroups, resources with "*" and "resource/*"
// subresource wildcards, resourceNames). Exposed for tests.
bool rule_allows(const PolicyRule& rule, const AccessRequest& r);

}  // namespace kubesim
