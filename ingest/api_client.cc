#include "ingest/api_client.h"

#include <simdjson.h>

#include <fstream>
#include <sstream>

namespace sloop::ingest {

namespace {

size_t AppendBody(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

int Cancelled(void* cancel, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<const std::atomic<bool>*>(cancel)->load() ? 1 : 0;
}

size_t HeaderLine(char* data, size_t size, size_t n, void* user) {
  auto* resp = static_cast<ApiClient::Response*>(user);
  std::string_view line(data, size * n);
  auto value = [&](std::string_view name) -> std::optional<std::string> {
    if (line.size() <= name.size() || strncasecmp(line.data(), name.data(), name.size()) != 0) {
      return std::nullopt;
    }
    std::string_view v = line.substr(name.size());
    while (!v.empty() && (v.front() == ' ')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == '\r' || v.back() == '\n' || v.back() == ' ')) {
      v.remove_suffix(1);
    }
    return std::string(v);
  };
  if (auto v = value("content-type:")) resp->content_type = *v;
  if (auto v = value("retry-after:")) resp->retry_after = *v;
  if (auto v = value("date:")) resp->date = *v;
  return size * n;
}

}  // namespace

std::string StatusMessage(std::string_view body) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  std::string_view msg;
  if (parser.parse(body.data(), body.size()).get(doc) == simdjson::SUCCESS &&
      doc["message"].get(msg) == simdjson::SUCCESS) {
    return std::string(msg);
  }
  std::string s(body.substr(0, 200));
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

bool TooLargeResourceVersion(std::string_view status) {
  return status.find("ResourceVersionTooLarge") != std::string_view::npos ||
         status.find("Too large resource version") != std::string_view::npos;
}

ApiClient::ApiClient(ClusterConfig config) : config_(std::move(config)) {
  url_base_ = config_.server;
  if (!config_.tls_server_name.empty()) {
    // libcurl has no separate verify name: ask for the TLS name and connect to the real host.
    size_t scheme_end = url_base_.find("://");
    size_t host_start = scheme_end == std::string::npos ? 0 : scheme_end + 3;
    size_t host_end = url_base_.find('/', host_start);
    std::string hostport = url_base_.substr(
        host_start, host_end == std::string::npos ? std::string::npos : host_end - host_start);
    std::string host = hostport, port = config_.uses_tls() ? "443" : "80";
    size_t colon = hostport.rfind(':');
    if (colon != std::string::npos && hostport.find(']', colon) == std::string::npos) {
      host = hostport.substr(0, colon);
      port = hostport.substr(colon + 1);
    }
    connect_to_ = config_.tls_server_name + ":" + port + ":" + host + ":" + port;
    connect_list_ = curl_slist_append(nullptr, connect_to_.c_str());
    url_base_ = url_base_.substr(0, host_start) + config_.tls_server_name + ":" + port +
                (host_end == std::string::npos ? "" : url_base_.substr(host_end));
  }
  if (config_.exec) {
    exec_ = std::make_unique<ExecCredentialSource>(*config_.exec, config_.server, config_.ca_pem);
  }
}

ApiClient::~ApiClient() { curl_slist_free_all(connect_list_); }

Result<curl_slist*> ApiClient::Prepare(CURL* easy, std::string_view path, std::string_view accept) {
  std::string url = url_base_ + std::string(path);
  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_USERAGENT, "sloop-cpp/0.1");
  curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "");  // large lists may come gzipped
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT, 10L);
  if (!config_.proxy_url.empty()) curl_easy_setopt(easy, CURLOPT_PROXY, config_.proxy_url.c_str());
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, ("Accept: " + std::string(accept)).c_str());
  if (config_.uses_tls()) {
    if (!connect_to_.empty()) {
      curl_easy_setopt(easy, CURLOPT_CONNECT_TO, connect_list_);
    }
    if (config_.insecure_skip_tls_verify) {
      curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
    } else if (!config_.ca_pem.empty()) {
      curl_blob blob{config_.ca_pem.data(), config_.ca_pem.size(), CURL_BLOB_COPY};
      curl_easy_setopt(easy, CURLOPT_CAINFO_BLOB, &blob);
    }
    std::string cert = config_.client_cert_pem, key = config_.client_key_pem;
    std::string token = config_.token;
    if (!config_.token_file.empty()) {
      std::ifstream in(config_.token_file);
      std::ostringstream ss;
      if (in) ss << in.rdbuf();
      std::string t = ss.str();
      while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) t.pop_back();
      if (!t.empty()) {
        token = t;
      } else if (token.empty()) {
        curl_slist_free_all(headers);
        return MakeError(ErrorCode::kNotFound,
                         "token file " + config_.token_file + " is missing or empty");
      }
    }
    if (exec_) {
      auto cred = exec_->Get(refresh_exec_);
      refresh_exec_ = false;
      if (!cred) {
        curl_slist_free_all(headers);
        return std::unexpected(cred.error());
      }
      if (!cred->token.empty()) token = cred->token;
      if (!cred->client_cert_pem.empty()) {
        cert = cred->client_cert_pem;
        key = cred->client_key_pem;
      }
    }
    if (!cert.empty()) {
      curl_blob cb{cert.data(), cert.size(), CURL_BLOB_COPY};
      curl_blob kb{key.data(), key.size(), CURL_BLOB_COPY};
      curl_easy_setopt(easy, CURLOPT_SSLCERT_BLOB, &cb);
      curl_easy_setopt(easy, CURLOPT_SSLCERTTYPE, "PEM");
      curl_easy_setopt(easy, CURLOPT_SSLKEY_BLOB, &kb);
      curl_easy_setopt(easy, CURLOPT_SSLKEYTYPE, "PEM");
    }
    if (!token.empty()) {
      headers = curl_slist_append(headers, ("Authorization: Bearer " + token).c_str());
    } else if (!config_.username.empty()) {
      curl_easy_setopt(easy, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
      curl_easy_setopt(easy, CURLOPT_USERNAME, config_.username.c_str());
      curl_easy_setopt(easy, CURLOPT_PASSWORD, config_.password.c_str());
    }
  }
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
  return headers;
}

Result<ApiClient::Response> ApiClient::Get(std::string_view path, std::string_view accept,
                                           std::chrono::seconds timeout) {
  for (int attempt = 0;; ++attempt) {
    CURL* easy = curl_easy_init();
    Response resp;
    auto headers = Prepare(easy, path, accept);
    if (!headers) {
      curl_easy_cleanup(easy);
      return std::unexpected(headers.error());
    }
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, AppendBody);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &resp.body);
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, HeaderLine);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, &resp);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count() * 1000));
    char errbuf[CURL_ERROR_SIZE] = {0};
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, errbuf);
    if (cancel_ != nullptr) {
      curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L);
      curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, Cancelled);
      curl_easy_setopt(easy, CURLOPT_XFERINFODATA, cancel_);
    }
    CURLcode rc = curl_easy_perform(easy);
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &resp.status);
    curl_easy_cleanup(easy);
    curl_slist_free_all(*headers);
    if (rc != CURLE_OK) {
      return MakeError(ErrorCode::kUnavailable, "cannot reach " + config_.server +
                                                    std::string(path) + ": " +
                                                    (errbuf[0] ? errbuf : curl_easy_strerror(rc)));
    }
    if (resp.status == 401 && exec_ && attempt == 0) {
      CredentialsRejected();
      continue;
    }
    return resp;
  }
}

}  // namespace sloop::ingest
