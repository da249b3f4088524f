// A throwaway PKI for the simulator's TLS mode: a self-signed CA, a server certificate for
// 127.0.0.1/::1/localhost signed by it, and a client certificate (CN "kubesim-admin", group
// "system:masters") for tests of client-certificate authentication.
#pragma once

#include <string>

namespace kubesim {

struct CertPaths {
  std::string dir;
  std::string ca_cert;      // ca.crt
  std::string ca_key;       // ca.key
  std::string server_cert;  // server.crt
  std::string server_key;   // server.key
  std::string client_cert;  // client.crt
  std::string client_key;   // client.key
};

// Generates the CA and certificates and writes them as PEM files into `dir` (created if
// missing). Returns false with a message in *error on failure.
bool generate_certs(const std::string& dir, CertPaths* out, std::string* error);

// The whole content of a file; false when it cannot be read.
bool read_file(const std::string& path, std::string* out);

// Standard base64 (with padding), as kubeconfig *-data fields hold.
std::string base64(std::string_view data);

}  // namespace kubesim
