// Maps a request's path to a handler. Routes are exact paths or path prefixes (the longest
// prefix wins); each carries the label under which its requests are counted and timed. Handle()
// never throws: a ParamError becomes 400 naming the parameter, any other exception 500, an
// unknown path 404, a method other than GET/HEAD 405, each with a JSON error body.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "http/http_message.h"

namespace sloop::http {

class HttpMetrics;

using Handler = std::function<Response(const Request&)>;

class Router {
 public:
  explicit Router(HttpMetrics* metrics = nullptr) : metrics_(metrics) {}
  virtual ~Router() = default;

  void Exact(std::string path, std::string label, Handler handler);
  void Prefix(std::string prefix, std::string label, Handler handler);

  // Dispatches, records the request in the metrics, and returns the response.
  virtual Response Handle(const Request& req) const;

  // The label a path would be counted under ("notfound" when no route matches).
  std::string_view LabelFor(std::string_view path) const;

  HttpMetrics* metrics() const { return metrics_; }

 private:
  struct Route {
    std::string path;
    std::string label;
    Handler handler;
    bool prefix = false;
  };
  const Route* Find(std::string_view path) const;

  HttpMetrics* metrics_;
  std::vector<Route> routes_;
};

// Response builders shared by the handlers.
Response JsonResponse(std::string body, int status = 200);
// 4xx/5xx with {"error":{"parameter":...,"message":...}} ("parameter" only when non-empty).
Response ErrorResponse(int status, std::string_view parameter, std::string_view message);
Response TextResponse(std::string body, int status = 200,
                      std::string content_type = "text/plain; charset=utf-8");
Response HtmlResponse(std::string body, int status = 200);
Response RedirectResponse(std::string location, int status = 307);

}  // namespace sloop::http
