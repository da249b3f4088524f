// Internal to http/: what the route files (*_routes.cc, web_files.cc) share; the helpers are in
// routes_internal.cc. Not included outside http/ and its tests.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "engine/store.h"
#include "http/http_options.h"
#include "http/params.h"
#include "http/path_router.h"

namespace prometheus {
class Registry;
}

namespace sloop::http {

class StoreMetrics;
class ClusterTable;

struct HandlerContext {
  HttpOptions options;
  Store& store;
  prometheus::Registry& registry;
  StoreMetrics* store_metrics = nullptr;
  std::string prefix;  // "/<ctx>"
  // A gateway's every cluster (owned by the router; null when the router serves one store), and
  // whether this context answers the unprefixed routes (/api/v1/… without `cluster`, /).
  const ClusterTable* clusters = nullptr;
  bool is_default = true;
};
using ContextPtr = std::shared_ptr<const HandlerContext>;

// The contexts of a gateway's clusters, in the order added (the first is the default). A cluster
// found after the start is added while requests are answered.
class ClusterTable {
 public:
  void Add(const HandlerContext* ctx);
  const HandlerContext* Find(std::string_view name) const;
  std::vector<const HandlerContext*> List() const;
  std::string Names() const;  // "a, b, c"

 private:
  mutable std::mutex mu_;
  std::vector<const HandlerContext*> list_;
};

// The context a request is for. By the `cluster` parameter on the unprefixed routes
// (by_parameter: ctx is then the default one); on /<ctx>/… routes `cluster`, when given, must be
// ctx's own. ParamError (400, naming `cluster`) otherwise.
const HandlerContext& ContextFor(const HandlerContext& ctx, const Request& req,
                                 bool by_parameter);

void AddSloopRoutes(Router& router, ContextPtr ctx);     // sloop_compat_routes.cc
void AddApiV1Routes(Router& router, ContextPtr ctx);     // api_v1_routes.cc
void AddDebugRoutes(Router& router, ContextPtr ctx);     // debug_routes.cc
void AddWebFileRoutes(Router& router, ContextPtr ctx);   // web_files.cc
void AddBackupRoutes(Router& router, ContextPtr ctx);    // backup_routes.cc
void AddSnapshotRoutes(Router& router, ContextPtr ctx);  // snapshot_routes.cc
void AddChangesRoutes(Router& router, ContextPtr ctx);   // changes_routes.cc
void AddGapsRoutes(Router& router, ContextPtr ctx);      // gaps_routes.cc

// Serves fn at <prefix>/api/v1/<name> and, from the default context, at /api/v1/<name> (for the
// cluster its `cluster` parameter names), labelled api_<name> in the metrics.
using ApiHandler = Response (*)(const HandlerContext&, const Request&);
void AddApiV1Route(Router& router, const ContextPtr& ctx, std::string_view name, ApiHandler fn,
                   RouteClass cls = {});

// The largest `limit` an /api/v1 list accepts.
inline constexpr int64_t kMaxApiLimit = 100'000;

// "group/version", or "version" for the core group.
inline std::string ApiVersion(std::string_view group, std::string_view version) {
  return group.empty() ? std::string(version) : std::string(group) + "/" + std::string(version);
}

// ---- authorization

// Throws AccessDenied (403) when the request's user may not read namespace_ ("" = cluster-scoped
// objects). Lists filter with Request::MayRead instead.
inline void CheckNamespace(const Request& req, std::string_view namespace_) {
  if (req.MayRead(namespace_)) return;
  throw AccessDenied(namespace_.empty()
                         ? std::string("you may not read cluster-scoped objects (your access "
                                       "does not let you list pods in every namespace)")
                         : "you may not read namespace \"" + std::string(namespace_) +
                               "\" (your access does not let you list pods there)");
}

// ---- time windows

// The end of stored time: the end of the newest shard's window, or now if that is later than now.
int64_t EndOfTime(const Store& store);

// Sloop's window (§10.2): lookback [+ end_time] or start_time + end_time; without any, the
// default lookback. Shifted back when it ends after the end of time, widened to at least a
// minute, narrowed to max_look_back.
TimeRange SloopWindow(const Params& p, const HandlerContext& ctx);

// The /api/v1 window: from/to (any ParseTime form) or lookback (+ to); defaults to the default
// lookback ending now. Narrowed to max_look_back only when narrow is set.
TimeRange ApiWindow(const Params& p, const HandlerContext& ctx, bool narrow);

// ---- record keys (Sloop's "/watch/<partition>/<kind>/<namespace>/<name>/<ns>")

std::string PartitionId(int64_t ns);  // Unix seconds of the hour, 12 digits
std::string RecordKey(const RecordView& r);
struct ParsedRecordKey {
  std::string kind, namespace_, name;
  int64_t observed_ns = 0;
};
bool ParseRecordKey(std::string_view key, ParsedRecordKey* out);

// ---- JSON helpers

// Whether text is one complete, valid JSON document (simdjson).
bool IsValidJson(std::string_view text);
// Re-indents valid JSON (two spaces) for display; returns text unchanged if it is not JSON.
std::string PrettyJson(std::string_view text);

// A resource link's URL: its Go template (http/link_template.h) run over the resource's Name,
// Namespace, Kind and Uuid. "" when the template cannot run for this resource.
std::string ExpandLinkTemplate(std::string_view tmpl, std::string_view kind,
                               std::string_view namespace_, std::string_view name,
                               std::string_view uid = "");

}  // namespace sloop::http
