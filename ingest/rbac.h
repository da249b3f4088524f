// The Kubernetes RBAC rules the recorder needs: get, list and watch on every kind it records with
// a configuration, as the ClusterRole rules the deploy manifests carry (sloop -print-rbac). The
// kinds come from the same selection the ingester makes (SelectResources), applied to the
// built-in types Kubernetes serves, so the manifests cannot drift from what is watched.
#pragma once

#include <string>
#include <vector>

#include "ingest/ingest_options.h"
#include "ingest/resource_object.h"

namespace sloop::ingest {

// The built-in types a recorder may be asked for by name: every kind of DefaultGroupResources(),
// Leases and Secrets (which SelectResources never picks), with their kinds and preferred versions.
const std::vector<ResourceType>& BuiltinResourceTypes();

struct RbacRules {
  // The rules as a YAML sequence (one rule per API group, resources sorted, verbs get, list,
  // watch), ready to paste under a ClusterRole's `rules:`.
  std::string yaml;
  // include_kinds entries that name no built-in type (custom resources, or typos): no rule can be
  // written for them without the cluster; their API groups must be granted by hand.
  std::vector<std::string> unresolved;
};

// The rules for options: the selected built-in kinds, plus read access to
// CustomResourceDefinitions when options.watch_crds (discovery reads them to tell custom
// resources apart). Custom resources themselves are not included: their groups are known only to
// the cluster (the deploy manifests grant them per group, docs/deploy.md).
RbacRules MakeRbacRules(const IngestOptions& options);

}  // namespace sloop::ingest
