#include "http/path_router.h"

#include <chrono>
#include <exception>

#include "base/log.h"
#include "http/http_metrics.h"
#include "http/json_writer.h"
#include "http/params.h"

namespace sloop::http {

void Router::Exact(std::string path, std::string label, Handler handler, RouteClass cls) {
  std::unique_lock lock(mu_);
  routes_.push_back(Route{std::move(path), std::move(label), std::move(handler), false, cls});
}

void Router::Prefix(std::string prefix, std::string label, Handler handler, RouteClass cls) {
  std::unique_lock lock(mu_);
  routes_.push_back(Route{std::move(prefix), std::move(label), std::move(handler), true, cls});
}

void Router::SetClass(std::string_view path, RouteClass cls) {
  std::unique_lock lock(mu_);
  for (Route& r : routes_) {
    if (r.path == path) r.cls = cls;
  }
}

RouteClass Router::ClassFor(std::string_view path) const {
  const Route* r = Find(path);
  return r ? r->cls : RouteClass{Lane::kInline, Access::kUser};
}

const Router::Route* Router::Find(std::string_view path) const {
  std::shared_lock lock(mu_);
  const Route* best = nullptr;
  for (const Route& r : routes_) {
    if (!r.prefix) {
      if (r.path == path) return &r;
    } else if (path.starts_with(r.path) && (!best || r.path.size() > best->path.size())) {
      best = &r;
    }
  }
  return best;
}

std::string_view Router::LabelFor(std::string_view path) const {
  const Route* r = Find(path);
  return r ? std::string_view(r->label) : std::string_view("notfound");
}

Response Router::Handle(const Request& req) const {
  auto start = std::chrono::steady_clock::now();
  const Route* route = Find(req.path);
  std::string_view label = route ? std::string_view(route->label) : "notfound";
  Response res;
  if (!route) {
    res = ErrorResponse(404, "", "no such page: " + req.path.substr(0, 200));
  } else if (req.method != "GET" && req.method != "HEAD") {
    res = ErrorResponse(405, "", "method not allowed: use GET");
    res.SetHeader("Allow", "GET, HEAD");
  } else {
    try {
      res = route->handler(req);
    } catch (const ParamError& e) {
      res = ErrorResponse(400, e.parameter(), e.message());
    } catch (const AccessDenied& e) {
      res = ErrorResponse(403, "", e.what());
    } catch (const std::exception& e) {
      // The message may name files: it goes to the log, not to the client.
      res = InternalErrorResponse(std::string(label) + ": " + e.what());
    } catch (...) {
      res = InternalErrorResponse(std::string(label) + ": unknown exception");
    }
  }
  if (metrics_) {
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    metrics_->Observe(label, res.status, seconds);
    // Not for a page that does not exist: its first path segment (the cluster label) would make
    // a series of every random path a client sends.
    if (route) metrics_->ObserveUser(label, req);
  }
  return res;
}

Response JsonResponse(std::string body, int status) {
  Response r;
  r.status = status;
  r.content_type = "application/json";
  r.body = std::move(body);
  return r;
}

Response ErrorResponse(int status, std::string_view parameter, std::string_view message) {
  std::string body;
  JsonWriter w(&body);
  w.BeginObject().Key("error").BeginObject();
  if (!parameter.empty()) w.Field("parameter", parameter);
  w.Field("message", message);
  w.EndObject().EndObject();
  body.push_back('\n');
  return JsonResponse(std::move(body), status);
}

Response InternalErrorResponse(std::string_view detail) {
  LogLine("http", "error: " + std::string(detail));
  return ErrorResponse(500, "", "internal error (the details are in the server's log)");
}

Response StoreErrorResponse(const Error& error, std::string_view what) {
  LogLine("http", "error: " + std::string(what) + ": " + error.ToString());
  std::string_view message;
  switch (error.code) {
    case ErrorCode::kIOError:
      message = "store I/O error (the details are in the server's log)";
      break;
    case ErrorCode::kCorruption:
      message = "stored data failed a check (the details are in the server's log)";
      break;
    case ErrorCode::kInvalidArgument:
      // The query asked for what the store will not answer (a timeline too big to build): the
      // engine's message says what to change, and names no path.
      return ErrorResponse(400, "", error.message);
    case ErrorCode::kUnavailable:
    case ErrorCode::kAborted: {
      // Not the server's fault, and over soon (a bucket out of reach, a query given up): the
      // client tries again, as Retry-After says.
      Response r = ErrorResponse(503, "", "the store is not available now; try again");
      r.SetHeader("Retry-After", "5");
      return r;
    }
    default:
      message = "store error (the details are in the server's log)";
      break;
  }
  return ErrorResponse(500, "", message);
}

Response TextResponse(std::string body, int status, std::string content_type) {
  Response r;
  r.status = status;
  r.content_type = std::move(content_type);
  r.body = std::move(body);
  return r;
}

Response HtmlResponse(std::string body, int status) {
  return TextResponse(std::move(body), status, "text/html; charset=utf-8");
}

Response RedirectResponse(std::string location, int status) {
  Response r = TextResponse("", status);
  r.SetHeader("Location", std::move(location));
  return r;
}

}  // namespace sloop::http
