// Authentication and authorization delegated to the cluster (-auth-kubernetes): a user's bearer
// token is checked with a TokenReview, and whether that user may read a namespace's history with
// a SubjectAccessReview (may the user `list pods` in it; for cluster-scoped objects, list pods in
// every namespace). Both decisions are cached for a short TTL, so that a page of the UI costs
// the API server a handful of reviews, not one per row. The recorder's service account needs
// create on tokenreviews and subjectaccessreviews (the system:auth-delegator ClusterRole).
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "http/auth.h"
#include "ingest/api_client.h"

namespace sloop::ingest {

class KubeAuth : public http::Authenticator, public http::Authorizer {
 public:
  KubeAuth(ClusterConfig cluster, std::chrono::nanoseconds ttl);

  // TokenReview: the user the API server says the token belongs to; nullopt when it says the
  // token is not valid; kUnavailable when it cannot be asked (or refuses us: the message says
  // which permission the recorder lacks).
  Result<std::optional<http::Identity>> Authenticate(std::string_view token) override;
  bool MayBlock() const override { return true; }

  // SubjectAccessReview: may id list pods in namespace_ ("" = in every namespace).
  Result<bool> MayRead(const http::Identity& id, std::string_view namespace_) override;

  int reviews() const;  // reviews sent (for tests: caching works)

  // A review's answer and when it stops counting.
  template <typename V>
  struct Remembered {
    V value;
    std::chrono::steady_clock::time_point expires;
  };

 private:
  Result<std::string> Post(std::string_view path, const std::string& body);

  const std::chrono::nanoseconds ttl_;
  std::mutex client_mu_;  // ApiClient::Prepare is not thread-safe
  ApiClient client_;

  mutable std::mutex cache_mu_;
  // by SHA-256 of the token
  std::unordered_map<std::string, Remembered<std::optional<http::Identity>>> tokens_;
  std::unordered_map<std::string, Remembered<bool>> access_;  // by user "\n" namespace
  int reviews_ = 0;
};

}  // namespace sloop::ingest
