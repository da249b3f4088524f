#include "http/routes.h"

#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <map>
#include <string>
#include <vector>

#include "http/http_metrics.h"
#include "http/routes_internal.h"

namespace sloop::http {

namespace {

// Owns the metrics and the contexts' table of the handlers.
class SloopRouter : public Router {
 public:
  explicit SloopRouter(std::unique_ptr<HttpMetrics> metrics)
      : Router(metrics.get()), http_metrics_(std::move(metrics)) {}

  std::vector<std::unique_ptr<StoreMetrics>> store_metrics;
  ClusterTable clusters;

 private:
  std::unique_ptr<HttpMetrics> http_metrics_;
};

struct Served {
  std::string name;  // "" for a lone store: options' UrlContext()
  Store* store;
  std::shared_ptr<const RecordingLog> recording_log;
};

std::unique_ptr<Router> MakeRouter(const HttpOptions& options, const std::vector<Served>& served,
                                   bool gateway, prometheus::Registry& registry) {
  auto router = std::make_unique<SloopRouter>(std::make_unique<HttpMetrics>(
      registry, options.enable_user_metrics, options.user_metrics_headers));
  std::vector<ContextPtr> contexts;
  for (const Served& s : served) {
    HttpOptions o = options;
    if (gateway) {
      o.context = s.name;
      o.display_context.clear();
    }
    if (s.recording_log || gateway) o.recording_log = s.recording_log;
    std::map<std::string, std::string> labels;
    if (gateway) labels.emplace("cluster", s.name);
    router->store_metrics.push_back(
        std::make_unique<StoreMetrics>(registry, *s.store, o.recording_log.get(), labels));
    const std::string prefix = "/" + o.UrlContext();
    auto ctx = std::make_shared<HandlerContext>(HandlerContext{
        std::move(o), *s.store, registry, router->store_metrics.back().get(), prefix});
    if (gateway) ctx->clusters = &router->clusters;
    ctx->is_default = contexts.empty();
    router->clusters.list.push_back(ctx.get());
    contexts.push_back(std::move(ctx));
  }
  const ContextPtr& first = contexts.front();
  const SloopRouter* self = router.get();

  // Behind a proxy on a sub-path the Location carries the prefix the client used; with none known
  // it is relative ("cluster", resolved against "/"), which is right for a direct request and for
  // a proxy that strips a prefix ending in '/' (kubectl proxy's .../proxy/).
  router->Exact("/", "root", [first](const Request& req) {
    std::string external = ExternalPrefix(req, first->options.base_path);
    return RedirectResponse(external.empty() ? first->prefix.substr(1) : external + first->prefix,
                            307);
  });
  router->Exact("/healthz", "healthz", [first](const Request&) {
    if (!first->options.readiness) return TextResponse("OK");
    Readiness r = first->options.readiness();
    return TextResponse(r.ready ? "OK" : "OK; not ready yet: waiting for " + r.waiting_for);
  });
  router->Exact("/readyz", "readyz", [first](const Request&) {
    Readiness r = first->options.readiness ? first->options.readiness() : Readiness{};
    if (r.ready) return TextResponse("ready");
    return TextResponse("not ready: waiting for " + r.waiting_for, 503);
  });
  router->Exact("/metrics", "metrics", [first, self](const Request&) {
    for (const auto& m : self->store_metrics) m->Refresh();
    if (first->options.refresh_metrics) first->options.refresh_metrics();
    prometheus::TextSerializer serializer;
    auto families = first->registry.Collect();
    for (auto& f : CollectProcessMetrics()) families.push_back(std::move(f));
    return TextResponse(serializer.Serialize(families), 200,
                        "text/plain; version=0.0.4; charset=utf-8");
  });
  for (const ContextPtr& ctx : contexts) {
    AddSloopRoutes(*router, ctx);
    AddApiV1Routes(*router, ctx);
    AddDebugRoutes(*router, ctx);
    AddWebFileRoutes(*router, ctx);
    AddBackupRoutes(*router, ctx);
  }
  // Probes, metrics and the redirect are answered on the I/O threads, never behind queries;
  // probes need no token. (Set here, after every route is added, so that routes registered
  // above at these paths get the same class.)
  router->SetClass("/", {Lane::kInline, Access::kUser});
  router->SetClass("/healthz", {Lane::kInline, Access::kPublic});
  router->SetClass("/readyz", {Lane::kInline, Access::kPublic});
  router->SetClass("/metrics", {Lane::kInline, Access::kUser});
  return router;
}

}  // namespace

std::unique_ptr<Router> MakeSloopRouter(const HttpOptions& options, Store& store,
                                        prometheus::Registry& registry) {
  return MakeRouter(options, {{"", &store, nullptr}}, /*gateway=*/false, registry);
}

std::unique_ptr<Router> MakeGatewayRouter(const HttpOptions& options,
                                          std::vector<ClusterStore> clusters,
                                          prometheus::Registry& registry) {
  std::vector<Served> served;
  for (auto& c : clusters) served.push_back({c.name, c.store, std::move(c.recording_log)});
  return MakeRouter(options, served, /*gateway=*/true, registry);
}

}  // namespace sloop::http
