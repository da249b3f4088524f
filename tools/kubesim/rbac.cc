#include "rbac.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace kubesim {

namespace {

bool contains(const std::vector<std::string>& list, const std::string& v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

// A string list field; false with a message when it is there and not a list of strings.
bool string_list(const YAML::Node& n, const char* field, const std::string& where,
                 std::vector<std::string>* out, std::string* error) {
  const YAML::Node v = n[field];
  if (!v || v.IsNull()) return true;
  if (!v.IsSequence()) {
    *error = where + ": " + field + " must be a list of strings";
    return false;
  }
  for (const auto& item : v) {
    if (!item.IsScalar()) {
      *error = where + ": " + field + " must be a list of strings";
      return false;
    }
    out->push_back(item.as<std::string>());
  }
  return true;
}

std::string scalar(const YAML::Node& n, const char* field) {
  const YAML::Node v = n[field];
  return v && v.IsScalar() ? v.as<std::string>() : std::string();
}

}  // namespace

bool rule_allows(const PolicyRule& rule, const AccessRequest& r) {
  if (!contains(rule.verbs, "*") && !contains(rule.verbs, r.verb)) return false;
  if (!contains(rule.api_groups, "*") && !contains(rule.api_groups, r.api_group)) return false;
  bool resource = contains(rule.resources, "*") || contains(rule.resources, r.resource);
  if (!resource) {
    // "*/scale" allows the scale subresource of every resource.
    const size_t slash = r.resource.find('/');
    if (slash != std::string::npos) {
      resource = contains(rule.resources, "*" + r.resource.substr(slash));
    }
  }
  if (!resource) return false;
  return rule.resource_names.empty() || (!r.name.empty() && contains(rule.resource_names, r.name));
}

std::vector<std::string> Rbac::service_account_groups(const std::string& ns) {
  return {"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"};
}

const Rbac::Role* Rbac::find_role(const std::string& kind, const std::string& ns,
                                  const std::string& name) const {
  for (const Role& role : roles_) {
    if (role.kind == kind && role.name == name &&
        (kind == "ClusterRole" || role.namespace_ == ns)) {
      return &role;
    }
  }
  return nullptr;
}

bool Rbac::allowed(const AccessRequest& r) const {
  if (contains(r.groups, "system:masters")) return true;
  for (const Binding& b : bindings_) {
    // A RoleBinding grants only inside its namespace, whatever role it names.
    if (b.kind == "RoleBinding" && b.namespace_ != r.namespace_) continue;
    const bool bound = std::any_of(b.subjects.begin(), b.subjects.end(), [&](const Subject& s) {
      if (s.kind == "User") return s.name == r.user;
      if (s.kind == "Group") return contains(r.groups, s.name);
      if (s.kind == "ServiceAccount") {
        const std::string ns = s.namespace_.empty() ? b.namespace_ : s.namespace_;
        return r.user == "system:serviceaccount:" + ns + ":" + s.name;
      }
      return false;
    });
    if (!bound) continue;
    const Role* role = find_role(b.role_kind, b.namespace_, b.role_name);
    if (role == nullptr) continue;  // a binding to a missing role grants nothing, as on a server
    for (const PolicyRule& rule : role->rules) {
      if (rule_allows(rule, r)) return true;
    }
  }
  return false;
}

std::string Rbac::forbidden_message(const AccessRequest& r) {
  std::string qualified = r.resource;
  if (!r.api_group.empty()) qualified += "." + r.api_group;
  std::string msg = qualified + (r.name.empty() ? "" : " \"" + r.name + "\"") +
                    " is forbidden: User \"" + r.user + "\" cannot " + r.verb + " resource \"" +
                    r.resource + "\" in API group \"" + r.api_group + "\"";
  msg +=
      r.namespace_.empty() ? " at the cluster scope" : " in the namespace \"" + r.namespace_ + "\"";
  return msg;
}

bool Rbac::parse(const std::string& yaml, Rbac* out, std::string* error) {
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(yaml);
  } catch (const YAML::Exception& e) {
    *error = std::string("invalid YAML: ") + e.what();
    return false;
  }
  std::vector<YAML::Node> objects;
  for (const auto& d : docs) {
    if (!d || d.IsNull()) continue;
    if (!d.IsMap()) {
      *error = "a document is not a Kubernetes object (a YAML map)";
      return false;
    }
    if (scalar(d, "kind") == "List" || scalar(d, "kind").ends_with("List")) {
      for (const auto& item : d["items"]) objects.push_back(item);
    } else {
      objects.push_back(d);
    }
  }
  Rbac rbac;
  for (const auto& o : objects) {
    const std::string kind = scalar(o, "kind");
    const std::string name = scalar(o["metadata"], "name");
    const std::string ns = scalar(o["metadata"], "namespace");
    const std::string where = kind + " " + (ns.empty() ? "" : ns + "/") + name;
    if (kind == "ClusterRole" || kind == "Role") {
      if (name.empty()) {
        *error = kind + " without metadata.name";
        return false;
      }
      if (kind == "Role" && ns.empty()) {
        *error = where + ": a Role needs metadata.namespace";
        return false;
      }
      Role role{kind, ns, name, {}};
      const YAML::Node rules = o["rules"];
      if (rules && !rules.IsNull()) {
        if (!rules.IsSequence()) {
          *error = where + ": rules must be a list";
          return false;
        }
        for (size_t i = 0; i < rules.size(); ++i) {
          const std::string rw = where + " rules[" + std::to_string(i) + "]";
          PolicyRule rule;
          if (!string_list(rules[i], "verbs", rw, &rule.verbs, error) ||
              !string_list(rules[i], "apiGroups", rw, &rule.api_groups, error) ||
              !string_list(rules[i], "resources", rw, &rule.resources, error) ||
              !string_list(rules[i], "resourceNames", rw, &rule.resource_names, error)) {
            return false;
          }
          if (rule.verbs.empty()) {
            *error = rw + ": verbs is empty (a rule allows nothing without verbs)";
            return false;
          }
          role.rules.push_back(std::move(rule));
        }
      }
      rbac.roles_.push_back(std::move(role));
    } else if (kind == "ClusterRoleBinding" || kind == "RoleBinding") {
      if (kind == "RoleBinding" && ns.empty()) {
        *error = where + ": a RoleBinding needs metadata.namespace";
        return false;
      }
      Binding b{kind, ns, name, scalar(o["roleRef"], "kind"), scalar(o["roleRef"], "name"), {}};
      if (b.role_name.empty() || (b.role_kind != "ClusterRole" && b.role_kind != "Role") ||
          (kind == "ClusterRoleBinding" && b.role_kind != "ClusterRole")) {
        *error = where + ": roleRef must name a ClusterRole" +
                 std::string(kind == "RoleBinding" ? " or a Role" : "") + " (kind and name)";
        return false;
      }
      for (const auto& s : o["subjects"]) {
        Subject subject{scalar(s, "kind"), scalar(s, "name"), scalar(s, "namespace")};
        if (subject.kind == "ServiceAccount" && subject.namespace_.empty() &&
            kind == "ClusterRoleBinding") {
          *error = where + ": a ServiceAccount subject of a ClusterRoleBinding needs a namespace";
          return false;
        }
        b.subjects.push_back(std::move(subject));
      }
      rbac.bindings_.push_back(std::move(b));
    }
  }
  *out = std::move(rbac);
  return true;
}

bool Rbac::load(const std::string& path, Rbac* out, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = "cannot read " + path;
    return false;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  if (!parse(ss.str(), out, error)) {
    *error = path + ": " + *error;
    return false;
  }
  return true;
}

}  // namespace kubesim
