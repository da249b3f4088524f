// The HTTP/1.1 server (HTTPS with options.tls_*): Boost.Beast on one io_context run by
// options.threads I/O threads. Each connection reads requests within the header and body limits
// and timeouts, checks the bearer token when authentication is configured, and hands each request
// to the Router: routes of Lane::kInline (health, metrics, static files) on the I/O thread, the
// others on a bounded pool of query workers under a deadline (a full queue or a missed deadline is
// answered 503 with Retry-After), so that probes never wait behind queries. It compresses what is
// worth it, keeps connections alive within idle_timeout, and writes streams piece by piece.
// Connections are limited in total and per client address (with room kept for other addresses,
// and a few over-the-limit connections read briefly so that a health probe still gets through).
// Beast is compiled only in http_server.cc.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "http/http_options.h"
#include "base/status.h"

namespace sloop::http {

class Router;

// The CPUs this process may use: those it may run on (its affinity), capped by its cgroup's CPU
// limit under cgroup_root (cgroup v2 cpu.max, or v1 cpu/cpu.cfs_quota_us over cfs_period_us),
// rounded up; at least 1. The default number of query workers.
int UsableCpus(const std::string& cgroup_root);

class HttpServer {
 public:
  // router (and its metrics) must outlive the server; connections are counted in
  // router.metrics() when it has some.
  HttpServer(HttpOptions options, const Router& router);
  ~HttpServer();  // Stop()s

  // Loads the TLS pair (when configured), binds and starts the threads. Fails (kIOError) when the
  // address cannot be bound, kInvalidArgument when the certificate or key cannot be loaded.
  Result<void> Start();
  // Stops accepting, waits up to shutdown_grace for requests in flight, closes every connection
  // and joins the threads. Idempotent.
  void Stop();

  uint16_t port() const;  // the bound port (after Start)
  bool tls() const;       // serving HTTPS (after Start)

  // Queries on the workers now: running, and waiting in the queue (after Start).
  struct QueryLoad {
    size_t running = 0, queued = 0;
  };
  QueryLoad query_load() const;

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sloop::http
