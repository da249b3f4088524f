#include "ingest/kube_auth.h"

#include <openssl/sha.h>
#include <simdjson.h>

#include <cstdio>

#include "base/json_text.h"

namespace sloop::ingest {

namespace {

constexpr size_t kMaxCacheEntries = 10'000;

size_t AppendBody(char* ptr, size_t size, size_t n, void* user) {
  auto* body = static_cast<std::string*>(user);
  if (body->size() > (1 << 20)) return 0;  // a review answer is small
  body->append(ptr, size * n);
  return size * n;
}

std::string Sha256(std::string_view s) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), md);
  return std::string(reinterpret_cast<const char*>(md), sizeof(md));
}

// The answer remembered for key when it has not expired (the caller holds the cache's lock).
template <typename V>
std::optional<V> Recall(const std::unordered_map<std::string, KubeAuth::Remembered<V>>& memory,
                        const std::string& key, std::chrono::steady_clock::time_point now) {
  auto it = memory.find(key);
  if (it == memory.end() || it->second.expires <= now) return std::nullopt;
  return it->second.value;
}

// Remembers an answer until now + ttl; a full memory starts again empty (the caller holds the
// cache's lock).
template <typename V>
void Remember(std::unordered_map<std::string, KubeAuth::Remembered<V>>& memory, std::string key,
              V value, std::chrono::steady_clock::time_point now, std::chrono::nanoseconds ttl) {
  if (memory.size() >= kMaxCacheEntries) memory.clear();
  memory[std::move(key)] = KubeAuth::Remembered<V>{
      std::move(value), now + std::chrono::duration_cast<std::chrono::steady_clock::duration>(ttl)};
}

}  // namespace

KubeAuth::KubeAuth(ClusterConfig cluster, std::chrono::nanoseconds ttl)
    : ttl_(ttl), client_(std::move(cluster)) {}

int KubeAuth::reviews() const {
  std::lock_guard lock(cache_mu_);
  return reviews_;
}

Result<std::string> KubeAuth::Post(std::string_view path, const std::string& body) {
  CURL* easy = curl_easy_init();
  Result<curl_slist*> headers;
  {
    std::lock_guard lock(client_mu_);
    headers = client_.Prepare(easy, path, kAcceptJson);
  }
  if (!headers) {
    curl_easy_cleanup(easy);
    return std::unexpected(headers.error());
  }
  curl_slist* list = curl_slist_append(*headers, "Content-Type: application/json");
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  std::string answer;
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, AppendBody);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &answer);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 10'000L);
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, errbuf);
  CURLcode rc = curl_easy_perform(easy);
  long status = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(easy);
  curl_slist_free_all(list);
  {
    std::lock_guard lock(cache_mu_);
    ++reviews_;
  }
  const std::string where = client_.config().server + std::string(path);
  if (rc != CURLE_OK) {
    return MakeError(ErrorCode::kUnavailable, "cannot reach " + where + ": " +
                                                  (errbuf[0] ? errbuf : curl_easy_strerror(rc)));
  }
  if (status == 401) {
    std::lock_guard lock(client_mu_);
    client_.CredentialsRejected();
  }
  if (status == 403) {
    return MakeError(ErrorCode::kUnavailable,
                     where + ": forbidden (" + StatusMessage(answer) +
                         "): the recorder's service account needs create on tokenreviews and "
                         "subjectaccessreviews (bind the ClusterRole system:auth-delegator)");
  }
  if (status < 200 || status > 299) {
    return MakeError(ErrorCode::kUnavailable,
                     where + ": HTTP " + std::to_string(status) + ": " + StatusMessage(answer));
  }
  return answer;
}

Result<std::optional<http::Identity>> KubeAuth::Authenticate(std::string_view token) {
  if (token.empty()) return std::optional<http::Identity>();
  const std::string key = Sha256(token);
  auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(cache_mu_);
    if (auto known = Recall(tokens_, key, now)) return *known;
  }
  std::string body =
      R"({"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview","spec":{"token":)" +
      JsonQuote(token) + "}}";
  auto answer = Post("/apis/authentication.k8s.io/v1/tokenreviews", body);
  if (!answer) return std::unexpected(answer.error());
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(*answer).get(doc) != simdjson::SUCCESS) {
    return MakeError(ErrorCode::kUnavailable, "TokenReview: the answer is not JSON");
  }
  std::optional<http::Identity> id;
  bool authenticated = false;
  if (doc["status"]["authenticated"].get(authenticated) == simdjson::SUCCESS && authenticated) {
    http::Identity who;
    std::string_view name;
    if (doc["status"]["user"]["username"].get(name) == simdjson::SUCCESS) who.user = name;
    simdjson::dom::array groups;
    if (doc["status"]["user"]["groups"].get(groups) == simdjson::SUCCESS) {
      for (auto g : groups) {
        std::string_view s;
        if (g.get(s) == simdjson::SUCCESS) who.groups.emplace_back(s);
      }
    }
    if (!who.user.empty()) id = std::move(who);
  }
  std::lock_guard lock(cache_mu_);
  Remember(tokens_, key, id, now, ttl_);
  return id;
}

Result<bool> KubeAuth::MayRead(const http::Identity& id, std::string_view namespace_) {
  std::string key = id.user + "\n" + std::string(namespace_);
  auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(cache_mu_);
    if (auto known = Recall(access_, key, now)) return *known;
  }
  std::string body =
      R"({"apiVersion":"authorization.k8s.io/v1","kind":"SubjectAccessReview","spec":{"user":)" +
      JsonQuote(id.user) + R"(,"groups":[)";
  for (size_t i = 0; i < id.groups.size(); ++i) {
    if (i) body += ",";
    body += JsonQuote(id.groups[i]);
  }
  body += R"(],"resourceAttributes":{)";
  if (!namespace_.empty()) body += R"("namespace":)" + JsonQuote(namespace_) + ",";
  body += R"("verb":"list","group":"","resource":"pods"}}})";
  auto answer = Post("/apis/authorization.k8s.io/v1/subjectaccessreviews", body);
  if (!answer) return std::unexpected(answer.error());
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(*answer).get(doc) != simdjson::SUCCESS) {
    return MakeError(ErrorCode::kUnavailable, "SubjectAccessReview: the answer is not JSON");
  }
  bool allowed = false;
  if (doc["status"]["allowed"].get(allowed) != simdjson::SUCCESS) allowed = false;
  std::lock_guard lock(cache_mu_);
  Remember(access_, std::move(key), allowed, now, ttl_);
  return allowed;
}

}  // namespace sloop::ingest
