// Discovery: which resource types the API server offers (aggregated discovery v2 when the server
// speaks it, the legacy per-group-version documents otherwise), and which of them to record.
#pragma once

#include <chrono>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/api_client.h"
#include "ingest/ingest_options.h"
#include "ingest/resource_object.h"
#include "base/status.h"

namespace sloop::ingest {

inline constexpr std::string_view kAcceptAggregatedDiscovery =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";

// Parsers of the discovery documents. Each keeps only top-level resources (no subresources) whose
// verbs include list and watch, in the group's preferred (first listed) version.
Result<std::vector<ResourceType>> ParseAggregatedDiscovery(std::string_view body);
// /apis (APIGroupList): (group, preferred version) pairs.
Result<std::vector<std::pair<std::string, std::string>>> ParseGroupList(std::string_view body);
// /api/v1 or /apis/G/V (APIResourceList).
Result<std::vector<ResourceType>> ParseResourceList(std::string_view body, std::string_view group,
                                                    std::string_view version);
// /apis/apiextensions.k8s.io/v1/customresourcedefinitions: "plural.group" of every CRD.
Result<std::set<std::string>> ParseCrdList(std::string_view body);

// True when a Content-Type names aggregated discovery (g=apidiscovery.k8s.io,
// as=APIGroupDiscoveryList).
bool IsAggregatedDiscovery(std::string_view content_type);

// Asks the server. 401/403 and unreachable servers fail with a message naming the URL; a group
// version whose document fails is skipped (as kubectl does). `watch_crds` also lists CRDs to
// mark custom resources (is_crd); when that list cannot be read, is_crd is guessed from the
// group (one with a dot and not ending in .k8s.io) and *crds_listed (when given) says false.
Result<std::vector<ResourceType>> Discover(ApiClient& client, bool watch_crds,
                                           std::chrono::seconds timeout,
                                           bool* crds_listed = nullptr);

// The types to record: Sloop's default set plus CRDs (when watch_crds), or include_kinds; minus
// exclude_kinds; never Secrets; Leases only when watch_leases or named in include_kinds.
std::vector<ResourceType> SelectResources(const std::vector<ResourceType>& all,
                                          const IngestOptions& options);

// The kinds recorded by default, as "resource.group" ("pods" for core): Sloop's set plus
// CronJobs, Ingresses, NetworkPolicies and ValidatingWebhookConfigurations.
const std::vector<std::string>& DefaultGroupResources();

}  // namespace sloop::ingest
