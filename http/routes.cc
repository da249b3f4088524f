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

// Owns the metrics, the contexts and their table; serves one store, or a gateway's clusters.
class SloopRouter : public GatewayRouter {
 public:
  SloopRouter(const HttpOptions& options, bool gateway, prometheus::Registry& registry)
      : GatewayRouter(nullptr),
        options_(options),
        gateway_(gateway),
        registry_(registry),
        http_metrics_(std::make_unique<HttpMetrics>(registry, options.enable_user_metrics,
                                                    options.user_metrics_headers)) {
    SetMetrics(http_metrics_.get());
  }

  void AddCluster(ClusterStore c) override {
    HttpOptions o = options_;
    if (gateway_) {
      o.context = c.name;
      o.display_context.clear();
    }
    if (c.recording_log || gateway_) o.recording_log = std::move(c.recording_log);
    std::map<std::string, std::string> labels;
    if (gateway_) labels.emplace("cluster", c.name);
    auto metrics = std::make_unique<StoreMetrics>(registry_, *c.store, o.recording_log.get(), labels);
    const std::string prefix = "/" + o.UrlContext();
    auto ctx = std::make_shared<HandlerContext>(
        HandlerContext{std::move(o), *c.store, registry_, metrics.get(), prefix});
    if (gateway_) ctx->clusters = &clusters_;
    {
      std::lock_guard lock(mu_);
      ctx->is_default = contexts_.empty();
      store_metrics_.push_back(std::move(metrics));
      contexts_.push_back(ctx);
    }
    if (ctx->is_default) AddRootRoutes(ctx);
    AddSloopRoutes(*this, ctx);
    AddApiV1Routes(*this, ctx);
    AddDebugRoutes(*this, ctx);
    AddWebFileRoutes(*this, ctx);
    AddBackupRoutes(*this, ctx);
    clusters_.Add(ctx.get());  // last: `cluster=` finds it once its routes are there
  }

  std::vector<std::string> Clusters() const override {
    std::vector<std::string> out;
    for (const HandlerContext* c : clusters_.List()) out.push_back(c->options.UrlContext());
    return out;
  }

 private:
  // /, /healthz, /readyz and /metrics, answered by the first context.
  void AddRootRoutes(const ContextPtr& first) {
    // Behind a proxy on a sub-path the Location carries the prefix the client used; with none
    // known it is relative ("cluster", resolved against "/"), which is right for a direct request
    // and for a proxy that strips a prefix ending in '/' (kubectl proxy's .../proxy/).
    Exact("/", "root", [first](const Request& req) {
      std::string external = ExternalPrefix(req, first->options.base_path);
      return RedirectResponse(
          external.empty() ? first->prefix.substr(1) : external + first->prefix, 307);
    });
    Exact("/healthz", "healthz", [first](const Request&) {
      if (!first->options.readiness) return TextResponse("OK");
      Readiness r = first->options.readiness();
      return TextResponse(r.ready ? "OK" : "OK; not ready yet: waiting for " + r.waiting_for);
    });
    Exact("/readyz", "readyz", [first](const Request&) {
      Readiness r = first->options.readiness ? first->options.readiness() : Readiness{};
      if (r.ready) return TextResponse("ready");
      return TextResponse("not ready: waiting for " + r.waiting_for, 503);
    });
    Exact("/metrics", "metrics", [first, this](const Request&) {
      {
        std::lock_guard lock(mu_);
        for (const auto& m : store_metrics_) m->Refresh();
      }
      if (first->options.refresh_metrics) first->options.refresh_metrics();
      prometheus::TextSerializer serializer;
      auto families = first->registry.Collect();
      for (auto& f : CollectProcessMetrics()) families.push_back(std::move(f));
      return TextResponse(serializer.Serialize(families), 200,
                          "text/plain; version=0.0.4; charset=utf-8");
    });
    // Probes, metrics and the redirect are answered on the I/O threads, never behind queries;
    // probes need no token.
    SetClass("/", {Lane::kInline, Access::kUser});
    SetClass("/healthz", {Lane::kInline, Access::kPublic});
    SetClass("/readyz", {Lane::kInline, Access::kPublic});
    SetClass("/metrics", {Lane::kInline, Access::kUser});
  }

  const HttpOptions options_;
  const bool gateway_;
  prometheus::Registry& registry_;
  std::unique_ptr<HttpMetrics> http_metrics_;
  ClusterTable clusters_;
  std::mutex mu_;  // guards the two below
  std::vector<std::unique_ptr<StoreMetrics>> store_metrics_;
  std::vector<ContextPtr> contexts_;
};

}  // namespace

std::unique_ptr<Router> MakeSloopRouter(const HttpOptions& options, Store& store,
                                        prometheus::Registry& registry) {
  auto router = std::make_unique<SloopRouter>(options, /*gateway=*/false, registry);
  router->AddCluster({"", &store, nullptr});
  return router;
}

std::unique_ptr<GatewayRouter> MakeGatewayRouter(const HttpOptions& options,
                                                 std::vector<ClusterStore> clusters,
                                                 prometheus::Registry& registry) {
  auto router = std::make_unique<SloopRouter>(options, /*gateway=*/true, registry);
  for (auto& c : clusters) router->AddCluster(std::move(c));
  return router;
}

}  // namespace sloop::http
