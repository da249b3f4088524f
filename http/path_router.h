// Maps a request's path to a handler. Routes are exact paths or path prefixes (the longest
// prefix wins); each carries the label under which its requests are counted and timed. Handle()
// never throws: a ParamError becomes 400 naming the parameter, any other exception 500, an
// unknown path 404, a method other than GET/HEAD 405, each with a JSON error body.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <shared_mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "http/http_message.h"

namespace sloop::http {

class HttpMetrics;

using Handler = std::function<Response(const Request&)>;

// Where a route's handler runs. kWorker: on the bounded query-worker pool, under the query
// deadline (queries, anything that may take long). kInline: on the connection's I/O thread,
// never queued behind queries (health, metrics, static files: quick and bounded).
enum class Lane { kWorker, kInline };
// Who may call a route when authentication is configured (http/auth.h). kPublic: anyone, always
// (health and readiness probes). kUser: a valid user token. kAdmin: an admin token (backups,
// debug pages).
enum class Access { kUser, kPublic, kAdmin };
struct RouteClass {
  Lane lane = Lane::kWorker;
  Access access = Access::kUser;
};

// Routes may be added while requests are handled (a gateway's clusters found after it started);
// none is ever removed, and a route found keeps its place.
class Router {
 public:
  explicit Router(HttpMetrics* metrics = nullptr) : metrics_(metrics) {}
  virtual ~Router() = default;

  void Exact(std::string path, std::string label, Handler handler, RouteClass cls = {});
  void Prefix(std::string prefix, std::string label, Handler handler, RouteClass cls = {});
  // Sets the class of the route registered at exactly this path (exact or prefix); no effect
  // when there is none.
  void SetClass(std::string_view path, RouteClass cls);

  // Dispatches, records the request in the metrics, and returns the response.
  virtual Response Handle(const Request& req) const;

  // The label a path would be counted under ("notfound" when no route matches).
  std::string_view LabelFor(std::string_view path) const;
  // The class of the route a path maps to; an unknown path is {kInline, kUser} (its 404 is
  // cheap).
  RouteClass ClassFor(std::string_view path) const;

  HttpMetrics* metrics() const { return metrics_; }

 protected:
  void SetMetrics(HttpMetrics* metrics) { metrics_ = metrics; }

 private:
  struct Route {
    std::string path;
    std::string label;
    Handler handler;
    bool prefix = false;
    RouteClass cls;
  };
  const Route* Find(std::string_view path) const;

  HttpMetrics* metrics_;
  mutable std::shared_mutex mu_;  // guards routes_ (a deque: added routes never move the others)
  std::deque<Route> routes_;
};

// Thrown by a handler when the user may not read what was asked for (Request::MayRead); the
// router answers 403 with its message.
class AccessDenied : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Response builders shared by the handlers.
Response JsonResponse(std::string body, int status = 200);
// 4xx/5xx with {"error":{"parameter":...,"message":...}} ("parameter" only when non-empty).
Response ErrorResponse(int status, std::string_view parameter, std::string_view message);
// 500 for an engine error: the full error (which names files) goes to the log with what, the
// client gets only its kind ("store I/O error") — no paths in answers.
Response StoreErrorResponse(const Error& error, std::string_view what);
// 500 for an unexpected failure: detail goes to the log, the client gets "internal error".
Response InternalErrorResponse(std::string_view detail);
Response TextResponse(std::string body, int status = 200,
                      std::string content_type = "text/plain; charset=utf-8");
Response HtmlResponse(std::string body, int status = 200);
Response RedirectResponse(std::string location, int status = 307);

}  // namespace sloop::http
