// ApiClient: how every request to the API server is made — URL, TLS settings and credentials on
// a libcurl easy handle — plus a blocking GET for the short requests (version, discovery).
// Credentials are sent only over TLS, as kubectl does.
#pragma once

#include <curl/curl.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "ingest/kubeconfig.h"
#include "base/status.h"

namespace sloop::ingest {

inline constexpr std::string_view kAcceptJson = "application/json";

class ApiClient {
 public:
  explicit ApiClient(ClusterConfig config);
  ~ApiClient();
  ApiClient(const ApiClient&) = delete;
  ApiClient& operator=(const ApiClient&) = delete;
  const ClusterConfig& config() const { return config_; }

  // Configures `easy` for GET <server><path_and_query>: URL, TLS, credentials and Accept. The
  // returned header list belongs to the caller (curl_slist_free_all after the transfer).
  // Fails when the credentials cannot be obtained (token file unreadable: kNotFound; an exec
  // plugin failing).
  Result<curl_slist*> Prepare(CURL* easy, std::string_view path_and_query, std::string_view accept);
  // Get() gives up (kUnavailable, "cancelled") soon after *cancel becomes true; nullptr: never.
  void SetCancel(const std::atomic<bool>* cancel) { cancel_ = cancel; }
  // The server answered 401: the next Prepare runs the exec plugin again.
  void CredentialsRejected() { refresh_exec_ = true; }
  int exec_runs() const { return exec_ ? exec_->runs() : 0; }

  struct Response {
    long status = 0;
    std::string body;
    std::string content_type;
    std::string retry_after;
    std::string date;  // the Date header, as sent
  };
  // A blocking GET. kUnavailable when the server cannot be reached (the message names the URL),
  // Prepare's error when the credentials cannot be obtained; any HTTP status is a Response. A 401
  // triggers one retry with fresh exec credentials.
  Result<Response> Get(std::string_view path_and_query, std::string_view accept,
                       std::chrono::seconds timeout);

 private:
  ClusterConfig config_;
  std::string url_base_;    // server, with tls-server-name substituted for the host
  std::string connect_to_;  // CURLOPT_CONNECT_TO entry for tls-server-name
  curl_slist* connect_list_ = nullptr;
  std::unique_ptr<ExecCredentialSource> exec_;
  bool refresh_exec_ = false;
  const std::atomic<bool>* cancel_ = nullptr;
};

// Extracts the "message" of a Kubernetes Status body, or the body's start when it is none.
std::string StatusMessage(std::string_view body);

// Whether a Status body (or its message alone, as an ERROR watch frame carries it) says that a
// resourceVersion asked for is newer than the API server's: a 504 whose cause is
// ResourceVersionTooLarge, "Too large resource version: …".
bool TooLargeResourceVersion(std::string_view status);

}  // namespace sloop::ingest
