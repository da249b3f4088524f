// The HTTP/1.1 server: Boost.Beast on one io_context run by options.threads threads. Each
// connection reads requests within the header and body limits and the read timeout, hands each
// to the Router (on the I/O thread: handlers are quick, or stream), compresses what is worth it,
// keeps the connection alive when the client wants, and writes streams piece by piece. Beast is
// compiled only in http_server.cc.
#pragma once

#include <cstdint>
#include <memory>

#include "http/http_options.h"
#include "segments/status.h"

namespace sloop::http {

class Router;

class HttpServer {
 public:
  // router (and its metrics) must outlive the server; connections are counted in
  // router.metrics() when it has some.
  HttpServer(HttpOptions options, const Router& router);
  ~HttpServer();  // Stop()s

  // Binds and starts the threads. Fails (kIOError) when the address cannot be bound.
  Result<void> Start();
  // Stops accepting, waits up to shutdown_grace for requests in flight, closes every connection
  // and joins the threads. Idempotent.
  void Stop();

  uint16_t port() const;  // the bound port (after Start)

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sloop::http
