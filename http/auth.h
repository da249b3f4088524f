// Who may read: the interfaces the HTTP server asks before it runs a handler, and the bearer-token
// file that implements the simplest of them. The Kubernetes implementations (TokenReview,
// SubjectAccessReview) live in ingest/kube_auth.h, so that http/ does not depend on libcurl.
// See docs/security.md for the threat model.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace sloop::http {

struct Identity {
  std::string user;  // for logs; a token file's identities are "token-<n>" (line number)
  std::vector<std::string> groups;
};

// Checks a bearer token. Implementations are thread-safe.
class Authenticator {
 public:
  virtual ~Authenticator() = default;
  // The identity the token proves, or std::nullopt when it proves none. An error (kUnavailable)
  // when it cannot be decided now (the server answers 503, not 401).
  virtual Result<std::optional<Identity>> Authenticate(std::string_view token) = 0;
  // True when Authenticate may block on the network: the server then checks tokens on its query
  // workers only, never on an I/O thread.
  virtual bool MayBlock() const { return false; }
};

// Decides which namespaces a user may read. Implementations are thread-safe and may block (they
// are called on the query workers only).
class Authorizer {
 public:
  virtual ~Authorizer() = default;
  // Whether id may list objects in namespace_ ("" = cluster-scoped objects). An error when it
  // cannot be decided now (the object is then left out, and the log says why).
  virtual Result<bool> MayRead(const Identity& id, std::string_view namespace_) = 0;
};

// Time-safe comparison: the time taken depends on the lengths only, not on where a and b differ.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// The token from an "Authorization: Bearer <token>" header value ("" when there is none).
std::string_view BearerToken(std::string_view authorization);

// Bearer tokens from a file: one per line; blank lines and lines starting with '#' are skipped,
// and surrounding white space is trimmed. The file is re-read when its modification time or size
// changes (looked at most once a second); when a changed file cannot be read, the tokens read
// before stay in force and the log says so.
class TokenFileAuthenticator : public Authenticator {
 public:
  // Reads the file. Fails when it cannot be read or holds no token.
  static Result<std::shared_ptr<TokenFileAuthenticator>> Open(std::filesystem::path path,
                                                              std::string identity_prefix);

  Result<std::optional<Identity>> Authenticate(std::string_view token) override;

  size_t size() const;  // tokens in force

 private:
  TokenFileAuthenticator(std::filesystem::path path, std::string prefix)
      : path_(std::move(path)), prefix_(std::move(prefix)) {}
  Result<void> Load();  // called with mu_ held
  void MaybeReload();   // called with mu_ held

  const std::filesystem::path path_;
  const std::string prefix_;
  mutable std::mutex mu_;
  std::vector<std::string> tokens_;
  std::filesystem::file_time_type mtime_{};
  uintmax_t file_size_ = 0;
  std::chrono::steady_clock::time_point checked_{};
};

// Authenticates with the first of several that accepts the token (e.g. user tokens, then admin
// tokens, which may also read).
class AnyOfAuthenticator : public Authenticator {
 public:
  explicit AnyOfAuthenticator(std::vector<std::shared_ptr<Authenticator>> list)
      : list_(std::move(list)) {}
  Result<std::optional<Identity>> Authenticate(std::string_view token) override;
  bool MayBlock() const override;

 private:
  std::vector<std::shared_ptr<Authenticator>> list_;
};

}  // namespace sloop::http
