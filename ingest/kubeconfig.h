// Cluster connection settings: kubeconfig files (merged as kubectl merges $KUBECONFIG), the
// in-cluster service account, and exec credential plugins (client.authentication.k8s.io).
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ingest/ingest_options.h"
#include "base/status.h"

namespace sloop::ingest {

struct ExecConfig {
  std::string api_version;  // client.authentication.k8s.io/v1 or v1beta1
  std::string command;      // resolved against the kubeconfig's directory when it has a '/'
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> env;
  std::string install_hint;
  bool provide_cluster_info = false;
  std::string interactive_mode;  // Never | IfAvailable | Always; the recorder never prompts
};

struct ClusterConfig {
  std::string source;   // "kubeconfig ~/.kube/config" or "in-cluster service account"
  std::string context;  // the context used ("" in-cluster)
  std::string server;   // base URL without a trailing '/', path prefix kept
  std::string ca_pem;   // certificate-authority(-data), PEM
  bool insecure_skip_tls_verify = false;
  std::string tls_server_name;
  std::string proxy_url;
  std::string client_cert_pem, client_key_pem;
  std::string token;
  std::string token_file;  // re-read on every request: rotated tokens must be picked up
  std::string username, password;
  std::optional<ExecConfig> exec;
  std::string namespace_;

  bool uses_tls() const { return server.starts_with("https://"); }
  // "context \"kind-dev\" of kubeconfig ~/.kube/config (server https://…)", for messages.
  std::string Describe() const;
};

// Resolves the connection: options.kubeconfig_path, else $KUBECONFIG, else ~/.kube/config, else
// in-cluster; then the context and the apiserver_host override. Errors name the file, context or
// setting at fault and say how to fix it.
Result<ClusterConfig> LoadClusterConfig(const IngestOptions& options);

// One kubeconfig held in memory, resolved as LoadClusterConfig resolves a single file (context,
// apiserver_host). Files it names (certificate-authority, client-certificate, client-key,
// tokenFile) are not read: naming one is kInvalidArgument; inline *-data fields and tokens work.
// Reads no file, runs no exec plugin, touches no network. For tests and fuzzing.
Result<ClusterConfig> ParseKubeconfig(std::string_view yaml, const IngestOptions& options);

// Whether LoadClusterConfig has anything to go on (a kubeconfig, KUBECONFIG, -apiserver-host or
// a pod's service account); sloop starts the simulator when not.
bool ClusterConfigured(const IngestOptions& options);

// A credential an exec plugin returned.
struct ExecCredential {
  std::string token;
  std::string client_cert_pem, client_key_pem;
  int64_t expiry_ns = 0;  // 0: does not expire
};

// Runs an exec plugin and caches what it printed until shortly before it expires.
// Thread-safe.
class ExecCredentialSource {
 public:
  ExecCredentialSource(ExecConfig config, std::string server, std::string ca_pem)
      : config_(std::move(config)), server_(std::move(server)), ca_pem_(std::move(ca_pem)) {}
  // The cached credential, or a fresh one when there is none, it expires within 10 s, or
  // `refresh` is set (after the server answered 401).
  Result<ExecCredential> Get(bool refresh);
  int runs() const;  // plugin invocations so far

 private:
  Result<ExecCredential> Run();
  ExecConfig config_;
  std::string server_, ca_pem_;
  mutable std::mutex mu_;
  std::optional<ExecCredential> cached_;
  int runs_ = 0;
};

// Base64 decoding of kubeconfig *-data fields (whitespace ignored).
Result<std::string> DecodeBase64(std::string_view in);

}  // namespace sloop::ingest
