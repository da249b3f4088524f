// Settings of the HTTP layer, filled by the sloop program from its flags and config file.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace sloop {
class RecordingLog;
}

namespace sloop::http {

class Authenticator;
class Authorizer;

// A link shown in the UI: leftBarLinks (kinds unused) and resourceLinks (kinds filter; empty = all
// kinds). url_template is a Go-style template over {{.Name}}, {{.Namespace}}, {{.Kind}}, with the
// functions ToUpper and ToLower, e.g. "https://logs/?q={{ToLower .Name}}".
struct UiLink {
  std::string text;
  std::string url_template;
  std::vector<std::string> kinds;
};

// Whether the program behind the server is doing its job yet (for sloop: the first list of every
// watched kind is done), and if not, what it waits for.
struct Readiness {
  bool ready = true;
  std::string waiting_for;
  // Kinds the cluster refuses to let it read (403), e.g. "configmaps": on /api/v1/stats.
  std::vector<std::string> forbidden_kinds;
};

struct HttpOptions {
  // ---- server
  std::string bind_address;              // "" = all interfaces
  uint16_t port = 8080;                  // 0 = any free port (HttpServer::port() says which)
  int threads = 2;                       // I/O threads: read, parse, answer quick routes, write
  size_t header_limit_bytes = 16 << 10;  // request line + headers; larger → 431
  size_t body_limit_bytes = 1 << 20;     // larger → 413
  std::chrono::milliseconds read_timeout{
      30'000};  // to receive a whole request (and keep-alive idle)
  std::chrono::milliseconds write_timeout{60'000};  // to send a response (per piece for streams)
  std::chrono::milliseconds shutdown_grace{5'000};  // Stop() waits this long for requests in flight
  size_t max_connections = 1024;                    // more are closed at once
  // Connections from one client address. The last eighth of max_connections is kept for
  // addresses that hold none yet, so that one client cannot lock others out.
  size_t max_connections_per_ip = 64;
  // The request line and headers must arrive within this from the first byte (slowloris); a new
  // connection must send them within this from accept. (The whole request still within
  // read_timeout.)
  std::chrono::milliseconds header_timeout{10'000};
  std::chrono::milliseconds idle_timeout{60'000};  // a keep-alive connection waiting for a request
  // Queries (Lane::kWorker routes) run on this many threads (0 = max(2, UsableCpus: the CPUs the
  // process may run on, capped by its cgroup's CPU limit)), waiting in a
  // queue of at most query_queue; a full queue is answered 503 at once, and a query not answered
  // within query_timeout (waiting included) is answered 503 and its connection closed.
  int query_workers = 0;
  size_t query_queue = 64;
  std::chrono::milliseconds query_timeout{30'000};
  // Answers built and not yet written to their clients (a slow reader holds its answer for up to
  // write_timeout): while they add up to this, queries are answered 503 with Retry-After before
  // anything is built. Each answer is also capped on its own (max_answer_bytes).
  size_t response_budget_bytes = size_t{128} << 20;
  // One answer's body: lists of records stop, and timelines leave rows out, past this (saying
  // "truncated"); a timeline's rows may take four times this while they are built (past that
  // it is answered 400, saying to narrow it).
  size_t max_answer_bytes = size_t{64} << 20;

  // ---- who may read (docs/security.md)
  std::string tls_cert_file;  // with tls_key_file: serve HTTPS only; reloaded when they change
  std::string tls_key_file;
  // User routes need a token it accepts (null = open). Admin routes (backups, debug) need one
  // admin_authenticator accepts; with neither set everything is open.
  std::shared_ptr<Authenticator> authenticator;
  std::shared_ptr<Authenticator> admin_authenticator;
  // With authentication: limits the namespaces each user sees (null = all).
  std::shared_ptr<Authorizer> authorizer;
  size_t compress_min_bytes = 1024;  // smaller bodies are sent as they are

  // ---- Sloop's routes and UI
  std::string context;          // the kube context
  std::string display_context;  // shown in the UI and used as the URL prefix when set
  std::string web_files_path;  // a directory read before the embedded UI files ("" = embedded only)
  std::string default_namespace = "default";
  std::string default_kind = "_all";
  std::string default_lookback = "1h";
  std::chrono::nanoseconds max_look_back = std::chrono::hours(336);
  std::vector<UiLink> left_bar_links;
  std::vector<UiLink> resource_links;
  std::string config_yaml;  // the effective configuration, for the debug page
  // Behind a proxy on a sub-path (-base-path, "/sloop"; "" = none): a request that still carries
  // it has it removed before routing, and redirects put it back (X-Forwarded-Prefix, when sent,
  // takes its place in redirects).
  std::string base_path;

  // ---- Sloop's -enable-user-metrics: user_requests counts requests by route and request
  // context, labelled from request headers (label ← the first of its headers present). Empty
  // rules: Sloop's defaults (username ← X-Username, user_agent ← User-Agent).
  bool enable_user_metrics = false;
  std::vector<std::pair<std::string, std::vector<std::string>>> user_metrics_headers;

  // ---- health: /healthz answers 200 while the server serves (liveness) and says in its body what
  // is awaited; /readyz answers 503 with the reason until ready, then 200. Called on HTTP threads
  // (thread-safe, quick). Empty: always ready.
  std::function<Readiness()> readiness;

  // ---- when the store was recorded, and its gaps (/api/v1/gaps, sloop_recording_gaps_total);
  // null: none known.
  std::shared_ptr<const RecordingLog> recording_log;

  // ---- more metrics: called on an HTTP thread right before /metrics serialises the registry, to
  // copy other components' figures into their series (the object-store uploader's). Quick.
  std::function<void()> refresh_metrics;

  // The URL prefix: display_context, else context, else "cluster" (Sloop would panic on "").
  std::string UrlContext() const {
    if (!display_context.empty()) return display_context;
    if (!context.empty()) return context;
    return "cluster";
  }
};

}  // namespace sloop::http
