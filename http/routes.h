// The sloop binary's routes, wired to a Store:
//   /                         307 to /<ctx>
//   /healthz, /readyz, /metrics  (liveness, readiness: HttpOptions::readiness)
//   /<ctx>, /<ctx>/webfiles/… the UI (index.html, static files: -web-files-path, else embedded)
//   /<ctx>/data?query=…       Sloop's queries, in Sloop's JSON shapes (sloop_compat_routes.cc)
//   /<ctx>/data/backup        the store as a backup archive
//   /<ctx>/resource           the resource detail fragment (HTML)
//   /<ctx>/debug/…            debug pages: config, shards, a shard's index, a record by key
//   /api/v1/… (also under /<ctx>/api/v1/…)  the versioned JSON API (api_v1_routes.cc;
//                             docs/api.md); `cluster`, when given, must name <ctx>
// /healthz, /readyz, /metrics, / and the UI's files are Lane::kInline (answered on the I/O
// threads, never behind queries); /healthz and /readyz are Access::kPublic; backups and /debug
// are Access::kAdmin; everything else runs on the query workers (path_router.h,
// docs/security.md).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "http/http_options.h"
#include "http/path_router.h"

namespace prometheus {
class Registry;
}

namespace sloop {
class RecordingLog;
class Store;
}

namespace sloop::http {

// The router keeps references to store and registry (both must outlive it); it registers its own
// metrics (HTTP and engine) on the registry, which /metrics serialises whole, so ingest metrics
// registered there are exposed too.
std::unique_ptr<Router> MakeSloopRouter(const HttpOptions& options, Store& store,
                                        prometheus::Registry& registry);

// One of the clusters a gateway serves (sloop -gateway): its name, which is its URL prefix
// (/<name>/…) and the value of the API's `cluster` parameter, and its store.
struct ClusterStore {
  std::string name;
  Store* store = nullptr;
  std::shared_ptr<const RecordingLog> recording_log;  // may be null
};

// The router of a gateway over several clusters: each cluster's UI, Sloop routes, debug pages,
// backups and API under /<name>/…, as MakeSloopRouter serves its one context; the unprefixed
// /api/v1/… routes answer for the cluster named by `cluster` (the first one when it is absent;
// an unknown name is 400 naming `cluster` and listing the clusters); / redirects to the first.
// The engine's series on /metrics carry a `cluster` label. options.context and
// options.display_context are ignored (each cluster's name takes their place).
class GatewayRouter : public Router {
 public:
  using Router::Router;
  // Serves one more cluster, from now on (requests may be running). Its name must be new, and
  // not one of the router's own paths (api, healthz, readyz, metrics).
  virtual void AddCluster(ClusterStore cluster) = 0;
  virtual std::vector<std::string> Clusters() const = 0;
};
// clusters must not be empty, and names must be distinct.
std::unique_ptr<GatewayRouter> MakeGatewayRouter(const HttpOptions& options,
                                                 std::vector<ClusterStore> clusters,
                                                 prometheus::Registry& registry);

}  // namespace sloop::http
