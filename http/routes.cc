#include "http/routes.h"

#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "http/http_metrics.h"
#include "http/routes_internal.h"

namespace sloop::http {

namespace {

// Owns the metrics and the shared context of the handlers.
class SloopRouter : public Router {
 public:
  SloopRouter(std::unique_ptr<HttpMetrics> metrics, std::unique_ptr<StoreMetrics> store_metrics)
      : Router(metrics.get()),
        http_metrics_(std::move(metrics)),
        store_metrics_(std::move(store_metrics)) {}

 private:
  std::unique_ptr<HttpMetrics> http_metrics_;
  std::unique_ptr<StoreMetrics> store_metrics_;
};

}  // namespace

std::unique_ptr<Router> MakeSloopRouter(const HttpOptions& options, Store& store,
                                        prometheus::Registry& registry) {
  auto http_metrics = std::make_unique<HttpMetrics>(registry, options.enable_user_metrics,
                                                    options.user_metrics_headers);
  auto store_metrics =
      std::make_unique<StoreMetrics>(registry, store, options.recording_log.get());
  StoreMetrics* sm = store_metrics.get();
  auto router = std::make_unique<SloopRouter>(std::move(http_metrics), std::move(store_metrics));

  auto ctx = std::make_shared<HandlerContext>(
      HandlerContext{options, store, registry, sm, "/" + options.UrlContext()});

  // Behind a proxy on a sub-path the Location carries the prefix the client used; with none known
  // it is relative ("cluster", resolved against "/"), which is right for a direct request and for
  // a proxy that strips a prefix ending in '/' (kubectl proxy's .../proxy/).
  router->Exact("/", "root", [ctx](const Request& req) {
    std::string external = ExternalPrefix(req, ctx->options.base_path);
    return RedirectResponse(external.empty() ? ctx->prefix.substr(1) : external + ctx->prefix, 307);
  });
  router->Exact("/healthz", "healthz", [ctx](const Request&) {
    if (!ctx->options.readiness) return TextResponse("OK");
    Readiness r = ctx->options.readiness();
    return TextResponse(r.ready ? "OK" : "OK; not ready yet: waiting for " + r.waiting_for);
  });
  router->Exact("/readyz", "readyz", [ctx](const Request&) {
    Readiness r = ctx->options.readiness ? ctx->options.readiness() : Readiness{};
    if (r.ready) return TextResponse("ready");
    return TextResponse("not ready: waiting for " + r.waiting_for, 503);
  });
  router->Exact("/metrics", "metrics", [ctx](const Request&) {
    if (ctx->store_metrics) ctx->store_metrics->Refresh();
    if (ctx->options.refresh_metrics) ctx->options.refresh_metrics();
    prometheus::TextSerializer serializer;
    auto families = ctx->registry.Collect();
    for (auto& f : CollectProcessMetrics()) families.push_back(std::move(f));
    return TextResponse(serializer.Serialize(families), 200,
                        "text/plain; version=0.0.4; charset=utf-8");
  });
  AddSloopRoutes(*router, ctx);
  AddApiV1Routes(*router, ctx);
  AddDebugRoutes(*router, ctx);
  AddWebFileRoutes(*router, ctx);
  AddBackupRoutes(*router, ctx);
  // Probes, metrics and the redirect are answered on the I/O threads, never behind queries;
  // probes need no token. (Set here, after every route is added, so that routes registered
  // above at these paths get the same class.)
  router->SetClass("/", {Lane::kInline, Access::kUser});
  router->SetClass("/healthz", {Lane::kInline, Access::kPublic});
  router->SetClass("/readyz", {Lane::kInline, Access::kPublic});
  router->SetClass("/metrics", {Lane::kInline, Access::kUser});
  return router;
}

}  // namespace sloop::http
