// The simulator's HTTP(S) front: a Kubernetes API server over cpp-httplib, serving discovery,
// LIST (JSON and Table, paginated, with selectors), GET and WATCH from an ObjectStore, with
// optional TLS, bearer-token authentication and injected faults.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "object_store.h"
#include "rbac.h"
#include "sim_time.h"

namespace httplib {
class Server;
}

namespace kubesim {

struct ServerOptions {
  std::string bind = "127.0.0.1";
  int port = 0;  // 0: any free port
  bool tls = false;
  std::string cert_file, key_file;  // server certificate and key (PEM), for tls
  std::string client_ca_file;       // when set, clients must present a certificate it signed
  std::string token;                // when set, "Authorization: Bearer TOKEN" is required
  std::string forbidden_token;      // authenticates, then every request is 403 Forbidden
  // More users: bearer token → user name. "system:serviceaccount:NS:NAME" gets a service
  // account's groups; every one gets system:authenticated. --token's user is system:masters.
  std::map<std::string, std::string> user_tokens;
  // When set, the resource requests of user_tokens' users are authorized by it; a refusal is the
  // apiserver's 403 Status. Discovery and /version stay open to every authenticated user.
  std::shared_ptr<const Rbac> rbac;
  int minor = 32;                 // reported by /version
  bool legacy_discovery = false;  // never answer aggregated discovery
  std::chrono::milliseconds bookmark_interval{60'000};
  // Every answer has a Date header, as Go's net/http sends: this machine's clock plus this.
  std::chrono::milliseconds clock_offset{0};
  std::chrono::milliseconds watch_timeout{30 * 60'000};  // when the client sets none
  bool log_requests = false;
  // Faults (0 = off).
  std::chrono::milliseconds drop_watches_every{0};   // a watch is cut (no terminator) after this
  std::chrono::milliseconds stall_watches_after{0};  // a watch goes silent after this
  int throttle_every = 0;                            // every Nth request: 429 + Retry-After: 1
  int error_every = 0;                               // every Nth request: 500
};

class ApiServer {
 public:
  // `now` gives the simulated time (for the AGE columns of Tables).
  ApiServer(ObjectStore& store, std::function<SimTime()> now, ServerOptions options);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Binds the listening socket. Returns false with a message in *error.
  bool bind(std::string* error);
  int port() const { return port_; }
  // "http://127.0.0.1:PORT" or "https://…".
  std::string url() const;
  // Serves until stop(). Call after bind().
  void run();
  // Ends every stream (the store must be shut down too) and makes run() return.
  void stop();

  uint64_t requests() const { return requests_.load(); }
  // 403 answers served (RBAC refusals and --forbidden-token), also at GET /debug/kubesim/counters
  // (no token needed) as {"requests":N,"forbidden":M}, and one stderr line each.
  uint64_t forbidden_responses() const;
  // Turns the injected faults off (or back on), e.g. once the cluster is frozen so that clients
  // can catch up.
  void set_faults_enabled(bool enabled);
  // Replaces the RBAC rules (a role edited while the cluster runs); null turns RBAC off.
  void set_rbac(std::shared_ptr<const Rbac> rbac);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
  std::atomic<uint64_t> requests_{0};
};

// A kubeconfig (YAML) for `server_url`, with context, cluster and user named "kubesim". CA data
// is embedded when `ca_pem` is not empty; a token and/or a client certificate when given.
std::string render_kubeconfig(const std::string& server_url, const std::string& ca_pem,
                              const std::string& token, const std::string& client_cert_pem = "",
                              const std::string& client_key_pem = "");

}  // namespace kubesim
